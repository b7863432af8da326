"""Predicted limits: the family of limit kinds and the theorems that produce them."""

from . import (  # register theorems
    diagonal as diagonal,
    geometry as geometry,
    homogeneous as homogeneous,
    linear as linear,
    matrix as matrix,
    single_neuron as single_neuron,
)
from ._base import (
    DirectionLimit as DirectionLimit,
    LimitError as LimitError,
    PointLimit as PointLimit,
    PredictedLimit as PredictedLimit,
)
from .homogeneous import KKTLimit as KKTLimit
from .theorems import (
    Comparison as Comparison,
    agreement as agreement,
    compare as compare,
    predicted_limit as predicted_limit,
    register_theorem as register_theorem,
)
