r"""Matrix completion: observed entries $y_k = W_{i_k j_k}$ of a $d_1\times d_2$ matrix."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Int

from .._validation import is_concrete
from ._base import AbstractMeasurements


def _indices(v, name: str) -> np.ndarray:
    a = np.asarray(v)
    if a.ndim != 1:
        raise ValueError(f"`{name}` must be a vector of indices; got shape {a.shape}.")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"`{name}` must hold whole-number indices; got {a[:5]}...")
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must hold integer indices; got dtype {a.dtype}.")
    return a.astype(np.int64)


class MatrixCompletion(AbstractMeasurements):
    r"""Matrix completion: the measurements are the entries $(i_k, j_k)$ of a $d_1\times d_2$
    matrix, $\mathcal A(W)_k = W_{i_k j_k}$; the observed values are passed as `y`.

    **Arguments:** `rows`, `cols` (integer vectors of equal length n, 0-based), `shape`
    $(d_1, d_2)$.

    An entry observed twice must carry the same value both times (checked against `y`).

    ```python
    import numpy as np
    import flowbias as fb

    # Razin & Cohen (2020): w12 = 1, w21 = 1, w22 = 0 observed, w11 free.
    X = fb.MatrixCompletion(rows=[0, 1, 1], cols=[1, 0, 1], shape=(2, 2))
    y = np.array([1.0, 1.0, 0.0])
    ```
    """

    rows: Int[Array, " n"]
    cols: Int[Array, " n"]
    shape: tuple[int, int] = eqx.field(static=True)

    def __init__(self, rows: ArrayLike, cols: ArrayLike, shape: tuple[int, int]):
        r, c = _indices(rows, "rows"), _indices(cols, "cols")
        if r.shape != c.shape:
            raise ValueError(
                f"`rows` and `cols` must have the same length; got {r.size} and {c.size}."
            )
        if r.size == 0:
            raise ValueError("no observed entries: pass at least one (row, col) pair.")
        try:
            d1, d2 = (int(s) for s in shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"`shape` must be a pair (d1, d2) of positive ints; got {shape!r}."
            ) from None
        if d1 < 1 or d2 < 1 or tuple(np.shape(shape)) != (2,):
            raise ValueError(f"`shape` must be a pair (d1, d2) of positive ints; got {shape!r}.")
        for name, idx, d in (("rows", r, d1), ("cols", c, d2)):
            if np.any(idx < 0) or np.any(idx >= d):
                bad = idx[(idx < 0) | (idx >= d)][0]
                raise ValueError(
                    f"`{name}` holds index {int(bad)}, outside [0, {d - 1}] for a matrix of "
                    f"shape {(d1, d2)}. Fix: 0-based indices below the shape."
                )
        self.rows = jnp.asarray(r)
        self.cols = jnp.asarray(c)
        self.shape = (d1, d2)

    @property
    def num_measurements(self) -> int:
        return int(self.rows.shape[0])

    def apply(self, W):
        return W[self.rows, self.cols]

    def adjoint(self, r):
        return jnp.zeros(self.shape, r.dtype).at[self.rows, self.cols].add(r)

    def _flat(self) -> np.ndarray:
        return np.asarray(self.rows) * self.shape[1] + np.asarray(self.cols)

    def gram_eigenvalues(self) -> np.ndarray:
        # G_kl = 1 where k and l observe the same entry: an entry seen m times gives one
        # eigenvalue m and m - 1 zeros.
        _, counts = np.unique(self._flat(), return_counts=True)
        zeros = np.zeros(int(np.sum(counts - 1)))
        return np.sort(np.concatenate([counts.astype(np.float64), zeros]))

    def frobenius_norm(self):
        return jnp.sqrt(jnp.asarray(self.num_measurements, jnp.float64))

    def max_abs(self) -> float:
        return 1.0

    def check(self) -> None:
        return None  # checked on construction

    def check_targets(self, y) -> None:
        if not is_concrete(y):
            return
        flat, yv = self._flat(), np.asarray(y)
        order = np.argsort(flat, kind="stable")
        f, v = flat[order], yv[order]
        clash = (f[1:] == f[:-1]) & (v[1:] != v[:-1])
        if np.any(clash):
            k = int(np.flatnonzero(clash)[0])
            i, j = divmod(int(f[k]), self.shape[1])
            raise ValueError(
                f"entry ({i}, {j}) is observed twice with different values ({float(v[k])!r} "
                f"and {float(v[k + 1])!r}). Fix: observe each entry once, or make the "
                "duplicates agree."
            )

    def dense(self):
        n = self.num_measurements
        return jnp.zeros((n,) + self.shape).at[jnp.arange(n), self.rows, self.cols].set(1.0)
