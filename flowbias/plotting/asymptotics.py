r"""Plots of separable asymptotics: the residual against $\log\log t$, the support-vector
offsets converging, the angle and margin gaps with their theoretical slopes, and $t\,L(w(t))$.

Each function takes either an
[`AsymptoticDiagnostics`][flowbias.asymptotics.AsymptoticDiagnostics] (from
[`diagnose`][flowbias.asymptotics.diagnose]) or a trajectory (a
[`FlowSolution`][flowbias.FlowSolution] or a
[`DescentPath`][flowbias.asymptotics.DescentPath]) together with `X, y` (and optionally
`loss=`, `flow=`), draws on `ax` (a new figure when `None`), titles it with the quantity
drawn (unless it has a title), and returns the Axes.
Use [`plot_norm`][flowbias.plotting.plot_norm] and
[`plot_log_loss`][flowbias.plotting.plot_log_loss] for $\|w\|$ and $\log L$ against $\log t$.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._common import LOG10_T_LABEL, get_ax


if TYPE_CHECKING:
    from matplotlib.axes import Axes

_LN10 = math.log(10.0)


def _panel_title(ax, title: str) -> None:
    """Name the quantity drawn, unless the caller has titled the Axes."""
    if not ax.get_title():
        ax.set_title(title, fontsize="medium")


def _diag(obj, X, y, kwargs):
    from ..asymptotics import AsymptoticDiagnostics, diagnose

    if isinstance(obj, AsymptoticDiagnostics):
        return obj
    if X is None or y is None:
        raise ValueError(
            "pass an AsymptoticDiagnostics (from flowbias.asymptotics.diagnose), or a trajectory "
            "together with the data: `X=..., y=...`."
        )
    return diagnose(
        obj, X, y, **{k: kwargs.pop(k) for k in ("loss", "flow", "pred") if k in kwargs}
    )


def plot_residual(dg, X=None, y=None, ax: Axes | None = None, **kwargs) -> Axes:
    r"""Plot $\|\rho(t)\| = \|w(t) - \hat w\log t\|$ against $\log\log t$, with the fitted line
    $a + c\log\log t$ of [`fit_loglog_growth`][flowbias.asymptotics.fit_loglog_growth]: flat
    when the support vectors are in general position, slope $c > 0$ when degenerate."""
    dg = _diag(dg, X, y, kwargs)
    lt = dg.log_ts
    keep = np.isfinite(lt) & (lt > 1.0)
    x = np.log(lt[keep])
    ax = get_ax(ax)
    ax.plot(x, dg.rho_norm[keep], **kwargs)
    if dg.growth_fit is not None:
        g = dg.growth_fit
        ax.plot(
            x,
            g.intercept + g.slope * x,
            "--",
            color="0.4",
            linewidth=1.0,
            label=rf"fit: ${g.slope:.3g}\,\log\log t$ + const",
        )
        ax.legend()
    ax.set_xlabel(r"$\log\log t$")
    ax.set_ylabel(r"$\|w(t) - \hat w\, g(t)\|$")
    _panel_title(ax, "residual after the max-margin growth")
    return ax


def plot_offsets(dg, X=None, y=None, ax: Axes | None = None, **kwargs) -> Axes:
    r"""Plot $|z_i\cdot\rho(t) - (-\log n a_i)|$ for each support vector against $\log_{10} t$
    (log y axis), with the predicted envelope $\propto t^{-p}$ (a straight line here)."""
    dg = _diag(dg, X, y, kwargs)
    p = dg.pred
    good = np.flatnonzero(np.asarray(p.support) & ~np.asarray(p.zero_dual))
    lt = dg.log_ts
    keep = np.isfinite(lt)
    x = lt[keep] / _LN10
    err = np.abs(dg.offsets[keep][:, good] - np.asarray(p.offsets)[good][None])
    ax = get_ax(ax)
    for j, i in enumerate(good):
        ax.semilogy(x, err[:, j], label=f"$i = {i}$" if j < 8 else None, **kwargs)
    if p.offset_exponent > 0 and np.isfinite(p.offset_exponent):
        big = np.max(err[0]) if err.size else 1.0
        ref = big * np.exp(-p.offset_exponent * (lt[keep] - lt[keep][0]))
        if p.growth == "linear":
            ts = np.exp(lt[keep])
            ref = big * np.exp(-p.offset_exponent * (ts - ts[0]))
        ax.semilogy(
            x,
            np.maximum(ref, 1e-300),
            "k--",
            linewidth=1.0,
            label=rf"predicted rate, $p = {p.offset_exponent:.3g}$",
        )
    ax.set_ylim(bottom=max(1e-16, float(np.nanmin(np.where(err > 0, err, np.nan))) / 10))
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"$|z_i\cdot\rho(t) + \log(n a_i)|$")
    ax.legend(fontsize="small")
    _panel_title(ax, "support-vector offsets: error against -log(n a_i)")
    return ax


def plot_gaps(dg, X=None, y=None, ax: Axes | None = None, **kwargs) -> Axes:
    r"""Plot the angle $\angle(w(t), \hat w)$ and the margin gap on log-log axes against
    $\log t$ (constant steps) or $t$ (normalised steps), with the theoretical slope $-1$
    (through the last point) and the fitted exponents in the legend."""
    dg = _diag(dg, X, y, kwargs)
    lt = dg.log_ts
    linear = dg.pred.growth == "linear"
    keep = np.isfinite(lt) & (lt > 0)
    x = np.exp(lt[keep]) if linear else lt[keep]
    ax = get_ax(ax)
    for name, vals, fit in (
        ("angle", dg.angle, dg.angle_fit),
        ("margin gap", dg.margin_gap, dg.margin_fit),
    ):
        v = vals[keep]
        lab = name if fit is None else rf"{name} (fit: $-{fit.exponent:.3f}\pm{fit.stderr:.1g}$)"
        ax.loglog(x, np.where(v > 0, v, np.nan), label=lab, **kwargs)
        ax.loglog(x, v[-1] * x[-1] / x, "--", color="0.5", linewidth=1.0)
    ax.set_xlabel(r"$t$" if linear else r"$\log t$")
    ax.set_ylabel("gap (dashed: slope $-1$)")
    ax.legend(fontsize="small")
    _panel_title(ax, "angle to the SVM direction and margin gap")
    return ax


def plot_loss_times_t(dg, X=None, y=None, ax: Axes | None = None, **kwargs) -> Axes:
    r"""Plot $t\,L(w(t))$ against $\log_{10} t$ with its predicted limit
    $\sum_i a_i = \|\hat w\|^2$ (constant steps only)."""
    dg = _diag(dg, X, y, kwargs)
    lt = dg.log_ts
    keep = np.isfinite(lt)
    ax = get_ax(ax)
    ax.plot(lt[keep] / _LN10, dg.loss_times_t[keep], **kwargs)
    if np.isfinite(dg.pred.loss_times_t):
        ax.axhline(
            dg.pred.loss_times_t,
            color="0.4",
            linestyle="--",
            linewidth=1.0,
            label=r"$\|\hat w\|^2$",
        )
        ax.legend()
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"$t\,L(w(t))$")
    _panel_title(ax, "loss times t")
    return ax
