"""The flow interface: what the ODE state is, its vector field, and what it represents."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, Float, Int, PyTree

from ..losses import AbstractLoss
from ..models import AbstractModel
from .time import AbstractTime


class AbstractFlow(eqx.Module):
    """A continuous-time training dynamics, posed as an ODE in a (possibly reparametrised)
    time s.

    A flow decides the ODE's state (the parameters, or a dual variable), its vector field,
    and how the state maps back to what theory speaks about: the model's parameters, its
    *observable* (e.g. the effective predictor w) and its outputs on the data.
    [`flowsolve`][flowbias.flowsolve] integrates it.
    """

    @abc.abstractmethod
    def init_state(self, model: AbstractModel, X) -> PyTree:
        """The ODE state at t = 0."""

    @abc.abstractmethod
    def vector_field(
        self,
        s: Float[Array, ""],
        state: PyTree,
        model: AbstractModel,
        loss: AbstractLoss,
        time: AbstractTime,
        X,
        y: Float[Array, " n"],
    ) -> PyTree:
        """d state / ds."""

    @abc.abstractmethod
    def params(self, state: PyTree, model: AbstractModel, X) -> PyTree:
        """The model parameters represented by `state` (the state itself for primal flows)."""

    @abc.abstractmethod
    def observable(self, state: PyTree, model: AbstractModel, X) -> Array:
        """The model's observable at `state` (see
        [`AbstractModel.observable`][flowbias.AbstractModel.observable]), computed in the way
        that loses the fewest digits for this flow."""

    @abc.abstractmethod
    def outputs(self, state: PyTree, model: AbstractModel, X) -> Float[Array, " n"]:
        """The model's outputs on the data at `state` (what the loss is evaluated on)."""

    @abc.abstractmethod
    def observable_error(
        self, state: PyTree, model: AbstractModel, X, num_steps: Int[Array, ""]
    ) -> Array:
        r"""An estimate, entry by entry, of the rounding error in the final observable after
        `num_steps` solver steps: large next to the observable itself where the observable
        is a difference of much larger terms (cancellation). The truncation error that the
        solver's `rtol` controls is not included.

        Errors that the flow corrects by itself do not count: a dual flow is attracted to
        its unique fixed point, so only rounding in evaluating the link remains. A flow on
        over-parametrised parameters is not: rounding moves it along its zero-loss manifold,
        step after step, and nothing pulls it back, so each step's rounding of the parameters
        (a relative $\epsilon$) stays, as a random walk, amplified by the observable's
        sensitivity to them: $4\epsilon\sqrt{N + 1}\sum_j |\partial o/\partial\theta_j|\,
        |\theta_j|$. (Measured on diagonal networks at alpha = 1e2 to 1e6, depths 2 and 3,
        the error against an independent limit was 2 to 20 times below this.)"""

    @abc.abstractmethod
    def state_scale(self, model: AbstractModel, loss: AbstractLoss, X, y) -> Float[Array, ""]:
        """A typical magnitude of the state along the flow, > 0. The ODE is integrated in the
        state divided by it, so that `atol` is relative to the state's own scale (at a small
        initial scale alpha a fixed absolute tolerance of 1e-12 is larger than the state)."""

    #: True for flows that can only be integrated in linear time (their field is not linear in
    #: the gradient, so the log-time rescaling does not apply): `flowsolve` then defaults to
    #: `LinearTime()` and refuses a log time before compiling anything.
    linear_time_only: ClassVar[bool] = False

    def is_stiff(self, model: AbstractModel) -> bool:
        """Whether this flow is stiff for `model`, which picks the default solver
        ([`default_solver`][flowbias.default_solver]). Flows on the parameters inherit the
        model's `stiff_parameter_flow`."""
        return model.stiff_parameter_flow

    def time_scale(self, model: AbstractModel, X) -> Float[Array, ""]:
        """How much slower than gradient flow of a linear model this flow fits (>= 1), which
        sets the default horizon of the square loss. Flows on the parameters inherit the
        model's [`time_scale`][flowbias.AbstractModel.time_scale]."""
        return model.time_scale(X)

    def check(self, model: AbstractModel, loss: AbstractLoss) -> None:
        """Raise a clear error if this flow cannot run this model/loss pair."""


class AbstractGradientFlow(AbstractFlow):
    """A flow that follows the Euclidean gradient of the loss in the model's parameters, up to
    a positive change of time: gradient flow itself, its loss-normalised variant, and the
    reductions of gradient flow that integrate the same path in other variables (the dual
    flow of a mirror model, the end-to-end flow of a balanced factorisation).

    The implicit-bias theorems of gradient flow apply to every member; flows of another
    geometry (mirror, steepest descent in another norm) are not members, and have theorems
    of their own (see `flowbias.limits.register_theorem`)."""
