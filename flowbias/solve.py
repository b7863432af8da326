"""The central verb: integrate a training flow with diffrax."""

from __future__ import annotations

import math

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike, Float

from ._validation import (
    as_float_array,
    check_data_shapes,
    check_labels,
    is_concrete,
    require_float64,
)
from .flows import (
    AbstractFlow,
    AbstractTime,
    GradientFlow,
    LinearTime,
    LogTime,
    NormalisedGradientFlow,
)
from .losses import AbstractLoss
from .models import AbstractLinearModel, AbstractModel
from .solution import FlowSolution


class FlowSolveError(RuntimeError):
    """The integration failed (too many steps, or the state became non-finite)."""


_DEFAULT_T1_CLASSIFICATION = 1e100
_DEFAULT_STOP_RATIO = 1e-20


def default_t1(model: AbstractModel, loss: AbstractLoss, X: Float[Array, "n d"]) -> float:
    r"""A horizon at which the flow has converged to the tolerances `flowsolve` targets.

    Classification losses: $t_1 = 10^{100}$ (the flow never stops; in log time this costs
    a few hundred steps). Square loss on a linear model: the residual decays at least like
    $e^{-\lambda t}$ with $\lambda$ the smallest non-zero eigenvalue of $XX^\top/n$, so
    $t_1 = 60/\lambda$ leaves a factor $e^{-60}\approx 10^{-26}$.
    """
    if loss.is_classification:
        return _DEFAULT_T1_CLASSIFICATION
    gram = np.asarray(X) @ np.asarray(X).T / X.shape[0]
    eig = np.linalg.eigvalsh(gram)
    positive = eig[eig > eig.max() * 1e-12]
    lam = float(positive.min()) if positive.size else 1.0
    scale = getattr(model, "time_scale", lambda X: 1.0)(X)
    return 60.0 / lam * scale


def default_solver(stiff: bool = True) -> dfx.AbstractSolver:
    """The solver [`flowsolve`][flowbias.flowsolve] uses when none is given.

    - `stiff=True`: `diffrax.Kvaerno5` (5th order, L-stable ESDIRK), for the flows of
      multiplicative parametrisations (diagonal networks, primal or dual), whose fast modes
      scale with the fitted weights: at alpha = 1e-3 an explicit solver exceeds 1e5 steps
      even on the n-dimensional dual flow of a 10 x 200 problem. Its stage equations are
      solved by `optimistix.Chord` with tolerances (rtol 1e-6, atol 1e-8) looser than the
      step-size controller's. diffrax's default, `VeryChord` at the controller's
      tolerances, fails here in two ways: on the exponential
      nonlinearity of separable flows its divergence test trips at large steps and the solver
      stalls in rejected steps (10^4 rejections on a 20 x 5 problem, against ~850 steps with
      this choice); and on diagonal networks at small scale, where the Jacobian is ~1e-15, it
      rejects every step.
    - `stiff=False`: `diffrax.Tsit5` (5th order, explicit), for linear models.
      An implicit step builds a state-sized Jacobian (one Jacobian-vector product per state
      entry) and factorises it, so on a 2000 x 1000 separable problem Kvaerno5 took 149 s to
      t = 1e4 where Tsit5 took 0.33 s for the same steps and answer (`bench/separable.py`).

    Which one a flow gets is [`AbstractFlow.is_stiff`][flowbias.AbstractFlow.is_stiff]. For
    badly conditioned least squares pass `solver=fb.default_solver(stiff=True)`: an explicit
    solver needs ~kappa steps, and at cond(X X^T) = 1e4 (50 x 200) Tsit5 ran out of its 1e5
    steps (`bench/least_squares.py --quick`).
    `tests/test_solve.py` pins both against `diffrax.Dopri8` at rtol 1e-13.
    """
    if stiff:
        return dfx.Kvaerno5(root_finder=optx.Chord(rtol=1e-6, atol=1e-8))
    return dfx.Tsit5()


def _vector_field(s, state, args):
    flow, model, loss, time, X, y, _ = args
    return flow.vector_field(s, state, model, loss, time, X, y)


def _state_log_loss(state, args):
    flow, model, loss, _, X, y, _ = args
    return loss.log_value(model.predict(flow.params(state, model, X), X), y)


def _converged(t, state, args, **kwargs):
    return _state_log_loss(state, args) <= args[-1]


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces; tests pin one per shape
def _integrate(
    flow, model, loss, time, X, y, s_save, solver, controller, max_steps, meter, dt0, stop_ratio
):
    y0 = flow.init_state(model, X)
    args = (flow, model, loss, time, X, y, jnp.asarray(-jnp.inf, X.dtype))
    event = None
    if stop_ratio is not None:
        floor = _state_log_loss(y0, args) + jnp.log(stop_ratio)
        args = (*args[:-1], floor)
        event = dfx.Event(_converged)
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_vector_field),
        solver,
        t0=jnp.zeros((), X.dtype),
        t1=s_save[-1],
        dt0=dt0,
        y0=y0,
        args=args,
        saveat=dfx.SaveAt(ts=s_save, t1=True),
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,
        progress_meter=meter,
        event=event,
    )
    # With SaveAt(ts, t1=True) the state where integration ended (t1, or earlier at a
    # convergence stop) follows the ts saved before it; the rest is padding. Save times after
    # a stop get the converged state.
    idx = jnp.sum(jnp.isfinite(sol.ts)) - 1
    s_end = sol.ts[idx]
    before = jnp.arange(s_save.shape[0]) < idx

    def fill(a):
        mask = before.reshape((-1,) + (1,) * (a.ndim - 1))
        return jnp.where(mask, a[:-1], a[idx])

    ys = jax.tree.map(fill, sol.ys)
    result = dfx.RESULTS.where(
        sol.result == dfx.RESULTS.event_occurred, dfx.RESULTS.successful, sol.result
    )
    sol = eqx.tree_at(lambda s: (s.ys, s.result), sol, (ys, result))
    params = jax.vmap(lambda st: flow.params(st, model, X))(sol.ys)
    log_loss = jax.vmap(lambda p: loss.log_value(model.predict(p, X), y))(params)
    if isinstance(model, AbstractLinearModel):
        w = jax.vmap(model.predictor)(params)
        finite = jnp.all(jnp.isfinite(w))
    else:
        w = None
        finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(params)]))
    finite = finite & jnp.all(~jnp.isnan(log_loss))
    log_t_end = time.log_t_of_s(s_end)
    return sol.ys, params, w, log_loss, sol.result, finite, sol.stats, log_t_end


def _save_grid(time: AbstractTime, log_t1, ts, num_save: int):
    if ts is not None:
        ts = as_float_array(ts, "ts", ndim=1)
        if is_concrete(ts) and (
            np.any(np.diff(np.asarray(ts)) <= 0)
            or float(ts[0]) < 0
            or (is_concrete(log_t1) and float(np.log(ts[-1])) > float(log_t1) + 1e-12)
        ):
            raise ValueError(
                "`ts` must be strictly increasing, within [0, t1]. Fix: e.g. "
                "`ts=np.geomspace(1e-2, t1, 100)`."
            )
        log_ts = jnp.log(ts)
        if is_concrete(log_ts) and is_concrete(log_t1) and float(log_ts[-1]) < float(log_t1):
            log_ts = jnp.concatenate([log_ts, log_t1[None]])  # always integrate up to t1
        else:
            log_ts = log_ts.at[-1].set(log_t1)
    else:
        # Log-spaced from min(1, t1)/1000 to t1, with t = 0 first.
        log_t_min = jnp.minimum(0.0, log_t1) - math.log(1e3)
        grid = jnp.linspace(0.0, 1.0, num_save - 1) if num_save > 2 else jnp.ones(1)
        log_ts = jnp.concatenate(
            [jnp.array([-jnp.inf]), log_t_min + grid * (log_t1 - log_t_min)]
        )
    return log_ts, time.s_of_log_t(log_ts)


def flowsolve(
    model: AbstractModel,
    loss: AbstractLoss,
    X: ArrayLike,
    y: ArrayLike,
    t1: float | ArrayLike | None = None,
    *,
    log_t1: float | ArrayLike | None = None,
    flow: AbstractFlow | None = None,
    time: AbstractTime | None = None,
    solver: dfx.AbstractSolver | None = None,
    stepsize_controller: dfx.AbstractStepSizeController | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    ts: ArrayLike | None = None,
    num_save: int = 200,
    max_steps: int = 100_000,
    dt0: float | None = None,
    stop_ratio: float | bool | None = None,
    throw: bool = True,
    progress_meter: dfx.AbstractProgressMeter | None = None,
) -> FlowSolution:
    r"""Integrate the training flow of `model` on `loss` over data `(X, y)` up to time `t1`.

    The flow (gradient flow by default) is posed as an ODE and integrated by diffrax with
    adaptive steps. For classification losses time is reparametrised as $t = e^s - 1$
    ([`LogTime`][flowbias.LogTime]), so horizons such as $t_1 = 10^{300}$ cost a few
    hundred to a few thousand steps.

    **Arguments:**

    - `model`: the model, carrying its initialisation
      (e.g. [`LinearModel`][flowbias.LinearModel]).
    - `loss`: e.g. [`SquareLoss`][flowbias.SquareLoss],
      [`ExponentialLoss`][flowbias.ExponentialLoss].
    - `X`: data, shape `(n, d)`. `y`: targets or ±1 labels, shape `(n,)`.
    - `t1`: the final time (default: [`default_t1`][flowbias.default_t1]).

    **Keyword arguments:**

    - `log_t1`: give log t1 instead of `t1`, for horizons past the float64 range (t = 1e1000).
    - `flow`: the dynamics; default [`GradientFlow`][flowbias.GradientFlow]().
    - `time`: the time variable integrated in; default `LogTime()` for classification losses,
      `LinearTime()` otherwise.
    - `solver`: any diffrax solver; default [`default_solver`][flowbias.default_solver]:
      explicit Tsit5 for linear models, the stiff Kvaerno5 for diagonal networks (see
      [`AbstractFlow.is_stiff`][flowbias.AbstractFlow.is_stiff]).
    - `stepsize_controller`: default `diffrax.PIDController(rtol, atol)`, clipped so that
      steps land on the save times.
    - `ts`: the times t at which to save (default: `num_save` points, log-spaced, and t = 0).
    - `max_steps`, `dt0`, `progress_meter`: passed to `diffrax.diffeqsolve`.
    - `stop_ratio`: stop early, as converged, once $L \le$ `stop_ratio` $\cdot L(0)$ (a
      diffrax event). Default `1e-20` for regression losses, off (`False`) for classification
      losses, which never converge. After a stop, later save times repeat the converged state
      and `solution.log_t_end` says when integration ended. Once the loss is that small the
      remaining motion of w is of the order of the residual (for mirror flows
      $\Delta w_i \approx h'_i\,\Delta\xi_i$ with $\Delta\xi_i \propto 1/h'_i$), so the
      limit is resolved; integrating on would only stir rounding noise.
    - `throw`: if True, a failed solve raises [`FlowSolveError`][flowbias.FlowSolveError]
      with advice. If False, failures come back flagged in `solution.success` (per run, under
      `jax.vmap`) with everything computed kept.

    **Returns:** a [`FlowSolution`][flowbias.FlowSolution].

    ```python
    import numpy as np
    import flowbias as fb

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 20)), rng.normal(size=5)
    sol = fb.flowsolve(fb.LinearModel(np.zeros(20)), fb.SquareLoss(), X, y)
    print(fb.relative_error(sol.w_final, fb.min_norm_interpolator(X, y)))
    ```
    """
    require_float64()
    if not isinstance(model, AbstractModel):
        raise TypeError(f"`model` must be a flowbias model; got {type(model).__name__}.")
    if not isinstance(loss, AbstractLoss):
        raise TypeError(f"`loss` must be a flowbias loss; got {type(loss).__name__}.")
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_data_shapes(X, y)
    model.check_data(X)
    if loss.is_classification:
        check_labels(y)
    flow = GradientFlow() if flow is None else flow
    flow.check(model, loss)
    if time is None:
        # Log time where the flow is slow (log t growth); the loss-normalised flow already
        # moves its margin like t, so it stays in linear time.
        slow = loss.is_classification and not isinstance(flow, NormalisedGradientFlow)
        time = LogTime() if slow else LinearTime()
    if num_save < 2:
        raise ValueError(f"`num_save` must be >= 2; got {num_save}.")

    if t1 is not None and log_t1 is not None:
        raise ValueError("pass `t1` or `log_t1`, not both.")
    if t1 is None and log_t1 is None and ts is not None and is_concrete(ts):
        t1 = float(np.asarray(ts)[-1])  # integrate up to the last requested time
    if log_t1 is None:
        if t1 is None:
            t1 = default_t1(model, loss, X) if is_concrete(X) else _DEFAULT_T1_CLASSIFICATION
        t1 = as_float_array(t1, "t1", ndim=0)
        if is_concrete(t1) and not float(t1) > 0:
            raise ValueError(f"`t1` must be > 0; got {float(t1)!r}. Fix: pass e.g. t1=1e100.")
        log_t1 = jnp.log(t1)
    else:
        log_t1 = as_float_array(log_t1, "log_t1", ndim=0)

    log_ts, s_save = _save_grid(time, log_t1, ts, num_save)
    solver = default_solver(stiff=flow.is_stiff(model)) if solver is None else solver
    if stepsize_controller is None:
        # Steps land on the save times, so saved values carry the solver's full accuracy
        # rather than that of its (lower-order) dense interpolant.
        stepsize_controller = dfx.ClipStepSizeController(
            dfx.PIDController(rtol=rtol, atol=atol), step_ts=s_save
        )
    meter = dfx.NoProgressMeter() if progress_meter is None else progress_meter

    if stop_ratio is None and not loss.is_classification:
        stop_ratio = _DEFAULT_STOP_RATIO
    if stop_ratio is False:
        stop_ratio = None
    if stop_ratio is not None and not 0 < stop_ratio < 1:
        raise ValueError(f"`stop_ratio` must be in (0, 1) or False; got {stop_ratio!r}.")
    state, params, w, log_loss, result, finite, stats, log_t_end = _integrate(
        flow, model, loss, time, X, y, s_save, solver, stepsize_controller, max_steps, meter,
        dt0, stop_ratio,
    )
    sol = FlowSolution(
        ts=jnp.exp(log_ts),
        log_ts=log_ts,
        params=params,
        w=w,
        log_loss=log_loss,
        state=state,
        s=s_save,
        result=result,
        finite=finite,
        stats=stats,
        log_t_end=log_t_end,
    )
    if throw:
        sol = _raise_if_failed(sol, max_steps)
    return sol


def _advice(result, finite: bool, max_steps: int) -> str:
    if result == dfx.RESULTS.max_steps_reached:
        return (
            f"the solver took max_steps = {max_steps} steps before reaching t1. Fix: raise "
            "`max_steps`, loosen `rtol`/`atol`, or integrate in log time (`time=fb.LogTime()`), "
            "which makes long horizons cheap. If an explicit solver is creeping in tiny steps "
            "the flow is stiff: pass `solver=fb.default_solver(stiff=True)`."
        )
    if not finite:
        return (
            "the state became non-finite (overflow). Fix: check the data scale (huge |X| makes "
            "the flow very fast), try a stiff solver (`solver=fb.default_solver(stiff=True)`) "
            "or tighter `rtol`; with a classification loss use log time."
        )
    return (
        f"diffrax reported: {result}. Fix: loosen `rtol`/`atol`, or try another solver "
        "(e.g. `solver=diffrax.Tsit5()` for non-stiff problems)."
    )


def _raise_if_failed(sol: FlowSolution, max_steps: int) -> FlowSolution:
    ok = sol.success
    if is_concrete(ok):
        if not bool(jnp.all(ok)):
            msg = _advice(sol.result, bool(jnp.all(sol.finite)), max_steps)
            raise FlowSolveError(f"flowsolve failed: {msg} (Or pass throw=False to keep the run.)")
        return sol
    # Attach the check to every output, so that it survives whichever the caller uses.
    fields = lambda s: (s.params, s.w, s.log_loss, s.state)
    checked = eqx.error_if(
        fields(sol), ~ok, "flowsolve failed (pass throw=False to keep failed runs)"
    )
    return eqx.tree_at(fields, sol, checked)


