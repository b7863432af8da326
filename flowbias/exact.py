r"""The exact solution of the one flow that is linear: gradient flow of a linear model on the
square loss."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class ExactLinearSolver(eqx.Module):
    r"""Gradient flow of [`LinearModel`][flowbias.LinearModel] on
    [`SquareLoss`][flowbias.SquareLoss] in closed form, at any $t$ and any number of save
    times, from one SVD of $X$; pass it to [`flowsolve`][flowbias.flowsolve] as `solver=`.

    $\dot w = -\frac1n X^\top(Xw - y)$ is a linear ODE. With $X = USV^\top$ (thin SVD,
    singular values below $\max(n, d)\,\epsilon\, s_{\max}$ dropped as in a pseudo-inverse)
    and $r_0 = y - Xw_0$,

    $$w(t) = w_0 + \sum_k v_k\,\frac{-\operatorname{expm1}(-s_k^2 t/n)}{s_k}\,u_k^\top r_0,$$

    which tends to $w_0 + X^+ r_0$ as $t \to \infty$. `expm1` keeps the small-$t$ terms
    accurate, and $t = 10^{300}$ costs the same as $t = 1$: no steps are taken
    (`stats["num_steps"]` is 0). The diffrax path stays the default, and the tests check
    the two against each other.

    ??? cite "Source"
        The closed form of linear gradient flow; e.g. Sutherland, *CPSC 532D lecture notes*,
        UBC 2025, Prop. 13.1 for the limit.
    """

    def path(
        self,
        w0: Float[Array, " d"],
        X: Float[Array, "n d"],
        y: Float[Array, " n"],
        log_ts: Float[Array, " k"],
    ) -> Float[Array, "k d"]:
        """w(t) at the saved times (given as log t; -inf is t = 0)."""
        n = X.shape[0]
        U, s, Vt = jnp.linalg.svd(X, full_matrices=False)
        eps = jnp.finfo(X.dtype).eps
        keep = s > max(X.shape) * eps * jnp.max(s)
        safe = jnp.where(keep, s, 1.0)
        coef = jnp.where(keep, (U.T @ (y - X @ w0)) / safe, 0.0)  # X^+ r0 in the V basis
        t = jnp.exp(log_ts)[:, None]  # inf for t beyond float64: the limit itself
        decay = -jnp.expm1(-(safe**2)[None, :] * t / n)
        decay = jnp.where(jnp.isnan(decay), 1.0, decay)
        return w0[None, :] + (decay * coef[None, :]) @ Vt
