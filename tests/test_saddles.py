"""Saddle-to-saddle dynamics (THEORY D6): the exact alpha -> 0 staircase, and the flow at tiny
alpha converging to it."""

from fractions import Fraction

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from helpers import min_l1_cvxpy, saddle_switch_off, sparse_regression, verify_staircase_sympy
from hypothesis import given, settings, strategies as st

import flowbias as fb
from flowbias.saddles import (
    compare_staircase,
    fit_inverse_log_rate,
    locate_jumps,
    plateau_midpoints,
    sign_constrained_least_squares,
)


# ---- the algorithm, exactly ------------------------------------------------------------------


def test_orthogonal_design_closed_form():
    # X = I (n = d = 3): coordinates decouple; s_i = 2 tau y_i / 3 reaches 1 at 3 / (2 |y_i|)
    # and coordinate i jumps straight to y_i.
    y = np.array([3.0, -2.0, 1.0])
    stc = fb.saddle_to_saddle(np.eye(3), y, exact=True)
    assert stc.exact_times == (0, Fraction(1, 2), Fraction(3, 4), Fraction(3, 2))
    np.testing.assert_array_equal(stc.saddles, [[0, 0, 0], [3, 0, 0], [3, -2, 0], [3, -2, 1]])
    assert stc.kkt_violation == 0.0


def test_switch_off_staircase_by_hand_and_certificate():
    X, y = saddle_switch_off()
    stc = fb.saddle_to_saddle(X, y, exact=True)
    assert stc.exact_times[1:3] == (Fraction(1, 6), Fraction(9, 40))  # derived in the helper
    assert stc.exact_saddles[1] == (0, 0, 0, Fraction(9, 14))
    assert stc.leaving()[2] == (1,)  # coordinate 1 is switched off at the third jump ...
    assert 1 in stc.entering()[3]  # ... and back on at the fourth
    assert verify_staircase_sympy(X, y, stc.exact_times, stc.exact_saddles) == stc.num_jumps


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000))
def test_random_integer_staircases_certified(seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(3, 5)).astype(float)
    y = rng.integers(-3, 4, size=3).astype(float)
    try:
        stc = fb.saddle_to_saddle(X, y, exact=True)
    except (fb.SaddleDegeneracyError, ValueError):
        return  # integer data are often degenerate (ties of dependent columns, X^T y = 0)
    verify_staircase_sympy(X, y, stc.exact_times, stc.exact_saddles)
    flt = fb.saddle_to_saddle(X, y)
    assert flt.num_jumps == stc.num_jumps
    np.testing.assert_allclose(flt.times, stc.times, rtol=1e-9)
    np.testing.assert_allclose(flt.saddles, stc.saddles, atol=1e-9 * np.abs(stc.saddles).max())


def test_last_saddle_is_min_l1_interpolator():
    p = sparse_regression(8, 20, 3, seed=2)
    stc = fb.saddle_to_saddle(p.X, p.y)
    ref = min_l1_cvxpy(p.X, p.y)
    assert np.linalg.norm(stc.final - ref) <= 1e-6 * np.linalg.norm(ref)
    assert stc.kkt_violation <= 1e-12


def test_overdetermined_ends_at_least_squares():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 4)), rng.normal(size=12)
    stc = fb.saddle_to_saddle(X, y)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(stc.final, ols, rtol=1e-10, atol=1e-12)


def test_sign_constrained_least_squares_against_scipy_nnls():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(15, 8)), rng.normal(size=15)
    signs = np.array([1, -1, 0, 1, 1, -1, 0, 1])
    beta = sign_constrained_least_squares(X.T @ X / 15, X.T @ y / 15, signs, exact=False, tol=1e-13)
    # Reference: scipy's NNLS on the flipped columns of the allowed set.
    allowed = np.flatnonzero(signs)
    z, _ = scipy.optimize.nnls(X[:, allowed] * signs[allowed], y)
    ref = np.zeros(8)
    ref[allowed] = z * signs[allowed]
    np.testing.assert_allclose(beta, ref, atol=1e-10)


def test_bad_data_refused_by_name():
    with pytest.raises(ValueError, match="X\\^T y = 0"):
        fb.saddle_to_saddle(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="`X` must be a matrix"):
        fb.saddle_to_saddle(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="`y` must have shape"):
        fb.saddle_to_saddle(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        fb.saddle_to_saddle(np.array([[1.0, np.nan]]), np.ones(1))
    with pytest.raises(ValueError, match="`max_jumps`"):
        fb.saddle_to_saddle(np.eye(3), np.ones(3), max_jumps=0)
    with pytest.raises(ValueError, match="`rtol`"):
        fb.saddle_to_saddle(np.eye(3), np.ones(3), rtol=-1.0)
    # Sympy rationals are taken exactly.
    import sympy

    stc = fb.saddle_to_saddle(np.eye(2), [sympy.Rational(1, 3), 1], exact=True)
    assert stc.exact_times[1:] == (Fraction(1), Fraction(3))
    # Two identical columns reach the threshold together and cannot be told apart.
    X = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(fb.SaddleDegeneracyError, match="linearly dependent"):
        fb.saddle_to_saddle(X, np.array([1.0, 0.5]), exact=True)


# ---- the rescaled model ------------------------------------------------------------------


def test_rescaled_link_is_diagonal_link_in_rescaled_units():
    # Independent reference: the sympy-derived link of DiagonalNetwork at the same alpha.
    alpha, d = 1e-3, 6
    lam = np.log(1 / alpha)
    resc = fb.RescaledDiagonalNetwork(d, alpha=alpha)
    plain = fb.DiagonalNetwork.uniform(alpha, d)
    xi = jnp.linspace(-0.6, 0.6, d)
    np.testing.assert_allclose(resc.link(xi), plain.link(lam * xi), rtol=1e-12)
    np.testing.assert_allclose(
        resc.link_derivative(xi), lam * plain.link_derivative(lam * xi), rtol=1e-12
    )
    np.testing.assert_allclose(resc.inverse_link(resc.link(xi)), xi, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jax.grad(resc.dual_potential)(xi), resc.link(xi), rtol=1e-12)
    w = resc.link(xi)
    np.testing.assert_allclose(resc.potential(w), plain.potential(w) / lam, rtol=1e-10)


@pytest.mark.parametrize("kw", [dict(alpha=1e-300), dict(log_alpha=-1e4)])
def test_no_overflow_at_vanishing_scale(kw):
    d = 4
    m = fb.RescaledDiagonalNetwork(d, **kw)
    xi = jnp.array([0.0, 0.499, -0.5, 0.501])  # w = 0, tiny, ~1, ~1: all representable
    for v in (
        m.link(xi),
        m.link_derivative(xi),
        m.inverse_link(m.link(xi)),
        m.dual_potential(xi),
        m.potential(m.link(xi)),
    ):
        assert np.all(np.isfinite(np.asarray(v)))
    np.testing.assert_allclose(m.inverse_link(m.link(xi)), xi, atol=1e-12)


def test_rescaled_model_refuses_bad_scales():
    with pytest.raises(ValueError, match="`alpha` must be in \\(0, 1\\)"):
        fb.RescaledDiagonalNetwork(3, alpha=2.0)
    with pytest.raises(ValueError, match="exactly one"):
        fb.RescaledDiagonalNetwork(3)
    with pytest.raises(ValueError, match="`log_alpha`"):
        fb.RescaledDiagonalNetwork(3, log_alpha=1.0)


# ---- the flow at tiny alpha against the staircase -------------------------------------------

ALPHAS = (1e-10, 1e-20, 1e-50, 1e-100, 1e-300)


@pytest.fixture(scope="module")
def switch_off_runs():
    X, y = saddle_switch_off()
    stc = fb.saddle_to_saddle(X, y, exact=True)
    T1 = 1.5 * stc.times[-1]
    ts = np.unique(np.concatenate([np.linspace(0, T1, 500), plateau_midpoints(stc)]))
    runs = {}
    for alpha in ALPHAS:
        model = fb.RescaledDiagonalNetwork(4, alpha=alpha)
        sol = fb.flowsolve(model, fb.SquareLoss(), X, y, T1, flow=fb.DualFlow(), ts=ts)
        runs[alpha] = (sol, compare_staircase(sol, stc))
    return stc, runs


def test_flow_finite_and_successful_down_to_1e_minus_300(switch_off_runs):
    _, runs = switch_off_runs
    sol, _ = runs[1e-300]
    assert bool(sol.success)
    for a in (sol.state, sol.w, sol.log_loss[1:]):
        assert np.all(np.isfinite(np.asarray(a)))


def test_jumps_and_plateaus_converge_at_first_order(switch_off_runs):
    stc, runs = switch_off_runs
    _, c100 = runs[1e-100]
    assert c100.max_jump_error <= 1e-2
    assert c100.max_plateau_error <= 1e-2
    assert np.nanmax(c100.loss_errors) <= 1e-2  # plateau losses against L(beta_k)
    lams = [runs[a][1].log_inverse_alpha for a in ALPHAS]
    errs = [runs[a][1].max_jump_error for a in ALPHAS]
    assert np.all(np.diff(errs) < 0)
    assert 0.8 <= fit_inverse_log_rate(lams, errs) <= 1.2  # error ~ 1 / log(1/alpha)


def test_flow_switches_the_coordinate_off_too(switch_off_runs):
    stc, runs = switch_off_runs
    ((k, i, tau),) = runs[1e-100][1].switch_offs
    assert (k, i) == (3, 1)
    assert abs(tau - stc.times[3]) <= 2e-2 * stc.times[3]


def test_one_trace_for_every_alpha(switch_off_runs):
    from flowbias.solve import _integrate

    _, runs = switch_off_runs
    X, y = saddle_switch_off()
    sol = runs[1e-20][0]

    def run(alpha):
        model = fb.RescaledDiagonalNetwork(4, alpha=alpha)
        t1, ts = float(sol.ts[-1]), np.asarray(sol.ts)
        fb.flowsolve(model, fb.SquareLoss(), X, y, t1, flow=fb.DualFlow(), ts=ts)

    # Two new alphas back to back (the fixture's compiled program may have been evicted by
    # the suite's cache clearing, see conftest.py): the second must reuse the first's trace.
    run(3e-17)
    before = eqx.debug.get_num_traces(_integrate)
    run(7e-33)
    assert eqx.debug.get_num_traces(_integrate) == before


def test_plain_network_at_1e_minus_100_matches_rescaled_and_limit():
    # The same network as DiagonalNetwork.uniform (time t, not t / log(1/alpha)): its jumps,
    # rescaled, and its limit (dual Newton) agree with the staircase.
    X, y = saddle_switch_off()
    stc = fb.saddle_to_saddle(X, y)
    lam = np.log(1e100)
    ts = lam * np.unique(
        np.concatenate([np.linspace(0, 1.5 * stc.times[-1], 400), plateau_midpoints(stc)])
    )
    model = fb.DiagonalNetwork.uniform(1e-100, 4)
    sol = fb.flowsolve(model, fb.SquareLoss(), X, y, ts[-1], flow=fb.DualFlow(), ts=ts)
    c = compare_staircase(sol, stc)
    assert c.max_jump_error <= 1e-2 and c.max_plateau_error <= 1e-2
    limit = fb.predicted_limit(model, fb.SquareLoss(), X, y)
    ref = min_l1_cvxpy(X, y)
    assert np.linalg.norm(np.asarray(limit.w) - ref) <= 1e-6 * np.linalg.norm(ref)


def test_a_missing_jump_is_never_hidden(switch_off_runs):
    stc, runs = switch_off_runs
    c = runs[1e-20][1]
    hidden = eqx.tree_at(lambda m: m.jump_errors, c, np.array([1e-3, np.nan]))
    assert np.isnan(hidden.max_jump_error)
    with pytest.raises(ValueError, match="d = 12"):
        compare_staircase(runs[1e-20][0], fb.saddle_to_saddle(np.eye(12), np.ones(12)))


def test_locate_jumps_needs_a_dual_flow():
    X, y = saddle_switch_off()
    sol = fb.flowsolve(fb.LinearModel(np.zeros(4)), fb.SquareLoss(), X, y, 1.0)
    with pytest.raises(TypeError, match="DualFlow"):
        locate_jumps(sol)


# ---- command line and plot -----------------------------------------------------------------


def test_cli_saddles_exact_with_flow(tmp_path, capsys):
    from flowbias_cli.main import main

    X, y = saddle_switch_off()
    data, out = tmp_path / "d.npz", tmp_path / "out.json"
    np.savez(data, X=X, y=y)
    assert main(["saddles", str(data), "--exact", "--alpha", "1e-100", "--json", str(out)]) == 0
    import json

    r = json.loads(out.read_text())
    assert r["exact_jumps"][:2] == ["1/6", "9/40"]
    assert r["active_sets"][2] == [2, 3] and r["switched_off"][2] == [1]
    assert max(r["flow"]["jump_errors"]) <= 1e-2
    assert "jump 3" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--alpha", "2"], "--alpha must be in \\(0, 1\\)"),
        (["--alpha", "1e-3", "--log10-alpha", "-5"], "not both"),
    ],
)
def test_cli_saddles_bad_input(tmp_path, capsys, argv, match):
    from flowbias_cli.main import main

    X, y = saddle_switch_off()
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=y)
    assert main(["saddles", str(data), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    import re

    assert re.search(match, err)


def test_cli_saddles_zero_targets(tmp_path, capsys):
    from flowbias_cli.main import main

    X, _ = saddle_switch_off()
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=np.zeros(3))
    assert main(["saddles", str(data)]) == 2
    assert "X^T y = 0" in capsys.readouterr().err


def test_plot_staircase_labels(switch_off_runs):
    import matplotlib.pyplot as plt

    stc, runs = switch_off_runs
    ax = fb.plotting.plot_staircase(stc, [runs[1e-10][0], runs[1e-20][0]])
    assert "staircase" in ax.get_title()
    assert "log(1/\\alpha)" in ax.get_xlabel() and ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "flow, α = 1e-10" in labels and any("α → 0" in s for s in labels)
    plt.close(ax.figure)


def test_random_instance_converges_at_first_order():
    # 5 x 12 Gaussian sparse regression with 7 jumps and two switch-offs. Early jumps are within
    # 1e-2 at alpha = 1e-100; the late ones (on slow coordinates, where the O(1/log(1/alpha))
    # offsets of earlier transitions are divided by a small gradient) are not: measured
    # 7.0e-2 at 1e-100 and 2.3e-2 at 1e-300. What holds is first-order convergence.
    p = sparse_regression(5, 12, 3, seed=1)
    stc = fb.saddle_to_saddle(p.X, p.y)
    T1 = 1.5 * stc.times[-1]
    ts = np.unique(np.concatenate([np.linspace(0, T1, 800), plateau_midpoints(stc)]))
    lams, errs = [], []
    for alpha in (1e-50, 1e-100, 1e-300):
        model = fb.RescaledDiagonalNetwork(12, alpha=alpha)
        sol = fb.flowsolve(model, fb.SquareLoss(), p.X, p.y, T1, flow=fb.DualFlow(), ts=ts)
        c = compare_staircase(sol, stc)
        assert np.all(np.isfinite(c.jump_errors))
        lams.append(c.log_inverse_alpha)
        errs.append(c.max_jump_error)
        if alpha == 1e-100:
            assert np.all(c.jump_errors[:3] <= 1e-2)  # measured <= 1.3e-3; the 4th 1.06e-2
            assert c.max_plateau_error <= 1e-2
    assert 0.8 <= fit_inverse_log_rate(lams, errs) <= 1.2


def test_cli_solve_diagonal_reports_jumps(tmp_path):
    import json

    from flowbias_cli.main import main

    X, y = saddle_switch_off()
    data, out = tmp_path / "d.npz", tmp_path / "out.json"
    np.savez(data, X=X, y=y)
    argv = ["solve", str(data), "--model", "diagonal", "--alpha", "1e-100", "--json", str(out)]
    assert main(argv) == 0
    r = json.loads(out.read_text())
    assert r["success"] and r["agreement"] <= 1e-8
    # The first rises: coordinate 3 at 1/6, coordinate 1 at 9/40 (derived by hand).
    assert r["jump_coordinates"][:2] == [3, 1]
    np.testing.assert_allclose(r["jumps"][:2], [1 / 6, 9 / 40], rtol=1e-2)
