r"""Predicted limits of gradient flow on the square loss for linear models.

For $L(w) = \tfrac{1}{2n}\|Xw - y\|^2$ the gradient $\nabla L(w) = \tfrac1n X^\top(Xw - y)$
lies in the row space of $X$, so the flow never leaves the affine set $w_0 + \operatorname{row}(X)$.
Among the minimisers of $L$ exactly one lies in that set, the one nearest to $w_0$:

$$w_\infty = w_0 + X^+ (y - X w_0).$$

When $X$ has full row rank this is the interpolator nearest to $w_0$,
$X^\top (XX^\top)^{-1} y + (I - X^\top (XX^\top)^{-1} X) w_0$.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_data, as_initialisation, is_concrete


def _validate(X, y, w0):
    X, y = as_data(X, y)
    return X, y, as_initialisation(w0, X.shape[1])


def _pinv_step(X, r, rcond):
    r"""`X^+ r` by a thin SVD, dropping singular values below `rcond * s_max`.

    Returns the step, the numerical rank and the largest singular value.
    """
    U, s, Vt = jnp.linalg.svd(X, full_matrices=False)
    if rcond is None:
        rcond = jnp.finfo(jnp.float64).eps * max(X.shape)
    keep = s > rcond * s[0]
    s_inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
    step = Vt.T @ (s_inv * (U.T @ r))
    return step, jnp.sum(keep), s[0]


def least_squares_limit(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    w0: Float[Array, " d"] | None = None,
    *,
    rcond: float | None = None,
) -> Float[Array, " d"]:
    r"""The limit of gradient flow (or small-step gradient descent) on the square loss from `w0`.

    $$w_\infty = w_0 + X^+ (y - X w_0),$$

    the least-squares minimiser nearest to $w_0$. This holds for every $X$: full row rank
    (then $w_\infty$ interpolates, see [`min_norm_interpolator`][]), full column rank (then
    the minimiser is unique and $w_0$ is forgotten), or rank-deficient.

    Computed by a thin SVD in float64; singular values below `rcond * s_max` count as zero
    (default `rcond = eps * max(n, d)`, as in `numpy.linalg.lstsq`). Works under `jax.jit`.

    **Arguments:**

    - `X`: data, shape `(n, d)`.
    - `y`: targets, shape `(n,)`.
    - `w0`: initialisation, shape `(d,)`; zeros by default.
    - `rcond`: relative cutoff for the numerical rank.

    **Returns:** $w_\infty$, shape `(d,)`.

    ??? cite "Reference"

        The row-space invariance and the resulting limit are classical; see e.g. Gunasekar,
        Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of Optimization Geometry*,
        ICML 2018, and D. J. Sutherland, *CPSC 532D lecture notes*, ch. 13 "Implicit
        regularization and margins", University of British Columbia, Fall 2025, Prop. 13.1.
    """
    X, y, w0 = _validate(X, y, w0)
    step, _, _ = _pinv_step(X, y - X @ w0, rcond)
    return w0 + step


def min_norm_interpolator(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    w0: Float[Array, " d"] | None = None,
    *,
    rcond: float | None = None,
    tol: float = 1e-9,
) -> Float[Array, " d"]:
    r"""The interpolator nearest to `w0`: $\arg\min \|w - w_0\|$ subject to $Xw = y$.

    For $d > n$ and $X$ of full row rank this is

    $$X^\top (XX^\top)^{-1} y + \big(I - X^\top (XX^\top)^{-1} X\big) w_0,$$

    the limit of gradient flow on the square loss from $w_0$. It is computed as
    $w_0 + X^+(y - Xw_0)$ (same as [`least_squares_limit`][]), then checked to interpolate:
    if $\lVert Xw - y\rVert > \mathtt{tol}\cdot(\lVert X\rVert_2 \lVert w\rVert + \lVert y\rVert)$
    no interpolator exists ($y \notin \operatorname{range}(X)$) and a `ValueError` is raised.
    The check needs concrete values, so it is skipped under `jax.jit` / `jax.vmap`.

    **Arguments:**

    - `X`: data, shape `(n, d)`.
    - `y`: targets, shape `(n,)`.
    - `w0`: initialisation, shape `(d,)`; zeros by default.
    - `rcond`: relative cutoff for the numerical rank (see [`least_squares_limit`][]).
    - `tol`: relative backward-error tolerance for "interpolates".

    **Returns:** the nearest interpolator, shape `(d,)`.

    ??? cite "Reference"

        D. J. Sutherland, *CPSC 532D lecture notes*, ch. 13 "Implicit regularization and
        margins", University of British Columbia, Fall 2025, Prop. 13.1 (the limit of any method
        started at $w_0$ whose updates lie in the span of the past gradients, when it converges
        to a minimiser of the loss).
    """
    X, y, w0 = _validate(X, y, w0)
    if not tol > 0:
        raise ValueError(f"`tol` must be > 0; got {tol!r}.")
    step, rank, s_max = _pinv_step(X, y - X @ w0, rcond)
    w = w0 + step
    if is_concrete(w) and is_concrete(y):
        resid = float(jnp.linalg.norm(X @ w - y))
        scale = float(s_max) * float(jnp.linalg.norm(w)) + float(jnp.linalg.norm(y))
        if resid > tol * scale:
            n, d = X.shape
            rank = int(rank)
            why = (
                f"`X` has more rows than columns (n = {n} > d = {d}; numerical rank {rank})"
                if n > d
                else f"`X` is rank-deficient (numerical rank {rank} < n = {n} rows)"
            )
            raise ValueError(
                f"No interpolator exists: `y` is not in the range of `X`. {why}, and the "
                f"closest fit leaves a residual ||Xw - y|| = "
                f"{resid:.3g} (relative {resid / max(scale, np.finfo(float).tiny):.3g}, "
                f"tolerance {tol:g}). Fix: use `least_squares_limit` (the square-loss "
                "gradient-flow limit for any X), or remove dependent rows so that X has full "
                "row rank."
            )
    return w
