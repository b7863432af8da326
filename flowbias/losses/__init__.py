from ._base import (
    AbstractClassificationLoss as AbstractClassificationLoss,
    AbstractLoss as AbstractLoss,
)
from .exponential import ExponentialLoss as ExponentialLoss
from .logistic import LogisticLoss as LogisticLoss
from .square import SquareLoss as SquareLoss
