"""The dual-reduced flow of a mirror model: n variables instead of the d parameters."""

from __future__ import annotations

import jax.numpy as jnp

from ..models import AbstractMirrorModel
from ._base import AbstractGradientFlow


class DualFlow(AbstractGradientFlow):
    r"""Gradient flow of a mirror model, integrated in its dual variable $\nu\in\mathbb{R}^n$.

    For a model with link $h$ (so $w(t) = h(\xi(t))$, $\xi = -\int_0^t\nabla_w L$) and a loss
    of the outputs $f = Xw$, $\nabla_w L = X^\top \nabla_f L$, so $\xi = X^\top\nu$ with

    $$\dot\nu = -\nabla_f L\big(X h(X^\top \nu)\big), \qquad \nu(0) = 0.$$

    The state has n entries whatever d is: an implicit step costs $O(n^3)$ rather than
    $O(d^3)$. Its observable is evaluated through the link, $w = h(X^\top\nu)$, which the
    model computes without cancellation (for $u^D - v^D$ at a large scale the difference of
    the two powers would lose every digit; the link does not).

    Its state scale (see [`AbstractFlow.state_scale`][flowbias.AbstractFlow.state_scale]) is
    the size of the $\nu$ that maps to the least-squares fit $X^+ y$: for a diagonal network
    at $\alpha = 10^{8}$ that is $\sim 10^{-17}$, far below any fixed absolute tolerance.
    """

    def check(self, model, loss):
        if not isinstance(model, AbstractMirrorModel):
            raise TypeError(
                f"`flow=DualFlow()` needs a mirror model (with a link h); got "
                f"{type(model).__name__}. Fix: use `flow=GradientFlow()` for this model."
            )

    def init_state(self, model, X):
        return jnp.zeros(X.shape[0], dtype=X.dtype)

    def vector_field(self, s, state, model, loss, time, X, y):
        w = model.link(X.T @ state)
        return -loss.scaled_grad(X @ w, y, time.log_dt_ds(s))

    def params(self, state, model, X):
        return model.params_from_xi(X.T @ state)

    def observable(self, state, model, X):
        return model.link(X.T @ state)

    def outputs(self, state, model, X):
        return X @ model.link(X.T @ state)

    def observable_error(self, state, model, X, num_steps):
        # Rounding in xi = X^T nu, amplified by the link's slope, plus the link's own ulps.
        xi = X.T @ state
        eps = jnp.finfo(xi.dtype).eps
        spread = jnp.abs(X).T @ jnp.abs(state)
        return eps * (jnp.abs(model.link_derivative(xi)) * spread + 4 * jnp.abs(model.link(xi)))

    def state_scale(self, model, loss, X, y):
        # nu with X^T nu = h^{-1}(w_fit), w_fit the least-squares fit from w(0).
        w0 = model.link(jnp.zeros(X.shape[1], X.dtype))
        w_fit = w0 + jnp.linalg.pinv(X) @ (y - X @ w0)
        nu = jnp.linalg.pinv(X.T) @ model.inverse_link(w_fit)
        size = jnp.max(jnp.abs(nu))
        return jnp.where(jnp.isfinite(size) & (size > 0), size, 1.0)
