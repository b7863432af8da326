r"""Data that are not an (n, d) matrix: linear measurement operators on matrices.

A model linear in a matrix $W \in \mathbb{R}^{d_1\times d_2}$ sees its data through $n$
linear measurements $\mathcal A(W)_k = \langle A_k, W\rangle$ and their adjoint
$\mathcal A^*(r) = \sum_k r_k A_k$. These operators are first-class data: they are passed as
`X` to [`flowsolve`][flowbias.flowsolve] and [`predicted_limit`][flowbias.predicted_limit]
(with the measured values as `y`), travel into jitted code as pytrees, and check themselves
before anything is computed.
"""

from __future__ import annotations

import abc

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float


class AbstractMeasurements(eqx.Module):
    r"""$n$ linear measurements $y_k = \langle A_k, W\rangle$ of a $d_1\times d_2$ matrix."""

    shape: eqx.AbstractVar[tuple[int, int]]

    @property
    @abc.abstractmethod
    def num_measurements(self) -> int:
        """n, the number of measurements."""

    @abc.abstractmethod
    def apply(self, W: Float[Array, "d1 d2"]) -> Float[Array, " n"]:
        r"""$\mathcal A(W)_k = \langle A_k, W\rangle$."""

    @abc.abstractmethod
    def adjoint(self, r: Float[Array, " n"]) -> Float[Array, "d1 d2"]:
        r"""$\mathcal A^*(r) = \sum_k r_k A_k$."""

    @abc.abstractmethod
    def gram_eigenvalues(self) -> np.ndarray:
        r"""The eigenvalues of the Gram matrix $G_{kl} = \langle A_k, A_l\rangle$ (NumPy,
        concrete): the speeds of the linear model's flow on these measurements."""

    @abc.abstractmethod
    def frobenius_norm(self) -> Float[Array, ""]:
        r"""$(\sum_k \|A_k\|_F^2)^{1/2}$, traceable (the operator's size, as $\|X\|_F$ for a
        matrix)."""

    @abc.abstractmethod
    def max_abs(self) -> float:
        """The largest |entry| of the operator (concrete), for the data-scale check."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise a clear error, naming the argument and the fix, if the operator is malformed
        (called before solving)."""

    def check_targets(self, y: Float[Array, " n"]) -> None:
        """Raise if the measured values `y` are inconsistent with the operator itself (e.g. one
        matrix entry observed twice with different values). Default: nothing to check."""

    @abc.abstractmethod
    def dense(self) -> Float[Array, "n d1 d2"]:
        """The measurement matrices $A_k$ as one dense array (for references at small size)."""
