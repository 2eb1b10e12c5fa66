"""Update rules (PyTorch's optimizers, step for step), learning-rate schedules (PyTorch's
schedulers), the line search, and the stepper protocol they share
(:mod:`gdlab.optim.stepper`)."""

from .base import Rule
from .linesearch import Armijo
from .quasi_newton import LBFGS, lbfgs
from .rules import (
                    ASGD,
                    OPTIMIZERS,
                    SGD,
                    Adadelta,
                    Adagrad,
                    Adam,
                    Adamax,
                    AdamW,
                    NAdam,
                    RAdam,
                    RMSprop,
                    Rprop,
                    adadelta,
                    adagrad,
                    adam,
                    adamax,
                    adamw,
                    asgd,
                    make_rule,
                    nadam,
                    radam,
                    rmsprop,
                    rprop,
                    sgd,
)
from .schedules import (
                    SCHEDULES,
                    ChainedScheduler,
                    Constant,
                    ConstantLR,
                    Cosine,
                    CosineAnnealingLR,
                    CosineAnnealingWarmRestarts,
                    CyclicLR,
                    Exponential,
                    ExponentialLR,
                    InverseTime,
                    LinearLR,
                    MultiStepLR,
                    OneCycleLR,
                    PolynomialLR,
                    ReduceLROnPlateau,
                    Schedule,
                    SequentialLR,
                    StepDecay,
                    StepLR,
                    Warmup,
                    make_schedule,
)
from .stepper import Evaluation, Objective, StepContext, Stepper, StepReport

__all__ = ["Armijo", "OPTIMIZERS", "SGD", "Adagrad", "Adam", "AdamW", "RMSprop", "Rule",
           "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS",
           "adagrad", "adam", "adamw", "make_rule", "rmsprop", "sgd", "adadelta", "adamax",
           "nadam", "radam", "rprop", "asgd", "lbfgs",
           "SCHEDULES", "Constant", "Cosine", "Exponential", "InverseTime", "Schedule",
           "StepDecay", "Warmup", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler",
           "make_schedule", "Evaluation", "Objective", "StepContext", "Stepper", "StepReport"]
