r"""Steepest descent with respect to an $\ell_p$ norm, as a flow."""

from __future__ import annotations

import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float

from ..potentials.closed_form import check_exponent
from .gradient import AbstractParameterFlow, _scaled_param_grad


def steepest_direction(g, p: float):
    r"""$-\|g\|_q\,v^\star$ with $v^\star = \arg\max_{\|v\|_p\le1}\langle v, g\rangle$:
    $-\|g\|_q^{2-q}\operatorname{sign}(g)|g|^{q-1}$, $1/p + 1/q = 1$. Computed on $g/\|g\|_\infty$
    so that neither tiny nor huge gradients under- or overflow."""
    q = p / (p - 1.0)
    m = jnp.max(jnp.abs(g))
    safe = jnp.where(m > 0, m, 1.0)
    h = g / safe
    norm_q = jnp.sum(jnp.abs(h) ** q) ** (1.0 / q)
    return -safe * norm_q ** (2.0 - q) * jnp.sign(h) * jnp.abs(h) ** (q - 1.0)


class SteepestDescentFlow(AbstractParameterFlow):
    r"""Steepest descent flow with respect to $\|\cdot\|_p$ on the parameters:

    $$\dot\theta = -\|\nabla L\|_q \arg\max_{\|v\|_p \le 1}\langle v, \nabla L\rangle
    = -\|\nabla L\|_q^{2-q}\operatorname{sign}(\nabla L)\,|\nabla L|^{q-1},
    \qquad \tfrac1p + \tfrac1q = 1,$$

    the continuous limit of $\theta_{k+1} = \theta_k + \eta\,\Delta_k$ with $\Delta_k$ the
    steepest step of length $\|\nabla L\|_q$ in the $\ell_p$ norm. $p = 2$ is gradient flow.
    The field is positively homogeneous of degree one in $\nabla L$, so in log time
    $\tau'(s)$ is folded into the loss exponent as for gradient flow.

    On separable data with an exponentially tailed loss the direction tends to the $\ell_p$
    max-margin classifier $\arg\min\|w\|_p$ s.t. $y_i x_i\cdot w \ge 1$ (see
    [`lp_max_margin`][flowbias.lp_max_margin]). On least squares the limit is in general
    *not* the interpolator of least $\ell_p$ norm, nor any closed form: it depends on the
    step's geometry along the whole path (Gunasekar et al. 2018, Sec. 3), and flowbias
    predicts none.

    The end points $p = 1$ (coordinate descent, AdaBoost for the exponential loss) and
    $p = \infty$ (sign descent: $-\|\nabla L\|_1\operatorname{sign}\nabla L$, the sign flow
    up to a change of time) have discontinuous fields and are not integrated directly: they
    are approached through $p \to 1$ and $p \to \infty$, whose $\ell_p$ max-margins tend to
    the $\ell_1$ and $\ell_\infty$ ones (the norms converge uniformly on bounded sets; the
    margin at $p$ is within a factor $d^{|1/p - 1/p_\mathrm{end}|}$ of the end point's).

    ??? cite "Reference"
        Gunasekar, Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of
        Optimization Geometry*, ICML 2018, Theorem 5.

    **Arguments:**

    - `p`: the norm's exponent, in (1, inf).
    """

    p: Float[Array, ""]

    def __init__(self, p: float | ArrayLike):
        self.p = check_exponent(
            p,
            "e.g. p = 1.5. p = 1 (coordinate descent) and p = inf (sign descent) have "
            "discontinuous fields: approach them with p = 1.1 or p = 10.",
        )

    def vector_field(self, s, state, model, loss, time, X, y):
        g = _scaled_param_grad(model, loss, state, X, y, time.log_dt_ds(s), normalise=False)
        flat, unravel = ravel_pytree(g)
        # `g` is the negative gradient: the steepest step of -g is minus that of g.
        return unravel(-steepest_direction(flat, self.p))
