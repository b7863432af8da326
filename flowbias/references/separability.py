r"""Linear separability through the origin, with a certificate either way.

Write $z_i = y_i x_i$ for the signed data. The data are *linearly separable through the origin*
when some $w$ has $z_i \cdot w > 0$ for every $i$. By Gordan's theorem of the alternative,
exactly one of the following holds:

- there is $w$ with $Z w > 0$ (separable);
- there is $p \ge 0$, $\sum_i p_i = 1$, with $Z^\top p = \sum_i p_i z_i = 0$ (not separable).

Both are found by one linear program,

$$\gamma^\star = \max_{\|w\|_\infty \le 1} \min_i z_i \cdot w
             = \min_{p \ge 0,\ \sum_i p_i = 1} \Big\|\sum_i p_i z_i\Big\|_1,$$

whose primal solution is a separating $w$ when $\gamma^\star > 0$ and whose dual solution is the
Gordan certificate $p$ when $\gamma^\star = 0$.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_data, is_concrete


_FIX = (
    "Fix: use the square loss (whose limit exists for any data), or the soft-margin / "
    "non-separable analysis; or remove the conflicting points."
)


class NonSeparableError(ValueError):
    r"""The data are not linearly separable through the origin, so the hard-margin SVM (and the
    max-margin limit of exponentially tailed losses) does not exist."""


class SeparabilityReport(eqx.Module):
    r"""The outcome of [`check_separable`][].

    **Fields:**

    - `separable`: whether some $w$ has $y_i x_i \cdot w > 0$ for all $i$ (verified on the returned
      `w`, not taken from the solver's word).
    - `margin`: the best $\ell_\infty$-normalised margin $\max_{\|w\|_\infty \le 1} \min_i
      y_i x_i \cdot w$ (zero when not separable).
    - `w`: a separating direction with $\|w\|_\infty \le 1$ attaining `margin` (zeros when not
      separable).
    - `certificate`: weights $p \ge 0$, $\sum_i p_i = 1$. When not separable,
      $\sum_i p_i y_i x_i \approx 0$: no $w$ can make every $y_i x_i \cdot w$ positive, since the
      same combination of them would then be positive too (Gordan). When separable these are the
      LP's dual weights (the points that pin `margin`) and certify nothing.
    - `message`: an explanation in words.

    ??? cite "Reference"

        Gordan's theorem of the alternative (1873); see e.g. Boyd & Vandenberghe, *Convex
        Optimization*, 2004, §5.8 (theorems of alternatives).
    """

    separable: bool
    margin: Float[Array, ""]
    w: Float[Array, " d"]
    certificate: Float[Array, " n"]
    message: str


def _signed_data(X, y, fn: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Validate `X`, `y` for a classification reference solver; return numpy float64 X, y, Z."""
    if not (is_concrete(X) and is_concrete(y)):
        raise TypeError(
            f"`{fn}` is a reference solver (it calls an external convex solver) and cannot run "
            "under `jax.jit` / `jax.vmap`. Fix: call it outside the transformation, on "
            "concrete arrays."
        )
    X, y = as_data(X, y, labels=True)
    Xn = np.asarray(X, dtype=np.float64)
    yn = np.asarray(y, dtype=np.float64)
    return Xn, yn, yn[:, None] * Xn


def row_norms(Z: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of `Z`, without over- or underflow in the squares."""
    m = float(np.max(np.abs(Z))) if Z.size else 0.0
    if not m > 0:
        return np.zeros(Z.shape[0])
    return m * np.linalg.norm(Z / m, axis=1)


def _list_points(idx, weights) -> str:
    parts = [str(int(i)) for i in idx]
    names = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    ws = ", ".join(f"{w:.3g}" for w in weights)
    return f"points {names} (weights {ws})"


def _simple_obstruction(Xn, yn) -> tuple[np.ndarray, str] | None:
    r"""Zero rows, and identical rows with opposite labels: certificate and message, or None."""
    n = Xn.shape[0]
    zero = np.flatnonzero(~np.any(Xn != 0, axis=1))
    if zero.size:
        i = int(zero[0])
        p = np.zeros(n)
        p[i] = 1.0
        return p, (
            f"row {i} of `X` is zero ({zero.size} zero row(s) in all), so y_{i} x_{i}.w = 0 for "
            "every w: that point can never have a positive margin."
        )
    _, first, inverse = np.unique(Xn, axis=0, return_index=True, return_inverse=True)
    inverse = np.ravel(inverse)
    for g in range(first.size):
        members = np.flatnonzero(inverse == g)
        if members.size > 1 and np.unique(yn[members]).size > 1:
            i = int(members[yn[members] > 0][0])
            j = int(members[yn[members] < 0][0])
            p = np.zeros(n)
            p[[i, j]] = 0.5
            return p, (
                f"rows {min(i, j)} and {max(i, j)} of `X` are identical but have opposite labels, "
                "so y_i x_i.w = -y_j x_j.w for every w and the two margins cannot both be positive."
            )
    return None


def _solve_lp(Zn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""max gamma s.t. Z w >= gamma, |w|_inf <= 1 (HiGHS). Returns (w, p) with p the dual."""
    from scipy.optimize import linprog  # on use: scipy.optimize is ~1 s of `import flowbias`

    n, d = Zn.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-Zn, np.ones((n, 1))])
    res = linprog(
        c,
        A_ub=A_ub,
        b_ub=np.zeros(n),
        bounds=[(-1.0, 1.0)] * d + [(None, None)],
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"the separability LP failed ({res.message}); please report this.")
    p = np.clip(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0, None)
    return np.asarray(res.x[:d], dtype=np.float64), p / max(p.sum(), np.finfo(float).tiny)


def _polish_certificate(Zn: np.ndarray, p: np.ndarray) -> np.ndarray:
    r"""Solve [Z_S^T; 1^T] p_S = [0; 1] on the LP's support; keep it if nonnegative and better."""
    S = np.flatnonzero(p > 1e-9 * p.max())
    A = np.vstack([Zn[S].T, np.ones((1, S.size))])
    b = np.zeros(A.shape[0])
    b[-1] = 1.0
    q_S = np.linalg.lstsq(A, b, rcond=None)[0]
    if np.all(q_S >= 0) and abs(q_S.sum() - 1.0) < 1e-12:
        q = np.zeros_like(p)
        q[S] = q_S
        if np.linalg.norm(Zn.T @ q) <= np.linalg.norm(Zn.T @ p):
            return q
    return p


def check_separable(
    X: Float[Array, "n d"], y: Float[Array, " n"], *, tol: float = 1e-9
) -> SeparabilityReport:
    r"""Decide whether $y_i x_i \cdot w > 0$ for all $i$ is possible, with a certificate.

    Solves the linear program
    $\gamma^\star = \max\{\gamma : y_i x_i \cdot w \ge \gamma\ \forall i,\ \|w\|_\infty
    \le 1\}$ (HiGHS). Its dual is $\min_{p \in \Delta_n} \|\sum_i p_i y_i x_i\|_1$, so
    $\gamma^\star = 0$ exactly when a convex combination of the signed points vanishes (Gordan).
    Zero rows and identical rows with opposite labels are recognised first, with specific
    messages.

    **Arguments:**

    - `X`: data, shape `(n, d)`.
    - `y`: labels in $\{-1, +1\}$, shape `(n,)`.
    - `tol`: the data count as separable when the verified margin of the found `w`,
      $\min_i y_i x_i \cdot w / (\|w\|_2 \max_i \|x_i\|_2)$, exceeds `tol`. Smaller relative
      margins are reported as (numerically) not separable.

    **Returns:** a [`SeparabilityReport`][].

    ??? cite "Reference"

        Gordan's theorem of the alternative; the LP formulation is standard, see Boyd &
        Vandenberghe, *Convex Optimization*, 2004, §5.8.
    """
    Xn, yn, Zn = _signed_data(X, y, "check_separable")
    n, d = Xn.shape
    if not tol >= 0:
        raise ValueError(f"`tol` must be >= 0; got {tol!r}.")

    def report(separable, margin, w, p, message):
        return SeparabilityReport(
            separable=bool(separable),
            margin=jnp.asarray(margin, dtype=jnp.float64),
            w=jnp.asarray(w, dtype=jnp.float64),
            certificate=jnp.asarray(p, dtype=jnp.float64),
            message=message,
        )

    simple = _simple_obstruction(Xn, yn)
    if simple is not None:
        p, why = simple
        return report(
            False,
            0.0,
            np.zeros(d),
            p,
            "No linear classifier through the origin separates these data: " + why,
        )

    # The question is scale-free: solve it on Z / max_i ||z_i||, so that data of size 1e-200
    # or 1e200 neither underflow nor overflow in the LP.
    scale = float(np.max(row_norms(Zn)))
    Zs = Zn / scale
    w, p = _solve_lp(Zs)
    w_norm = float(np.linalg.norm(w))
    rel_margin = float(np.min(Zs @ w)) / w_norm if w_norm > 0 else 0.0
    if rel_margin > tol:
        return report(
            True,
            float(np.min(Zs @ w)) * scale,
            w,
            p,
            f"The data are linearly separable through the origin: the found w has margin "
            f"{rel_margin:.3g} relative to ||w||_2 max_i ||x_i||_2.",
        )

    p = _polish_certificate(Zs, p)
    resid = float(np.linalg.norm(Zs.T @ p))
    order = np.argsort(-p)
    k = int(min(np.count_nonzero(p > 1e-12), 6))
    top = np.sort(order[:k])
    more = "" if np.count_nonzero(p > 1e-12) <= k else " among others"
    message = (
        "No linear classifier through the origin separates these data: "
        f"{_list_points(top, p[top])}{more} have signed vectors y_i x_i whose convex "
        f"combination is zero (||sum_i p_i y_i x_i|| = {resid:.2g} relative to max_i ||x_i||), "
        "so no w can make all y_i x_i.w positive: the same combination of them would have to "
        "be positive too "
        "(Gordan's theorem). Typical causes: points with opposite labels at the same or "
        "opposite positions, an XOR-like pattern, or more points than dimensions with random "
        "labels."
    )
    if rel_margin > 0:
        message += (
            f" (The best margin found, {rel_margin:.3g} relative to the data scale, is positive "
            f"but below `tol` = {tol:g}: numerically the data are on the edge of separability.)"
        )
    return report(False, 0.0, np.zeros(d), p, message)


def require_separable(X: Float[Array, "n d"], y: Float[Array, " n"]) -> SeparabilityReport:
    r"""Like [`check_separable`][], but raise [`NonSeparableError`][] when the data are not
    separable through the origin. Returns the report otherwise."""
    rep = check_separable(X, y)
    if not rep.separable:
        why = rep.message.removeprefix(
            "No linear classifier through the origin separates these data: "
        )
        raise NonSeparableError(
            f"`X`, `y` are not linearly separable through the origin: {why} "
            "The hard-margin SVM, and the max-margin limit of the logistic / exponential loss, do "
            f"not exist for such data. {_FIX}"
        )
    return rep
