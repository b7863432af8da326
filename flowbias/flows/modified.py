r"""The modified flow of gradient descent with a finite step (implicit gradient regularisation).

Gradient descent $\theta_{k+1} = \theta_k - \eta\nabla L(\theta_k)$ follows gradient flow
at time $t_k = k\eta$ only to first order: over a fixed horizon $t$ the two differ by
$O(\eta)$. Backward error analysis finds the flow that gradient descent follows to second
order: gradient flow on the modified loss

$$\tilde L = L + \frac{\eta}{4}\|\nabla L\|^2, \qquad
  \dot\theta = -\nabla\tilde L = -\Big(\nabla L + \frac{\eta}{2}\nabla^2 L\,\nabla L\Big),$$

whose solution at $t = k\eta$ is within $O(\eta^2)$ of the $k$-th iterate.
"""

from __future__ import annotations

from typing import ClassVar

import jax
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_positive_scalar
from .gradient import AbstractParameterFlow
from .time import LinearTime


class ModifiedGradientFlow(AbstractParameterFlow):
    r"""Gradient flow on the modified loss $L + \frac{\eta}{4}\|\nabla_\theta L\|^2$ of
    gradient descent with step $\eta$ (Barrett & Dherin's implicit gradient regularisation):

    $$\dot\theta = -\Big(\nabla L(\theta) + \frac{\eta}{2}\,\nabla^2 L(\theta)\,
      \nabla L(\theta)\Big).$$

    At $t = k\eta$ its solution matches the $k$-th gradient-descent iterate to $O(\eta^2)$
    over a fixed horizon, where plain gradient flow matches it to $O(\eta)$ (see
    [`step_size_orders`][flowbias.discrete.step_size_orders], which measures both orders).
    The Hessian-gradient product is computed matrix-free, as the Jacobian-vector product of
    the gradient along the gradient itself; no Hessian is formed.

    It is not an [`AbstractGradientFlow`][flowbias.AbstractGradientFlow]: the penalty
    $\frac{\eta}{4}\|\nabla L\|^2$ changes the path and, in general, where it ends, so the
    implicit-bias theorems of gradient flow do not apply to it.

    Integrated in linear time only: the correction is quadratic in the loss gradient, so the
    log-time rescaling that folds $\tau'(s)$ into the loss's exponent does not apply, and the
    $O(\eta^2)$ match holds over a fixed horizon, not up to $t = 10^{100}$. A run in any other
    time is refused when the solve is traced, before anything is computed.

    **Arguments:**

    - `step_size`: the step $\eta$ of the gradient descent it models, positive and finite. It
      is stored as an array, so solves at different $\eta$ share one compiled program.

    ??? cite "Implicit gradient regularisation"
        Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021 (the modified loss
        $L + \frac{h}{4}\|\nabla L\|^2$, whose flow gradient descent with step $h$ follows
        with local error $O(h^3)$). The backward error analysis it uses: Hairer, Lubich & Wanner,
        *Geometric Numerical Integration*, Springer 2006, Chapter IX.
    """

    linear_time_only: ClassVar[bool] = True

    step_size: Float[Array, ""]

    def __init__(self, step_size: float | ArrayLike):
        if isinstance(step_size, bool):
            raise TypeError(
                f"`step_size` must be a positive finite number; got {step_size!r}. "
                "Fix: e.g. ModifiedGradientFlow(0.01)."
            )
        self.step_size = as_positive_scalar(
            step_size, "step_size", fix="pass the gradient-descent step eta, e.g. 0.01."
        )

    def vector_field(self, s, state, model, loss, time, X, y):
        if not isinstance(time, LinearTime):
            raise TypeError(
                f"ModifiedGradientFlow integrates in linear time only; got time="
                f"{type(time).__name__}(). Its correction (eta/2) Hess L grad L is quadratic "
                "in the loss gradient, so the log-time trick of folding tau'(s) into the "
                "loss's exponent does not apply to it (and its O(eta^2) match with gradient "
                "descent holds over a fixed horizon t, not t = 1e100). Fix: pass "
                "`time=fb.LinearTime()` to flowsolve (classification losses default to log "
                "time)."
            )

        def gradient(params):
            f, vjp = jax.vjp(lambda p: model.predict(p, X), params)
            (g,) = vjp(loss.grad(f, y))
            return g

        g, hvp = jax.linearize(gradient, state)
        hg = hvp(g)
        half_eta = 0.5 * self.step_size
        return jax.tree.map(lambda a, b: -(a + half_eta * b), g, hg)
