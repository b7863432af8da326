"""The predicted limit of a (model, loss) pair, and how to measure agreement with it."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._validation import as_float_array, check_data_shapes, check_labels
from .compare import one_minus_cos, relative_error
from .losses import AbstractLoss
from .models import AbstractModel, LinearModel
from .references import hard_margin_svm, least_squares_limit


class PredictedLimit(eqx.Module):
    """A limit predicted by theory, computed independently of any flow.

    **Fields:**

    - `kind`: which theorem: `"min_norm_interpolator"` (L1), `"least_squares_nearest_w0"`
      (L1 when no interpolator exists), `"hard_margin_svm"` (L2).
    - `w`: the predicted predictor. For `is_direction=True` only its direction is predicted
      (the flow diverges in norm); `w` is then the SVM solution with margin 1.
    - `is_direction`: whether agreement is measured by direction (1 - cos) or by value.
    - `reference`: the solver's full output (e.g. an [`SVMSolution`][flowbias.SVMSolution]).
    """

    kind: str = eqx.field(static=True)
    w: Float[Array, " d"]
    is_direction: bool = eqx.field(static=True)
    reference: Any = None

    @property
    def agreement_measure(self) -> str:
        return "one_minus_cos" if self.is_direction else "relative_error"


def predicted_limit(
    model: AbstractModel, loss: AbstractLoss, X: ArrayLike, y: ArrayLike
) -> PredictedLimit:
    r"""What theory says gradient flow of `model` on `loss` converges to.

    - Linear model, square loss (THEORY L1): $\arg\min\|w - w_0\|$ s.t. $Xw = y$, or the
      least-squares minimiser nearest $w_0$ when no interpolator exists.
    - Linear model, exponential or logistic loss on separable data (THEORY L2): the direction
      of the hard-margin SVM $\hat w = \arg\min\|w\|^2$ s.t. $y_i\langle x_i, w\rangle\ge 1$.
      Raises [`NonSeparableError`][flowbias.NonSeparableError] with an explanation if the
      data are not separable.

    ??? cite "Sources"
        L1: gradient flow on least squares stays in $w_0 + \operatorname{rowspace}(X)$
        (e.g. seed 000, Prop. 13.1). L2: Soudry, Hoffer, Nacson, Gunasekar, Srebro,
        *The Implicit Bias of Gradient Descent on Separable Data*, JMLR 2018, Theorem 3.
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_data_shapes(X, y)
    model.check_data(X)
    if isinstance(model, LinearModel):
        if loss.is_classification:
            check_labels(y)
            svm = hard_margin_svm(X, y)
            return PredictedLimit("hard_margin_svm", svm.w, True, svm)
        w = least_squares_limit(X, y, model.w0)
        residual = np.linalg.norm(np.asarray(X @ w - y))
        consistent = residual <= 1e-9 * max(1.0, float(np.linalg.norm(np.asarray(y))))
        kind = "min_norm_interpolator" if consistent else "least_squares_nearest_w0"
        return PredictedLimit(kind, w, False)
    limit = getattr(model, "predicted_limit", None)
    if limit is None:
        raise NotImplementedError(
            f"no predicted limit is implemented for {type(model).__name__} with "
            f"{type(loss).__name__}."
        )
    return limit(loss, X, y)


def agreement(w: Float[Array, " d"], limit: PredictedLimit) -> Float[Array, ""]:
    """How close `w` is to the predicted limit: 1 - cos for directions, else relative error."""
    w = jnp.asarray(w)
    return one_minus_cos(w, limit.w) if limit.is_direction else relative_error(w, limit.w)
