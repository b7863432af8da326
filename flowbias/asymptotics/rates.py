r"""Fitted rates: power laws in $t$ or in $\log t$, and $\log\log t$ growth, with standard errors.

A gap $g(t)$ that decays like a power of $\log t$ (the angle and margin gaps of gradient flow,
$\propto 1/\log t$) is a straight line of slope $-k$ in $(\log\log t, \log g)$; one that decays
like a power of $t$ (the margin gap of normalised steps, $\propto 1/t$; the offsets,
$\propto t^{-p}$) is a straight line in $(\log t, \log g)$. [`fit_rate`][] fits one of these by
ordinary least squares, with the textbook standard error of the slope
$\mathrm{se} = \sqrt{s^2 / \sum_j (x_j - \bar x)^2}$, $s^2 = \mathrm{RSS}/(m - 2)$.
[`classify_rate`][] fits both and says which is straight (smaller residual).

The standard error measures scatter about the fitted line only: sub-leading terms (a
$1/\log^2 t$ correction to a $1/\log t$ law) bias the slope systematically, so fit on late
windows.

A gap computed from a trajectory cannot be smaller than the trajectory's own error: once it
reaches that *noise floor* it stops decaying and a fit through it measures the solver's
tolerance, not the flow (a decay like $t^{-0.25}$ read as $t^{-0.01}$). Pass the floor as
`floor` and only the points at least `floor_factor` times above it are fitted; when fewer
than three remain the rate is *not measurable* on that window and [`fit_rate`][] raises
[`RateNotMeasurable`][] saying why, instead of returning a confident wrong number.

??? cite "Rates being tested"

    Soudry et al., JMLR 2018 (direction error $\sim 1/\log t$); Ji & Telgarsky, *Risk and
    parameter convergence of logistic regression*, 2018, and ALT 2021 (margin gap
    $O(\log n/\log t)$ with constant steps, $O(\log n / t)$ with steps $\propto 1/L$);
    Nacson et al., *Convergence of Gradient Descent on Separable Data*, AISTATS 2019
    (normalised steps).
"""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np
from jaxtyping import ArrayLike


class RateFit(eqx.Module):
    r"""A fitted power law $g \approx C\,x^{-k}$ with $x = t$ or $x = \log t$.

    **Fields:**

    - `against`: `"t"` (fit $\log g$ on $\log t$) or `"log_t"` (fit $\log g$ on $\log\log t$).
    - `exponent`: $k$ (so $k = 1$ is $1/t$ or $1/\log t$); `stderr`: its standard error.
    - `log_prefactor`: $\log C$; `prefactor`: $C$.
    - `residual_rms`: root-mean-square residual of $\log g$ about the line.
    - `num_points`: the number of points used.
    - `window`: `(log t of the first point used, log t of the last)`.
    - `floor`: the largest noise floor among the points used (0 when none was given).
    """

    against: str = eqx.field(static=True)
    exponent: float
    stderr: float
    log_prefactor: float
    residual_rms: float
    num_points: int
    window: tuple[float, float]
    floor: float = 0.0

    @property
    def prefactor(self) -> float:
        return math.exp(self.log_prefactor)

    def within(self, k: float, rel: float = 0.1) -> bool:
        """Whether the fitted exponent is within `rel` (relative) of `k`."""
        return abs(self.exponent - k) <= rel * abs(k)


class RateNotMeasurable(ValueError):
    """A rate cannot be fitted honestly on the given window; the message says why and what to
    change."""


def _select(log_ts, g, log_t_min, log_t_max, floor=None, floor_factor=10.0):
    log_ts = np.asarray(log_ts, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if log_ts.shape != g.shape or log_ts.ndim != 1:
        raise ValueError(
            f"`log_ts` and `gap` must be 1-D of the same length; got shapes {log_ts.shape} and "
            f"{g.shape}. Fix: pass sol.log_ts and one gap per saved time."
        )
    fl = (
        np.zeros_like(g)
        if floor is None
        else np.broadcast_to(np.asarray(floor, dtype=np.float64), g.shape)
    )
    if np.any(~np.isfinite(fl) | (fl < 0)):
        raise ValueError("`floor` must be finite and >= 0.")
    keep = np.isfinite(log_ts) & np.isfinite(g) & (g > 0) & (log_ts > 0)
    if log_t_min is not None:
        keep &= log_ts >= log_t_min
    if log_t_max is not None:
        keep &= log_ts <= log_t_max
    in_window = int(keep.sum())
    keep &= g > floor_factor * fl
    if keep.sum() < 3:
        if floor is not None and in_window >= 3:
            raise RateNotMeasurable(
                f"not measurable: {int(keep.sum())} of the {in_window} points in the window lie "
                f"above {floor_factor:g}x the noise floor (~{float(np.max(fl)):.1e}); the gap "
                "there is round-off and solver error, not the flow. Fix: fit on an earlier "
                "window (`log_t_min`/`log_t_max`), or solve with a smaller `rtol`."
            )
        raise RateNotMeasurable(
            f"not measurable: only {int(keep.sum())} usable points (finite, gap > 0, t > 1, "
            "within the window); a rate fit needs at least 3. Fix: widen "
            "`log_t_min`/`log_t_max` or save more times."
        )
    return log_ts[keep], g[keep], float(np.max(fl[keep]))


def _ols(x: np.ndarray, yv: np.ndarray) -> tuple[float, float, float, float]:
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (yv - yv.mean())) / sxx)
    icpt = float(yv.mean() - slope * xm)
    res = yv - icpt - slope * x
    m = x.size
    s2 = float(np.sum(res**2) / max(m - 2, 1))
    return slope, math.sqrt(s2 / sxx), icpt, float(np.sqrt(np.mean(res**2)))


def fit_rate(
    log_ts: ArrayLike,
    gap: ArrayLike,
    *,
    against: str = "log_t",
    log_t_min: float | None = None,
    log_t_max: float | None = None,
    floor: ArrayLike | None = None,
    floor_factor: float = 10.0,
) -> RateFit:
    r"""Fit $\text{gap} \approx C x^{-k}$, $x = \log t$ (`against="log_t"`) or $x = t$
    (`against="t"`), by least squares on the logs, over the times with
    `log_t_min <= log t <= log_t_max` (natural logs).

    Points with $t \le 1$, a non-positive or non-finite gap are dropped, and, when `floor`
    (a scalar or one value per time: the absolute error of the gap) is given, those with
    gap $\le$ `floor_factor` $\times$ floor.

    **Raises:** [`RateNotMeasurable`][flowbias.asymptotics.RateNotMeasurable] (a
    `ValueError`) when fewer than three points remain.

    ```python
    import numpy as np
    from flowbias.asymptotics import fit_rate

    log_ts = np.linspace(10.0, 400.0, 50)
    fit = fit_rate(log_ts, 3.0 / log_ts, against="log_t")
    print(round(fit.exponent, 6), round(fit.prefactor, 6))  # 1.0 3.0
    ```
    """
    if against not in ("t", "log_t"):
        raise ValueError(f"`against` must be 't' or 'log_t'; got {against!r}.")
    lt, g, fl = _select(log_ts, gap, log_t_min, log_t_max, floor, floor_factor)
    x = lt if against == "t" else np.log(lt)
    slope, se, icpt, rms = _ols(x, np.log(g))
    return RateFit(
        against=against,
        exponent=-slope,
        stderr=se,
        log_prefactor=icpt,
        residual_rms=rms,
        num_points=int(lt.size),
        window=(float(lt.min()), float(lt.max())),
        floor=fl if floor is not None else 0.0,
    )


def classify_rate(
    log_ts: ArrayLike,
    gap: ArrayLike,
    *,
    log_t_min: float | None = None,
    log_t_max: float | None = None,
) -> dict:
    r"""Fit the gap as a power of $t$ and as a power of $\log t$; the law whose fit is straighter
    (smaller residual) is the one the data support.

    **Returns:** a dict with `"t"` and `"log_t"` ([`RateFit`][]s) and `"verdict"`:
    `"1/t^k"` or `"1/log^k t"` (with `k` the fitted exponent of the winner, `"exponent"`).
    """
    f_t = fit_rate(log_ts, gap, against="t", log_t_min=log_t_min, log_t_max=log_t_max)
    f_l = fit_rate(log_ts, gap, against="log_t", log_t_min=log_t_min, log_t_max=log_t_max)
    best = f_t if f_t.residual_rms < f_l.residual_rms else f_l
    return {
        "t": f_t,
        "log_t": f_l,
        "verdict": "1/t^k" if best is f_t else "1/log^k t",
        "exponent": best.exponent,
    }


class GrowthFit(eqx.Module):
    r"""The fit $\|\rho(t)\| \approx a + c\log\log t$ against a constant.

    **Fields:** `slope` $c$ and `stderr`; `intercept` $a$; `rss_constant` and `rss_loglog`
    (residual sums of squares of the two models); `grows`: the verdict, True when $c$ is both
    significant ($c > 5\,\mathrm{se}$) and material ($c >$ `min_slope`). In the degenerate case
    the slope is of order one (exactly 1 for one zero-dual support vector orthogonal to the
    others); a non-degenerate instance whose offsets converge very slowly ($t^{-p}$ with
    $p \lesssim 0.01$) still drifts by $O(p)$ per unit of $\log\log t$, below the default
    `min_slope`.
    """

    slope: float
    stderr: float
    intercept: float
    rss_constant: float
    rss_loglog: float
    grows: bool


def fit_loglog_growth(
    log_ts: ArrayLike,
    norm: ArrayLike,
    *,
    log_t_min: float | None = None,
    min_slope: float = 0.1,
) -> GrowthFit:
    r"""Does $\|\rho(t)\|$ grow like $c\log\log t$ or settle to a constant?

    Least squares of `norm` on $(1, \log\log t)$ over $\log t \ge$ `log_t_min` (default: the
    last half of the saved $\log t$ range).
    """
    lt = np.asarray(log_ts, dtype=np.float64)
    v = np.asarray(norm, dtype=np.float64)
    ok = np.isfinite(lt) & np.isfinite(v) & (lt > 1.0)
    if log_t_min is None:
        log_t_min = 0.5 * float(lt[ok].max())
    ok &= lt >= log_t_min
    if ok.sum() < 3:
        raise ValueError("need at least 3 saved times with log t >= log_t_min (and t > e).")
    x, yv = np.log(lt[ok]), v[ok]
    slope, se, icpt, _ = _ols(x, yv)
    rss_l = float(np.sum((yv - icpt - slope * x) ** 2))
    rss_c = float(np.sum((yv - yv.mean()) ** 2))
    grows = bool(slope > 5 * se and slope > min_slope)
    return GrowthFit(
        slope=slope,
        stderr=se,
        intercept=icpt,
        rss_constant=rss_c,
        rss_loglog=rss_l,
        grows=grows,
    )
