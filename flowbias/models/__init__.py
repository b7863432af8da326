from ._base import (
    AbstractLinearModel as AbstractLinearModel,
    AbstractMirrorModel as AbstractMirrorModel,
    AbstractModel as AbstractModel,
)
from .diagonal import DiagonalNetwork as DiagonalNetwork
from .factorized import (
    AbstractMatrixModel as AbstractMatrixModel,
    MatrixFactorization as MatrixFactorization,
)
from .linear import LinearModel as LinearModel
from .rescaled_diagonal import RescaledDiagonalNetwork as RescaledDiagonalNetwork
