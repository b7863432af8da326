"""The flow interface: what the ODE state is and what its vector field is."""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, Float, PyTree

from ..losses import AbstractLoss
from ..models import AbstractModel
from .time import AbstractTime


class AbstractFlow(eqx.Module):
    """A continuous-time training dynamics, posed as an ODE in a (possibly reparametrised)
    time s.

    A flow decides the ODE's state (the parameters, or a dual variable) and its vector field;
    [`flowsolve`][flowbias.flowsolve] integrates it.
    """

    @abc.abstractmethod
    def init_state(self, model: AbstractModel, X: Float[Array, "n d"]) -> PyTree:
        """The ODE state at t = 0."""

    @abc.abstractmethod
    def vector_field(
        self,
        s: Float[Array, ""],
        state: PyTree,
        model: AbstractModel,
        loss: AbstractLoss,
        time: AbstractTime,
        X: Float[Array, "n d"],
        y: Float[Array, " n"],
    ) -> PyTree:
        """d state / ds."""

    @abc.abstractmethod
    def params(self, state: PyTree, model: AbstractModel, X: Float[Array, "n d"]) -> PyTree:
        """The model parameters represented by `state` (the state itself for primal flows)."""

    def is_stiff(self, model: AbstractModel) -> bool:
        """Whether this flow is stiff for `model`, which picks the default solver
        ([`default_solver`][flowbias.default_solver]). Flows on the parameters inherit the
        model's `stiff_parameter_flow`."""
        return model.stiff_parameter_flow

    def check(self, model: AbstractModel, loss: AbstractLoss) -> None:
        """Raise a clear error if this flow cannot run this model/loss pair."""
