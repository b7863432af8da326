"""Asymptotics of separable flows (issue #4): offsets, rates, extrapolated direction, GD maps.

Independent references: the offsets predicted from the SVM dual (no flow) are checked against
offsets measured on flowsolve trajectories; the fixed-point equation behind them against the
SVM direction of a cvxpy model written in tests/helpers.py; gradient descent against the flow at
t = eta k; fitted rates against the exponents of the theory; Dopri8 against the default solver.
"""

import json
import math

import diffrax as dfx
import numpy as np
import pytest
from helpers import random_separable

import flowbias as fb
from flowbias.asymptotics import (
    classify_rate,
    diagnose,
    diagnostics_summary,
    extrapolate_direction,
    fit_loglog_growth,
    fit_rate,
    gradient_descent,
    measured_offsets,
    predict_asymptotics,
)


T1 = 1e200
FAST = random_separable(20, 5, 1)  # offsets converge like t^-0.94
FAST2 = random_separable(20, 5, 2)  # t^-0.09
SLOW = random_separable(38, 10, 0)  # t^-0.005: not converged at 1e200


def _solve(P, loss=None, t1=T1, **kw):
    loss = fb.ExponentialLoss() if loss is None else loss
    return fb.flowsolve(fb.LinearModel(np.zeros(P.X.shape[1])), loss, P.X, P.y, t1, **kw)


@pytest.fixture(scope="module")
def fast_exp():
    return _solve(FAST)


@pytest.fixture(scope="module")
def fast_logistic():
    return _solve(FAST, fb.LogisticLoss())


# --- predictions, independent of any flow -------------------------------------------------


@pytest.mark.parametrize("P", [FAST, FAST2, SLOW], ids=lambda P: P.name)
def test_offsets_solve_fixed_point_against_cvxpy_svm(P):
    # (1/n) sum_S z_i exp(-offset_i) must equal w_hat, here from an independent cvxpy model.
    pred = predict_asymptotics(P.X, P.y)
    S = np.asarray(pred.support)
    Z = P.y[:, None] * P.X
    lhs = (Z[S] * np.exp(-pred.offsets[S])[:, None]).sum(axis=0) / P.X.shape[0]
    w_ref = P.svm_direction
    assert np.linalg.norm(lhs - w_ref) / np.linalg.norm(w_ref) < 1e-6
    assert not pred.degenerate
    # t L(w(t)) -> sum a = ||w_hat||^2
    assert pred.loss_times_t == pytest.approx(float(w_ref @ w_ref), rel=1e-6)


def test_predicted_exponent_from_linearisation():
    pred = predict_asymptotics(FAST.X, FAST.y)
    Z = FAST.y[:, None] * FAST.X
    S = np.asarray(pred.support)
    a = np.asarray(pred.dual)[S]
    # The non-zero eigenvalues of H = Z_S^T diag(a) Z_S (d x d) are those of the |S| x |S|
    # matrix diag(sqrt a) Z_S Z_S^T diag(sqrt a) (|S| = 4 < d = 5, Z_S of full row rank).
    r = np.sqrt(a)
    lam = np.linalg.eigvalsh(r[:, None] * (Z[S] @ Z[S].T) * r[None, :]).min()
    assert pred.lambda_min == pytest.approx(lam, rel=1e-10)
    m2 = np.sort(Z @ np.asarray(pred.w_hat))[S.sum()]
    assert pred.offset_exponent == pytest.approx(min(lam, m2 - 1.0), rel=1e-10)
    assert pred.log_t_to_tolerance(1e-6) < math.log(T1)
    slow = predict_asymptotics(SLOW.X, SLOW.y)
    assert slow.log_t_to_tolerance(1e-6) > math.log(T1)


def test_non_separable_raises():
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    y = np.array([1.0, -1.0])
    with pytest.raises(fb.NonSeparableError):
        predict_asymptotics(X, y)
    with pytest.raises(TypeError, match="loss"):
        predict_asymptotics(FAST.X, FAST.y, loss=fb.SquareLoss())


# --- measured against predicted -------------------------------------------------------------


@pytest.mark.parametrize("which", ["exp", "logistic"])
def test_offsets_and_extrapolated_direction(which, fast_exp, fast_logistic):
    sol, loss = (fast_exp, None) if which == "exp" else (fast_logistic, fb.LogisticLoss())
    dg = diagnose(sol, FAST.X, FAST.y, loss=loss)
    assert dg.offset_error[-1] < 1e-6
    # extrapolated direction within 1e-8 of w_hat while w(t1) itself is not
    assert dg.one_minus_cos_extrapolated < 1e-8
    assert 1e-7 < dg.one_minus_cos_final < 1e-4
    # t L(w(t)) -> ||w_hat||^2
    assert dg.loss_times_t[-1] == pytest.approx(dg.pred.loss_times_t, rel=1e-6)
    # residual settles: the fit prefers a constant to c log log t
    assert not dg.growth_fit.grows
    # rates (constant steps): angle and margin gap ~ 1/log t, within 10%
    assert dg.angle_fit.against == "log_t" and dg.angle_fit.within(1.0, 0.1)
    assert dg.margin_fit.within(1.0, 0.1)
    # margin gap coefficient D / ||w_hat||, predicted from the dual
    g = float(dg.margin_gap[-1] * dg.log_ts[-1])
    assert g == pytest.approx(dg.pred.gap_coefficient, rel=0.05)


def test_second_instance_and_summary_is_json():
    sol = _solve(FAST2)
    s = diagnostics_summary(sol, FAST2.X, FAST2.y)
    json.dumps(s, allow_nan=False)
    assert s["offset_max_error"] < 1e-6
    assert s["one_minus_cos_extrapolated"] < 1e-8
    assert len(s["offsets_predicted"]) == len(s["offsets_measured"]) == len(s["support"])
    assert s["offset_exponent_predicted"] > 0


def test_slow_instance_rate_matches_linearisation():
    sol = _solve(SLOW)
    dg = diagnose(sol, SLOW.X, SLOW.y)
    p = dg.pred.offset_exponent
    assert p < 0.01
    # still far from converged at 1e200, as predicted
    assert dg.offset_error[-1] > 1e-3
    fit = fit_rate(dg.log_ts, dg.offset_error, against="t", log_t_min=200.0)
    assert fit.exponent == pytest.approx(p, rel=0.1)


def test_degenerate_instance_residual_grows_loglog():
    # z_2 = (1, 1) has margin one but dual weight zero: w_2(t) ~ log log t.
    X = np.array([[1.0, 0.0], [1.0, 1.0], [2.0, -0.5]])
    y = np.ones(3)
    pred = predict_asymptotics(X, y)
    assert pred.degenerate and bool(pred.zero_dual[1]) and np.isinf(pred.offsets[1])
    sol = fb.flowsolve(fb.LinearModel(np.zeros(2)), fb.ExponentialLoss(), X, y, T1)
    dg = diagnose(sol, X, y, pred=pred)
    assert dg.growth_fit.grows
    assert dg.growth_fit.slope == pytest.approx(1.0, rel=0.05)
    assert dg.growth_fit.rss_loglog < 1e-3 * dg.growth_fit.rss_constant


# --- normalised steps and gradient descent -------------------------------------------------


def test_normalised_flow_margin_rate_one_over_t():
    flow = fb.NormalisedGradientFlow()
    sol = _solve(FAST, t1=1e5, flow=flow, time=fb.LinearTime(), ts=np.geomspace(1e-2, 1e5, 120))
    dg = diagnose(sol, FAST.X, FAST.y, flow=flow)
    assert dg.pred.growth == "linear"
    assert dg.offset_error[-1] < 1e-6  # centred offsets -log a_i + C
    assert dg.margin_fit.against == "t" and dg.margin_fit.within(1.0, 0.1)
    assert dg.margin_gap[-1] * 1e5 == pytest.approx(dg.pred.gap_coefficient, rel=0.01)
    assert classify_rate(dg.log_ts, dg.margin_gap, log_t_min=6.0)["verdict"] == "1/t^k"


def test_gradient_descent_tracks_flow_and_normalised_gd():
    X, y = FAST.X, FAST.y
    eta = 1.0 / np.max(np.sum(X**2, axis=1))
    gaps = []
    for K in (10**3, 10**5):
        path = gradient_descent(np.zeros(5), fb.ExponentialLoss(), X, y, eta, K, num_save=10)
        sol = _solve(FAST, t1=eta * K, ts=[eta * K])
        gaps.append(float(np.linalg.norm(path.w[-1] - sol.w[-1])))
    # the discrete map follows the flow at t = eta k, ever more closely
    assert gaps[1] < 0.1 * gaps[0] and gaps[1] < 1e-3
    pred = predict_asymptotics(X, y)
    assert float(fb.one_minus_cos(path.w[-1], pred.w_hat)) < 1e-2
    # normalised GD: linear growth, exact centred offsets, margin gap ~ 1/k
    ngd = gradient_descent(np.zeros(5), fb.ExponentialLoss(), X, y, eta, 100_000, normalise=True)
    dg = diagnose(ngd, X, y)
    assert dg.pred.growth == "linear"
    assert dg.offset_error[-1] < 1e-6
    assert dg.margin_fit.within(1.0, 0.1)
    assert dg.one_minus_cos_extrapolated < 1e-8


def test_gradient_descent_validation():
    with pytest.raises(ValueError, match="eta"):
        gradient_descent(np.zeros(5), fb.ExponentialLoss(), FAST.X, FAST.y, -1.0, 10)
    with pytest.raises(ValueError, match="model_or_w0"):
        gradient_descent(np.zeros(3), fb.ExponentialLoss(), FAST.X, FAST.y, 0.1, 10)
    with pytest.raises(TypeError, match="loss"):
        gradient_descent(np.zeros(5), fb.SquareLoss(), FAST.X, FAST.y, 0.1, 10)
    path = gradient_descent(
        fb.LinearModel(np.zeros(5)), fb.ExponentialLoss(), FAST.X, FAST.y, 0.1, 50, save_every=10
    )
    assert np.asarray(path.ks).tolist() == [0, 10, 20, 30, 40, 50]


# --- rate fitting on synthetic data ----------------------------------------------------------


def test_fit_rate_synthetic():
    lt = np.linspace(5.0, 400.0, 60)
    rng = np.random.default_rng(0)
    g = 2.0 / lt * np.exp(1e-3 * rng.normal(size=lt.size))
    fit = fit_rate(lt, g, against="log_t")
    assert fit.exponent == pytest.approx(1.0, abs=5 * fit.stderr + 1e-9)
    assert fit.prefactor == pytest.approx(2.0, rel=1e-2)
    assert classify_rate(lt, g)["verdict"] == "1/log^k t"
    assert classify_rate(lt, 3.0 * np.exp(-lt))["verdict"] == "1/t^k"
    with pytest.raises(ValueError, match="against"):
        fit_rate(lt, g, against="x")
    with pytest.raises(ValueError, match="at least 3"):
        fit_rate(lt[:2], g[:2])
    grow = fit_loglog_growth(lt, 1.0 + 0.7 * np.log(lt))
    assert grow.grows and grow.slope == pytest.approx(0.7)
    assert not fit_loglog_growth(lt, 1.0 + np.exp(-lt)).grows


def test_extrapolate_and_offsets_shapes(fast_exp):
    pred = predict_asymptotics(FAST.X, FAST.y)
    assert measured_offsets(fast_exp, FAST.X, FAST.y, pred).shape == (200, 20)
    A = extrapolate_direction(fast_exp)
    assert float(fb.one_minus_cos(A, pred.w_hat)) < 1e-8


@pytest.mark.slow
def test_dopri8_agrees(fast_exp):
    sol = _solve(FAST, solver=dfx.Dopri8(), rtol=1e-12, atol=1e-14, max_steps=400_000)
    a = diagnose(sol, FAST.X, FAST.y)
    b = diagnose(fast_exp, FAST.X, FAST.y)
    assert np.max(np.abs(a.offsets[-1] - b.offsets[-1])) < 1e-7


def test_plots_return_axes(fast_exp):
    import matplotlib.pyplot as plt

    from flowbias import plotting

    dg = diagnose(fast_exp, FAST.X, FAST.y)
    fig, axs = plt.subplots(2, 2)
    fns = (
        plotting.plot_residual,
        plotting.plot_offsets,
        plotting.plot_gaps,
        plotting.plot_loss_times_t,
    )
    for f, ax in zip(fns, axs.flat, strict=True):
        assert f(dg, ax=ax) is ax
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    ax = plotting.plot_residual(fast_exp, FAST.X, FAST.y)
    assert ax.get_xlabel() == r"$\log\log t$"
    with pytest.raises(ValueError, match="X=..."):
        plotting.plot_gaps(fast_exp)
    plt.close("all")
