r"""Diagonal linear networks $w = u^D - v^D$ (and the tied form $w = u^D$)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..symbolic import DiagonalMirror
from ._base import AbstractMirrorModel


class DiagonalNetwork(AbstractMirrorModel):
    r"""The depth-$D$ diagonal linear network $f(x) = \langle u^D - v^D, x\rangle$
    (powers coordinate-wise), or the tied non-negative form $\langle u^D, x\rangle$.

    Gradient flow on $(u, v)$ is a mirror flow on $w$: with $\xi = -\int_0^t\nabla_w L$,
    $w(t) = h(\xi(t))$ for the link $h$ derived in
    [`derive_diagonal`][flowbias.symbolic.derive_diagonal], and the square-loss limit is
    $\arg\min Q(w)$ s.t. $Xw = y$ with $\nabla Q = h^{-1}$. For depth 2 and
    $u(0) = v(0) = \alpha\mathbf 1$: $h(\xi) = 2\alpha^2\sinh 4\xi$ and
    $Q = \frac{\alpha^2}{4}\sum_i q(w_i/\alpha^2)$,
    $q(z) = 2 - \sqrt{4 + z^2} + z\,\operatorname{arcsinh}(z/2)$.

    **Arguments:** `u0` (and `v0` unless `tied`), the initial factors, positive, shape `(d,)`;
    `depth` $D \ge 2$; `tied` for the model $w = u^D$ (which fits only targets reachable with
    $w > 0$). Use [`DiagonalNetwork.uniform`][flowbias.DiagonalNetwork.uniform] for the
    uniform scale $\alpha$.

    ??? cite "Kernel and rich regimes"
        Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro, *Kernel and Rich
        Regimes in Overparametrized Models*, COLT 2020 (depth 2 and depth D); Azulay et al.,
        *On the Implicit Bias of Initialization Shape*, ICML 2021 (vector initialisations).
    """

    stiff_parameter_flow: ClassVar[bool] = True

    mirror: DiagonalMirror

    def __init__(
        self,
        u0: ArrayLike,
        v0: ArrayLike | None = None,
        *,
        depth: int = 2,
        tied: bool = False,
    ):
        self.mirror = DiagonalMirror(u0, v0, depth=depth, tied=tied)

    @classmethod
    def uniform(cls, alpha, d: int, *, depth: int = 2, tied: bool = False) -> "DiagonalNetwork":
        """The network with u(0) = v(0) = alpha * ones(d)."""
        self = object.__new__(cls)
        object.__setattr__(self, "mirror", DiagonalMirror.uniform(alpha, d, depth, tied))
        return self

    @property
    def depth(self) -> int:
        return self.mirror.depth

    @property
    def tied(self) -> bool:
        return self.mirror.tied

    @property
    def dim(self) -> int:
        return self.mirror.d

    @property
    def w0(self) -> Float[Array, " d"]:
        return self.mirror.w0

    def init_params(self):
        return self.mirror.u0 if self.tied else (self.mirror.u0, self.mirror.v0)

    def predictor(self, params) -> Float[Array, " d"]:
        D = self.depth
        if self.tied:
            return params**D
        u, v = params
        return u**D - v**D

    def link(self, xi):
        return self.mirror.link(xi)

    def link_derivative(self, xi):
        return self.mirror.hessian_diag(xi)

    def inverse_link(self, w):
        return self.mirror.inverse_link(w)

    def dual_potential(self, xi):
        return self.mirror.dual_potential(xi)

    def potential(self, w):
        return self.mirror.potential(w)

    def params_from_xi(self, xi):
        u, v = self.mirror.factors(xi)
        return u if self.tied else (u, v)

    def observable_sensitivity(self, params) -> Float[Array, " d"]:
        D = self.depth
        if self.tied:
            return D * jnp.abs(params) ** D
        u, v = params
        return D * (jnp.abs(u) ** D + jnp.abs(v) ** D)

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        u0 = self.mirror.u0
        return jnp.max(u0) if self.tied else jnp.maximum(jnp.max(u0), jnp.max(self.mirror.v0))

    def time_scale(self, X) -> Float[Array, ""]:
        """How much slower than the linear model this network fits: ~1/min h'(0)."""
        return jnp.max(1.0 / self.mirror.hessian_diag(jnp.zeros(self.dim)))
