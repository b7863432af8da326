"""Finite step sizes (THEORY M5): gradient descent against gradient flow, O(eta), and against
the modified flow L + (eta/4)||grad L||^2 of Barrett & Dherin (ICLR 2021), O(eta^2); and the
large-step limit of gradient descent on a diagonal network, against the effective
initialisation of Even, Pesme, Gunasekar & Flammarion (NeurIPS 2023).

References are independent of the code under test: closed forms in NumPy/SciPy (eigh, expm)
for least squares, a NumPy loop for gradient descent on the diagonal network, cvxpy for the
min-l1 interpolator, and the dual Newton solve `fb.mirror_limit` (no time stepping) for
argmin Q.
"""

from __future__ import annotations

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from helpers import min_l1_cvxpy, sparse_regression

import flowbias as fb
from flowbias.discrete import (
    DescentDivergedError,
    gradient_descent,
    step_size_orders,
)
from flowbias.flows.modified import ModifiedGradientFlow


T = 1.0
STEPS = np.array([10, 20, 40, 80])  # eta = T / k


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---- least squares: closed forms -----------------------------------------------------------


@pytest.fixture(scope="module")
def lsq():
    """Overdetermined least squares with noise (the limit keeps a residual), so that
    H = X^T X / n, the Hessian of L = ||Xw - y||^2 / (2n), is invertible."""
    rng = np.random.default_rng(7)
    n, d = 30, 8
    X = rng.normal(size=(n, d))
    y = rng.normal(size=n)
    w0 = rng.normal(size=d)
    H = X.T @ X / n
    w_star = np.linalg.solve(H, X.T @ y / n)  # the least-squares minimiser
    return X, y, w0, H, w_star


@pytest.fixture(scope="module")
def lsq_orders(lsq):
    X, y, w0, _, _ = lsq
    return step_size_orders(fb.LinearModel(w0), fb.SquareLoss(), X, y, step_sizes=T / STEPS, t=T)


def _gd_closed_form(H, w0, w_star, eta, k):
    lam, V = np.linalg.eigh(H)
    return w_star + V @ ((1.0 - eta * lam) ** k * (V.T @ (w0 - w_star)))


def test_gradient_descent_path_matches_the_closed_form(lsq):
    X, y, w0, H, w_star = lsq
    eta = 0.05
    for save_every in (1, 7):  # 7 does not divide 40: the last step is saved as well
        path = gradient_descent(
            fb.LinearModel(w0),
            fb.SquareLoss(),
            X,
            y,
            step_size=eta,
            num_steps=40,
            save_every=save_every,
        )
        steps = np.asarray(path.steps)
        expected = list(range(0, 41, save_every))
        if expected[-1] != 40:
            expected.append(40)
        assert steps.tolist() == expected
        np.testing.assert_allclose(np.asarray(path.ts), eta * steps, rtol=1e-15)
        ref = np.stack([_gd_closed_form(H, w0, w_star, eta, k) for k in steps])
        err = np.max(np.linalg.norm(np.asarray(path.observable) - ref, axis=1))
        assert err <= 1e-13 * np.linalg.norm(w_star)
        r = X @ ref.T - y[:, None]
        log_loss = np.log(np.sum(r**2, axis=0) / (2 * X.shape[0]))
        np.testing.assert_allclose(np.asarray(path.log_loss), log_loss, rtol=1e-12)
        assert bool(path.finite) and int(path.diverged_step) == -1


def test_flows_and_descent_at_t_match_their_closed_forms(lsq, lsq_orders):
    _, _, w0, H, w_star = lsq
    o = lsq_orders
    gf = w_star + scipy.linalg.expm(-T * H) @ (w0 - w_star)
    assert _rel(o.gradient_flow, gf) <= 1e-10
    for j, k in enumerate(STEPS):
        eta = T / k
        assert int(o.num_steps[j]) == k
        mf = w_star + scipy.linalg.expm(-T * (H + 0.5 * eta * H @ H)) @ (w0 - w_star)
        assert _rel(o.modified_flow[j], mf) <= 1e-10
        assert _rel(o.descent[j], _gd_closed_form(H, w0, w_star, eta, k)) <= 1e-13
        # The reported errors are the ones the closed forms give.
        np.testing.assert_allclose(
            float(o.gradient_flow_error[j]), _rel(o.descent[j], gf), rtol=1e-8
        )
        np.testing.assert_allclose(
            float(o.modified_error[j]),
            np.linalg.norm(_gd_closed_form(H, w0, w_star, eta, k) - mf) / np.linalg.norm(gf),
            rtol=1e-5,
        )


# ---- the fitted orders ---------------------------------------------------------------------


def test_orders_on_least_squares(lsq_orders):
    # Measured: slopes 1.017 and 1.995 (errors 7.4e-2 .. 8.9e-3 and 7.3e-3 .. 1.2e-4).
    o = lsq_orders
    assert 0.85 <= float(o.gradient_flow_slope) <= 1.15
    assert 1.8 <= float(o.modified_slope) <= 2.2
    # The modified flow is closer at every step size, by a factor that grows like 1/eta.
    assert np.all(np.asarray(o.modified_error) < np.asarray(o.gradient_flow_error))


@pytest.fixture(scope="module")
def diagonal_orders():
    p = sparse_regression(10, 20, 2, 0)
    # Short horizon at alpha = 1: not stiff, and Dopri8 at rtol 1e-12 is well below the
    # smallest error measured (1e-5); the errors agreed with a run on the default Kvaerno5
    # to 1e-8 relative.
    return step_size_orders(
        fb.DiagonalNetwork.uniform(1.0, 20),
        fb.SquareLoss(),
        p.X,
        p.y,
        step_sizes=T / (2 * STEPS),
        t=T,
        solver=dfx.Dopri8(),
    )


def test_orders_on_a_diagonal_network(diagonal_orders):
    # Measured: slopes 1.018 and 1.971 (errors 2.7e-3 .. 3.2e-4 and 7.5e-4 .. 1.2e-5).
    o = diagonal_orders
    assert 0.85 <= float(o.gradient_flow_slope) <= 1.15
    assert 1.8 <= float(o.modified_slope) <= 2.2
    assert np.all(np.asarray(o.modified_error) < np.asarray(o.gradient_flow_error))


def test_modified_vector_field_is_the_gradient_of_the_modified_loss():
    # Against a dense Hessian of the loss written out here: -(g + eta/2 H g).
    p = sparse_regression(6, 5, 2, 1)
    X, y = jnp.asarray(p.X), jnp.asarray(p.y)
    model = fb.DiagonalNetwork(np.linspace(0.5, 1.5, 5), np.linspace(1.2, 0.3, 5))
    eta = 0.3

    def L(theta):
        u, v = theta[:5], theta[5:]
        return jnp.sum((X @ (u**2 - v**2) - y) ** 2) / (2 * X.shape[0])

    u0, v0 = model.init_params()
    theta = jnp.concatenate([u0, v0])
    g = jax.grad(L)(theta)
    expected = -(g + 0.5 * eta * jax.jit(jax.hessian(L))(theta) @ g)
    field = eqx.filter_jit(ModifiedGradientFlow(eta).vector_field)(
        0.0, (u0, v0), model, fb.SquareLoss(), fb.LinearTime(), X, y
    )
    np.testing.assert_allclose(np.concatenate(field), np.asarray(expected), rtol=1e-13)
    assert not isinstance(ModifiedGradientFlow(eta), fb.AbstractGradientFlow)


# ---- large steps on a diagonal network -----------------------------------------------------

ALPHA = 0.1
LARGE_STEPS = 20_000


@pytest.fixture(scope="module")
def large_step():
    """Gradient descent at a small and at a large stable step on a sparse regression
    problem, with every iterate kept (the effective initialisation sums over all of them)."""
    X, y, w_star = fb.problems.sparse_regression(20, 40, 3, 0)
    n, d = X.shape
    model = fb.DiagonalNetwork.uniform(ALPHA, d)
    w_gf = np.asarray(fb.mirror_limit(model, X, y))  # gradient flow's limit, argmin Q_alpha
    # Stability: at the start the Hessian in (u, v) is dominated by diag(2 g0, -2 g0), so
    # eta < 1 / (2 max|g0|) keeps every factor 1 -+ 2 eta g positive; at an interpolator w the
    # Hessian is 4 [U; -V] X^T X [U, -V] / n, eigenvalues 4 eig(X diag(u^2 + v^2) X^T / n),
    # with u^2 + v^2 = sqrt(w^2 + 4 alpha^4) on gradient flow's limit.
    g0 = X.T @ y / n
    lam = np.linalg.eigvalsh(X @ np.diag(np.sqrt(w_gf**2 + 4 * ALPHA**4)) @ X.T / n).max()
    eta_max = min(1.0 / (2 * np.max(np.abs(g0))), 2.0 / (4 * lam))
    runs = {}
    for name, frac in (("small", 0.1), ("large", 0.95)):
        eta = frac * eta_max
        path = gradient_descent(model, fb.SquareLoss(), X, y, step_size=eta, num_steps=LARGE_STEPS)
        u, v = (np.asarray(a) for a in path.params)
        runs[name] = (eta, u, v, np.asarray(path.observable))
    return X, y, w_star, w_gf, min_l1_cvxpy(X, y), runs


def test_descent_on_a_diagonal_network_matches_a_numpy_loop(large_step):
    X, y, _, _, _, runs = large_step
    eta, u_fb, v_fb, _ = runs["large"]
    n, d = X.shape
    u, v = ALPHA * np.ones(d), ALPHA * np.ones(d)
    for k in range(200):
        np.testing.assert_allclose(u_fb[k], u, rtol=1e-12)
        np.testing.assert_allclose(v_fb[k], v, rtol=1e-12)
        g = X.T @ (X @ (u * u - v * v) - y) / n
        u, v = u - eta * 2 * u * g, v + eta * 2 * v * g


@pytest.mark.parametrize("name", ["small", "large"])
def test_large_step_limit_is_argmin_Q_at_the_effective_initialisation(large_step, name):
    # Even et al. 2023, main theorem (their beta = u v; here w = u^2 - v^2):
    # u_{k+1} = u_k (1 - x_k), v_{k+1} = v_k (1 + x_k) with x_k = 2 eta grad_w L(w_k), so the
    # limit is gradient flow's
    # from u(0) = alpha_+, v(0) = alpha_-, alpha_+- = alpha exp(-sum_k q_+-(x_k) / 2),
    # q_+-(x) = -+2x - log (1 -+ x)^2: argmin D_Q(w, w~0) at the effective scale
    # alpha_inf = sqrt(alpha_+ alpha_-) = alpha exp(-sum_k q(x_k) / 2), q(x) = -log(1 - x^2)^2 / 2.
    X, y, w_star, _, _, runs = large_step
    eta, u, v, w = runs[name]
    n = X.shape[0]
    W = u[:-1] ** 2 - v[:-1] ** 2  # w_0 .. w_{K-1}
    x = 2 * eta * (X.T @ (X @ W.T - y[:, None]) / n).T
    assert np.max(np.abs(x)) < np.sqrt(2.0)  # where q >= 0: the scale can only shrink
    qp = np.sum(-np.log((1 - x) ** 2) - 2 * x, axis=0)
    qm = np.sum(-np.log((1 + x) ** 2) + 2 * x, axis=0)
    a_plus, a_minus = ALPHA * np.exp(-qp / 2), ALPHA * np.exp(-qm / 2)
    a_inf = np.sqrt(a_plus * a_minus)
    assert np.all(a_inf <= ALPHA)
    w_end = w[-1]
    assert np.linalg.norm(X @ w_end - y) <= 1e-12 * np.linalg.norm(y)  # converged
    predicted = np.asarray(fb.mirror_limit(fb.DiagonalNetwork(a_plus, a_minus), X, y))
    assert _rel(w_end, predicted) <= 1e-9  # measured 2.1e-13 (large), 2.7e-13 (small)
    # The shrinkage is not uniform: it is largest on the coordinate with the largest initial
    # gradient |grad L(w_0)| = |X^T y| / n, here in the support of the sparse ground truth.
    assert int(np.argmin(a_inf)) == int(np.argmax(np.abs(X.T @ y)))
    assert int(np.argmin(a_inf)) in np.flatnonzero(w_star).tolist()


def test_large_steps_move_gradient_descent_away_from_the_min_l1_interpolator(large_step):
    # Even et al. 2023: large steps help SGD recover sparse vectors but "can hinder" GD. Here
    # the effective scale shrinks mostly on the support, where |grad L(w_0)| is largest, which
    # raises those coordinates' weight log(1/alpha_inf,i) in the small-scale (weighted l1)
    # potential. Measured: distance to min-l1 0.318 (GF), 0.323 (small step), 0.357 (large);
    # l1 norms 1.973, 1.981, 2.040 (min-l1 1.397).
    X, y, _, w_gf, w_l1, runs = large_step
    d_gf = _rel(w_gf, w_l1)
    d_small = _rel(runs["small"][3][-1], w_l1)
    d_large = _rel(runs["large"][3][-1], w_l1)
    assert d_gf < d_small < d_large
    assert d_large - d_gf > 0.1 * d_gf
    l1 = lambda w: float(np.sum(np.abs(w)))  # noqa: E731
    assert l1(w_gf) < l1(runs["small"][3][-1]) < l1(runs["large"][3][-1])


# ---- errors and compilation ----------------------------------------------------------------


def test_log_time_is_refused(lsq):
    X, y, w0, _, _ = lsq
    with pytest.raises(TypeError, match=r"linear time only.*time=fb\.LinearTime\(\)"):
        fb.flowsolve(
            fb.LinearModel(w0),
            fb.SquareLoss(),
            X,
            y,
            1.0,
            flow=ModifiedGradientFlow(0.1),
            time=fb.LogTime(),
        )
    # Classification losses default to log time, but not for a flow of linear time only.
    Xc, yc = fb.problems.gaussian_separable(10, 3, 0)
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(3)),
        fb.ExponentialLoss(),
        Xc,
        yc,
        10.0,
        flow=ModifiedGradientFlow(0.1),
    )
    assert isinstance(sol.problem.time, fb.LinearTime) and bool(sol.success)


@pytest.mark.parametrize("bad", [0.0, -0.1, np.nan, np.inf, True, np.ones(2)])
def test_bad_step_size_is_refused(lsq, bad):
    X, y, w0, _, _ = lsq
    with pytest.raises((TypeError, ValueError), match="step_size"):
        ModifiedGradientFlow(bad)
    with pytest.raises((TypeError, ValueError), match="step_size"):
        gradient_descent(fb.LinearModel(w0), fb.SquareLoss(), X, y, step_size=bad, num_steps=3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_steps=0), "num_steps"),
        (dict(num_steps=2.5), "num_steps"),
        (dict(save_every=0), "save_every"),
    ],
)
def test_bad_descent_arguments_are_refused(lsq, kwargs, match):
    X, y, w0, _, _ = lsq
    args = dict(step_size=0.1, num_steps=3) | kwargs
    with pytest.raises(ValueError, match=match):
        gradient_descent(fb.LinearModel(w0), fb.SquareLoss(), X, y, **args)
    with pytest.raises(ValueError, match="columns"):  # the model's own data check
        gradient_descent(fb.LinearModel(w0[:3]), fb.SquareLoss(), X, y, step_size=0.1, num_steps=3)


def test_divergence_is_flagged_not_silent(lsq):
    X, y, w0, H, _ = lsq
    eta = 10.0 / np.linalg.eigvalsh(H).max()  # 5 times the stability limit 2 / lambda_max
    with pytest.raises(DescentDivergedError, match="diverged.*smaller `step_size`"):
        gradient_descent(
            fb.LinearModel(w0), fb.SquareLoss(), X, y, step_size=eta, num_steps=2000, save_every=100
        )
    path = gradient_descent(
        fb.LinearModel(w0),
        fb.SquareLoss(),
        X,
        y,
        step_size=eta,
        num_steps=2000,
        save_every=100,
        throw=False,
    )
    assert not bool(path.finite)
    k = int(path.diverged_step)
    # |1 - eta lambda_max| = 9: the iterates overflow float64 (1e308) after ~320 steps.
    assert 250 <= k <= 400
    assert np.all(np.isfinite(np.asarray(path.observable)[np.asarray(path.steps) < k - 10]))


@pytest.mark.parametrize(
    "step_sizes, match",
    [
        ([0.3, 0.15], "integer"),  # t / 0.3 = 3.33
        ([0.1], "at least two"),
        ([0.1, 0.1], "at least two"),
        ([0.1, -0.05], "> 0"),
    ],
)
def test_bad_step_sizes_for_the_orders_are_refused(lsq, step_sizes, match):
    X, y, w0, _, _ = lsq
    with pytest.raises(ValueError, match=match):
        step_size_orders(fb.LinearModel(w0), fb.SquareLoss(), X, y, step_sizes=step_sizes, t=1.0)


def test_another_step_size_does_not_recompile(lsq, lsq_orders):
    from flowbias.discrete.gradient_descent import _descend
    from flowbias.solve import _integrate

    X, y, w0, _, _ = lsq
    model = fb.LinearModel(w0)
    solve = dict(time=fb.LinearTime(), ts=np.array([T]), rtol=1e-12, atol=1e-14, stop_ratio=False)
    # The orders fixture solved the modified flow for these shapes already.
    before = eqx.debug.get_num_traces(_integrate)
    fb.flowsolve(model, fb.SquareLoss(), X, y, T, flow=ModifiedGradientFlow(0.0123), **solve)
    assert eqx.debug.get_num_traces(_integrate) == before

    run = lambda eta, k: gradient_descent(  # noqa: E731
        model, fb.SquareLoss(), X, y, step_size=eta, num_steps=k, save_every=k
    )
    run(0.01, 17)  # a step count no other test uses
    before = eqx.debug.get_num_traces(_descend)
    run(0.02, 17)
    assert eqx.debug.get_num_traces(_descend) == before
    run(0.02, 19)  # the step count is static: one more trace (so the counter can fail)
    assert eqx.debug.get_num_traces(_descend) == before + 1
