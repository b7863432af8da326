"""A potential given as a JAX function of one coordinate: derivatives by autodiff, the inverse
mirror map by a safeguarded root find."""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from ._base import AbstractPotential
from ._checks import check_convex, check_domain_argument
from .numeric_inverse import monotone_inverse


class FunctionPotential(AbstractPotential):
    r"""The separable potential $\psi(w) = \sum_i\phi(w_i)$ for a JAX function `phi` of a
    scalar. $\phi'$ and $\phi''$ come from `jax.grad`; $(\phi')^{-1}$ from a safeguarded root
    find with the exact derivative $1/\phi''$ (see
    [`flowbias.potentials.numeric_inverse`][]). Checked for finiteness and strict convexity on
    sample points of the domain.

    ```python
    import jax.numpy as jnp
    import flowbias as fb

    psi = fb.FunctionPotential(lambda w: jnp.cosh(w), label="cosh w")
    ```

    **Arguments:**

    - `phi`: a function of one scalar, differentiable twice, strictly convex on `domain`.
    - `domain`: its open interval; default the real line.
    - `label`: a short name for titles.
    """

    function: Callable = eqx.field(static=True)
    domain_interval: tuple[float, float] = eqx.field(static=True)
    name: str = eqx.field(static=True)
    _grad: Callable = eqx.field(static=True)
    _curvature: Callable = eqx.field(static=True)

    def __init__(self, phi: Callable, *, domain=(-math.inf, math.inf), label: str = "phi"):
        if not callable(phi):
            raise TypeError(f"`phi` must be a function of one scalar; got {type(phi).__name__}.")
        self.function = phi
        self.domain_interval = check_domain_argument(domain)
        self.name = str(label)
        first = jax.grad(phi)
        self._grad = jnp.vectorize(first)
        self._curvature = jnp.vectorize(jax.grad(first))
        check_convex(self.name, jnp.vectorize(phi), self._grad, self._curvature, domain)

    @property
    def label(self) -> str:
        return self.name

    @property
    def domain(self) -> tuple[float, float]:
        return self.domain_interval

    def phi(self, w):
        return jnp.vectorize(self.function)(w)

    def grad(self, w):
        return self._grad(w)

    def curvature(self, w):
        return self._curvature(w)

    def grad_inverse(self, z):
        return monotone_inverse(self._grad, self._curvature, self.domain_interval, z)
