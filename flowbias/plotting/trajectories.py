r"""Plots of one flow against time: loss, norm, and the distance to a predicted limit.

Every function here takes a [`FlowSolution`][flowbias.FlowSolution] and draws one quantity
against $\log_{10} t$, computed from the solution's `log_ts` (natural log). That keeps
horizons past the float64 range plottable: at $t = 10^{400}$, `ts` holds `inf` but
$\log_{10} t = 400$. The point $t = 0$ (where $\log t = -\infty$) is always left out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import ArrayLike

from ..solution import FlowSolution
from ._common import (
    LOG10_T_LABEL,
    as_vector,
    get_ax,
    line,
    log10_t,
    title_once,
    trajectory,
)


if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_log_loss(sol: FlowSolution, ax: Axes | None = None, **plot_kwargs) -> Axes:
    r"""Plot $\log_{10} L(w(t))$ against $\log_{10} t$.

    The loss is taken from `sol.log_loss` (a natural log, kept in log form so that it never
    underflows) and divided by $\ln 10$. On separable data with the exponential or logistic
    loss, $L(w(t)) \sim 1/t$ for large $t$ (when $\|w\| \sim \log t$), so the curve ends on
    a line of slope $-1$.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] (one run, not a batch).
    - `ax`: the matplotlib Axes to draw on; a new figure is made when `None`.
    - `**plot_kwargs`: passed to `ax.plot` (e.g. `label=`, `color=`).

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    y = np.asarray(sol.log_loss, dtype=np.float64) / math.log(10.0)
    ax = get_ax(ax)
    line(ax, x, y, keep, **plot_kwargs)
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"$\log_{10} L(w(t))$")
    title_once(ax, sol)
    return ax


def plot_norm(
    sol: FlowSolution, ax: Axes | None = None, *, w_ref: ArrayLike | None = None, **plot_kwargs
) -> Axes:
    r"""Plot the Euclidean norm $\|w(t)\|_2$ against $\log_{10} t$.

    On separable data the norm diverges like $\|\hat w\|\log t$, a straight line in these
    coordinates; on a square loss it levels off at the norm of the limit.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of a linear-in-input model.
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `w_ref`: optional predicted limit; its norm is drawn as a dashed horizontal line.
    - `**plot_kwargs`: passed to `ax.plot` for the trajectory.

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    w = trajectory(sol)
    ax = get_ax(ax)
    line(ax, x, np.linalg.norm(w, axis=-1), keep, **plot_kwargs)
    if w_ref is not None:
        ref_norm = float(np.linalg.norm(as_vector(w_ref, w.shape[-1])))
        ax.axhline(ref_norm, color="0.4", linestyle="--", linewidth=1.0, label=r"$\|w_{ref}\|$")
        ax.legend()
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"$\|w(t)\|_2$")
    title_once(ax, sol)
    return ax


def one_minus_cos_path(w: np.ndarray, w_ref: np.ndarray) -> np.ndarray:
    r"""$1 - \cos\angle(w_k, w_{ref})$ for each row $w_k$ of `w`, by the stable formula
    $\tfrac12\|u_k - v\|^2$ with $u_k = w_k/\|w_k\|$, $v = w_{ref}/\|w_{ref}\|$.

    The naive $1 - \langle u, v\rangle$ loses every digit below $10^{-16}$; the difference of
    unit vectors keeps full relative accuracy. Rows with $w_k = 0$ give NaN.
    """
    norms = np.linalg.norm(w, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = w / norms
    v = w_ref / np.linalg.norm(w_ref)
    return 0.5 * np.sum((u - v) ** 2, axis=-1)


def plot_direction_error(
    sol: FlowSolution, w_ref: ArrayLike, ax: Axes | None = None, **plot_kwargs
) -> Axes:
    r"""Plot the direction error $1 - \cos\angle(w(t), w_{ref})$ against $\log_{10} t$, on a
    logarithmic y axis.

    Computed as $\tfrac12\left\|\frac{w}{\|w\|} - \frac{w_{ref}}{\|w_{ref}\|}\right\|^2$,
    which is accurate down to $10^{-30}$ and below (the naive $1 - \cos$ stops at
    $10^{-16}$). On separable data with $w_{ref} = \hat w$ the hard-margin SVM solution, the
    angle closes only like $1/\log t$ (so $1 - \cos$ like $1/\log^2 t$, up to
    $\log\log t$ factors): even at $t = 10^{100}$ it is visibly non-zero.
    Points where it is exactly 0 cannot appear on a log axis and are left out.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of a linear-in-input model.
    - `w_ref`: the predicted direction (any positive multiple; an object with a `w` field,
      such as the result of [`hard_margin_svm`][flowbias.hard_margin_svm], is accepted).
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `**plot_kwargs`: passed to `ax.plot`.

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    w = trajectory(sol)
    w_ref = as_vector(w_ref, w.shape[-1])
    if not np.any(w_ref):
        raise ValueError("`w_ref` is zero: it has no direction to compare with.")
    y = one_minus_cos_path(w, w_ref)
    ax = _log_y_path(ax, x, y, keep, r"$1 - \cos\angle(w(t), w_{ref})$", **plot_kwargs)
    title_once(ax, sol)
    return ax


def plot_distance(
    sol: FlowSolution, w_ref: ArrayLike, ax: Axes | None = None, **plot_kwargs
) -> Axes:
    r"""Plot the relative distance $\|w(t) - w_{ref}\| / \|w_{ref}\|$ to a predicted limit,
    on log-log axes ($\log_{10} t$ against a logarithmic y axis).

    For the square loss and $w_{ref}$ the interpolator nearest to $w_0$, the distance falls
    exponentially in $t$ once $t$ exceeds the inverse of the smallest non-zero eigenvalue of
    $XX^\top/n$, down to the solver's tolerance. Points at distance exactly 0 are left out.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of a linear-in-input model.
    - `w_ref`: the predicted limit (non-zero; an object with a `w` field is accepted).
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `**plot_kwargs`: passed to `ax.plot`.

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    w = trajectory(sol)
    w_ref = as_vector(w_ref, w.shape[-1])
    ref_norm = np.linalg.norm(w_ref)
    if ref_norm == 0:
        raise ValueError(
            "`w_ref` is zero, so the relative distance is undefined. Fix: plot "
            "`plot_norm(sol)` instead, which is the distance to 0."
        )
    y = np.linalg.norm(w - w_ref, axis=-1) / ref_norm
    ax = _log_y_path(ax, x, y, keep, r"$\|w(t) - w_{ref}\| \,/\, \|w_{ref}\|$", **plot_kwargs)
    title_once(ax, sol)
    return ax


def rowspace_deviation_path(w: np.ndarray, X: np.ndarray, w0: np.ndarray) -> np.ndarray:
    r"""$\|(I - P)(w_k - w_0)\|$ for each row $w_k$ of `w`, with $P = X^+X$ the orthogonal
    projector onto the row space of $X$ (from an SVD; singular values below
    $\max(n, d)\,\varepsilon\,\sigma_{\max}$ count as zero)."""
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    rank = int(np.sum(s > max(X.shape) * np.finfo(np.float64).eps * s[0])) if s.size else 0
    basis = vt[:rank]  # orthonormal rows spanning rowspace(X)
    D = w - w0
    return np.linalg.norm(D - (D @ basis.T) @ basis, axis=-1)


def plot_rowspace_deviation(
    sol: FlowSolution, X: ArrayLike, w0: ArrayLike, ax: Axes | None = None, **plot_kwargs
) -> Axes:
    r"""Plot $\|(I - P_X)(w(t) - w_0)\|$, the part of $w(t) - w_0$ outside the row space of
    $X$, against $\log_{10} t$ on a logarithmic y axis.

    For a linear model on a loss of the outputs $Xw$, $\nabla_w L = X^\top \nabla_f L$ lies in
    $\operatorname{rowspace}(X)$, so gradient flow never leaves $w_0 + \operatorname{rowspace}(X)$:
    this curve should sit at rounding level, about $10^{-16}\,\|w\|$. Points at exactly 0 are
    left out.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of a linear-in-input model.
    - `X`: the data the flow was trained on, shape `(n, d)`.
    - `w0`: the initialisation, shape `(d,)`.
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `**plot_kwargs`: passed to `ax.plot`.

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    w = trajectory(sol)
    d = w.shape[-1]
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"`X` must have shape (n, {d}) to match w(t); got {X.shape}.")
    w0 = as_vector(w0, d, "w0")
    y = rowspace_deviation_path(w, X, w0)
    ax = _log_y_path(ax, x, y, keep, r"$\|(I - P_X)(w(t) - w_0)\|$", **plot_kwargs)
    title_once(ax, sol)
    return ax


def _log_y_path(ax, x, y, keep, ylabel: str, **plot_kwargs) -> Axes:
    """Draw a positive quantity against log10 t on a log y axis (zeros are left out)."""
    ax = get_ax(ax)
    line(ax, x, y, keep & (y > 0), **plot_kwargs)
    ax.set_yscale("log")
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(ylabel)
    return ax
