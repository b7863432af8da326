r"""argmin Q(w) s.t. Xw = y for a separable mirror potential Q, by a dual Newton solve.

The limit of a mirror flow $w = h(X^\top\nu)$ on the square loss satisfies $Xw = y$ with
$\nabla Q(w) = h^{-1}(w) \in \operatorname{range}(X^\top)$: the KKT conditions of
$\min Q(w)$ s.t. $Xw = y$. With $H$ the convex conjugate of $Q$ ($\nabla H = h$), $\nu$ is
the minimiser of the smooth convex *dual* in $n$ variables

$$D(\nu) = \sum_i H\big((X^\top\nu)_i\big) - \langle y, \nu\rangle, \qquad
\nabla D = X h(X^\top\nu) - y, \qquad \nabla^2 D = X\,\mathrm{diag}\,h'(X^\top\nu)\,X^\top,$$

found by Newton's method with a backtracking line search (each step an $n\times n$ LU
solve, via lineax). This uses no time integration, so it is independent of the flows.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_data
from ..models import AbstractMirrorModel, DiagonalNetwork
from ..symbolic import check_tied_reachable


class MirrorLimitError(RuntimeError):
    """The dual Newton solve did not converge; `residual` is the relative residual
    ||Xw - y|| / ||y|| it reached and `steps` the Newton steps taken."""

    def __init__(self, message: str, residual: float, steps: int):
        super().__init__(message)
        self.residual = residual
        self.steps = steps


def _dual(nu, dual_potential, X, y):
    value = dual_potential(X.T @ nu) - y @ nu
    return jnp.where(jnp.isfinite(value), value, jnp.inf)


@eqx.filter_jit
def dual_newton(
    link, link_derivative, dual_potential, X, y, nu0, rtol, max_steps: int, max_backtracks: int
):
    """Minimise D(nu) = H(X^T nu) - <y, nu> by damped Newton, for a link h = grad H given as
    `link`, its derivative `link_derivative` and `dual_potential` H (functions, or bound
    methods of a module). Returns (nu, steps, residual ||X h(X^T nu) - y||)."""

    def grad_hess(nu):
        xi = X.T @ nu
        g = X @ link(xi) - y
        Hm = (X * link_derivative(xi)) @ X.T
        return g, Hm

    def cond(carry):
        k, nu, done, _ = carry
        return (k < max_steps) & ~done

    def body(carry):
        k, nu, _, res_prev = carry
        g, Hm = grad_hess(nu)
        # LU rather than Cholesky: the Hessian's entries span ~60 orders of magnitude at tiny
        # alpha, and rounding can make it numerically indefinite.
        step = lx.linear_solve(lx.MatrixLinearOperator(Hm), -g, lx.LU(), throw=False).value
        step = jnp.where(jnp.all(jnp.isfinite(step)), step, -g)
        f0 = _dual(nu, dual_potential, X, y)
        slope = g @ step

        def bt_cond(c):
            j, t = c
            # Armijo, with slack for rounding in D once the decrease is below its precision.
            slack = 16 * jnp.finfo(X.dtype).eps * jnp.abs(f0)
            ok = _dual(nu + t * step, dual_potential, X, y) <= f0 + 1e-4 * t * slope + slack
            return (j < max_backtracks) & ~ok

        def bt_body(c):
            j, t = c
            return j + 1, 0.3 * t

        _, t = jax.lax.while_loop(bt_cond, bt_body, (0, jnp.ones((), X.dtype)))
        nu_new = nu + t * step
        # Converged: the constraint residual is below rtol, or full Newton steps have stopped
        # reducing it (it is at its rounding floor).
        res = jnp.linalg.norm(X @ link(X.T @ nu_new) - y)
        ynorm = jnp.linalg.norm(y)
        floor = (res <= 1e-9 * ynorm) & (t == 1.0) & (res >= 0.5 * res_prev)
        done = (res <= rtol * ynorm) | floor
        return k + 1, nu_new, done, res

    init = (0, nu0, jnp.array(False), jnp.asarray(jnp.inf, X.dtype))
    k, nu, _, res = jax.lax.while_loop(cond, body, init)
    return nu, k, res


def mirror_limit(
    model, X: ArrayLike, y: ArrayLike, *, rtol: float = 1e-14, max_steps: int = 500
) -> Float[Array, " d"]:
    r"""$\arg\min Q(w)$ s.t. $Xw = y$ for a mirror model (e.g. a
    [`DiagonalNetwork`][flowbias.DiagonalNetwork]), via the dual Newton solve above.

    Raises `ValueError` if the constraints cannot be met (for the tied model: no $w > 0$ with
    $Xw = y$), and [`MirrorLimitError`][flowbias.references.MirrorLimitError] with advice if
    Newton does not converge in `max_steps` steps.

    ??? cite "Mirror-descent view of diagonal networks"
        Woodworth et al., COLT 2020, Theorem 1 (and its depth-D version); Azulay et al.,
        ICML 2021 (shape-dependent potentials). The duality is standard convex analysis
        (Rockafellar, *Convex Analysis*, Sec. 31).
    """
    if not isinstance(model, AbstractMirrorModel):
        raise TypeError(
            f"`model` must be a mirror model (e.g. fb.DiagonalNetwork); got {type(model).__name__}."
        )
    X, y = as_data(X, y)
    model.check_data(X)
    if np.linalg.matrix_rank(np.asarray(X)) < X.shape[0]:
        raise ValueError(
            f"`X` has rank {np.linalg.matrix_rank(np.asarray(X))} < n = {X.shape[0]} rows: the "
            "dual problem is degenerate (and Xw = y may have no solution). Fix: remove "
            "linearly dependent rows of X (and the matching entries of y)."
        )
    if isinstance(model, DiagonalNetwork) and model.tied:
        report = check_tied_reachable(X, y)
        if not report.reachable or not report.margin > 0:
            raise ValueError(
                "`y` is not reachable by the tied model w = u^D: no interpolator with all "
                f"w_i > 0 exists (largest attainable min_i w_i: {report.margin:.3g}). Fix: use "
                "the untied model w = u^D - v^D (tied=False), or targets in the cone X w, w > 0."
            )
    nu, k, res = dual_newton(
        model.link,
        model.link_derivative,
        model.dual_potential,
        X,
        y,
        jnp.zeros(X.shape[0], X.dtype),
        jnp.asarray(rtol),
        max_steps,
        1000,
    )
    if not float(res) <= 1e-9 * float(jnp.linalg.norm(y)):
        rel = float(jnp.linalg.norm(X @ model.link(X.T @ nu) - y) / jnp.linalg.norm(y))
        raise MirrorLimitError(
            f"the dual Newton solve for argmin Q s.t. Xw = y did not converge in {int(k)} steps "
            f"(relative residual {rel:.2e}). Fix: raise `max_steps`, or loosen `rtol`; extreme "
            "alpha with badly scaled X can need both.",
            rel,
            int(k),
        )
    return model.link(X.T @ nu)
