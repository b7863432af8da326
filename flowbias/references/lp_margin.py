r"""The max-margin classifier in an $\ell_p$ norm, with a duality certificate.

$$\hat w_p = \arg\min_w \|w\|_p \quad\text{s.t.}\quad z_i\cdot w \ge 1, \qquad z_i = y_i x_i,$$

the direction limit of mirror flow with $\psi = \|w\|_p^p/p$ and of steepest descent in
$\|\cdot\|_p$ on separable data. Its Lagrange dual is
$\max_{a \ge 0} \mathbf 1^\top a$ s.t. $\|Z^\top a\|_q \le 1$ ($1/p + 1/q = 1$), with equal
optimal values; the margin is $\gamma_p = 1/\|\hat w_p\|_p$. Solved by cvxpy (Clarabel) and
certified by the relative duality gap and the infeasibilities of both sides.
"""

from __future__ import annotations

import math
import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .errors import LimitError
from .separability import _signed_data, require_separable


class LpMarginSolution(eqx.Module):
    r"""The solution of [`lp_max_margin`][flowbias.lp_max_margin].

    **Fields:** `w` ($\min_i z_i\cdot w = 1$), `p`, `margin` $= 1/\|w\|_p$, `dual` $a \ge 0$,
    `residual` (the largest of the relative duality gap, primal infeasibility
    $\max_i(1 - z_i\cdot w)_+$ and dual infeasibility $(\|Z^\top a\|_q - 1)_+$), and `unique`
    (False for $p \in \{1, \infty\}$, whose max-margin problems can have many solutions: then
    only the margin, not the direction, is predicted).
    """

    w: Float[Array, " d"]
    p: float
    margin: float
    dual: Float[Array, " n"]
    residual: float
    unique: bool


def _dual_norm(p: float) -> float:
    if p == 1:
        return math.inf
    if p == math.inf:
        return 1.0
    return p / (p - 1.0)


def lp_max_margin(X, y, p: float) -> LpMarginSolution:
    r"""$\arg\min\|w\|_p$ s.t. $y_i x_i\cdot w \ge 1$, for $p \in [1, \infty]$.

    Raises [`NonSeparableError`][flowbias.NonSeparableError] for data that are not linearly
    separable through the origin, and [`LimitError`][flowbias.LimitError] if the solver's
    certificate exceeds $10^{-6}$.

    ??? cite "References"
        Gunasekar, Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of
        Optimization Geometry*, ICML 2018; Sun, Ahn, Thrampoulidis & Azizan, *Mirror Descent
        Maximizes Generalized Margin and Can Be Implemented Efficiently*, NeurIPS 2022.
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or not 1 <= p <= math.inf:
        raise ValueError(f"`p` must be a number in [1, inf]; got {p!r}.")
    import cvxpy as cp  # on first use: it costs ~1 s of `import flowbias`

    p = float(p)
    Xn, yn, Z = _signed_data(X, y, "lp_max_margin")
    require_separable(Xn, yn)
    # Solve on rescaled data (max |z| = 1): w scales by the inverse factor.
    scale = float(np.max(np.abs(Z)))
    Zs = Z / scale
    w = cp.Variable(Z.shape[1])
    constraint = Zs @ w >= 1
    with warnings.catch_warnings():
        # "Solution may be inaccurate" at these tight tolerances: the certificate below is
        # what decides, and it raises if the solution is not good enough.
        warnings.simplefilter("ignore", UserWarning)
        cp.Problem(cp.Minimize(cp.norm(w, p)), [constraint]).solve(
            solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
        )
    if w.value is None:
        raise LimitError(f"the l_{p:g} max-margin program failed ({constraint.dual_value}).")
    ws = np.asarray(w.value, dtype=np.float64)
    a = np.maximum(np.asarray(constraint.dual_value, dtype=np.float64), 0.0)
    # Polish feasibility exactly: rescale so that the smallest margin is one.
    ws = ws / float(np.min(Zs @ ws))
    primal = float(np.linalg.norm(ws, p))
    q = _dual_norm(p)
    dual_inf = max(float(np.linalg.norm(Zs.T @ a, q)) - 1.0, 0.0)
    gap = abs(primal - float(a.sum())) / primal
    residual = max(gap, dual_inf)
    if not residual <= 1e-6:
        raise LimitError(
            f"the l_{p:g} max-margin reference did not certify itself: residual {residual:.2g} "
            "> 1e-6 (duality gap and infeasibility). The data are nearly non-separable."
        )
    w_final = ws / scale
    return LpMarginSolution(
        w=jnp.asarray(w_final),
        p=p,
        margin=1.0 / float(np.linalg.norm(w_final, p)),
        dual=jnp.asarray(a / scale),
        residual=residual,
        unique=1 < p < math.inf,
    )
