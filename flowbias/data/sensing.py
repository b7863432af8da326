r"""Matrix sensing: $y_k = \langle A_k, W\rangle$ for given dense matrices $A_k$."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_float_array
from ._base import AbstractMeasurements


class MatrixSensing(AbstractMeasurements):
    r"""Matrix sensing with measurement matrices $A_k \in \mathbb{R}^{d_1\times d_2}$:
    $\mathcal A(W)_k = \langle A_k, W\rangle = \operatorname{tr}(A_k^\top W)$.

    **Arguments:** `A`, shape `(n, d1, d2)`.

    Commuting measurements (e.g. every $A_k$ diagonal) are the case where Gunasekar et al.
    (2017) prove that gradient flow on $W = UU^\top$ tends to the minimum nuclear norm (trace)
    fit as $U(0) = \alpha I$, $\alpha \to 0$, provided the limit exists and fits the
    measurements.

    ```python
    import numpy as np
    import flowbias as fb

    A = np.stack([np.diag([1.0, 0.0, 2.0]), np.diag([0.0, 1.0, 1.0])])
    X = fb.MatrixSensing(A)   # 2 measurements of a 3 x 3 matrix
    ```
    """

    A: Float[Array, "n d1 d2"]
    shape: tuple[int, int] = eqx.field(static=True)

    def __init__(self, A: ArrayLike):
        A = as_float_array(A, "A", ndim=3)
        if A.shape[0] == 0 or A.shape[1] == 0 or A.shape[2] == 0:
            raise ValueError(
                f"`A` must hold n >= 1 matrices of positive size; got shape {tuple(A.shape)}. "
                "Fix: pass A of shape (n, d1, d2)."
            )
        self.A = A
        self.shape = (int(A.shape[1]), int(A.shape[2]))

    @property
    def num_measurements(self) -> int:
        return int(self.A.shape[0])

    def apply(self, W):
        return jnp.einsum("kij,ij->k", self.A, W)

    def adjoint(self, r):
        return jnp.einsum("k,kij->ij", r, self.A)

    def gram_eigenvalues(self) -> np.ndarray:
        A = np.asarray(self.A, dtype=np.float64).reshape(self.num_measurements, -1)
        c = float(np.max(np.abs(A))) or 1.0
        As = A / c
        return np.linalg.eigvalsh(As @ As.T) * c**2

    def frobenius_norm(self):
        m = jnp.max(jnp.abs(self.A))
        safe = jnp.where(m > 0, m, 1.0)
        return safe * jnp.sqrt(jnp.sum((self.A / safe) ** 2))

    def max_abs(self) -> float:
        return float(np.max(np.abs(np.asarray(self.A))))

    def check(self) -> None:
        # Finiteness and shape were checked on construction; nothing else can be malformed.
        return None

    def dense(self):
        return self.A
