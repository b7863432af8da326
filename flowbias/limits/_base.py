r"""Predicted limits as a small family: each kind knows how agreement with it is measured.

A limit is computed independently of any flow (a closed form, a convex program, an exact
algorithm) and compared with the flow's *observable* (see
[`AbstractModel.observable`][flowbias.AbstractModel.observable]), an array of any shape:

- [`PointLimit`][flowbias.PointLimit]: the flow converges to `value`; agreement is the
  relative error $\|o - o^\star\| / \|o^\star\|$ (Frobenius over all entries).
- [`DirectionLimit`][flowbias.DirectionLimit]: the flow diverges in norm along `value`;
  agreement is $1 - \cos\angle(o, o^\star)$ over all entries.

A KKT-point limit (homogeneous networks) will be a third member. Leading axes of the
observable beyond the limit's own (saved times, runs of a sweep) broadcast.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ..compare import one_minus_cos, relative_error
from ..references import LimitError as LimitError


class PredictedLimit(eqx.Module):
    """What theory says a flow converges to, computed independently of the flow.

    **Fields** (every member): `kind`, the theorem (e.g. `"min_norm_interpolator"`,
    `"hard_margin_svm"`, `"diagonal_potential(depth=2, untied)"`); `value`, the predicted
    observable; `residual`, the reference solver's own certificate (its relative KKT
    residual, checked when it was computed); `reference`, the solver's full output where
    there is one (e.g. an [`SVMSolution`][flowbias.SVMSolution]).
    """

    kind: eqx.AbstractVar[str]
    value: eqx.AbstractVar[Array]
    residual: eqx.AbstractVar[float]
    reference: eqx.AbstractVar[Any]
    agreement_measure: eqx.AbstractClassVar[str]

    @abc.abstractmethod
    def agreement(self, observable: Array) -> Array:
        """How close `observable` (leading axes broadcast) is to this limit; 0 is exact."""

    @property
    def is_direction(self) -> bool:
        """Whether only the direction is predicted (the flow diverges in norm)."""
        return isinstance(self, DirectionLimit)

    @property
    def w(self) -> Array:
        """The predicted vector, for vector observables (the effective predictor)."""
        if jnp.ndim(self.value) != 1:
            raise AttributeError(
                f"this limit predicts an observable of shape {jnp.shape(self.value)}, not a "
                "vector w; use `limit.value`."
            )
        return self.value

    def _flat(self, observable) -> tuple[Array, Array]:
        """Observable and value with the limit's own axes flattened into one."""
        o = jnp.asarray(observable)
        k = jnp.ndim(self.value)
        if o.shape[o.ndim - k :] != jnp.shape(self.value):
            raise ValueError(
                f"the observable has shape {o.shape}, whose trailing axes do not match the "
                f"limit's shape {jnp.shape(self.value)}. Fix: compare the solution's "
                "`observable` (or `w`) of the same problem."
            )
        return o.reshape(o.shape[: o.ndim - k] + (-1,)), jnp.reshape(self.value, (-1,))


class PointLimit(PredictedLimit):
    """The flow converges to `value`: agreement is the relative error."""

    kind: str = eqx.field(static=True)
    value: Array
    residual: float = 0.0
    reference: Any = None
    agreement_measure: ClassVar[str] = "relative_error"

    def agreement(self, observable):
        return relative_error(*self._flat(observable))


class DirectionLimit(PredictedLimit):
    """The flow diverges in norm along `value` (normalised arbitrarily, e.g. the SVM solution
    with margin one): agreement is 1 - cos of the angle."""

    kind: str = eqx.field(static=True)
    value: Array
    residual: float = 0.0
    reference: Any = None
    agreement_measure: ClassVar[str] = "one_minus_cos"

    def agreement(self, observable):
        return one_minus_cos(*self._flat(observable))
