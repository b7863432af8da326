from ._base import (
    AbstractLinearModel as AbstractLinearModel,
    AbstractMirrorModel as AbstractMirrorModel,
    AbstractModel as AbstractModel,
)
from .linear import LinearModel as LinearModel
