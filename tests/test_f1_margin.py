"""The variation-norm (F1) max margin of wide two-layer ReLU networks (Chizat & Bach 2020): the
linear program against a case solved by hand, and a wide network's normalised margin against
it, within the grid's and the rounding's error and a gap that shrinks with width."""

import numpy as np
import pytest

import flowbias as fb


def test_two_opposite_points_need_two_neurons():
    # x1 = e1 (y = +1), x2 = -e1 (y = -1): one ReLU direction sees one point only, so the best
    # measure splits its mass, c = +1/2 on e1 and -1/2 on -e1: margin 1/2.
    X, y = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, -1.0])
    sol = fb.f1_max_margin(X, y, num_directions=8)
    assert sol.margin == pytest.approx(0.5, abs=1e-9)
    assert float(np.sum(np.abs(sol.weights))) == pytest.approx(1.0, abs=1e-9)


def test_refuses_a_grid_in_higher_dimension_and_zero_directions():
    with pytest.raises(ValueError, match="directions"):
        fb.f1_max_margin(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="non-zero"):
        fb.f1_max_margin(np.eye(2), np.ones(2), directions=np.zeros((4, 2)))


def test_a_wide_relu_network_reaches_the_f1_max_margin():
    """16 XOR points in the plane, width 40, logistic loss, kink rounded at 1e-3, t = 1e100.
    Since ||theta||^2 >= 2 sum_k |a_k| ||w_k||, twice the network's normalised margin is at most
    the F1 margin over the continuum of directions, itself at most the grid's plus
    spacing * max ||x||; the rounding adds at most width / 4 * max ||x||. From below, the flow
    reaches it up to its slow 1/log t approach: measured 0.9970 of the LP at widths 10, 40 and
    160 alike (so the gap here is time, not width); a KKT point of lower margin would fail."""
    X, y = fb.problems.xor_plane(16, 0)
    lp = fb.f1_max_margin(X, y, num_directions=3600)
    net = fb.TwoLayerNetwork.gaussian(0.1, 2, width=40, seed=0, balanced=True, kink_width=1e-3)
    sol = fb.flowsolve(net, fb.LogisticLoss(), X, y, 1e100)
    gamma2 = 2 * float(fb.margin_path(sol).normalized_margin[-1])
    r = float(np.max(np.linalg.norm(X, axis=1)))
    assert gamma2 <= lp.margin + (lp.spacing + 1e-3 / 4) * r
    assert gamma2 >= 0.99 * lp.margin
