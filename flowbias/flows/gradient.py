"""Gradient flow on the model parameters, and its loss-normalised variant."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._base import AbstractFlow, AbstractGradientFlow


def _scaled_param_grad(model, loss, params, X, y, log_scale, *, normalise: bool):
    f, vjp = jax.vjp(lambda p: model.predict(p, X), params)
    if normalise:
        log_scale = log_scale - loss.log_value(f, y)
    (g,) = vjp(loss.scaled_grad(f, y, log_scale))
    return jax.tree_util.tree_map(jnp.negative, g)


class AbstractParameterFlow(AbstractFlow):
    """A flow whose state is the model's parameters themselves."""

    def init_state(self, model, X):
        return model.init_params()

    def params(self, state, model, X):
        return state

    def observable(self, state, model, X):
        return model.observable(state)

    def outputs(self, state, model, X):
        return model.predict(state, X)

    def observable_error(self, state, model, X, num_steps):
        sensitivity = model.observable_sensitivity(state)
        eps = jnp.finfo(sensitivity.dtype).eps
        return 4 * eps * jnp.sqrt(num_steps + 1.0) * sensitivity

    def state_scale(self, model, loss, X, y):
        return model.parameter_scale(X, y)


class GradientFlow(AbstractParameterFlow, AbstractGradientFlow):
    r"""Gradient flow $\dot\theta = -\nabla_\theta L(\theta)$ on the model's parameters.

    This is the ground truth of every implicit-bias theorem: it makes no use of any mirror
    structure. In a reparametrised time $t = \tau(s)$ it integrates
    $\frac{d\theta}{ds} = -\tau'(s)\,\nabla_\theta L$, with $\tau'(s)$ folded into the loss's
    exponent so that it never overflows.
    """

    def vector_field(self, s, state, model, loss, time, X, y):
        return _scaled_param_grad(model, loss, state, X, y, time.log_dt_ds(s), normalise=False)


class NormalisedGradientFlow(AbstractParameterFlow, AbstractGradientFlow):
    r"""Gradient flow with step size proportional to $1/L$:
    $\dot\theta = -\nabla_\theta L(\theta) / L(\theta)$.

    The continuous limit of normalised gradient descent $\eta_t \propto 1/L(w_t)$; on separable
    data its margin gap falls like $1/t$ instead of $1/\log t$.

    ??? cite "Faster margin rates with normalised steps"
        Nacson, Lee, Gunasekar, Savarese, Srebro, Soudry, *Convergence of Gradient Descent on
        Separable Data*, AISTATS 2019; Ji & Telgarsky, *Characterizing the implicit bias via a
        primal-dual analysis*, ALT 2021.
    """

    def vector_field(self, s, state, model, loss, time, X, y):
        return _scaled_param_grad(model, loss, state, X, y, time.log_dt_ds(s), normalise=True)
