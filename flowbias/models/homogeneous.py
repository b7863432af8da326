r"""Positively homogeneous models: $f(x; c\theta) = c^L f(x; \theta)$ for every $c > 0$.

On separable data with an exponentially tailed loss, gradient flow on such a model sends
$\|\theta\|$ to infinity; what converges is the direction $\theta/\|\theta\|$, and the
quantities theory speaks about (margins normalised by $\|\theta\|^L$, KKT points of the
max-margin problem) are functions of the parameters as a whole, flattened into one vector.
"""

from __future__ import annotations

import abc

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PyTree

from ..data import AbstractMeasurements
from ._base import AbstractModel


def initial_scale(params: PyTree) -> Float[Array, ""]:
    """The largest initial parameter in absolute value (1 if all are zero): the scale the
    solver's absolute tolerance is taken relative to."""
    init = jnp.max(jnp.stack([jnp.max(jnp.abs(v)) for v in jax.tree.leaves(params)]))
    return jnp.where(init > 0, init, 1.0)


def check_inputs(X, dim: int, what: str) -> None:
    """Raise unless `X` is an (n, dim) matrix of inputs (not a measurement operator)."""
    if isinstance(X, AbstractMeasurements):
        raise TypeError(
            f"`X` must be an (n, {dim}) matrix of inputs for {what}; got a measurement "
            f"operator ({type(X).__name__})."
        )
    if X.ndim != 2 or X.shape[1] != dim:
        raise ValueError(
            f"`X` must have shape (n, {dim}) for {what} (d = {dim} from its initial "
            f"weights); got shape {tuple(X.shape)}. Fix: one row per data point, d columns."
        )


class AbstractHomogeneousModel(AbstractModel):
    r"""A model positively homogeneous of degree $L$ in all its parameters together,
    $f(x; c\theta) = c^L f(x; \theta)$ for $c > 0$, and built of layers each homogeneous of
    degree one (so that the differences of consecutive squared layer norms are conserved by
    gradient flow; see [`balancedness`][flowbias.AbstractHomogeneousModel.balancedness]).

    The degree is declared by the model and can be checked numerically with
    [`homogeneity_error`][flowbias.AbstractHomogeneousModel.homogeneity_error].
    """

    @property
    @abc.abstractmethod
    def degree(self) -> int:
        """The homogeneity degree L of the outputs in the parameters."""

    @abc.abstractmethod
    def layers(self, params: PyTree) -> tuple[Float[Array, "..."], ...]:
        """The parameters grouped by layer, first layer first."""

    @property
    @abc.abstractmethod
    def layer_degrees(self) -> tuple[int, ...]:
        """The degree k_j of the outputs in each layer alone (they sum to the degree)."""

    def flat(self, params: PyTree) -> Float[Array, " p"]:
        """All parameters as one vector (the order of `jax.flatten_util.ravel_pytree`)."""
        return ravel_pytree(params)[0]

    def unflat(self, theta: Float[Array, " p"]) -> PyTree:
        """The inverse of [`flat`][flowbias.AbstractHomogeneousModel.flat]."""
        return ravel_pytree(self.init_params())[1](theta)

    def observable(self, params: PyTree) -> Float[Array, " p"]:
        return self.flat(params)

    def observable_sensitivity(self, params: PyTree) -> Float[Array, " p"]:
        return jnp.abs(self.flat(params))

    def layer_norms(self, params: PyTree) -> Float[Array, " k"]:
        """The Frobenius norm of each layer."""
        return jnp.stack([jnp.sqrt(jnp.sum(w**2)) for w in self.layers(params)])

    def balancedness(self, params: PyTree) -> Float[Array, " k-1"]:
        r"""$\|W_{j+1}\|_F^2 / k_{j+1} - \|W_j\|_F^2 / k_j$ for consecutive layers: conserved
        by gradient flow on any loss of the outputs. By Euler's identity
        $\langle W_j, \nabla_{W_j} f\rangle = k_j f$, so
        $\frac{d}{dt}\|W_j\|_F^2 = -2\langle W_j, \nabla_{W_j} L\rangle$ is $k_j$ times one
        quantity common to all layers (Du, Hu & Lee, *Algorithmic Regularization in Learning
        Deep Homogeneous Models*, NeurIPS 2018)."""
        sq = jnp.stack(
            [
                jnp.sum(w**2) / k
                for w, k in zip(self.layers(params), self.layer_degrees, strict=True)
            ]
        )
        return sq[1:] - sq[:-1]

    def homogeneity_error(self, params: PyTree, X, scales: tuple[float, ...] = (0.5, 3.0)) -> float:
        r"""$\max_c \max_i |f(x_i; c\theta) - c^L f(x_i; \theta)| / \max_i |c^L f(x_i;\theta)|$
        over the given scales $c$: round-off (~1e-15) for a model of the declared degree."""
        f = self.predict(params, X)
        errs = []
        for c in scales:
            fc = self.predict(jax.tree_util.tree_map(lambda p, c=c: c * p, params), X)
            ref = c**self.degree * f
            errs.append(float(jnp.max(jnp.abs(fc - ref)) / jnp.max(jnp.abs(ref))))
        return max(errs)

    def check_degree(self, X, *, tol: float = 1e-10) -> None:
        """Raise if the outputs on `X` at the initial parameters are not homogeneous of the
        declared degree (to relative `tol`)."""
        err = self.homogeneity_error(self.init_params(), X)
        if not np.isfinite(err) or err > tol:
            raise ValueError(
                f"{type(self).__name__} declares degree {self.degree}, but f(c theta) differs "
                f"from c^{self.degree} f(theta) by {err:.2g} (relative) on `X`. Fix: declare "
                "the degree the model has, and use no biases (they break homogeneity)."
            )
