"""Reparametrisations of time: the ODE is integrated in s, with t = tau(s).

Gradient flow on a separable classification problem moves like log t: reaching t = 1e100 in
the original time takes ~1e100 units of work for any step-size control that resolves the
early phase. In log time s = log(1 + t) the same flow is O(1)-smooth and t = 1e300 is s ~ 690.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractTime(eqx.Module):
    """A change of time variable t = tau(s), increasing, with tau(0) = 0."""

    @abc.abstractmethod
    def s_of_log_t(self, log_t: Float[Array, "..."]) -> Float[Array, "..."]:
        """s such that tau(s) = t, given log t (so that t beyond 1e308 can be named)."""

    @abc.abstractmethod
    def log_t_of_s(self, s: Float[Array, "..."]) -> Float[Array, "..."]:
        """log tau(s) (-inf at s = 0)."""

    @abc.abstractmethod
    def log_dt_ds(self, s: Float[Array, "..."]) -> Float[Array, "..."]:
        """log tau'(s): the flow's speed factor, kept in log form."""


class LinearTime(AbstractTime):
    """The original time: t = s."""

    def s_of_log_t(self, log_t):
        return jnp.exp(log_t)

    def log_t_of_s(self, s):
        return jnp.log(s)

    def log_dt_ds(self, s):
        return jnp.zeros_like(s)


class LogTime(AbstractTime):
    r"""Log time: $t = e^s - 1$, so $s = \log(1 + t)$ and $dt/ds = e^s$.

    The vector field becomes $\frac{d\theta}{ds} = -e^{s}\nabla L(\theta)$; the factor $e^s$
    is folded into the loss's exponent (see
    [`AbstractLoss.scaled_grad`][flowbias.AbstractLoss.scaled_grad]), so nothing over- or
    underflows even at $t = 10^{300}$.
    """

    def s_of_log_t(self, log_t):
        # s = log(1 + t) = log_t + log1p(exp(-log_t)), stable for huge t.
        return jnp.where(
            log_t > 0, log_t + jnp.log1p(jnp.exp(-jnp.abs(log_t))), jnp.log1p(jnp.exp(log_t))
        )

    def log_t_of_s(self, s):
        # log(e^s - 1) = s + log(-expm1(-s)), stable for large s; log(expm1(s)) for small s.
        big = s > 1.0
        return jnp.where(
            big,
            s + jnp.log(-jnp.expm1(-jnp.where(big, s, 1.0))),
            jnp.log(jnp.expm1(jnp.where(big, 1.0, s))),
        )

    def log_dt_ds(self, s):
        return s
