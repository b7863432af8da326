r"""Margins and KKT residuals of homogeneous networks against $\log_{10} t$."""

from __future__ import annotations

import numpy as np

from ..margins import margin_path
from ..references import max_margin_kkt, new_neuron_gains
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


def plot_new_neuron_gain(net, certificate, X, y, *, num_directions: int = 1440, ax=None):
    r"""For 2-D data: $g(u) = \sum_i\lambda_i y_i\,\sigma(u\cdot x_i)$ of
    [`best_new_neuron`][flowbias.best_new_neuron] against the angle of $u$, with the line
    $|g| = 1$ (above it, a neuron added in that direction raises the margin), the data points'
    angles and the network's live neurons (where $|g| = 1$ at a KKT point).

    **Arguments:** `net`, a [`TwoLayerNetwork`][flowbias.TwoLayerNetwork] on 2-D inputs;
    `certificate`, the [`KKTCertificate`][flowbias.KKTCertificate] of its end point;
    `X`, `y` the data; `num_directions`, the grid of angles.

    **Returns:** the Axes.
    """
    Xn = np.asarray(X, dtype=np.float64)
    if Xn.ndim != 2 or Xn.shape[1] != 2:
        raise ValueError(f"`X` must have two columns (2-D data); got shape {Xn.shape}.")
    ax = get_ax(ax)
    angles = 2 * np.pi * np.arange(num_directions) / num_directions
    U = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    g = new_neuron_gains(net, certificate, Xn, y, U)
    deg = np.rad2deg(angles)
    ax.plot(deg, g, label=r"$g(u)$")
    ax.axhline(1.0, color="k", linestyle="--", linewidth=0.8, label=r"$|g| = 1$")
    ax.axhline(-1.0, color="k", linestyle="--", linewidth=0.8)
    for i, x in enumerate(Xn):
        ax.axvline(
            np.rad2deg(np.arctan2(x[1], x[0])) % 360,
            color="C1",
            linewidth=0.8,
            label="data points" if i == 0 else None,
        )
    W = np.asarray(net.unflat(certificate.theta)[0])
    live = np.linalg.norm(W, axis=1) > 1e-12 * max(float(np.linalg.norm(W)), 1e-300)
    for j, w in enumerate(W[live]):
        ax.axvline(
            np.rad2deg(np.arctan2(w[1], w[0])) % 360,
            color="C2",
            linestyle=":",
            linewidth=1.5,
            label="live neurons" if j == 0 else None,
        )
    ax.set_xlabel("direction of the neuron u (degrees)")
    ax.set_ylabel(r"$g(u) = \sum_i \lambda_i y_i \sigma(u \cdot x_i)$")
    ax.set_xlim(-5, 365)
    ax.legend(fontsize="small")
    return ax
