"""Diagonal linear networks (THEORY D1-D5): flows vs argmin Q vs independent references."""

import functools

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import (
    diagonal_inverse_link_mpmath,
    diagonal_link_numpy,
    entropy_split_limit_cvxpy,
    min_l1_cvxpy,
    sparse_regression,
)

import flowbias as fb


PROBLEM = sparse_regression(20, 100, 5, 0)
ALPHAS = [100.0, 1.0, 1e-2, 1e-4]
# Depth 4 at alpha = 1e-4: the dual variable xi = X^T nu reaches ~1/(8 alpha^2) = 1.25e7 next
# to the pole of the link, so float64 keeps only ~8 digits of the distance to it; the dual
# Newton reference stalls at residual ~5e-3 and the flow at loss ~e^-34. Not met; see the
# closing note of the issue.
D4_SMALL = pytest.param(4, 1e-4, marks=pytest.mark.xfail(reason="float64 floor near the pole"))
CASES = (
    [(2, a) for a in ALPHAS]
    + [(3, a) for a in ALPHAS]
    + [(4, 100.0), (4, 1.0), (4, 1e-2), D4_SMALL]
)
TOL = {2: 1e-8, 3: 1e-6, 4: 1e-6}


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def limits():
    cache = {}

    def get(depth, alpha):
        if (depth, alpha) not in cache:
            model = fb.DiagonalNetwork.uniform(alpha, PROBLEM.X.shape[1], depth=depth)
            cache[depth, alpha] = np.asarray(fb.mirror_limit(model, PROBLEM.X, PROBLEM.y))
        return cache[depth, alpha]

    return get


@pytest.mark.parametrize("depth, alpha", CASES)
def test_argmin_Q_satisfies_kkt(limits, depth, alpha):
    # Independent certificate: Xw = y and grad Q(w) = h^{-1}(w) in rowspace(X), with h^{-1}
    # computed in 60-digit arithmetic from the closed-form link (no flowbias code).
    w = limits(depth, alpha)
    X, y = PROBLEM.X, PROBLEM.y
    assert np.linalg.norm(X @ w - y) <= 1e-9 * np.linalg.norm(y)
    psi = diagonal_inverse_link_mpmath(w, alpha, alpha, depth)
    Qx, _ = np.linalg.qr(X.T)
    off = psi - Qx @ (Qx.T @ psi)
    assert np.linalg.norm(off) <= 1e-7 * np.linalg.norm(psi)


@pytest.mark.parametrize("alpha", [1.0, 1e-2])
def test_argmin_Q_matches_exponential_cone_program(limits, alpha):
    shape = np.full(100, alpha)
    w_cvx = entropy_split_limit_cvxpy(PROBLEM.X, PROBLEM.y, shape, shape)
    assert _rel(limits(2, alpha), w_cvx) <= 1e-6  # Clarabel's exp-cone accuracy


@pytest.mark.parametrize("depth, alpha", CASES)
def test_dual_flow_limit_is_argmin_Q(limits, depth, alpha):
    model = fb.DiagonalNetwork.uniform(alpha, PROBLEM.X.shape[1], depth=depth)
    sol = fb.flowsolve(model, fb.SquareLoss(), PROBLEM.X, PROBLEM.y, flow=fb.DualFlow())
    assert _rel(sol.w_final, limits(depth, alpha)) <= TOL[depth]


@pytest.mark.parametrize(
    "depth, alpha",
    [
        (2, 1.0),
        (2, 1e-2),
        (3, 1.0),
        pytest.param(2, 100.0, marks=pytest.mark.slow),
        pytest.param(2, 1e-4, marks=pytest.mark.slow),
        pytest.param(3, 1e-2, marks=pytest.mark.slow),
    ],
)
def test_primal_flow_agrees_with_dual_flow_and_limit(limits, depth, alpha):
    model = fb.DiagonalNetwork.uniform(alpha, PROBLEM.X.shape[1], depth=depth)
    ts = np.geomspace(1e-2, 10.0, 12)
    args = (model, fb.SquareLoss(), PROBLEM.X, PROBLEM.y)
    primal = fb.flowsolve(*args, flow=fb.GradientFlow())
    assert _rel(primal.w_final, limits(depth, alpha)) <= TOL[depth]
    # The same path, not only the same limit: w(t) = h(X^T nu(t)) at common times.
    p = fb.flowsolve(*args, 10.0, flow=fb.GradientFlow(), ts=ts)
    q = fb.flowsolve(*args, 10.0, flow=fb.DualFlow(), ts=ts)
    # Paths are compared at 1e-6: two integrators at rtol 1e-10 through the sharp transitions
    # of small alpha (the limits, where errors no longer grow, are held to TOL above).
    err = np.linalg.norm(np.asarray(p.w) - np.asarray(q.w), axis=-1)
    assert np.all(err <= 1e-6 * np.maximum(np.linalg.norm(np.asarray(q.w), axis=-1), 1e-3))


def test_dual_flow_matches_numpy_link_of_its_state():
    # The reported w is the closed-form link of the integrated gradient (D2).
    alpha = 0.3
    model = fb.DiagonalNetwork.uniform(alpha, 100)
    sol = fb.flowsolve(model, fb.SquareLoss(), PROBLEM.X, PROBLEM.y, 5.0, flow=fb.DualFlow())
    xi = np.asarray(sol.state) @ PROBLEM.X
    np.testing.assert_allclose(
        sol.w, diagonal_link_numpy(xi, alpha, alpha, 2), rtol=1e-12, atol=1e-14
    )


def test_tiny_alpha_lands_on_min_l1():
    # alpha = 1e-30, dual path: within 1e-3 of basis pursuit, on a 3-sparse problem in the
    # exact-recovery regime (the min-l1 solution is the unique 3-sparse truth). (On PROBLEM,
    # 5-sparse, basis pursuit does not recover the truth and argmin Q_alpha at 1e-30 is still
    # 4e-3 from the LP solution: the O(1/log(1/alpha)) approach of THEORY D3.)
    P = sparse_regression(20, 100, 3, 0)
    X, y = P.X, P.y
    model = fb.DiagonalNetwork.uniform(1e-30, 100)
    sol = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow())
    assert bool(sol.success)
    assert _rel(sol.w_final, min_l1_cvxpy(X, y)) <= 1e-3


def test_large_alpha_tends_to_min_l2():
    X, y = PROBLEM.X, PROBLEM.y
    w_l2 = X.T @ np.linalg.solve(X @ X.T, y)
    errs = []
    alphas = [5.0, 20.0]
    for alpha in alphas:
        model = fb.DiagonalNetwork.uniform(alpha, 100)
        errs.append(
            _rel(fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow()).w_final, w_l2)
        )
    # alpha^2 Q -> ||w||^2/16 with error O(w^4/alpha^4): the distance falls like alpha^-4.
    # (At alpha = 20 it is ~1e-8, two decades above the flow's convergence floor ~1e-10.)
    slope = np.log(errs[0] / errs[1]) / np.log(alphas[1] / alphas[0])
    assert errs[1] <= 1e-6 and abs(slope - 4.0) <= 0.2


def test_tied_model_matches_entropy_program():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 30))
    y = X @ np.abs(rng.normal(size=30))  # reachable by w > 0
    alpha = 0.5
    model = fb.DiagonalNetwork.uniform(alpha, 30, tied=True)
    w = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow()).w_final
    p = __import__("cvxpy").Variable(30, nonneg=True)
    cp = __import__("cvxpy")
    cp.Problem(
        cp.Minimize(-cp.sum(cp.entr(p)) - p @ np.full(30, np.log(alpha**2)) - cp.sum(p)),
        [X @ p == y],
    ).solve(solver="CLARABEL", tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13, max_iter=500)
    assert _rel(w, p.value) <= 1e-6


def test_vector_initialisation_shape():
    # Azulay et al.: u(0) = a, v(0) = b vectors; the limit is argmin of the shaped potential.
    rng = np.random.default_rng(5)
    a, b = np.exp(rng.normal(size=100)), np.exp(rng.normal(size=100))
    model = fb.DiagonalNetwork(a, b)
    w = fb.flowsolve(model, fb.SquareLoss(), PROBLEM.X, PROBLEM.y, flow=fb.DualFlow()).w_final
    w_cvx = entropy_split_limit_cvxpy(PROBLEM.X, PROBLEM.y, a, b)
    assert _rel(w, w_cvx) <= 1e-6


def test_alpha_sweep_matches_single_runs_and_flags_failures():
    alphas = np.array([1e-3, 1e-1, 1.0])
    sols = fb.alpha_sweep(alphas, PROBLEM.X, PROBLEM.y, flow=fb.DualFlow())
    assert sols.w_final.shape == (3, 100) and bool(jnp.all(sols.success))
    for k, alpha in enumerate(alphas):
        model = fb.DiagonalNetwork.uniform(alpha, 100)
        assert _rel(sols.w_final[k], fb.mirror_limit(model, PROBLEM.X, PROBLEM.y)) <= 1e-8
    bad = fb.alpha_sweep(alphas, PROBLEM.X, PROBLEM.y, flow=fb.DualFlow(), max_steps=300)
    assert not bool(bad.success[0]) and np.all(np.isfinite(bad.w_final[-1]))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fb.DiagonalNetwork.uniform(0.0, 5), "`alpha` must be > 0"),
        (lambda: fb.DiagonalNetwork.uniform(-1.0, 5), "`alpha` must be > 0"),
        (lambda: fb.DiagonalNetwork.uniform(1.0, 5, depth=1), "`depth`"),
        (lambda: fb.DiagonalNetwork(np.ones(3), np.ones(4)), "`v0` has shape"),
        (lambda: fb.DiagonalNetwork(np.array([1.0, -1.0]), np.ones(2)), "`u0`"),
        (lambda: fb.alpha_sweep([0.0, -1.0], np.eye(2), np.ones(2)), "every run was refused"),
    ],
)
def test_bad_diagonal_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_tied_unreachable_target_is_refused():
    X = np.eye(2)
    y = np.array([1.0, -1.0])  # needs w_2 < 0
    with pytest.raises(ValueError, match="w > 0|w >= 0|non-negative|not reachable"):
        fb.predicted_limit(fb.DiagonalNetwork.uniform(1.0, 2, tied=True), fb.SquareLoss(), X, y)


def test_sweep_over_alpha_traces_and_compiles_once():
    from flowbias.sweeps import _vmapped_sweep

    def traces():
        return eqx.debug.get_num_traces(_vmapped_sweep)

    # Run counts (11, 13) that no other test uses, so the first call is this test's own trace.
    sweep = functools.partial(
        fb.alpha_sweep, X=PROBLEM.X, y=PROBLEM.y, flow=fb.DualFlow(), shard=False, num_save=2
    )
    sweep(np.linspace(0.5, 3.0, 11))
    before, size = traces(), _vmapped_sweep._cached._cache_size()
    sweep(np.linspace(0.6, 2.0, 11))
    assert traces() == before
    assert _vmapped_sweep._cached._cache_size() == size
    # A different number of runs is a new shape: one more trace (so the counter can fail).
    sweep(np.linspace(0.5, 3.0, 13))
    assert traces() == before + 1
