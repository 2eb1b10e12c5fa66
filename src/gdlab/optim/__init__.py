"""Update rules (PyTorch's optimizers, step for step), learning-rate schedules, line search."""

from .linesearch import Armijo
from .rules import (OPTIMIZERS, SGD, Adagrad, Adam, AdamW, RMSprop, Rule, adagrad, adam, adamw,
                    make_rule, rmsprop, sgd)
from .schedules import (SCHEDULES, Constant, Cosine, Exponential, InverseTime, Schedule,
                        StepDecay, Warmup, make_schedule)

__all__ = ["Armijo", "OPTIMIZERS", "SGD", "Adagrad", "Adam", "AdamW", "RMSprop", "Rule",
           "adagrad", "adam", "adamw", "make_rule", "rmsprop", "sgd", "SCHEDULES", "Constant",
           "Cosine", "Exponential", "InverseTime", "Schedule", "StepDecay", "Warmup",
           "make_schedule"]
