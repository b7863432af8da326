"""Row M1: matrix factorisation through measurement operators.

References: closed forms (Razin-Cohen's min-nuclear completion, the logistic singular-value
path of full observation), an LP (commuting measurements: min trace PSD = non-negative
min-l1 on the diagonal), quadrature (depth >= 3 singular-value paths), and a second flow
(the end-to-end flow against the factored one).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import (
    RAZIN_COHEN_MIN_NUCLEAR,
    commuting_sensing,
    full_observation,
    min_l1_nonneg_lp,
    razin_cohen,
    singular_value_path,
)
from hypothesis import given, settings, strategies as st

import flowbias as fb


RNG = np.random.default_rng(0)


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---- the operators ------------------------------------------------------------------------------


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["sensing", "completion"]))
def test_operator_adjoint_and_gram(seed, kind):
    # <A(W), r> = <W, A*(r)>, against the dense matrices; Gram eigenvalues against NumPy.
    rng = np.random.default_rng(seed)
    shape, n = (3, 4), 7
    if kind == "sensing":
        op = fb.MatrixSensing(rng.normal(size=(n, *shape)))
    else:
        op = fb.MatrixCompletion(rng.integers(0, 3, n), rng.integers(0, 4, n), shape)
    A = np.asarray(op.dense())
    W, r = rng.normal(size=shape), rng.normal(size=n)
    np.testing.assert_allclose(
        np.asarray(op.apply(jnp.asarray(W))), np.einsum("kij,ij->k", A, W), rtol=1e-13, atol=1e-13
    )
    np.testing.assert_allclose(
        np.asarray(op.adjoint(jnp.asarray(r))), np.einsum("k,kij->ij", r, A), rtol=1e-13, atol=1e-13
    )
    Af = A.reshape(n, -1)
    np.testing.assert_allclose(
        np.sort(op.gram_eigenvalues()), np.linalg.eigvalsh(Af @ Af.T), atol=1e-12
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fb.MatrixCompletion([0, 2], [0, 1], (2, 2)), "`rows` holds index 2"),
        (lambda: fb.MatrixCompletion([0, -1], [0, 1], (2, 2)), "`rows` holds index -1"),
        (lambda: fb.MatrixCompletion([0, 1], [0], (2, 2)), "same length"),
        (lambda: fb.MatrixCompletion([0.5], [0], (2, 2)), "whole-number"),
        (lambda: fb.MatrixCompletion([0], [0], (0, 2)), "positive ints"),
        (lambda: fb.MatrixSensing(np.ones((2, 3))), "`A` must be"),
        (lambda: fb.MatrixFactorization.balanced(0.0, (2, 2)), "`alpha`"),
        (lambda: fb.MatrixFactorization.balanced(-1.0, (2, 2)), "`alpha`"),
        (lambda: fb.MatrixFactorization.balanced(1.0, (2, 2), depth=0), "`depth`"),
        (lambda: fb.MatrixFactorization.balanced(1.0, (2, 3), symmetric=True), "square shape"),
        (
            lambda: fb.MatrixFactorization.balanced(1.0, (2, 2), depth=3, symmetric=True),
            "even depth",
        ),
        (lambda: fb.MatrixFactorization([np.ones((2, 3)), np.ones((2, 3))]), "must chain"),
    ],
)
def test_bad_matrix_input_is_refused_by_name(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_data_that_do_not_fit_the_model_are_refused():
    p = razin_cohen()
    with pytest.raises(ValueError, match="observed twice with different values"):
        fb.flowsolve(
            fb.MatrixFactorization.balanced(0.1, (2, 2)),
            fb.SquareLoss(),
            fb.MatrixCompletion([0, 0], [1, 1], (2, 2)),
            np.array([1.0, 2.0]),
        )
    with pytest.raises(ValueError, match="measures 2 x 2 matrices but the model's"):
        fb.flowsolve(
            fb.MatrixFactorization.balanced(0.1, (3, 3)), fb.SquareLoss(), p.operator(), p.y
        )
    with pytest.raises(TypeError, match="pass `X` as fb.MatrixSensing"):
        fb.flowsolve(
            fb.MatrixFactorization.balanced(0.1, (2, 2)), fb.SquareLoss(), np.ones((3, 4)), p.y
        )
    with pytest.raises(TypeError, match="LinearModel is a model of vectors"):
        fb.flowsolve(fb.LinearModel(np.zeros(4)), fb.SquareLoss(), p.operator(), p.y)
    with pytest.raises(ValueError, match="3 measurements but `y` has 2"):
        fb.flowsolve(
            fb.MatrixFactorization.balanced(0.1, (2, 2)), fb.SquareLoss(), p.operator(), p.y[:2]
        )
    with pytest.raises(ValueError, match="balanced initialisation"):
        fb.flowsolve(
            fb.MatrixFactorization.gaussian(0.1, (2, 2), depth=2),
            fb.SquareLoss(),
            p.operator(),
            p.y,
            1.0,
            flow=fb.EndToEndFlow(),
        )


# ---- the references -----------------------------------------------------------------------------


def test_min_nuclear_norm_closed_form_razin_cohen():
    p = razin_cohen()
    ref = fb.min_nuclear_norm(p.operator(), p.y)
    assert _rel(ref.W, RAZIN_COHEN_MIN_NUCLEAR) <= 1e-8
    assert ref.objective == pytest.approx(2.0, rel=1e-9)
    assert ref.residual <= 1e-8


@pytest.mark.parametrize("psd", [False, True])
def test_min_nuclear_norm_on_diagonal_measurements_is_min_l1(psd):
    # ||W||_* >= sum |W_ii| with equality on diagonal W, so the optimal value is the min-l1
    # value of the diagonal (non-negative for PSD): an LP, solved independently.
    p = commuting_sensing(5, 2, seed=1)
    a = np.stack([np.diag(Ak) for Ak in p.A])
    if psd:
        w = min_l1_nonneg_lp(a, p.y)
    else:
        import cvxpy as cp

        v = cp.Variable(a.shape[1])
        cp.Problem(cp.Minimize(cp.norm1(v)), [a @ v == p.y]).solve(solver="CLARABEL")
        w = np.asarray(v.value)
    ref = fb.min_nuclear_norm(p.operator(), p.y, psd=psd)
    assert ref.objective == pytest.approx(np.sum(np.abs(w)), rel=1e-8)
    np.testing.assert_allclose(np.asarray(p.operator().apply(ref.W)), p.y, atol=1e-9)


# ---- the factored flow against the end-to-end flow ----------------------------------------------


@pytest.fixture(scope="module")
def sensing_problem():
    rng = np.random.default_rng(2)
    shape = (4, 3)
    A = rng.normal(size=(6, *shape))
    W = rng.normal(size=(4, 1)) @ rng.normal(size=(1, 3))
    return fb.MatrixSensing(A), np.einsum("kij,ij->k", A, W)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_balanced_factored_flow_equals_end_to_end_flow(sensing_problem, depth):
    X, y = sensing_problem
    model = fb.MatrixFactorization.balanced(0.5, (4, 3), depth=depth)
    ts = np.geomspace(1e-2, 30.0, 40)
    kw = dict(ts=ts, stop_ratio=False, rtol=1e-12, atol=1e-14)
    factored = fb.flowsolve(model, fb.SquareLoss(), X, y, **kw)
    reduced = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.EndToEndFlow(), **kw)
    Wf, We = np.asarray(factored.observable), np.asarray(reduced.observable)
    err = np.linalg.norm(Wf - We, axis=(1, 2)) / np.linalg.norm(We, axis=(1, 2))
    assert err.max() <= 1e-8, err.max()
    # Balancedness is conserved by the factored flow.
    imbalance = [
        float(model.imbalance(tuple(F[k] for F in factored.params))) for k in range(ts.size)
    ]
    assert max(imbalance) <= 1e-10
    assert float(factored.loss[-1]) < 1e-3 * float(factored.loss[0])


@pytest.mark.parametrize("depth, alpha", [(2, 1e-3), (3, 1e-2)])
def test_singular_values_are_learned_one_at_a_time(depth, alpha):
    # Full observation from W(0) = alpha^N I: each singular value follows its own scalar ODE
    # (closed form for N = 2, quadrature for N = 3); the largest is learned first.
    s = np.array([3.0, 1.0, 0.3])
    p = full_observation(s, seed=0)
    n = p.y.size
    sigma0 = alpha**depth
    t1 = 2.0 * n * np.log(s.max() / sigma0) / s.min() * (1 if depth == 2 else 40)
    ts = np.linspace(0.0, t1, 121)[1:]
    model = fb.MatrixFactorization.balanced(alpha, (3, 3), depth=depth)
    sol = fb.flowsolve(
        model,
        fb.SquareLoss(),
        p.operator(),
        p.y,
        ts=ts,
        stop_ratio=False,
        flow=fb.EndToEndFlow(),
        rtol=1e-12,
        atol=1e-14,
    )
    sv = np.asarray(fb.singular_values(sol.observable))
    ref = np.stack([singular_value_path(ts, si, sigma0, depth, n) for si in s], axis=1)
    err = np.linalg.norm(sv - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() <= 1e-7, err.max()
    half = [ts[np.argmax(sv[:, i] >= s[i] / 2)] for i in range(3)]
    assert half[0] < half[1] < half[2]


# ---- commuting measurements: the flow tends to the minimum trace ------------------------------


def test_commuting_sensing_flow_tends_to_min_trace_as_alpha_falls():
    # The rate depends on the instance (the LP's reduced-cost gap: on this one ~alpha^8.6 from
    # 0.5 to 0.1, then the rtol floor ~1e-10; others approach like a small power of alpha).
    p = commuting_sensing(4, 2, seed=1)
    a = np.stack([np.diag(Ak) for Ak in p.A])
    W_ref = np.diag(min_l1_nonneg_lp(a, p.y))  # independent: an LP
    alphas = np.array([0.5, 0.3, 0.2, 0.1, 1e-2])
    errs, limit = [], None
    for alpha in alphas:
        model = fb.MatrixFactorization.balanced(alpha, p.shape, depth=2, symmetric=True)
        sol = fb.flowsolve(model, fb.SquareLoss(), p.operator(), p.y)
        assert bool(sol.success), sol.message
        errs.append(_rel(sol.observable_final, W_ref))
        limit = fb.predicted_limit(sol) if limit is None else limit
    errs = np.array(errs)
    slope = np.polyfit(np.log(alphas[:4]), np.log(errs[:4]), 1)[0]
    assert slope >= 4.0, (slope, errs)
    assert errs[-1] <= 1e-6, errs
    assert limit.kind == "min_trace_psd" and _rel(limit.value, W_ref) <= 1e-7
    assert float(fb.agreement(sol, limit)) <= 1e-6


# ---- Razin-Cohen: no norm explains the flow ----------------------------------------------------


def test_razin_cohen_flow_drives_the_nuclear_norm_up():
    p = razin_cohen()
    model = fb.MatrixFactorization.balanced(0.1, (2, 2), depth=3)  # det W(0) > 0
    ts = np.geomspace(1.0, 1e6, 61)
    # Stiff late on (the flow hugs det W -> 0+): the implicit solver, ~1,100 steps.
    sol = fb.flowsolve(
        model,
        fb.SquareLoss(),
        p.operator(),
        p.y,
        ts=ts,
        stop_ratio=False,
        solver=fb.default_solver(stiff=True),
    )
    assert bool(sol.success), sol.message
    W = np.asarray(sol.observable)
    late = ts >= 1e2  # after the fit has begun
    loss = np.asarray(sol.loss)
    assert loss[-1] < 1e-5 * loss[0]
    w11 = W[late, 0, 0]
    nuc = np.asarray(fb.nuclear_norm(W))[late]
    assert np.all(np.diff(w11) > 0) and np.all(np.diff(nuc) > 0)
    assert nuc[-1] > 100.0 > 2.0  # the min-nuclear-norm completion has norm 2
    assert float(fb.effective_rank(W[-1])) - 1.0 < 1e-6
    # det W = prod_j det W_j, from the factors (W's own entries cancel: det -> 0+).
    det = np.prod([np.linalg.det(np.asarray(F)) for F in sol.params], axis=0)
    assert np.all(det > 0)
    limit = fb.predicted_limit(sol)
    assert limit.kind == "min_nuclear_norm" and _rel(limit.value, RAZIN_COHEN_MIN_NUCLEAR) < 1e-8
    assert float(fb.agreement(sol, limit)) > 10.0  # the flow is nowhere near it


def test_same_operator_shapes_do_not_recompile():
    import equinox as eqx

    from flowbias.solve import _integrate

    p = razin_cohen()
    model = fb.MatrixFactorization.balanced(0.1, (2, 2), depth=2)
    fb.flowsolve(model, fb.SquareLoss(), p.operator(), p.y, 1.0, stop_ratio=False)
    traces = eqx.debug.get_num_traces(_integrate)
    other = fb.MatrixCompletion([1, 0, 0], [0, 0, 1], (2, 2))
    fb.flowsolve(
        fb.MatrixFactorization.balanced(0.2, (2, 2), depth=2),
        fb.SquareLoss(),
        other,
        2 * p.y,
        2.0,
        stop_ratio=False,
    )
    assert eqx.debug.get_num_traces(_integrate) == traces


# ---- plots -------------------------------------------------------------------------------------


def test_matrix_plots_draw_what_they_claim():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = razin_cohen()
    sol = fb.flowsolve(
        fb.MatrixFactorization.balanced(0.1, (2, 2), depth=2),
        fb.SquareLoss(),
        p.operator(),
        p.y,
        10.0,
        stop_ratio=False,
        num_save=30,
    )
    limit = fb.predicted_limit(sol)
    ax = fb.plotting.plot_singular_values(sol, limit=limit)
    sv = np.linalg.svd(np.asarray(sol.observable), compute_uv=False)
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), sv[1:, 0], rtol=1e-12)
    np.testing.assert_allclose(lines[0].get_xdata(), np.asarray(sol.log_ts)[1:] / np.log(10))
    assert [ln.get_ydata()[0] for ln in lines[2:]] == pytest.approx([1.0, 1.0])  # limit's sv
    assert "singular values" in ax.get_ylabel() and "log_{10} t" in ax.get_xlabel()
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="matrix per saved time"):
        fb.plotting.plot_singular_values(
            fb.flowsolve(fb.LinearModel(np.zeros(2)), fb.SquareLoss(), np.eye(2), np.ones(2), 1.0)
        )
    ax = fb.plotting.plot_error_against_scale(
        [1e-1, 1e-2], {"depth 2": [0.3, np.nan]}, reference_error=0.5
    )
    assert ax.get_xscale() == "log" and "initial scale" in ax.get_xlabel()
    assert list(ax.get_lines()[0].get_ydata()) == [0.3]  # the failed (NaN) run is left out
    with pytest.raises(ValueError, match="one error per alpha"):
        fb.plotting.plot_error_against_scale([1e-1, 1e-2], {"depth 2": [0.3]})
    plt.close("all")
