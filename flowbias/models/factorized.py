r"""Matrix factorisations: the end-to-end matrix $W = W_N\cdots W_1$ (or $PP^\top$) seen through
linear measurements."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_matrix_chain, as_positive_scalar, check_int
from ..data import AbstractMeasurements
from ._base import AbstractModel
from ._chain import chain_product, chain_rate


class AbstractMatrixModel(AbstractModel):
    r"""A model whose outputs are linear measurements of a matrix $W(\theta)$:
    $f_k = \langle A_k, W(\theta)\rangle$ for data $X$ an
    [`AbstractMeasurements`][flowbias.AbstractMeasurements] operator. The observable is the
    end-to-end matrix $W$."""

    shape: eqx.AbstractVar[tuple[int, int]]

    @abc.abstractmethod
    def end_to_end(self, params) -> Float[Array, "d1 d2"]:
        """The end-to-end matrix W(theta)."""

    def predict(self, params, X: AbstractMeasurements) -> Float[Array, " n"]:
        return X.apply(self.end_to_end(params))

    def observable(self, params) -> Float[Array, "d1 d2"]:
        return self.end_to_end(params)

    def check_data(self, X) -> None:
        if not isinstance(X, AbstractMeasurements):
            raise TypeError(
                f"{type(self).__name__} sees its data through measurements of a "
                f"{self.shape[0]} x {self.shape[1]} matrix: pass `X` as fb.MatrixSensing(A) or "
                f"fb.MatrixCompletion(rows, cols, shape); got {type(X).__name__}."
            )
        if tuple(X.shape) != tuple(self.shape):
            raise ValueError(
                f"`X` measures {X.shape[0]} x {X.shape[1]} matrices but the model's end-to-end "
                f"matrix is {self.shape[0]} x {self.shape[1]}. Fix: build the model with "
                f"shape={tuple(X.shape)}."
            )


def _eye(rows: int, cols: int) -> np.ndarray:
    return np.eye(rows, cols)


def _widths(shape, depth: int, width: int | None, symmetric: bool) -> list[tuple[int, int]]:
    """Factor shapes (rows, cols) of W_1 .. W_K (K = depth, or depth/2 for P P^T)."""
    d1, d2 = shape
    h = min(d1, d2) if width is None else width
    if symmetric:
        k = depth // 2
        dims = [h] * k + [d1]  # P = W_k ... W_1 maps R^h to R^d1
        return [(dims[j + 1], dims[j]) for j in range(k)]
    dims = [d2] + [h] * (depth - 1) + [d1]
    return [(dims[j + 1], dims[j]) for j in range(depth)]


class MatrixFactorization(AbstractMatrixModel):
    r"""A depth-$N$ linear factorisation of a $d_1\times d_2$ matrix,
    $W = W_N W_{N-1}\cdots W_1$, or, with `symmetric=True`, the positive semidefinite
    $W = PP^\top$ with $P = W_{N/2}\cdots W_1$ ($N$ even, $d_1 = d_2$).

    Trained by gradient flow on the square loss of its measurements,
    $L = \frac{1}{2n}\sum_k(\langle A_k, W\rangle - y_k)^2$; from a small initial scale the
    flow is biased towards low rank (Gunasekar et al. 2017; Arora, Cohen, Hu, Luo 2019),
    though not always towards the minimum nuclear norm (Razin & Cohen 2020).

    **Arguments:** `factors0`, the initial factors $W_1(0), \ldots, W_K(0)$ (`W_1` first;
    `W_1` has $d_2$ columns, `W_K` has $d_1$ rows, or $d_1$ rows for $P$); `symmetric`.
    Use [`balanced`][flowbias.MatrixFactorization.balanced] or
    [`gaussian`][flowbias.MatrixFactorization.gaussian] for the standard initialisations.

    ```python
    import flowbias as fb

    model = fb.MatrixFactorization.balanced(1e-3, (4, 4), depth=3)
    ```

    ??? cite "Sources"
        Gunasekar, Woodworth, Bhojanapalli, Neyshabur, Srebro, *Implicit Regularization in
        Matrix Factorization*, NeurIPS 2017; Arora, Cohen, Hazan, *On the Optimization of
        Deep Networks*, ICML 2018 (balanced end-to-end dynamics); Arora, Cohen, Hu, Luo,
        *Implicit Regularization in Deep Matrix Factorization*, NeurIPS 2019; Razin & Cohen,
        *Implicit Regularization in Deep Learning May Not Be Explainable by Norms*, NeurIPS
        2020.
    """

    # Explicit by default: on 10 x 10 completion (depth 2 and 3, alpha = 1e-3) Tsit5 took 3-4 s
    # (9,600-25,600 steps) where Kvaerno5 took 77-116 s (~850 steps, each building and
    # factorising a dense Jacobian of the 200-300 parameters), for the same W to 1e-10.
    stiff_parameter_flow: ClassVar[bool] = False

    factors0: tuple[Float[Array, "r c"], ...]
    shape: tuple[int, int] = eqx.field(static=True)
    symmetric: bool = eqx.field(static=True)

    def __init__(self, factors0, *, symmetric: bool = False):
        fs = as_matrix_chain(factors0, "factors0", what="factors")
        self.factors0 = fs
        self.symmetric = bool(symmetric)
        d1 = fs[-1].shape[0]
        self.shape = (int(d1), int(d1)) if symmetric else (int(d1), int(fs[0].shape[1]))

    @classmethod
    def balanced(
        cls, alpha, shape, *, depth: int = 2, width: int | None = None, symmetric: bool = False
    ) -> "MatrixFactorization":
        r"""Every factor $\alpha$ times a (rectangular) identity: balanced
        ($W_{j+1}^\top W_{j+1} = W_j W_j^\top$), so the end-to-end matrix follows the exact
        flow of [`EndToEndFlow`][flowbias.EndToEndFlow]; $W(0) = \alpha^N I$. `width`
        (hidden size) defaults to $\min(d_1, d_2)$."""
        alpha, depth, width = _check_init(alpha, shape, depth, width, symmetric)
        return cls(
            [alpha * _eye(r, c) for r, c in _widths(shape, depth, width, symmetric)],
            symmetric=symmetric,
        )

    @classmethod
    def gaussian(
        cls,
        alpha,
        shape,
        *,
        depth: int = 2,
        width: int | None = None,
        seed: int = 0,
        symmetric: bool = False,
    ) -> "MatrixFactorization":
        r"""Factors with i.i.d. $\mathcal N(0, \alpha^2)$ entries (NumPy's
        `default_rng(seed)`), the near-zero initialisation of Arora et al. (2019)."""
        alpha, depth, width = _check_init(alpha, shape, depth, width, symmetric)
        rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
        return cls(
            [alpha * rng.normal(size=rc) for rc in _widths(shape, depth, width, symmetric)],
            symmetric=symmetric,
        )

    @property
    def depth(self) -> int:
        """N: the number of factors in the product W (twice that of P for P P^T)."""
        return 2 * len(self.factors0) if self.symmetric else len(self.factors0)

    def init_params(self) -> tuple[Float[Array, "r c"], ...]:
        return self.factors0

    @staticmethod
    def _chain(params):
        return chain_product(params)

    def end_to_end(self, params):
        P = self._chain(params)
        return P @ P.T if self.symmetric else P

    def observable_sensitivity(self, params):
        P = self._chain(tuple(jnp.abs(F) for F in params))
        return self.depth * (P @ P.T if self.symmetric else P)

    def parameter_scale(self, X, y):
        # The initial scale; from a zero start (depth 1: a linear model of W) the scale the
        # factors grow to, |y|^(1/N).
        init = jnp.max(jnp.stack([jnp.max(jnp.abs(F)) for F in self.factors0]))
        target = jnp.max(jnp.abs(y)) ** (1.0 / self.depth)
        target = jnp.where(jnp.isfinite(target) & (target > 0), target, 1.0)
        return jnp.where(init > 0, init, target)

    def time_scale(self, X):
        # The end-to-end matrix moves at rate sum_j prod_{i != j} ||W_i||_2^2 times the
        # gradient at the start (twice the chain's for P P^T): its inverse.
        rate = chain_rate(self.factors0)
        if self.symmetric:
            norms = jnp.stack([jnp.linalg.norm(F, 2) ** 2 for F in self.factors0])
            rate = 2.0 * rate * jnp.prod(norms)
        return jnp.maximum(1.0 / rate, 1.0)

    def imbalance(self, params) -> Float[Array, ""]:
        r"""$\max_j \|W_{j+1}^\top W_{j+1} - W_j W_j^\top\|_F / \|W_j W_j^\top\|_F$: zero for a
        balanced factorisation, and conserved by gradient flow (every difference
        $W_{j+1}^\top W_{j+1} - W_j W_j^\top$ is)."""
        out = jnp.zeros(())
        for a, b in zip(params[:-1], params[1:], strict=True):
            left = a @ a.T
            d = b.T @ b - left
            out = jnp.maximum(out, jnp.linalg.norm(d) / jnp.linalg.norm(left))
        return out


def _check_init(alpha, shape, depth, width, symmetric):
    alpha = float(as_positive_scalar(alpha, "alpha", fix="the initial scale, e.g. alpha=1e-3."))
    try:
        d1, d2 = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"`shape` must be a pair (d1, d2); got {shape!r}.") from None
    if d1 < 1 or d2 < 1:
        raise ValueError(f"`shape` must hold positive sizes; got {shape!r}.")
    depth = check_int(depth, "depth", minimum=1, fix="depth=2 (W = U V^T) or more.")
    if symmetric and (d1 != d2 or depth % 2):
        raise ValueError(
            f"a symmetric factorisation W = P P^T needs a square shape and an even depth; got "
            f"shape {(d1, d2)} and depth {depth}. Fix: depth=2 for W = U U^T, or "
            "symmetric=False."
        )
    if width is not None:
        width = check_int(width, "width", minimum=1, fix="the hidden size, e.g. min(d1, d2).")
    return alpha, depth, width
