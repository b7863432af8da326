r"""The depth-2 diagonal network at a vanishing scale, in the variables of the $\alpha\to0$
analysis: rescaled time, log-form link, any $\alpha$ down to $10^{-300}$ and far below."""

from __future__ import annotations

import math
import numbers
from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import as_float_array, is_concrete
from ._base import AbstractMirrorModel


def _log_inverse_scale(alpha, log_alpha):
    if (alpha is None) == (log_alpha is None):
        raise ValueError(
            "pass exactly one of `alpha` (in (0, 1)) or `log_alpha` (< 0), e.g. "
            "`alpha=1e-100` or `log_alpha=-1e4` for scales below the float64 range."
        )
    if alpha is not None:
        a = as_float_array(alpha, "alpha", ndim=0)
        if is_concrete(a) and not 0 < float(a) < 1:
            raise ValueError(
                f"`alpha` must be in (0, 1) for the rescaled view t / log(1/alpha); got "
                f"{float(a)!r}. Fix: a small initial scale, e.g. alpha=1e-10, or "
                "fb.DiagonalNetwork.uniform for alpha >= 1."
            )
        return -jnp.log(a)
    la = as_float_array(log_alpha, "log_alpha", ndim=0)
    if is_concrete(la) and not (math.isfinite(float(la)) and float(la) < 0):
        raise ValueError(f"`log_alpha` must be finite and < 0 (alpha < 1); got {float(la)!r}.")
    return -la


class RescaledDiagonalNetwork(AbstractMirrorModel):
    r"""The network $w = u\odot u - v\odot v$, $u(0) = v(0) = \alpha\mathbf 1$, with time
    measured in units of $\log(1/\alpha)$: its flow time is $\tau = t/\log(1/\alpha)$.

    With $\lambda = \log(1/\alpha)$ and the rescaled dual variable
    $\tilde\xi = \xi/\lambda$ ($\xi = -\int_0^t\nabla L$), gradient flow is the mirror flow
    $d\tilde\xi/d\tau = -\nabla L(w)$ with the link

    $$w = h(\tilde\xi) = 2\alpha^2\sinh(4\lambda\tilde\xi)
        = \operatorname{sign}\tilde\xi\; e^{\lambda(4|\tilde\xi| - 2)}
          \big(1 - e^{-8\lambda|\tilde\xi|}\big),$$

    evaluated in the second (log) form, so that nothing over- or underflows at
    $\alpha = 10^{-300}$ or at $\log\alpha = -10^4$: a coordinate is negligible while
    $|\tilde\xi_i| < 1/2$ and of order one at $|\tilde\xi_i| \approx 1/2$. As
    $\alpha\to0$ the path tends to the staircase of
    [`saddle_to_saddle`][flowbias.saddle_to_saddle] (whose dual variable is
    $s = 2\tilde\xi$). The same network at the same $\alpha$ as
    [`DiagonalNetwork.uniform`][flowbias.DiagonalNetwork.uniform] gives the same $w$ at
    $t = \lambda\tau$.

    Its parameters are rescaled factors, so that plain gradient flow on them runs in time
    $\tau$ too: $w = \lambda(\tilde u^2 - \tilde v^2)$, $\tilde u(0) = \tilde v(0) =
    \alpha/\sqrt\lambda$ (they underflow to 0 below $\alpha\approx10^{-150}$; integrate
    with [`DualFlow`][flowbias.DualFlow], which never forms them).

    **Arguments:** `d`, the dimension; exactly one of `alpha` in (0, 1) or `log_alpha` < 0.

    ??? cite "Source"
        S. Pesme and N. Flammarion, *Saddle-to-saddle dynamics in diagonal linear networks*,
        NeurIPS 2023 (the rescaling $t/\log(1/\alpha)$).
    """

    stiff_parameter_flow: ClassVar[bool] = True

    log_inverse_alpha: Float[Array, ""]
    d: int

    def __init__(self, d: int, *, alpha=None, log_alpha=None):
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
            raise ValueError(f"`d` must be a positive integer (the dimension); got {d!r}.")
        self.d = int(d)
        self.log_inverse_alpha = _log_inverse_scale(alpha, log_alpha)

    @property
    def dim(self) -> int:
        return self.d

    @property
    def time_unit(self) -> Float[Array, ""]:
        r"""$\log(1/\alpha)$: one unit of this model's time is that much time t."""
        return self.log_inverse_alpha

    # ---- the mirror map, in log form ------------------------------------------------
    def link(self, xi):
        lam = self.log_inverse_alpha
        a = jnp.abs(xi)
        return jnp.sign(xi) * jnp.exp(lam * (4 * a - 2)) * -jnp.expm1(-8 * lam * a)

    def link_derivative(self, xi):
        lam = self.log_inverse_alpha
        a = jnp.abs(xi)
        return 4 * lam * jnp.exp(lam * (4 * a - 2)) * (1 + jnp.exp(-8 * lam * a))

    def inverse_link(self, w):
        lam = self.log_inverse_alpha
        m = jnp.abs(w)
        safe = jnp.where(m > 0, m, 1.0)
        lz = jnp.log(safe) + 2 * lam - jnp.log(2.0)  # log |w| / (2 alpha^2)
        big = jnp.where(lz > 0, lz, 0.0)
        small = jnp.where(lz > 0, 0.0, lz)
        asinh = jnp.where(
            lz > 0, big + jnp.log1p(jnp.sqrt(1 + jnp.exp(-2 * big))), jnp.arcsinh(jnp.exp(small))
        )
        return jnp.where(m > 0, jnp.sign(w) * asinh / (4 * lam), 0.0)

    def dual_potential(self, xi):
        # int_0^xi h = 2 alpha^2 (cosh(4 lam xi) - 1) / (4 lam) = (alpha sinh(2 lam xi))^2 / lam
        lam = self.log_inverse_alpha
        a = jnp.abs(xi)
        half = 0.5 * jnp.exp(lam * (2 * a - 1)) * -jnp.expm1(-4 * lam * a)
        return jnp.sum(half**2) / lam

    def potential(self, w):
        xi = self.inverse_link(w)
        lam = self.log_inverse_alpha
        a = jnp.abs(xi)
        half = 0.5 * jnp.exp(lam * (2 * a - 1)) * -jnp.expm1(-4 * lam * a)
        return jnp.sum(w * xi - half**2 / lam)

    def params_from_xi(self, xi):
        lam = self.log_inverse_alpha
        root = jnp.sqrt(lam)
        return jnp.exp(lam * (2 * xi - 1)) / root, jnp.exp(-lam * (2 * xi + 1)) / root

    # ---- the model interface ----------------------------------------------------------
    def init_params(self):
        zero = jnp.zeros(self.d)
        return self.params_from_xi(zero)

    def predictor(self, params) -> Float[Array, " d"]:
        u, v = params
        return self.log_inverse_alpha * (u**2 - v**2)

    def observable_sensitivity(self, params) -> Float[Array, " d"]:
        u, v = params
        return 2 * self.log_inverse_alpha * (u**2 + v**2)

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        return jnp.exp(-self.log_inverse_alpha) / jnp.sqrt(self.log_inverse_alpha)

    def time_scale(self, X) -> Float[Array, ""]:
        """1: in rescaled time the staircase lasts O(1) units per jump, but its length is
        data-dependent; pass t1 (e.g. twice the last jump time of the staircase)."""
        return jnp.ones(())
