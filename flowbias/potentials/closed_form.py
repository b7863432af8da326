r"""Potentials whose mirror map and its inverse are elementary: p-norms and entropies."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_float_array, is_concrete
from ._base import AbstractPotential


def check_exponent(p, fix: str) -> Float[Array, ""]:
    """`p` as a float64 scalar array, checked to lie in (1, inf) when concrete (an array, so
    that a sweep over p compiles once)."""
    if isinstance(p, bool) or (isinstance(p, int | float) and not 1 < p < math.inf):
        raise ValueError(f"`p` must be a number in (1, inf); got {p!r}. Fix: {fix}")
    p = as_float_array(p, "p", ndim=0)
    if is_concrete(p) and not 1 < float(p) < math.inf:
        raise ValueError(f"`p` must be a number in (1, inf); got {float(p)!r}. Fix: {fix}")
    return p


class PNormPotential(AbstractPotential):
    r"""$\phi(w) = |w|^p / p$, so $\psi(w) = \|w\|_p^p / p$, for $1 < p < \infty$.

    Mirror map $\phi'(w) = \operatorname{sign}(w)|w|^{p-1}$, inverse
    $\operatorname{sign}(z)|z|^{1/(p-1)}$, curvature $(p-1)|w|^{p-2}$. $p = 2$ is gradient
    flow. For $p > 2$ the inverse map is not Lipschitz at $z = 0$ (a coordinate crossing zero
    moves infinitely fast in w), for $p < 2$ the map itself is not.

    On separable data with an exponentially tailed loss, mirror flow with this potential
    converges in direction to the $\ell_p$ max-margin classifier (see
    [`lp_max_margin`][flowbias.lp_max_margin]).

    ??? cite "Reference"
        Sun, Ahn, Thrampoulidis & Azizan, *Mirror Descent Maximizes Generalized Margin and
        Can Be Implemented Efficiently*, NeurIPS 2022.

    **Arguments:**

    - `p`: the exponent, a number in (1, inf).
    """

    p: Float[Array, ""]

    def __init__(self, p: float | ArrayLike):
        self.p = check_exponent(
            p, "e.g. p=1.5 (p = 1 is not strictly convex; approach it with p close to 1)."
        )

    @property
    def label(self) -> str:
        if not is_concrete(self.p):
            return "|w|^p/p"
        return f"|w|^{float(self.p):g}/{float(self.p):g}"

    @property
    def domain(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def phi(self, w):
        return jnp.abs(w) ** self.p / self.p

    def grad(self, w):
        return jnp.sign(w) * jnp.abs(w) ** (self.p - 1.0)

    def grad_inverse(self, z):
        return jnp.sign(z) * jnp.abs(z) ** (1.0 / (self.p - 1.0))

    def curvature(self, w):
        return (self.p - 1.0) * jnp.abs(w) ** (self.p - 2.0)


class NegativeEntropy(AbstractPotential):
    r"""The unnormalised negative entropy $\phi(w) = w\log w - w$ on $w > 0$.

    Mirror map $\log w$, inverse $e^z$, curvature $1/w$: mirror flow is the continuous
    exponentiated-gradient method, $w(t) = w_0 \odot \exp(-\int_0^t\nabla L)$, which is
    gradient flow of the tied diagonal network $w = u \odot u$ up to a time change. On
    least squares its limit is the minimum relative entropy (Kullback-Leibler)
    interpolator $\arg\min_{Xw = y,\, w > 0}\sum_i w_i\log(w_i/w_{0,i}) - w_i + w_{0,i}$.

    ??? cite "Reference"
        Kivinen & Warmuth, *Exponentiated Gradient versus Gradient Descent for Linear
        Predictors*, Information and Computation 1997.
    """

    @property
    def label(self) -> str:
        return "w log w - w"

    @property
    def domain(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def phi(self, w):
        return jnp.where(w > 0, w * jnp.log(jnp.where(w > 0, w, 1.0)), 0.0) - w

    def grad(self, w):
        return jnp.log(w)

    def grad_inverse(self, z):
        return jnp.exp(z)

    def curvature(self, w):
        return 1.0 / w


class HyperbolicEntropy(AbstractPotential):
    r"""The hyperbolic entropy $\phi(w) = w\operatorname{arcsinh}(w/\beta) -
    \sqrt{w^2 + \beta^2}$ on $\mathbb R$, with scale $\beta > 0$.

    Mirror map $\operatorname{arcsinh}(w/\beta)$, inverse $\beta\sinh z$, curvature
    $1/\sqrt{w^2+\beta^2}$. It interpolates between $\|w\|_2^2/(2\beta)$ (large $\beta$) and a
    multiple of $\|w\|_1$ (small $\beta$), and with $\beta = 2\alpha^2$ it is, up to a constant,
    the potential $Q_\alpha$ of the depth-2 diagonal network $u \odot u - v \odot v$ started
    at $u = v = \alpha$: the two flows have the same limit.

    ??? cite "References"
        Ghai, Hazan & Singer, *Exponentiated Gradient Meets Gradient Descent*, ALT 2020;
        Woodworth et al., *Kernel and Rich Regimes in Overparametrized Models*, COLT 2020.

    **Arguments:**

    - `beta`: the scale, a positive number.
    """

    beta: Float[Array, ""]

    def __init__(self, beta: float | ArrayLike):
        beta = as_float_array(beta, "beta", ndim=0)
        if is_concrete(beta) and not 0 < float(beta) < math.inf:
            raise ValueError(
                f"`beta` must be a positive finite number; got {float(beta)!r}. Fix: e.g. "
                "beta=1e-2 (beta = 2 alpha^2 matches a diagonal network at scale alpha)."
            )
        self.beta = beta

    @property
    def label(self) -> str:
        beta = f"{float(self.beta):g}" if is_concrete(self.beta) else "traced"
        return f"hyperbolic entropy (beta {beta})"

    @property
    def domain(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def phi(self, w):
        return w * jnp.arcsinh(w / self.beta) - jnp.hypot(w, self.beta)

    def grad(self, w):
        return jnp.arcsinh(w / self.beta)

    def grad_inverse(self, z):
        return self.beta * jnp.sinh(z)

    def curvature(self, w):
        return 1.0 / jnp.hypot(w, self.beta)
