from ._base import (
    AbstractClassificationLoss as AbstractClassificationLoss,
    AbstractLoss as AbstractLoss,
    AbstractMarginLoss as AbstractMarginLoss,
)
from .exponential import ExponentialLoss as ExponentialLoss
from .logistic import LogisticLoss as LogisticLoss
from .polynomial import PolynomialLoss as PolynomialLoss
from .square import SquareLoss as SquareLoss
