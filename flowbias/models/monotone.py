r"""Strictly increasing smooth activations $\psi$, each with its inverse and its range.

A single neuron $\psi(\langle w, x\rangle)$ with such an activation can fit a target $y$ only
where $y$ lies in the range of $\psi$, and then at exactly one pre-activation,
$\psi^{-1}(y)$: the square loss on $\psi(Xw)$ has the zero-loss set
$\{w : Xw = \psi^{-1}(y)\}$, an affine subspace (see
`SingleNeuron`). The leaky ReLU with a positive
slope is strictly increasing too; it is
[`LeakyReLU`][flowbias.LeakyReLU], a kinked homogeneous activation.
"""

from __future__ import annotations

import abc
import math
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractMonotoneActivation(eqx.Module):
    r"""A smooth, strictly increasing activation $\psi:\mathbb R \to (a, b)$, onto its range,
    with $\psi' > 0$ everywhere: invertible on $(a, b)$.

    Members declare their `range` $(a, b)$ (an open interval, ends possibly infinite) and
    their `inverse` $\psi^{-1}: (a, b) \to \mathbb R$ in closed form.
    """

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """A short name for titles, e.g. `tanh`."""

    @property
    @abc.abstractmethod
    def range(self) -> tuple[float, float]:
        r"""The open interval $(a, b) = \psi(\mathbb R)$ of values, e.g. `(-1.0, 1.0)` for
        tanh (ends may be `-inf`, `inf`)."""

    @abc.abstractmethod
    def __call__(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""$\psi(z)$, entrywise."""

    @abc.abstractmethod
    def inverse(self, y: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""$\psi^{-1}(y)$, entrywise, for $y$ in the open `range` (NaN or $\pm\infty$
        outside it)."""

    def derivative(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""$\psi'(z)$, entrywise (by `jax.grad` of the scalar function)."""
        return jnp.vectorize(jax.grad(self.__call__))(z)

    def min_slope(self, lo: Float[Array, ""], hi: Float[Array, ""]) -> Float[Array, ""]:
        r"""$\min_{z \in [lo, hi]} \psi'(z)$, as $\min(\psi'(lo), \psi'(hi))$: exact when
        $\psi'$ is quasi-concave (rises, then falls: tanh, sigmoid, softplus); a member whose
        slope has an interior minimum must override this."""
        return jnp.minimum(self.derivative(jnp.asarray(lo)), self.derivative(jnp.asarray(hi)))


@final
class Tanh(AbstractMonotoneActivation):
    r"""$\psi(z) = \tanh z$, range $(-1, 1)$, $\psi^{-1}(y) = \operatorname{artanh} y$,
    $\psi'(z) = 1/\cosh^2 z$."""

    @property
    def label(self) -> str:
        return "tanh"

    @property
    def range(self) -> tuple[float, float]:
        return (-1.0, 1.0)

    def __call__(self, z):
        return jnp.tanh(z)

    def inverse(self, y):
        return jnp.arctanh(y)

    def derivative(self, z):
        # 1 / cosh^2, not 1 - tanh^2, which cancels digits in the tails.
        return 1.0 / jnp.cosh(z) ** 2


@final
class Sigmoid(AbstractMonotoneActivation):
    r"""The logistic function $\psi(z) = 1/(1 + e^{-z})$, range $(0, 1)$,
    $\psi^{-1}(y) = \log y - \log(1 - y)$ (the logit), $\psi' = \psi(1 - \psi) \le 1/4$."""

    @property
    def label(self) -> str:
        return "sigmoid"

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def __call__(self, z):
        return jax.nn.sigmoid(z)

    def inverse(self, y):
        return jnp.log(y) - jnp.log1p(-y)


@final
class Softplus(AbstractMonotoneActivation):
    r"""$\psi(z) = \log(1 + e^z)$, range $(0, \infty)$, $\psi' = $ the logistic function, and
    $\psi^{-1}(y) = \log(e^y - 1)$, evaluated as $y + \log(1 - e^{-y})$ (no overflow of
    $e^y$ for large $y$, full accuracy for small $y$)."""

    @property
    def label(self) -> str:
        return "softplus"

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def __call__(self, z):
        return jax.nn.softplus(z)

    def inverse(self, y):
        return y + jnp.log(-jnp.expm1(-y))
