"""The theorems for flows of other geometries: mirror flows and steepest descent."""

from __future__ import annotations

import math

from ..flows import AdamFlow, MirrorFlow, SteepestDescentFlow
from ..losses import AbstractClassificationLoss, AbstractLoss, SquareLoss
from ..models import LinearModel
from ..potentials import PNormPotential
from ..references import (
    bregman_projection,
    hard_margin_svm,
    linf_constrained_minimiser,
    lp_max_margin,
)
from ._base import DirectionLimit, LimitError, PointLimit
from .theorems import register_theorem


@register_theorem(LinearModel, SquareLoss, MirrorFlow)
def bregman_projection_theorem(model, loss, flow, X, y) -> PointLimit:
    r"""Mirror flow on least squares keeps $\nabla\psi(w) - \nabla\psi(w_0)$ in the row space
    of $X$; at an interpolator that is the KKT system of the Bregman projection
    $\arg\min D_\psi(w, w_0)$ s.t. $Xw = y$.

    ??? cite "Reference"
        Gunasekar, Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of
        Optimization Geometry*, ICML 2018, Sec. 2."""
    b = bregman_projection(X, y, model.w0, flow.potential)
    return PointLimit(f"bregman_projection({flow.potential.label})", b.w, b.residual, b)


def _lp_direction(X, y, p: float, what: str) -> DirectionLimit:
    sol = lp_max_margin(X, y, p)
    return DirectionLimit(f"lp_max_margin(p={p:g}, {what})", sol.w, sol.residual, sol)


@register_theorem(LinearModel, AbstractClassificationLoss, MirrorFlow)
def mirror_margin_theorem(model, loss, flow, X, y) -> DirectionLimit:
    r"""Mirror flow with $\psi = \|w\|_p^p/p$ on separable data and an exponentially tailed
    loss: the direction tends to $\arg\min\|w\|_p$ s.t. $y_i x_i\cdot w \ge 1$.

    ??? cite "Reference"
        Sun, Ahn, Thrampoulidis & Azizan, *Mirror Descent Maximizes Generalized Margin and
        Can Be Implemented Efficiently*, NeurIPS 2022, Theorem 1."""
    if not isinstance(flow.potential, PNormPotential):
        raise LimitError(
            f"no direction limit is known to flowbias for mirror flow with the potential "
            f"{flow.potential.label} on separable data: the max-margin theorem covers the "
            "p-norm potentials |w|^p/p. Fix: use fb.PNormPotential(p), or compare with "
            "`flowsolve` directly."
        )
    return _lp_direction(X, y, float(flow.potential.p), "mirror flow")


@register_theorem(LinearModel, AbstractClassificationLoss, SteepestDescentFlow)
def steepest_margin_theorem(model, loss, flow, X, y) -> DirectionLimit:
    r"""Steepest descent in $\|\cdot\|_p$ on separable data and an exponentially tailed loss:
    the direction tends to the $\ell_p$ max-margin classifier (unique for $1 < p < \infty$).

    ??? cite "Reference"
        Gunasekar, Lee, Soudry & Srebro, *Characterizing Implicit Bias in Terms of
        Optimization Geometry*, ICML 2018, Theorem 5."""
    return _lp_direction(X, y, float(flow.p), "steepest descent")


@register_theorem(LinearModel, SquareLoss, SteepestDescentFlow)
def steepest_least_squares_theorem(model, loss, flow, X, y) -> PointLimit:
    """Steepest descent in a non-Euclidean norm on least squares has no known closed-form
    limit: it is not the interpolator of least norm (Gunasekar et al., ICML 2018, Sec. 3)."""
    raise LimitError(
        f"no limit is predicted for steepest descent in the l_{float(flow.p):g} norm on least "
        "squares: it depends on the path, and is in general not the interpolator of least "
        f"l_{float(flow.p):g} norm (Gunasekar, Lee, Soudry & Srebro, ICML 2018, Sec. 3). Fix: use "
        "`flowsolve` to see where it goes, or a mirror flow, whose limit is known."
    )


@register_theorem(LinearModel, AbstractLoss, AdamFlow)
def adam_theorem(model, loss, flow, X, y):
    r"""The limits of the Adam flow on a linear model.

    - AdamW ($\lambda > 0$): a KKT point of $\min L(w)$ s.t. $\|w\|_\infty \le 1/\lambda$
      (for a convex loss, its minimiser), approached as $\epsilon \to 0$; at $\epsilon > 0$
      the flow's fixed point is within $O(\epsilon)$ of it.
    - Adam ($\lambda = 0$), $\epsilon = 0$, separable data, exponentially tailed loss: the
      $\ell_\infty$ max-margin direction (only its margin is unique in general).
    - Adam, $\epsilon > 0$: once $|\nabla L| \ll \epsilon$ the update is $\nabla L/\epsilon$,
      gradient flow in the time $t/\epsilon$: the hard-margin SVM direction, on a
      logarithmic time scale.

    ??? cite "References"
        Xie & Li, *Implicit Bias of AdamW: $\ell_\infty$-Norm Constrained Optimization*, ICML
        2024; Zhang, Zou & Cao, *The Implicit Bias of Adam on Separable Data*, NeurIPS 2024;
        Soudry et al., JMLR 2018 (the SVM direction of gradient flow)."""
    decay = float(flow.weight_decay)
    if decay > 0:
        sol = linf_constrained_minimiser(X, y, loss, 1.0 / decay)
        return PointLimit(
            f"linf_constrained_minimiser(R={1 / decay:g})", sol.w, sol.kkt_residual, sol
        )
    if not isinstance(loss, AbstractClassificationLoss):
        raise LimitError(
            "no limit is predicted for Adam without weight decay on this loss. Fix: add "
            "`weight_decay` (AdamW's limit is known), or compare with `flowsolve` directly."
        )
    if float(flow.eps) == 0.0:
        return _lp_direction(X, y, math.inf, "Adam, eps = 0")
    svm = hard_margin_svm(X, y)
    return DirectionLimit(
        "hard_margin_svm(Adam, eps > 0, as t -> inf)", svm.w, float(svm.kkt_residual), svm
    )
