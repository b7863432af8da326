"""The central verb: integrate a training flow with diffrax."""

from __future__ import annotations

import math

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from ._validation import (
    as_float_array,
    check_int,
    check_tolerance,
    is_concrete,
    require_float64,
)
from .data import AbstractMeasurements, adjoint, as_data, gram_eigenvalues, validate_data
from .end_guard import diffeqsolve_to
from .exact import ExactLinearSolver
from .flows import (
    AbstractFlow,
    AbstractTime,
    GradientFlow,
    LinearTime,
    LogTime,
    NormalisedGradientFlow,
)
from .losses import AbstractLoss, SquareLoss
from .models import AbstractModel, LinearModel, TwoLayerNetwork
from .references import check_separable
from .results import RESULTS, FlowSolveError, first_failure, from_diffrax
from .solution import FlowProblem, FlowSolution
from .solver_choice import SolverChoice, choose_solver


_DEFAULT_T1_CLASSIFICATION = 1e100
_DEFAULT_STOP_RATIO = 1e-20


def _default_log_t1(model: AbstractModel, loss: AbstractLoss, X, flow: AbstractFlow) -> float:
    if loss.is_classification:
        return math.log(_DEFAULT_T1_CLASSIFICATION)
    eig = gram_eigenvalues(X)  # of X X^T (or the operator's Gram matrix), on rescaled data
    positive = eig[eig > eig.max() * 1e-12]
    log_lam = math.log(float(positive.min()) / eig.size) if positive.size else 0.0
    log_t1 = math.log(60.0) - log_lam + math.log(float(flow.time_scale(model, X)))
    if not log_t1 < math.log(np.finfo(np.float64).max):
        raise ValueError(
            f"the default horizon for these data is t1 = 1e{log_t1 / math.log(10):.0f}, beyond "
            "float64: the flow is that slow (tiny `X`, or a tiny initial scale alpha). Fix: "
            "rescale X, or pass `t1` yourself."
        )
    return log_t1


def default_t1(
    model: AbstractModel, loss: AbstractLoss, X: ArrayLike, *, flow: AbstractFlow | None = None
) -> float:
    r"""A horizon at which the flow has converged to the tolerances `flowsolve` targets.

    Classification losses: $t_1 = 10^{100}$ (the flow never stops; in log time this costs
    a few hundred steps). Square loss: the residual of a linear model decays at least like
    $e^{-\lambda t}$ with $\lambda$ the smallest non-zero eigenvalue of $XX^\top/n$, so
    $t_1 = 60/\lambda$ leaves a factor $e^{-60}\approx 10^{-26}$; slower parametrisations
    multiply it by their [`time_scale`][flowbias.AbstractModel.time_scale] (for a flow of
    another geometry, by the flow's [`time_scale`][flowbias.AbstractFlow.time_scale]; pass it
    as `flow`). The eigenvalues
    are computed on $X/\max|X|$ and rescaled, so tiny or huge data do not underflow. For a
    measurement operator $\lambda$ comes from the Gram matrix $\langle A_k, A_l\rangle / n$.

    Raises `ValueError` if the horizon is beyond the float64 range.
    """
    X = as_data(X)
    return math.exp(_default_log_t1(model, loss, X, GradientFlow() if flow is None else flow))


# ---- the integration ------------------------------------------------------------------------
# The ODE state is z = state / scale (scale from the flow), so that absolute tolerances are
# relative to the state's own size.


def _unscale(z, scale):
    return jax.tree.map(lambda a: a * scale, z)


def _vector_field(s, z, args):
    flow, model, loss, time, X, y, scale, _ = args
    ds = flow.vector_field(s, _unscale(z, scale), model, loss, time, X, y)
    return jax.tree.map(lambda a: a / scale, ds)


def _residual_logs(flow, model, loss, X, y, state):
    """log L and log ||X^T dL/df|| (the adjoint for an operator): the loss and its
    stationarity in the observable."""
    f = flow.outputs(state, model, X)
    g = adjoint(X, loss.grad(f, y))
    gmax = jnp.max(jnp.abs(g))
    safe = jnp.where(gmax > 0, gmax, 1.0)
    log_g = jnp.where(gmax > 0, jnp.log(safe) + 0.5 * jnp.log(jnp.sum((g / safe) ** 2)), -jnp.inf)
    return loss.log_value(f, y), log_g


def _converged(t, z, args, **kwargs):
    flow, model, loss, _, X, y, scale, floors = args
    log_l, log_g = _residual_logs(flow, model, loss, X, y, _unscale(z, scale))
    return (log_l <= floors[0]) | (log_g <= floors[1])


def _norm(a):
    m = jnp.max(jnp.abs(a))
    safe = jnp.where(m > 0, m, 1.0)
    return jnp.where(m > 0, safe * jnp.sqrt(jnp.sum((a / safe) ** 2)), 0.0)


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces; tests pin one per shape
def _integrate(
    flow,
    model,
    loss,
    time,
    X,
    y,
    s_save,
    solver,
    controller,
    max_steps,
    meter,
    dt0,
    stop_ratio,
    claims_convergence,
    rtol,
    log_kappa,
):
    state0 = flow.init_state(model, X)
    scale = jax.lax.stop_gradient(flow.state_scale(model, loss, X, y))
    z0 = jax.tree.map(lambda a: a / scale, state0)
    floors = jnp.full(2, -jnp.inf, y.dtype)
    conds = ()
    if stop_ratio is not None:
        log_l0, log_g0 = _residual_logs(flow, model, loss, X, y, state0)
        floors = jnp.stack(
            [log_l0 + jnp.log(stop_ratio), log_g0 + 0.5 * jnp.log(stop_ratio) - log_kappa]
        )
        conds = (_converged,)
    args = (flow, model, loss, time, X, y, scale, floors)
    # To s_save[-1], guarded against diffrax 0.7.2's final-step rejection loop (see
    # flowbias.end_guard): the integration runs towards a later end and an event stops it.
    sol = diffeqsolve_to(
        dfx.ODETerm(_vector_field),
        solver,
        jnp.zeros((), y.dtype),
        s_save[-1],
        dt0,
        z0,
        event_conds=conds,
        args=args,
        saveat=dfx.SaveAt(ts=s_save, t1=True),
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,
        progress_meter=meter,
    )
    # With SaveAt(ts, t1=True) the state where integration ended (t1, or earlier at a
    # convergence stop) follows the ts saved before it; the rest is padding. Save times after
    # a stop get the converged state.
    idx = jnp.sum(jnp.isfinite(sol.ts)) - 1
    s_end = jnp.minimum(sol.ts[idx], s_save[-1])
    before = jnp.arange(s_save.shape[0]) < idx

    def fill(a):
        mask = before.reshape((-1,) + (1,) * (a.ndim - 1))
        return jnp.where(mask, a[:-1], a[idx])

    states = _unscale(jax.tree.map(fill, sol.ys), scale)
    per_time = jax.vmap(
        lambda st: (
            flow.params(st, model, X),
            flow.observable(st, model, X),
            loss.log_value(flow.outputs(st, model, X), y),
        )
    )
    params, observable, log_loss = per_time(states)
    final = jax.tree.map(lambda a: a[-1], states)

    # The checks of what a success claims.
    leaves = jax.tree.leaves((states, params, observable))
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(a)) for a in leaves]))
    finite = finite & ~jnp.any(jnp.isnan(log_loss))
    # A convergence stop: its event fired, or the run reached t1 converged.
    fired = sol.result == dfx.RESULTS.event_occurred
    stopped = (
        fired
        & (sol.event_mask[0] | _converged(s_end, jax.tree.map(lambda a: a / scale, final), args))
        if conds
        else jnp.array(False)
    )
    not_converged = claims_convergence & ~stopped
    x_norm = X.frobenius_norm() if isinstance(X, AbstractMeasurements) else _norm(X)
    size = jnp.maximum(_norm(observable[-1]), _norm(y) / x_norm)
    abs_error = _norm(flow.observable_error(final, model, X, sol.stats["num_steps"]))
    error_estimate = jnp.where(
        size > 0, abs_error / jnp.where(size > 0, size, 1.0), jnp.where(abs_error > 0, jnp.inf, 0.0)
    )
    ill = ~(error_estimate <= jnp.maximum(100.0 * rtol, 1e-8))
    result = first_failure(
        (~finite, RESULTS.nonfinite),
        (ill, RESULTS.ill_conditioned),
        (not_converged, RESULTS.not_converged),
        base=from_diffrax(sol.result),
    )
    log_t_end = time.log_t_of_s(s_end)
    return states, params, observable, log_loss, result, error_estimate, sol.stats, log_t_end


# ---- arguments ---------------------------------------------------------------------------


def _save_grid(time: AbstractTime, log_t1, ts, num_save: int):
    if ts is not None:
        ts = as_float_array(ts, "ts", ndim=1)
        if ts.shape[0] == 0:
            raise ValueError(
                "`ts` is empty. Fix: pass the times to save at, e.g. "
                "`ts=np.geomspace(1e-2, t1, 100)`, or leave it out."
            )
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
        log_ts = jnp.concatenate([jnp.array([-jnp.inf]), log_t_min + grid * (log_t1 - log_t_min)])
    return log_ts, time.s_of_log_t(log_ts)


def _horizon(model, loss, X, t1, log_t1, ts, flow):
    """log t1 as a float64 array, validated; `claims` is whether the default was used."""
    if t1 is not None and log_t1 is not None:
        raise ValueError("pass `t1` or `log_t1`, not both.")
    if t1 is None and log_t1 is None and ts is not None and is_concrete(ts) and np.size(ts):
        t1 = float(np.asarray(ts)[-1])  # integrate up to the last requested time
        if not t1 > 0:
            raise ValueError(f"the last entry of `ts` must be > 0; got {t1!r}.")
    claims = False
    if log_t1 is None:
        if t1 is None:
            if not _concrete(X):
                return jnp.asarray(math.log(_DEFAULT_T1_CLASSIFICATION)), False
            return jnp.asarray(_default_log_t1(model, loss, X, flow)), not loss.is_classification
        t1 = as_float_array(t1, "t1", ndim=0)
        if is_concrete(t1) and not float(t1) > 0:
            raise ValueError(f"`t1` must be > 0; got {float(t1)!r}. Fix: pass e.g. t1=1e100.")
        if not is_concrete(t1):
            t1 = eqx.error_if(t1, ~(t1 > 0), "`t1` must be > 0")
        return jnp.log(t1), claims
    log_t1 = as_float_array(log_t1, "log_t1", ndim=0)
    return log_t1, claims


def _check_exact(model, loss, flow, X, controller) -> None:
    if not (
        isinstance(model, LinearModel)
        and isinstance(loss, SquareLoss)
        and type(flow) is GradientFlow
        and not isinstance(X, AbstractMeasurements)
    ):
        raise TypeError(
            "ExactLinearSolver solves gradient flow of fb.LinearModel on fb.SquareLoss with "
            f"data X (n, d) in closed form; got {type(model).__name__}, {type(loss).__name__}, "
            f"{type(flow).__name__}. Fix: leave `solver` at its default for other flows."
        )
    if controller is not None:
        raise ValueError("ExactLinearSolver takes no steps: drop `stepsize_controller`.")


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces; tests pin one per shape
def _exact_path(solver, model, loss, flow, X, y, log_ts, stop_ratio, claims, max_steps, log_kappa):
    states = solver.path(model.w0, X, y, log_ts)
    finite = jnp.all(jnp.isfinite(states))
    s = jnp.linalg.svd(X, compute_uv=False)
    eps = jnp.finfo(X.dtype).eps
    # The closed form is a pseudo-inverse: its relative rounding error is ~ eps cond(X).
    err = eps * jnp.max(s) / jnp.min(jnp.where(s > max(X.shape) * eps * jnp.max(s), s, jnp.inf))
    ill = ~(err <= 1e-8)
    not_converged = jnp.asarray(False)
    if claims and stop_ratio is not None:
        log_l0, log_g0 = _residual_logs(flow, model, loss, X, y, model.w0)
        log_l, log_g = _residual_logs(flow, model, loss, X, y, states[-1])
        ok = (log_l <= log_l0 + jnp.log(stop_ratio)) | (
            log_g <= log_g0 + 0.5 * jnp.log(stop_ratio) - log_kappa
        )
        not_converged = ~ok
    result = first_failure(
        (~finite, RESULTS.nonfinite),
        (ill, RESULTS.ill_conditioned),
        (not_converged, RESULTS.not_converged),
        base=RESULTS.successful,
    )
    zero = jnp.zeros((), jnp.int64)
    stats = {
        "num_steps": zero,
        "num_accepted_steps": zero,
        "num_rejected_steps": zero,
        "max_steps": jnp.asarray(max_steps),
    }
    return states, result, err, stats


def _log_condition(X):
    """log of the condition number of X X^T on its range (of the operator's Gram matrix).

    The stationarity stop compares ||X^T grad_f L|| with its initial value; the distance to
    the limit can be larger than that ratio by this condition number (the gradient of a
    residual left in the weak directions is small), so the stop divides its floor by it.
    Measured before: on a 7 x 8 Gaussian least-squares problem the stop fired at 1.4e-7 from
    the limit, reported as converged."""
    if _concrete(X):
        eig = gram_eigenvalues(X)
        positive = eig[eig > eig.max() * 1e-12] if eig.size and eig.max() > 0 else eig[:0]
        value = math.log(positive.max() / positive.min()) if positive.size else 0.0
        return jnp.asarray(value)
    if isinstance(X, AbstractMeasurements):
        return jnp.zeros(())  # traced operator: no correction (documented in flowsolve)
    s = jnp.linalg.svd(X, compute_uv=False)
    kept = s > jnp.max(s) * 1e-6
    return 2.0 * (jnp.log(jnp.max(s)) - jnp.log(jnp.min(jnp.where(kept, s, jnp.inf))))


def _concrete(X) -> bool:
    """Whether the data (a matrix or an operator's leaves) hold values, not tracers."""
    return all(is_concrete(leaf) for leaf in jax.tree.leaves(X))


def _controller_rtol(controller, rtol):
    inner = (
        controller.controller
        if isinstance(controller, dfx.ClipStepSizeController)
        else (controller)
    )
    if isinstance(inner, dfx.PIDController):
        return jnp.asarray(inner.rtol, jnp.float64)
    return jnp.asarray(rtol, jnp.float64)


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
    require_convergence: bool | None = None,
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
    - `X`: data, shape `(n, d)`, or a measurement operator
      ([`MatrixSensing`][flowbias.MatrixSensing], [`MatrixCompletion`][flowbias.MatrixCompletion])
      for models of a matrix. `y`: targets or ±1 labels, shape `(n,)`.
    - `t1`: the final time (default: [`default_t1`][flowbias.default_t1], at which the flow
      is claimed to have converged, and checked to have).

    **Keyword arguments:**

    - `log_t1`: give log t1 instead of `t1`, for horizons past the float64 range (t = 1e1000).
    - `flow`: the dynamics; default [`GradientFlow`][flowbias.GradientFlow]().
    - `time`: the time variable integrated in; default `LogTime()` for classification losses,
      `LinearTime()` otherwise.
    - `solver`: any diffrax solver; default chosen by [`choose_solver`][flowbias.choose_solver]
      from the flow's stiffness: the stiff Kvaerno5 for diagonal networks and for badly
      conditioned least squares (measured from the spectrum of $XX^\top$), explicit Tsit5
      otherwise; `solution.solver_choice` says which ran and why. Or
      [`ExactLinearSolver`][flowbias.ExactLinearSolver]`()` for a linear model on the square
      loss: the closed form, at any t, with no steps.
    - `rtol`, `atol`: the step-size controller's tolerances, `rtol` in [1e-15, 1e-3] and
      `atol` in (0, 1e-3]. The state is integrated in units of its own scale
      ([`AbstractFlow.state_scale`][flowbias.AbstractFlow.state_scale]), so `atol` is
      relative to that scale, not absolute.
    - `stepsize_controller`: default `diffrax.PIDController(rtol, atol)`, clipped so that
      steps land on the save times.
    - `ts`: the times t at which to save (default: `num_save` points, log-spaced, and t = 0).
    - `max_steps`, `dt0`, `progress_meter`: passed to `diffrax.diffeqsolve`.
    - `stop_ratio`: stop early, as converged, once $L \le$ `stop_ratio` $\cdot L(0)$ or
      $\|X^\top\nabla_f L\| \le$ `stop_ratio`$^{1/2}\,\|X^\top\nabla_f L(0)\|/\kappa$, with
      $\kappa$ the condition number of $XX^\top$ on its range (the second for least squares
      without an interpolator; dividing by $\kappa$ makes the distance to the limit, not
      only the gradient, fall by `stop_ratio`$^{1/2}$; a traced measurement operator gets
      no such correction). For a linear model the first gives
      $\|w - w_\infty\| \le$ (`stop_ratio`$\,\kappa)^{1/2}\|w_0 - w_\infty\|$ at the stop: the
      residual sees the weak directions $\kappa^{1/2}$ times less. (Dividing the loss level by
      $\kappa$ too was tried and put it below an explicit solver's error floor, which the
      loss reaches at about `rtol`$^2 L(0)$.) A diffrax event. Default `1e-20` for
      regression losses, off (`False`) for classification losses, which never converge.
      After a stop, later save times repeat the converged state and `solution.log_t_end` says
      when integration ended.
    - `require_convergence`: flag the run `RESULTS.not_converged` unless the convergence stop
      happened by t1. Default: exactly when `t1` is left at its default (which claims
      convergence); needs `stop_ratio`.
    - `throw`: if True, a failed run raises [`FlowSolveError`][flowbias.FlowSolveError]
      with the [`RESULTS`][flowbias.RESULTS] message that says the fix. If False, failures
      come back flagged in `solution.result` / `solution.success` (per run, under
      `jax.vmap`) with everything computed kept.

    **What a success means.** A run is successful only if diffrax reached t1 (or the
    convergence stop), every saved value is finite, the final observable's estimated rounding
    error `solution.error_estimate` is within $\max(100\,\mathrm{rtol}, 10^{-8})$ (relative;
    a larger one means the observable cancels digits, e.g. $u^D - v^D$ on the primal flow at
    a large initial scale), and, when `t1` was left at its default (a claim that the flow has
    converged), the convergence criterion was met.

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
    X, y = validate_data(X, y, model=model, loss=loss)
    if not (_concrete(X) and is_concrete(y)):  # the value checks, as run-time errors
        if not isinstance(X, AbstractMeasurements):
            X = eqx.error_if(X, ~jnp.all(jnp.isfinite(X)), "`X` contains NaN or inf")
        y = eqx.error_if(y, ~jnp.all(jnp.isfinite(y)), "`y` contains NaN or inf")
        if loss.is_classification:
            y = eqx.error_if(y, ~jnp.all(jnp.abs(y) == 1.0), "`y` must hold labels +1 or -1")
    flow = GradientFlow() if flow is None else flow
    if not isinstance(flow, AbstractFlow):
        raise TypeError(
            f"`flow` must be a flowbias flow (e.g. fb.DualFlow()); got {type(flow).__name__}."
        )
    flow.check(model, loss)
    if time is None:
        # Log time where the flow is slow (log t growth); the loss-normalised flow already
        # moves its margin like t, so it stays in linear time.
        slow = loss.is_classification and not isinstance(flow, NormalisedGradientFlow)
        time = LogTime() if slow and not flow.linear_time_only else LinearTime()
    if flow.linear_time_only and not isinstance(time, LinearTime):
        raise TypeError(
            f"{type(flow).__name__} is integrated in linear time only (its field is not linear "
            f"in the gradient); got time={type(time).__name__}(). Fix: pass "
            "`time=fb.LinearTime()`, or leave `time` unset."
        )
    if flow.linear_time_only and loss.is_classification and t1 is None and log_t1 is None:
        if ts is None:
            raise ValueError(
                f"{type(flow).__name__} runs in linear time, where the classification default "
                "t1 = 1e100 is out of reach. Fix: pass `t1`, e.g. t1=1e3."
            )
    num_save = check_int(num_save, "num_save", minimum=2, fix="e.g. num_save=200.")
    max_steps = check_int(max_steps, "max_steps", minimum=1, fix="e.g. max_steps=100_000.")
    rtol = check_tolerance(rtol, "rtol", lo=1e-15, hi=1e-3)
    atol = check_tolerance(atol, "atol", lo=1e-300, hi=1e-3)
    if dt0 is not None:
        dt0 = float(as_float_array(dt0, "dt0", ndim=0))
        if not dt0 > 0:
            raise ValueError(f"`dt0` must be > 0 (or None: chosen automatically); got {dt0!r}.")
    if stop_ratio is None and not loss.is_classification:
        stop_ratio = _DEFAULT_STOP_RATIO
    if stop_ratio is False:
        stop_ratio = None
    if stop_ratio is not None and (isinstance(stop_ratio, bool) or not 0 < stop_ratio < 1):
        raise ValueError(f"`stop_ratio` must be in (0, 1) or False; got {stop_ratio!r}.")
    if ts is not None:
        ts = as_float_array(ts, "ts", ndim=1)

    log_t1, claims = _horizon(model, loss, X, t1, log_t1, ts, flow)
    if require_convergence is not None:
        if not isinstance(require_convergence, bool):
            raise TypeError(
                f"`require_convergence` must be a bool or None; got {require_convergence!r}."
            )
        if require_convergence and stop_ratio is None:
            raise ValueError(
                "`require_convergence=True` needs a convergence criterion: pass "
                "`stop_ratio` (it is off for classification losses, which never "
                "converge)."
            )
        claims = require_convergence
    claims = claims and stop_ratio is not None
    log_ts, s_save = _save_grid(time, log_t1, ts, num_save)
    if isinstance(solver, ExactLinearSolver):
        _check_exact(model, loss, flow, X, stepsize_controller)
        states, result, err, stats = _exact_path(
            solver,
            model,
            loss,
            flow,
            X,
            y,
            log_ts,
            stop_ratio,
            claims,
            max_steps,
            _log_condition(X),
        )
        sol = FlowSolution(
            ts=jnp.exp(log_ts),
            log_ts=log_ts,
            params=states,
            observable=states,
            log_loss=jax.vmap(lambda w: loss.log_value(X @ w, y))(states),
            state=states,
            s=s_save,
            result=result,
            error_estimate=err,
            rtol=jnp.asarray(np.finfo(np.float64).eps),
            stats=stats,
            log_t_end=log_ts[-1],
            problem=FlowProblem(model, loss, flow, time, X, y),
            solver_choice="ExactLinearSolver: passed as `solver` (the closed form, no steps).",
        )
        return raise_if_failed(sol) if throw else sol
    if solver is None:
        choice = choose_solver(model, loss, flow, X, log_t1, y=y, time=time)
    else:
        choice = SolverChoice(solver, f"{type(solver).__name__}: passed as `solver`.")
    solver = choice.solver
    if stepsize_controller is None:
        # Steps land on the save times, so saved values carry the solver's full accuracy
        # rather than that of its (lower-order) dense interpolant.
        stepsize_controller = dfx.ClipStepSizeController(
            dfx.PIDController(rtol=rtol, atol=atol), step_ts=s_save
        )
    meter = dfx.NoProgressMeter() if progress_meter is None else progress_meter
    run_rtol = _controller_rtol(stepsize_controller, rtol)
    states, params, observable, log_loss, result, err, stats, log_t_end = _integrate(
        flow,
        model,
        loss,
        time,
        X,
        y,
        s_save,
        solver,
        stepsize_controller,
        max_steps,
        meter,
        dt0,
        stop_ratio,
        claims,
        run_rtol,
        _log_condition(X),
    )
    sol = FlowSolution(
        ts=jnp.exp(log_ts),
        log_ts=log_ts,
        params=params,
        observable=observable,
        log_loss=log_loss,
        state=states,
        s=s_save,
        result=result,
        error_estimate=err,
        rtol=run_rtol,
        stats=stats,
        log_t_end=log_t_end,
        problem=FlowProblem(model, loss, flow, time, X, y),
        solver_choice=choice.reason,
    )
    if throw:
        sol = raise_if_failed(sol)
    return sol


def _non_separable_hint(sol: FlowSolution, result: RESULTS) -> str:
    """Why a classification flow in log time ran out of steps, when the data say so."""
    p = sol.problem
    if not (
        result == RESULTS.max_steps_reached
        and p.loss.is_classification
        and isinstance(p.time, LogTime)
        and p.X is not None
        and not isinstance(p.X, AbstractMeasurements)
    ):
        return ""
    if check_separable(p.X, p.y).separable:
        return ""
    return (
        " Here the cause is the data: they are not linearly separable through the origin "
        "(fb.check_separable says why), so part of the flow settles at a finite minimiser, "
        "which log time, its Jacobian growing like t, approaches only with ever smaller steps; "
        "more steps will not help. Fix: integrate in linear time with an implicit solver "
        "(`time=fb.LinearTime(), solver=fb.default_solver(stiff=True)`), which reaches "
        "t1 = 1e100 in a few thousand steps; fb.separable_split predicts both parts of the "
        "limit."
    )


def _kink_hint(sol: FlowSolution, result: RESULTS) -> str:
    """Why a two-layer network with a kinked activation ran out of steps, when it sits on a
    kink at the end."""
    p = sol.problem
    if not (result == RESULTS.max_steps_reached and isinstance(p.model, TwoLayerNetwork)):
        return ""
    if np.ndim(sol.log_ts) != 1:
        return ""
    last = jax.tree.map(lambda a: a[-1], sol.params)
    dead = np.flatnonzero(np.asarray(p.model.dead_points(last, p.X)))
    if dead.size:
        return (
            f" Here no neuron is active on data point(s) {dead[:5].tolist()} (every "
            "pre-activation at most 1e-6 of its scale): their outputs and gradients are zero, "
            "so the loss cannot fall below their share and log time stalls; more steps will "
            "not help. Fix: a wider network, another seed, or fb.LeakyReLU."
        )
    if p.model.activation.differentiable:
        return ""
    gap = float(p.model.kink_distance(last, p.X))
    if not gap < 1e-6:
        return ""
    return (
        f" Here a neuron's pre-activation sits at the activation's kink (relative distance "
        f"{gap:.1g} at the end): the flow slides along the kink, where the vector field is "
        "discontinuous, and an adaptive solver stalls there; more steps will not help. Fix: use "
        "a differentiable activation, fb.PowerReLU(2), or another initialisation."
    )


def failure_hint(sol: FlowSolution, result: RESULTS | None = None) -> str:
    """Why a run failed, where the problem itself says so (data that are not separable, a
    network sliding along a kink or with a point no neuron sees), as sentences to append to
    the result's message; empty when there is nothing to add."""
    result = sol.result if result is None else result
    return _non_separable_hint(sol, result) + _kink_hint(sol, result)


def raise_if_failed(sol: FlowSolution) -> FlowSolution:
    """Raise [`FlowSolveError`][flowbias.FlowSolveError] with the result's message if a run
    failed; inside `jax.jit` the same message comes as an equinox runtime error."""
    ok = sol.success
    if is_concrete(ok):
        if not bool(jnp.all(ok)):
            bad = (
                sol.result
                if np.ndim(ok) == 0
                else jax.tree.map(
                    lambda a: a.reshape(-1)[int(np.argmin(np.asarray(ok).reshape(-1)))], sol.result
                )
            )
            msg = RESULTS[bad]
            if bad == RESULTS.ill_conditioned:
                msg += f" (estimated relative error {float(jnp.max(sol.error_estimate)):.2g})"
            msg += failure_hint(sol, bad)
            raise FlowSolveError(f"flowsolve failed: {msg} (Or pass throw=False to keep the run.)")
        return sol
    # Attach the check to every output, so that it survives whichever the caller uses.
    fields = lambda s: (s.params, s.observable, s.log_loss, s.state)
    checked = sol.result.error_if(fields(sol), ~ok)
    return eqx.tree_at(fields, sol, checked)
