r"""Shared plumbing for the plotting functions: axes creation and extracting plottable data
from a `FlowSolution`.

Every time axis is drawn as $\log_{10} t$ computed from `log_ts` (natural log), never from
`ts`: at $t = 10^{400}$ the float64 value of $t$ is `inf`, while $\log t \approx 921$ is an
ordinary number.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import AbstractMeasurements
from ..flows import (
    DualFlow,
    EndToEndFlow,
    MirrorFlow,
    NormalisedGradientFlow,
    SteepestDescentFlow,
)
from ..limits import PredictedLimit
from ..losses import ExponentialLoss, LogisticLoss, PolynomialLoss, SquareLoss
from ..models import (
    DeepLinearNetwork,
    DiagonalNetwork,
    LinearModel,
    MatrixFactorization,
    RescaledDiagonalNetwork,
    TwoLayerNetwork,
)
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


def _scale(a: np.ndarray) -> str:
    return f"alpha = {a.flat[0]:.3g}" if a.size and np.all(a == a.flat[0]) else "vector init"


def _model_words(model) -> str:
    if isinstance(model, LinearModel):
        return "linear model"
    if isinstance(model, DiagonalNetwork):
        D = model.depth
        form = f"u^{D}" if model.tied else f"u^{D} - v^{D}"
        u0 = np.abs(np.asarray(model.mirror.u0))
        both = u0 if model.tied else np.concatenate([u0, np.abs(np.asarray(model.mirror.v0))])
        return f"diagonal net w = {form}, {_scale(both)}"
    if isinstance(model, RescaledDiagonalNetwork):
        log10_alpha = -float(model.log_inverse_alpha) / _LN10
        return f"diagonal net w = u^2 - v^2, alpha = 1e{log10_alpha:.4g}"
    if isinstance(model, MatrixFactorization):
        form = "P P^T" if model.symmetric else "product of factors"
        return f"matrix factorisation ({form}, depth {model.depth})"
    if isinstance(model, DeepLinearNetwork):
        return f"deep linear net (depth {model.depth})"
    if isinstance(model, TwoLayerNetwork):
        return f"two-layer {model.activation.label} net (width {model.width})"
    return type(model).__name__


def _loss_words(loss) -> str:
    if isinstance(loss, PolynomialLoss):
        return f"polynomial loss (1 + m)^-{loss.k:g}"
    for kind, words in (
        (SquareLoss, "square loss"),
        (ExponentialLoss, "exp loss"),
        (LogisticLoss, "logistic loss"),
    ):
        if isinstance(loss, kind):
            return words
    return type(loss).__name__


def _flow_words(flow) -> str:
    if isinstance(flow, MirrorFlow):
        return f", mirror flow, psi = {flow.potential.label}"
    if isinstance(flow, SteepestDescentFlow):
        return f", l_{float(flow.p):g} steepest descent"
    for kind, words in (
        (DualFlow, "dual flow"),
        (NormalisedGradientFlow, "normalised flow"),
        (EndToEndFlow, "end-to-end flow"),
    ):
        if isinstance(flow, kind):
            return f", {words}"
    return ""


def run_title(sol: FlowSolution) -> str:
    """What was run, in one line: model (with its initial scale), loss, data size, horizon and
    flow, e.g. `linear model, exp loss, n x d = 20 x 5, t1 = 1e100`. The default title of every
    plot of one flow."""
    _check_single_run(sol)
    p = sol.problem
    X = p.X
    if isinstance(X, AbstractMeasurements):
        size = f"{X.num_measurements} measurements"
    else:
        size = f"n x d = {X.shape[0]} x {X.shape[1]}"
    log10_t1 = float(np.asarray(sol.log_ts)[-1]) / _LN10
    horizon = f"t1 = 1e{log10_t1:.4g}" if log10_t1 >= 4 else f"t1 = {10**log10_t1:.3g}"
    return f"{_model_words(p.model)}, {_loss_words(p.loss)}, {size}, {horizon}{_flow_words(p.flow)}"


def title_once(ax, sol: FlowSolution) -> None:
    """Give `ax` the run's title unless it has one already (a caller's own stays)."""
    if not ax.get_title():
        ax.set_title(run_title(sol), fontsize="medium")


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
