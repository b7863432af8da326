"""What [`flowsolve`][flowbias.flowsolve] returns: the path, its outcome, and the problem."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PyTree

from .flows import AbstractFlow, AbstractTime
from .losses import AbstractLoss
from .models import AbstractLinearModel, AbstractModel
from .results import RESULTS


class FlowProblem(eqx.Module):
    """What was solved: the model (with its initialisation), the loss, the flow, the time
    variable and the data. A [`FlowSolution`][flowbias.FlowSolution] carries one, so that
    [`predicted_limit`][flowbias.predicted_limit], [`agreement`][flowbias.agreement],
    [`diagnose`][flowbias.asymptotics.diagnose] and the plots can take the solution alone."""

    model: AbstractModel
    loss: AbstractLoss
    flow: AbstractFlow
    time: AbstractTime
    X: PyTree | None
    y: Float[Array, " n"] | None


class FlowSolution(eqx.Module):
    r"""The trajectory of a flow at the saved times, with its outcome and the problem solved.

    Every array has a leading axis over the saved times (and, under `jax.vmap` or in a sweep,
    a batch axis in front of that).

    **Fields:**

    - `ts`: the saved times t (`inf` where t exceeds the float64 range; use `log_ts`).
    - `log_ts`: log t at the saved times (`-inf` at t = 0).
    - `params`: the model parameters theta(t).
    - `observable`: what theory speaks about, along the path (see
      [`AbstractModel.observable`][flowbias.AbstractModel.observable]): the vector w(t) for
      linear and diagonal models. `w` / `w_final` are its vector case.
    - `log_loss`: log L(theta(t)). Kept in log form: at t = 1e300 the exponential loss is
      ~1e-300, whose gradient would underflow; its log is ~-690.
    - `state`: the raw ODE state (equal to `params` for primal flows; the dual variable for
      [`DualFlow`][flowbias.DualFlow]).
    - `s`: the saved values of the integration variable s (log time by default for
      classification losses).
    - `result`: a [`RESULTS`][flowbias.RESULTS] item; `success` is `result == successful`.
    - `error_estimate`: the estimated relative rounding error of the final observable
      (see [`AbstractFlow.observable_error`][flowbias.AbstractFlow.observable_error]); large
      where the observable cancels. The truncation error controlled by `rtol` comes on top.
    - `rtol`: the relative tolerance the solver ran at.
    - `log_t_end`: log of the time where integration ended: log t1, or earlier where it
      stopped at convergence (see `stop_ratio` in [`flowsolve`][flowbias.flowsolve]).
    - `stats`: solver statistics: `num_steps`, `num_accepted_steps`, `num_rejected_steps`,
      `max_steps`.
    - `problem`: the [`FlowProblem`][flowbias.FlowProblem] that was solved.
    - `solver_choice`: which solver ran and why (see
      [`choose_solver`][flowbias.choose_solver]), e.g. `"Kvaerno5: least squares with
      cond(X X^T) = 1.4e+04, ..."`.
    """

    ts: Float[Array, " k"]
    log_ts: Float[Array, " k"]
    params: PyTree
    observable: Array
    log_loss: Float[Array, " k"]
    state: PyTree
    s: Float[Array, " k"]
    result: RESULTS
    error_estimate: Float[Array, ""]
    rtol: Float[Array, ""]
    stats: dict[str, Int[Array, ""]]
    log_t_end: Float[Array, ""]
    problem: FlowProblem
    solver_choice: str = eqx.field(static=True, default="")

    @property
    def success(self) -> Bool[Array, ""]:
        """True where the run succeeded: it reached t1 (or converged), stayed finite, and
        passed the checks of what it claims."""
        return self.result == RESULTS.successful

    @property
    def message(self) -> str:
        """What went wrong and how to fix it (empty on success); one run only."""
        return RESULTS[self.result]

    @property
    def loss(self) -> Float[Array, " k"]:
        """L(theta(t)); underflows to 0 at very long times: prefer `log_loss`."""
        return jnp.exp(self.log_loss)

    @property
    def observable_final(self) -> Array:
        """The observable at the last saved time (normally t1)."""
        k = self.log_ts.shape[-1]
        return jnp.take(self.observable, k - 1, axis=self.log_ts.ndim - 1)

    @property
    def w(self) -> Float[Array, "k d"] | None:
        """The effective linear predictor w(t) for linear-in-input models (else `None`)."""
        return self.observable if isinstance(self.problem.model, AbstractLinearModel) else None

    @property
    def w_final(self) -> Float[Array, " d"]:
        """w at the last saved time (normally t1)."""
        if self.w is None:
            raise AttributeError(
                "this model has no effective linear predictor w; use `observable_final`."
            )
        return self.w[..., -1, :]

    @property
    def num_steps(self) -> Int[Array, ""]:
        return self.stats["num_steps"]

    @property
    def num_runs(self) -> int | None:
        """The number of runs of a batched solution (a sweep); `None` for a single run."""
        return None if self.log_ts.ndim == 1 else int(self.log_ts.shape[0])

    def run(self, k: int) -> "FlowSolution":
        """The `k`-th run of a batched solution (from a sweep or `jax.vmap`), as a solution
        of its own: `sols.run(3).message`, `sols.run(3).w_final`."""
        if self.num_runs is None:
            raise ValueError("`run(k)` picks one run of a batched solution; this is one run.")
        if not -self.num_runs <= k < self.num_runs:
            raise IndexError(f"run {k} of a sweep of {self.num_runs} runs.")
        X, y = self.problem.X, self.problem.y
        bare = eqx.tree_at(
            lambda s: (s.problem.X, s.problem.y), self, (None, None), is_leaf=lambda v: v is None
        )
        one = jax.tree.map(lambda a: a[k], bare)
        return eqx.tree_at(
            lambda s: (s.problem.X, s.problem.y), one, (X, y), is_leaf=lambda v: v is None
        )
