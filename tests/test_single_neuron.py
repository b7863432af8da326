"""A single neuron psi(<w, x>) on the square loss (row L7): for strictly increasing psi (tanh,
sigmoid, softplus, leaky ReLU) the flow's limit is the interpolator of psi^-1(y) nearest to w0,
against the textbook formula in NumPy with the inverses written out here; the iterates stay in
w0 + rowspace(X). For the ReLU the statement fails: the flow reaches zero loss, but not the
nearest zero-loss point (a QP, by cvxpy written here); its limit lies in w0 + the span of the
rows that were active along its path.

One problem for all: `problems.single_neuron_problem(5, 12, 0)`, each flow solved once
(module-scoped fixtures), at the default horizon."""

import cvxpy as cp
import jax.numpy as jnp
import numpy as np
import pytest

import flowbias as fb
from flowbias import problems
from flowbias.models.monotone import Sigmoid, Softplus, Tanh
from flowbias.models.single_neuron import SingleNeuron
from flowbias.references.single_neuron import (
    relu_neuron_nearest_interpolator,
    single_neuron_limit,
)


X, W_STAR, W0 = problems.single_neuron_problem(5, 12, 0)
SLOPE = 0.2

# psi and psi^-1 in NumPy, independent of flowbias.
NUMPY = {
    "tanh": (np.tanh, np.arctanh),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda y: np.log(y / (1.0 - y))),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda y: np.log(np.expm1(y))),
    "leaky": (
        lambda z: np.where(z > 0, z, SLOPE * z),
        lambda y: np.where(y > 0, y, y / SLOPE),
    ),
}


def _activation(name):
    return {
        "tanh": Tanh(),
        "sigmoid": Sigmoid(),
        "softplus": Softplus(),
        "leaky": fb.LeakyReLU(SLOPE),
        "relu": fb.ReLU(),
    }[name]


def _min_norm_numpy(X, z, w0):
    """argmin ||w - w0|| s.t. Xw = z: X^T (X X^T)^{-1} (z - X w0) + w0."""
    return X.T @ np.linalg.solve(X @ X.T, z - X @ w0) + w0


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _off_span(rows, v) -> float:
    """||v - projection of v onto span(rows)|| / ||v||."""
    coef = np.linalg.lstsq(rows.T, v, rcond=None)[0]
    return float(np.linalg.norm(v - rows.T @ coef) / np.linalg.norm(v))


@pytest.fixture(scope="module", params=list(NUMPY))
def monotone_run(request):
    name = request.param
    psi, psi_inv = NUMPY[name]
    y = psi(X @ W_STAR)
    model = SingleNeuron(W0, _activation(name))
    sol = fb.flowsolve(model, fb.SquareLoss(), X, y, throw=False)  # default horizon
    return name, y, _min_norm_numpy(X, psi_inv(y), W0), sol


# Measured on this problem: 3.2e-10 (sigmoid) to 9.4e-10 (leaky ReLU); the convergence stop
# at L <= 1e-20 L(0) leaves a residual ~1e-10 of the initial one.
FLOW_TOL = 1e-8


def test_flow_limit_is_the_min_norm_interpolator_of_the_transformed_targets(monotone_run):
    name, y, ref, sol = monotone_run
    assert sol.success, sol.message
    # The default horizon holds the convergence stop (it would be flagged not_converged).
    t1 = fb.default_t1(sol.problem.model, fb.SquareLoss(), X)
    assert float(sol.log_t_end) < np.log(t1)
    assert float(sol.log_loss[-1]) <= float(sol.log_loss[0]) + np.log(1e-18)
    w = np.asarray(sol.observable_final)
    assert _rel(w, ref) <= FLOW_TOL
    psi, _ = NUMPY[name]
    np.testing.assert_allclose(psi(X @ w), y, rtol=0, atol=1e-9)
    # The transformation matters: the min-norm interpolator of y itself is far off.
    assert _rel(_min_norm_numpy(X, y, W0), ref) > 1e-2


def test_iterates_stay_in_w0_plus_the_row_space(monotone_run):
    _, _, _, sol = monotone_run
    steps = np.asarray(sol.observable) - W0
    P = X.T @ np.linalg.solve(X @ X.T, X)
    length = np.linalg.norm(steps[-1])
    assert length > 0.1  # the flow moved
    assert np.max(np.linalg.norm(steps - steps @ P, axis=1)) <= 1e-13 * length


def test_theorem_and_reference_give_the_closed_form(monotone_run):
    name, y, ref, sol = monotone_run
    limit = fb.predicted_limit(sol)
    assert isinstance(limit, fb.PointLimit)
    assert limit.kind.startswith("single_neuron_min_norm(")
    assert limit.residual <= 1e-12
    assert _rel(limit.w, ref) <= 1e-12
    assert _rel(single_neuron_limit(X, y, W0, _activation(name)), ref) <= 1e-12
    assert float(fb.agreement(sol, limit)) <= FLOW_TOL


# ---- activations, time scale, errors -----------------------------------------------------------


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# psi' in closed form, in NumPy.
SLOPES = {
    "tanh": lambda z: 1.0 / np.cosh(z) ** 2,
    "sigmoid": lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
    "softplus": _sigmoid,
}


@pytest.mark.parametrize("name", list(SLOPES))
def test_activations_match_numpy(name):
    psi, psi_inv = NUMPY[name]
    act = _activation(name)
    z = np.linspace(-6, 6, 49)
    np.testing.assert_allclose(np.asarray(act(jnp.asarray(z))), psi(z), rtol=1e-14)
    y = psi(z)
    np.testing.assert_allclose(np.asarray(act.inverse(jnp.asarray(y))), psi_inv(y), rtol=1e-9)
    np.testing.assert_allclose(
        np.asarray(act.derivative(jnp.asarray(z))), SLOPES[name](z), rtol=1e-12
    )
    lo, hi = act.range
    assert np.all((y > lo) & (y < hi))
    grid = np.linspace(-3, 3, 6001)
    np.testing.assert_allclose(
        float(act.min_slope(-3.0, 3.0)), SLOPES[name](grid).min(), rtol=1e-12
    )


def test_softplus_inverse_is_accurate_where_expm1_overflows():
    y = np.array([1e-12, 30.0, 800.0])
    # log(e^y - 1) = y + log(1 - e^-y): ~log(y) for small y, y for large y.
    expected = np.array([np.log(1e-12) + 5e-13, 30.0 + np.log1p(-np.exp(-30.0)), 800.0])
    np.testing.assert_allclose(np.asarray(Softplus().inverse(jnp.asarray(y))), expected, rtol=1e-14)


def test_time_scale_is_the_inverse_squared_slope_floor():
    assert np.max(np.abs(X @ W0)) < 3.0  # so the floor is over |z| <= 3
    d = SingleNeuron(W0, Tanh()).time_scale(jnp.asarray(X))
    np.testing.assert_allclose(float(d), np.cosh(3.0) ** 4, rtol=1e-12)
    s = 1.0 / (1.0 + np.exp(-3.0))
    d = SingleNeuron(W0, Sigmoid()).time_scale(jnp.asarray(X))
    np.testing.assert_allclose(float(d), 1.0 / (s * (1 - s)) ** 2, rtol=1e-12)
    d = SingleNeuron(W0, Softplus()).time_scale(jnp.asarray(X))
    np.testing.assert_allclose(float(d), (1.0 + np.exp(3.0)) ** 2, rtol=1e-12)
    d = SingleNeuron(W0, fb.LeakyReLU(SLOPE)).time_scale(jnp.asarray(X))
    np.testing.assert_allclose(float(d), 1.0 / SLOPE**2, rtol=1e-14)
    assert float(SingleNeuron(W0, fb.ReLU()).time_scale(jnp.asarray(X))) == 1.0
    # A saturated start widens the floor to its own pre-activations.
    d = SingleNeuron(10 * W0 / np.max(np.abs(X @ W0)), Tanh()).time_scale(jnp.asarray(X))
    np.testing.assert_allclose(float(d), np.cosh(10.0) ** 4, rtol=1e-6)


@pytest.mark.parametrize(
    "name, bad",
    [("tanh", 1.0), ("tanh", -1.2), ("sigmoid", 0.0), ("sigmoid", 1.5), ("softplus", -0.1)],
)
def test_targets_outside_the_range_are_refused(name, bad):
    psi, _ = NUMPY[name]
    y = psi(X @ W_STAR)
    y[2] = bad
    with pytest.raises(fb.LimitError, match=r"`y` has 1 target\(s\) outside the range.*y\[2\]"):
        single_neuron_limit(X, y, W0, _activation(name))
    with pytest.raises(fb.LimitError, match="outside the range"):
        fb.predicted_limit(SingleNeuron(W0, _activation(name)), fb.SquareLoss(), X, y)


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError, match="`activation`.*Tanh\\(\\)"):
        SingleNeuron(W0, np.tanh)
    with pytest.raises(TypeError, match="`activation`"):
        SingleNeuron(W0, fb.PowerReLU(2))
    with pytest.raises(ValueError, match="`w0` must be a vector"):
        SingleNeuron(np.ones((2, 3)), Tanh())
    with pytest.raises(ValueError, match="`w0` contains NaN"):
        SingleNeuron(np.array([0.0, np.nan]), Tanh())
    with pytest.raises(TypeError, match="`w0` must be a numeric array"):
        SingleNeuron(np.array(["a", "b"]), Tanh())
    with pytest.raises(ValueError, match="`w0` is empty"):
        SingleNeuron(np.zeros(0), Tanh())
    with pytest.raises(ValueError, match="`X` has 11 columns"):
        SingleNeuron(W0, Tanh()).check_data(jnp.asarray(X[:, :11]))
    with pytest.raises(ValueError, match="`X` has 11 columns"):
        fb.flowsolve(SingleNeuron(W0, Tanh()), fb.SquareLoss(), X[:, :11], np.zeros(5))
    with pytest.raises(TypeError, match="`activation`"):
        single_neuron_limit(X, np.zeros(5), W0, np.tanh)
    # A leaky ReLU of slope 0 is a ReLU: not invertible.
    with pytest.raises(fb.LimitError, match="relu_neuron_nearest_interpolator"):
        single_neuron_limit(X, np.ones(5), W0, fb.LeakyReLU(0.0))
    # Dependent rows: psi^-1(y) is not in the range of X.
    X6 = np.vstack([X, X[:1]])
    y6 = np.tanh(np.concatenate([X @ W_STAR, [X[0] @ W_STAR + 0.1]]))
    with pytest.raises(fb.LimitError, match="full row rank"):
        single_neuron_limit(X6, y6, W0, Tanh())
    with pytest.raises(fb.LimitError, match="negative target"):
        relu_neuron_nearest_interpolator(X, X @ W_STAR, W0)


# ---- ReLU: zero loss, but not the nearest zero-loss point --------------------------------------


def _relu_qp_cvxpy(X, y, w0):
    """argmin ||w - w0||^2 s.t. x_i.w = y_i (y_i > 0), x_i.w <= 0 (y_i = 0), by cvxpy here."""
    pos = y > 0
    w = cp.Variable(X.shape[1])
    cons = [X[pos] @ w == y[pos], X[~pos] @ w <= 0]
    cp.Problem(cp.Minimize(cp.sum_squares(w - w0)), cons).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value)


@pytest.fixture(scope="module")
def relu_run():
    y = np.maximum(X @ W_STAR, 0.0)
    sol = fb.flowsolve(SingleNeuron(W0, fb.ReLU()), fb.SquareLoss(), X, y, throw=False)
    return y, sol, _relu_qp_cvxpy(X, y, W0)


def test_relu_flow_reaches_zero_loss_but_not_the_nearest_zero_loss_point(relu_run):
    y, sol, w_qp = relu_run
    assert sol.success, sol.message
    pos = y > 0
    z0 = X @ W0
    # The instance: every positive target starts active, and a zero target starts active too.
    assert np.all(z0[pos] > 0) and np.any(z0[~pos] > 0)
    assert float(sol.log_loss[-1]) <= float(sol.log_loss[0]) + np.log(1e-18)
    w = np.asarray(sol.observable_final)
    np.testing.assert_allclose(np.maximum(X @ w, 0), y, rtol=0, atol=1e-9)
    gap = _rel(w, w_qp)
    assert gap > 1e-2  # measured 4.6e-2: the statement fails, as predicted
    # The flow's zero-loss point is farther from w0; the QP is the projection of w0 onto the
    # convex zero-loss set, so ||w - w0||^2 >= ||w_qp - w0||^2 + ||w - w_qp||^2.
    d_flow, d_qp = np.linalg.norm(w - W0), np.linalg.norm(w_qp - W0)
    assert d_flow > d_qp
    assert d_flow**2 - d_qp**2 >= (1 - 1e-6) * np.linalg.norm(w - w_qp) ** 2


def test_relu_limit_lies_in_the_span_of_the_rows_active_along_the_path(relu_run):
    y, sol, w_qp = relu_run
    W = np.asarray(sol.observable)
    Z = W @ X.T
    active = np.any(Z > 0, axis=0)  # rows with a positive pre-activation at some saved time
    pos = y > 0
    crossed = active & ~pos & (Z[-1] < -1e-3)
    assert np.any(crossed)  # a zero target that was active, then switched off
    step = W[-1] - W0
    assert _off_span(X[active], step) <= 1e-12
    # ... and not in the span of the rows the QP lies on (the positive targets here).
    qp_rows = pos | (X @ w_qp > -1e-9)
    assert np.array_equal(qp_rows, pos)
    assert _off_span(X[qp_rows], w_qp - W0) <= 1e-9
    assert _off_span(X[qp_rows], step) > 1e-2


def test_relu_reference_and_theorem(relu_run):
    y, sol, w_qp = relu_run
    ref = relu_neuron_nearest_interpolator(X, y, W0)
    assert ref.kkt_residual <= 1e-12
    assert _rel(ref.w, w_qp) <= 1e-8
    np.testing.assert_array_equal(np.asarray(ref.active), y > 0)
    lam = np.asarray(ref.multipliers)
    np.testing.assert_allclose(ref.w - W0, -X.T @ lam, atol=1e-12)
    # Every zero target is slack at the QP: its multiplier vanishes.
    assert np.max(np.abs(lam[y == 0])) <= 1e-12 * np.max(np.abs(lam))
    with pytest.raises(fb.LimitError, match="relu_neuron_nearest_interpolator"):
        fb.predicted_limit(sol)
    with pytest.raises(fb.LimitError, match="not invertible"):
        single_neuron_limit(X, y, W0, fb.ReLU())
