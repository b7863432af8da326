r"""Shared plumbing for the plotting functions: axes creation and extracting plottable data
from a `FlowSolution`.

Every time axis is drawn as $\log_{10} t$ computed from `log_ts` (natural log), never from
`ts`: at $t = 10^{400}$ the float64 value of $t$ is `inf`, while $\log t \approx 921$ is an
ordinary number.
"""

from __future__ import annotations

import math

import numpy as np

from ..limits import PredictedLimit
from ..references import SVMSolution
from ..solution import FlowSolution


LOG10_T_LABEL = r"$\log_{10} t$"
_LN10 = math.log(10.0)


def get_ax(ax):
    """`ax` itself, or the Axes of a new figure when `ax` is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(layout="constrained")
    return ax


def _check_single_run(sol: FlowSolution) -> None:
    if not isinstance(sol, FlowSolution):
        raise TypeError(f"expected a FlowSolution (from fb.flowsolve); got {type(sol).__name__}.")
    if np.ndim(sol.log_ts) != 1:
        raise ValueError(
            f"the solution holds a batch of runs (log_ts has shape {np.shape(sol.log_ts)}); "
            "plot one run at a time. Fix: select one, e.g. "
            "`jax.tree.map(lambda a: a[i], sol)`."
        )


def log10_t(sol: FlowSolution) -> tuple[np.ndarray, np.ndarray]:
    r"""$\log_{10} t$ at the saved times, and the mask of the points to plot (t > 0)."""
    _check_single_run(sol)
    log_ts = np.asarray(sol.log_ts, dtype=np.float64)
    return log_ts / _LN10, np.isfinite(log_ts)


def trajectory(sol: FlowSolution) -> np.ndarray:
    """The effective predictor w(t) as a NumPy array of shape (k, d)."""
    _check_single_run(sol)
    if sol.w is None:
        raise ValueError(
            "this plot needs the effective linear predictor w(t), but the solution's model has "
            "none (`sol.w is None`). Fix: use a linear-in-input model, or plot the loss only."
        )
    return np.asarray(sol.w, dtype=np.float64)


def as_vector(w_ref, d: int, name: str = "w_ref") -> np.ndarray:
    """A reference predictor as a float64 vector of length `d`: an array, an
    [`SVMSolution`][flowbias.SVMSolution] or a [`PredictedLimit`][flowbias.PredictedLimit]
    (their `w` is used)."""
    if isinstance(w_ref, (SVMSolution, PredictedLimit)):
        w_ref = w_ref.w
    w_ref = np.asarray(w_ref, dtype=np.float64)
    if w_ref.shape != (d,):
        raise ValueError(
            f"`{name}` must be a vector of length d = {d} (the solution's dimension); got shape "
            f"{w_ref.shape}."
        )
    if not np.all(np.isfinite(w_ref)):
        raise ValueError(f"`{name}` contains NaN or inf.")
    return w_ref


def line(ax, x: np.ndarray, y: np.ndarray, keep: np.ndarray, **plot_kwargs):
    """Plot the points where `keep` holds and both coordinates are finite."""
    keep = keep & np.isfinite(x) & np.isfinite(y)
    (artist,) = ax.plot(x[keep], y[keep], **plot_kwargs)
    return artist
