r"""Mirror flow: gradient descent in the geometry of a potential, integrated in its mirror
coordinates."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._validation import is_concrete
from ..models import LinearModel
from ..potentials import AbstractPotential
from ._base import AbstractFlow
from .gradient import _scaled_param_grad


class MirrorFlow(AbstractFlow):
    r"""Mirror flow $\frac{d}{dt}\nabla\psi(w) = -\nabla L(w)$ of a linear model, for a
    separable potential $\psi(w) = \sum_i\phi(w_i)$.

    The ODE state is the mirror coordinate $z = \nabla\psi(w) = \phi'(w)$, which moves along
    the negative gradient, $\dot z = -\nabla L(w)$ with $w = (\phi')^{-1}(z)$: the continuous
    limit of mirror descent $\nabla\psi(w_{k+1}) = \nabla\psi(w_k) - \eta\nabla L(w_k)$.
    Since $\nabla L = X^\top\nabla_f L$, $z(t) - z(0)$ stays in the row space of $X$, which
    fixes the limits:

    - square loss with an interpolator: $\arg\min D_\psi(w, w_0)$ s.t. $Xw = y$, the
      Bregman projection of $w_0$ (see [`bregman_projection`][flowbias.bregman_projection]);
    - separable data, exponentially tailed loss, $\psi = \|w\|_p^p/p$: the direction of the
      $\ell_p$ max-margin classifier (see [`lp_max_margin`][flowbias.lp_max_margin]).

    In log time $t = e^s - 1$ the factor $\tau'(s)$ is folded into the loss exponent, as for
    gradient flow: the field is linear in $\nabla L$.

    ??? cite "References"
        Gunasekar, Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of
        Optimization Geometry*, ICML 2018 (the regression limit); Sun, Ahn, Thrampoulidis &
        Azizan, *Mirror Descent Maximizes Generalized Margin and Can Be Implemented
        Efficiently*, NeurIPS 2022 (the margin limit).

    **Arguments:**

    - `potential`: an [`AbstractPotential`][flowbias.AbstractPotential], e.g.
      `fb.PNormPotential(1.5)`, `fb.NegativeEntropy()`, `fb.SymbolicPotential("cosh(w)")`.
    """

    potential: AbstractPotential

    def __init__(self, potential: AbstractPotential):
        if not isinstance(potential, AbstractPotential):
            raise TypeError(
                f"`potential` must be a flowbias potential; got {type(potential).__name__}. "
                "Fix: e.g. fb.PNormPotential(1.5), or fb.SymbolicPotential('abs(w)**1.5/1.5')."
            )
        self.potential = potential

    def check(self, model, loss):
        if not isinstance(model, LinearModel):
            raise TypeError(
                f"`flow=MirrorFlow(...)` runs linear models (fb.LinearModel); got "
                f"{type(model).__name__}. Fix: wrap the predictor as fb.LinearModel(w0)."
            )
        if is_concrete(model.w0):  # a traced w0 (inside a sweep) was checked by its caller
            self.potential.check_domain(np.asarray(model.w0), "w0")

    def init_state(self, model, X):
        return self.potential.grad(model.init_params())

    def vector_field(self, s, state, model, loss, time, X, y):
        w = self.potential.grad_inverse(state)
        return _scaled_param_grad(model, loss, w, X, y, time.log_dt_ds(s), normalise=False)

    def params(self, state, model, X):
        return self.potential.grad_inverse(state)

    def observable(self, state, model, X):
        return model.observable(self.params(state, model, X))

    def outputs(self, state, model, X):
        return model.predict(self.params(state, model, X), X)

    def observable_error(self, state, model, X, num_steps):
        # Rounding of the state (relative eps per step, a random walk along the directions the
        # loss does not see) moves w by eps |z| / phi''(w); evaluating the inverse costs eps |w|.
        w = self.potential.grad_inverse(state)
        eps = jnp.finfo(w.dtype).eps
        drift = jnp.abs(state) / self.potential.curvature(w)
        return 4 * eps * jnp.sqrt(num_steps + 1.0) * drift + eps * jnp.abs(w)

    def state_scale(self, model, loss, X, y):
        z0 = self.potential.grad(model.w0)
        s = model.parameter_scale(X, y)
        size = jnp.maximum(jnp.max(jnp.abs(z0)), jnp.abs(self.potential.grad(s)))
        return jnp.where(jnp.isfinite(size) & (size > 0), size, 1.0)

    def time_scale(self, model, X):
        # dw/dt = -grad L / phi''(w): the flow is slower than gradient flow by up to the
        # curvature phi'' on its path, estimated at w0 and at w = 0 (where the coordinates
        # that stay small sit). An over-estimate only lengthens the default horizon, which the
        # convergence event cuts short; capped at 1e4.
        a, b = self.potential.domain
        points = jnp.append(model.w0, 0.0) if a < 0 < b else model.w0
        curv = self.potential.curvature(points)
        scale = jnp.max(jnp.where(jnp.isfinite(curv), curv, 1e4))
        return jnp.clip(scale, 1.0, 1e4) * model.time_scale(X)

    def is_stiff(self, model):
        return False
