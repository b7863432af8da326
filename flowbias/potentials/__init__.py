from ._base import AbstractPotential as AbstractPotential
from .closed_form import (
    HyperbolicEntropy as HyperbolicEntropy,
    NegativeEntropy as NegativeEntropy,
    PNormPotential as PNormPotential,
)
from .function import FunctionPotential as FunctionPotential
from .restricted_parser import parse_potential as parse_potential
from .symbolic import SymbolicPotential as SymbolicPotential
