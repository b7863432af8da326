r"""The Bregman projection $\arg\min D_\psi(w, w_0)$ s.t. $Xw = y$: the limit of mirror flow on
least squares.

Its KKT conditions are $\nabla\psi(w) = \nabla\psi(w_0) + X^\top\nu$ and $Xw = y$, so
$w = h(X^\top\nu)$ with the link $h(\xi) = (\nabla\psi)^{-1}(\nabla\psi(w_0) + \xi)$, and $\nu$
minimises the dual $D(\nu) = \psi^*(\nabla\psi(w_0) + X^\top\nu) - \langle y, \nu\rangle$,
with $\nabla^2 D = X\,\mathrm{diag}(1/\phi''(w))\,X^\top$: the same damped Newton solve as for
the diagonal networks' potentials ([`mirror_limit`][flowbias.mirror_limit]). No time
integration is involved: it is independent of the flows.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_data, as_float_array
from ..potentials import AbstractPotential
from .errors import LimitError
from .mirror_limit import dual_newton


class _BregmanLink(eqx.Module):
    potential: AbstractPotential
    z0: Float[Array, " d"]

    def link(self, xi):
        return self.potential.grad_inverse(self.z0 + xi)

    def link_derivative(self, xi):
        return 1.0 / self.potential.curvature(self.link(xi))

    def dual_potential(self, xi):
        return self.potential.conjugate(self.z0 + xi)


class BregmanProjection(eqx.Module):
    r"""The solution of [`bregman_projection`][flowbias.bregman_projection].

    **Fields:** `w`, the projection; `dual`, $\nu$ with
    $\nabla\psi(w) = \nabla\psi(w_0) + X^\top\nu$ (stationarity holds by construction);
    `residual`, the relative feasibility $\|Xw - y\| / \|y\|$; `steps`, Newton steps.
    """

    w: Float[Array, " d"]
    dual: Float[Array, " n"]
    residual: float
    steps: int


def bregman_projection(
    X: ArrayLike,
    y: ArrayLike,
    w0: ArrayLike,
    potential: AbstractPotential,
    *,
    rtol: float = 1e-14,
    max_steps: int = 500,
) -> BregmanProjection:
    r"""$\arg\min_w D_\psi(w, w_0)$ s.t. $Xw = y$, with $D_\psi(w, w_0) = \psi(w) - \psi(w_0) -
    \langle\nabla\psi(w_0), w - w_0\rangle$ the Bregman divergence of a separable potential.

    This is the limit of [`MirrorFlow`][flowbias.MirrorFlow] on the square loss from $w_0$
    when an interpolator exists in the potential's domain. For $\psi = \frac12\|w\|^2$ it is
    the min-norm interpolator nearest $w_0$.

    **Arguments:**

    - `X`, `y`: data `(n, d)` with full row rank, and targets `(n,)`.
    - `w0`: the initialisation, inside the potential's domain.
    - `potential`: an [`AbstractPotential`][flowbias.AbstractPotential].
    - `rtol`, `max_steps`: the Newton solve's target relative residual and step cap.

    **Returns:** a [`BregmanProjection`][flowbias.BregmanProjection]. Raises
    [`LimitError`][flowbias.LimitError] if the solve does not reach a relative residual
    $10^{-9}$ (typically: no interpolator inside the domain, e.g. none with $w > 0$ for an
    entropy).

    ??? cite "Reference"
        Gunasekar, Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of
        Optimization Geometry*, ICML 2018, Sec. 2 (mirror descent on under-determined least
        squares).
    """
    if not isinstance(potential, AbstractPotential):
        raise TypeError(
            f"`potential` must be a flowbias potential; got {type(potential).__name__}."
        )
    X, y = as_data(X, y)
    w0 = as_float_array(w0, "w0", ndim=1)
    if w0.shape[0] != X.shape[1]:
        raise ValueError(f"`w0` has length {w0.shape[0]} but X has d = {X.shape[1]} columns.")
    potential.check_domain(np.asarray(w0), "w0")
    rank = np.linalg.matrix_rank(np.asarray(X))
    if rank < X.shape[0]:
        raise ValueError(
            f"`X` has rank {rank} < n = {X.shape[0]} rows. Fix: remove linearly dependent rows "
            "of X (and the matching entries of y)."
        )
    link = _BregmanLink(potential, potential.grad(w0))
    nu, k, res = dual_newton(
        link.link,
        link.link_derivative,
        link.dual_potential,
        X,
        y,
        jnp.zeros(X.shape[0], X.dtype),
        jnp.asarray(rtol),
        int(max_steps),
        200,
    )
    w = link.link(X.T @ nu)
    rel = float(jnp.linalg.norm(X @ w - y) / jnp.maximum(jnp.linalg.norm(y), 1e-300))
    if not rel <= 1e-9:
        raise LimitError(
            f"the Bregman projection for the potential {potential.label} did not converge in "
            f"{int(k)} Newton steps (relative residual {rel:.2e}): most likely no w in the "
            "potential's domain interpolates the data (for an entropy: no w > 0 with Xw = y). "
            "Fix: check that an interpolator exists in the domain, or raise `max_steps`."
        )
    return BregmanProjection(w=w, dual=nu, residual=rel, steps=int(k))
