"""The engine against independent references: rows L1 and L2 of THEORY.md."""

import diffrax as dfx
import equinox as eqx
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest
from helpers import CLASSIFICATION, REGRESSION, ClassificationProblem, RegressionProblem
from hypothesis import given, settings

import flowbias as fb


def _one_minus_cos(a, b):
    a, b = np.asarray(a) / np.linalg.norm(a), np.asarray(b) / np.linalg.norm(b)
    return 0.5 * np.sum((a - b) ** 2)


SOLVERS = [dfx.Kvaerno5(), dfx.Tsit5()]
SOLVER_IDS = ["Kvaerno5", "Tsit5"]


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
@pytest.mark.parametrize("flow", [fb.GradientFlow(), fb.DualFlow()], ids=["primal", "dual"])
@pytest.mark.parametrize("problem", REGRESSION, ids=lambda p: p.name)
def test_L1_limit_rowspace_and_monotone_loss(problem, flow, solver):
    sol = fb.flowsolve(
        fb.LinearModel(problem.w0), fb.SquareLoss(), problem.X, problem.y, flow=flow, solver=solver
    )
    ref = problem.min_norm_limit
    assert np.linalg.norm(sol.w_final - ref) / np.linalg.norm(ref) <= 1e-8
    # w(t) - w0 stays in rowspace(X): the orthogonal component is rounding only.
    dev = (sol.w - problem.w0) @ (np.eye(problem.X.shape[1]) - problem.rowspace_projector)
    assert np.max(np.abs(dev)) <= 1e-10 * max(1.0, np.abs(problem.w0).max())
    # Loss non-increasing along the saved path. Once converged, the loss sits at the solver's
    # error floor (atol = 1e-12 on the state, so L ~ 1e-18 L(0) with an explicit solver at its
    # stability limit): increases are allowed only below 1e-16 L(0).
    loss = np.exp(np.asarray(sol.log_loss))
    assert np.all(np.diff(loss) <= 1e-16 * loss[0])


def _check_random_least_squares(n, d, seed, y, w0):
    X = np.random.default_rng(seed).normal(size=(n, d))
    problem = RegressionProblem("hyp", X, y, w0)
    sol = fb.flowsolve(fb.LinearModel(w0), fb.SquareLoss(), X, y)
    ref = problem.min_norm_limit
    # 1e-8 of the limit, plus the bound the convergence stop documents (it fires once
    # L <= 1e-20 L(0), when ||w - ref|| <= (1e-20 cond(X X^T))^{1/2} ||w0 - ref||): as ref -> 0
    # from w0 != 0 no method is 1e-8-accurate relative to ||ref|| alone, the digits cancel.
    eig = np.linalg.eigvalsh(X @ X.T)
    tol = 1e-8 * np.linalg.norm(ref) + np.sqrt(1e-20 * eig[-1] / eig[0]) * np.linalg.norm(w0 - ref)
    assert np.linalg.norm(sol.w_final - ref) <= tol
    P = problem.rowspace_projector
    dev = (np.asarray(sol.w) - w0) @ (np.eye(d) - P)
    assert np.max(np.abs(dev)) <= 1e-10 * max(1.0, np.abs(w0).max())
    loss = np.exp(np.asarray(sol.log_loss))
    assert np.all(np.diff(loss) <= 1e-16 * max(loss[0], 1e-300))
    return sol


@settings(max_examples=8, deadline=None)
@given(
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
)
def test_L1_property_random_shapes(data, seed):
    n = data.draw(st.sampled_from([2, 4, 7]))
    d = n + data.draw(st.sampled_from([1, 5, 13]))
    y = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-10, 10)))
    w0 = data.draw(
        hnp.arrays(np.float64, d, elements=st.floats(-5, 5)).filter(lambda v: np.any(v != 0))
    )
    _check_random_least_squares(n, d, seed, y, w0)


# Two counterexamples hypothesis found in CI (random draws then): cond(X X^T) = 1.4e4 ran
# Tsit5 out of its 1e5 steps (the default solver now follows the conditioning), and y = 0
# stopped 1.2e-8 of ||ref|| = 0.2 away, within the stop's bound 4e-9 (the check was ill-posed).
@pytest.mark.parametrize(
    "n, d, seed, y, w0, solver",
    [
        (7, 8, 749881489, np.ones(7), np.ones(8), "Kvaerno5"),
        (4, 5, 374940744, np.zeros(4), np.ones(5), "Tsit5"),
    ],
    ids=["cond-1e4", "y-zero"],
)
def test_L1_counterexamples_found_by_hypothesis(n, d, seed, y, w0, solver):
    sol = _check_random_least_squares(n, d, seed, y, w0)
    assert sol.solver_choice.startswith(solver + ":")


@pytest.mark.parametrize("loss", [fb.ExponentialLoss(), fb.LogisticLoss()], ids=["exp", "logistic"])
@pytest.mark.parametrize("t1", [1e100, 1e300])
@pytest.mark.parametrize("problem", CLASSIFICATION, ids=lambda p: p.name)
def test_L2_direction_tends_to_svm(problem, loss, t1):
    d = problem.X.shape[1]
    sol = fb.flowsolve(fb.LinearModel(np.zeros(d)), loss, problem.X, problem.y, t1)
    assert bool(sol.success)
    assert np.all(np.isfinite(sol.w)) and np.all(np.isfinite(sol.log_loss))
    assert int(sol.num_steps) <= 6000
    assert _one_minus_cos(sol.w_final, problem.svm_direction) <= 1e-4
    # Norm grows like ||w_hat|| log t: the log-loss is about -log t at the end.
    assert float(sol.log_loss[-1]) == pytest.approx(-np.log(t1), rel=0.05)


def test_L2_past_float_range_with_log_t1():
    problem = CLASSIFICATION[1]
    d = problem.X.shape[1]
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(d)), fb.ExponentialLoss(), problem.X, problem.y, log_t1=2500.0
    )
    assert np.isinf(sol.ts[-1]) and float(sol.log_ts[-1]) == pytest.approx(2500.0)
    assert np.all(np.isfinite(sol.w))
    assert _one_minus_cos(sol.w_final, problem.svm_direction) <= 1e-5


@pytest.mark.parametrize("stiff", [False, True], ids=["Tsit5", "Kvaerno5"])
def test_vmap_over_initialisations_matches_loop(stiff):
    p = REGRESSION[0]
    W0 = np.random.default_rng(3).normal(size=(3, p.X.shape[1]))
    solver = fb.default_solver(stiff=stiff)

    def final(w0):
        return fb.flowsolve(
            fb.LinearModel(w0), fb.SquareLoss(), p.X, p.y, 50.0, solver=solver
        ).w_final

    batched = jax.vmap(final)(jnp.asarray(W0))
    # Batched products round differently from unbatched ones; an explicit solver's step-size
    # controller turns that into different (equally valid) steps, so its runs agree to the
    # solver tolerance (measured 5e-10), the implicit one's to rounding.
    rtol = 1e-12 if stiff else 1e-8
    for k in range(3):
        looped = final(W0[k])
        np.testing.assert_allclose(batched[k], looped, rtol=rtol, atol=rtol)
        limit = fb.least_squares_limit(p.X, p.y, W0[k])
        assert fb.relative_error(batched[k], limit) <= 1e-8


def test_vmap_over_data():
    probs = [CLASSIFICATION[1]]
    X = jnp.stack([probs[0].X, -probs[0].X])  # the same data, reflected: w flips sign
    y = jnp.stack([probs[0].y, probs[0].y])

    def final(X_, y_):
        return fb.flowsolve(
            fb.LinearModel(jnp.zeros(X_.shape[1])), fb.ExponentialLoss(), X_, y_, 1e20
        ).w_final

    out = jax.vmap(final)(X, y)
    np.testing.assert_allclose(out[0], -out[1], rtol=1e-9, atol=1e-12)


def test_throw_false_flags_failure_and_keeps_results():
    p = CLASSIFICATION[0]
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(p.X.shape[1])),
        fb.ExponentialLoss(),
        p.X,
        p.y,
        max_steps=5,
        throw=False,
    )
    assert not bool(sol.success)
    assert sol.result == fb.RESULTS.max_steps_reached
    with pytest.raises(fb.FlowSolveError, match="max_steps"):
        fb.flowsolve(
            fb.LinearModel(np.zeros(p.X.shape[1])), fb.ExponentialLoss(), p.X, p.y, max_steps=5
        )


def test_throw_false_under_vmap_flags_each_run():
    p = REGRESSION[0]

    def run(max_t):
        return fb.flowsolve(
            fb.LinearModel(jnp.zeros(p.X.shape[1])),
            fb.SquareLoss(),
            p.X,
            p.y,
            max_t,
            max_steps=40,
            num_save=10,
            throw=False,
            solver=dfx.Tsit5(),
        ).success

    ok = jax.vmap(run)(jnp.array([1e-3, 1e6]))
    assert bool(ok[0]) and not bool(ok[1])


def test_same_shapes_do_not_recompile():
    p = REGRESSION[0]
    from flowbias.solve import _integrate

    model = fb.LinearModel(p.w0)
    fb.flowsolve(model, fb.SquareLoss(), p.X, p.y, 10.0)
    before = _integrate._cached._cache_size()
    traces = eqx.debug.get_num_traces(_integrate)
    fb.flowsolve(fb.LinearModel(2 * p.w0), fb.SquareLoss(), 2 * p.X, p.y, 20.0)
    assert _integrate._cached._cache_size() == before
    assert eqx.debug.get_num_traces(_integrate) == traces


def test_saves_at_requested_times():
    p = REGRESSION[0]
    ts = np.array([0.0, 0.5, 1.0, 2.0])
    sol = fb.flowsolve(fb.LinearModel(p.w0), fb.SquareLoss(), p.X, p.y, 2.0, ts=ts)
    np.testing.assert_allclose(sol.ts, ts, rtol=1e-14)
    # The linear flow from w0 has the closed form w(t) = w* + expm(-t X^T X / n)(w0 - w*).
    n = p.X.shape[0]
    evals, evecs = np.linalg.eigh(p.X.T @ p.X / n)
    w_star = p.min_norm_limit
    for k, t in enumerate(ts):
        exact = w_star + evecs @ (np.exp(-t * evals) * (evecs.T @ (p.w0 - w_star)))
        np.testing.assert_allclose(sol.w[k], exact, rtol=1e-9, atol=1e-10)


def test_float32_mode_is_refused():
    p = REGRESSION[0]
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(RuntimeError, match="float64"):
            fb.flowsolve(fb.LinearModel(p.w0), fb.SquareLoss(), p.X, p.y)
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X=np.ones((3, 4)), y=np.ones(2)), "`X` has 3 rows but `y` has 2"),
        (dict(X=np.ones(4), y=np.ones(4)), "`X` must be a matrix"),
        (dict(X=np.full((3, 4), np.nan), y=np.ones(3)), "`X` contains NaN or inf"),
        (dict(X=np.ones((3, 4)), y=np.array([1.0, np.inf, 0.0])), "`y` contains NaN or inf"),
        (dict(X=np.ones((3, 5)), y=np.ones(3)), "`X` has 5 columns but the model has dimension"),
        (dict(t1=-1.0), "`t1` must be > 0"),
        (dict(t1=0.0), "`t1` must be > 0"),
        (dict(loss=fb.ExponentialLoss(), y=np.array([0.0, 1.0, 2.0])), "labels \\+1 or -1"),
    ],
)
def test_bad_input_messages(kwargs, match):
    args = dict(
        model=fb.LinearModel(np.zeros(4)),
        loss=fb.SquareLoss(),
        X=np.eye(3, 4),
        y=np.ones(3),
    )
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        fb.flowsolve(args.pop("model"), args.pop("loss"), args.pop("X"), args.pop("y"), **args)


def test_w0_bad_shape_names_argument():
    with pytest.raises(ValueError, match="`w0` must be a vector"):
        fb.LinearModel(np.zeros((2, 2)))


def test_error_if_path_under_jit():
    p = REGRESSION[0]

    @eqx.filter_jit
    def run(X):
        return fb.flowsolve(
            fb.LinearModel(jnp.zeros(20)),
            fb.SquareLoss(),
            X,
            p.y,
            1e6,
            max_steps=3,
            solver=dfx.Tsit5(),
        ).w_final

    # The same message as the concrete path's FlowSolveError: the RESULTS item's.
    with pytest.raises(Exception, match="used all `max_steps` steps"):
        run(jnp.asarray(p.X))


@pytest.mark.parametrize("stiff", [False, True], ids=["Tsit5", "Kvaerno5"])
@pytest.mark.parametrize("problem", CLASSIFICATION, ids=lambda p: p.name)
def test_default_solvers_agree_with_explicit_high_order_solver(problem, stiff):
    # A second method: Dopri8 (explicit, 8th order) at rtol 1e-13, independent of either
    # default's settings (the explicit one is what linear models get; the implicit one is
    # what stiff flows get).
    d = problem.X.shape[1]
    args = (fb.LinearModel(np.zeros(d)), fb.ExponentialLoss(), problem.X, problem.y, 1e100)
    sol = fb.flowsolve(*args, solver=fb.default_solver(stiff=stiff))
    ref = fb.flowsolve(*args, solver=dfx.Dopri8(), rtol=1e-13, atol=1e-13, max_steps=400_000)
    err = np.max(np.linalg.norm(np.asarray(sol.w) - np.asarray(ref.w), axis=-1))
    assert err <= 1e-10 * np.linalg.norm(ref.w_final)


def test_default_solver_follows_the_flow_stiffness():
    d = 4
    assert isinstance(fb.default_solver(stiff=False), dfx.Tsit5)
    assert fb.GradientFlow().is_stiff(fb.DiagonalNetwork.uniform(0.1, d))
    assert fb.DualFlow().is_stiff(fb.DiagonalNetwork.uniform(0.1, d))
    assert not fb.DualFlow().is_stiff(fb.LinearModel(np.zeros(d)))
    assert not fb.GradientFlow().is_stiff(fb.LinearModel(np.zeros(d)))


@pytest.mark.parametrize("stiff", [False, True], ids=["Tsit5", "Kvaerno5"])
def test_hard_instance_converges(stiff):
    # Five support vectors with dual weights ~30: the log-time flow is stiff (eigenvalues
    # ~ -150). The implicit solver must not stall in rejected steps; the explicit default pays
    # for the stiffness in (cheap) steps but must still get there within max_steps.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 5))
    y = np.sign(X @ rng.normal(size=5))
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(5)),
        fb.ExponentialLoss(),
        X,
        y,
        1e300,
        solver=fb.default_solver(stiff=stiff),
    )
    assert int(sol.num_steps) <= (5000 if stiff else 100_000)
    svm = ClassificationProblem("hard", X, y).svm_direction
    assert _one_minus_cos(sol.w_final, svm) <= 1e-5


def test_matrix_free_implicit_solver_against_dopri8_and_a_known_spectrum():
    """Kvaerno5 with Newton-GMRES (no Jacobian formed): on a diagonal network's primal flow
    against Dopri8 at rtol 1e-13, and on least squares with a known spectrum (eigenvalues of
    X X^T / n from 1 to 1e-4, a stiff linear ODE) against the closed form in NumPy."""
    mf = fb.default_solver(stiff=True, matrix_free=True)
    X, y, _ = fb.problems.sparse_regression(5, 30, 2, 0)
    net = fb.DiagonalNetwork.uniform(0.5, 30)
    args = (net, fb.SquareLoss(), X, y, 20.0)
    sol = fb.flowsolve(*args, solver=mf, num_save=6)
    ref = fb.flowsolve(*args, solver=dfx.Dopri8(), rtol=1e-13, atol=1e-13, num_save=6)
    scale = np.max(np.abs(ref.w_final))
    err = np.max(np.abs(np.asarray(sol.w) - np.asarray(ref.w))) / scale
    assert err <= 1e-8, err  # measured 2.3e-9, as the dense Kvaerno5 and Tsit5 at rtol 1e-10
    dense = fb.flowsolve(*args, solver=fb.default_solver(stiff=True), num_save=6)
    assert int(dense.num_steps) == int(sol.num_steps)  # the same steps, to GMRES's accuracy
    assert np.max(np.abs(np.asarray(sol.w) - np.asarray(dense.w))) <= 1e-11 * scale

    n, d = 4, 6
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V, _ = np.linalg.qr(rng.normal(size=(d, n)))
    lam = np.geomspace(1.0, 1e-4, n)  # eigenvalues of X X^T / n
    Xs = U @ np.diag(np.sqrt(n * lam)) @ V.T
    ys = rng.normal(size=n)
    ts = np.array([0.0, 1.0, 10.0, 1e2, 1e3, 1e4])
    sol = fb.flowsolve(fb.LinearModel(np.zeros(d)), fb.SquareLoss(), Xs, ys, 1e4, solver=mf, ts=ts)
    # w(t) = X^T (X X^T)^{-1} (I - exp(-t X X^T / n)) y, in the eigenbasis.
    G = Xs @ Xs.T
    exact = [Xs.T @ np.linalg.solve(G, U @ ((1 - np.exp(-t * lam)) * (U.T @ ys))) for t in ts]
    np.testing.assert_allclose(np.asarray(sol.w), exact, rtol=1e-8, atol=1e-10)


def test_large_stiff_states_get_the_matrix_free_solver():
    X, _, _ = fb.problems.sparse_regression(20, 1500, 5, 0)
    net = fb.DiagonalNetwork.uniform(0.1, 1500)
    primal = fb.choose_solver(net, fb.SquareLoss(), fb.GradientFlow(), X, 5.0)
    assert "matrix-free" in primal.reason and "3000 state entries" in primal.reason
    assert isinstance(primal.solver.root_finder, optx.Newton)
    dual = fb.choose_solver(net, fb.SquareLoss(), fb.DualFlow(), X, 5.0)  # 20 entries: dense
    assert isinstance(dual.solver.root_finder, optx.Chord)
