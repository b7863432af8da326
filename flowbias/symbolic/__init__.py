"""Symbolic layer: sympy derivations and their numerically stable JAX compilations.

Diagonal linear networks (Woodworth et al., COLT 2020; Azulay et al., ICML 2021):
[`derive_diagonal`][flowbias.symbolic.derive_diagonal]
derives link, inverse link, dual potential, mirror potential and regime limits with sympy;
[`DiagonalMirror`][flowbias.symbolic.DiagonalMirror] evaluates them in float64 JAX.
"""

from .diagonal_derivation import (
    DerivationStep as DerivationStep,
    DiagonalDerivation as DiagonalDerivation,
    derive_diagonal as derive_diagonal,
)
from .diagonal_mirror import DiagonalMirror as DiagonalMirror
from .regime_limits import RegimeLimit as RegimeLimit
from .tied_reachability import (
    TiedReachability as TiedReachability,
    check_tied_reachable as check_tied_reachable,
)
