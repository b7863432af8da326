r"""A potential given by a formula: phi' and phi'' by sympy, the inverse of phi' by sympy where
it can solve for it, and by a safeguarded root find where it cannot."""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import numpy as np
import sympy as sp

from ._base import AbstractPotential
from ._checks import check_convex, check_domain_argument, sample_points
from .numeric_inverse import monotone_inverse
from .restricted_parser import W, parse_potential
from .sympy_to_jax import to_jax


def _symbolic_inverse(d1: sp.Expr, domain: tuple[float, float], even: bool):
    """A sympy expression g(z) with d1(g(z)) = z on the domain, or None."""
    a, b = domain
    z = sp.Symbol("z", positive=True) if even else sp.Symbol("z", real=True)
    if even or (a == 0 and b == math.inf):
        u = sp.Symbol("u", positive=True)
    elif a == -math.inf and b == math.inf:
        u = sp.Symbol("u", real=True)
    else:
        return None
    try:
        solutions = sp.solve(sp.Eq(d1.subs(W, u), z), u)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if len(solutions) != 1:
        return None
    return z, solutions[0]


class SymbolicPotential(AbstractPotential):
    r"""The separable potential $\psi(w) = \sum_i\phi(w_i)$ for a formula $\phi$ in `w`.

    sympy differentiates $\phi$ twice, and tries to solve $\phi'(w) = z$ for $w$ (on
    $w > 0$ when $\phi$ is even, the other half by symmetry). The solution, if it is unique
    and checks out numerically ($\phi'(w(z)) = z$ to $10^{-10}$ on sample points), becomes the
    inverse mirror map; otherwise the inverse is computed by a safeguarded root find
    (bisection on the whole domain, then Newton; see
    [`flowbias.potentials.numeric_inverse`][]). Each function is compiled to JAX node by node.
    The formula is read by a restricted parser that evaluates nothing (see
    [`parse_potential`][flowbias.parse_potential]): a string from a CLI or a file is safe.

    ```python
    import flowbias as fb

    psi = fb.SymbolicPotential("abs(w)**1.5/1.5")
    psi.inverse_method  # 'sympy'
    ```

    **Arguments:**

    - `expression`: a string such as `"abs(w)**1.5/1.5"`, `"w*log(w) - w"` (with
      `domain=(0, math.inf)`), `"cosh(w)"`, or a sympy expression in a real symbol `w`.
    - `domain`: the open interval on which $\phi$ is finite and strictly convex; default the
      real line. Checked on sample points, with an error naming what fails.
    """

    expression: str = eqx.field(static=True)
    domain_interval: tuple[float, float] = eqx.field(static=True)
    inverse_method: str = eqx.field(static=True)
    _phi: Callable = eqx.field(static=True)
    _grad: Callable = eqx.field(static=True)
    _curvature: Callable = eqx.field(static=True)
    _inverse: Callable | None = eqx.field(static=True)

    def __init__(self, expression: str | sp.Expr, *, domain=(-math.inf, math.inf)):
        if isinstance(expression, str):
            expr = parse_potential(expression)
        elif isinstance(expression, sp.Expr):
            named = {s for s in expression.free_symbols if s.name == "w"}
            if expression.free_symbols - named or not named:
                raise ValueError(
                    f"a sympy potential must be an expression in the single symbol `w`; got "
                    f"{expression} (symbols {sorted(map(str, expression.free_symbols))})."
                )
            expr = expression.subs({s: W for s in named})
        else:
            raise TypeError(
                f"`expression` must be a string or a sympy expression; got "
                f"{type(expression).__name__}. Fix: e.g. 'abs(w)**1.5/1.5'."
            )
        self.domain_interval = check_domain_argument(domain)
        self.expression = str(expr)
        d1 = sp.diff(expr, W)
        d2 = sp.diff(d1, W)
        self._phi, self._grad, self._curvature = (to_jax(e, W) for e in (expr, d1, d2))
        check_convex(self.label, self._phi, self._grad, self._curvature, self.domain_interval)
        a, b = self.domain_interval
        even = a == -b and sp.simplify(expr.subs(W, -W) - expr) == 0
        self._inverse = None
        self.inverse_method = "root find"
        found = _symbolic_inverse(d1, self.domain_interval, even)
        if found is not None:
            z, g = found
            compiled = to_jax(g, z)
            inverse = (
                (lambda c: lambda v: np.sign(v) * c(np.abs(v)))(compiled) if even else compiled
            )
            if self._inverse_checks_out(inverse):
                self._inverse = _even_inverse(compiled) if even else compiled
                self.inverse_method = "sympy"

    def _inverse_checks_out(self, inverse) -> bool:
        w = sample_points(self.domain_interval)
        z = np.asarray(self._grad(w), dtype=np.float64)
        with np.errstate(all="ignore"):
            back = np.asarray(inverse(z), dtype=np.float64)
        ok = np.isfinite(back) & (np.abs(back - w) <= 1e-10 * np.maximum(np.abs(w), 1.0))
        return bool(ok.all())

    @property
    def label(self) -> str:
        return self.expression

    @property
    def domain(self) -> tuple[float, float]:
        return self.domain_interval

    def phi(self, w):
        return self._phi(w)

    def grad(self, w):
        return self._grad(w)

    def curvature(self, w):
        return self._curvature(w)

    def grad_inverse(self, z):
        if self._inverse is not None:
            return self._inverse(z)
        return monotone_inverse(self._grad, self._curvature, self.domain_interval, z)


def _even_inverse(positive_branch: Callable) -> Callable:
    import jax.numpy as jnp

    def inverse(z):
        z = jnp.asarray(z)
        return jnp.sign(z) * positive_branch(jnp.abs(z))

    return inverse
