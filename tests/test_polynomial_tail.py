"""Row L5, other tails: with a polynomially tailed loss the flow's direction is the limit of the
regularisation path, argmin_{||u|| <= 1} sum_i (z_i.u)^-k (cvxpy's power cone here), not the
SVM's; the flow to t = 1e100 against it."""

import cvxpy as cp
import numpy as np
import pytest
from helpers import random_separable

import flowbias as fb


P = random_separable(20, 3, 1)
Z = P.y[:, None] * P.X


def _cvxpy_direction(k: float) -> np.ndarray:
    u = cp.Variable(3)
    cp.Problem(cp.Minimize(cp.sum(cp.power(Z @ u, -k))), [cp.norm(u, 2) <= 1]).solve(
        solver="CLARABEL"
    )
    return u.value / np.linalg.norm(u.value)


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_direction_matches_cvxpy_and_is_stationary(k):
    u, res = fb.polynomial_tail_direction(P.X, P.y, k)
    # cvxpy's power cone solves to about 1e-5 in angle at default tolerances: 1 - cos <= 1e-9.
    assert float(fb.one_minus_cos(u, _cvxpy_direction(k))) <= 1e-9
    # Stationarity on the sphere, recomputed here: u parallel to sum_i (z_i.u)^(-k-1) z_i.
    v = (Z @ u) ** (-k - 1) @ Z
    assert np.linalg.norm(u - v / np.linalg.norm(v)) <= 1e-13 and res <= 1e-13
    # And it is not the max-margin direction.
    assert float(fb.one_minus_cos(u, P.svm_direction)) >= 1e-4


def test_flow_to_1e100_follows_the_regularisation_path():
    sol = fb.flowsolve(fb.LinearModel(np.zeros(3)), fb.PolynomialLoss(1.0), P.X, P.y, 1e100)
    limit = fb.predicted_limit(sol)
    assert limit.kind == "regularization_path_limit(k=1)"
    # Measured: 1.4e-30 (the flow's norm is 4e33 there); the SVM is 1.6e-3 away.
    assert float(fb.agreement(sol, limit)) <= 1e-12
    assert float(fb.one_minus_cos(sol.w_final, P.svm_direction)) >= 1e-4


def test_no_max_margin_claim_for_other_models_with_this_loss():
    model = fb.DeepLinearNetwork.gaussian(0.5, 3, depth=2, seed=0)
    with pytest.raises(NotImplementedError, match="no predicted limit"):
        fb.predicted_limit(model, fb.PolynomialLoss(), P.X, P.y)
