"""The theorems for linear models: least squares from w0 and the max-margin direction."""

from __future__ import annotations

import numpy as np

from ..losses import AbstractClassificationLoss, PolynomialLoss, SquareLoss
from ..models import LinearModel
from ..references import hard_margin_svm, least_squares_limit, polynomial_tail_direction
from ._base import DirectionLimit, LimitError, PointLimit
from .theorems import register_theorem


# A reference must certify itself to this relative KKT residual.
KKT_TOL = 1e-8


def _scaled_norm(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    return m * float(np.linalg.norm(a / m)) if m > 0 else 0.0


@register_theorem(LinearModel, SquareLoss)
def least_squares_theorem(model, loss, flow, X, y) -> PointLimit:
    """Gradient flow stays in w0 + rowspace(X): its limit is the least-squares minimiser
    nearest w0, which interpolates when y is in the range of X."""
    w = least_squares_limit(X, y, model.w0)
    Xn, yn, wn = (np.asarray(a, dtype=np.float64) for a in (X, y, w))
    r = Xn @ wn - yn
    scale = _scaled_norm(Xn) * _scaled_norm(wn) + _scaled_norm(yn)
    # Certificate: the normal equations X^T (Xw - y) = 0, relative to ||X|| (||X|| ||w|| + ||y||).
    kkt = _scaled_norm(Xn.T @ r) / max(_scaled_norm(Xn) * scale, np.finfo(float).tiny)
    if not kkt <= KKT_TOL:
        raise LimitError(
            f"the least-squares reference did not certify itself: normal-equation residual "
            f"{kkt:.2g} (relative) > {KKT_TOL:g}. X is too badly conditioned for float64."
        )
    consistent = _scaled_norm(r) <= 1e-9 * max(scale, np.finfo(float).tiny)
    kind = "min_norm_interpolator" if consistent else "least_squares_nearest_w0"
    return PointLimit(kind, w, kkt)


@register_theorem(LinearModel, AbstractClassificationLoss)
def max_margin_theorem(model, loss, flow, X, y) -> DirectionLimit:
    """Exponentially tailed losses on separable data: the direction of the hard-margin SVM
    (for any initialisation w0; the normalised flow has the same direction)."""
    svm = hard_margin_svm(X, y)
    kkt = float(svm.kkt_residual)
    if not kkt <= 1e-6:
        raise LimitError(
            f"the hard-margin SVM reference did not certify itself: KKT residual {kkt:.2g} > "
            "1e-6. The data are nearly non-separable (max-margin tiny relative to their scale)."
        )
    return DirectionLimit("hard_margin_svm", svm.w, kkt, svm)


@register_theorem(LinearModel, PolynomialLoss)
def polynomial_tail_theorem(model, loss, flow, X, y) -> DirectionLimit:
    r"""A polynomially tailed loss, $\ell(m) \sim m^{-k}$, on separable data: gradient flow
    follows the regularisation path, whose direction tends to
    $\arg\min_{\|u\| \le 1}\sum_i (y_i x_i\cdot u)^{-k}$, not the hard-margin SVM's (see
    [`polynomial_tail_direction`][flowbias.polynomial_tail_direction]).

    ??? cite "Reference"
        Ji, Dudik, Schapire & Telgarsky, *Gradient descent follows the regularization path
        for general losses*, COLT 2020."""
    u, res = polynomial_tail_direction(X, y, loss.k)
    return DirectionLimit(f"regularization_path_limit(k={loss.k:g})", u, res)
