r"""A KKT certificate for the max-margin problem of a homogeneous model,
$\min \tfrac12\|\theta\|^2$ s.t. $y_i f(x_i; \theta) \ge 1$."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_data
from ..models import AbstractHomogeneousModel


class KKTCertificate(eqx.Module):
    r"""How close a direction is to a KKT point of the max-margin problem (see
    [`max_margin_kkt`][flowbias.max_margin_kkt]).

    **Fields:** `theta`, the direction rescaled to margin one; `multipliers` $\lambda \ge 0$,
    one per data point; `stationarity`, $\|\theta - \sum_i\lambda_i\nabla_\theta q_i\| /
    \|\theta\|$; `complementarity`, $\sum_i \lambda_i (q_i - 1) / \|\theta\|^2$;
    `feasibility`, $\max(0, 1 - \min_i q_i)$ (0 after the rescaling, $+\infty$ if some point
    is not classified correctly, in which case the other residuals are NaN);
    `normalized_margin`, $\min_i q_i(\theta)/\|\theta\|^L$. Here $q_i = y_i f(x_i;\theta)$.
    """

    theta: Float[Array, " p"]
    multipliers: Float[Array, " n"]
    stationarity: Float[Array, ""]
    complementarity: Float[Array, ""]
    feasibility: Float[Array, ""]
    normalized_margin: Float[Array, ""]

    @property
    def residual(self) -> float:
        """The largest of the three residuals."""
        return float(max(self.stationarity, self.complementarity, self.feasibility))


@eqx.filter_jit
def _margins_and_jacobian(model, theta, X, y):
    def q(t):
        return y * model.predict(model.unflat(t), X)

    return q(theta), jax.jacrev(q)(theta)


def max_margin_kkt(model: AbstractHomogeneousModel, theta, X, y) -> KKTCertificate:
    r"""Certify how far the direction of `theta` is from a KKT point of
    $\min\tfrac12\|\theta\|^2$ s.t. $q_i(\theta) = y_i f(x_i;\theta) \ge 1$.

    The direction is rescaled to margin one, $\tilde\theta = \theta/(\min_i q_i(\theta))^{1/L}$
    (possible when every point is classified correctly), and the multipliers are the
    non-negative least-squares solution of
    $$\min_{\lambda \ge 0}\ \|\tilde\theta - \textstyle\sum_i \lambda_i\nabla q_i(\tilde\theta)\|^2
    + \Big(\textstyle\sum_i \lambda_i (q_i(\tilde\theta) - 1)\Big)^2/\|\tilde\theta\|^2,$$
    which weighs stationarity against complementarity over all constraints, with no
    threshold for which are active. The residuals are Lyu and Li's $(\varepsilon,
    \delta)$-KKT measures, made relative. At a ReLU kink the gradient is the one JAX's
    derivative of the activation gives (see [`ReLU`][flowbias.ReLU]), an element of the Clarke
    subdifferential; for data in general position no neuron sits at a kink.

    **Arguments:** `model`, a homogeneous model; `theta`, its parameters as a flat vector
    (`model.flat(params)`, or the observable of a two-layer network) or as a parameter tree;
    `X`, `y` the data with labels $\pm 1$.

    **Returns:** a [`KKTCertificate`][flowbias.KKTCertificate].

    ??? cite "Reference"
        Lyu & Li, *Gradient Descent Maximizes the Margin of Homogeneous Neural Networks*,
        ICLR 2020, Definitions of $(\varepsilon,\delta)$-KKT points and Theorem 4.4.
    """
    from scipy.optimize import nnls

    if not isinstance(model, AbstractHomogeneousModel):
        raise TypeError(
            f"`model` must be a homogeneous model (fb.DeepLinearNetwork, fb.TwoLayerNetwork); "
            f"got {type(model).__name__}."
        )
    X, y = as_data(X, y, labels=True)
    model.check_data(X)
    if not isinstance(theta, jax.Array | np.ndarray) or np.ndim(theta) != 1:
        theta = model.flat(theta)
    theta = jnp.asarray(theta, dtype=jnp.float64)
    if not bool(jnp.all(jnp.isfinite(theta))):
        raise ValueError(
            "`theta` contains NaN or inf. Fix: pass the parameters of a run that succeeded "
            "(a failed run's end point may not be finite)."
        )
    size = model.flat(model.init_params()).shape[0]
    if theta.shape != (size,):
        raise ValueError(
            f"`theta` has shape {tuple(theta.shape)} but the model has {size} parameters. Fix: "
            "pass model.flat(params) or the parameter tree."
        )
    L = model.degree
    q, _ = _margins_and_jacobian(model, theta, X, y)
    qmin = float(jnp.min(q))
    n = X.shape[0]
    if not qmin > 0:
        nan = jnp.asarray(np.nan)
        return KKTCertificate(
            theta, jnp.full(n, np.nan), nan, nan, jnp.asarray(np.inf), jnp.asarray(qmin)
        )
    theta_t = theta / qmin ** (1.0 / L)
    q, J = (np.asarray(a) for a in _margins_and_jacobian(model, theta_t, X, y))
    th = np.asarray(theta_t)
    norm = float(np.linalg.norm(th))
    A = np.vstack([J.T, ((q - 1.0) / norm)[None, :]])
    b = np.concatenate([th, [0.0]])
    # Scale the columns (the gradients' norms can differ by orders of magnitude) for NNLS's
    # active-set iterations, then undo it.
    cols = np.linalg.norm(A, axis=0)
    cols = np.where(cols > 0, cols, 1.0)
    lam, _ = nnls(A / cols, b, maxiter=50 * (n + 1))
    lam = lam / cols
    stat = np.linalg.norm(th - J.T @ lam) / norm
    comp = float(lam @ (q - 1.0)) / norm**2
    return KKTCertificate(
        theta_t,
        jnp.asarray(lam),
        jnp.asarray(stat),
        jnp.asarray(comp),
        jnp.asarray(max(0.0, 1.0 - float(np.min(q)))),
        jnp.asarray(float(np.min(q)) / norm**L),
    )
