r"""Diagnostics of a separable trajectory against its predicted asymptotics.

Given saved $w(t)$ (a [`FlowSolution`][flowbias.FlowSolution] or a
[`DescentPath`][flowbias.asymptotics.DescentPath]) and the prediction from the SVM dual
([`predict_asymptotics`][flowbias.asymptotics.predict_asymptotics]):

- the residual $\rho(t) = w(t) - \hat w\,g(t)$, $g = \log t$ (or $t/\|\hat w\|^2$ for normalised
  steps), and whether $\|\rho\|$ grows like $\log\log t$;
- the support-vector offsets $z_i\cdot\rho(t)$, their distance to $-\log(n a_i)$, and the
  measured exponent $p$ of that distance ($\propto t^{-p}$), to set against the predicted one;
- the angle and margin gaps with fitted rates, and $t\,L(w(t)) \to \|\hat w\|^2$;
- an extrapolated direction: the slope $A$ of the least-squares fit $w(t) \approx A\,g(t) + c$
  over the last saved points. Since $w = \hat w g + \tilde w + O(t^{-p})$, $A = \hat w +
  O(t^{-p})$ while $w/\|w\|$ is off by $O(1/g)$: at $t = 10^{200}$ the first is within
  $10^{-12}$ of $\hat w$ in direction where the second is $10^{-6}$ away.

??? cite "References"

    Soudry et al., JMLR 2018, Theorems 3-4 (asymptotic form, $\log\log t$ residual); Ji &
    Telgarsky, ALT 2021 (rates).
"""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np
from jaxtyping import ArrayLike

from ..compare import angle as _angle, margin_gap as _margin_gap, one_minus_cos
from ..flows import AbstractFlow, GradientFlow, NormalisedGradientFlow
from ..losses import AbstractLoss
from ..models import AbstractLinearModel
from ..solution import FlowSolution
from .descent import DescentPath
from .predicted import PredictedAsymptotics, predict_asymptotics
from .rates import GrowthFit, RateFit, RateNotMeasurable, fit_loglog_growth, fit_rate


_FLOOR_FACTOR = 10.0


def _path_arrays(path: FlowSolution | DescentPath) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(path, DescentPath):
        w = path.w
    elif isinstance(path, FlowSolution) and isinstance(path.problem.model, AbstractLinearModel):
        w = path.w
    else:
        raise TypeError(
            "`sol` must be a FlowSolution of a linear model (LinearModel, DiagonalNetwork) or a "
            f"DescentPath; got {type(path).__name__}"
            + (f" of {type(path.problem.model).__name__}" if isinstance(path, FlowSolution) else "")
            + "."
        )
    lt = np.asarray(path.log_ts, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if lt.ndim != 1:
        raise ValueError("diagnose one run at a time (the solution holds a batch).")
    return lt, w


def growth_of(log_ts: ArrayLike, pred: PredictedAsymptotics) -> np.ndarray:
    r"""$g(t)$: $\log t$, or $t/\|\hat w\|^2$ for normalised steps (0 at $t = 0$)."""
    lt = np.asarray(log_ts, dtype=np.float64)
    if pred.growth == "log":
        return np.where(np.isfinite(lt), lt, 0.0)
    w2 = float(np.sum(np.asarray(pred.w_hat) ** 2))
    return np.exp(lt) / w2


def residual(path, pred: PredictedAsymptotics) -> np.ndarray:
    r"""$\rho(t) = w(t) - \hat w\,g(t)$ at the saved times, shape `(k, d)`."""
    lt, w = _path_arrays(path)
    return w - growth_of(lt, pred)[:, None] * np.asarray(pred.w_hat)[None, :]


def measured_offsets(path, X: ArrayLike, y: ArrayLike, pred: PredictedAsymptotics) -> np.ndarray:
    r"""$z_i\cdot\rho(t)$ for every point, shape `(k, n)` (centred over the support for
    normalised steps, like `pred.offsets`)."""
    Z = np.asarray(y, dtype=np.float64)[:, None] * np.asarray(X, dtype=np.float64)
    off = residual(path, pred) @ Z.T
    if pred.growth == "linear":
        good = np.asarray(pred.support) & ~np.asarray(pred.zero_dual)
        off = off - off[:, good].mean(axis=1, keepdims=True)
    return off


def extrapolate_direction(
    path, pred: PredictedAsymptotics | None = None, *, num_points: int | None = None
) -> np.ndarray:
    r"""The slope $A$ of the least-squares fit $w(t) \approx A\,g(t) + c$ on the last saved
    points (`num_points`, default a quarter of them): an estimate of $\hat w$ whose direction
    error is $O(t^{-p})$ instead of the $O(1/\log t)$ of $w(t)$ itself.

    Without `pred`, $g = \log t$.
    """
    lt, w = _path_arrays(path)
    ok = np.flatnonzero(np.isfinite(lt) & (lt > 0))
    m = max(3, len(lt) // 4) if num_points is None else int(num_points)
    if ok.size < max(m, 2):
        raise ValueError(f"need at least {m} saved times with t > 1 to extrapolate.")
    idx = ok[-m:]
    g = lt[idx] if pred is None else growth_of(lt[idx], pred)
    G = np.stack([g - g.mean(), np.ones_like(g)], axis=1)
    coef = np.linalg.lstsq(G, w[idx], rcond=None)[0]
    return coef[0]


class AsymptoticDiagnostics(eqx.Module):
    r"""Everything [`diagnose`][flowbias.asymptotics.diagnose] measures (arrays per saved time).

    **Fields:** `pred` (the prediction), `log_ts`, `rho_norm` $\|\rho(t)\|$, `offsets`
    $z_i\cdot\rho(t)$ `(k, n)`, `offset_error` (max over non-degenerate support vectors of
    $|z_i\cdot\rho - \text{predicted}|$), `angle`, `margin_gap`, `loss_times_t`
    ($t\,L(w(t))$, NaN for normalised steps), `offset_fit` (measured $t^{-p}$ fit of
    `offset_error`, or None), `angle_fit`, `margin_fit` ([`RateFit`][]s in $\log t$ for
    growth `"log"`, in $t$ for `"linear"`, or None), `growth_fit` ([`GrowthFit`][]),
    `w_extrapolated`, `one_minus_cos_final`, `one_minus_cos_extrapolated`.

    `noise_level` is the relative error of the saved $w(t)$ (the solver's `rtol` or the run's
    rounding estimate, whichever is larger; $\varepsilon$ times the number of steps for
    gradient descent), and `offset_floor`, `angle_floor`, `margin_floor` the absolute floors
    it puts under each gap: $r\|w(t)\|\max_i\|z_i\|$, $r$, $r\max_i\|z_i\|$. Rates are
    fitted only on points ten times above their floor. `offset_status`, `angle_status` and
    `margin_status` are `"measured"` or `"not measurable: ..."` with the reason (the fit is
    then None).
    """

    pred: PredictedAsymptotics
    log_ts: np.ndarray
    rho_norm: np.ndarray
    offsets: np.ndarray
    offset_error: np.ndarray
    angle: np.ndarray
    margin_gap: np.ndarray
    loss_times_t: np.ndarray
    offset_fit: RateFit | None
    angle_fit: RateFit | None
    margin_fit: RateFit | None
    growth_fit: GrowthFit | None
    w_extrapolated: np.ndarray
    one_minus_cos_final: float
    one_minus_cos_extrapolated: float
    noise_level: float
    offset_floor: np.ndarray
    angle_floor: float
    margin_floor: float
    offset_status: str = eqx.field(static=True)
    angle_status: str = eqx.field(static=True)
    margin_status: str = eqx.field(static=True)


def _default_window(pred: PredictedAsymptotics, lt_end: float, late: bool = True) -> float:
    r"""Start rate fits where the predicted transient $e^{-p\,g}$ is below $10^{-3}$, at most
    $\tfrac34$ of the final $\log t$ and, for the slowly decaying gaps (`late`), at least
    $\tfrac14$ of it. The offsets decay like $t^{-p}$ and soon reach the noise floor, so
    their window is not pushed late: the floor bounds it from above."""
    p = pred.offset_exponent
    g0 = 7.0 / p if p > 0 else math.inf
    lt0 = g0 if pred.growth == "log" else math.log(g0) if g0 > 0 else -math.inf
    if late or not math.isfinite(lt0):
        lt0 = max(lt0, 0.25 * lt_end)
    return float(min(lt0, 0.75 * lt_end))


def _try(f, *args, **kwargs):
    try:
        return f(*args, **kwargs)
    except ValueError:
        return None


def _fit_or_reason(*args, **kwargs) -> tuple[RateFit | None, str]:
    try:
        return fit_rate(*args, floor_factor=_FLOOR_FACTOR, **kwargs), "measured"
    except RateNotMeasurable as e:
        return None, str(e)


def _noise_level(path: FlowSolution | DescentPath) -> float:
    """The relative error of the saved w(t): what no gap computed from it can go below."""
    eps = float(np.finfo(np.float64).eps)
    if isinstance(path, DescentPath):
        return eps * max(float(np.max(np.asarray(path.ks))), 1.0)
    r = max(float(np.asarray(path.rtol)), float(np.asarray(path.error_estimate)), 4 * eps)
    return r


def diagnose(
    sol,
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: AbstractLoss | None = None,
    flow: AbstractFlow | None = None,
    pred: PredictedAsymptotics | None = None,
    log_t_min: float | None = None,
) -> AsymptoticDiagnostics:
    r"""Measure the asymptotics of a trajectory and fit its rates (see the module text).

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of a linear model, or a
      [`DescentPath`][flowbias.asymptotics.DescentPath].
    - `X`, `y`: the data it was trained on.
    - `loss`, `flow`: what produced it (default exponential loss, gradient flow; a normalised
      `DescentPath` implies `NormalisedGradientFlow`). Ignored when `pred` is given.
    - `pred`: a precomputed prediction.
    - `log_t_min`: fit rates on $\log t \ge$ this (default: where the predicted transient
      $e^{-p g(t)}$ of the offsets is below $10^{-3}$, at most $\frac34$ of the final
      $\log t$ and, for the angle and margin gaps, at least $\frac14$ of it). Every fit also
      drops the points within ten times its noise floor (see
      [`AsymptoticDiagnostics`][flowbias.asymptotics.AsymptoticDiagnostics]).

    **Raises:** [`NonSeparableError`][flowbias.NonSeparableError] on non-separable data.
    """
    if pred is None:
        if isinstance(sol, DescentPath):
            flow = NormalisedGradientFlow() if sol.normalised else GradientFlow()
        pred = predict_asymptotics(
            X, y, loss=loss, flow=flow, discrete=isinstance(sol, DescentPath)
        )
    lt, w = _path_arrays(sol)
    Xn = np.asarray(X, dtype=np.float64)
    yn = np.asarray(y, dtype=np.float64)
    if w.shape[1] != Xn.shape[1]:
        raise ValueError(f"`sol.w` has {w.shape[1]} coordinates but `X` has {Xn.shape[1]} columns.")
    w_hat = np.asarray(pred.w_hat)
    rho = residual(sol, pred)
    off = measured_offsets(sol, Xn, yn, pred)
    good = np.asarray(pred.support) & ~np.asarray(pred.zero_dual)
    err = np.max(np.abs(off[:, good] - np.asarray(pred.offsets)[good][None]), axis=1)
    ang = np.asarray(_angle(w, w_hat))
    gap = np.asarray(_margin_gap(w, Xn, yn, w_hat))
    if pred.growth == "log":
        ltl = np.asarray(sol.log_loss, dtype=np.float64) + lt
        ltt = np.exp(np.where(np.isfinite(lt), ltl, -np.inf))
    else:
        ltt = np.full_like(lt, np.nan)
    lt_end = float(lt[np.isfinite(lt)].max())
    lo = _default_window(pred, lt_end) if log_t_min is None else log_t_min
    lo_off = _default_window(pred, lt_end, late=False) if log_t_min is None else log_t_min
    against = "log_t" if pred.growth == "log" else "t"
    r = _noise_level(sol)
    Z = yn[:, None] * Xn
    z_max = float(np.max(np.linalg.norm(Z, axis=1)))
    off_floor = r * np.linalg.norm(w, axis=1) * z_max
    angle_floor, margin_floor = r, r * z_max
    offset_fit, offset_status = _fit_or_reason(
        lt, err, against="t", log_t_min=lo_off, floor=off_floor
    )
    angle_fit, angle_status = _fit_or_reason(
        lt, ang, against=against, log_t_min=lo, floor=angle_floor
    )
    margin_fit, margin_status = _fit_or_reason(
        lt, gap, against=against, log_t_min=lo, floor=margin_floor
    )
    growth_fit = (
        _try(fit_loglog_growth, lt, np.linalg.norm(rho, axis=1)) if pred.growth == "log" else None
    )
    w_ex = extrapolate_direction(sol, pred)
    return AsymptoticDiagnostics(
        pred=pred,
        log_ts=lt,
        rho_norm=np.linalg.norm(rho, axis=1),
        offsets=off,
        offset_error=err,
        angle=ang,
        margin_gap=gap,
        loss_times_t=ltt,
        offset_fit=offset_fit,
        angle_fit=angle_fit,
        margin_fit=margin_fit,
        growth_fit=growth_fit,
        w_extrapolated=w_ex,
        one_minus_cos_final=float(one_minus_cos(w[-1], w_hat)),
        one_minus_cos_extrapolated=float(one_minus_cos(w_ex, w_hat)),
        noise_level=r,
        offset_floor=off_floor,
        angle_floor=angle_floor,
        margin_floor=margin_floor,
        offset_status=offset_status,
        angle_status=angle_status,
        margin_status=margin_status,
    )


def _f(x) -> float | None:
    """A JSON-able float (None for NaN / inf)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _fit_dict(fit: RateFit | None, status: str) -> dict:
    if fit is None:
        return {
            "exponent": None,
            "stderr": None,
            "prefactor": None,
            "against": None,
            "status": status,
            "window_log_t": None,
        }
    return {
        "exponent": _f(fit.exponent),
        "stderr": _f(fit.stderr),
        "prefactor": _f(fit.prefactor),
        "against": fit.against,
        "status": status,
        "window_log_t": [_f(fit.window[0]), _f(fit.window[1])],
    }


def diagnostics_summary(
    sol,
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: AbstractLoss | None = None,
    flow: AbstractFlow | None = None,
) -> dict:
    r"""[`diagnose`][flowbias.asymptotics.diagnose] as a dict of JSON-able values (floats, ints,
    bools, strings, lists; None for NaN/inf): offsets measured and predicted (support vectors,
    in index order), the predicted and measured offset convergence exponent, fitted rates
    (each with its `status`, `"measured"` or `"not measurable: ..."`, and the `log t` window it
    was fitted on), and the direction errors.

    ```python
    import json
    import numpy as np
    import flowbias as fb
    from flowbias.asymptotics import diagnostics_summary

    X = np.array([[1.0, 0.5], [0.8, -0.3], [-1.0, -0.2], [2.0, 1.0]])
    y = np.array([1.0, 1.0, -1.0, 1.0])
    sol = fb.flowsolve(fb.LinearModel(np.zeros(2)), fb.ExponentialLoss(), X, y, 1e100)
    summary = diagnostics_summary(sol, X, y)
    print(json.dumps(summary["offset_max_error"]))
    ```
    """
    dg = diagnose(sol, X, y, loss=loss, flow=flow)
    p = dg.pred
    S = np.flatnonzero(np.asarray(p.support))
    last = dg.offsets[-1]
    off = _fit_dict(dg.offset_fit, dg.offset_status)
    g_end = dg.log_ts[-1] if p.growth == "log" else math.exp(dg.log_ts[-1])
    return {
        "growth": p.growth,
        "n": int(np.asarray(X).shape[0]),
        "d": int(np.asarray(X).shape[1]),
        "support": [int(i) for i in S],
        "degenerate": bool(p.degenerate),
        "num_zero_dual": int(np.sum(np.asarray(p.zero_dual))),
        "rank_deficient": bool(p.rank_deficient),
        "log_t_final": _f(dg.log_ts[-1]),
        "offsets_predicted": [_f(np.asarray(p.offsets)[i]) for i in S],
        "offsets_measured": [_f(last[i]) for i in S],
        "offset_max_error": _f(dg.offset_error[-1]),
        "offset_exponent_predicted": _f(p.offset_exponent),
        "lambda_min": _f(p.lambda_min),
        "second_margin_minus_1": _f(p.second_margin - 1.0),
        "offset_exponent_measured": off["exponent"],
        "offset_exponent_stderr": off["stderr"],
        "offset_exponent_status": off["status"],
        "offset_fit_window_log_t": off["window_log_t"],
        "noise_level": _f(dg.noise_level),
        "angle_rate": _fit_dict(dg.angle_fit, dg.angle_status),
        "margin_gap_rate": _fit_dict(dg.margin_fit, dg.margin_status),
        "margin_gap_coefficient_predicted": _f(p.gap_coefficient),
        "margin_gap_coefficient_measured": _f(dg.margin_gap[-1] * g_end),
        "loss_times_t_final": _f(dg.loss_times_t[-1]),
        "loss_times_t_predicted": _f(p.loss_times_t),
        "rho_norm_final": _f(dg.rho_norm[-1]),
        "rho_loglog_slope": _f(dg.growth_fit.slope) if dg.growth_fit else None,
        "rho_loglog_stderr": _f(dg.growth_fit.stderr) if dg.growth_fit else None,
        "rho_grows_loglog": bool(dg.growth_fit.grows) if dg.growth_fit else None,
        "one_minus_cos_final": _f(dg.one_minus_cos_final),
        "one_minus_cos_extrapolated": _f(dg.one_minus_cos_extrapolated),
    }
