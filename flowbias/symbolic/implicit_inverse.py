r"""Inverse of the untied depth-$D \ge 3$ link, $\psi = h^{-1}(w)$, by a globally convergent Newton
solve (optimistix) in a scale-free variable.

The flow conserves $u^{2-D} + v^{2-D} = A_0 + B_0 = 2c$ ($A_0 = u_0^{2-D}$, $B_0 = v_0^{2-D}$),
so every point of the path is $u^{2-D} = c(1 - \delta)$, $v^{2-D} = c(1 + \delta)$ with
$\delta \in (-1, 1)$, and with $P = D/(D-2)$

$$\hat w := c^{P} w = (1-\delta)^{-P} - (1+\delta)^{-P}
= 2 (1 - \delta^2)^{-P/2} \sinh(P \operatorname{artanh}\delta),$$

one odd, increasing function for all $u_0, v_0$. Solve for $|\hat w|$ and restore the sign:

* $|\hat w| < 10^{-100}$: $\delta = \hat w / (2P)$ (exact in float64).
* $|\hat w| \le \hat w(1/2)$: Newton on $F(z) = \hat w(\delta_s z)/|\hat w| - 1$ from $z = 1$,
  $\delta_s = 1 - (1 + |\hat w|)^{-1/P} \ge \delta^\star$ (because $\hat w(\delta) \ge
  (1-\delta)^{-P} - 1$). $\hat w$ is convex on $[0, 1)$, so the iterates decrease monotonically
  to the root and never leave the domain.
* $|\hat w| > \hat w(1/2)$ (near the pole): with $a = 1 - \delta = e^{\ell}$, Newton on
  $F(\eta) = -P\eta + \log(1 - r^{P})$, $r = a/(2 - a)$, $\ell = -\log|\hat w|/P + \eta$, from
  $\eta = 0$ (an upper bound, as $\hat w \le a^{-P}$). $F$ is concave decreasing in $\eta$, so the
  iterates again decrease monotonically to the root, and $a$ keeps full relative precision even
  when $a \ll 1$ (where $\delta$ would round to 1).

Then $t_u = -\log(u^{2-D}/A_0)$, $t_v = -\log(v^{2-D}/B_0)$ (the factor exponents of
[`stable_kernels`][flowbias.symbolic.stable_kernels]) and
$\psi = A_0(1 - e^{-t_u})/(D(D-2)) = -B_0(1 - e^{-t_v})/(D(D-2))$, using the branch without
cancellation. Derivatives (in $w$, $u_0$, $v_0$) are the implicit-function-theorem formulas
of `_inverse_jvp`, e.g. $d\psi/dw = 1/h'(\psi)$; no autodiff goes through the solver.
`optimistix.Newton` runs to a step and residual below $10^{-13}$ (quadratic convergence then
leaves rounding only), at most 64 steps; coordinates where the solve does not reach its
tolerance come back as NaN (non-finite input, for example), never as an unflagged wrong
number.

??? cite "Sources"
    - B. Woodworth et al., *Kernel and rich regimes in overparametrized models*, COLT 2020
      (depth-$D$ link, no closed-form inverse).
    - Monotone convergence of Newton's method for convex (concave) increasing (decreasing)
      functions: J. M. Ortega, W. C. Rheinboldt, *Iterative Solution of Nonlinear Equations in
      Several Variables*, Academic Press 1970 (monotone convergence under partial ordering).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import lineax as lx
import optimistix as optx
from jaxtyping import Array, Float

from .stable_kernels import expm1


__all__ = ["domain_bounds", "scaled_link", "solve_untied_inverse"]

TINY = 1e-100
RTOL = ATOL = 1e-13
MAX_STEPS = 64


def scaled_link(delta, power: float):
    """The universal odd link w_hat(delta) = (1-delta)^-P - (1+delta)^-P, stably."""
    return (
        2.0
        * jnp.exp(-0.5 * power * jnp.log1p(-delta * delta))
        * jnp.sinh(power * jnp.arctanh(delta))
    )


def domain_bounds(u0, v0, depth: int):
    """(xi_min, xi_max) of the depth >= 3 link: the poles of v and u (v0 None: tied, -inf)."""
    k = depth * (depth - 2)
    hi = 1.0 / (k * u0 ** (depth - 2))
    lo = jnp.full_like(u0, -jnp.inf) if v0 is None else -1.0 / (k * v0 ** (depth - 2))
    return lo, hi


def _switch(power: float) -> float:
    return 2.0 * 0.75 ** (-power / 2) * math.sinh(power * math.atanh(0.5))


def _residual(y, args):
    large, aw, delta_s, ell_hi, power = args
    z = jnp.where(large, 1.0, y)
    eta = jnp.where(large, y, 0.0)
    f_small = scaled_link(delta_s * z, power) / aw - 1.0
    log_a = ell_hi + eta
    log_r = log_a - jnp.log(2.0 - jnp.exp(log_a))
    f_large = -power * eta + jnp.log1p(-jnp.exp(power * log_r))
    return jnp.where(large, f_large, f_small)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def solve_untied_inverse(
    w: Float[Array, " n"], u0: Float[Array, " n"], v0: Float[Array, " n"], depth: int
) -> tuple[Float[Array, " n"], Float[Array, " n"], Float[Array, " n"]]:
    """`(psi, t_u, t_v)` with h(psi) = w, for flat arrays of equal shape; depth >= 3, untied.

    Powers of u0, v0 are taken directly (never as exp(c log u0), which would cost |c log u0|
    ulps); logarithms are only taken of ratios such as u0/v0 or u/u0. Derivatives come from
    the implicit function theorem in closed form (`_inverse_jvp`), not through the solver."""
    D = depth
    k = D * (D - 2)
    power = D / (D - 2)
    a0, b0 = 1.0 / u0 ** (D - 2), 1.0 / v0 ** (D - 2)
    log_rho = (D - 2) * jnp.log(u0 / v0)  # log(B0 / A0), 0 for u0 = v0
    la_c = -jnp.log1p(0.5 * expm1(log_rho))  # log(A0 / c), c = (A0 + B0) / 2
    lb_c = -jnp.log1p(0.5 * expm1(-log_rho))  # log(B0 / c)
    finite = jnp.isfinite(w)
    what = jnp.where(finite, w, 0.0) / u0**D * jnp.exp(-power * la_c)  # c^P w
    aw = jnp.abs(what)
    sgn = jnp.where(what >= 0, 1.0, -1.0)
    tiny = aw < TINY
    large = aw > _switch(power)
    small = ~tiny & ~large
    # starts of the two solves; harmless dummies where not used
    aw_s = jnp.where(small, aw, 1.0)
    delta_s = -expm1(-jnp.log1p(aw_s) / power)
    ell_hi = jnp.log(jnp.where(large, aw, 2 * _switch(power)) ** (-1.0 / power))
    args = (large, aw_s, delta_s, ell_hi, power)
    y0 = jnp.where(large, 0.0, 1.0)
    solver = optx.Newton(rtol=RTOL, atol=ATOL, linear_solver=lx.Diagonal())
    sol = optx.root_find(
        _residual,
        solver,
        y0,
        args,
        max_steps=MAX_STEPS,
        throw=False,
        tags=frozenset({lx.diagonal_tag}),  # coordinate-wise: O(n) Newton steps
    )
    y = sol.value
    converged = jnp.abs(_residual(y, args)) < 1e-10
    # small / tiny: u^(2-D) = c (1 - delta), v^(2-D) = c (1 + delta)
    delta = jnp.where(tiny, what / (2 * power), sgn * delta_s * jnp.where(large, 1.0, y))
    d_safe = jnp.where(large, 0.0, delta)
    tu_small = la_c - jnp.log1p(-d_safe)
    tv_small = lb_c - jnp.log1p(d_safe)
    # large: the factor at its pole is c a, the other one c (2 - a)
    ell = ell_hi + jnp.where(large, y, 0.0)
    log_other = jnp.log(2.0 - jnp.exp(ell))
    t_u = jnp.where(large, la_c - jnp.where(sgn > 0, ell, log_other), tu_small)
    t_v = jnp.where(large, lb_c - jnp.where(sgn > 0, log_other, ell), tv_small)
    psi = (
        jnp.where(
            t_u >= 0,
            -a0 * expm1(-jnp.where(t_u >= 0, t_u, 0.0)),
            b0 * expm1(-jnp.where(t_u >= 0, 0.0, t_v)),
        )
        / k
    )
    # |w| beyond float64 resolution of the pole can round psi a ulp past it: keep it closed
    psi = jnp.clip(psi, *domain_bounds(u0, v0, D))
    bad = ~finite | ~(converged | tiny)
    nan = jnp.nan
    return jnp.where(bad, nan, psi), jnp.where(bad, nan, t_u), jnp.where(bad, nan, t_v)


@solve_untied_inverse.defjvp
def _inverse_jvp(depth, primals, tangents):
    """Implicit function theorem on h(psi; u0, v0) = w, with u^(2-D) = u0^(2-D) - k psi:
    du/du0 = (u/u0)^(D-1) at fixed psi, so with U = u^(2D-2), V = v^(2D-2),
    dpsi = (dw - D U du0 / u0^(D-1) + D V dv0 / v0^(D-1)) / (D^2 (U + V)), and
    t_u = -log(1 - k u0^(D-2) psi), t_v = -log(1 + k v0^(D-2) psi) differentiate directly."""
    w, u0, v0 = primals
    dw, du0, dv0 = tangents
    D, k = depth, depth * (depth - 2)
    psi, t_u, t_v = solve_untied_inverse(w, u0, v0, depth)
    n = 2 * D - 2
    big_u = u0**n * jnp.exp(n * t_u / (D - 2))
    big_v = v0**n * jnp.exp(n * t_v / (D - 2))
    dpsi = (dw - D * big_u * du0 / u0 ** (D - 1) + D * big_v * dv0 / v0 ** (D - 1)) / (
        D**2 * (big_u + big_v)
    )
    dt_u = k * jnp.exp(t_u) * (u0 ** (D - 2) * dpsi + (D - 2) * u0 ** (D - 3) * psi * du0)
    dt_v = -k * jnp.exp(t_v) * (v0 ** (D - 2) * dpsi + (D - 2) * v0 ** (D - 3) * psi * dv0)
    return (psi, t_u, t_v), (dpsi, dt_u, dt_v)
