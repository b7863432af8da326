"""The default solver follows the measured stiffness, and the solution says which ran."""

import numpy as np
import pytest

import flowbias as fb


def _conditioned(n, d, cond, seed=0):
    """n x d data with cond(X X^T) = cond exactly (singular values geomspaced)."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V, _ = np.linalg.qr(rng.normal(size=(d, n)))
    return U @ np.diag(np.geomspace(1.0, cond**-0.5, n)) @ V.T


@pytest.mark.parametrize(
    "cond, flow, expected",
    [
        (10.0, fb.GradientFlow(), "Tsit5"),
        (1e4, fb.GradientFlow(), "Kvaerno5"),
        (1e4, fb.DualFlow(), "Kvaerno5"),
    ],
)
def test_least_squares_choice_follows_condition_number(cond, flow, expected):
    X = _conditioned(6, 10, cond)
    model, loss = fb.LinearModel(np.zeros(10)), fb.SquareLoss()
    log_t1 = np.log(fb.default_t1(model, loss, X))
    choice = fb.choose_solver(model, loss, flow, X, log_t1)
    assert type(choice.solver).__name__ == expected
    # The reason states the measured condition number (independently: numpy's eigvalsh).
    eig = np.linalg.eigvalsh(X @ X.T)
    assert f"cond(X X^T) = {eig[-1] / eig[0]:.2g}" in choice.reason


def test_large_state_keeps_explicit_and_names_the_alternatives():
    X = _conditioned(4, 2500, 1e5)
    model, loss = fb.LinearModel(np.zeros(2500)), fb.SquareLoss()
    choice = fb.choose_solver(
        model, loss, fb.GradientFlow(), X, np.log(fb.default_t1(model, loss, X))
    )
    assert type(choice.solver).__name__ == "Tsit5"
    assert "ExactLinearSolver" in choice.reason and "DualFlow" in choice.reason
    # The dual state has n = 4 entries: the stiff solver is affordable there.
    dual = fb.choose_solver(model, loss, fb.DualFlow(), X, np.log(fb.default_t1(model, loss, X)))
    assert type(dual.solver).__name__ == "Kvaerno5"


def test_stiff_models_and_classification():
    X = _conditioned(3, 5, 10.0)
    net = fb.DiagonalNetwork.uniform(0.1, 5)
    assert (
        type(fb.choose_solver(net, fb.SquareLoss(), fb.DualFlow(), X, 1.0).solver).__name__
        == "Kvaerno5"
    )
    lin = fb.choose_solver(
        fb.LinearModel(np.zeros(5)), fb.ExponentialLoss(), fb.GradientFlow(), X, np.log(1e100)
    )
    assert type(lin.solver).__name__ == "Tsit5"


def test_solution_records_the_choice_and_a_passed_solver():
    X = _conditioned(3, 5, 10.0)
    y = np.arange(3.0)
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(5)), fb.SquareLoss(), X, y, solver=fb.ExactLinearSolver()
    )
    assert sol.solver_choice.startswith("ExactLinearSolver")
    sol = fb.flowsolve(fb.LinearModel(np.zeros(5)), fb.SquareLoss(), X, y, t1=1.0)
    assert sol.solver_choice.startswith("Tsit5: least squares with cond(X X^T) = 10")


def test_bad_arguments_named():
    X = _conditioned(3, 5, 10.0)
    model, loss, flow = fb.LinearModel(np.zeros(5)), fb.SquareLoss(), fb.GradientFlow()
    with pytest.raises(TypeError, match="`flow`"):
        fb.choose_solver(model, loss, "dual", X, 1.0)
    with pytest.raises(TypeError, match="`model`"):
        fb.choose_solver(np.zeros(5), loss, flow, X, 1.0)
    with pytest.raises(ValueError, match="`log_t1`"):
        fb.choose_solver(model, loss, flow, X, np.inf)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`X` contains NaN"):
        fb.choose_solver(model, loss, flow, bad, 1.0)


def test_separable_choice_follows_the_log_time_spectrum():
    """Late in log time the Jacobian of a separable flow tends to -sum_i a_i z_i z_i^T with a
    the SVM's dual weights: many points near a small margin make it stiff."""
    from helpers import svm_primal_dual

    model, loss = fb.LinearModel(np.zeros(5)), fb.ExponentialLoss()
    stiff = fb.problems.gaussian_separable(1000, 5, 5, gap=0.05)
    easy = fb.problems.gaussian_separable(20, 5, 0)
    got = {}
    for name, (X, y) in (("stiff", stiff), ("easy", easy)):
        choice = fb.choose_solver(model, loss, fb.GradientFlow(), X, np.log(1e100), y=y)
        got[name] = type(choice.solver).__name__
        # The spectral radius in the reason, recomputed from cvxpy's SVM duals.
        _, a = svm_primal_dual(X, y)
        Z = y[:, None] * X
        rho = np.linalg.eigvalsh((Z.T * a) @ Z)[-1]
        assert f"spectral radius {rho:.3g}" in choice.reason, (choice.reason, rho)
    # Measured: 1000 x 5, gap 0.05: rho = 1036, >= 7.2e4 explicit steps (Tsit5 took 73264,
    # Kvaerno5 645); 20 x 5: rho = 10, Tsit5 took 1431.
    assert got == {"stiff": "Kvaerno5", "easy": "Tsit5"}
    # Without labels, in linear time, or for d > 100: explicit, and the reason says why.
    X, y = stiff
    no_labels = fb.choose_solver(model, loss, fb.GradientFlow(), X, np.log(1e100))
    assert type(no_labels.solver).__name__ == "Tsit5" and "labels" in no_labels.reason
    linear_time = fb.choose_solver(
        model, loss, fb.GradientFlow(), X, np.log(1e4), y=y, time=fb.LinearTime()
    )
    assert type(linear_time.solver).__name__ == "Tsit5"
    Xw, yw = fb.problems.gaussian_separable(20, 150, 0)
    wide = fb.choose_solver(
        fb.LinearModel(np.zeros(150)), loss, fb.GradientFlow(), Xw, np.log(1e100), y=yw
    )
    assert type(wide.solver).__name__ == "Tsit5" and "d = 150 > 100" in wide.reason
    # Labels that are not +1/-1 are an error, not a reason to go explicit.
    with pytest.raises(ValueError, match="-1"):
        fb.choose_solver(model, loss, fb.GradientFlow(), X, np.log(1e100), y=0.5 * y)
