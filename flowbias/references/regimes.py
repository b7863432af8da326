r"""The two regime limits of diagonal networks: min-l1 ("rich") and min-l2 ("kernel")."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_data, as_float_array
from .min_norm import min_norm_interpolator


def min_l1_interpolator(
    X: ArrayLike, y: ArrayLike, *, nonnegative: bool = False
) -> Float[Array, " d"]:
    r"""Basis pursuit: $\arg\min \|w\|_1$ s.t. $Xw = y$ (and $w \ge 0$ if `nonnegative`).

    The $\alpha\to 0$ limit of diagonal networks (the tied model: with $w\ge 0$). Solved as a
    linear program by Clarabel through cvxpy, to ~1e-9.

    ??? cite "Rich regime"
        Woodworth et al., *Kernel and Rich Regimes in Overparametrized Models*, COLT 2020,
        Theorem 2: $Q_\alpha(w)/\log(1/\alpha^2) \to \|w\|_1$ as $\alpha \to 0$.
    """
    X, y = (np.asarray(a) for a in as_data(X, y))
    import cvxpy as cp  # imported on use: 1.4 s of `import flowbias` otherwise

    w = cp.Variable(X.shape[1], nonneg=nonnegative)
    problem = cp.Problem(cp.Minimize(cp.norm1(w)), [X @ w == y])
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        what = "w >= 0 with Xw = y" if nonnegative else "w with Xw = y"
        raise ValueError(
            f"`X`, `y`: no {what} exists (the LP is {problem.status}). Fix: check that y is in "
            "the range of X" + (" of a non-negative combination." if nonnegative else ".")
        )
    return jnp.asarray(w.value)


def min_l2_interpolator(X: ArrayLike, y: ArrayLike) -> Float[Array, " d"]:
    r"""$\arg\min\|w\|_2$ s.t. $Xw = y$: the $\alpha\to\infty$ (kernel) limit of diagonal
    networks started at $w(0) = 0$.

    ??? cite "Kernel regime"
        Woodworth et al., COLT 2020, Theorem 2: $\alpha^2 Q_\alpha(w) \to \|w\|_2^2/4$.
    """
    X = as_float_array(X, "X", ndim=2)
    return min_norm_interpolator(X, y, jnp.zeros(X.shape[1]))
