"""A catalogue of test problems, each with a reference computed independently of flowbias.

References here use plain NumPy linear algebra or cvxpy written out directly, never the
flowbias functions under test.
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np


@dataclasses.dataclass(frozen=True)
class RegressionProblem:
    name: str
    X: np.ndarray
    y: np.ndarray
    w0: np.ndarray

    @property
    def min_norm_limit(self) -> np.ndarray:
        """argmin ||w - w0|| s.t. Xw = y, by the textbook formula (seed 000, Prop. 13.1)."""
        X, y, w0 = self.X, self.y, self.w0
        G = X @ X.T
        return X.T @ np.linalg.solve(G, y) + w0 - X.T @ np.linalg.solve(G, X @ w0)

    @property
    def rowspace_projector(self) -> np.ndarray:
        X = self.X
        return X.T @ np.linalg.solve(X @ X.T, X)


@dataclasses.dataclass(frozen=True)
class ClassificationProblem:
    name: str
    X: np.ndarray
    y: np.ndarray

    @property
    def svm_direction(self) -> np.ndarray:
        """Hard-margin SVM argmin ||w||^2 s.t. y_i x_i.w >= 1, by a cvxpy model written here."""
        Z = self.y[:, None] * self.X
        w = cp.Variable(self.X.shape[1])
        cp.Problem(cp.Minimize(cp.sum_squares(w)), [Z @ w >= 1]).solve(solver="CLARABEL")
        return np.asarray(w.value)


def random_regression(n: int, d: int, seed: int, *, w0_scale: float = 1.0) -> RegressionProblem:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return RegressionProblem(
        f"gaussian-{n}x{d}-{seed}", X, rng.normal(size=n), w0_scale * rng.normal(size=d)
    )


def random_separable(n: int, d: int, seed: int, *, gap: float = 0.0) -> ClassificationProblem:
    """Gaussian points labelled by a random hyperplane through the origin (optionally with the
    points closer than `gap` to it removed and redrawn)."""
    rng = np.random.default_rng(seed)
    w_star = rng.normal(size=d)
    w_star /= np.linalg.norm(w_star)
    rows = []
    while len(rows) < n:
        x = rng.normal(size=d)
        if abs(x @ w_star) > gap:
            rows.append(x)
    X = np.array(rows)
    return ClassificationProblem(f"separable-{n}x{d}-{seed}", X, np.sign(X @ w_star))


REGRESSION = [
    random_regression(5, 20, 0),
    random_regression(20, 100, 1),
    random_regression(3, 4, 2, w0_scale=10.0),
]
CLASSIFICATION = [
    random_separable(38, 10, 0),
    random_separable(20, 5, 1, gap=0.1),
]
