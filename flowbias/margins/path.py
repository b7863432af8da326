r"""Margins of a homogeneous model along a solved path: the normalised margin, the smoothed
margin of Lyu and Li, the parameter norm, and the layers' norms and balance."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ..losses import AbstractClassificationLoss
from ..models import AbstractHomogeneousModel
from ..solution import FlowSolution


class MarginPath(eqx.Module):
    r"""Margin quantities at every saved time of a run (see
    [`margin_path`][flowbias.margin_path]).

    **Fields:** `log_ts`; `normalized_margin`, $\min_i y_i f(x_i;\theta)/\|\theta\|^L$;
    `smoothed_margin`, $g(\log(1/\mathcal L))/\|\theta\|^L$ with $\mathcal L = \sum_i
    \ell(y_i f(x_i; \theta))$ the *summed* loss and $g$ the inverse of $-\log\ell$ (for the
    exponential loss $g(u) = u$); `fitted`, whether $\mathcal L < \ell(0)$ (every point
    classified correctly; from then on the smoothed margin cannot decrease); `parameter_norm`,
    $\|\theta\|$ (all parameters together); `layer_norms` (time x layer); `balancedness`
    (time x (layers - 1), conserved: see
    [`balancedness`][flowbias.AbstractHomogeneousModel.balancedness]).
    """

    log_ts: Float[Array, " k"]
    normalized_margin: Float[Array, " k"]
    smoothed_margin: Float[Array, " k"]
    fitted: Bool[Array, " k"]
    parameter_norm: Float[Array, " k"]
    layer_norms: Float[Array, "k layers"]
    balancedness: Float[Array, "k layers-1"]


def _margins_at(model, loss, params, X, y):
    theta = model.flat(params)
    rho = jnp.sqrt(jnp.sum(theta**2))
    q = y * model.predict(params, X)
    scale = rho**model.degree
    log_sum = jax.nn.logsumexp(loss.log_ell(q))
    smoothed = loss.inverse_neg_log_ell(-log_sum) / scale
    fitted = log_sum < loss.log_ell(jnp.zeros(()))
    return (
        jnp.min(q) / scale,
        smoothed,
        fitted,
        rho,
        model.layer_norms(params),
        model.balancedness(params),
    )


@eqx.filter_jit
def _path(model, loss, params, X, y):
    return jax.vmap(lambda p: _margins_at(model, loss, p, X, y))(params)


def margin_path(sol: FlowSolution) -> MarginPath:
    r"""The margins of a homogeneous model at every saved time of `sol`.

    The smoothed margin $\tilde\gamma = g(\log(1/\mathcal L))/\|\theta\|^L$ is a lower bound
    of the normalised margin, $\tilde\gamma \le \gamma \le \tilde\gamma + \log n/\|\theta\|^L$
    (exponential loss), and is non-decreasing along gradient flow once $\mathcal L < \ell(0)$:
    Lyu & Li's monotonicity lemma, which makes it the quantity to watch.

    **Arguments:** `sol`, a run of an
    [`AbstractHomogeneousModel`][flowbias.AbstractHomogeneousModel] on a classification loss.

    **Returns:** a [`MarginPath`][flowbias.MarginPath].

    ??? cite "Reference"
        Lyu & Li, *Gradient Descent Maximizes the Margin of Homogeneous Neural Networks*,
        ICLR 2020 (the smoothed margin, its monotonicity, and convergence of the direction to
        a KKT point of the max-margin problem).
    """
    if not isinstance(sol, FlowSolution):
        raise TypeError(f"`sol` must be a FlowSolution; got {type(sol).__name__}.")
    p = sol.problem
    if not isinstance(p.model, AbstractHomogeneousModel):
        raise TypeError(
            f"margins normalised by ||theta||^L need a homogeneous model (fb.DeepLinearNetwork, "
            f"fb.TwoLayerNetwork); the run's model is {type(p.model).__name__}. For a linear "
            "model use fb.normalized_margin(sol.w, X, y)."
        )
    if not isinstance(p.loss, AbstractClassificationLoss):
        raise TypeError(
            f"margins need a classification loss (exp or logistic); the run used "
            f"{type(p.loss).__name__}."
        )
    if np.ndim(sol.log_ts) != 1:
        raise ValueError("the solution holds a batch of runs; pass one run (sol.run(k)).")
    out = _path(p.model, p.loss, sol.params, p.X, p.y)
    return MarginPath(sol.log_ts, *out)
