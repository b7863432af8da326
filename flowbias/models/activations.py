r"""Positively homogeneous activations $\sigma(cz) = c^p\sigma(z)$ for $c > 0$, each with its
degree $p$ declared."""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import check_int


class AbstractActivation(eqx.Module):
    """A positively homogeneous activation of declared degree p: sigma(c z) = c^p sigma(z)."""

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """A short name for titles, e.g. `relu^2`."""

    @property
    @abc.abstractmethod
    def differentiable(self) -> bool:
        """Whether sigma is continuously differentiable (else it has a kink at 0, along which
        gradient flow can slide; see [`TwoLayerNetwork`][flowbias.TwoLayerNetwork])."""

    @property
    @abc.abstractmethod
    def degree(self) -> int:
        """The homogeneity degree p >= 1."""

    @abc.abstractmethod
    def __call__(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        """sigma(z), entrywise."""


class AbstractKinkedActivation(AbstractActivation):
    r"""A degree-one activation with a kink at 0: $\sigma(z) = z$ for $z > 0$, $s z$ for
    $z \le 0$, with slope $0 \le s < 1$ (ReLU: $s = 0$)."""

    @property
    @abc.abstractmethod
    def negative_slope(self) -> float:
        """The slope s for z < 0."""

    @property
    def differentiable(self) -> bool:
        return False

    @property
    def degree(self) -> int:
        return 1

    def smoothed(self, c: Float[Array, "..."], width: float) -> Float[Array, "..."]:
        r"""The activation with its kink rounded off on $|c| \le \varepsilon$ (`width`): equal to
        $\sigma(c)$ outside, $s c + (1 - s)(c + \varepsilon)^2/(4\varepsilon)$ inside, which
        matches $\sigma$ and its slope at $c = \pm\varepsilon$ (continuously differentiable)."""
        s = self.negative_slope
        inside = s * c + (1.0 - s) * (c + width) ** 2 / (4.0 * width)
        return jnp.where(c > width, c, jnp.where(c < -width, s * c, inside))


class ReLU(AbstractKinkedActivation):
    r"""$\sigma(z) = \max(z, 0)$, degree 1. Its derivative at the kink is taken as 0 (an element
    of the Clarke subdifferential $[0, 1]$), as `jax.grad` of this form gives."""

    @property
    def label(self) -> str:
        return "relu"

    @property
    def negative_slope(self) -> float:
        return 0.0

    def __call__(self, z):
        return jnp.where(z > 0, z, 0.0)


class LeakyReLU(AbstractKinkedActivation):
    r"""$\sigma(z) = z$ for $z > 0$, $s z$ otherwise, with slope $0 \le s < 1$; degree 1. The
    derivative at the kink is taken as $s$ (in the Clarke subdifferential $[s, 1]$)."""

    slope: float = eqx.field(static=True)

    def __init__(self, slope: float = 0.1):
        if isinstance(slope, bool) or not isinstance(slope, int | float) or not 0 <= slope < 1:
            raise ValueError(
                f"`slope` must be a number in [0, 1); got {slope!r}. Fix: e.g. slope=0.1 (a "
                "slope of 1 makes the network linear, of more than 1 it is not a leaky ReLU)."
            )
        self.slope = float(slope)

    @property
    def label(self) -> str:
        return f"leaky relu (slope {self.slope:g})"

    @property
    def negative_slope(self) -> float:
        return self.slope

    def __call__(self, z):
        return jnp.where(z > 0, z, self.slope * z)


class PowerReLU(AbstractActivation):
    r"""$\sigma(z) = \max(z, 0)^p$ for an integer $p \ge 1$ (degree $p$; differentiable for
    $p \ge 2$)."""

    power: int = eqx.field(static=True)

    def __init__(self, power: int = 2):
        self.power = check_int(power, "power", minimum=1, fix="e.g. power=2 for relu^2.")

    @property
    def label(self) -> str:
        return f"relu^{self.power}"

    @property
    def differentiable(self) -> bool:
        return self.power >= 2

    @property
    def degree(self) -> int:
        return self.power

    def __call__(self, z):
        return jnp.where(z > 0, z, 0.0) ** self.power
