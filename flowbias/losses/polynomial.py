"""A margin loss with a polynomial tail."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ._base import AbstractMarginLoss


class PolynomialLoss(AbstractMarginLoss):
    r"""$\ell(m) = (1 + m)^{-k}$ for margins $m \ge 0$, continued for $m < 0$ by its
    second-order Taylor polynomial at 0, $1 - km + \tfrac{k(k+1)}{2}m^2$ (positive, decreasing,
    convex and twice differentiable everywhere). Its tail is polynomial, not exponential: on
    separable data gradient flow still diverges in norm, but its direction is not the
    hard-margin SVM's; it is $\arg\min_{\|u\| \le 1}\sum_i (y_i x_i\cdot u)^{-k}$, the limit of
    the regularisation path (see
    [`polynomial_tail_direction`][flowbias.polynomial_tail_direction]).

    **Arguments:** `k`, the tail's degree, $> 0$.

    ??? cite "Reference"
        Ji, Dudik, Schapire & Telgarsky, *Gradient descent follows the regularization path for
        general losses*, COLT 2020 (the flow's direction is the regularisation path's limit,
        which for polynomial tails differs from the max-margin direction).
    """

    k: float = eqx.field(static=True)

    def __init__(self, k: float = 1.0):
        if isinstance(k, bool) or not isinstance(k, int | float) or not k > 0:
            raise ValueError(f"`k` (the tail's degree) must be a number > 0; got {k!r}.")
        self.k = float(k)

    def log_ell(self, m):
        k = self.k
        pos = -k * jnp.log1p(jnp.maximum(m, 0.0))
        mn = jnp.minimum(m, 0.0)
        neg = jnp.log(1.0 - k * mn + 0.5 * k * (k + 1.0) * mn**2)
        return jnp.where(m >= 0, pos, neg)

    def log_neg_ell_prime(self, m):
        k = self.k
        pos = jnp.log(k) - (k + 1.0) * jnp.log1p(jnp.maximum(m, 0.0))
        mn = jnp.minimum(m, 0.0)
        neg = jnp.log(k - k * (k + 1.0) * mn)
        return jnp.where(m >= 0, pos, neg)

    def inverse_neg_log_ell(self, u):
        k = self.k
        # u >= 0: k log(1 + m) = u. u < 0: the smaller root of the quadratic continuation.
        pos = jnp.expm1(jnp.maximum(u, 0.0) / k)
        c = 1.0 - jnp.exp(-jnp.minimum(u, 0.0))  # < 0 for u < 0
        neg = (k - jnp.sqrt(k**2 - 2.0 * k * (k + 1.0) * c)) / (k * (k + 1.0))
        return jnp.where(u >= 0, pos, neg)
