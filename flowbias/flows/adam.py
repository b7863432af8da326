r"""Adam, RMSprop and AdamW as flows: the continuous-time limit of their updates, with the
moment estimates as part of the state."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_float_array, is_concrete
from ._base import AbstractFlow
from .time import LinearTime


def _scalar(x, name: str, lo: float, hi: float, *, closed_lo: bool, fix: str):
    if isinstance(x, bool):
        raise TypeError(f"`{name}` must be a number; got {x!r}. Fix: {fix}")
    a = as_float_array(x, name, ndim=0)
    if is_concrete(a):
        v = float(a)
        ok = (lo <= v if closed_lo else lo < v) and v < hi
        if not ok:
            interval = f"{'[' if closed_lo else '('}{lo:g}, {hi:g})"
            raise ValueError(f"`{name}` must be in {interval}; got {v!r}. Fix: {fix}")
    return a


def _tree_dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


class AdamFlow(AbstractFlow):
    r"""The flow of Adam (AdamW with `weight_decay` $\lambda > 0$) with step $\eta$, in the
    time $t = k\eta$ of its iterates:

    $$\dot m = \frac{g - m}{\tau_1},\quad \dot v = \frac{g^2 - v}{\tau_2},\quad
    \dot\theta = -\frac{\hat m}{\sqrt{\hat v} + \epsilon} - \lambda\theta,\qquad
    \tau_i = \frac{\eta}{1 - \beta_i},$$

    with $g = \nabla L(\theta)$, the bias corrections $\hat m = m/(1 - e^{-t/\tau_1})$ and
    $\hat v = v/(1 - e^{-t/\tau_2})$ (the limits of $1 - \beta_i^k$), and $m(0) = v(0) = 0$
    (so $\hat m(0) = g(0)$, $\hat v(0) = g(0)^2$). $\beta_1 = 0$ is RMSprop; $\tau_1, \tau_2
    \to 0$ with $\epsilon = 0$ is the sign flow $\dot\theta = -\operatorname{sign}\nabla L$,
    steepest descent in $\ell_\infty$ up to a change of time (see
    [`SteepestDescentFlow`][flowbias.SteepestDescentFlow]).

    The loss on separable data decays exponentially in t under the sign-like update, so the
    moments are integrated relative to it, $m = L\,M$ and $v = L^2 V$ ($\dot M = (g/L - M)/\tau_1
    - M\,\tfrac{d}{dt}\log L$, likewise for V, with $g/L$ formed in the log domain): the state
    stays of order one where $m$ and $v$ would underflow, and $\epsilon$ enters as
    $\epsilon/L$. Integrated in linear time only (the moments relax at the rates $1/\tau_i$,
    which a log time would make grow without bound); the relaxation makes the flow stiff,
    so the default solver is implicit.

    Predicted limits, on a linear model: for $\lambda > 0$ a KKT point of
    $\min L(w)$ s.t. $\|w\|_\infty \le 1/\lambda$, reached as $\epsilon \to 0$ (at
    $\epsilon > 0$ within $O(\epsilon)$; see
    [`linf_constrained_minimiser`][flowbias.linf_constrained_minimiser]); for $\lambda = 0$ and
    $\epsilon = 0$ on separable data the $\ell_\infty$ max-margin (its margin: the direction
    need not be unique). With $\epsilon > 0$ and $\lambda = 0$ the update becomes $g/\epsilon$
    once $|g| \ll \epsilon$: gradient flow slowed by $1/\epsilon$, whose direction tends,
    on a logarithmic time scale, to the hard-margin SVM.

    ??? cite "References"
        Zhang, Zou & Cao, *The Implicit Bias of Adam on Separable Data*, NeurIPS 2024 (the
        $\ell_\infty$ max-margin without $\epsilon$); Xie & Li, *Implicit Bias of AdamW:
        $\ell_\infty$-Norm Constrained Optimization*, ICML 2024; the moment ODE as the
        small-step limit of Adam: Barakat & Bianchi, *Convergence and Dynamical Behavior of
        the ADAM Algorithm for Nonconvex Stochastic Optimization*, SIAM J. Optim. 2021.

    **Arguments:**

    - `step_size`: $\eta > 0$, which sets the moments' time constants.
    - `beta1` in [0, 1), `beta2` in (0, 1): the moment decay rates (defaults 0.9, 0.999).
    - `eps` >= 0: the stability constant (default 1e-8; 0 allowed).
    - `weight_decay` >= 0: AdamW's decoupled decay $\lambda$ (default 0).
    """

    linear_time_only: ClassVar[bool] = True

    step_size: Float[Array, ""]
    beta1: Float[Array, ""]
    beta2: Float[Array, ""]
    eps: Float[Array, ""]
    weight_decay: Float[Array, ""]

    def __init__(
        self,
        step_size: float | ArrayLike,
        *,
        beta1: float | ArrayLike = 0.9,
        beta2: float | ArrayLike = 0.999,
        eps: float | ArrayLike = 1e-8,
        weight_decay: float | ArrayLike = 0.0,
    ):
        self.step_size = _scalar(
            step_size, "step_size", 0.0, float("inf"), closed_lo=False, fix="e.g. 1e-2."
        )
        self.beta1 = _scalar(beta1, "beta1", 0.0, 1.0, closed_lo=True, fix="e.g. 0.9.")
        self.beta2 = _scalar(beta2, "beta2", 0.0, 1.0, closed_lo=False, fix="e.g. 0.999.")
        self.eps = _scalar(eps, "eps", 0.0, float("inf"), closed_lo=True, fix="e.g. 1e-8, or 0.")
        self.weight_decay = _scalar(
            weight_decay, "weight_decay", 0.0, float("inf"), closed_lo=True, fix="e.g. 0.1."
        )

    def init_state(self, model, X):
        theta = model.init_params()
        zeros = jax.tree.map(jnp.zeros_like, theta)
        return theta, zeros, zeros

    def _rates(self):
        tau1 = self.step_size / (1.0 - self.beta1)
        tau2 = self.step_size / (1.0 - self.beta2)
        return tau1, tau2

    def vector_field(self, s, state, model, loss, time, X, y):
        if not isinstance(time, LinearTime):
            raise TypeError(
                f"AdamFlow integrates in linear time only; got time={type(time).__name__}(). "
                "Its moments relax at the rates (1 - beta)/eta, which a log time would "
                "multiply by t. Fix: pass `time=fb.LinearTime()` to flowsolve "
                "(classification losses default to log time)."
            )
        theta, M, V = state
        tau1, tau2 = self._rates()
        f, vjp = jax.vjp(lambda p: model.predict(p, X), theta)
        log_loss = loss.log_value(f, y)
        (G,) = vjp(loss.scaled_grad(f, y, -log_loss))  # grad L / L, in the log domain
        # Bias corrections 1 - exp(-t / tau); at t = 0 the corrected moments are G and G^2.
        c1 = -jnp.expm1(-s / tau1)
        c2 = -jnp.expm1(-s / tau2)
        eps_rel = jnp.exp(jnp.log(self.eps) - log_loss)  # eps / L; 0 for eps = 0

        def update(g, m, v):
            m_hat = jnp.where(c1 > 0, m / jnp.where(c1 > 0, c1, 1.0), g)
            v_hat = jnp.where(c2 > 0, v / jnp.where(c2 > 0, c2, 1.0), g * g)
            den = jnp.sqrt(jnp.maximum(v_hat, 0.0)) + eps_rel
            return jnp.where(den > 0, m_hat / jnp.where(den > 0, den, 1.0), 0.0)

        step = jax.tree.map(update, G, M, V)
        dtheta = jax.tree.map(lambda u, p: -u - self.weight_decay * p, step, theta)
        dlog = _tree_dot(G, dtheta)  # d log L / dt
        dM = jax.tree.map(lambda g, m: (g - m) / tau1 - m * dlog, G, M)
        dV = jax.tree.map(lambda g, v: (g * g - v) / tau2 - 2.0 * v * dlog, G, V)
        return dtheta, dM, dV

    def params(self, state, model, X):
        return state[0]

    def observable(self, state, model, X):
        return model.observable(state[0])

    def outputs(self, state, model, X):
        return model.predict(state[0], X)

    def observable_error(self, state, model, X, num_steps):
        sensitivity = model.observable_sensitivity(state[0])
        eps = jnp.finfo(sensitivity.dtype).eps
        return 4 * eps * jnp.sqrt(num_steps + 1.0) * sensitivity

    def state_scale(self, model, loss, X, y):
        return model.parameter_scale(X, y)

    def is_stiff(self, model):
        return True
