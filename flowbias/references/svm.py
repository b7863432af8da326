r"""The hard-margin SVM through the origin: the direction limit of exponentially tailed losses.

With signed data $z_i = y_i x_i$ (rows of $Z$),

$$\hat w = \arg\min_w \tfrac12\|w\|^2 \quad\text{s.t.}\quad z_i \cdot w \ge 1
\ \ (i = 1, \dots, n).$$

Its KKT conditions: $\hat w = Z^\top a = \sum_i a_i z_i$ with $a \ge 0$, $z_i \cdot \hat w \ge 1$,
and $a_i (z_i \cdot \hat w - 1) = 0$. Then $\sum_i a_i = \|\hat w\|^2$ and the geometric
max-margin is $1 / \|\hat w\|$. If $S$ is any set of points with margin exactly one that
contains every $i$ with $a_i > 0$, then $\hat w$ is the minimum-norm solution of
$Z_S w = \mathbf 1$; that is what the polishing step below solves.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .separability import _signed_data, require_separable, row_norms


# A point is a support vector when its margin z_i.w is within this of 1.
_SUPPORT_TOL = 1e-7
# A support vector's dual weight counts as zero below this fraction of max(a).
_ZERO_DUAL = 1e-8
# A polished candidate must have every margin >= 1 - this.
_FEAS_TOL = 1e-12
# Warn when the final KKT residual exceeds this.
_WARN_KKT = 1e-6


class SVMSolution(eqx.Module):
    r"""The solution of [`hard_margin_svm`][].

    **Fields:**

    - `w`: $\hat w$, shape `(d,)`, with $\min_i y_i x_i \cdot \hat w = 1$.
    - `dual`: $a \ge 0$, shape `(n,)`, with $\hat w = \sum_i a_i y_i x_i$ (not unique when the
      support is degenerate; then a nonnegative solution is returned).
    - `support`: boolean mask, shape `(n,)`, of the points with margin $y_i x_i \cdot \hat w = 1$
      (to within $10^{-7}$).
    - `margin`: the geometric max-margin $1 / \|\hat w\|$.
    - `kkt_residual`: the largest of the (scale-free) KKT violations: stationarity
      $\|\hat w - Z^\top a\| / \|\hat w\|$, primal infeasibility $\max_i (1 - z_i \cdot
      \hat w)_+$, complementary slackness $\max_i |a_i (z_i \cdot \hat w - 1)| / \|\hat w\|^2$
      and dual infeasibility $\max_i (-a_i)_+ / \|\hat w\|^2$ (at the optimum $\sum_i a_i =
      \|\hat w\|^2$, which sets the scale of $a$).
    - `support_degenerate`: whether some support vector has $a_i \approx 0$ or the support
      vectors' $z_i$ are linearly dependent. Then $a$ is not unique, and the finer asymptotics
      of the flow (a bounded remainder $w(t) - \hat w\log t$, Soudry et al., JMLR 2018) may not
      hold in their simplest form.

    ??? cite "Reference"

        Soudry, Hoffer, Nacson, Gunasekar & Srebro, *The Implicit Bias of Gradient Descent on
        Separable Data*, JMLR 2018, Theorem 3 (the limit direction is $\hat w / \|\hat w\|$),
        and its general-position assumption on the support vectors.
    """

    w: Float[Array, " d"]
    dual: Float[Array, " n"]
    support: Bool[Array, " n"]
    margin: Float[Array, ""]
    kkt_residual: Float[Array, ""]
    support_degenerate: bool


def _kkt_residual(Z: np.ndarray, w: np.ndarray, a: np.ndarray) -> float:
    m = Z @ w
    w2 = float(w @ w)
    if not w2 > 0:
        return np.inf
    stationarity = np.linalg.norm(w - Z.T @ a) / np.sqrt(w2)
    primal = max(0.0, float(np.max(1.0 - m)))
    slackness = float(np.max(np.abs(a * (m - 1.0)))) / w2
    dual = max(0.0, float(np.max(-a))) / w2
    return float(max(stationarity, primal, slackness, dual))


def _solve_conic(Z: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Interior-point solution (Clarabel) of min 1/2 ||w||^2 s.t. Z w >= 1."""
    import cvxpy as cp  # imported on use: 1.4 s of `import flowbias` otherwise

    w = cp.Variable(Z.shape[1])
    cons = [Z @ w >= 1]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), cons)
    try:
        prob.solve(
            solver=cp.CLARABEL,
            tol_gap_abs=tol,
            tol_gap_rel=tol,
            tol_feas=tol,
            tol_ktratio=1e-8,
            max_iter=500,
        )
    except cp.error.SolverError as e:  # pragma: no cover - rare numerical failure
        raise RuntimeError(f"Clarabel failed on the hard-margin SVM: {e}") from e
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
        raise RuntimeError(  # pragma: no cover - separability was checked first
            f"Clarabel returned status {prob.status!r} on the hard-margin SVM, although the data "
            "passed the separability check. The data may be nearly non-separable (max-margin "
            "tiny relative to their scale)."
        )
    return np.asarray(w.value, dtype=np.float64), np.asarray(cons[0].dual_value, dtype=np.float64)


def _polish(Z: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Min-norm w with Z_S w = 1, and a nonnegative a_S with Z_S^T a_S = w."""
    from scipy.optimize import nnls  # on use: scipy.optimize is ~1 s of `import flowbias`

    Z_S = Z[S]
    w = np.linalg.lstsq(Z_S, np.ones(S.size), rcond=None)[0]
    a_S = np.linalg.lstsq(Z_S.T, w, rcond=None)[0]
    if np.any(a_S < 0):
        a_S = nnls(Z_S.T, w, maxiter=50 * max(S.size, 10))[0]
    a = np.zeros(Z.shape[0])
    a[S] = a_S
    return w, a


def _candidate_active_sets(Z: np.ndarray, w: np.ndarray, a: np.ndarray) -> list[np.ndarray]:
    m = Z @ w
    sets = [np.flatnonzero(m <= 1.0 + eta) for eta in (1e-9, 1e-7, 1e-5, 1e-3)]
    if np.max(a) > 0:
        sets.append(np.flatnonzero(a > 1e-6 * np.max(a)))
    unique: list[np.ndarray] = []
    for S in sets:
        if S.size and not any(np.array_equal(S, T) for T in unique):
            unique.append(S)
    return unique


def hard_margin_svm(
    X: Float[Array, "n d"], y: Float[Array, " n"], *, tol: float = 1e-10
) -> SVMSolution:
    r"""The hard-margin SVM without bias: $\arg\min \|w\|^2$ s.t. $y_i x_i \cdot w \ge 1$.

    This is the predicted direction limit of gradient flow / descent on the logistic or
    exponential loss for linearly separable data: $w(t)/\|w(t)\| \to \hat w / \|\hat w\|$.

    Steps:

    1. check separability through the origin (an LP, see [`check_separable`][]); raise
       [`NonSeparableError`][] if it fails;
    2. solve the QP with Clarabel at tolerance `tol`, on data rescaled to $\max_i \|z_i\| = 1$;
    3. polish: for a few candidate active sets $S$ (margins within $10^{-9} \dots 10^{-3}$ of one,
       or large dual weights), solve $Z_S w = \mathbf 1$ exactly (minimum-norm least squares in
       float64) and $Z_S^\top a_S = w$ with $a_S \ge 0$; keep the candidate with the smallest
       KKT residual if it beats the interior-point solution.

    On well-posed instances $\hat w$ is then accurate to about $10^{-12}$ relative, and the
    reported `kkt_residual` is near $10^{-15}$. A `RuntimeWarning` is issued if the final KKT
    residual exceeds $10^{-6}$.

    **Arguments:**

    - `X`: data, shape `(n, d)`.
    - `y`: labels in $\{-1, +1\}$, shape `(n,)`.
    - `tol`: Clarabel's feasibility and duality-gap tolerances (before polishing).

    **Returns:** an [`SVMSolution`][].

    **Raises:** [`NonSeparableError`][] (a `ValueError`) if the data are not linearly separable
    through the origin; `ValueError` for malformed input.

    ??? cite "Reference"

        Soudry, Hoffer, Nacson, Gunasekar & Srebro, *The Implicit Bias of Gradient Descent on
        Separable Data*, JMLR 2018, Theorem 3.
    """
    Xn, yn, Z = _signed_data(X, y, "hard_margin_svm")
    if not 0 < tol < 1:
        raise ValueError(f"`tol` must be in (0, 1); got {tol!r}. Fix: e.g. tol=1e-10.")
    require_separable(Xn, yn)

    # Solve on rescaled data: if Z = c Zs then w = ws / c and a = as / c^2.
    c = float(np.max(row_norms(Z)))
    Zs = Z / c
    w, a = _solve_conic(Zs, tol)
    best = _kkt_residual(Zs, w, a)
    for S in _candidate_active_sets(Zs, w, a):
        w_p, a_p = _polish(Zs, S)
        feasible = np.min(Zs @ w_p) >= 1.0 - _FEAS_TOL and np.all(a_p >= 0)
        r = _kkt_residual(Zs, w_p, a_p)
        if feasible and r < best:
            w, a, best = w_p, a_p, r

    m = Zs @ w
    support = np.abs(m - 1.0) <= _SUPPORT_TOL
    Z_S = Zs[support]
    degenerate = bool(
        np.any(a[support] <= _ZERO_DUAL * np.max(a))
        or np.linalg.matrix_rank(Z_S) < int(support.sum())
    )
    if best > _WARN_KKT:
        warnings.warn(
            f"hard_margin_svm: KKT residual {best:.2g} after polishing (expected < 1e-9): the "
            "problem may be badly conditioned (max-margin tiny relative to the data scale).",
            RuntimeWarning,
            stacklevel=2,
        )
    margin = c / np.linalg.norm(w)  # on the scaled problem: no over/underflow in the norm
    w = w / c
    a = (a / c) / c
    return SVMSolution(
        w=jnp.asarray(w, dtype=jnp.float64),
        dual=jnp.asarray(a, dtype=jnp.float64),
        support=jnp.asarray(support),
        margin=jnp.asarray(margin, dtype=jnp.float64),
        kkt_residual=jnp.asarray(best, dtype=jnp.float64),
        support_degenerate=degenerate,
    )
