r"""The KKT point of the max-margin problem nearest the end of a run, by Newton's method on the
KKT system: how far the flow's direction still is from its limit, and that the limit is KKT to
round-off."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._validation import check_int
from ..models import AbstractHomogeneousModel
from .errors import LimitError
from .kkt import KKTCertificate, max_margin_kkt


class PolishedKKT(eqx.Module):
    r"""The result of [`polish_kkt`][flowbias.polish_kkt].

    **Fields:** `certificate`, the [`KKTCertificate`][flowbias.KKTCertificate] of the polished
    point (its `theta` has margin one); `start`, the certificate of the direction passed in;
    `active`, the constraints kept active (a boolean per data point); `distance`,
    $\|\bar\theta - \bar\theta_\star\|$ between the unit directions passed in and polished (an
    angle, for small values); `iterations`, Newton steps taken.
    """

    certificate: KKTCertificate
    start: KKTCertificate
    active: Array
    distance: float
    iterations: int


@eqx.filter_jit
def _kkt_residual(model, z, X, y, active):
    p = z.shape[0] - X.shape[0]
    theta, lam = z[:p], jnp.where(active, z[p:], 0.0)

    def q(t):
        return y * model.predict(model.unflat(t), X)

    qv, vjp = jax.vjp(q, theta)
    (grad,) = vjp(lam)
    # Inactive constraints: lambda_i = 0 is an equation of its own, so the system stays square.
    return jnp.concatenate([theta - grad, jnp.where(active, qv - 1.0, z[p:])])


@eqx.filter_jit
def _kkt_jacobian(model, z, X, y, active):
    return jax.jacfwd(lambda v: _kkt_residual(model, v, X, y, active))(z)


def polish_kkt(
    model: AbstractHomogeneousModel,
    theta,
    X,
    y,
    *,
    tol: float = 1e-13,
    max_iter: int = 50,
) -> PolishedKKT:
    r"""The KKT point of $\min\tfrac12\|\theta\|^2$ s.t. $q_i(\theta) = y_i f(x_i;\theta) \ge
    1$ next to the direction of `theta`, found by Newton's method from it.

    A flow's direction approaches its KKT limit slowly (for a two-layer network the offset
    orthogonal to the limit stays bounded while $\|\theta\|$ grows like $(\log t)^{1/2}$, so
    the residuals of [`max_margin_kkt`][flowbias.max_margin_kkt] fall like
    $(\log t)^{-1/2}$). This finds the limit itself: from the direction rescaled to margin
    one, with the constraints that carry a multiplier in its certificate taken as active
    ($\lambda_i > 10^{-8}\max_j\lambda_j$), it solves
    $$\theta = \textstyle\sum_{i \in A}\lambda_i\nabla q_i(\theta),\qquad
    q_i(\theta) = 1\ (i\in A)$$
    by Levenberg-Marquardt steps with damping $\|F\|^2$ (converging quadratically to a nearby
    solution also where KKT points are not isolated, e.g. where neurons may trade norm). A
    constraint whose multiplier turns negative is dropped, one that becomes violated is added,
    and the iteration goes on, at most `max_iter` steps in all.

    **Arguments:** `model`, a homogeneous model; `theta`, its parameters (flat or a tree), e.g.
    the end of a run; `X`, `y` the data (labels $\pm 1$). `tol`: the residual (relative to
    $\|\theta\|$) at which Newton stops.

    **Returns:** a [`PolishedKKT`][flowbias.PolishedKKT]: the polished point's certificate
    (residuals at round-off when Newton converged), the distance from the direction passed in,
    and the active set.

    Raises [`LimitError`][flowbias.LimitError] if `theta` misclassifies a point (no margin to
    rescale to) or Newton does not converge (the start is too far from a KKT point: run the
    flow longer).

    ??? cite "Reference"
        Lyu & Li, *Gradient Descent Maximizes the Margin of Homogeneous Neural Networks*,
        ICLR 2020, Theorem 4.4 (the limit direction is a KKT point of this problem).
    """
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol < 1:
        raise ValueError(f"`tol` must be a number in (0, 1); got {tol!r}. Fix: e.g. 1e-13.")
    max_iter = check_int(max_iter, "max_iter", minimum=1, fix="e.g. 50.")
    start = max_margin_kkt(model, theta, X, y)
    if not float(start.feasibility) == 0.0:
        raise LimitError(
            "`theta` does not classify every point correctly, so it has no KKT point to polish "
            "towards. Fix: pass the end of a run that has fitted the data."
        )
    Xj, yj = jnp.asarray(X, jnp.float64), jnp.asarray(y, jnp.float64)
    lam0 = np.asarray(start.multipliers)
    active = lam0 > 1e-8 * max(float(lam0.max()), 1e-300)
    z = np.concatenate([np.asarray(start.theta), np.where(active, lam0, 0.0)])
    p = z.shape[0] - lam0.shape[0]
    iterations, converged = 0, False
    while iterations < max_iter:
        F = np.asarray(_kkt_residual(model, jnp.asarray(z), Xj, yj, jnp.asarray(active)))
        scale = max(float(np.linalg.norm(z[:p])), 1e-300)
        if np.linalg.norm(F) <= tol * scale:
            lam = z[p:]
            q = np.asarray(yj * model.predict(model.unflat(jnp.asarray(z[:p])), Xj))
            negative = active & (lam < 0)
            violated = ~active & (q < 1.0 - 1e-12)
            if not (negative.any() or violated.any()):
                converged = True
                break
            active = (active & ~negative) | violated
            z[p:] = np.where(active, np.maximum(z[p:], 0.0), 0.0)
            continue
        J = np.asarray(_kkt_jacobian(model, jnp.asarray(z), Xj, yj, jnp.asarray(active)))
        # Levenberg-Marquardt with mu = |F|^2 (Yamashita & Fukushima): quadratic convergence
        # to a nearby solution even where the solutions are not isolated and J is (nearly)
        # singular, where plain least-squares steps jump along the near-null directions.
        mu = float(F @ F) / scale**2
        normal = J.T @ J
        while True:
            step = np.linalg.solve(normal + mu * np.eye(len(z)) * scale**2, J.T @ F)
            Fnew = np.asarray(
                _kkt_residual(model, jnp.asarray(z - step), Xj, yj, jnp.asarray(active))
            )
            if np.linalg.norm(Fnew) < np.linalg.norm(F) or mu > 1e10:
                break
            mu = max(10 * mu, 1e-12)
        z = z - step
        iterations += 1
    if not converged:
        raise LimitError(
            f"Newton's method on the KKT system did not converge in {max_iter} steps from this "
            "direction (it is too far from a KKT point, or the active set keeps changing). Fix: "
            "run the flow longer (a larger t1 or log_t1) and polish its end."
        )
    polished = max_margin_kkt(model, jnp.asarray(z[:p]), X, y)
    u = np.asarray(start.theta) / np.linalg.norm(start.theta)
    v = z[:p] / np.linalg.norm(z[:p])
    return PolishedKKT(
        polished, start, jnp.asarray(active), float(np.linalg.norm(u - v)), iterations
    )
