from ._base import AbstractMeasurements as AbstractMeasurements
from .completion import MatrixCompletion as MatrixCompletion
from .ops import (
    adjoint as adjoint,
    as_data as as_data,
    check_data_shapes as check_data_shapes,
    gram_eigenvalues as gram_eigenvalues,
    num_points as num_points,
    validate_data as validate_data,
)
from .sensing import MatrixSensing as MatrixSensing
