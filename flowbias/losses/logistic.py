"""The logistic loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import AbstractClassificationLoss


def log_softplus(x):
    """log(log(1 + e^x)), stable for all x: for x << 0, softplus(x) = e^x (1 - e^x/2 + ...)."""
    small = x < -30.0
    xs = jnp.where(small, 0.0, x)
    xl = jnp.where(small, x, -30.0)
    return jnp.where(small, xl + jnp.log1p(-0.5 * jnp.exp(xl)), jnp.log(jax.nn.softplus(xs)))


class LogisticLoss(AbstractClassificationLoss):
    r"""$L = \frac1n \sum_i \log(1 + e^{-m_i})$ with margins $m_i = y_i f_i$.

    Per sample, $\log \ell(m) = \log\operatorname{softplus}(-m)$ and
    $\log(-\ell'(m)) = -\operatorname{softplus}(m)$, both evaluated without forming
    $e^{-m}$ (so no underflow of $\ell$ at margins of $10^3$ and beyond).

    ??? cite "Implicit bias on separable data"
        Soudry et al., JMLR 19 (2018), Theorem 3 covers the logistic loss (it has a tight
        exponential tail): the direction converges to the hard-margin SVM.
    """

    def log_ell(self, m):
        return log_softplus(-m)

    def log_neg_ell_prime(self, m):
        return -jax.nn.softplus(m)

    def inverse_neg_log_ell(self, u):
        # log(1 + e^{-m}) = e^{-u}  <=>  m = -log(expm1(v)), v = e^{-u}; written as
        # u - log(expm1(v) / v) so that it stays exact where v underflows (u > 745).
        v = jnp.exp(-u)
        safe = jnp.where(v > 0, v, 1.0)
        return u - jnp.log(jnp.where(v > 0, jnp.expm1(safe) / safe, 1.0))
