"""Homogeneous networks (rows M2, M3): declared degrees checked numerically, conservation of
balance, the deep linear network's max-margin direction and layer alignment against the SVM
(cvxpy, written in tests/helpers.py), the KKT certificate against the SVM's dual multipliers
in closed form, and Lyu and Li's monotone smoothed margin on drawn seeds."""

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import random_separable, svm_primal_dual
from hypothesis import given, settings

import flowbias as fb


SEP = random_separable(12, 3, 3)  # small, shared by the flows below


def _models(d: int, seed: int):
    return {
        "deep-linear": fb.DeepLinearNetwork.gaussian(0.5, d, depth=3, width=4, seed=seed),
        "relu": fb.TwoLayerNetwork.gaussian(0.5, d, width=8, seed=seed),
        "leaky": fb.TwoLayerNetwork.gaussian(
            0.5, d, width=8, activation=fb.LeakyReLU(0.3), seed=seed
        ),
        "relu^2": fb.TwoLayerNetwork.gaussian(
            0.5, d, width=8, activation=fb.PowerReLU(2), seed=seed
        ),
    }


@pytest.mark.parametrize("kind", ["deep-linear", "relu", "leaky", "relu^2"])
def test_declared_degree_holds_and_a_wrong_one_is_caught(kind):
    model = _models(3, 0)[kind]
    expected = {"deep-linear": 3, "relu": 2, "leaky": 2, "relu^2": 3}[kind]
    assert model.degree == expected
    assert model.homogeneity_error(model.init_params(), SEP.X) <= 1e-13
    model.check_degree(SEP.X)
    # The same outputs claimed with the wrong degree: c^(L+1) f != f(c theta).
    wrong = fb.TwoLayerNetwork.gaussian(0.5, 3, width=8, activation=fb.PowerReLU(3), seed=0)
    p = wrong.init_params()
    assert model.homogeneity_error(model.init_params(), SEP.X, scales=(2.0,)) < 1e-13
    assert wrong.homogeneity_error(p, SEP.X, scales=(2.0,)) < 1e-13
    # f(2 theta) for relu^3 is 2^4 f; under relu^2 (degree 3) the check must fail.
    fake = fb.TwoLayerNetwork(p[0], p[1], fb.PowerReLU(2))
    assert float(jnp.max(jnp.abs(wrong.predict(p, SEP.X) - fake.predict(p, SEP.X)))) > 0


def test_bad_constructions_are_refused():
    with pytest.raises(ValueError, match="slope"):
        fb.LeakyReLU(1.5)
    with pytest.raises(ValueError, match="width"):
        fb.TwoLayerNetwork.gaussian(0.1, 3, width=0)
    with pytest.raises(TypeError, match="homogeneous activation"):
        fb.TwoLayerNetwork(np.ones((2, 3)), np.ones(2), activation=np.tanh)
    with pytest.raises(ValueError, match="one row"):
        fb.DeepLinearNetwork([np.ones((2, 3)), np.ones((2, 2))])
    with pytest.raises(ValueError, match="columns"):
        fb.DeepLinearNetwork([np.ones((2, 3)), np.ones((1, 4))])
    with pytest.raises(ValueError, match="shape"):
        fb.TwoLayerNetwork.gaussian(0.1, 4, width=3).check_data(jnp.ones((5, 3)))


def test_balanced_initialisation_is_balanced():
    m = fb.DeepLinearNetwork.balanced(0.7, 5, depth=4, width=3, seed=1)
    W = m.init_params()
    for a, b in zip(W[:-1], W[1:], strict=True):
        np.testing.assert_allclose(b.T @ b, a @ a.T, atol=1e-15)
    np.testing.assert_allclose(np.asarray(m.layer_norms(W)), 0.7, rtol=1e-14)
    assert np.max(np.abs(np.asarray(m.alignment(W)))) <= 1e-14  # rank one
    net = fb.TwoLayerNetwork.gaussian(0.3, 4, width=5, activation=fb.PowerReLU(2), balanced=True)
    W, a = net.init_params()
    np.testing.assert_allclose(2 * np.asarray(a) ** 2, np.sum(np.asarray(W) ** 2, axis=1))


# ---- the KKT certificate against the SVM's multipliers -------------------------------------


@pytest.mark.parametrize("depth", [1, 3])
def test_kkt_certificate_at_the_svm_recovers_its_multipliers(depth):
    r"""At the rank-one balanced factorisation of the SVM, W_j = r u_j u_{j-1}^T with
    r^L = ||w_hat||, the max-margin KKT multipliers are a / ||w_hat||^{(2L-2)/L}, where a are
    the SVM's own dual multipliers (from cvxpy): derived by hand from stationarity in W_1."""
    w_hat, a = svm_primal_dual(SEP.X, SEP.y)
    r = np.linalg.norm(w_hat) ** (1.0 / depth)
    rng = np.random.default_rng(0)
    us = [w_hat / np.linalg.norm(w_hat)]
    us += [u / np.linalg.norm(u) for u in rng.normal(size=(depth - 1, 4))] + [np.ones(1)]
    model = fb.DeepLinearNetwork([r * np.outer(us[j + 1], us[j]) for j in range(depth)])
    cert = fb.max_margin_kkt(model, model.init_params(), SEP.X, SEP.y)
    assert float(cert.stationarity) <= 1e-8
    assert abs(float(cert.complementarity)) <= 1e-8
    assert float(cert.feasibility) == 0.0
    expected = a / np.linalg.norm(w_hat) ** ((2.0 * depth - 2.0) / depth)
    np.testing.assert_allclose(np.asarray(cert.multipliers), expected, atol=1e-7 * expected.max())
    np.testing.assert_allclose(
        float(cert.normalized_margin),
        1.0 / (np.linalg.norm(w_hat) * depth ** (depth / 2)),
        rtol=1e-8,
    )


def test_kkt_certificate_rejects_a_separating_direction_that_is_not_max_margin():
    w_hat, _ = svm_primal_dual(SEP.X, SEP.y)
    other = w_hat + 0.3 * np.linalg.norm(w_hat) * np.array([1.0, -1.0, 0.5])
    assert np.all(SEP.y * (SEP.X @ other) > 0)  # still separates
    model = fb.DeepLinearNetwork([other[None, :]])
    cert = fb.max_margin_kkt(model, model.init_params(), SEP.X, SEP.y)
    assert cert.residual >= 1e-2
    with pytest.raises(ValueError, match="NaN or inf"):
        fb.max_margin_kkt(model, np.full(3, np.nan), SEP.X, SEP.y)
    bad = fb.max_margin_kkt(model, [-other[None, :]], SEP.X, SEP.y)  # misclassifies
    assert float(bad.feasibility) == np.inf and np.isnan(float(bad.stationarity))


# ---- deep linear flow to t = 1e100: SVM direction, alignment, balance ------------------------


@pytest.fixture(scope="module")
def deep_linear_run():
    model = fb.DeepLinearNetwork.gaussian(0.5, 3, depth=3, width=4, seed=2)
    return fb.flowsolve(model, fb.ExponentialLoss(), SEP.X, SEP.y, 1e100, num_save=60)


def test_deep_linear_direction_tends_to_the_svm(deep_linear_run):
    sol = deep_linear_run
    w_hat, _ = svm_primal_dual(SEP.X, SEP.y)
    limit = fb.predicted_limit(sol)
    assert limit.kind == "hard_margin_svm"
    assert float(fb.one_minus_cos(sol.w_final, w_hat)) <= 1e-4


def test_deep_linear_layers_align_and_balance_is_conserved(deep_linear_run):
    sol = deep_linear_run
    model = sol.problem.model
    path = fb.margin_path(sol)
    b = np.asarray(path.balancedness)
    scale = np.max(np.asarray(path.layer_norms) ** 2, axis=1)
    assert np.max(np.abs(b - b[0]) / scale[:, None]) <= 1e-10
    # Alignment residual 1 - ||W_j||_2^2 / ||W_j||_F^2 of the hidden layers falls in log t.
    align = np.array(
        [np.asarray(model.alignment([W[k] for W in sol.params]))[:2] for k in range(60)]
    )
    late = np.asarray(sol.log_ts) > np.log(1e10)
    x = np.log(np.asarray(sol.log_ts)[late])
    for j in range(2):
        slope = np.polyfit(x, np.log(align[late, j]), 1)[0]
        assert slope < -0.5, slope  # at least like 1/sqrt(log t)
        assert align[-1, j] < align[late][0, j]
    # The top right singular vector of W_1 is the SVM direction (the first alignment).
    w_hat, _ = svm_primal_dual(SEP.X, SEP.y)
    v0 = np.linalg.svd(np.asarray(sol.params[0][-1]))[2][0]
    assert float(fb.one_minus_cos(v0 * np.sign(v0 @ w_hat), w_hat)) <= 1e-3


# ---- the smoothed margin is monotone once the data are fitted (Lyu & Li) ----------------------
# Four model kinds with a Lipschitz vector field: a deep linear network, and two-layer ReLU,
# leaky-ReLU (their kinks rounded off; unrounded they slide along them, where an adaptive solver
# stalls: the next test) and relu^2 networks.

_SMOOTH = {
    "deep-linear-3": lambda s: fb.DeepLinearNetwork.gaussian(0.5, 3, depth=3, width=4, seed=s),
    "relu": lambda s: fb.TwoLayerNetwork.gaussian(
        0.5, 3, width=30, activation=fb.ReLU(), seed=s, balanced=True, kink_width=1e-3
    ),
    "leaky": lambda s: fb.TwoLayerNetwork.gaussian(
        0.5, 3, width=30, activation=fb.LeakyReLU(0.2), seed=s, kink_width=1e-3
    ),
    "relu^2": lambda s: fb.TwoLayerNetwork.gaussian(
        0.5, 3, width=30, activation=fb.PowerReLU(2), seed=s
    ),
}


@pytest.mark.parametrize("kind", list(_SMOOTH))
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_smoothed_margin_never_decreases_after_fitting(kind, seed):
    model = _SMOOTH[kind](seed)
    sol = fb.flowsolve(model, fb.ExponentialLoss(), SEP.X, SEP.y, 1e30, num_save=40)
    path = fb.margin_path(sol)
    fitted = np.asarray(path.fitted)
    assert fitted.sum() >= 20  # the data are fitted early: the check below has content
    sm = np.asarray(path.smoothed_margin)[fitted]
    assert np.min(np.diff(sm)) >= -1e-9 * np.max(np.abs(sm))
    assert sm[-1] > sm[0]
    # It bounds the normalised margin from below, within log(n) / ||theta||^L.
    gamma = np.asarray(path.normalized_margin)[fitted]
    rho_L = np.asarray(path.parameter_norm)[fitted] ** model.degree
    assert np.all(sm <= gamma + 1e-12)
    assert np.all(gamma - sm <= np.log(SEP.X.shape[0]) / rho_L + 1e-12)


@pytest.mark.parametrize("activation", [fb.ReLU(), fb.LeakyReLU(0.3)])
def test_a_flow_sliding_along_a_kink_is_reported_as_such(activation):
    model = fb.TwoLayerNetwork.gaussian(0.5, 3, width=8, activation=activation, seed=0)
    with pytest.raises(fb.FlowSolveError, match="kink"):
        fb.flowsolve(model, fb.ExponentialLoss(), SEP.X, SEP.y, 1e30, max_steps=2000)


def test_two_layer_direction_approaches_a_kkt_point():
    """relu^2 network to t = 1e100: the predicted limit is 'a KKT point', and the certificate's
    residual falls along the whole late path (Lyu & Li prove it tends to 0, with no rate for
    this case; measured here: about (log t)^-0.16, 0.37 at t = 1e10 and 0.26 at t = 1e100)."""
    model = fb.TwoLayerNetwork.gaussian(0.5, 3, width=30, activation=fb.PowerReLU(2), seed=0)
    sol = fb.flowsolve(model, fb.ExponentialLoss(), SEP.X, SEP.y, 1e100, num_save=40)
    limit = fb.predicted_limit(sol)
    assert isinstance(limit, fb.KKTLimit) and limit.agreement_measure == "kkt_residual"
    log_ts = np.asarray(sol.log_ts)
    late = np.flatnonzero(log_ts > np.log(1e10))
    res = np.asarray(limit.agreement(np.asarray(sol.observable)[late]))
    assert np.all(np.diff(res) < 0)
    # The certificate's margin is the path's normalised margin at the last time.
    cert = fb.max_margin_kkt(model, np.asarray(sol.observable)[-1], SEP.X, SEP.y)
    path = fb.margin_path(sol)
    np.testing.assert_allclose(
        float(cert.normalized_margin), float(path.normalized_margin[-1]), rtol=1e-10
    )


def test_margin_path_refuses_other_models():
    sol = fb.flowsolve(fb.LinearModel(np.zeros(3)), fb.ExponentialLoss(), SEP.X, SEP.y, 1e5)
    with pytest.raises(TypeError, match="homogeneous model"):
        fb.margin_path(sol)


def test_a_point_no_neuron_sees_is_reported_as_such():
    X, y = fb.problems.gaussian_separable(20, 4, seed=0)
    model = fb.TwoLayerNetwork.gaussian(0.3, 4, width=6, activation=fb.PowerReLU(2), seed=0)
    with pytest.raises(fb.FlowSolveError, match=r"no neuron is active on data point\(s\) \[11\]"):
        fb.flowsolve(model, fb.ExponentialLoss(), X, y, 1e100, max_steps=3000)


# ---- homogeneous MLPs and a user's own module -------------------------------------------------


class _Net(eqx.Module):
    """A user's network: a @ relu(W x)^2, degree 2 in W and 1 in a."""

    W: jax.Array
    a: jax.Array

    def __call__(self, x):
        return self.a @ jnp.maximum(self.W @ x, 0.0) ** 2


class _Biased(eqx.Module):
    W: jax.Array
    b: jax.Array

    def __call__(self, x):
        return jnp.sum(jnp.maximum(self.W @ x + self.b, 0.0))


def test_a_wrapped_module_is_the_same_model_as_the_built_in_one():
    ref = fb.TwoLayerNetwork.gaussian(0.5, 3, width=30, activation=fb.PowerReLU(2), seed=4)
    W, a = ref.init_params()
    net = fb.HomogeneousNetwork(_Net(W, a), dim=3, layer_degrees=(2, 1))
    net.check_degree(SEP.X)
    net.check_layer_degrees(SEP.X)
    assert net.degree == 3
    np.testing.assert_allclose(net.predict(net.init_params(), SEP.X), ref.predict((W, a), SEP.X))
    # Two implementations of one ODE: the same path.
    s1 = fb.flowsolve(ref, fb.ExponentialLoss(), SEP.X, SEP.y, 1e20, num_save=10)
    s2 = fb.flowsolve(net, fb.ExponentialLoss(), SEP.X, SEP.y, 1e20, num_save=10)
    np.testing.assert_allclose(s2.observable[-1], s1.observable[-1], rtol=1e-7)
    m1, m2 = fb.margin_path(s1), fb.margin_path(s2)
    np.testing.assert_allclose(m2.smoothed_margin, m1.smoothed_margin, rtol=1e-7)
    c1 = fb.max_margin_kkt(ref, np.asarray(s1.observable[-1]), SEP.X, SEP.y)
    c2 = fb.max_margin_kkt(net, np.asarray(s2.observable[-1]), SEP.X, SEP.y)
    assert float(c2.stationarity) == pytest.approx(float(c1.stationarity), rel=1e-5)


def test_wrong_degrees_and_biases_are_caught():
    rng = np.random.default_rng(0)
    W, a = rng.normal(size=(5, 3)), rng.normal(size=5)
    with pytest.raises(ValueError, match="declared of degree 1"):
        fb.HomogeneousNetwork(_Net(W, a), dim=3).check_layer_degrees(SEP.X)
    with pytest.raises(ValueError, match="declares degree 2"):
        fb.HomogeneousNetwork(_Net(W, a), dim=3).check_degree(SEP.X)
    biased = fb.HomogeneousNetwork(_Biased(W, rng.normal(size=5)), dim=3)
    with pytest.raises(ValueError, match="no biases"):
        biased.check_degree(SEP.X)
    with pytest.raises(ValueError, match="one degree per array"):
        fb.HomogeneousNetwork(_Net(W, a), dim=3, layer_degrees=(1,))
    with pytest.raises(ValueError, match="scalar"):
        fb.HomogeneousNetwork(eqx.nn.Linear(3, 2, use_bias=False, key=jax.random.key(0)), dim=3)
    with pytest.raises(TypeError, match="equinox Module"):
        fb.HomogeneousNetwork(lambda x: x, dim=3)


@pytest.mark.parametrize("activation", [fb.ReLU(), fb.LeakyReLU(0.2)])
def test_mlp_forward_pass_and_degree(activation):
    mlp = fb.HomogeneousMLP.gaussian(0.5, 3, widths=(6, 4), activation=activation, seed=1)
    W1, W2, W3 = (np.asarray(W) for W in mlp.init_params())
    s = activation.slope if isinstance(activation, fb.LeakyReLU) else 0.0

    def sigma(z):
        return np.where(z > 0, z, s * z)

    ref = (W3 @ sigma(W2 @ sigma(W1 @ SEP.X.T)))[0]
    np.testing.assert_allclose(mlp.predict(mlp.init_params(), SEP.X), ref, rtol=1e-13)
    assert mlp.degree == 3 and mlp.homogeneity_error(mlp.init_params(), SEP.X) <= 1e-13
    with pytest.raises(ValueError, match="degree one"):
        fb.HomogeneousMLP(mlp.layers0, fb.PowerReLU(2))


# ---- ReLU kinks rounded off in the cosine: the leaky-ReLU case with a known answer ------------


def test_rounded_kink_keeps_the_degree_and_is_refused_without_a_kink():
    net = fb.TwoLayerNetwork.gaussian(0.5, 3, width=8, activation=fb.ReLU(), kink_width=1e-2)
    assert net.homogeneity_error(net.init_params(), SEP.X) <= 1e-13
    assert float(net.kink_distance(net.init_params(), SEP.X)) == np.inf
    with pytest.raises(ValueError, match="has none"):
        fb.TwoLayerNetwork.gaussian(0.5, 3, width=8, activation=fb.PowerReLU(2), kink_width=1e-2)
    with pytest.raises(ValueError, match="kink_width"):
        fb.TwoLayerNetwork.gaussian(0.5, 3, width=8, kink_width=2.0)
    # Outside the rounded band it is the activation itself.
    c = jnp.array([-0.5, -0.02, 0.02, 0.5])
    s = fb.LeakyReLU(0.3)
    np.testing.assert_array_equal(s.smoothed(c, 1e-2), s(c))


def test_leaky_relu_on_symmetric_data_computes_the_svm():
    """Lyu, Li, Wang & Arora 2021: on linearly separable symmetric data (x, y) and (-x, -y), a
    two-layer leaky-ReLU network from a small start converges to the global max margin, and its
    function is linear, x -> (1 + s)/2 <sum_k a_k w_k, x>, along the SVM direction. With the kink
    rounded off at widths 1e-2 and 1e-3 (the flow slides along the kink otherwise): measured
    1 - cos 1.8e-6 to the cvxpy SVM, the two widths agreeing to 1e-20, the even part of f
    2.5e-8 of the odd part. The parameters' KKT residual is still 0.019 at t = 1e100 (it falls
    like (log t)^(-1/2): 0.0064 at log t = 2000, 0.0020 at 20000); polishing the end point by
    Levenberg-Marquardt on the KKT system lands, that same distance away, on a KKT point with
    residual 4e-16 whose margin is the global max (1 + s)/4 times the SVM margin, and the
    neuron-addition bound certifies it global (G = 1)."""
    P = random_separable(20, 4, 0)
    Xs, ys = np.vstack([P.X, -P.X]), np.concatenate([P.y, -P.y])
    u = {}
    for width in (1e-2, 1e-3):
        net = fb.TwoLayerNetwork.gaussian(
            0.3, 4, width=6, activation=fb.LeakyReLU(0.2), seed=2, kink_width=width
        )
        sol = fb.flowsolve(net, fb.ExponentialLoss(), Xs, ys, 1e100)
        W, a = (np.asarray(p)[-1] for p in sol.params)
        u[width] = a @ W
        f, g = (np.asarray(net.predict((W, a), s * P.X)) for s in (1.0, -1.0))
        assert np.max(np.abs(f + g)) <= 1e-6 * np.max(np.abs(f - g))  # linear: no even part
        assert float(fb.one_minus_cos(u[width], P.svm_direction)) <= 1e-4
    assert float(fb.one_minus_cos(u[1e-2], u[1e-3])) <= 1e-12
    theta = np.asarray(sol.observable)[-1]
    polished = fb.polish_kkt(net, theta, Xs, ys)
    assert polished.certificate.residual <= 1e-13
    svm_margin = np.min(P.y * (P.X @ P.svm_direction)) / np.linalg.norm(P.svm_direction)
    np.testing.assert_allclose(
        float(polished.certificate.normalized_margin), (1 + 0.2) / 4 * svm_margin, rtol=1e-10
    )
    # The flow's residual is its distance to that point (measured 0.0187 and 0.0187).
    np.testing.assert_allclose(polished.distance, float(polished.start.stationarity), rtol=0.05)
    new = fb.best_new_neuron(net, polished.certificate, Xs, ys)
    assert not new.improves and abs(new.gain - 1.0) <= 1e-9
