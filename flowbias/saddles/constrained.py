r"""Sign-constrained least squares, in floating point or in exact rational arithmetic.

Each saddle of the $\alpha\to0$ diagonal-network flow is the minimiser of the square loss over
a sign-constrained set ([`saddle_to_saddle`][flowbias.saddle_to_saddle]). In Gram form, with
$G = X^\top X/n$ and $b = X^\top y/n$ (so $L(\beta) = \tfrac12\beta^\top G\beta - b^\top\beta +
\|y\|^2/2n$), the problem is

$$\min_\beta \tfrac12\beta^\top G\beta - b^\top\beta \quad\text{s.t.}\quad \sigma_i\beta_i \ge 0
\ (\sigma_i = \pm1), \qquad \beta_i = 0\ (\sigma_i = 0).$$

It is solved by the active-set method of Lawson and Hanson (after the flip
$\beta_i \to \sigma_i\beta_i$ it is a non-negative quadratic program). In exact arithmetic
(`fractions.Fraction` entries) the method terminates with the exact minimiser; the linear
solves are then Gauss-Jordan eliminations over the rationals. The answer is certified, not
trusted: [`kkt_violation`][flowbias.saddles.constrained.kkt_violation] measures the optimality
conditions, and is exactly zero in exact arithmetic.

??? cite "Source"
    C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems*, Prentice-Hall 1974,
    chapter 23 (the NNLS algorithm).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


class SaddleDegeneracyError(ValueError):
    """A saddle is not determined by the data: the columns the saddle uses are linearly
    dependent (the minimiser of the constrained least squares is not unique), so the
    staircase of saddles is not well defined."""


def solve_exact(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve the square system `A z = b` over the rationals (object arrays of `Fraction`);
    raise `SaddleDegeneracyError` if `A` is singular."""
    m = A.shape[0]
    M = [[Fraction(A[i, j]) for j in range(m)] + [Fraction(b[i])] for i in range(m)]
    for col in range(m):
        pivot = next((r for r in range(col, m) if M[r][col] != 0), None)
        if pivot is None:
            raise SaddleDegeneracyError("singular system")
        M[col], M[pivot] = M[pivot], M[col]
        inv = 1 / M[col][col]
        M[col] = [v * inv for v in M[col]]
        for r in range(m):
            if r != col and M[r][col] != 0:
                f = M[r][col]
                M[r] = [a - f * c for a, c in zip(M[r], M[col], strict=True)]
    return np.array([M[i][m] for i in range(m)], dtype=object)


def _solve(A, b, exact: bool):
    if exact:
        return solve_exact(A, b)
    if A.shape[0] and np.linalg.cond(A) > 1e12:
        raise SaddleDegeneracyError("ill-conditioned system")
    return np.linalg.solve(A, b)


def _zeros(m: int, exact: bool) -> np.ndarray:
    return np.array([Fraction(0)] * m, dtype=object) if exact else np.zeros(m)


def sign_constrained_least_squares(
    G: np.ndarray,
    b: np.ndarray,
    signs: np.ndarray,
    *,
    exact: bool,
    tol: float = 0.0,
) -> np.ndarray:
    r"""The minimiser $\beta$ of $\frac12\beta^\top G\beta - b^\top\beta$ with
    $\operatorname{sign}\beta_i \in \{0, \sigma_i\}$ (`signs` $=\sigma\in\{-1,0,1\}^d$).

    **Arguments:** `G` (d, d) positive semi-definite, `b` (d,), `signs` (d,) integers; `exact`:
    the entries of `G`, `b` are `Fraction`s and the arithmetic is exact (`tol` ignored);
    otherwise float64, with `tol` the size below which a gradient entry counts as zero.

    **Returns:** $\beta$, shape (d,) (object array of `Fraction` if `exact`).

    Raises `SaddleDegeneracyError` when the columns in the support are linearly dependent.
    """
    d = b.shape[0]
    allowed = [i for i in range(d) if signs[i] != 0]
    sig = np.array([int(signs[i]) for i in allowed], dtype=int)
    m = len(allowed)
    Gs = G[np.ix_(allowed, allowed)] * np.outer(sig, sig)
    bs = b[allowed] * sig
    x = _zeros(m, exact)
    passive: list[int] = []
    excluded: set[int] = set()
    for _ in range(3 * m + 10):
        w = bs - Gs @ x  # minus the gradient
        cand = [j for j in range(m) if j not in passive and j not in excluded and w[j] > tol]
        if not cand:
            break
        j = max(cand, key=lambda k: w[k])
        passive.append(j)
        while True:
            idx = sorted(passive)
            z = _zeros(m, exact)
            try:
                z[idx] = _solve(Gs[np.ix_(idx, idx)], bs[idx], exact)
            except SaddleDegeneracyError:
                raise SaddleDegeneracyError(
                    "the constrained least-squares problem of a saddle has no unique "
                    f"minimiser: columns {sorted(allowed[i] for i in idx)} of X are linearly "
                    "dependent on the allowed set. Fix: data in general position (e.g. add a "
                    "tiny random perturbation to X), or drop duplicated columns."
                ) from None
            if all(z[i] > 0 for i in idx):
                x = z
                break
            if not z[j] > 0 and x[j] == 0:
                # Rounding: the entering column cannot move (exact arithmetic never gets here).
                passive.remove(j)
                excluded.add(j)
                break
            neg = [i for i in idx if not z[i] > 0]
            step = min(x[i] / (x[i] - z[i]) for i in neg)
            x = x + step * (z - x)
            floor = 0 if exact else 1e-13 * float(np.max(np.abs(x)))
            passive = [i for i in passive if x[i] > floor]
            for i in range(m):
                if i not in passive:
                    x[i] = Fraction(0) if exact else 0.0
    _check_unique(Gs, bs, x, sorted(passive), allowed, exact, tol)
    beta = _zeros(d, exact)
    for k, i in enumerate(allowed):
        beta[i] = x[k] * sig[k]
    return beta


def _check_unique(Gs, bs, x, passive, allowed, exact, tol) -> None:
    """The minimiser is not unique if an allowed zero coordinate with zero gradient has its
    column in the span of the support's columns (then beta can slide along X delta = 0)."""
    w = bs - Gs @ x
    scale = max((abs(float(v)) for v in np.diag(Gs)), default=1.0) or 1.0
    for j in range(len(bs)):
        if j in passive or abs(w[j]) > tol:
            continue
        if passive:
            c = _solve(Gs[np.ix_(passive, passive)], Gs[passive, j], exact)
            resid = Gs[j, j] - Gs[j, passive] @ c
        else:
            resid = Gs[j, j]
        if (resid == 0) if exact else abs(float(resid)) <= 1e-10 * scale:
            cols = sorted(allowed[i] for i in passive + [j])
            raise SaddleDegeneracyError(
                f"a saddle is not unique: columns {cols} of X are linearly dependent and all "
                "allowed to move (a tie), so the loss is minimised by a whole segment of "
                "saddles. Fix: data in general position (e.g. add a tiny random perturbation "
                "to X), or merge duplicated columns."
            )


def kkt_violation(G, b, signs, beta) -> float:
    r"""The largest violation of the optimality conditions of the sign-constrained problem, as a
    float (exactly 0 for an exact minimiser in rational arithmetic): with $g = G\beta - b$,
    $|g_i|$ on the support, $\max(0, \sigma_i\cdot(-g_i))$ on allowed zero coordinates (the
    loss must not decrease when $\beta_i$ moves in its allowed direction), $\max(0,
    -\sigma_i\beta_i)$ (sign feasibility), and $|\beta_i|$ where $\sigma_i = 0$."""
    g = G @ beta - b
    worst = 0.0
    for i in range(b.shape[0]):
        s = int(signs[i])
        if s == 0:
            v = abs(beta[i])
        elif beta[i] != 0:
            v = max(abs(g[i]), max(0, -s * beta[i]))
        else:
            v = max(0, -s * g[i])
        worst = max(worst, float(v))
    return worst
