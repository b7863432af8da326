"""The margin bound of row M4 (Sutherland's Prop. 13.4 with the Rademacher bound of unit-norm
linear classes): its terms against the formulas written out here, and along a flow whose
normalised margin must reach the SVM's."""

import math

import numpy as np
import pytest
from helpers import random_separable

import flowbias as fb
from flowbias.margin_bound import ramp_loss


def test_ramp_loss_is_the_piecewise_definition():
    q = np.array([-2.0, 0.0, 0.25, 0.5, 1.0, 3.0])
    rho = 0.5
    expected = [1.0 if v <= 0 else (1 - v / rho if v <= rho else 0.0) for v in q]
    np.testing.assert_array_equal(ramp_loss(q, rho), expected)


def test_terms_match_the_formula_at_a_known_margin():
    # Unit classifier w = e1 with margins q_i = y_i x_i1 in {0.4, 0.7, 1.2, 0.4}.
    X = np.array([[0.4, 1.0], [-0.7, 2.0], [1.2, -1.0], [-0.4, 0.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    m, second, r, delta = 4, 3.0, 2.0, 0.1
    for rho, loss in [(0.4, 0.0), (0.8, (0.5 + 0.125 + 0 + 0.5) / 4)]:
        b = fb.margin_bound(
            np.array([2.0, 0.0]), X, y, second_moment=second, r=r, delta=delta, rhos=[rho]
        )
        expected = (
            loss
            + 4 / rho * math.sqrt(second) / math.sqrt(m)
            + math.sqrt(math.log(math.log2(2 * r / rho)) / m)
            + math.sqrt(math.log(2 / delta) / (2 * m))
        )
        assert float(b.margin_loss[0, 0]) == pytest.approx(loss, abs=1e-15)
        assert float(b.best[0]) == pytest.approx(expected, rel=1e-14)
    assert float(b.normalized_margin[0]) == pytest.approx(0.4, rel=1e-15)


def test_minimum_over_rho_and_monotone_margin_loss():
    p = random_separable(50, 4, 0, gap=0.1)
    W = np.random.default_rng(0).normal(size=(6, 4))
    b = fb.margin_bound(W, p.X, p.y, second_moment=4.0, r=3.0)
    bound = np.asarray(b.bound)
    np.testing.assert_allclose(b.best, bound.min(axis=1), rtol=0)
    assert np.all(np.diff(np.asarray(b.margin_loss), axis=1) >= 0)  # ramp grows with rho
    assert np.all(np.asarray(b.best_rho) <= 3.0)


def test_along_a_flow_the_margin_reaches_the_svm_and_the_bound_settles():
    p = random_separable(300, 3, 2, gap=0.2)
    sol = fb.flowsolve(fb.LinearModel(np.zeros(3)), fb.ExponentialLoss(), p.X, p.y, 1e100)
    b = fb.margin_bound(np.asarray(sol.w)[1:], p.X, p.y, second_moment=3.0, r=3.0)
    v = p.svm_direction  # cvxpy, tests/helpers.py
    svm_margin = 1 / np.linalg.norm(v)
    # The margin of a unit vector is max_i ||x_i||-Lipschitz: the gap to the SVM's margin is
    # at most ||u - v/||v|| || max_i ||x_i|| (it closes like 1/log t; 1e-3 relative here).
    u = np.asarray(sol.w_final) / np.linalg.norm(sol.w_final)
    lip = np.linalg.norm(u - v / np.linalg.norm(v)) * np.max(np.linalg.norm(p.X, axis=1))
    gap = svm_margin - float(b.normalized_margin[-1])
    assert 0 <= gap <= lip
    late = np.asarray(b.best)[len(b.best) // 2 :]
    assert np.ptp(late) <= 1e-3 * late[-1]
    # At the final margin rho = gamma the empirical margin loss is zero.
    b_gamma = fb.margin_bound(
        np.asarray(sol.w_final),
        p.X,
        p.y,
        second_moment=3.0,
        r=3.0,
        rhos=[float(b.normalized_margin[-1])],
    )
    assert float(b_gamma.margin_loss[0, 0]) <= 1e-15  # zero up to the rounding of q / rho


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(w=np.zeros(2)), "non-zero"),
        (dict(delta=1.5), "delta"),
        (dict(rhos=[5.0]), "rhos"),
        (dict(second_moment=-1.0), "second_moment"),
        (dict(w=np.ones(3)), "shape"),
    ],
)
def test_bad_arguments_are_refused(kwargs, words):
    X, y = np.eye(2), np.ones(2)
    args = dict(w=np.ones(2), second_moment=2.0, r=1.0) | kwargs
    w = args.pop("w")
    with pytest.raises(ValueError, match=words):
        fb.margin_bound(w, X, y, **args)
