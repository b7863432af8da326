r"""Plots of the two regimes of diagonal networks (Woodworth et al., COLT 2020): where the limit
$w(\alpha)$ sits between the min-$\ell_1$ ("rich") and the min-$\ell_2$ ("kernel")
interpolators, what it costs on test data, and the incremental (one coordinate at a time)
learning at small $\alpha$ (Gissin et al., ICLR 2020).

[`plot_regime_distances`][flowbias.plotting.plot_regime_distances] and
[`plot_test_error`][flowbias.plotting.plot_test_error] take the limits of an $\alpha$ sweep as
an array with one row per $\alpha$ (e.g. `np.asarray(fb.alpha_sweep(...).w_final)`); rows of
NaN (failed runs) are left out of the plot.
[`plot_incremental_learning`][flowbias.plotting.plot_incremental_learning] takes one
[`FlowSolution`][flowbias.FlowSolution].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import ArrayLike

from ..solution import FlowSolution
from ._common import LOG10_T_LABEL, as_vector, get_ax, line, log10_t, trajectory


if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _sweep_arrays(alphas: ArrayLike, ws: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    alphas = np.asarray(alphas, dtype=np.float64)
    ws = np.asarray(ws.w_final if isinstance(ws, FlowSolution) else ws, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"`alphas` must be a non-empty vector; got shape {alphas.shape}.")
    if ws.ndim != 2 or ws.shape[0] != alphas.shape[0]:
        raise ValueError(
            f"`ws` must hold one limit per alpha, shape ({alphas.shape[0]}, d); got shape "
            f"{ws.shape}. Fix: pass `np.asarray(sols.w_final)` of the sweep over `alphas`."
        )
    if not np.all(alphas > 0):
        raise ValueError("`alphas` must all be > 0 (they are drawn on a log axis).")
    return alphas, ws


def relative_distances(ws: np.ndarray, w_ref: np.ndarray) -> np.ndarray:
    r"""$\|w_k - w_{ref}\| / \|w_{ref}\|$ for each row $w_k$ of `ws`."""
    return np.linalg.norm(ws - w_ref, axis=-1) / np.linalg.norm(w_ref)


def mean_squared_errors(ws: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""The mean squared error $\frac1m\|X w_k - y\|^2$ of each row $w_k$ of `ws`."""
    return np.mean((ws @ X.T - y) ** 2, axis=-1)


def plot_regime_distances(
    alphas: ArrayLike,
    ws: ArrayLike,
    w_l1: ArrayLike,
    w_l2: ArrayLike,
    ax: Axes | None = None,
    *,
    label: str | None = None,
    **plot_kwargs,
) -> Axes:
    r"""Plot the relative distances $\|w(\alpha) - w_{\ell_1}\|/\|w_{\ell_1}\|$ (solid) and
    $\|w(\alpha) - w_{\ell_2}\|/\|w_{\ell_2}\|$ (dashed) against $\alpha$, on log-log axes.

    For a diagonal network started at scale $\alpha$, the limit $w(\alpha)$ goes from the
    min-$\ell_1$ interpolator ($\alpha\to 0$, rich regime) to the min-$\ell_2$ interpolator
    ($\alpha\to\infty$, kernel regime): the solid line rises from 0 as the dashed one falls
    to 0. The transition is sharper for deeper networks; draw several depths on one Axes by
    calling this once per depth with its own `label=` (and `color=`). Points at distance
    exactly 0, and NaN rows, are left out.

    **Arguments:**

    - `alphas`: the initial scales, shape `(k,)`, all $> 0$.
    - `ws`: the limits, one row per alpha, shape `(k, d)` (e.g. `sols.w_final` of
      [`alpha_sweep`][flowbias.alpha_sweep]; a batched
      [`FlowSolution`][flowbias.FlowSolution] is accepted and its `w_final` used).
    - `w_l1`, `w_l2`: the min-$\ell_1$ and min-$\ell_2$ interpolators
      ([`min_l1_interpolator`][flowbias.min_l1_interpolator],
      [`min_l2_interpolator`][flowbias.min_l2_interpolator]).
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `label`: prefix of the two legend entries (e.g. `"D = 3"`).
    - `**plot_kwargs`: passed to both `ax.plot` calls (e.g. `color=`, `marker=`).

    **Returns:** the Axes (with two new lines: to $w_{\ell_1}$, then to $w_{\ell_2}$).
    """
    alphas, ws = _sweep_arrays(alphas, ws)
    d = ws.shape[1]
    w_l1 = as_vector(w_l1, d, "w_l1")
    w_l2 = as_vector(w_l2, d, "w_l2")
    ax = get_ax(ax)
    prefix = "" if label is None else f"{label}: "
    kwargs = dict(plot_kwargs)
    kwargs.setdefault("marker", ".")
    dist_l1 = relative_distances(ws, w_l1)
    first = line(ax, alphas, dist_l1, dist_l1 > 0, label=prefix + r"to min-$\ell_1$", **kwargs)
    kwargs.setdefault("color", first.get_color())
    dist_l2 = relative_distances(ws, w_l2)
    kwargs["linestyle"] = "--"
    line(ax, alphas, dist_l2, dist_l2 > 0, label=prefix + r"to min-$\ell_2$", **kwargs)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"initial scale $\alpha$")
    ax.set_ylabel("relative distance of the limit")
    ax.legend()
    return ax


def plot_test_error(
    alphas: ArrayLike,
    ws: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    ax: Axes | None = None,
    **plot_kwargs,
) -> Axes:
    r"""Plot the mean squared test error $\frac1m\|X_{test}\,w(\alpha) - y_{test}\|^2$ of
    each limit against $\alpha$ (log x axis; log y axis when every error is positive).

    With a sparse ground truth the rich regime (small $\alpha$, near min-$\ell_1$) generalises
    far better than the kernel regime (large $\alpha$, min-$\ell_2$). NaN rows are left out.

    **Arguments:**

    - `alphas`: the initial scales, shape `(k,)`, all $> 0$.
    - `ws`: the limits, one row per alpha, shape `(k, d)` (or a batched
      [`FlowSolution`][flowbias.FlowSolution], whose `w_final` is used).
    - `X_test`, `y_test`: test data, shapes `(m, d)` and `(m,)`.
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `**plot_kwargs`: passed to `ax.plot` (e.g. `label=`).

    **Returns:** the Axes.
    """
    alphas, ws = _sweep_arrays(alphas, ws)
    X_test = np.asarray(X_test, dtype=np.float64)
    y_test = np.asarray(y_test, dtype=np.float64)
    if X_test.ndim != 2 or X_test.shape[1] != ws.shape[1] or y_test.shape != X_test.shape[:1]:
        raise ValueError(
            f"`X_test` must have shape (m, {ws.shape[1]}) and `y_test` shape (m,); got "
            f"{X_test.shape} and {y_test.shape}."
        )
    ax = get_ax(ax)
    kwargs = dict(plot_kwargs)
    kwargs.setdefault("marker", ".")
    errors = mean_squared_errors(ws, X_test, y_test)
    line(ax, alphas, errors, np.ones(alphas.shape, bool), **kwargs)
    ax.set_xscale("log")
    if np.all(errors[np.isfinite(errors)] > 0):
        ax.set_yscale("log")  # the rich regime's error is orders of magnitude below the kernel's
    ax.set_xlabel(r"initial scale $\alpha$")
    ax.set_ylabel("mean squared test error (log scale)")
    if "label" in plot_kwargs:
        ax.legend(fontsize="small")
    return ax


def incremental_coordinates(w: np.ndarray, top: int | None = None, rtol: float = 1e-3):
    r"""The coordinates [`plot_incremental_learning`][flowbias.plotting.plot_incremental_learning]
    draws, largest final $|w_i|$ first: the `top` largest, or (default) those with
    $\lvert w_i(t_1)\rvert > \mathtt{rtol}\cdot\max_j \lvert w_j(t_1)\rvert$."""
    final = np.abs(w[-1])
    order = np.argsort(-final, kind="stable")
    if top is not None:
        if top < 1:
            raise ValueError(f"`top` must be >= 1; got {top}.")
        return order[:top]
    return order[final[order] > rtol * final.max()]


def plot_incremental_learning(
    sol: FlowSolution, ax: Axes | None = None, *, top: int | None = None, **plot_kwargs
) -> Axes:
    r"""Plot $|w_i(t)|$ of the coordinates that matter against $\log_{10} t$, on a log y axis.

    At small initial scale $\alpha$ a diagonal network learns incrementally (Gissin,
    Shalev-Shwartz & Daniely, ICLR 2020; Pesme & Flammarion, NeurIPS 2023): all coordinates sit
    near $\alpha^2$ until, one after another, each jumps to its final size, with plateaus of the
    loss in between (saddle-to-saddle dynamics; the jump times grow like $\log(1/\alpha)$). One
    line per coordinate, labelled $w_i$, largest final $|w_i|$ first.
    Points where $w_i(t) = 0$ exactly (and $t = 0$) are left out.

    **Arguments:**

    - `sol`: one run (not a batch) of a linear-in-input model, e.g. a
      [`DiagonalNetwork`][flowbias.DiagonalNetwork] at $\alpha = 10^{-6}$.
    - `ax`: the Axes to draw on; a new figure is made when `None`.
    - `top`: draw the `top` coordinates with the largest final $|w_i|$; default: every
      coordinate whose final $|w_i|$ exceeds $10^{-3}\max_j|w_j|$.
    - `**plot_kwargs`: passed to every `ax.plot` call.

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    w = trajectory(sol)
    ax = get_ax(ax)
    for i in incremental_coordinates(w, top):
        y = np.abs(w[:, i])
        line(ax, x, y, keep & (y > 0), label=f"$w_{{{i}}}$", **plot_kwargs)
    ax.set_yscale("log")
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"$|w_i(t)|$")
    ax.legend(fontsize="small", ncol=2)
    return ax
