r"""The minimiser of a convex loss over an $\ell_\infty$ ball: the limit of AdamW.

$$w^\star = \arg\min_w L(w) \quad\text{s.t.}\quad \|w\|_\infty \le R, \qquad R = 1/\lambda,$$

for the square, exponential and logistic losses of a linear model, by cvxpy (Clarabel). Its
KKT conditions, which certify it: with $g = \nabla L(w^\star)$, $g_i = 0$ where
$|w^\star_i| < R$ and $-\operatorname{sign}(w^\star_i)\,g_i \ge 0$ where $|w^\star_i| = R$.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_data
from ..losses import AbstractLoss, ExponentialLoss, LogisticLoss, SquareLoss
from .errors import LimitError


class LinfConstrainedSolution(eqx.Module):
    r"""The solution of [`linf_constrained_minimiser`][flowbias.linf_constrained_minimiser].

    **Fields:** `w`; `radius` $R$; `active`, the coordinates on the boundary $|w_i| = R$;
    `kkt_residual`, the largest violation of the KKT conditions relative to $\|g\|_\infty$
    at $w = 0$ (the gradient's scale).
    """

    w: Float[Array, " d"]
    radius: float
    active: Array
    kkt_residual: float


def _objective(cp, loss, X, y, w):
    n = X.shape[0]
    if isinstance(loss, SquareLoss):
        return cp.sum_squares(X @ w - y) / (2 * n)
    margins = cp.multiply(y, X @ w)
    if isinstance(loss, ExponentialLoss):
        return cp.sum(cp.exp(-margins)) / n
    return cp.sum(cp.logistic(-margins)) / n


def _gradient(loss, X, y, w):
    n = X.shape[0]
    if isinstance(loss, SquareLoss):
        return X.T @ (X @ w - y) / n
    m = y * (X @ w)
    weight = np.exp(-m) if isinstance(loss, ExponentialLoss) else 0.5 * (1 - np.tanh(m / 2))
    return -X.T @ (y * weight) / n


def linf_constrained_minimiser(X, y, loss: AbstractLoss, radius: float) -> LinfConstrainedSolution:
    r"""$\arg\min L(w)$ s.t. $\|w\|_\infty \le$ `radius`, for a linear model and the square,
    exponential or logistic loss (a convex program, by cvxpy), with its KKT residual.

    Raises [`LimitError`][flowbias.LimitError] for other losses, or when the certificate
    exceeds $10^{-6}$.

    ??? cite "Reference"
        Xie & Li, *Implicit Bias of AdamW: $\ell_\infty$-Norm Constrained Optimization*,
        ICML 2024: AdamW with weight decay $\lambda$ converges to a KKT point of this problem
        with $R = 1/\lambda$.
    """
    import cvxpy as cp  # on first use

    if not isinstance(loss, SquareLoss | ExponentialLoss | LogisticLoss):
        raise LimitError(
            f"the l_inf-constrained reference covers the square, exponential and logistic "
            f"losses; got {type(loss).__name__}. Fix: use one of them, or solve the convex "
            "program yourself."
        )
    if isinstance(radius, bool) or not np.isfinite(radius) or not radius > 0:
        raise ValueError(f"`radius` must be a positive finite number; got {radius!r}.")
    X, y = as_data(X, y, labels=not isinstance(loss, SquareLoss))
    Xn, yn = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = cp.Variable(Xn.shape[1])
    problem = cp.Problem(
        cp.Minimize(_objective(cp, loss, Xn, yn, w)), [cp.norm(w, "inf") <= radius]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the KKT residual below decides
        problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if w.value is None:
        raise LimitError(f"the l_inf-constrained program failed: {problem.status}.")
    wv = np.clip(np.asarray(w.value, dtype=np.float64), -radius, radius)
    g = _gradient(loss, Xn, yn, wv)
    scale = max(float(np.max(np.abs(_gradient(loss, Xn, yn, np.zeros_like(wv))))), 1e-300)
    active = np.abs(wv) >= radius * (1 - 1e-7)
    interior = np.where(active, 0.0, np.abs(g))
    wrong_side = np.where(active, np.maximum(np.sign(wv) * g, 0.0), 0.0)
    kkt = float(max(interior.max(initial=0.0), wrong_side.max(initial=0.0)) / scale)
    if not kkt <= 1e-6:
        raise LimitError(
            f"the l_inf-constrained reference did not certify itself: KKT residual {kkt:.2g} "
            "> 1e-6 (relative to the gradient at 0)."
        )
    return LinfConstrainedSolution(
        w=jnp.asarray(wv), radius=float(radius), active=jnp.asarray(active), kkt_residual=kkt
    )
