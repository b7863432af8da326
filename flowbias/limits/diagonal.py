"""The theorem for diagonal linear networks: argmin of the mirror potential."""

from __future__ import annotations

import numpy as np

from ..losses import AbstractClassificationLoss, SquareLoss
from ..models import DiagonalNetwork
from ..references import mirror_limit
from ._base import PointLimit
from .theorems import register_theorem


@register_theorem(DiagonalNetwork, SquareLoss)
def mirror_potential_theorem(model, loss, flow, X, y) -> PointLimit:
    """Gradient flow on (u, v) is a mirror flow with potential Q (derived symbolically), so
    the square-loss limit is argmin Q s.t. Xw = y (Woodworth et al. 2020)."""
    w = mirror_limit(model, X, y)
    res = float(np.linalg.norm(np.asarray(X) @ np.asarray(w) - np.asarray(y)))
    rel = res / max(float(np.linalg.norm(np.asarray(y))), np.finfo(float).tiny)
    shape = "tied" if model.tied else "untied"
    return PointLimit(f"diagonal_potential(depth={model.depth}, {shape})", w, rel)


@register_theorem(DiagonalNetwork, AbstractClassificationLoss)
def diagonal_margin_theorem(model, loss, flow, X, y):
    raise NotImplementedError(
        "the predicted limit of a diagonal network on a classification loss is not "
        "implemented (it is a KKT point of an l_{2/D} max-margin problem). Fix: use "
        "loss='square', or compare with `flowsolve` directly."
    )
