r"""Non-separable data: the unique split into a separable part and a part with a finite optimum
(Ji & Telgarsky 2019), and the two limits it predicts for gradient flow on linear models.

Write $z_i = y_i x_i$. The cone $\{u : Zu \ge 0\}$ has a relative-interior point $u^\star$; the
points with $z_i \cdot u^\star > 0$ form $S$ (they can be pushed to any margin without hurting
the others), and the rest, $S^c$, satisfy $z_i \cdot u = 0$ for every $u$ in the cone. Then:

- on $V = \operatorname{span}\{x_i : i \in S^c\}$ the loss of $S^c$ is strictly convex and
  coercive, with a unique minimiser $\bar w \in V$;
- on $V^\perp$ the points of $S$, projected, are separable, with max-margin solution $\hat w_S$.

Gradient flow on an exponentially tailed loss from any start has $\Pi_V w(t) \to \bar w$ and
$\Pi_{V^\perp} w(t) / \|\Pi_{V^\perp} w(t)\| \to \hat w_S / \|\hat w_S\|$, the part in
$V^\perp$ growing like $\hat w_S \log t$.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ..losses import AbstractClassificationLoss
from .errors import LimitError
from .separability import _signed_data
from .svm import hard_margin_svm


class SeparableSplit(eqx.Module):
    r"""The decomposition of [`separable_split`][flowbias.separable_split].

    **Fields:** `separable`, the mask of $S$ (shape `(n,)`); `projector`, the orthogonal
    projector $\Pi_V$ onto $V = \operatorname{span}\{x_i : i \notin S\}$; `w_bar`, the minimiser
    of the loss of the points outside $S$ over $V$ (zero when $S$ is everything); `w_hat`, the
    hard-margin SVM of the points of $S$ projected onto $V^\perp$ (margin one; zero when $S$ is
    empty); `residual`, the certificates' largest relative residual (the LP's, the minimiser's
    gradient norm, the SVM's KKT residual).
    """

    separable: Bool[Array, " n"]
    projector: Float[Array, "d d"]
    w_bar: Float[Array, " d"]
    w_hat: Float[Array, " d"]
    residual: float


def _split_lp(Z: np.ndarray) -> np.ndarray:
    """max sum s_i s.t. Z u >= s, 0 <= s <= 1: s_i = 1 exactly on S (the cone is closed under
    sums and scaling, so every point that some u in it can fit is fitted by one u at once)."""
    from scipy.optimize import linprog

    n, d = Z.shape
    c = np.concatenate([np.zeros(d), -np.ones(n)])
    A = np.hstack([-Z, np.eye(n)])
    bounds = [(None, None)] * d + [(0.0, 1.0)] * n
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if res.status != 0:
        raise LimitError(f"the separable-split LP failed ({res.message}).")
    return res.x[d:]


def _certify_rest(Z_rest: np.ndarray) -> float:
    r"""Stiemke's alternative for the rest: some $\mu \ge 1$ with $\sum_i \mu_i z_i = 0$ proves
    that no $u$ fits any of them without hurting another. Returns the relative residual."""
    from scipy.optimize import linprog

    m = Z_rest.shape[0]
    res = linprog(
        np.ones(m),
        A_eq=Z_rest.T,
        b_eq=np.zeros(Z_rest.shape[1]),
        bounds=[(1.0, None)] * m,
        method="highs",
    )
    if res.status != 0:
        raise LimitError(
            "the points outside the separable part admit no certificate (sum_i mu_i y_i x_i = 0 "
            "with mu >= 1): the split LP was inexact. Rescale X or remove duplicated points."
        )
    mu = res.x
    return float(
        np.linalg.norm(Z_rest.T @ mu) / (np.sum(mu) * np.max(np.linalg.norm(Z_rest, axis=1)))
    )


def _total_loss(loss, A, c):
    return jnp.sum(jnp.exp(loss.log_ell(A @ c)))


# The data go in as arguments (one compilation per loss and shape, not per call).
_total = eqx.filter_jit(_total_loss)
_grad = eqx.filter_jit(lambda loss, A, c: jax.grad(_total_loss, argnums=2)(loss, A, c))
_hess = eqx.filter_jit(lambda loss, A, c: jax.hessian(_total_loss, argnums=2)(loss, A, c))


def _minimise_on_span(loss, Z_rest: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Damped Newton for $\min_c \sum_i \ell(z_i \cdot Bc)$ over the coordinates c of V (strictly
    convex and coercive there); returns $w = Bc$ and the relative gradient norm."""
    A = jnp.asarray(Z_rest @ basis)  # (m, r): margins are A c
    c = np.zeros(basis.shape[1])
    scale = float(np.sum(np.linalg.norm(Z_rest @ basis, axis=1)))
    for _ in range(200):
        g = np.asarray(_grad(loss, A, c))
        if np.linalg.norm(g) <= 1e-15 * scale:
            break
        step = np.linalg.solve(np.asarray(_hess(loss, A, c)), g)
        f0, t = float(_total(loss, A, c)), 1.0
        while float(_total(loss, A, c - t * step)) > f0 - 0.25 * t * (g @ step) and t > 1e-12:
            t *= 0.5
        c = c - t * step
    g = np.asarray(_grad(loss, A, c))
    return basis @ c, float(np.linalg.norm(g) / scale)


def separable_split(X, y, loss: AbstractClassificationLoss) -> SeparableSplit:
    r"""Split classification data into the part $S$ that gradient flow separates with growing
    margin and the rest, and compute both predicted limits (see the module docstring).

    1. An LP, $\max \sum_i s_i$ s.t. $Zu \ge s$, $0 \le s \le 1$, whose solution has $s_i = 1$
       exactly on $S$; a second LP certifies the rest (some $\mu \ge 1$ with
       $\sum_{i \notin S} \mu_i z_i = 0$).
    2. $V$ from an SVD of the rest; $\bar w$ by damped Newton on the coordinates of $V$ to a
       gradient of $10^{-15}$ relative.
    3. $\hat w_S$ by [`hard_margin_svm`][flowbias.hard_margin_svm] on $(I - \Pi_V) x_i$, $i \in S$.

    **Arguments:** `X` (n, d), `y` labels $\pm 1$, `loss` the exponential or logistic loss
    (it decides $\bar w$; $S$ and $\hat w_S$ do not depend on it).

    **Returns:** a [`SeparableSplit`][flowbias.SeparableSplit].

    ```python
    import numpy as np
    import flowbias as fb

    X, y = fb.problems.partly_separable(8, 6, 4, seed=0)
    split = fb.separable_split(X, y, fb.LogisticLoss())
    print(np.flatnonzero(np.asarray(split.separable)))  # [0 1 2 3 4 5 6 7]
    ```

    ??? cite "Reference"
        Ji & Telgarsky, *The implicit bias of gradient descent on nonseparable data*, COLT 2019
        (the unique split, Theorem 2.1, and the convergence of both parts).
    """
    if not isinstance(loss, AbstractClassificationLoss):
        raise TypeError(
            f"`loss` must be a classification loss (fb.LogisticLoss(), fb.ExponentialLoss()); "
            f"got {type(loss).__name__}."
        )
    Xn, yn, Z = _signed_data(X, y, "separable_split")
    n, d = Z.shape
    zmax = float(np.max(np.linalg.norm(Z, axis=1)))
    s = _split_lp(Z / zmax)
    S = s > 0.5
    residual = float(np.max(np.minimum(np.abs(s), np.abs(1 - s))))
    if np.all(S):
        P = np.zeros((d, d))
        w_bar = np.zeros(d)
    else:
        Z_rest = Z[~S]
        residual = max(residual, _certify_rest(Z_rest))
        U, sv, _ = np.linalg.svd(Xn[~S].T, full_matrices=False)
        rank = int(np.sum(sv > sv[0] * max(d, n) * np.finfo(float).eps))
        basis = U[:, :rank]
        P = basis @ basis.T
        w_bar, g = _minimise_on_span(loss, Z_rest, basis)
        residual = max(residual, g)
    if np.any(S):
        Xp = Xn[S] - Xn[S] @ P
        svm = hard_margin_svm(Xp, yn[S])
        w_hat = np.asarray(svm.w)
        w_hat = w_hat - P @ w_hat  # already in V-perp up to round-off
        residual = max(residual, float(svm.kkt_residual))
    else:
        w_hat = np.zeros(d)
    return SeparableSplit(
        jnp.asarray(S), jnp.asarray(P), jnp.asarray(w_bar), jnp.asarray(w_hat), residual
    )
