"""Data as the engine sees it: an (n, d) matrix or a measurement operator, behind one set of
operations (how many points, the adjoint of the outputs, the Gram spectrum, the scale)."""

from __future__ import annotations

import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import (
    as_float_array,
    check_data_scale,
    check_data_shapes as check_matrix_shapes,
    check_labels,
)
from ._base import AbstractMeasurements


Data = Float[Array, "n d"] | AbstractMeasurements


def as_data(X: ArrayLike | AbstractMeasurements, name: str = "X") -> Data:
    """`X` as the engine's data: a measurement operator (checked) or a finite float64 matrix."""
    if isinstance(X, AbstractMeasurements):
        X.check()
        return X
    return as_float_array(X, name, ndim=2)


def num_points(X: Data) -> int:
    """n: rows of a matrix, or measurements of an operator."""
    return X.num_measurements if isinstance(X, AbstractMeasurements) else int(X.shape[0])


def adjoint(X: Data, r: Float[Array, " n"]) -> Array:
    r"""$X^\top r$ for a matrix, $\mathcal A^*(r)$ for an operator: the gradient of a loss of
    the outputs with respect to the observable, given $\partial L/\partial f = r$."""
    return X.adjoint(r) if isinstance(X, AbstractMeasurements) else X.T @ r


def gram_eigenvalues(X: Data) -> np.ndarray:
    """Eigenvalues of X X^T (or of the operator's Gram matrix), computed on rescaled data so
    that tiny or huge entries neither under- nor overflow."""
    if isinstance(X, AbstractMeasurements):
        return X.gram_eigenvalues()
    Xn = np.asarray(X, dtype=np.float64)
    c = float(np.max(np.abs(Xn))) or 1.0
    Xs = Xn / c
    return np.linalg.eigvalsh(Xs @ Xs.T) * c**2


def check_data_shapes(X: Data, y: Float[Array, " n"]) -> None:
    """One target per data point: rows of a matrix (as `_validation.check_data_shapes`), or
    measurements of an operator."""
    if not isinstance(X, AbstractMeasurements):
        return check_matrix_shapes(X, y)
    if X.num_measurements != y.shape[0]:
        raise ValueError(
            f"`X` has {X.num_measurements} measurements but `y` has {y.shape[0]} entries; they "
            "must match (one target per measurement)."
        )


def validate_data(X, y, *, model=None, loss=None) -> tuple[Data, Float[Array, " n"]]:
    """The data preamble of every entry point: `X` an (n, d) matrix or a measurement operator,
    `y` (n,), finite float64 with matching n; labels +1/-1 for a classification `loss`;
    `model.check_data`; the data scale within float64's comfortable range."""
    X = as_data(X)
    y = as_float_array(y, "y", ndim=1)
    check_data_shapes(X, y)
    if model is not None:
        model.check_data(X)
    if isinstance(X, AbstractMeasurements):
        X.check_targets(y)
        check_data_scale(np.asarray(X.max_abs()))
    else:
        check_data_scale(X)
    if loss is not None and loss.is_classification:
        check_labels(y)
    return X, y
