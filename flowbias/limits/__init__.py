"""Predicted limits: the family of limit kinds and the theorems that produce them."""

from . import diagonal as diagonal, linear as linear, matrix as matrix  # register theorems
from ._base import (
    DirectionLimit as DirectionLimit,
    LimitError as LimitError,
    PointLimit as PointLimit,
    PredictedLimit as PredictedLimit,
)
from .theorems import (
    Comparison as Comparison,
    agreement as agreement,
    compare as compare,
    predicted_limit as predicted_limit,
    register_theorem as register_theorem,
)
