"""Reference solvers (min-norm / least squares, hard-margin SVM, separability) against
independent computations: explicit formulas with numpy.linalg.solve, Lawson-Hanson's NNLS
route to least-distance programming, L-BFGS-B on the SVM dual, a cvxpy LP written here, and
hand-solvable cases."""

import subprocess
import sys

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from hypothesis import given, settings, strategies as st

from flowbias.references import (
    NonSeparableError,
    check_separable,
    hard_margin_svm,
    least_squares_limit,
    min_norm_interpolator,
    require_separable,
)


# ---------------------------------------------------------------------------------------------
# Independent references


def explicit_min_norm(X, y, w0):
    """argmin ||w - w0|| s.t. Xw = y = X^T (XX^T)^{-1} y + (I - X^T (XX^T)^{-1} X) w0."""
    G = X @ X.T
    return X.T @ np.linalg.solve(G, y) + w0 - X.T @ np.linalg.solve(G, X @ w0)


def svm_by_nnls(Z):
    """min ||w|| s.t. Z w >= 1 via Lawson & Hanson's LDP algorithm (Solving Least Squares
    Problems, ch. 23): NNLS on E = [Z^T; 1^T], f = e_{d+1}; then w = -r[:d] / r[d]."""
    n, d = Z.shape
    E = np.vstack([Z.T, np.ones((1, n))])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    u, _ = scipy.optimize.nnls(E, f, maxiter=100 * n)
    r = E @ u - f
    return -r[:d] / r[d]


def svm_by_lbfgsb(Z):
    """The SVM dual min 1/2 a^T K a - sum(a), a >= 0, by L-BFGS-B; w = Z^T a."""
    K = Z @ Z.T
    res = scipy.optimize.minimize(
        lambda a: (0.5 * a @ K @ a - a.sum(), K @ a - 1.0),
        np.zeros(Z.shape[0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * Z.shape[0],
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 20000, "maxcor": 30},
    )
    return Z.T @ res.x


def kkt_violation(Z, w, a):
    m = Z @ w
    w2 = w @ w
    return max(
        np.linalg.norm(w - Z.T @ a) / np.sqrt(w2),
        max(0.0, np.max(1 - m)),
        np.max(np.abs(a * (m - 1))) / w2,
        max(0.0, np.max(-a)) / w2,
    )


def separable_data(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sign(X @ rng.normal(size=d))
    return X, y


# ---------------------------------------------------------------------------------------------
# Least squares / min-norm


shapes = st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**31 - 1))


@settings(max_examples=20, deadline=None)
@given(shapes)
def test_min_norm_matches_explicit_formula(shape):
    n, extra, seed = shape
    d = n + extra
    rng = np.random.default_rng(seed)
    X, y, w0 = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
    expected = explicit_min_norm(X, y, w0)
    tol = 1e-13 * np.linalg.cond(X) * (1 + np.linalg.norm(w0))
    for fn in (min_norm_interpolator, least_squares_limit):
        w = np.asarray(fn(X, y, w0))
        assert np.linalg.norm(w - expected) <= tol * np.linalg.norm(expected)


def test_min_norm_default_w0_is_zero():
    X, y = np.random.default_rng(0).normal(size=(4, 9)), np.arange(4.0)
    w = np.asarray(min_norm_interpolator(X, y))
    np.testing.assert_allclose(w, X.T @ np.linalg.solve(X @ X.T, y), rtol=1e-13, atol=1e-14)


def test_least_squares_overdetermined_forgets_w0():
    rng = np.random.default_rng(1)
    X, y, w0 = rng.normal(size=(30, 6)), rng.normal(size=30), rng.normal(size=6)
    expected = np.linalg.solve(X.T @ X, X.T @ y)  # unique minimiser (full column rank)
    np.testing.assert_allclose(np.asarray(least_squares_limit(X, y, w0)), expected, rtol=1e-12)


def test_least_squares_rank_deficient_is_nearest_minimiser():
    # rank 3 < min(n, d): the minimiser set is w* + null(X); the limit is the one nearest w0,
    # characterised by the normal equations and w - w0 being orthogonal to null(X).
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 3)) @ rng.normal(size=(3, 8))
    y, w0 = rng.normal(size=12), rng.normal(size=8)
    w = np.asarray(least_squares_limit(X, y, w0))
    N = scipy.linalg.null_space(X)
    assert N.shape[1] == 5
    assert np.linalg.norm(X.T @ (X @ w - y)) <= 1e-12 * np.linalg.norm(X) ** 2 * np.linalg.norm(w)
    assert np.linalg.norm(N.T @ (w - w0)) <= 1e-13 * np.linalg.norm(w)


def test_least_squares_under_jit_and_vmap():
    rng = np.random.default_rng(3)
    X, Y, w0 = rng.normal(size=(3, 7)), rng.normal(size=(5, 3)), rng.normal(size=7)
    batched = jax.jit(jax.vmap(lambda y: min_norm_interpolator(X, y, w0)))(jnp.asarray(Y))
    for y, w in zip(Y, np.asarray(batched), strict=True):
        np.testing.assert_allclose(w, explicit_min_norm(X, y, w0), rtol=1e-12, atol=1e-13)


def test_min_norm_consistent_duplicate_rows():
    # A repeated row with the same target: rank-deficient but still interpolable.
    rng = np.random.default_rng(4)
    X, y, w0 = rng.normal(size=(3, 6)), rng.normal(size=3), rng.normal(size=6)
    X2, y2 = np.vstack([X, X[1]]), np.append(y, y[1])
    w = np.asarray(min_norm_interpolator(X2, y2, w0))
    np.testing.assert_allclose(w, explicit_min_norm(X, y, w0), rtol=1e-12, atol=1e-13)


def test_min_norm_raises_without_interpolator():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    with pytest.raises(ValueError, match=r"`y` is not in the range of `X`.*n = 8 > d = 3") as e:
        min_norm_interpolator(X, y)
    assert "least_squares_limit" in str(e.value)
    X = np.vstack([X[:2, :], X[0]]).repeat(2, axis=1)  # 3 x 6, rank 2
    with pytest.raises(ValueError, match=r"numerical rank 2 < n = 3"):
        min_norm_interpolator(X, rng.normal(size=3))


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((np.ones(3), np.ones(3)), "`X`"),
        ((np.ones((3, 2)), np.ones((3, 1))), "`y`"),
        ((np.ones((3, 2)), np.ones(4)), "`X` has 3 rows but `y` has 4"),
        ((np.ones((3, 2)), np.ones(3), np.ones(3)), "`w0` has 3 entries"),
        ((np.array([[1.0, np.nan]]), np.ones(1)), "`X` contains NaN"),
        ((np.ones((2, 2)), np.array([1.0, np.inf])), "`y` contains NaN or inf"),
    ],
)
@pytest.mark.parametrize("fn", [least_squares_limit, min_norm_interpolator])
def test_min_norm_bad_input(fn, args, name):
    with pytest.raises(ValueError, match=name):
        fn(*args)


# ---------------------------------------------------------------------------------------------
# Hard-margin SVM


def test_svm_one_point():
    z = np.array([3.0, -4.0, 12.0])  # ||z|| = 13
    sol = hard_margin_svm(-z[None, :], np.array([-1.0]))
    np.testing.assert_allclose(np.asarray(sol.w), z / 169.0, rtol=1e-15)
    np.testing.assert_allclose(np.asarray(sol.dual), [1 / 169.0], rtol=1e-15)
    assert float(sol.margin) == pytest.approx(13.0, rel=1e-15)
    assert bool(sol.support[0]) and not sol.support_degenerate


def test_svm_two_symmetric_points_and_an_inactive_one():
    # z = (1, 1), (1, -1), (3, 0): w = (1, 0), a = (1/2, 1/2, 0), margin 1.
    X = np.array([[1.0, 1.0], [-1.0, 1.0], [3.0, 0.0]])
    y = np.array([1.0, -1.0, 1.0])
    sol = hard_margin_svm(X, y)
    np.testing.assert_allclose(np.asarray(sol.w), [1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(np.asarray(sol.dual), [0.5, 0.5, 0.0], atol=1e-15)
    assert np.asarray(sol.support).tolist() == [True, True, False]
    assert float(sol.margin) == pytest.approx(1.0, rel=1e-15)
    assert not sol.support_degenerate


@pytest.mark.parametrize(
    "Z",
    [
        [[1.0, 0.0], [1.0, 1.0]],  # second point on the margin with zero weight
        [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0]],  # three dependent support vectors in 2-D
    ],
)
def test_svm_degenerate_support(Z):
    Z = np.array(Z)
    sol = hard_margin_svm(Z, np.ones(len(Z)))
    w, a = np.asarray(sol.w), np.asarray(sol.dual)
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-15)
    assert np.all(np.asarray(sol.support))
    assert sol.support_degenerate
    assert kkt_violation(Z, w, a) <= 1e-14


@pytest.mark.parametrize(("n", "d", "seed"), [(38, 10, 0), (38, 10, 1), (200, 100, 2)])
def test_svm_random_against_nnls_and_lbfgsb(n, d, seed):
    X, y = separable_data(n, d, seed)
    Z = y[:, None] * X
    sol = hard_margin_svm(X, y)
    w, a = np.asarray(sol.w), np.asarray(sol.dual)
    w_nnls = svm_by_nnls(Z)
    # Exact finite algorithm: agreement to 1e-10 (measured: a few 1e-15).
    assert np.linalg.norm(w - w_nnls) <= 1e-10 * np.linalg.norm(w_nnls)
    # First-order method on the dual: agreement to 1e-6 (measured: a few 1e-8).
    w_lb = svm_by_lbfgsb(Z)
    assert np.linalg.norm(w - w_lb) <= 1e-6 * np.linalg.norm(w_lb)
    # KKT conditions, computed here, and as reported.
    assert kkt_violation(Z, w, a) <= 1e-9
    assert float(sol.kkt_residual) <= 1e-9
    assert float(sol.margin) == pytest.approx(1 / np.linalg.norm(w_nnls), rel=1e-10)
    support = np.abs(Z @ w_nnls - 1) < 1e-7
    assert np.array_equal(np.asarray(sol.support), support)


def test_svm_scale_equivariance():
    X, y = separable_data(38, 10, 3)
    w1 = np.asarray(hard_margin_svm(X, y).w)
    w2 = np.asarray(hard_margin_svm(1e3 * X, y).w)
    np.testing.assert_allclose(1e3 * w2, w1, rtol=1e-11)


def test_svm_non_separable_raises():
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    with pytest.raises(NonSeparableError, match=r"^`X`, `y` are not linearly separable") as e:
        hard_margin_svm(X, y)
    assert isinstance(e.value, ValueError)
    assert "square loss" in str(e.value)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.ones((3, 2)), np.array([0.0, 1.0, 1.0]), "`y` must hold labels"),
        (np.ones((3, 2)), np.ones(2), "`X` has 3 rows but `y` has 2"),
        (np.array([[np.inf, 1.0]]), np.ones(1), "`X` contains NaN"),
        (np.ones(2), np.ones(2), "`X` must be a matrix"),
    ],
)
@pytest.mark.parametrize("fn", [hard_margin_svm, check_separable])
def test_classification_bad_input(fn, X, y, match):
    with pytest.raises(ValueError, match=match):
        fn(X, y)


def test_svm_refuses_tracers():
    X, y = separable_data(5, 3, 0)
    with pytest.raises(TypeError, match="outside the transformation"):
        jax.jit(hard_margin_svm)(X, y)


# ---------------------------------------------------------------------------------------------
# Separability


def lp_margin_cvxpy(Z):
    """max t s.t. Z w >= t, ||w||_inf <= 1, written out here with cvxpy (Clarabel)."""
    w, t = cp.Variable(Z.shape[1]), cp.Variable()
    cp.Problem(cp.Maximize(t), [Z @ w >= t, cp.norm_inf(w) <= 1]).solve(solver="CLARABEL")
    return float(t.value)


def test_separable_random():
    X, y = separable_data(38, 10, 7)
    rep = check_separable(X, y)
    Z = y[:, None] * X
    w = np.asarray(rep.w)
    assert rep.separable and "separable" in rep.message
    assert np.max(np.abs(w)) <= 1 + 1e-12
    assert np.min(Z @ w) >= float(rep.margin) * (1 - 1e-9) > 0
    assert float(rep.margin) == pytest.approx(lp_margin_cvxpy(Z), rel=1e-6)
    assert require_separable(X, y).separable


def check_certificate(X, y, rep):
    p = np.asarray(rep.certificate)
    assert not rep.separable and float(rep.margin) == 0.0
    assert np.all(p >= 0) and p.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.linalg.norm((y[:, None] * X).T @ p) <= 1e-10 * np.max(np.linalg.norm(X, axis=1))
    return p


def test_non_separable_xor():
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [2.0, 0.5]])
    y = np.array([1.0, 1.0, -1.0, -1.0, 1.0])
    rep = check_separable(X, y)
    check_certificate(X, y, rep)
    assert "convex combination is zero" in rep.message and "Gordan" in rep.message


def test_non_separable_opposite_points_same_label():
    X, y = np.array([[1.0, 2.0], [-1.0, -2.0], [0.0, 1.0]]), np.array([1.0, 1.0, 1.0])
    rep = check_separable(X, y)
    p = check_certificate(X, y, rep)
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0], atol=1e-12)
    assert "points 0 and 1 (weights 0.5, 0.5)" in rep.message


def test_non_separable_duplicates_with_opposite_labels():
    X, y = np.array([[1.0, 2.0], [3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0, -1.0])
    rep = check_separable(X, y)
    check_certificate(X, y, rep)
    assert "rows 0 and 2 of `X` are identical but have opposite labels" in rep.message


def test_non_separable_zero_row():
    X, y = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]]), np.array([1.0, 1.0, -1.0])
    rep = check_separable(X, y)
    np.testing.assert_array_equal(check_certificate(X, y, rep), [0.0, 1.0, 0.0])
    assert "row 1 of `X` is zero" in rep.message


def test_non_separable_random_labels():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(60, 5)), rng.choice([-1.0, 1.0], size=60)
    rep = check_separable(X, y)
    check_certificate(X, y, rep)
    with pytest.raises(NonSeparableError, match="remove the conflicting points"):
        require_separable(X, y)


def test_import_leaves_the_convex_solvers_unloaded():
    # cvxpy and scipy.optimize cost ~2.5 s of `import flowbias`; only the references that solve
    # a program load them, on their first call (issue 12 item 5).
    code = (
        "import sys\nimport flowbias\n"
        "print(sorted(m for m in ('cvxpy', 'scipy.optimize') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
