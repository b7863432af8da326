"""The square loss."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from ._base import AbstractLoss


class SquareLoss(AbstractLoss):
    r"""$L(f) = \frac{1}{2n}\|f - y\|^2$, for regression.

    With a linear model its gradient flow from $w_0$ converges to the least-squares solution
    nearest to $w_0$ (the interpolator nearest to $w_0$ when $d > n$).
    """

    is_classification: ClassVar[bool] = False

    def log_value(self, f, y):
        r = f - y
        # log(||r||^2 / (2n)) with a scaled norm: no underflow of r^2 for tiny residuals.
        scale = jnp.max(jnp.abs(r))
        safe = jnp.where(scale > 0, scale, 1.0)
        log_norm = jnp.log(safe) + 0.5 * jnp.log(jnp.sum((r / safe) ** 2))
        log_norm = jnp.where(scale > 0, log_norm, -jnp.inf)
        return 2 * log_norm - jnp.log(2.0 * f.shape[0])

    def scaled_grad(self, f, y, log_scale):
        return jnp.exp(log_scale) * (f - y) / f.shape[0]
