r"""Whether a KKT point of a two-layer network's max-margin problem is the global max margin:
the best neuron to add, from the KKT multipliers (a duality bound over networks of any width)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_data, as_float_array, check_int
from ..models import TwoLayerNetwork
from .kkt import KKTCertificate


class NewNeuron(eqx.Module):
    r"""The result of [`best_new_neuron`][flowbias.best_new_neuron].

    **Fields:** `gain`, $G = \max_u |g(u)|$ over the directions tried; `direction`, the
    maximising unit vector $u$; `sign`, the sign $s$ of $g(u)$ (the outer weight of the neuron
    to add); `margin`, the KKT point's normalised margin $1/(2\sum_i\lambda_i)$;
    `margin_bound`, $G/(2\sum_i\lambda_i)$, which bounds the normalised margin of every
    two-layer network with this activation, of any width, when $G$ is the maximum over all
    directions; `improves`, whether $G > 1 + $ `tol` (then the KKT point is not the global
    max margin, and if the network has a neuron at zero, not a local one either).
    """

    gain: float
    direction: Float[Array, " d"]
    sign: float
    margin: float
    margin_bound: float
    improves: bool


@eqx.filter_jit
def _neuron_outputs(net, U, X):
    one = jnp.ones((1,), U.dtype)
    return jax.vmap(lambda u: net.predict((u[None, :], one), X))(U)


def _check_inputs(net, certificate, X, y):
    """The checks shared by the new-neuron functions: the multipliers, and X, y validated."""
    if not isinstance(net, TwoLayerNetwork):
        raise TypeError(f"`net` must be a fb.TwoLayerNetwork; got {type(net).__name__}.")
    if net.activation.degree != 1:
        raise ValueError(
            f"the neuron-addition bound needs an activation of degree one (ReLU, leaky ReLU); "
            f"{net.activation.label} has degree {net.activation.degree}."
        )
    if not isinstance(certificate, KKTCertificate):
        raise TypeError(
            "`certificate` must be a fb.KKTCertificate (from fb.max_margin_kkt or "
            f"fb.polish_kkt(...).certificate); got {type(certificate).__name__}."
        )
    lam = np.asarray(certificate.multipliers, dtype=np.float64)
    if not np.all(np.isfinite(lam)):
        raise ValueError(
            "`certificate` has no multipliers (the direction misclassifies a point). Fix: "
            "certify the end of a run that has fitted the data."
        )
    X, y = as_data(X, y, labels=True)
    net.check_data(X)
    if lam.shape[0] != X.shape[0]:
        raise ValueError(
            f"`certificate` has {lam.shape[0]} multipliers but X has {X.shape[0]} rows; pass "
            "the data it was computed on."
        )
    return lam, X, y


def best_new_neuron(
    net: TwoLayerNetwork,
    certificate: KKTCertificate,
    X,
    y,
    *,
    directions=None,
    num_directions: int = 3600,
    seed: int = 0,
    tol: float = 1e-6,
) -> NewNeuron:
    r"""The neuron whose addition raises the margin most, at a KKT point of a two-layer
    network $f = \sum_k a_k\sigma(w_k\cdot x)$ with $\sigma$ of degree one (ReLU, leaky ReLU).

    With the multipliers $\lambda$ of the KKT point $\theta$ rescaled to margin one
    ([`max_margin_kkt`][flowbias.max_margin_kkt], better its
    [`polish_kkt`][flowbias.polish_kkt]ed version), let
    $$g(u) = \textstyle\sum_i \lambda_i y_i\,\sigma(u\cdot x_i),\qquad \|u\| = 1.$$
    Stationarity makes $|g(u_k)| = 1$ at every live neuron's direction. For *any* network
    $\theta'$ (any width), $\sum_i\lambda_i q_i(\theta') = \sum_k a_k\|w_k\|\,g(u_k) \le
    \tfrac12 G\|\theta'\|^2$ with $G = \sup_u|g(u)|$, so its normalised margin is at most
    $G/(2\sum_i\lambda_i)$, while the KKT point's is $1/(2\sum_i\lambda_i)$ (by Euler's
    identity $\|\theta\|^2 = 2\sum_i\lambda_i$ at margin one). Hence $G = 1$ certifies the
    global max margin over all widths (the dual certificate of the variation-norm problem),
    and $G > 1$ shows a better network exists. If the KKT point has a neuron at zero (a dead
    one, say), growing it as $(\varepsilon u, s\varepsilon)$ lowers the Lagrangian
    $\tfrac12\|\theta\|^2 - \sum_i\lambda_i(q_i - 1)$ by $\varepsilon^2(G - 1)$ at second order
    with no first-order change in the constraints: the second-order necessary condition
    fails, and the KKT point is not even a local optimum.

    $G$ is maximised over `directions` (unit rows), by default a grid of `num_directions`
    angles for $d = 2$, or for $d > 2$ `num_directions` seeded Gaussian directions together
    with $\pm x_i/\|x_i\|$; the live neurons' own directions are always added. A grid gives
    $G$ from below: `improves` is then a proof, while `not improves` holds up to the grid's
    resolution.

    **Arguments:** `net`, the network (a [`TwoLayerNetwork`][flowbias.TwoLayerNetwork] with a
    degree-one activation); `certificate`, the KKT certificate of its end point; `X`, `y` the
    data (labels $\pm 1$); `tol`, the margin by which $G$ must exceed one to count.

    **Returns:** a [`NewNeuron`][flowbias.NewNeuron].

    ??? cite "References"
        Vardi, Shamir & Srebro, *On Margin Maximization in Linear and ReLU Networks*,
        NeurIPS 2022 (KKT points of two-layer ReLU networks that are not local optima);
        Chizat & Bach, COLT 2020 (the variation-norm max-margin problem and its dual).
    """
    lam, X, y = _check_inputs(net, certificate, X, y)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
        raise ValueError(f"`tol` must be a number in [0, 1); got {tol!r}. Fix: e.g. 1e-6.")
    d = X.shape[1]
    if directions is None:
        num = check_int(num_directions, "num_directions", minimum=8, fix="e.g. 3600.")
        if d == 2:
            angles = 2 * np.pi * np.arange(num) / num
            U = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        else:
            rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
            Xn = np.asarray(X) / np.linalg.norm(np.asarray(X), axis=1, keepdims=True)
            U = np.vstack([rng.normal(size=(num, d)), Xn, -Xn])
    else:
        U = np.asarray(as_float_array(directions, "directions", ndim=2))
        if U.shape[1] != d:
            raise ValueError(
                f"`directions` has {U.shape[1]} columns but X has {d}; pass unit vectors in "
                "input space, one per row."
            )
    # The live neurons' own directions, where |g| = 1 at a KKT point.
    W = np.asarray(net.unflat(certificate.theta)[0])
    live = np.linalg.norm(W, axis=1) > 1e-12 * max(float(np.linalg.norm(W)), 1e-300)
    U = np.vstack([U, W[live]])
    norms = np.linalg.norm(U, axis=1, keepdims=True)
    if not np.all(norms > 0):
        raise ValueError("`directions` contains a zero row; pass unit vectors (rows).")
    U = U / norms
    g = new_neuron_gains(net, certificate, X, y, U)
    k = int(np.argmax(np.abs(g)))
    gain = float(abs(g[k]))
    total = float(np.sum(lam))
    return NewNeuron(
        gain,
        jnp.asarray(U[k]),
        float(np.sign(g[k])),
        1.0 / (2 * total),
        gain / (2 * total),
        bool(gain > 1.0 + tol),
    )


def new_neuron_gains(net: TwoLayerNetwork, certificate: KKTCertificate, X, y, directions):
    r"""$g(u) = \sum_i\lambda_i y_i\,\sigma(u\cdot x_i)$ at each unit row $u$ of `directions`,
    with the multipliers of `certificate` (see [`best_new_neuron`][flowbias.best_new_neuron]);
    $\sigma$ is the network's activation, its kink rounding included.

    **Returns:** a NumPy array, one value per direction.
    """
    lam, X, y = _check_inputs(net, certificate, X, y)
    U = np.asarray(as_float_array(directions, "directions", ndim=2))
    if U.shape[1] != X.shape[1]:
        raise ValueError(
            f"`directions` has {U.shape[1]} columns but X has {X.shape[1]}; pass unit vectors "
            "in input space, one per row."
        )
    outputs = np.asarray(_neuron_outputs(net, jnp.asarray(U), jnp.asarray(X)))  # (K, n)
    return outputs @ (lam * np.asarray(y, dtype=np.float64))
