r"""Plots of matrix observables: singular values along the flow, and reconstruction error
against the initial scale for several depths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import ArrayLike

from ..limits import PredictedLimit
from ..solution import FlowSolution
from ._common import LOG10_T_LABEL, get_ax, line, log10_t


if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_singular_values(
    sol: FlowSolution,
    ax: Axes | None = None,
    *,
    limit: PredictedLimit | None = None,
    num: int | None = None,
) -> Axes:
    r"""Plot the singular values $\sigma_r(W(t))$ of the matrix observable against
    $\log_{10} t$, on a log scale: from a small initialisation they are learned one at a
    time, each after a plateau (incremental rank learning).

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] whose observable is a matrix (e.g. of
      [`MatrixFactorization`][flowbias.MatrixFactorization]); one run.
    - `ax`: the Axes to draw on; a new figure when `None`.
    - `limit`: a predicted limit (e.g. `fb.predicted_limit(sol)`); its non-zero singular
      values are drawn as dashed horizontal lines.
    - `num`: draw the `num` largest singular values only (default all).

    **Returns:** the Axes.
    """
    x, keep = log10_t(sol)
    W = np.asarray(sol.observable, dtype=np.float64)
    if W.ndim != 3:
        raise ValueError(
            f"`sol.observable` must be a matrix per saved time (shape (k, d1, d2)); got shape "
            f"{W.shape}. Fix: plot a solution of a matrix model, e.g. fb.MatrixFactorization."
        )
    sv = np.linalg.svd(W, compute_uv=False)
    k = sv.shape[1] if num is None else min(int(num), sv.shape[1])
    ax = get_ax(ax)
    for r in range(k):
        line(ax, x, sv[:, r], keep & (sv[:, r] > 0), label=rf"$\sigma_{{{r + 1}}}$")
    if limit is not None:
        ref = np.linalg.svd(np.asarray(limit.value, dtype=np.float64), compute_uv=False)
        ref = ref[ref > 1e-9 * ref.max()][:k]
        for i, s in enumerate(ref):
            ax.axhline(
                s,
                color="0.4",
                linestyle="--",
                linewidth=1.0,
                label=f"{limit.kind}" if i == 0 else None,
            )
    ax.set_yscale("log")
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel(r"singular values $\sigma_r(W(t))$ (log scale)")
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_error_against_scale(
    alphas: ArrayLike,
    errors: Mapping[str, ArrayLike],
    ax: Axes | None = None,
    *,
    reference_error: float | None = None,
    reference_label: str = "min nuclear norm",
    ylabel: str = r"reconstruction error $\|W - W^\star\|_F / \|W^\star\|_F$",
    log_y: bool = True,
) -> Axes:
    r"""Plot an error of the flow's limit against the initial scale $\alpha$ (log-log), one
    line per entry of `errors` (e.g. one per depth), with a reference's error (e.g. the
    minimum nuclear norm solution's) as a dashed horizontal line.

    **Arguments:** `alphas` (positive, one per run); `errors`, a mapping label -> errors of
    the same length (NaN for runs that failed: left out); `ax`; `reference_error`,
    `reference_label`; `ylabel`; `log_y` (a log y axis, default; False for quantities such
    as a nuclear norm that vary little).

    **Returns:** the Axes.
    """
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.all(a > 0):
        raise ValueError("`alphas` must be a non-empty vector of positive scales.")
    ax = get_ax(ax)
    for label, e in errors.items():
        e = np.asarray(e, dtype=np.float64)
        if e.shape != a.shape:
            raise ValueError(
                f"`errors[{label!r}]` has shape {e.shape}; it needs one error per alpha ({a.size})."
            )
        line(ax, a, e, e > 0 if log_y else np.isfinite(e), marker="o", label=label)
    if reference_error is not None:
        ax.axhline(
            reference_error, color="0.4", linestyle="--", linewidth=1.0, label=reference_label
        )
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(r"initial scale $\alpha$ (log scale)")
    ax.set_ylabel(ylabel + (" (log scale)" if log_y else ""))
    ax.legend(fontsize="small")
    return ax
