from ._base import (
    AbstractLinearModel as AbstractLinearModel,
    AbstractMirrorModel as AbstractMirrorModel,
    AbstractModel as AbstractModel,
)
from .diagonal import DiagonalNetwork as DiagonalNetwork
from .linear import LinearModel as LinearModel
