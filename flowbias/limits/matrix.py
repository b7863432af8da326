r"""The theorem (and conjecture) for matrix factorisations on the square loss: the minimum
nuclear norm fit."""

from __future__ import annotations

from ..losses import SquareLoss
from ..models import MatrixFactorization
from ..references import min_nuclear_norm
from ._base import PointLimit
from .theorems import register_theorem


KKT_TOL = 1e-8


@register_theorem(MatrixFactorization, SquareLoss)
def nuclear_norm_theorem(model, loss, flow, X, y) -> PointLimit:
    r"""From a vanishing initialisation, factorised gradient flow tends to the minimum nuclear
    norm fit of the measurements (minimum trace PSD fit for $W = UU^\top$).

    This is a theorem for commuting measurements (e.g. all $A_k$ diagonal) as
    $\alpha \to 0$, for $W = UU^\top$ from $U(0) = \alpha I$ and provided the limit exists
    and fits the data (Gunasekar et al. 2017), and a conjecture otherwise; it fails on the
    Razin-Cohen completion, where the flow's nuclear norm grows without bound. At finite
    $\alpha$ the flow's limit differs from it by a gap that vanishes with $\alpha$. The
    comparison is the point of the library: the prediction is computed independently and
    confronted with the flow."""
    ref = min_nuclear_norm(X, y, psd=model.symmetric, tol=KKT_TOL)
    kind = "min_trace_psd" if model.symmetric else "min_nuclear_norm"
    return PointLimit(kind, ref.W, ref.residual, ref)
