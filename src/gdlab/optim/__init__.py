"""Update rules (PyTorch's optimizers, step for step), learning-rate schedules (PyTorch's
schedulers), the line search, and the stepper protocol they share
(:mod:`gdlab.optim.stepper`)."""

from .linesearch import Armijo
from .rules import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    Rule,
    adagrad,
    adam,
    adamw,
    make_rule,
    rmsprop,
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
           "adagrad", "adam", "adamw", "make_rule", "rmsprop", "sgd",
           "SCHEDULES", "Constant", "Cosine", "Exponential", "InverseTime", "Schedule",
           "StepDecay", "Warmup", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler",
           "make_schedule", "Evaluation", "Objective", "StepContext", "Stepper", "StepReport"]
