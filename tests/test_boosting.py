"""AdaBoost on decision stumps (issue 14 item 2, row L6): the l_1 margin against the LP."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import l1_margin_lp_cvxpy

import flowbias as fb
from flowbias.discrete import Stumps, adaboost


X, Y = fb.problems.stump_separable(40, 0)
STUMPS = Stumps.from_data(X)
H = np.asarray(STUMPS(X))
GAMMA = l1_margin_lp_cvxpy(H, Y)


def test_stumps_cover_every_split_once():
    assert H.shape == (40, 2 * 39)  # 39 midpoints per feature (distinct values)
    k, b = int(STUMPS.feature[5]), float(STUMPS.threshold[5])
    np.testing.assert_array_equal(H[:, 5], np.where(X[:, k] >= b, 1.0, -1.0))
    assert len({tuple(c) for c in H.T}) == H.shape[1]


def test_adaboost_is_the_textbook_algorithm():
    # Each round moves one weight, of a stump whose edge is the largest (edges of +-1 stumps
    # are multiples of 1/n at the start, so ties are broken by rounding: compare the rule,
    # not one tie-break), by the shrunk exact line search; checked in NumPy round by round.
    nu = 0.5
    path = adaboost(H, Y, 60, shrinkage=nu, save_every=1)
    W = np.vstack([np.zeros(H.shape[1]), np.asarray(path.w)])
    Z = Y[:, None] * H
    for k in range(60):
        step = W[k + 1] - W[k]
        (j,) = np.flatnonzero(step)
        q = -(Z @ W[k])
        D = np.exp(q - q.max())
        edges = (D / D.sum()) @ Z
        assert abs(edges[j]) >= np.max(np.abs(edges)) - 1e-12
        r = edges[j]
        np.testing.assert_allclose(step[j], nu * 0.5 * np.log((1 + r) / (1 - r)), rtol=1e-12)


@pytest.mark.parametrize("nu, tol", [(1.0, 1e-3), (0.1, 5e-3)])
def test_adaboost_margin_approaches_the_l1_max_margin(nu, tol):
    path = adaboost(H, Y, 20_000, shrinkage=nu, save_every=100)
    margins = np.asarray(path.l1_margin)
    assert np.all(margins <= GAMMA + 1e-9)  # no weights beat the LP's margin
    gap = (GAMMA - margins[-1]) / GAMMA
    assert gap < tol, gap  # measured 1e-4 (nu = 1) and 2.7e-3 (nu = 0.1)
    assert np.isclose(fb.lp_max_margin(H, Y, 1.0).margin, GAMMA, rtol=1e-7)


def test_another_shrinkage_does_not_recompile():
    from flowbias.discrete.boosting import _boost

    adaboost(H, Y, 100, shrinkage=0.3, save_every=100)
    size = _boost._cached._cache_size()
    adaboost(H, Y, 100, shrinkage=0.2, save_every=100)
    assert _boost._cached._cache_size() == size


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(shrinkage=0.0), "`shrinkage` must be in"),
        (dict(save_every=7), "multiple of `save_every`"),
    ],
)
def test_bad_boosting_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaboost(H, Y, 100, **kwargs)
    with pytest.raises(ValueError, match="values"):
        adaboost(2 * H, Y, 100)
