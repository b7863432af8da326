"""The linear model f(x; w) = <w, x>, from any initialisation w0."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_float_array
from ._base import AbstractMirrorModel


class LinearModel(AbstractMirrorModel):
    r"""The linear model $f(x; w) = \langle w, x\rangle$ started at $w(0) = w_0$.

    As a mirror model its potential is Euclidean, $Q(w) = \tfrac12\|w - w_0\|^2$, and its
    link is $h(\xi) = w_0 + \xi$: the iterates stay in $w_0 + \operatorname{rowspace}(X)$.

    **Arguments:**

    - `w0`: the initialisation, shape `(d,)`.

    ```python
    import numpy as np
    import flowbias as fb

    model = fb.LinearModel(np.zeros(3))
    ```
    """

    w0: Float[Array, " d"]

    def __init__(self, w0: ArrayLike):
        self.w0 = as_float_array(w0, "w0", ndim=1)

    @classmethod
    def zeros(cls, d: int) -> "LinearModel":
        """The linear model started at the origin."""
        return cls(jnp.zeros(int(d)))

    @property
    def dim(self) -> int:
        return self.w0.shape[0]

    def init_params(self) -> Float[Array, " d"]:
        return self.w0

    def predictor(self, params: Float[Array, " d"]) -> Float[Array, " d"]:
        return params

    def link(self, xi: Float[Array, " d"]) -> Float[Array, " d"]:
        return self.w0 + xi

    def params_from_xi(self, xi: Float[Array, " d"]) -> Float[Array, " d"]:
        return self.w0 + xi

    def link_derivative(self, xi: Float[Array, " d"]) -> Float[Array, " d"]:
        return jnp.ones_like(xi)

    def inverse_link(self, w: Float[Array, " d"]) -> Float[Array, " d"]:
        return w - self.w0

    def dual_potential(self, xi: Float[Array, " d"]) -> Float[Array, ""]:
        return self.w0 @ xi + 0.5 * jnp.sum(xi**2)

    def potential(self, w: Float[Array, " d"]) -> Float[Array, ""]:
        return 0.5 * jnp.sum((w - self.w0) ** 2)

    def observable_sensitivity(self, params: Float[Array, " d"]) -> Float[Array, " d"]:
        return jnp.abs(params)

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        # The larger of w0 and the least-squares step X^+ (y - X w0) the flow takes from it.
        step = jnp.linalg.pinv(X) @ (y - X @ self.w0)
        size = jnp.maximum(jnp.max(jnp.abs(self.w0)), jnp.max(jnp.abs(step)))
        return jnp.where(jnp.isfinite(size) & (size > 0), size, 1.0)

    def time_scale(self, X) -> Float[Array, ""]:
        return jnp.ones((), X.dtype)
