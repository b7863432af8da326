r"""The theorem for a single neuron with a strictly increasing activation (row L7)."""

from __future__ import annotations

import numpy as np

from ..losses import SquareLoss
from ..models.single_neuron import SingleNeuron, activation_inverse
from ..references.single_neuron import single_neuron_limit
from ._base import LimitError, PointLimit
from .theorems import register_theorem


# The reference must certify itself to this relative residual.
KKT_TOL = 1e-8


def _scaled_norm(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    return m * float(np.linalg.norm(a / m)) if m > 0 else 0.0


@register_theorem(SingleNeuron, SquareLoss)
def single_neuron_theorem(model, loss, flow, X, y) -> PointLimit:
    r"""A single neuron $f(x) = \psi(\langle w, x\rangle)$ with $\psi$ strictly increasing
    (tanh, sigmoid, softplus, leaky ReLU with slope $s > 0$), on the square loss
    $L(w) = \frac1{2n}\|\psi(Xw) - y\|^2$ with targets in the range of $\psi$, $n \le d$ and
    $X$ of full row rank. The gradient

    $$\nabla L(w) = \tfrac1n X^\top\big(\psi'(Xw)\odot(\psi(Xw) - y)\big)$$

    lies in the row space of $X$, so the flow stays in $w_0 + \operatorname{row}(X)$. The
    zero-loss set is $\{w : Xw = z\}$ with $z = \psi^{-1}(y)$, and it meets
    $w_0 + \operatorname{row}(X)$ in one point. So if the flow reaches zero loss, its limit is

    $$w_\infty = \arg\min_w \|w - w_0\| \ \text{ s.t. } \ \psi(Xw) = y
    = w_0 + X^\top(XX^\top)^{-1}\big(\psi^{-1}(y) - Xw_0\big),$$

    the minimum-norm interpolator (row L1) of the transformed targets. It does reach zero
    loss when it stays bounded: $\psi' > 0$, so the only stationary points are interpolators.

    For a ReLU ($s = 0$) the statement fails, and this raises
    [`LimitError`][flowbias.LimitError]: a target $y_i = 0$ asks only $x_i\cdot w \le 0$, a
    sample with a negative pre-activation gets no gradient, and the zero-loss point the flow
    reaches depends on which samples were active along its path; the nearest zero-loss point
    is a QP (`flowbias.references.single_neuron.relu_neuron_nearest_interpolator`) that the
    flow in general does not reach.

    The residual certifies the reference: the larger of $\|Xw - z\|/(\|X\|\,\|w\| + \|z\|)$
    and $\|(I - \Pi)(w - w_0)\|/\|w - w_0\|$, with $\Pi$ the projector onto the row space.

    ??? cite "References"
        G. Vardi & O. Shamir, *Implicit Regularization in ReLU Networks with the Square
        Loss*, COLT 2021 (monotone activations reduce to the linear case; for the ReLU no
        explicit regulariser characterises the limit). *Foundations of Deep Learning*, ch. 7
        "Implicit regularization", section "Single neurons" (lecture notes, NYU Tandon,
        Spring 2022). The row-space argument: D. J. Sutherland, *CPSC 532D lecture notes*,
        ch. 13, University of British Columbia, Fall 2025, Prop. 13.1.
    """
    w = single_neuron_limit(X, y, model.w0, model.activation)
    z = activation_inverse(model.activation, y)
    Xn, zn, wn, w0n = (np.asarray(a, dtype=np.float64) for a in (X, z, w, model.w0))
    fit = _scaled_norm(Xn @ wn - zn) / max(
        _scaled_norm(Xn) * _scaled_norm(wn) + _scaled_norm(zn), np.finfo(float).tiny
    )
    step = wn - w0n
    coef = np.linalg.lstsq(Xn.T, step, rcond=None)[0]
    off = _scaled_norm(step - Xn.T @ coef) / max(_scaled_norm(step), np.finfo(float).tiny)
    residual = max(fit, off)
    if not residual <= KKT_TOL:
        raise LimitError(
            f"the single-neuron reference did not certify itself: residual {residual:.2g} "
            f"(relative) > {KKT_TOL:g}. X is too badly conditioned for float64."
        )
    label = model.activation.label
    return PointLimit(f"single_neuron_min_norm({label}^-1(y))", w, residual)
