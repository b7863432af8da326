r"""Which theorem predicts the limit of which (model, loss, flow): a registry, dispatched by type.

Models and losses know nothing of the theorems about them; each theorem registers itself
here for the model and loss classes it covers ([`register_theorem`][]), and
[`predicted_limit`][flowbias.predicted_limit] looks the pair up along both classes' MROs.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from ..data import validate_data
from ..flows import AbstractFlow, AbstractGradientFlow, GradientFlow
from ..losses import AbstractLoss
from ..models import AbstractModel
from ..solution import FlowSolution
from ._base import PredictedLimit


Theorem = Callable[[AbstractModel, AbstractLoss, AbstractFlow, Array, Array], PredictedLimit]
_THEOREMS: dict[tuple[type, type, type], Theorem] = {}


def register_theorem(
    model_type: type, loss_type: type, flow_type: type = AbstractGradientFlow
) -> Callable[[Theorem], Theorem]:
    """Register `theorem(model, loss, flow, X, y) -> PredictedLimit` for these classes (and
    their subclasses, unless a more specific entry exists).

    `flow_type` says which dynamics the theorem is about: by default the gradient flows
    ([`AbstractGradientFlow`][flowbias.AbstractGradientFlow], whatever variables they are
    integrated in); a flow of another geometry (a mirror flow, steepest descent in another
    norm) registers its own theorems, and never inherits gradient flow's."""

    def wrap(theorem: Theorem) -> Theorem:
        _THEOREMS[model_type, loss_type, flow_type] = theorem
        return theorem

    return wrap


def _lookup(model: AbstractModel, loss: AbstractLoss, flow: AbstractFlow) -> Theorem:
    for m in type(model).__mro__:
        for ell in type(loss).__mro__:
            for f in type(flow).__mro__:
                if (m, ell, f) in _THEOREMS:
                    return _THEOREMS[m, ell, f]
    raise NotImplementedError(
        f"no predicted limit is implemented for {type(model).__name__} with "
        f"{type(loss).__name__} under {type(flow).__name__}. Fix: compare with `flowsolve` "
        "directly, or register a theorem with `flowbias.limits.register_theorem`."
    )


def predicted_limit(
    model: AbstractModel | FlowSolution,
    loss: AbstractLoss | None = None,
    X: ArrayLike | None = None,
    y: ArrayLike | None = None,
    *,
    flow: AbstractFlow | None = None,
) -> PredictedLimit:
    r"""What theory says the flow of `model` on `loss` over `(X, y)` converges to, computed
    independently of any flow. Pass a [`FlowSolution`][flowbias.FlowSolution] alone to use
    the problem it records.

    - Linear model, square loss: $\arg\min\|w - w_0\|$ s.t. $Xw = y$, or the least-squares
      minimiser nearest $w_0$ when no interpolator exists (a
      [`PointLimit`][flowbias.PointLimit]).
    - Linear model, exponential or logistic loss on separable data: the direction of the
      hard-margin SVM (a [`DirectionLimit`][flowbias.DirectionLimit]). Raises
      [`NonSeparableError`][flowbias.NonSeparableError], with an explanation, if the data
      are not separable.
    - Diagonal network, square loss: $\arg\min Q$ s.t. $Xw = y$ for its mirror potential.
    - Matrix factorisation, square loss: the minimum nuclear norm fit of the measurements
      (minimum trace PSD for $W = PP^\top$), a theorem for commuting measurements as
      $\alpha \to 0$ and a conjecture otherwise (see
      [`nuclear_norm_theorem`][flowbias.limits.matrix.nuclear_norm_theorem]).

    Each reference certifies itself (`limit.residual`, its relative KKT residual) and raises
    [`LimitError`][flowbias.LimitError] if it cannot.

    ??? cite "Sources"
        Least squares: the row-space argument (Sutherland, *CPSC 532D lecture notes*, UBC
        2025, Prop. 13.1). Separable data: Soudry, Hoffer, Nacson, Gunasekar, Srebro, *The
        Implicit Bias of Gradient Descent on Separable Data*, JMLR 2018, Theorem 3. Diagonal
        networks: Woodworth et al., *Kernel and Rich Regimes in Overparametrized Models*,
        COLT 2020.
    """
    if isinstance(model, FlowSolution):
        if loss is not None or X is not None or y is not None:
            raise TypeError("pass a FlowSolution alone, or (model, loss, X, y); not both.")
        sol = model
        if np.ndim(sol.log_ts) != 1:
            raise ValueError("the solution holds a batch of runs; pass one run at a time.")
        p = sol.problem
        model, loss, flow, X, y = p.model, p.loss, p.flow, p.X, p.y
    if not isinstance(model, AbstractModel):
        raise TypeError(f"`model` must be a flowbias model; got {type(model).__name__}.")
    if not isinstance(loss, AbstractLoss):
        raise TypeError(f"`loss` must be a flowbias loss; got {type(loss).__name__}.")
    if X is None or y is None:
        raise TypeError("pass the data `X` and `y` (or a FlowSolution alone).")
    X, y = validate_data(X, y, model=model, loss=loss)
    flow = GradientFlow() if flow is None else flow
    if not isinstance(flow, AbstractFlow):
        raise TypeError(f"`flow` must be a flowbias flow; got {type(flow).__name__}.")
    return _lookup(model, loss, flow)(model, loss, flow, X, y)


def _observable_of(x) -> Array:
    if isinstance(x, FlowSolution):
        return x.observable_final
    return jnp.asarray(x)


def agreement(x: ArrayLike | FlowSolution, limit: PredictedLimit) -> Array:
    """How close `x` (an observable, e.g. `sol.w_final`, or a solution: its final observable)
    is to the predicted limit: 1 - cos for directions, else the relative error."""
    if not isinstance(limit, PredictedLimit):
        raise TypeError(
            f"`limit` must be a PredictedLimit (from fb.predicted_limit); got "
            f"{type(limit).__name__}."
        )
    return limit.agreement(_observable_of(x))


class Comparison(eqx.Module):
    """A flow confronted with its predicted limit (see [`compare`][flowbias.compare]).

    **Fields:** `kind` and `measure` (of the limit); `path`, the agreement at every saved
    time; `final`, at the last; `converging`, whether the agreement still improves (or sits
    at its floor) over the late part of the path, so that `final` is not a transient.
    """

    kind: str = eqx.field(static=True)
    measure: str = eqx.field(static=True)
    path: Array
    final: Array
    converging: bool


def compare(sol: FlowSolution, limit: PredictedLimit | None = None) -> Comparison:
    r"""Confront a solution with its predicted limit (computed from the solution's problem if
    not given): the agreement along the whole path and whether it is still improving.

    `converging` holds when the agreement at the last saved time is no worse than at the
    three-quarter mark of the saved times after t = 0 (up to 1% and a $10^{-13}$ floor): a
    direction error that is growing again, or a point error that has stalled above its
    earlier values, is no evidence of the predicted limit.
    """
    if not isinstance(sol, FlowSolution):
        raise TypeError(f"`sol` must be a FlowSolution; got {type(sol).__name__}.")
    limit = predicted_limit(sol) if limit is None else limit
    path = np.asarray(limit.agreement(sol.observable), dtype=np.float64)
    if path.ndim != 1:
        raise ValueError("the solution holds a batch of runs; compare one run at a time.")
    finite = np.flatnonzero(np.isfinite(path) & np.isfinite(np.asarray(sol.log_ts)))
    late = path[finite[(3 * len(finite)) // 4]] if finite.size else np.nan
    final = path[-1]
    converging = bool(np.isfinite(final) and final <= max(1.01 * late, 1e-13))
    return Comparison(
        kind=limit.kind,
        measure=limit.agreement_measure,
        path=jnp.asarray(path),
        final=jnp.asarray(final),
        converging=converging,
    )
