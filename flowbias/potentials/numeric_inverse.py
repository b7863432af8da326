r"""The inverse of a strictly increasing mirror map by a safeguarded root find, with its exact
derivative $dw/dz = 1/\phi''(w)$.

The root of $\phi'(w) = z$ is bracketed on the whole domain at once, by writing
$w = m(u)$ with a strictly increasing map $m$ of $u \in [-745, 745]$ onto the domain
($\sinh u$ on $\mathbb R$, $a + e^u$ on $(a, \infty)$, $b - e^{-u}$ on $(-\infty, b)$, a
logistic on $(a, b)$): 64 bisection steps in $u$ (a fixed count, so the loop is a plain
`fori_loop`), then Newton steps in $w$ that are kept only while they stay inside the
bracket and reduce the residual. Every float64 point of the domain is reachable, so no
bracket-growing loop is needed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp


_U_MAX = 745.0
_BISECTIONS = 64
_NEWTON = 6


def _to_domain(u, domain: tuple[float, float]):
    a, b = domain
    if a == -math.inf and b == math.inf:
        return jnp.sinh(u)
    if b == math.inf:
        return a + jnp.exp(u)
    if a == -math.inf:
        return b - jnp.exp(-u)
    return a + (b - a) * jax.nn.sigmoid(u)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def monotone_inverse(
    grad: Callable, curvature: Callable, domain: tuple[float, float], z: jax.Array
) -> jax.Array:
    r"""Solve $\phi'(w) = z$ entrywise for $w$ in `domain`, with $\phi'$ = `grad` strictly
    increasing and $\phi''$ = `curvature` > 0. Differentiable in `z` (implicit function
    theorem: $dw = dz/\phi''(w)$)."""
    z = jnp.asarray(z)
    lo = jnp.full_like(z, -_U_MAX)
    hi = jnp.full_like(z, _U_MAX)

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        above = grad(_to_domain(mid, domain)) > z
        return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

    lo, hi = jax.lax.fori_loop(0, _BISECTIONS, bisect, (lo, hi))
    w_lo, w_hi = _to_domain(lo, domain), _to_domain(hi, domain)
    w = 0.5 * (w_lo + w_hi)

    def newton(_, w):
        r = grad(w) - z
        step = w - r / curvature(w)
        inside = (step >= w_lo) & (step <= w_hi) & jnp.isfinite(step)
        better = jnp.abs(grad(jnp.where(inside, step, w)) - z) <= jnp.abs(r)
        return jnp.where(inside & better, step, w)

    return jax.lax.fori_loop(0, _NEWTON, newton, w)


@monotone_inverse.defjvp
def _monotone_inverse_jvp(grad, curvature, domain, primals, tangents):
    (z,) = primals
    (dz,) = tangents
    w = monotone_inverse(grad, curvature, domain, z)
    return w, dz / curvature(w)
