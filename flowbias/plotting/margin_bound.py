r"""The margin bound along a path against $\log_{10} t$, next to a held-out test error."""

from __future__ import annotations

import math

import numpy as np

from ..margin_bound import MarginBound
from ._common import LOG10_T_LABEL, get_ax


def plot_margin_bound(log_ts, bound: MarginBound, *, test_error=None, ax=None):
    r"""The bound's minimum over $\rho$ at each saved time (from
    [`margin_bound`][flowbias.margin_bound] on the path's classifiers), its Rademacher and
    empirical-margin-loss parts at that $\rho$, and, if given, the 0-1 error on held-out data,
    against $\log_{10} t$ on a log y axis. `log_ts` are the natural logs of the times of the
    rows of the bound (e.g. `sol.log_ts[1:]` when the bound skipped $w(0) = 0$).

    **Returns:** the Axes.
    """
    ax = get_ax(ax)
    if not isinstance(bound, MarginBound):
        raise TypeError(f"`bound` must be a MarginBound; got {type(bound).__name__}.")
    x = np.asarray(log_ts, dtype=np.float64) / math.log(10.0)
    if x.shape != np.shape(bound.best):
        raise ValueError(
            f"`log_ts` has {x.size} times but the bound {np.size(bound.best)} rows. Fix: pass "
            "the log-times of the classifiers the bound was computed on."
        )
    k = np.argmin(np.asarray(bound.bound), axis=1)
    rows = np.arange(len(k))
    ax.semilogy(x, bound.best, label=r"bound, minimised over $\rho$")
    ax.semilogy(
        x, np.asarray(bound.rademacher)[k], ":", label=r"$4\sqrt{E\|x\|^2}/(\rho\sqrt{m})$ part"
    )
    loss = np.asarray(bound.margin_loss)[rows, k]
    keep = loss > 0
    ax.semilogy(x[keep], loss[keep], "--", label=r"empirical $\rho$-margin loss part")
    if test_error is not None:
        err = np.asarray(test_error, dtype=np.float64)
        ax.semilogy(x[err > 0], err[err > 0], color="k", label="test 0-1 error (held out)")
    ax.axhline(1.0, color="0.6", linewidth=0.8)
    ax.set_xlabel(LOG10_T_LABEL)
    ax.set_ylabel("0-1 error or its bound (log scale)")
    ax.legend(fontsize="small")
    if not ax.get_title():
        ax.set_title("margin bound along the path (Prop. 13.4, Sutherland)", fontsize="medium")
    return ax
