"""The plotting functions draw what they claim: checked against quantities computed here with
plain NumPy from the solution's arrays and from independent references (tests/helpers.py)."""

import math

import matplotlib


matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import random_regression, random_separable  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import flowbias as fb  # noqa: E402
from flowbias import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def regression():
    problem = random_regression(4, 10, 3)
    sol = fb.flowsolve(fb.LinearModel(problem.w0), fb.SquareLoss(), problem.X, problem.y)
    return problem, sol


@pytest.fixture(scope="module")
def classification():
    problem = random_separable(8, 3, 4, gap=0.1)
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(3)), fb.ExponentialLoss(), problem.X, problem.y, t1=1e100
    )
    return problem, sol


def _xy(ax: Axes, i: int = 0):
    line = ax.get_lines()[i]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _positive_times(sol):
    log_ts = np.asarray(sol.log_ts)
    keep = np.isfinite(log_ts)
    return keep, log_ts[keep] / math.log(10.0)


def _check_axes(ax, num_lines, num_points):
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == num_lines
    x, y = _xy(ax)
    assert x.shape == y.shape == (num_points,)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    assert ax.get_xlabel() and ax.get_ylabel()
    ax.figure.canvas.draw()  # the mathtext labels parse


def test_log_loss(classification):
    problem, sol = classification
    keep, x_ref = _positive_times(sol)
    ax = plotting.plot_log_loss(sol)
    _check_axes(ax, 1, int(keep.sum()))
    x, y = _xy(ax)
    np.testing.assert_allclose(x, x_ref, rtol=1e-14)
    assert x[-1] == pytest.approx(100.0)  # t1 = 1e100
    # log10 of (1/n) sum exp(-y_i x_i.w), recomputed from w(t) with a log-sum-exp.
    margins = np.asarray(sol.w)[keep] @ (problem.y[:, None] * problem.X).T
    m_min = margins.min(axis=1)
    log_loss = -m_min + np.log(np.mean(np.exp(-(margins - m_min[:, None])), axis=1))
    np.testing.assert_allclose(y, log_loss / np.log(10.0), rtol=1e-10, atol=1e-12)
    assert y[-1] < -90  # L ~ 1/t at t = 1e100


def test_norm(regression):
    problem, sol = regression
    keep, x_ref = _positive_times(sol)
    ax = plotting.plot_norm(sol)
    _check_axes(ax, 1, int(keep.sum()))
    x, y = _xy(ax)
    np.testing.assert_allclose(x, x_ref, rtol=1e-14)
    np.testing.assert_allclose(y, np.sqrt(np.sum(np.asarray(sol.w)[keep] ** 2, axis=1)))
    # With a reference, its norm is drawn as a second (horizontal) line.
    ax = plotting.plot_norm(sol, w_ref=problem.min_norm_limit)
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(_xy(ax, 1)[1], np.linalg.norm(problem.min_norm_limit))
    np.testing.assert_allclose(_xy(ax)[1][-1], np.linalg.norm(problem.min_norm_limit), rtol=1e-8)


def test_direction_error(classification):
    problem, sol = classification
    w_hat = problem.svm_direction
    keep, x_ref = _positive_times(sol)
    ax = plotting.plot_direction_error(sol, w_hat)
    _check_axes(ax, 1, int(keep.sum()))
    assert ax.get_yscale() == "log"
    x, y = _xy(ax)
    np.testing.assert_allclose(x, x_ref, rtol=1e-14)
    w = np.asarray(sol.w)[keep]
    cos = w @ w_hat / (np.linalg.norm(w, axis=1) * np.linalg.norm(w_hat))
    np.testing.assert_allclose(y, 1.0 - cos, rtol=1e-6, atol=1e-15)
    assert np.all(y > 0) and y[-1] < 1e-3  # the direction converges (slowly)


def test_direction_error_is_accurate_below_rounding():
    # 1 - cos = 1e-20 exactly in the stable formula, where the naive one gives 0.
    eps = 1e-10
    w_ref = np.array([1.0, 0.0])
    w = np.array([[np.cos(eps), np.sin(eps)]])
    from flowbias.plotting.trajectories import one_minus_cos_path

    assert one_minus_cos_path(w, w_ref)[0] == pytest.approx(2 * np.sin(eps / 2) ** 2, rel=1e-12)


def test_distance(regression):
    problem, sol = regression
    ref = problem.min_norm_limit
    keep, x_ref = _positive_times(sol)
    ax = plotting.plot_distance(sol, ref)
    assert ax.get_yscale() == "log"
    w = np.asarray(sol.w)[keep]
    dist = np.sqrt(np.sum((w - ref) ** 2, axis=1)) / np.sqrt(np.sum(ref**2))
    _check_axes(ax, 1, int(np.sum(dist > 0)))
    x, y = _xy(ax)
    np.testing.assert_allclose(x, x_ref[dist > 0], rtol=1e-14)
    np.testing.assert_allclose(y, dist[dist > 0], rtol=1e-6, atol=1e-14)
    assert y[-1] < 1e-8 and y[0] > 1e-2  # converges to the L1 limit of THEORY.md


def test_rowspace_deviation(regression):
    problem, sol = regression
    keep, _ = _positive_times(sol)
    ax = plotting.plot_rowspace_deviation(sol, problem.X, problem.w0)
    assert ax.get_yscale() == "log"
    d = problem.X.shape[1]
    dev = (np.asarray(sol.w)[keep] - problem.w0) @ (np.eye(d) - problem.rowspace_projector)
    dev = np.linalg.norm(dev, axis=1)
    x, y = _xy(ax)
    assert 0 < len(y) <= int(keep.sum())
    assert np.all(np.isfinite(y)) and np.all(y > 0)
    # Both are rounding noise (~1e-15): they agree to rounding, not digit for digit.
    assert np.max(y) < 1e-12 and np.max(dev) < 1e-12
    # Off the row space, the deviation is exactly what was added.
    u = np.linalg.svd(problem.X)[2][-1]  # a unit vector orthogonal to rowspace(X)
    ax = plotting.plot_rowspace_deviation(sol, problem.X, problem.w0 + 0.25 * u)
    np.testing.assert_allclose(_xy(ax)[1], 0.25, rtol=1e-10)


def test_overview(classification, regression):
    problem, sol = classification
    axes = plotting.plot_overview(sol, problem.svm_direction, direction=True)
    assert axes.shape == (3,) and all(isinstance(a, Axes) for a in axes)
    assert [len(a.get_lines()) for a in axes] == [1, 1, 1]
    assert axes[2].get_yscale() == "log"
    problem, sol = regression
    fig, given = plt.subplots(1, 3)
    axes = plotting.plot_overview(sol, problem.min_norm_limit, direction=False, axes=given)
    assert all(a is b for a, b in zip(axes, given, strict=True))
    assert [len(a.get_lines()) for a in axes] == [1, 2, 1]
    fig.canvas.draw()


def test_draws_on_given_axes_and_forwards_kwargs(regression):
    _, sol = regression
    fig, ax = plt.subplots()
    assert plotting.plot_log_loss(sol, ax=ax, color="red", label="run") is ax
    plotting.plot_norm(sol, ax=ax)
    assert len(ax.get_lines()) == 2
    assert ax.get_lines()[0].get_label() == "run"


def test_beyond_float64_range(classification):
    # t1 = e^1000 ~ 1e434: `ts` holds inf, log_ts does not; the x axis reaches 434.
    problem, _ = classification
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(3)), fb.ExponentialLoss(), problem.X, problem.y, log_t1=1000.0
    )
    assert not np.isfinite(np.asarray(sol.ts)[-1])
    ax = plotting.plot_direction_error(sol, problem.svm_direction)
    x, y = _xy(ax)
    assert x[-1] == pytest.approx(1000.0 / math.log(10.0))
    assert np.all(np.isfinite(y)) and y[-1] < 1e-3


def test_errors(regression):
    problem, sol = regression
    with pytest.raises(ValueError, match="length d"):
        plotting.plot_distance(sol, np.ones(3))
    with pytest.raises(ValueError, match="zero"):
        plotting.plot_distance(sol, np.zeros(10))
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_rowspace_deviation(sol, problem.X[:, :5], problem.w0)
    with pytest.raises(TypeError, match="FlowSolution"):
        plotting.plot_log_loss(np.zeros(3))


@pytest.mark.parametrize(
    "draw",
    [
        lambda sol, p: plotting.plot_log_loss(sol),
        lambda sol, p: plotting.plot_norm(sol),
        lambda sol, p: plotting.plot_direction_error(sol, p.svm_direction),
    ],
    ids=["log_loss", "norm", "direction_error"],
)
def test_plots_say_what_was_run(classification, draw):
    problem, sol = classification
    ax = draw(sol, problem)
    n, d = problem.X.shape
    assert ax.get_title() == f"linear model, exp loss, n x d = {n} x {d}, t1 = 1e100"
    assert ax.get_xlabel() == r"$\log_{10} t$" and ax.get_ylabel().startswith("$")


def test_caller_title_kept_and_overview_titled(regression):
    problem, sol = regression
    _, ax = plt.subplots()
    ax.set_title("mine")
    assert plotting.plot_distance(sol, problem.min_norm_limit, ax=ax).get_title() == "mine"
    axes = plotting.plot_overview(sol, problem.min_norm_limit, direction=False)
    n, d = problem.X.shape
    t1 = float(np.exp(sol.log_ts[-1]))
    assert axes[0].figure.get_suptitle() == (
        f"linear model, square loss, n x d = {n} x {d}, t1 = {t1:.3g}"
    )
    assert [a.get_title() for a in axes] == ["loss", "norm", "distance to the limit"]
    assert all(a.get_xlabel() and a.get_ylabel() for a in axes)


def test_run_title_of_a_diagonal_network_names_depth_and_scale():
    X, y = np.eye(2, 3), np.ones(2)
    sol = fb.flowsolve(
        fb.DiagonalNetwork.uniform(0.01, 3, depth=3),
        fb.SquareLoss(),
        X,
        y,
        t1=10.0,
        flow=fb.DualFlow(),
    )
    assert plotting.run_title(sol) == (
        "diagonal net w = u^3 - v^3, alpha = 0.01, square loss, n x d = 2 x 3, t1 = 10, dual flow"
    )


@pytest.fixture(scope="module")
def deep_linear():
    problem = random_separable(8, 3, 4, gap=0.1)
    model = fb.DeepLinearNetwork.gaussian(0.5, 3, depth=2, width=3, seed=0)
    sol = fb.flowsolve(model, fb.ExponentialLoss(), problem.X, problem.y, 1e30, num_save=30)
    return problem, sol


def test_margins_plot_draws_the_path_margins(deep_linear):
    problem, sol = deep_linear
    ax = plotting.plot_margins(sol, max_margin=0.1)
    x, gamma = _xy(ax, 0)
    # Recomputed here from the saved layers: min_i y_i x_i.w / ||theta||^2.
    W1, W2 = (np.asarray(p) for p in sol.params)
    w = np.einsum("kij,kjl->kil", W2, W1)[:, 0, :]
    theta2 = np.sum(W1**2, axis=(1, 2)) + np.sum(W2**2, axis=(1, 2))
    ref = np.min(problem.y * (w @ problem.X.T), axis=1) / theta2
    fitted = np.asarray(fb.margin_path(sol).fitted)
    np.testing.assert_allclose(gamma, ref[fitted], rtol=1e-10)
    np.testing.assert_allclose(x, np.asarray(sol.log_ts)[fitted] / math.log(10), rtol=1e-14)
    assert ax.get_lines()[2].get_ydata()[0] == 0.1
    assert "log_{10} t" in ax.get_xlabel() and "margin" in ax.get_ylabel()
    assert "deep linear net (depth 2)" in ax.get_title()


def test_kkt_residual_plot_is_log_log_and_labelled(deep_linear):
    problem, sol = deep_linear
    ax = plotting.plot_kkt_residuals(sol, every=5)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    x, stat = _xy(ax, 0)
    k = np.flatnonzero(np.isclose(np.asarray(sol.log_ts) / math.log(10), x[-1]))[0]
    cert = fb.max_margin_kkt(sol.problem.model, [p[k] for p in sol.params], problem.X, problem.y)
    assert stat[-1] == pytest.approx(float(cert.stationarity), rel=1e-12)
    assert "KKT residual" in ax.get_ylabel() and ax.get_title()


def test_new_neuron_gain_plot_shows_g_and_the_line_at_one():
    X, y, W0, a0 = fb.problems.obtuse_pair(150.0)
    net = fb.TwoLayerNetwork(W0, a0)
    # The one-neuron KKT point in closed form: the neuron on the bisector, multipliers
    # 1 / (2 cos 75 deg); no flow needed for the plot.
    half = np.deg2rad(75.0)
    r = (1 / np.cos(half)) ** 0.5
    theta = np.array([r * np.cos(half), r * np.sin(half), 0.0, 0.0, r, 0.0])
    cert = fb.max_margin_kkt(net, theta, X, y)
    ax = plotting.plot_new_neuron_gain(net, cert, X, y, num_directions=360)
    deg, g = _xy(ax, 0)
    # g(u) = lambda (relu(cos u) + relu(cos(u - 150))), in NumPy.
    u = np.deg2rad(deg)
    ref = (np.maximum(np.cos(u), 0) + np.maximum(np.cos(u - np.deg2rad(150)), 0)) / (
        2 * np.cos(half)
    )
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-15)
    assert ax.get_lines()[1].get_ydata()[0] == 1.0
    assert "degrees" in ax.get_xlabel() and "g(u)" in ax.get_ylabel()
    with pytest.raises(ValueError, match="two columns"):
        plotting.plot_new_neuron_gain(net, cert, np.ones((2, 3)), y)
