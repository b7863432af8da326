r"""Seeded synthetic problems: the one catalogue of data shared by the tests, the tour and the
benchmarks.

Each function returns plain NumPy arrays (no flowbias objects, no references): the predicted
limits are computed elsewhere, by flowbias in the tour and independently of it in the tests
(`tests/helpers.py` wraps these data with references written out in NumPy and cvxpy). A seed
fixes every draw, so a problem is named by its arguments, e.g. `sparse_regression(50, 200, 5, 0)`.

```python
from flowbias import problems

X, y, w_star = problems.sparse_regression(10, 40, 3, seed=0)
print(X.shape, int((w_star != 0).sum()))  # (10, 40) 3
```
"""

from __future__ import annotations

import numpy as np


__all__ = [
    "commuting_sensing",
    "gaussian_regression",
    "gaussian_separable",
    "low_rank_completion",
    "obtuse_pair",
    "razin_cohen",
    "saddle_switch_off",
    "single_neuron_problem",
    "sparse_regression",
    "stump_separable",
]


def gaussian_regression(
    n: int, d: int, seed: int, *, w0_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Regression with i.i.d. standard Gaussian $X$ `(n, d)`, targets $y$ `(n,)` and an
    initialisation $w_0 = $ `w0_scale` $\cdot\,\mathcal N(0, I_d)$.

    **Returns:** `(X, y, w0)`. For $n \le d$ the system $Xw = y$ is solvable almost surely.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.normal(size=n)
    return X, y, w0_scale * rng.normal(size=d)


def gaussian_separable(
    n: int, d: int, seed: int, *, gap: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gaussian points labelled by a random unit hyperplane $w_\star$ through the origin,
    $y_i = \operatorname{sign}(\langle w_\star, x_i\rangle)$; points with
    $|\langle w_\star, x\rangle| \le$ `gap` are redrawn, so the data are separable with
    margin at least `gap` (linearly separable through the origin in any case).

    **Returns:** `(X, y)`, labels $\pm 1$.
    """
    rng = np.random.default_rng(seed)
    w_star = rng.normal(size=d)
    w_star /= np.linalg.norm(w_star)
    rows = []
    while len(rows) < n:
        x = rng.normal(size=d)
        if abs(x @ w_star) > gap:
            rows.append(x)
    X = np.array(rows)
    return X, np.sign(X @ w_star)


def obtuse_pair(angle: float = 150.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Two unit points in the plane, $x_1 = (1, 0)$ and $x_2$ at `angle` degrees from it, both
    labelled $+1$, with a width-2 ReLU initialisation $(W_0, a_0)$ whose first neuron (5
    degrees short of the bisector, scale 0.1) sees both points and whose second (opposite the
    bisector, scale $10^{-3}$) sees neither: that neuron gets no gradient and stays where it
    is, so the flow fits both points with one neuron along their bisector. For `angle` > 120
    that KKT point of the max-margin problem is not a local optimum (two neurons, one per
    point, do better; see [`best_new_neuron`][flowbias.best_new_neuron]); below 120 it is the
    global one. A construction in the spirit of Vardi, Shamir & Srebro (NeurIPS 2022), who
    show such KKT points exist.

    **Returns:** `(X, y, W0, a0)`.
    """
    if not 90.0 < angle < 170.0:
        raise ValueError(f"`angle` must be in (90, 170) degrees; got {angle!r}.")

    def unit(deg):
        return np.array([np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))])

    X = np.vstack([unit(0.0), unit(angle)])
    W0 = np.vstack([0.1 * unit(angle / 2 - 5.0), 1e-3 * unit(angle / 2 + 180.0)])
    return X, np.ones(2), W0, np.array([0.1, 1e-3])


def partly_separable(
    n_sep: int, n_rest: int, d: int, seed: int, *, k: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    r"""Data that are not separable through the origin, with a separable part: `n_rest` points
    whose signed vectors $y_i x_i$ are Gaussian in the first `k` coordinates (and zero
    elsewhere), so that they positively span that subspace $V$ and no direction fits them all;
    and `n_sep` points with Gaussian coordinates in $V$ and, in the other $d - k$, signed
    vectors on the positive side of a random hyperplane (separable there, with a margin of at
    least 0.1). Labels are random signs.

    **Returns:** `(X, y)`; the first `n_sep` rows are the separable part.
    """
    if not 0 < k < d:
        raise ValueError(f"`k` must satisfy 0 < k < d; got k={k}, d={d}.")
    rng = np.random.default_rng(seed)
    w_star = rng.normal(size=d - k)
    w_star /= np.linalg.norm(w_star)
    sep = []
    while len(sep) < n_sep:
        z = rng.normal(size=d - k)
        if z @ w_star > 0.1:
            sep.append(np.concatenate([rng.normal(size=k), z]))
    rest = np.hstack([rng.normal(size=(n_rest, k)), np.zeros((n_rest, d - k))])
    Z = np.vstack([np.array(sep).reshape(n_sep, d), rest])
    y = rng.choice([-1.0, 1.0], size=n_sep + n_rest)
    return y[:, None] * Z, y


def xor_plane(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""`n` points in the plane at uniform angles $\phi$ and radii in $[0.5, 1.5]$, labelled
    $\operatorname{sign}\cos 2\phi$ (an XOR pattern of four quadrants, turned by 45 degrees):
    separable by a two-layer ReLU network without biases, not by a linear classifier.

    **Returns:** `(X, y)`.
    """
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = rng.uniform(0.5, 1.5, n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X, np.where(np.cos(2 * angle) > 0, 1.0, -1.0)


def sparse_regression(
    n: int, d: int, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Compressed sensing: Gaussian $X$ `(n, d)`, a ground truth $w_\star$ with `k` non-zero
    Gaussian entries at random positions, and noiseless targets $y = X w_\star$.

    **Returns:** `(X, y, w_star)`.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_star = np.zeros(d)
    w_star[rng.choice(d, k, replace=False)] = rng.normal(size=k)
    return X, X @ w_star, w_star


def commuting_sensing(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Diagonal, hence commuting, measurements $A_k = \operatorname{diag}(a_k)$ with Gaussian
    $a_k \in \mathbb R^d$ of a non-negative diagonal target $W_\star = \operatorname{diag}(w)$
    with `n` entries drawn uniformly from $[0.5, 1.5]$ (the setting in which Gunasekar et al.
    (2017) prove the minimum-nuclear-norm limit).

    **Returns:** `(A, y, W_star)` with `A` of shape `(n, d, d)` and $y_k = \langle A_k,
    W_\star\rangle$.
    """
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d))
    w = np.zeros(d)
    w[rng.choice(d, n, replace=False)] = rng.uniform(0.5, 1.5, size=n)
    return np.stack([np.diag(r) for r in a]), a @ w, np.diag(w)


def low_rank_completion(
    d: int, r: int, m: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Matrix completion as in Arora, Cohen, Hu, Luo (2019), at any size: $W_\star = UV^\top$
    with Gaussian $U, V$ `(d, r)`, scaled to Frobenius norm $d$ (entries of order one), and `m`
    of its $d^2$ entries observed uniformly at random without repetition.

    **Returns:** `(rows, cols, y, W_star)`: the observed positions, their values and the
    target.
    """
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(d, r)), rng.normal(size=(d, r))
    W = U @ V.T / np.sqrt(r)
    W *= d / np.linalg.norm(W)
    idx = rng.choice(d * d, m, replace=False)
    return idx // d, idx % d, W.reshape(-1)[idx], W


def razin_cohen() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The $2\times 2$ completion of Razin and Cohen (2020): $w_{12} = w_{21} = 1$ and
    $w_{22} = 0$ observed, $w_{11}$ free. Every completion has determinant $-1$ and nuclear
    norm $\sqrt{w_{11}^2 + 4}$, so the minimum-nuclear-norm completion has $w_{11} = 0$; the
    factorised flow from a small initialisation sends $|w_{11}| \to \infty$ instead.

    **Returns:** `(rows, cols, y)`.
    """
    return np.array([0, 1, 1]), np.array([1, 0, 1]), np.array([1.0, 1.0, 0.0])


def saddle_switch_off() -> tuple[np.ndarray, np.ndarray]:
    r"""$3 \times 4$ integer data whose $\alpha \to 0$ saddle-to-saddle staircase (depth-2
    diagonal network, square loss) switches coordinate 1 off at its third jump; its first jumps
    are at rescaled times $\tau = 1/6$ and $9/40$ (derived by hand in the tests' catalogue).

    **Returns:** `(X, y)`.
    """
    X = np.array([[2, -2, -3, -1], [-1, 2, 0, -3], [-1, 1, 2, 2]], dtype=float)
    return X, np.array([3, -2, 3], dtype=float)


def single_neuron_problem(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""A single-neuron regression problem (row L7): i.i.d. standard Gaussian $X$ `(n, d)`, a
    ground truth $w_\star$ `(d,)` (Gaussian, scaled so that $\max_i |x_i\cdot w_\star| = 1.5$)
    and an initialisation $w_0 = 0.3\,\mathcal N(0, I_d/d)$ (pre-activations of order 0.3).
    The caller computes realisable targets $y = \psi(Xw_\star)$: with pre-activations within
    $\pm 1.5$, tanh targets stay within $\pm 0.91$ and sigmoid targets within $[0.18, 0.82]$,
    away from saturation. For $n \le d$, $X$ has full row rank almost surely.

    **Returns:** `(X, w_star, w0)`.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_star = rng.normal(size=d)
    w_star *= 1.5 / np.max(np.abs(X @ w_star))
    w0 = 0.3 * rng.normal(size=d) / np.sqrt(d)
    return X, w_star, w0


def stump_separable(n: int, seed: int, *, gap: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    r"""`n` points in the square $[-1, 1]^2$ labelled by the additive boundary
    $\operatorname{sign}(\tanh 3x_1 + x_2)$, with points closer than `gap` to it redrawn: not
    linearly separable in the plane, but separable by a weighted vote of decision stumps
    (each feature's staircase), the setting of AdaBoost's $\ell_1$ margin.

    **Returns:** `(X, y)`.
    """
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        x = rng.uniform(-1, 1, 2)
        if abs(np.tanh(3 * x[0]) + x[1]) > gap:
            points.append(x)
    X = np.array(points)
    return X, np.where(np.tanh(3 * X[:, 0]) + X[:, 1] > 0, 1.0, -1.0)
