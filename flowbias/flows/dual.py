"""The dual-reduced flow of a mirror model: n variables instead of the d parameters."""

from __future__ import annotations

import jax.numpy as jnp

from ..models import AbstractMirrorModel
from ._base import AbstractFlow


class DualFlow(AbstractFlow):
    r"""Gradient flow of a mirror model, integrated in its dual variable $\nu\in\mathbb{R}^n$.

    For a model with link $h$ (so $w(t) = h(\xi(t))$, $\xi = -\int_0^t\nabla_w L$) and a loss
    of the outputs $f = Xw$, $\nabla_w L = X^\top \nabla_f L$, so $\xi = X^\top\nu$ with

    $$\dot\nu = -\nabla_f L\big(X h(X^\top \nu)\big), \qquad \nu(0) = 0.$$

    The state has n entries whatever d is: an implicit step costs $O(n^3)$ rather than
    $O(d^3)$. Its parameters are reported as the effective predictor $w = h(X^\top\nu)$.
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
