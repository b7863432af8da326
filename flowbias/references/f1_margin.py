r"""The max-margin classifier in the variation (F1) norm of infinitely wide two-layer ReLU
networks, as a linear program over a grid of neuron directions."""

from __future__ import annotations

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_data, check_int
from .errors import LimitError


class F1MarginSolution(eqx.Module):
    r"""The solution of [`f1_max_margin`][flowbias.f1_max_margin].

    **Fields:** `margin`, $\gamma_{F_1}$ on the grid; `directions`, the unit neuron directions
    $\theta_j$ (rows); `weights`, the signed output weights $c_j$ with $\sum_j |c_j| = 1$;
    `spacing`, the largest angle from any unit vector to its nearest grid direction (for
    $d = 2$; NaN otherwise), which bounds how far the grid's margin can be below the continuum's:
    by at most `spacing` $\cdot \max_i\|x_i\|$.
    """

    margin: float
    directions: Float[Array, "K d"]
    weights: Float[Array, " K"]
    spacing: float


def f1_max_margin(X, y, *, directions=None, num_directions: int = 720) -> F1MarginSolution:
    r"""$\gamma_{F_1} = \max_{\sum_j |c_j| \le 1} \min_i y_i \sum_j c_j\,
    \max(\theta_j\cdot x_i, 0)$ over neuron directions $\theta_j$ on the unit sphere: the
    max-margin classifier in the variation norm, discretised. For a finite two-layer ReLU
    network $f = \sum_k a_k \max(w_k\cdot x, 0)$ with $\|\theta\|^2 = \sum_k a_k^2 + \|w_k\|^2
    \ge 2\sum_k |a_k|\|w_k\|$, its normalised margin $\min_i y_i f(x_i)/\|\theta\|^2$ is at most
    $\gamma_{F_1}/2$ (over the continuum of directions), with equality in the limit Chizat and
    Bach describe (wide networks, balanced neurons, the global max margin).

    **Arguments:** `X` (n, d), `y` labels $\pm 1$; `directions`, unit vectors (rows) to use,
    or for $d = 2$ a uniform grid of `num_directions` angles (for $d > 2$ pass them).

    **Returns:** an [`F1MarginSolution`][flowbias.F1MarginSolution]; the LP (HiGHS) is solved
    to its default tolerances (about $10^{-9}$).

    ??? cite "Reference"
        Chizat & Bach, *Implicit Bias of Gradient Descent for Wide Two-layer Neural Networks
        Trained with the Logistic Loss*, COLT 2020 (the limit is the max-margin classifier in
        the variation norm).
    """
    from scipy.optimize import linprog

    X, y = as_data(X, y, labels=True)
    Xn, yn = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    d = Xn.shape[1]
    spacing = np.nan
    if directions is None:
        if d != 2:
            raise ValueError(
                f"a grid of directions is built for 2-D inputs only; X has d = {d}. Fix: pass "
                "`directions` (unit vectors as rows), e.g. a fine random sample of the sphere."
            )
        K = check_int(num_directions, "num_directions", minimum=8)
        angles = 2 * np.pi * np.arange(K) / K
        theta = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        spacing = float(np.pi / K)
    else:
        theta = np.asarray(directions, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[1] != d:
            raise ValueError(f"`directions` must have shape (K, {d}); got {theta.shape}.")
        norms = np.linalg.norm(theta, axis=1, keepdims=True)
        if not (np.all(np.isfinite(theta)) and np.all(norms > 0)):
            raise ValueError(
                "`directions` must be finite and non-zero (each row is normalised to a unit "
                "neuron direction). Fix: drop zero rows."
            )
        theta = theta / norms
    K = theta.shape[0]
    Phi = yn[:, None] * np.maximum(Xn @ theta.T, 0.0)  # (n, K): y_i relu(theta_j . x_i)
    n = Phi.shape[0]
    # Variables [c_plus (K), c_minus (K), gamma]; maximise gamma.
    cost = np.concatenate([np.zeros(2 * K), [-1.0]])
    A_margin = np.hstack([-Phi, Phi, np.ones((n, 1))])  # gamma - y_i f(x_i) <= 0
    A_norm = np.concatenate([np.ones(2 * K), [0.0]])[None, :]
    res = linprog(
        cost,
        A_ub=np.vstack([A_margin, A_norm]),
        b_ub=np.concatenate([np.zeros(n), [1.0]]),
        bounds=[(0, None)] * (2 * K) + [(None, None)],
        method="highs",
    )
    if res.status != 0:
        raise LimitError(f"the F1 max-margin LP failed: {res.message}")
    c = res.x[:K] - res.x[K : 2 * K]
    return F1MarginSolution(float(-res.fun), theta, c, spacing)
