r"""Margins and KKT residuals of homogeneous networks against $\log_{10} t$."""

from __future__ import annotations

import numpy as np

from ..margins import margin_path
from ..references import max_margin_kkt
from ..solution import FlowSolution
from ._common import LOG10_T_LABEL, get_ax, log10_t, title_once


def plot_margins(sol: FlowSolution, *, max_margin: float | None = None, ax=None):
    r"""The normalised margin $\min_i y_i f(x_i;\theta)/\|\theta\|^L$ and Lyu and Li's smoothed
    margin (a lower bound, non-decreasing once the data are fitted) against $\log_{10} t$,
    from the time the data are fitted; `max_margin`, if given (e.g. the SVM's $1/\|\hat w\|$
    scaled for the network), is drawn as the value they should approach.

    **Returns:** the Axes.
    """
    ax = get_ax(ax)
    x, ok = log10_t(sol)
    path = margin_path(sol)
    fitted = ok & np.asarray(path.fitted)
    ax.plot(x[fitted], np.asarray(path.normalized_margin)[fitted], label="normalised margin")
    ax.plot(
        x[fitted],
        np.asarray(path.smoothed_margin)[fitted],
        "--",
        label="smoothed margin (Lyu & Li)",
    )
    if max_margin is not None:
        ax.axhline(float(max_margin), color="0.3", linestyle=":", label="max-margin (theory)")
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"margin $/ \|\theta\|^L$ (linear scale)")
    ax.legend(fontsize="small")
    title_once(ax, sol)
    return ax


def plot_kkt_residuals(sol: FlowSolution, *, every: int = 1, ax=None):
    r"""The residuals of [`max_margin_kkt`][flowbias.max_margin_kkt] (stationarity and
    complementarity) of the direction at every `every`-th saved time, once the data are
    classified correctly, on log-log axes ($\log_{10}$ of both): their decay is the direction
    approaching a KKT point of the max-margin problem.

    **Returns:** the Axes.
    """
    ax = get_ax(ax)
    x, ok = log10_t(sol)
    model = sol.problem.model
    rows = []
    for k in range(0, len(x), max(int(every), 1)):
        if not ok[k] or x[k] <= 0:
            continue
        params = [np.asarray(p)[k] for p in sol.params]
        cert = max_margin_kkt(model, model.flat(params), sol.problem.X, sol.problem.y)
        if np.isfinite(float(cert.stationarity)):
            rows.append((x[k], float(cert.stationarity), abs(float(cert.complementarity))))
    if rows:
        r = np.array(rows)
        ax.loglog(r[:, 0], r[:, 1], label="stationarity")
        ax.loglog(r[:, 0], r[:, 2], "--", label="complementarity")
    ax.set_xlabel(LOG10_T_LABEL + " (log scale)")
    ax.set_ylabel("KKT residual (relative, log scale)")
    ax.legend(fontsize="small")
    title_once(ax, sol)
    return ax
