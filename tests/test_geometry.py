"""Mirror flows and steepest descent in other norms (issue 14 items 1-2, rows L6): potentials,
their restricted parser, the Bregman projection and the l_p max-margin, each against an
independent reference (closed forms, sympy, cvxpy written in tests/helpers.py)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from helpers import (
    bregman_entropy_cvxpy,
    bregman_pnorm_cvxpy,
    lp_margin_cvxpy,
    positive_regression,
    random_regression,
    random_separable,
)

import flowbias as fb


REG = random_regression(8, 20, 0)
POS = positive_regression(6, 15, 1)
SEP = random_separable(30, 5, 0)


def _null_projection(X, v):
    """The part of v outside the row space of X."""
    return v - X.T @ np.linalg.lstsq(X.T, v, rcond=None)[0]


# ---- potentials ------------------------------------------------------------------------------

CLOSED = [
    (fb.PNormPotential(1.5), "abs(w)**1.5/1.5", (-math.inf, math.inf)),
    (fb.PNormPotential(3.0), "abs(w)**3/3", (-math.inf, math.inf)),
    (fb.NegativeEntropy(), "w*log(w) - w", (0.0, math.inf)),
    (fb.HyperbolicEntropy(0.3), "w*asinh(w/0.3) - sqrt(w**2 + 0.09)", (-math.inf, math.inf)),
]


@pytest.mark.parametrize("closed,text,domain", CLOSED, ids=lambda c: getattr(c, "label", None))
def test_closed_forms_match_sympy(closed, text, domain):
    # Independent: sympy differentiates the formula; the closed forms are written by hand.
    w_sym = sp.Symbol("w", real=True)
    expr = sp.sympify(text, locals={"w": w_sym})
    w = np.array([0.05, 0.7, 2.5]) if domain[0] == 0 else np.array([-2.5, -0.3, 0.05, 1.7])
    d1 = sp.lambdify(w_sym, sp.diff(expr, w_sym), "numpy")(w)
    # (DiracDelta(w) from differentiating sign(w) vanishes away from w = 0.)
    second = sp.diff(expr, w_sym, 2).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
    d2 = sp.lambdify(w_sym, second, "numpy")(w)
    np.testing.assert_allclose(closed.grad(jnp.asarray(w)), d1, rtol=1e-13)
    np.testing.assert_allclose(closed.curvature(jnp.asarray(w)), d2, rtol=1e-12)
    np.testing.assert_allclose(closed.grad_inverse(closed.grad(jnp.asarray(w))), w, rtol=1e-13)
    # The same formula through the restricted parser, sympy's inverse or the root find.
    symbolic = fb.SymbolicPotential(text, domain=domain)
    z = closed.grad(jnp.asarray(w))
    np.testing.assert_allclose(symbolic.grad_inverse(z), w, rtol=1e-12)
    np.testing.assert_allclose(symbolic.curvature(jnp.asarray(w)), d2, rtol=1e-12)


def test_sympy_inverse_where_it_exists_root_find_otherwise():
    assert fb.SymbolicPotential("abs(w)**1.5/1.5").inverse_method == "sympy"
    assert fb.SymbolicPotential("w*log(w) - w", domain=(0, math.inf)).inverse_method == "sympy"
    quartic = fb.SymbolicPotential("w**4/4 + w**2/2")
    assert quartic.inverse_method == "root find"
    z = jnp.array([-30.0, -1.0, 0.0, 1e-6, 2.0, 1e3])
    w = np.asarray(quartic.grad_inverse(z))
    # Independent: the real root of w^3 + w = z by numpy's polynomial roots.
    exact = [np.real(r[np.abs(r.imag) < 1e-9][0]) for r in (np.roots([1, 0, 1, -zi]) for zi in z)]
    np.testing.assert_allclose(w, exact, rtol=1e-14, atol=1e-300)


def test_root_find_derivative_is_one_over_curvature():
    cosh = fb.FunctionPotential(jnp.cosh, label="cosh")
    z = jnp.array([-3.0, -0.2, 0.0, 0.5, 40.0])
    np.testing.assert_allclose(cosh.grad_inverse(z), np.arcsinh(np.asarray(z)), rtol=1e-14)
    jac = jax.jacfwd(cosh.grad_inverse)(z)
    np.testing.assert_allclose(np.diag(jac), 1 / np.sqrt(1 + np.asarray(z) ** 2), rtol=1e-13)
    # On a bounded domain too (the logistic map of the bracket): phi = -log(1 - w^2).
    barrier = fb.FunctionPotential(lambda w: -jnp.log1p(-(w**2)), domain=(-1, 1), label="b")
    z = jnp.array([-50.0, -1.0, 0.3, 7.0])
    w = np.asarray(barrier.grad_inverse(z))
    np.testing.assert_allclose(2 * w / (1 - w**2), z, rtol=1e-12)


MALICIOUS = [
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "w.real",
    "lambda: 0",
    "open('/etc/passwd')",
    "[w for w in (1,)]",
    "x**2",
    "exp(w, base=2)",
    "'w'",
    "w**(10**10**10)",
    "(((10**64)**64)**64)**64",
    "w" + "+w" * 300,
]


@pytest.mark.parametrize("text", MALICIOUS)
def test_parser_refuses_anything_but_formulas(text, monkeypatch):
    # Nothing may be evaluated: eval and sympify are made to fail loudly if called.
    def forbidden(*args, **kwargs):
        raise AssertionError("the parser evaluated its input")

    monkeypatch.setattr("builtins.eval", forbidden)
    monkeypatch.setattr(sp, "sympify", forbidden)
    with pytest.raises(ValueError, match="cannot read the potential"):
        fb.parse_potential(text)


def test_parser_reads_formulas_exactly():
    w = sp.Symbol("w", real=True)
    assert fb.parse_potential("abs(w)**1.5/1.5") == sp.Abs(w) ** sp.Float(1.5) / sp.Float(1.5)
    assert fb.parse_potential("-w + exp(-2*w) + pi") == -w + sp.exp(-2 * w) + sp.pi


@pytest.mark.parametrize(
    "text,domain,match",
    [("w**3", None, "not strictly convex"), ("log(w)", None, "domain"), ("-w**2", None, "convex")],
)
def test_potentials_that_are_not_strictly_convex_are_refused(text, domain, match):
    with pytest.raises(ValueError, match=match):
        fb.SymbolicPotential(text)


def test_bad_potential_arguments():
    with pytest.raises(ValueError, match="`p` must be"):
        fb.PNormPotential(1.0)
    with pytest.raises(ValueError, match="`beta` must be"):
        fb.HyperbolicEntropy(-1.0)
    with pytest.raises(TypeError, match="`potential` must be"):
        fb.MirrorFlow("abs(w)**1.5")
    with pytest.raises(ValueError, match="`p` must be"):
        fb.SteepestDescentFlow(math.inf)


# ---- the Bregman projection (reference) against cvxpy and closed forms ----------------------


@pytest.mark.parametrize("p", [1.5, 3.0])
def test_bregman_projection_matches_cvxpy(p):
    b = fb.bregman_projection(REG.X, REG.y, REG.w0, fb.PNormPotential(p))
    ref = bregman_pnorm_cvxpy(REG.X, REG.y, REG.w0, p)
    assert b.residual < 1e-13
    np.testing.assert_allclose(b.w, ref, rtol=0, atol=1e-7 * np.linalg.norm(ref))


def test_bregman_projection_is_min_norm_for_the_square():
    b = fb.bregman_projection(REG.X, REG.y, REG.w0, fb.PNormPotential(2.0))
    np.testing.assert_allclose(b.w, REG.min_norm_limit, rtol=1e-12)


def test_bregman_entropy_matches_cvxpy_and_its_kkt():
    b = fb.bregman_projection(POS.X, POS.y, POS.w0, fb.NegativeEntropy())
    w = np.asarray(b.w)
    # KKT, checked directly: log w - log w0 in the row space of X, Xw = y.
    assert np.linalg.norm(_null_projection(POS.X, np.log(w) - np.log(POS.w0))) < 1e-12
    ref = bregman_entropy_cvxpy(POS.X, POS.y, POS.w0)
    # The exponential cone is solved less tightly: 1e-6 relative is its accuracy here.
    np.testing.assert_allclose(w, ref, rtol=1e-6)


def test_bregman_projection_without_interpolator_in_the_domain():
    X = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    with pytest.raises(fb.LimitError, match="domain"):
        fb.bregman_projection(X, np.array([-1.0, 1.0]), np.ones(3), fb.NegativeEntropy())
    with pytest.raises(ValueError, match="`w0` has entries outside the domain"):
        fb.bregman_projection(X, np.array([1.0, 1.0]), -np.ones(3), fb.NegativeEntropy())


# ---- mirror flows on least squares ----------------------------------------------------------


@pytest.fixture(scope="module")
def mirror_pnorm():
    flow = fb.MirrorFlow(fb.PNormPotential(1.5))
    return fb.flowsolve(fb.LinearModel(REG.w0), fb.SquareLoss(), REG.X, REG.y, flow=flow)


def test_mirror_flow_reaches_the_bregman_projection(mirror_pnorm):
    sol = mirror_pnorm
    assert sol.result == fb.RESULTS.successful
    ref = bregman_pnorm_cvxpy(REG.X, REG.y, REG.w0, 1.5)
    err = np.linalg.norm(sol.w_final - ref) / np.linalg.norm(ref)
    assert err < 1e-7, err  # measured 1.2e-8 (cvxpy's own accuracy dominates)
    limit = fb.predicted_limit(sol)
    assert limit.kind.startswith("bregman_projection")
    assert float(fb.agreement(sol, limit)) < 1e-9


def test_mirror_flow_moves_its_mirror_coordinate_in_the_row_space(mirror_pnorm):
    sol = mirror_pnorm
    z = np.sign(sol.w) * np.abs(sol.w) ** 0.5  # grad psi(w) for p = 1.5, along the path
    drift = [np.linalg.norm(_null_projection(REG.X, zk - z[0])) for zk in np.asarray(z)]
    assert max(drift) < 1e-9 * np.linalg.norm(z[-1])
    # ...and differs from gradient flow's limit (the geometry matters).
    gap = np.linalg.norm(sol.w_final - REG.min_norm_limit) / np.linalg.norm(REG.min_norm_limit)
    assert gap > 1e-2


def test_mirror_flow_entropy_and_a_symbolic_potential():
    sol = fb.flowsolve(
        fb.LinearModel(POS.w0),
        fb.SquareLoss(),
        POS.X,
        POS.y,
        flow=fb.MirrorFlow(fb.NegativeEntropy()),
    )
    w = np.asarray(sol.w_final)
    assert np.linalg.norm(_null_projection(POS.X, np.log(w) - np.log(POS.w0))) < 1e-9
    assert np.linalg.norm(POS.X @ w - POS.y) < 1e-9 * np.linalg.norm(POS.y)
    np.testing.assert_allclose(w, bregman_entropy_cvxpy(POS.X, POS.y, POS.w0), rtol=1e-6)


def test_hyperbolic_entropy_flow_has_the_diagonal_network_limit():
    # Second method: the depth-2 diagonal network at scale alpha has the potential Q_alpha,
    # which is the hyperbolic entropy with beta = 2 alpha^2 (Woodworth et al. 2020).
    alpha = 0.3
    X, y = REG.X, REG.y
    diag = fb.mirror_limit(fb.DiagonalNetwork.uniform(alpha, X.shape[1]), X, y)
    sol = fb.flowsolve(
        fb.LinearModel.zeros(X.shape[1]),
        fb.SquareLoss(),
        X,
        y,
        flow=fb.MirrorFlow(fb.HyperbolicEntropy(2 * alpha**2)),
    )
    np.testing.assert_allclose(sol.w_final, diag, rtol=0, atol=1e-8 * np.linalg.norm(diag))


def test_mirror_flow_refuses_other_models_and_bad_w0():
    flow = fb.MirrorFlow(fb.NegativeEntropy())
    with pytest.raises(ValueError, match="`w0` has entries outside the domain"):
        fb.flowsolve(fb.LinearModel(-POS.w0), fb.SquareLoss(), POS.X, POS.y, flow=flow)
    with pytest.raises(TypeError, match="runs linear models"):
        fb.flowsolve(fb.DiagonalNetwork.uniform(1.0, 20), fb.SquareLoss(), REG.X, REG.y, flow=flow)


def test_a_second_beta_does_not_recompile():
    from flowbias.solve import _integrate

    def run(beta):
        flow = fb.MirrorFlow(fb.HyperbolicEntropy(beta))
        fb.flowsolve(fb.LinearModel(REG.w0), fb.SquareLoss(), REG.X, REG.y, 1.0, flow=flow)

    run(1.0)
    traces = eqx.debug.get_num_traces(_integrate)
    run(0.5)
    assert eqx.debug.get_num_traces(_integrate) == traces


# ---- separable data: the l_p max-margin ------------------------------------------------------


@pytest.mark.parametrize("p", [1.0, 1.5, 3.0, math.inf])
def test_lp_max_margin_matches_cvxpy(p):
    sol = fb.lp_max_margin(SEP.X, SEP.y, p)
    ref = lp_margin_cvxpy(SEP.X, SEP.y, p)
    assert sol.residual < 1e-9
    np.testing.assert_allclose(sol.margin, 1 / np.linalg.norm(ref, p), rtol=1e-8)
    if 1 < p < math.inf:
        np.testing.assert_allclose(sol.w, ref, rtol=1e-6)
    assert sol.unique == (1 < p < math.inf)


def test_lp_max_margin_at_two_is_the_svm():
    # A second algorithm: the SVM reference polishes a QP's solution on its support by
    # least squares (KKT residual ~1e-12); the l_p reference solves an SOCP to ~1e-7 in w.
    sol = fb.lp_max_margin(SEP.X, SEP.y, 2.0)
    svm = fb.hard_margin_svm(SEP.X, SEP.y)
    assert np.linalg.norm(sol.w - svm.w) < 1e-6 * np.linalg.norm(svm.w)  # measured 3.2e-7
    np.testing.assert_allclose(sol.margin, svm.margin, rtol=1e-9)


@pytest.mark.parametrize(
    "flow", [fb.MirrorFlow(fb.PNormPotential(1.5)), fb.SteepestDescentFlow(3.0)], ids=str
)
def test_separable_direction_is_the_lp_max_margin(flow):
    p = float(flow.potential.p if isinstance(flow, fb.MirrorFlow) else flow.p)
    sol = fb.flowsolve(
        fb.LinearModel.zeros(SEP.X.shape[1]), fb.ExponentialLoss(), SEP.X, SEP.y, flow=flow
    )
    ref = lp_margin_cvxpy(SEP.X, SEP.y, p)
    err = np.asarray(fb.one_minus_cos(sol.w, ref))
    assert err[-1] < 1e-5, err[-1]  # measured 3.7e-6 (mirror, p = 1.5), 1.2e-6 (steepest, p = 3)
    # The error decays like 1/log^2 t (fitted exponent of log t over t = 1e20 .. 1e100).
    late = np.asarray(sol.log_ts) > math.log(1e20)
    slope = np.polyfit(np.log(np.asarray(sol.log_ts)[late]), np.log(err[late]), 1)[0]
    assert -2.3 < slope < -1.7, slope
    assert fb.predicted_limit(sol).kind.startswith(f"lp_max_margin(p={p:g}")


def test_no_theorem_where_none_is_known():
    with pytest.raises(fb.LimitError, match="no limit is predicted for steepest descent"):
        fb.predicted_limit(
            fb.LinearModel(REG.w0), fb.SquareLoss(), REG.X, REG.y, flow=fb.SteepestDescentFlow(3)
        )
    with pytest.raises(fb.LimitError, match="p-norm potentials"):
        fb.predicted_limit(
            fb.LinearModel.zeros(5),
            fb.ExponentialLoss(),
            SEP.X,
            SEP.y,
            flow=fb.MirrorFlow(fb.HyperbolicEntropy(1.0)),
        )
