"""The regime plots draw what they claim: distances, test errors and |w_i(t)| recomputed here
with plain NumPy from the inputs."""

import math

import matplotlib


matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import flowbias as fb  # noqa: E402
from flowbias import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _xy(ax: Axes, i: int = 0):
    line = ax.get_lines()[i]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


@pytest.fixture(scope="module")
def sweep():
    """Synthetic limits: a path from w_l1 to w_l2 (no flow needed), one failed (NaN) run, and
    one row exactly at w_l1 (distance 0, not drawable on a log axis)."""
    rng = np.random.default_rng(0)
    d = 6
    w_l1 = rng.normal(size=d)
    w_l2 = rng.normal(size=d)
    alphas = np.logspace(-3, 2, 6)
    lam = np.linspace(0.0, 1.0, alphas.size)[:, None]
    ws = (1 - lam) * w_l1 + lam * w_l2
    ws[3] = np.nan
    return alphas, ws, w_l1, w_l2


def test_regime_distances(sweep):
    alphas, ws, w_l1, w_l2 = sweep
    ax = plotting.plot_regime_distances(alphas, ws, w_l1, w_l2)
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 2
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()

    d1 = np.array([np.sqrt(np.sum((w - w_l1) ** 2)) for w in ws]) / np.sqrt(np.sum(w_l1**2))
    d2 = np.array([np.sqrt(np.sum((w - w_l2) ** 2)) for w in ws]) / np.sqrt(np.sum(w_l2**2))
    keep1 = np.isfinite(d1) & (d1 > 0)  # drops the NaN run and the first (exact w_l1) row
    keep2 = np.isfinite(d2) & (d2 > 0)  # drops the NaN run and the last (exact w_l2) row
    assert keep1.sum() == keep2.sum() == alphas.size - 2
    x, y = _xy(ax, 0)
    np.testing.assert_allclose(x, alphas[keep1], rtol=1e-15)
    np.testing.assert_allclose(y, d1[keep1], rtol=1e-12)
    x, y = _xy(ax, 1)
    np.testing.assert_allclose(x, alphas[keep2], rtol=1e-15)
    np.testing.assert_allclose(y, d2[keep2], rtol=1e-12)
    # The l1 distance rises and the l2 distance falls along the path.
    assert np.all(np.diff(_xy(ax, 0)[1]) > 0) and np.all(np.diff(_xy(ax, 1)[1]) < 0)
    # Same colour, solid then dashed.
    l1, l2 = ax.get_lines()
    assert l1.get_color() == l2.get_color()
    assert l1.get_linestyle() == "-" and l2.get_linestyle() == "--"


def test_regime_distances_several_depths(sweep):
    alphas, ws, w_l1, w_l2 = sweep
    _, ax = plt.subplots()
    out = plotting.plot_regime_distances(alphas, ws, w_l1, w_l2, ax=ax, label="D = 2")
    assert out is ax
    plotting.plot_regime_distances(alphas, ws[::-1], w_l1, w_l2, ax=ax, label="D = 3", color="C3")
    assert len(ax.get_lines()) == 4
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0].startswith("D = 2") and labels[2].startswith("D = 3")
    assert ax.get_lines()[2].get_color() == ax.get_lines()[3].get_color() == "C3"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == labels


def test_regime_distances_accepts_batched_solution_and_rejects_bad_shapes(sweep):
    alphas, ws, w_l1, w_l2 = sweep
    # A real batched solution (a two-run sweep on a 2 x 6 problem): its `w_final` is used.
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(2, ws.shape[1])), rng.normal(size=2)
    sols = fb.alpha_sweep([0.5, 2.0], X, y, flow=fb.DualFlow(), shard=False)
    ax = plotting.plot_regime_distances([0.5, 2.0], sols, w_l1, w_l2)
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(
        _xy(ax, 0)[1],
        np.linalg.norm(np.asarray(sols.w_final) - w_l1, axis=1) / np.linalg.norm(w_l1),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="one limit per alpha"):
        plotting.plot_regime_distances(alphas[:-1], ws, w_l1, w_l2)
    with pytest.raises(ValueError, match="w_l1"):
        plotting.plot_regime_distances(alphas, ws, w_l1[:-1], w_l2)


def test_test_error(sweep):
    alphas, ws, _, _ = sweep
    rng = np.random.default_rng(1)
    X_test = rng.normal(size=(7, ws.shape[1]))
    y_test = rng.normal(size=7)
    ax = plotting.plot_test_error(alphas, ws, X_test, y_test, label="D = 2")
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 1
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_lines()[0].get_label() == "D = 2" and ax.get_legend() is not None
    assert ax.get_xlabel() and ax.get_ylabel()
    expected = np.array([np.mean([(X_test[j] @ w - y_test[j]) ** 2 for j in range(7)]) for w in ws])
    keep = np.isfinite(expected)
    x, y = _xy(ax)
    np.testing.assert_allclose(x, alphas[keep], rtol=1e-15)
    np.testing.assert_allclose(y, expected[keep], rtol=1e-12)
    with pytest.raises(ValueError, match="X_test"):
        plotting.plot_test_error(alphas, ws, X_test[:, :-1], y_test)


@pytest.fixture(scope="module")
def incremental():
    """A depth-2 diagonal network at small scale on a 3 x 8 problem with a 2-sparse target."""
    rng = np.random.default_rng(2)
    n, d = 3, 8
    X = rng.normal(size=(n, d))
    w_star = np.zeros(d)
    w_star[[1, 5]] = [2.0, -1.0]
    model = fb.DiagonalNetwork.uniform(1e-4, d)
    return fb.flowsolve(model, fb.SquareLoss(), X, X @ w_star, flow=fb.DualFlow())


def test_incremental_learning(incremental):
    sol = incremental
    w = np.asarray(sol.w)
    log_ts = np.asarray(sol.log_ts)
    final = np.abs(w[-1])
    big = np.flatnonzero(final > 1e-3 * final.max())
    big = big[np.argsort(-final[big])]

    ax = plotting.plot_incremental_learning(sol)
    assert isinstance(ax, Axes)
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == big.size >= 1
    keep_t = np.isfinite(log_ts)
    for line, i in zip(ax.get_lines(), big, strict=True):
        assert line.get_label() == f"$w_{{{i}}}$"
        keep = keep_t & (np.abs(w[:, i]) > 0)
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        np.testing.assert_allclose(x, log_ts[keep] / math.log(10.0), rtol=1e-15)
        np.testing.assert_allclose(y, np.abs(w[keep, i]), rtol=1e-15)
    # The coordinates start at the scale of w(0) = 0 plus alpha^2 motion, far below their end.
    first_y = _xy(ax, 0)[1]
    assert first_y[0] < 1e-3 * first_y[-1]


def test_incremental_learning_top(incremental):
    w = np.asarray(incremental.w)
    order = np.argsort(-np.abs(w[-1]))
    _, ax = plt.subplots()
    out = plotting.plot_incremental_learning(incremental, ax=ax, top=3, color="k")
    assert out is ax
    assert len(ax.get_lines()) == 3
    assert [line.get_label() for line in ax.get_lines()] == [f"$w_{{{i}}}$" for i in order[:3]]
    with pytest.raises(ValueError, match="top"):
        plotting.plot_incremental_learning(incremental, top=0)
