"""Adam and AdamW as flows (issue 14 item 3, row M5): the update at t = 0, AdamW's limit against
its rest point (scipy) and the l_inf-constrained minimiser (cvxpy), Adam's l_inf margin on
separable data and the pull of eps towards the SVM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import (
    adamw_fixed_point,
    lp_margin_cvxpy,
    random_separable,
    square_loss_gradient,
)

import flowbias as fb


rng = np.random.default_rng(0)
X_LS = rng.normal(size=(30, 5))
Y_LS = rng.normal(size=30)
W_LS = np.linalg.lstsq(X_LS, Y_LS, rcond=None)[0]
RADIUS = 0.5 * float(np.max(np.abs(W_LS)))  # the box binds: the minimiser is on its boundary
SEP = random_separable(20, 8, 0)  # the l_inf and l2 max-margin directions differ here


def _adamw(eps):
    return fb.AdamFlow(1e-2, beta2=0.99, eps=eps, weight_decay=1 / RADIUS)


@pytest.fixture(scope="module")
def adamw_runs():
    # One compiled program for every eps (an array field); 3000 time units: the rest point.
    return {
        eps: fb.flowsolve(
            fb.LinearModel(np.zeros(5)), fb.SquareLoss(), X_LS, Y_LS, 3000.0, flow=_adamw(eps)
        )
        for eps in (1e-3, 1e-5)
    }


def test_first_update_is_the_bias_corrected_adam_step():
    flow = fb.AdamFlow(0.1, eps=1e-3, weight_decay=0.5)
    w0 = np.linspace(-1, 1, 5)
    state = flow.init_state(fb.LinearModel(w0), X_LS)
    dw, dm, dv = flow.vector_field(
        0.0, state, fb.LinearModel(w0), fb.SquareLoss(), fb.LinearTime(), X_LS, Y_LS
    )
    g = square_loss_gradient(X_LS, Y_LS, w0)
    L = np.sum((X_LS @ w0 - Y_LS) ** 2) / 60
    # At t = 0 the corrected moments are g and g^2 (written relative to L: G = g / L).
    np.testing.assert_allclose(dw, -g / (np.abs(g) + 1e-3) - 0.5 * w0, rtol=1e-12)
    np.testing.assert_allclose(dm, (g / L) / (0.1 / 0.1), rtol=1e-12)


def test_adamw_rests_at_its_fixed_point_and_tends_to_the_box_minimiser(adamw_runs):
    ref = fb.linf_constrained_minimiser(X_LS, Y_LS, fb.SquareLoss(), RADIUS)
    # Independent: cvxpy's box-constrained least squares, and the KKT conditions.
    from helpers import linf_box_least_squares_cvxpy

    box = linf_box_least_squares_cvxpy(X_LS, Y_LS, RADIUS)
    np.testing.assert_allclose(ref.w, box, atol=1e-8)
    errors = []
    for eps, sol in adamw_runs.items():
        w = np.asarray(sol.w_final)
        rest = adamw_fixed_point(X_LS, Y_LS, RADIUS, eps, box)
        assert np.linalg.norm(w - rest) < 1e-10 * np.linalg.norm(rest)  # measured 3e-16
        errors.append(np.linalg.norm(w - box) / np.linalg.norm(box))
    # O(eps) once eps << the smallest |g| on the boundary (0.013 here): measured 4.8e-2 and
    # 1.6e-3 at eps = 1e-3 and 1e-5.
    assert errors[1] < 3e-3 and errors[1] < errors[0] / 10, errors
    limit = fb.predicted_limit(adamw_runs[1e-5])
    assert limit.kind.startswith("linf_constrained_minimiser")


def test_adam_without_eps_finds_the_linf_margin_and_eps_pulls_to_the_svm():
    Z = SEP.y[:, None] * SEP.X
    w_inf, w_two = lp_margin_cvxpy(SEP.X, SEP.y, math.inf), SEP.svm_direction
    g_inf = 1 / np.max(np.abs(w_inf))
    g_two = 1 / np.linalg.norm(w_two)

    def gaps(w):
        m = np.min(Z @ w)
        return (g_inf - m / np.max(np.abs(w))) / g_inf, (g_two - m / np.linalg.norm(w)) / g_two

    runs = {}
    for eps in (0.0, 1e-6):
        flow = fb.AdamFlow(1e-2, beta2=0.99, eps=eps)
        runs[eps] = fb.flowsolve(
            fb.LinearModel(np.zeros(8)), fb.ExponentialLoss(), SEP.X, SEP.y, 100.0, flow=flow
        )
    inf0, two0 = gaps(np.asarray(runs[0.0].w_final))
    inf6, two6 = gaps(np.asarray(runs[1e-6].w_final))
    # eps = 0: the l_inf margin (measured gap 0.029 at t = 100, falling), not the SVM's
    # (the l_inf direction's own l2 gap is 0.143 on these data; measured 0.138).
    assert inf0 < 0.05 and two0 > 0.1, (inf0, two0)
    # eps = 1e-6: once |grad L| < eps the update is grad L / eps, gradient flow: the direction
    # leaves the l_inf margin for the SVM (measured gaps 0.095 and 0.068).
    assert inf6 > 2 * inf0 and two6 < two0 / 1.5, (inf6, two6)
    assert fb.predicted_limit(runs[0.0]).kind.startswith("lp_max_margin(p=inf")
    assert fb.predicted_limit(runs[1e-6]).kind.startswith("hard_margin_svm")


def test_adam_arguments_and_time_are_checked():
    with pytest.raises(ValueError, match="`beta1` must be in"):
        fb.AdamFlow(1e-2, beta1=1.0)
    with pytest.raises(ValueError, match="`weight_decay` must be in"):
        fb.AdamFlow(1e-2, weight_decay=-1.0)
    with pytest.raises(ValueError, match="`step_size` must be in"):
        fb.AdamFlow(0.0)
    model = fb.LinearModel(np.zeros(8))
    with pytest.raises(TypeError, match="linear time only"):
        fb.flowsolve(
            model, fb.ExponentialLoss(), SEP.X, SEP.y, 10.0, flow=_adamw(0.0), time=fb.LogTime()
        )
    with pytest.raises(ValueError, match="pass `t1`"):
        fb.flowsolve(model, fb.ExponentialLoss(), SEP.X, SEP.y, flow=_adamw(0.0))
    with pytest.raises(fb.LimitError, match="weight decay"):
        fb.predicted_limit(
            fb.LinearModel(np.zeros(5)), fb.SquareLoss(), X_LS, Y_LS, flow=fb.AdamFlow(1e-2)
        )
    # A classification loss needs labels +1/-1, before cvxpy is called.
    with pytest.raises(ValueError, match="-1"):
        fb.linf_constrained_minimiser(SEP.X, 0.5 * SEP.y, fb.ExponentialLoss(), 1.0)
