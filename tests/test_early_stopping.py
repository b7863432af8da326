"""Early stopping under label noise: test error along flows, ridge and lasso paths."""

import cvxpy as cp
import equinox as eqx
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.linalg

import flowbias as fb
from flowbias.early_stopping import (
    EarlyStopping,
    early_stopping,
    lasso_path,
    plot_test_error,
    ridge_path,
)


N, D, M, SIGMA = 20, 40, 200, 1.0
TS = np.concatenate([[0.0], np.geomspace(1e-2, 1e4, 60)])


def _noisy(seed=0, n=N, d=D, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_star = np.zeros(d)
    if sparse:
        w_star[:3] = [2.0, -1.5, 1.0]
    else:
        w_star = rng.normal(size=d) / np.sqrt(d)
    y = X @ w_star + SIGMA * rng.normal(size=n)
    X_test = rng.normal(size=(M, d))
    y_test = X_test @ w_star + SIGMA * rng.normal(size=M)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def linear_flow():
    X, y, X_test, y_test = _noisy()
    sol = fb.flowsolve(fb.LinearModel(np.zeros(D)), fb.SquareLoss(), X, y, ts=TS)
    return sol, X, y, X_test, y_test


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# --- ridge ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n,d", [(20, 40), (40, 15)])
def test_ridge_matches_normal_equations(n, d):
    X, y, X_test, y_test = _noisy(1, n=n, d=d)
    lambdas = np.array([1e-3, 2.0, 0.1])
    path = ridge_path(X, y, X_test, y_test, lambdas)
    np.testing.assert_array_equal(path.ts, [2.0, 0.1, 1e-3])  # decreasing
    for lam, w in zip(path.ts, path.w, strict=True):
        ref = np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)
        assert _rel(w, ref) < 1e-10
    errors = np.mean((path.w @ X_test.T - y_test) ** 2, axis=1)
    np.testing.assert_allclose(path.test_errors, errors, rtol=1e-13)
    assert path.final_error == path.test_errors[-1]
    assert path.best_error == path.test_errors.min()
    assert path.best_time == path.ts[np.argmin(path.test_errors)]


# --- lasso ---------------------------------------------------------------------------------


def _cvxpy_lasso(X, y, lam):
    w = cp.Variable(X.shape[1])
    obj = cp.sum_squares(X @ w - y) / (2 * X.shape[0]) + lam * cp.norm1(w)
    cp.Problem(cp.Minimize(obj)).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return w.value


def test_lasso_matches_cvxpy_and_kkt():
    X, y, X_test, y_test = _noisy(2, sparse=True)
    lam_max = np.max(np.abs(X.T @ y)) / N
    lambdas = lam_max * np.array([0.5, 0.05, 0.002])
    path = lasso_path(X, y, X_test, y_test, lambdas)
    nnz = []
    for lam, w in zip(path.ts, path.w, strict=True):
        assert _rel(w, _cvxpy_lasso(X, y, lam)) < 1e-6
        # KKT: X^T (y - Xw) / n = lam sign(w) on the support, |.| <= lam off it.
        g = X.T @ (y - X @ w) / N
        on = w != 0
        np.testing.assert_allclose(g[on], lam * np.sign(w[on]), rtol=0, atol=1e-9 * lam_max)
        assert np.all(np.abs(g[~on]) <= lam * (1 + 1e-9))
        nnz.append(int(on.sum()))
    assert nnz[0] < nnz[-1] <= N  # sparser at larger lambda; at most n nonzeros
    # Above lam_max the solution is exactly zero.
    zero = lasso_path(X, y, X_test, y_test, [1.01 * lam_max])
    assert np.all(zero.w == 0)
    assert zero.final_error == pytest.approx(np.mean(y_test**2), rel=1e-14)


@pytest.mark.parametrize("fn", [ridge_path, lasso_path])
@pytest.mark.parametrize("bad", [[0.1, -1.0], [0.0], [np.nan, 0.1], [[0.1, 0.2]], [], [np.inf]])
def test_paths_validate_lambdas(fn, bad):
    X, y, X_test, y_test = _noisy(3)
    with pytest.raises(ValueError, match="lambdas"):
        fn(X, y, X_test, y_test, bad)


def test_paths_validate_data():
    X, y, X_test, y_test = _noisy(3)
    with pytest.raises(ValueError, match="`y`"):
        ridge_path(X, y[:-1], X_test, y_test, [0.1])
    with pytest.raises(ValueError, match="X_test"):
        lasso_path(X, y, X_test[:, :-1], y_test, [0.1])
    with pytest.raises(ValueError, match="rtol"):
        lasso_path(X, y, X_test, y_test, [0.1], rtol=0.0)


# --- along a flow --------------------------------------------------------------------------


def test_linear_flow_matches_closed_form(linear_flow):
    sol, X, y, X_test, y_test = linear_flow
    result = early_stopping(sol, X_test, y_test)
    assert isinstance(result, EarlyStopping)
    np.testing.assert_array_equal(result.ts, np.asarray(sol.ts))
    K = X @ X.T
    Kinv = np.linalg.inv(K)
    for t, w, err in zip(TS, result.w, result.test_errors, strict=True):
        ref = X.T @ Kinv @ (np.eye(N) - scipy.linalg.expm(-t * K / N)) @ y
        assert np.linalg.norm(w - ref) <= 1e-8 * (1 + np.linalg.norm(ref))
        assert err == pytest.approx(np.mean((X_test @ ref - y_test) ** 2), rel=1e-8)
    assert result.test_errors[0] == pytest.approx(np.mean(y_test**2), rel=1e-14)  # w(0) = 0


def test_label_noise_early_stopping_beats_interpolator(linear_flow):
    sol, X, y, X_test, y_test = linear_flow
    result = early_stopping(sol, X_test, y_test, label="gradient flow")
    assert result.label == "gradient flow"
    # The final state interpolates the noisy labels ...
    assert np.linalg.norm(X @ result.w[-1] - y) < 1e-6 * np.linalg.norm(y)
    assert result.final_error == result.test_errors[-1]
    # ... and stopping earlier is clearly better (measured: about 0.66 of the final error).
    assert result.best_error < 0.9 * result.final_error
    assert TS[1] < result.best_time < TS[-1]
    assert result.best_error == pytest.approx(result.test_errors.min(), rel=0)


def test_early_stopping_rejects_bad_inputs(linear_flow):
    sol, X, y, X_test, y_test = linear_flow
    with pytest.raises(TypeError, match="sol"):
        early_stopping(sol.w, X_test, y_test)
    with pytest.raises(ValueError, match="X_test"):
        early_stopping(sol, X_test[:, :-1], y_test)
    with pytest.raises(ValueError, match="y_test"):
        early_stopping(sol, X_test, y_test[:-1])
    with pytest.raises(ValueError, match="X_test"):
        early_stopping(sol, np.where(X_test > 2, np.nan, X_test), y_test)
    nan_path = eqx.tree_at(lambda s: s.observable, sol, jnp.full_like(sol.observable, jnp.nan))
    with pytest.raises(ValueError, match="sol.w"):
        early_stopping(nan_path, X_test, y_test)
    batched = eqx.tree_at(lambda s: s.observable, sol, jnp.stack([sol.observable] * 2))
    with pytest.raises(ValueError, match="sol"):
        early_stopping(batched, X_test, y_test)
    matrix = eqx.tree_at(
        lambda s: s.problem.model, sol, fb.MatrixFactorization.balanced(1e-3, (4, 4), depth=2)
    )
    assert matrix.w is None
    with pytest.raises(TypeError, match="sol.w is None"):
        early_stopping(matrix, X_test, y_test)


# --- plot ----------------------------------------------------------------------------------


def test_plot_test_error(linear_flow):
    sol, X, y, X_test, y_test = linear_flow
    lambdas = np.geomspace(1e-4, 1.0, 20)
    paths = [
        early_stopping(sol, X_test, y_test, label="gradient flow"),
        ridge_path(X, y, X_test, y_test, lambdas),
        lasso_path(X, y, X_test, y_test, lambdas),
    ]
    ax = plot_test_error(paths, x_label=r"$t$ or $1/\lambda$")
    assert ax.get_title()
    assert ax.get_xlabel() == r"$t$ or $1/\lambda$"
    assert ax.get_ylabel() == "test MSE"
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "gradient flow",
        "ridge",
        "lasso",
    ]
    assert len(ax.lines) == 6  # a curve and a minimum marker per path
    _, fig_ax = plt.subplots()
    assert plot_test_error(paths[0], ax=fig_ax) is fig_ax
    assert fig_ax.get_xlabel() == r"time $t$"
    with pytest.raises(TypeError, match="paths"):
        plot_test_error([])
    with pytest.raises(TypeError, match="paths"):
        plot_test_error([sol])
    plt.close("all")
