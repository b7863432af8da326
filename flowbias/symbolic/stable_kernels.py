r"""Numerically stable per-factor kernels of the diagonal mirror maps (sympy series -> JAX).

Every quantity of [`DiagonalMirror`][flowbias.symbolic.DiagonalMirror] splits into one term per
factor ($u$, and $v$ with $\psi \to -\psi$, $u_0 \to v_0$). Write the factor in its *exponent*
$x$: for $D = 2$, $x = 4\psi$ and $u = u_0 e^{x/2}$; for $D \ge 3$, with $p = 1/(D-2)$,
$x = t = -\log(1 - D(D-2)u_0^{D-2}\psi)$ and $u = u_0 e^{p t}$ (so $x \in \mathbb R$ covers the
whole domain, the pole at $t = +\infty$). Then

$$T = \psi u^D - \frac{u^2 - u_0^2}{2D} = \frac{u_0^2}{2D} K_T(x), \qquad
E = \frac{u^2 - u_0^2}{2D} - u_0^D\psi = \frac{u_0^2}{2D} K_E(x),$$

$$K_T = \begin{cases} x e^x - \operatorname{expm1} x & D = 2\\
2p\, e^{2pt}\operatorname{expm1} t - \operatorname{expm1}(2pt) & D \ge 3\end{cases},\qquad
K_E = \begin{cases} \operatorname{expm1} x - x & D = 2\\
\operatorname{expm1}(2pt) + 2p \operatorname{expm1}(-t) & D \ge 3\end{cases}.$$

$T \ge 0$ is the factor's share of the mirror potential ($\phi = T_u + T_v$) and $E \ge 0$ its
share of the dual potential beyond the linear term ($H = w_0\psi + E_u + E_v$). Both vanish to
second order at $x = 0$, where the closed forms cancel catastrophically; there we sum their
Taylor series (coefficients derived by sympy, exact rationals, $|x| < 1/2$, 26 terms, truncation
below $10^{-19}$ relative). Elsewhere the closed forms lose at most a few ulps. The scale
$u_0^2$ is passed as a value (never as $e^{2\log u_0}$, which would cost
$|2\log u_0|$ ulps: $3 \cdot 10^{-14}$ at $u_0 = 10^{-30}$) and multiplies exponentials of
$x$ only, which depend on the ratio $u/u_0$, not on the size of $u_0$.

??? cite "Sources"
    - Cancellation and $\operatorname{expm1}$/$\log1p$-based evaluation: N. J. Higham,
      *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002.
    - The factorisation of the potential follows the Legendre identity of
      [`derive_diagonal`][flowbias.symbolic.derive_diagonal] (Woodworth et al. 2020).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import sympy as sp
from jaxtyping import Array, Float


__all__ = [
    "SMALL",
    "dual_factor",
    "expm1",
    "factor_exponent",
    "kernel_expressions",
    "log_ratio",
    "potential_factor",
    "stable_asinh",
    "taylor_coefficients",
]

SMALL = 0.5  # |x| below which the Taylor series is summed
N_TERMS = 26


@jax.custom_jvp
def expm1(x):
    """`jnp.expm1` with the derivative exp(x): JAX differentiates expm1 as expm1(x) + 1, which
    loses all digits for x << 0 (relative error eps e^|x|)."""
    return jnp.expm1(x)


@expm1.defjvp
def _expm1_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return jnp.expm1(x), jnp.exp(x) * dx


def kernel_expressions(depth: int) -> tuple[sp.Symbol, sp.Expr, sp.Expr]:
    """`(x, K_T, K_E)` as sympy expressions in the factor exponent x."""
    x = sp.Symbol("x", real=True)
    if depth == 2:
        return x, x * sp.exp(x) - (sp.exp(x) - 1), (sp.exp(x) - 1) - x
    p = sp.Rational(1, depth - 2)
    e2 = sp.exp(2 * p * x) - 1
    return x, 2 * p * sp.exp(2 * p * x) * (sp.exp(x) - 1) - e2, e2 + 2 * p * (sp.exp(-x) - 1)


@functools.cache
def taylor_coefficients(depth: int, kind: str) -> tuple[float, ...]:
    """Taylor coefficients c_2, c_3, ... of the kernel `kind` ("potential" or "dual"):
    K(x) = x^2 sum_j c_{j+2} x^j."""
    x, kt, ke = kernel_expressions(depth)
    expr = {"potential": kt, "dual": ke}[kind]
    # expr is a combination of x^j e^(c x); the x^n coefficient of x^j e^(c x) is
    # c^(n-j)/(n-j)! (exact rationals; much faster than sympy.series to this order)
    coeffs = [sp.S.Zero] * (N_TERMS + 2)
    for term in sp.Add.make_args(sp.powsimp(sp.expand(expr))):
        factors = sp.Mul.make_args(term)
        rate = sp.S.Zero
        rest = []
        for f in factors:
            if isinstance(f, sp.exp):
                rate += f.args[0] / x
            else:
                rest.append(f)
        (((power,), coef),) = sp.Poly(sp.Mul(*rest), x).terms()
        for n in range(power, N_TERMS + 2):
            coeffs[n] += coef * rate ** (n - power) / sp.factorial(n - power)
    if coeffs[0] != 0 or coeffs[1] != 0:  # pragma: no cover - guards the algebra
        raise AssertionError("kernel is not second order at 0")
    return tuple(float(c) for c in coeffs[2:])


def _series(x, coeffs):
    acc = jnp.full_like(x, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc = acc * x + c
    return x * x * acc


def _branches(x):
    """Inputs for the three branches, each replaced by a harmless value where not used, so that
    neither values nor gradients of the unused branches can produce inf/NaN."""
    small = jnp.abs(x) < SMALL
    xs = jnp.where(small, x, 0.0)
    xp = jnp.where(x >= SMALL, x, 1.0)
    xn = jnp.where(x <= -SMALL, jnp.where(x > -1e4, x, -1e4), -1.0)
    return small, x >= SMALL, xs, xp, xn


def potential_factor(x: Float[Array, "..."], scale: Float[Array, "..."], depth: int):
    """`scale * K_T(x)` (scale = u0^2), stable for every real x."""
    small, pos, xs, xp, xn = _branches(x)
    ser = _series(xs, taylor_coefficients(depth, "potential"))
    if depth == 2:
        big = jnp.exp(xp) * (xp + expm1(-xp))
        neg = xn * jnp.exp(xn) - expm1(xn)
    else:
        p = 1.0 / (depth - 2)
        big = 2 * p * jnp.exp((2 * p + 1) * xp) * -expm1(-xp) + jnp.exp(2 * p * xp) * expm1(
            -2 * p * xp
        )
        neg = 2 * p * jnp.exp(2 * p * xn) * expm1(xn) - expm1(2 * p * xn)
    return scale * jnp.where(small, ser, jnp.where(pos, big, neg))


def dual_factor(x: Float[Array, "..."], scale: Float[Array, "..."], depth: int):
    """`scale * K_E(x)` (scale = u0^2), stable for every real x."""
    small, pos, xs, xp, xn = _branches(x)
    ser = _series(xs, taylor_coefficients(depth, "dual"))
    if depth == 2:
        big = jnp.exp(xp) * -expm1(-xp) - xp
        neg = expm1(xn) - xn
    else:
        p = 1.0 / (depth - 2)
        big = jnp.exp(2 * p * xp) * -expm1(-2 * p * xp) + 2 * p * expm1(-xp)
        neg = expm1(2 * p * xn) + 2 * p * expm1(-xn)
    return scale * jnp.where(small, ser, jnp.where(pos, big, neg))


def log_ratio(x: Float[Array, "..."], depth: int):
    """log(u/u0) of the factor with exponent x: x/2 (D = 2) or x/(D-2) (D >= 3)."""
    return x / 2.0 if depth == 2 else x / (depth - 2)


def factor_exponent(psi: Float[Array, "..."], u0: Float[Array, "..."], depth: int):
    """The exponent x of the factor with initial value u0 at dual point psi (see module doc).
    D >= 3: +inf at the pole psi = 1/(D(D-2) u0^(D-2)), NaN beyond it."""
    if depth == 2:
        return 4.0 * psi
    k = depth * (depth - 2)
    return -jnp.log1p(-k * u0 ** (depth - 2) * psi)


def stable_asinh(x: Float[Array, "..."]):
    """arcsinh with a correct gradient for |x| up to the float64 maximum
    (`jnp.arcsinh`'s gradient underflows to 0 beyond |x| ~ 1e154)."""
    big = jnp.abs(x) > 1e8
    xb = jnp.where(big, jnp.abs(x), 2e8)
    xs = jnp.where(big, 0.0, x)
    return jnp.where(big, jnp.sign(x) * (jnp.log(2.0) + jnp.log(xb)), jnp.arcsinh(xs))
