"""The loss interface, in the form the engine needs: log-values and *scaled* output gradients.

Gradient flow in a reparametrised time s has speed dt/ds, which reaches 1e300 and beyond; the
gradient of a classification loss at such times is ~1e-300. Their product is O(1), but each
factor alone over- or underflows. So a loss never returns its raw gradient: it returns
exp(log_scale) * dL/df with the scale folded into the exponent, and its value as log L.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractLoss(eqx.Module):
    """An empirical loss L(f) = (1/n) sum_i l(f_i, y_i) of the outputs f_i = f(x_i; theta)."""

    is_classification: ClassVar[bool]

    @abc.abstractmethod
    def log_value(self, f: Float[Array, " n"], y: Float[Array, " n"]) -> Float[Array, ""]:
        """log L(f), computed without forming L (no underflow to -inf at huge margins)."""

    @abc.abstractmethod
    def scaled_grad(
        self, f: Float[Array, " n"], y: Float[Array, " n"], log_scale: Float[Array, ""]
    ) -> Float[Array, " n"]:
        """exp(log_scale) * dL/df, with the scale folded into the exponent."""

    def value(self, f: Float[Array, " n"], y: Float[Array, " n"]) -> Float[Array, ""]:
        """L(f). May underflow to 0 at huge margins: prefer
        [`log_value`][flowbias.AbstractLoss.log_value]."""
        return jnp.exp(self.log_value(f, y))

    def grad(self, f: Float[Array, " n"], y: Float[Array, " n"]) -> Float[Array, " n"]:
        """dL/df (unscaled)."""
        return self.scaled_grad(f, y, jnp.zeros((), f.dtype))


class AbstractMarginLoss(AbstractLoss):
    r"""A margin loss $L = \frac1n\sum_i \ell(m_i)$ of the margins $m_i = y_i f_i$, with
    labels $y_i \in \{-1, +1\}$ and $\ell$ positive, decreasing and convex, with any tail."""

    is_classification: ClassVar[bool] = True

    @abc.abstractmethod
    def log_ell(self, m: Float[Array, " n"]) -> Float[Array, " n"]:
        """log l(m) per sample, stable for all m."""

    @abc.abstractmethod
    def log_neg_ell_prime(self, m: Float[Array, " n"]) -> Float[Array, " n"]:
        """log(-l'(m)) per sample, stable for all m."""

    @abc.abstractmethod
    def inverse_neg_log_ell(self, u: Float[Array, "..."]) -> Float[Array, "..."]:
        """The margin m at which -log l(m) = u: the inverse of m -> -log l(m), stable for
        large u (it maps the log of one over a summed loss back to a margin)."""

    def log_value(self, f, y):
        logs = self.log_ell(y * f)
        return _logsumexp(logs) - jnp.log(f.shape[0])

    def scaled_grad(self, f, y, log_scale):
        # dL/df_i = y_i l'(m_i) / n = -y_i exp(log(-l'(m_i))) / n
        return -y * jnp.exp(log_scale + self.log_neg_ell_prime(y * f)) / f.shape[0]


class AbstractClassificationLoss(AbstractMarginLoss):
    r"""A margin loss with an exponential tail, $\ell(m) \asymp e^{-m}$ as $m \to \infty$
    (exponential, logistic): the family for which the max-margin theorems hold (gradient flow
    on separable data tends to the hard-margin SVM direction, homogeneous networks to KKT
    points of the max-margin problem). Losses with heavier tails are
    [`AbstractMarginLoss`][flowbias.AbstractMarginLoss]es but not members of this family."""


def _logsumexp(a: Float[Array, " n"]) -> Float[Array, ""]:
    amax = jnp.max(a)
    amax = jnp.where(jnp.isfinite(amax), amax, 0.0)
    return amax + jnp.log(jnp.sum(jnp.exp(a - amax)))
