r"""The interface of a separable mirror potential $\psi(w) = \sum_i \phi(w_i)$."""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


class AbstractPotential(eqx.Module):
    r"""A separable, strictly convex mirror potential $\psi(w) = \sum_i \phi(w_i)$ on an open
    interval $(a, b)$ of each coordinate (the *domain*; $\mathbb R$ for p-norms, $(0, \infty)$
    for the negative entropy).

    Mirror flow with this potential moves the *mirror coordinates* $z = \nabla\psi(w) =
    \phi'(w)$ along the negative gradient, $\dot z = -\nabla L(w)$, and maps back with the
    inverse $w = (\phi')^{-1}(z)$. A potential supplies $\phi$, $\phi'$, its inverse and
    $\phi''$, entrywise; everything else (the Bregman divergence, the convex conjugate) is
    built from them here.
    """

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """A short name for titles, e.g. `|w|^1.5/1.5`."""

    @property
    @abc.abstractmethod
    def domain(self) -> tuple[float, float]:
        """The open interval (a, b) on which phi is finite and strictly convex."""

    @abc.abstractmethod
    def phi(self, w: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""$\phi(w)$, entrywise."""

    @abc.abstractmethod
    def grad(self, w: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""The mirror map $\phi'(w)$, entrywise (strictly increasing)."""

    @abc.abstractmethod
    def grad_inverse(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""$(\phi')^{-1}(z)$, entrywise: the point whose mirror coordinate is $z$."""

    @abc.abstractmethod
    def curvature(self, w: Float[Array, "..."]) -> Float[Array, "..."]:
        r"""$\phi''(w) > 0$, entrywise; $dw/dz = 1/\phi''(w)$."""

    def value(self, w: Float[Array, " d"]) -> Float[Array, ""]:
        r"""$\psi(w) = \sum_i \phi(w_i)$."""
        return jnp.sum(self.phi(w))

    def conjugate(self, z: Float[Array, " d"]) -> Float[Array, ""]:
        r"""The convex conjugate $\psi^*(z) = \sum_i z_i w_i - \phi(w_i)$ at
        $w = (\phi')^{-1}(z)$; its gradient is $(\phi')^{-1}(z)$."""
        w = self.grad_inverse(z)
        return jnp.sum(z * w - self.phi(w))

    def bregman(self, w: Float[Array, " d"], w0: Float[Array, " d"]) -> Float[Array, ""]:
        r"""The Bregman divergence $D_\psi(w, w_0) = \psi(w) - \psi(w_0) -
        \langle\nabla\psi(w_0), w - w_0\rangle \ge 0$."""
        return jnp.sum(self.phi(w) - self.phi(w0) - self.grad(w0) * (w - w0))

    def check_domain(self, w, name: str) -> None:
        """Raise a clear error, naming `name`, if a concrete `w` lies outside the domain."""
        a, b = self.domain
        w = np.asarray(w)
        bad = ~((w > a) & (w < b))
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(
                f"`{name}` has entries outside the domain ({a:g}, {b:g}) of the potential "
                f"{self.label} (entry {i} is {w.ravel()[i]:g}). Fix: start inside the domain "
                "(e.g. w0 > 0 for an entropy), or choose a potential defined there."
            )
