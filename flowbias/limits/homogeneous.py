r"""The theorems for homogeneous networks on separable data: the max-margin direction of deep
linear networks, and KKT points of the max-margin problem for the rest."""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..losses import AbstractClassificationLoss
from ..models import AbstractHomogeneousModel, DeepLinearNetwork
from ..references import max_margin_kkt
from ._base import DirectionLimit, PredictedLimit
from .linear import max_margin_theorem
from .theorems import register_theorem


@register_theorem(DeepLinearNetwork, AbstractClassificationLoss)
def deep_linear_max_margin_theorem(model, loss, flow, X, y) -> DirectionLimit:
    r"""A deep linear network's end-to-end vector $w = (W_L\cdots W_1)^\top$ tends in direction
    to the hard-margin SVM, for exponentially tailed losses on separable data (and the layers
    align; see [`DeepLinearNetwork`][flowbias.DeepLinearNetwork]).

    ??? cite "Reference"
        Ji & Telgarsky, *Gradient descent aligns the layers of deep linear networks*, ICLR
        2019, Theorem 2.2 (logistic and exponential losses, separable data)."""
    return max_margin_theorem(model, loss, flow, X, y)


class KKTLimit(PredictedLimit):
    r"""The direction of the parameters tends to *a* KKT point of the max-margin problem
    $\min\tfrac12\|\theta\|^2$ s.t. $y_i f(x_i;\theta) \ge 1$; which one depends on the
    initialisation, so no value is predicted (`value` is NaN) and agreement is the largest
    residual of [`max_margin_kkt`][flowbias.max_margin_kkt] (0 at a KKT point).

    **Fields:** those of [`PredictedLimit`][flowbias.PredictedLimit], and `model`, `X`, `y`,
    the problem whose KKT conditions are checked.
    """

    kind: str = eqx.field(static=True)
    value: Array
    residual: float
    reference: Any
    model: AbstractHomogeneousModel
    X: Array
    y: Array
    agreement_measure: ClassVar[str] = "kkt_residual"

    def agreement(self, observable):
        o = np.asarray(observable, dtype=np.float64)
        if o.shape[-1:] != self.value.shape:
            raise ValueError(
                f"the observable has shape {o.shape}, whose last axis is not the model's "
                f"{self.value.shape[0]} parameters. Fix: compare the solution's `observable`."
            )
        flat = o.reshape(-1, o.shape[-1])
        res = [max_margin_kkt(self.model, t, self.X, self.y).residual for t in flat]
        return jnp.asarray(np.reshape(res, o.shape[:-1]))


@register_theorem(AbstractHomogeneousModel, AbstractClassificationLoss)
def kkt_theorem(model, loss, flow, X, y) -> KKTLimit:
    r"""On separable data with an exponentially tailed loss, once gradient flow on an
    $L$-homogeneous network fits the data, $\theta/\|\theta\|$ converges to the direction of a
    KKT point of the max-margin problem (which need not be a global, or even a local,
    maximum of the margin).

    ??? cite "References"
        Lyu & Li, *Gradient Descent Maximizes the Margin of Homogeneous Neural Networks*,
        ICLR 2020, Theorem 4.4; Ji & Telgarsky, *Directional convergence and alignment in
        deep learning*, NeurIPS 2020 (the direction converges); Vardi, Shamir & Srebro, *On
        Margin Maximization in Linear and ReLU Networks*, NeurIPS 2022 (KKT, not optimal)."""
    size = model.flat(model.init_params()).shape[0]
    return KKTLimit("max_margin_kkt", jnp.full((size,), np.nan), 0.0, None, model, X, y)
