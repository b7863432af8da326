"""The model interface: parameters, outputs, and the observable theory speaks about."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float, PyTree

from ..data import AbstractMeasurements


class AbstractModel(eqx.Module):
    """A parametrised predictor f(x; theta).

    A model owns its initialisation: [`init_params`][flowbias.AbstractModel.init_params] returns
    theta(0). Gradient flow then moves theta; the model says how theta maps to outputs.
    """

    #: True when gradient flow on the parameters is stiff by construction (multiplicative
    #: parametrisations, whose fast modes scale with the weights); picks the default solver.
    stiff_parameter_flow: ClassVar[bool] = False

    @abc.abstractmethod
    def init_params(self) -> PyTree[Float[Array, "..."]]:
        """The initial parameters theta(0)."""

    @abc.abstractmethod
    def predict(self, params: PyTree, X) -> Float[Array, " n"]:
        """The outputs f(x_i; theta), one per data point (row of `X`, or measurement)."""

    @abc.abstractmethod
    def observable(self, params: PyTree) -> Array:
        """What the implicit-bias theorems speak about, as a function of the parameters: the
        effective linear predictor w for linear-in-input models, the end-to-end matrix for
        factorisations. [`FlowSolution`][flowbias.FlowSolution] carries it along the path."""

    @abc.abstractmethod
    def observable_sensitivity(self, params: PyTree) -> Array:
        r"""$\sum_j |\partial o/\partial\theta_j|\,|\theta_j|$ per entry of the observable o:
        how far o moves when every parameter moves by a relative amount one. A value much
        larger than $|o|$ means o is a difference of much larger terms (cancellation)."""

    @abc.abstractmethod
    def parameter_scale(self, X, y: Float[Array, " n"]) -> Float[Array, ""]:
        """A typical magnitude (> 0) of the parameters along the flow on data `(X, y)`; the
        solver's absolute tolerance is taken relative to it."""

    @abc.abstractmethod
    def time_scale(self, X) -> Float[Array, ""]:
        """How much slower than a linear model on the same data this model fits (>= 1 for
        slow parametrisations); sets the default horizon of the square loss."""

    @abc.abstractmethod
    def check_data(self, X) -> None:
        """Raise a clear error, naming `X` and the fix, if `X` does not fit this model
        (called before solving)."""


class AbstractLinearModel(AbstractModel):
    """A model whose outputs are linear in the input: f(x; theta) = <w(theta), x>.

    Every model in this family has an *effective linear predictor* w(theta) in R^d, which is
    what the implicit-bias theorems speak about.
    """

    @abc.abstractmethod
    def predictor(self, params: PyTree) -> Float[Array, " d"]:
        """The effective linear predictor w(theta)."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The input dimension d."""

    def predict(self, params: PyTree, X: Float[Array, "n d"]) -> Float[Array, " n"]:
        return X @ self.predictor(params)

    def observable(self, params: PyTree) -> Float[Array, " d"]:
        return self.predictor(params)

    def check_data(self, X: Float[Array, "n d"]) -> None:
        if isinstance(X, AbstractMeasurements):
            raise TypeError(
                f"{type(self).__name__} is a model of vectors, linear in rows of an (n, d) "
                f"matrix `X`; got a measurement operator ({type(X).__name__}). Fix: use "
                "fb.MatrixFactorization for measurements of a matrix, or pass X as an array."
            )
        if X.ndim != 2:
            raise ValueError(
                f"`X` must be a matrix (2-D) of shape (n, d) for {type(self).__name__}; got "
                f"shape {tuple(X.shape)}. Fix: one row per data point."
            )
        if X.shape[1] != self.dim:
            raise ValueError(
                f"`X` has {X.shape[1]} columns but the model has dimension d = {self.dim} "
                "(from its initialisation). Fix: build the model with an initialisation of "
                f"length {X.shape[1]}, or pass X with {self.dim} columns."
            )


class AbstractMirrorModel(AbstractLinearModel):
    r"""A linear model whose gradient flow is a *mirror flow* with a separable potential.

    For these models the effective predictor along gradient flow is an explicit coordinate-wise
    function of the integrated negative gradient $\xi(t) = -\int_0^t \nabla_w L(w(s))\,ds$:

    $$w(t) = h(\xi(t)), \qquad \nabla Q = h^{-1},$$

    so the flow limit on a square loss is $\arg\min Q(w)$ s.t. $Xw = y$. For a loss of the
    outputs $Xw$, $\xi = X^\top \nu$ with $\nu \in \mathbb{R}^n$: the flow can be integrated
    in the n-dimensional dual variable $\nu$ ([`DualFlow`][flowbias.DualFlow]).
    """

    @abc.abstractmethod
    def link(self, xi: Float[Array, " d"]) -> Float[Array, " d"]:
        """w = h(xi); h(0) is the initial predictor."""

    @abc.abstractmethod
    def link_derivative(self, xi: Float[Array, " d"]) -> Float[Array, " d"]:
        """h'(xi), coordinate-wise (the diagonal of the inverse Hessian of Q)."""

    @abc.abstractmethod
    def dual_potential(self, xi: Float[Array, " d"]) -> Float[Array, ""]:
        """H(xi) = sum_i int_0^{xi_i} h: the convex conjugate of Q, with grad H = h."""

    @abc.abstractmethod
    def potential(self, w: Float[Array, " d"]) -> Float[Array, ""]:
        """The mirror potential Q(w), normalised so that Q(w(0)) = 0 and grad Q(w(0)) = 0."""

    @abc.abstractmethod
    def params_from_xi(self, xi: Float[Array, " d"]) -> PyTree:
        """The parameters theta whose predictor is h(xi) on the gradient-flow path."""

    @abc.abstractmethod
    def inverse_link(self, w: Float[Array, " d"]) -> Float[Array, " d"]:
        """h^{-1}(w) = grad Q(w)."""
