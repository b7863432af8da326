"""No wrong answer reported as right, no result lost, every failure a clear message.

One regression test (or a parametrised family) per class of defect found by fuzzing the API
and the CLI, and a hypothesis battery over bad arguments and extreme data scales. Every
expected value comes from an independent reference: a NumPy closed form, or `mirror_limit`
where its own KKT certificate is checked against 60-digit mpmath in `test_diagonal.py`.
"""

import json
import os
import re
import subprocess
import sys

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import diagonal_inverse_link_mpmath, random_separable, sparse_regression
from hypothesis import HealthCheck, given, settings

import flowbias as fb
from flowbias_cli.main import main


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


RNG = np.random.default_rng(0)
X5, Y5 = RNG.normal(size=(5, 20)), RNG.normal(size=5)  # the 5 x 20 problem of the fuzz report
W_L2 = X5.T @ np.linalg.solve(X5 @ X5.T, Y5)  # min-l2 interpolator, NumPy closed form
ALPHAS = [1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6, 1e8]


@pytest.fixture(scope="module")
def argmin_q():
    """argmin Q s.t. Xw = y: for alpha >= 1e4 the min-l2 interpolator (Q_alpha is alpha^-2 /16
    ||w||^2 up to a relative O((|w|/alpha^D)^2) <= 1e-16 here), below that the dual Newton
    reference, whose stationarity is certified here in 60-digit arithmetic."""
    cache = {}

    def get(depth, alpha):
        if (depth, alpha) not in cache:
            if alpha >= 1e4:
                cache[depth, alpha] = W_L2
            else:
                model = fb.DiagonalNetwork.uniform(alpha, 20, depth=depth)
                w = np.asarray(fb.mirror_limit(model, X5, Y5))
                psi = diagonal_inverse_link_mpmath(w, alpha, alpha, depth)
                Q, _ = np.linalg.qr(X5.T)
                assert np.linalg.norm(psi - Q @ (Q.T @ psi)) <= 1e-9 * np.linalg.norm(psi)
                cache[depth, alpha] = w
        return cache[depth, alpha]

    return get


# ---- 1. cancellation and scaling: never a wrong success ---------------------------------------


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_dual_flow_is_right_at_every_scale(argmin_q, depth, alpha):
    # Before: w = u^D - v^D lost every digit (w = 0 exactly at alpha = 1e8, success = True).
    model = fb.DiagonalNetwork.uniform(alpha, 20, depth=depth)
    sol = fb.flowsolve(model, fb.SquareLoss(), X5, Y5, flow=fb.DualFlow(), throw=False)
    assert bool(sol.success), sol.message
    assert _rel(sol.w_final, argmin_q(depth, alpha)) <= 1e-8


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_primal_flow_is_right_or_flagged(argmin_q, depth, alpha):
    # The primal state (u, v) cannot hold w = u^D - v^D at large alpha: the run must say so.
    model = fb.DiagonalNetwork.uniform(alpha, 20, depth=depth)
    sol = fb.flowsolve(model, fb.SquareLoss(), X5, Y5, throw=False)
    err = _rel(sol.w_final, argmin_q(depth, alpha))
    if bool(sol.success):
        assert err <= 1e-8
    else:
        assert sol.result == fb.RESULTS.ill_conditioned, sol.message
        assert float(sol.error_estimate) > 1e-8
    if alpha >= 1e4:
        assert not bool(sol.success)  # measured errors 8e-6 (depth 2, 1e4) up to 1


@pytest.mark.parametrize("alpha", [1e2, 1e3])
def test_depth3_large_alpha_reaches_argmin_q(alpha):
    # Before: stopped short on the tour's 20 x 100 problem (5.4e-6 at 1e3, loss stuck at
    # 7e-12), with success = True: atol = 1e-12 was larger than the dual state (~1e-13).
    P = sparse_regression(20, 100, 3, 0)
    model = fb.DiagonalNetwork.uniform(alpha, 100, depth=3)
    sol = fb.flowsolve(model, fb.SquareLoss(), P.X, P.y, flow=fb.DualFlow())
    # alpha^(2D-2) Q -> ||w||^2 / (4 D^2): the min-l2 limit, within (|w|/alpha^3)^2 < 1e-10.
    w_l2 = P.X.T @ np.linalg.solve(P.X @ P.X.T, P.y)
    assert _rel(sol.w_final, w_l2) <= 1e-8


def test_alpha_sweep_flags_inaccurate_and_refused_runs(argmin_q):
    alphas = [1.0, np.nan, -1.0, 1e-300, 1e300, 1e6]
    with pytest.warns(UserWarning, match="refused"):
        sols = fb.alpha_sweep(alphas, X5, Y5, shard=False)  # primal flow
    for k in (1, 2, 3, 4):
        assert bool(sols.run(k).result == fb.RESULTS.invalid_parameter)
        assert "refused before solving" in sols.run(k).message
    assert bool(sols.run(5).result == fb.RESULTS.ill_conditioned)  # 1e6, primal: cancels
    assert bool(sols.success[0]) and _rel(sols.w_final[0], argmin_q(2, 1.0)) <= 1e-8


def test_data_far_out_of_scale_is_refused_by_name():
    for c in (1e-200, 1e200):
        with pytest.raises(ValueError, match="`X` has max \\|entry\\|"):
            fb.flowsolve(fb.LinearModel(np.zeros(20)), fb.SquareLoss(), c * X5, Y5)
        with pytest.raises(ValueError, match="`X` has max \\|entry\\|"):
            fb.predicted_limit(fb.LinearModel(np.zeros(20)), fb.SquareLoss(), c * X5, Y5)


@pytest.mark.parametrize("what", ["y", "w0"])
def test_huge_targets_and_inits_give_finite_agreement(what):
    # Before: ||.|| of 1e200 entries overflowed in `agreement` (NaN written into the JSON).
    y, w0 = (1e200 * Y5, np.zeros(20)) if what == "y" else (Y5, 1e200 * RNG.normal(size=20))
    model = fb.LinearModel(w0)
    sol = fb.flowsolve(model, fb.SquareLoss(), X5, y)
    # Reference: the closed form of L1, computed on the scaled problem and scaled back.
    c = 1e200
    ref = c * (
        X5.T @ np.linalg.solve(X5 @ X5.T, y / c)
        + w0 / c
        - X5.T @ np.linalg.solve(X5 @ X5.T, X5 @ (w0 / c))
    )
    err = float(fb.agreement(sol, fb.predicted_limit(sol)))
    assert np.isfinite(err) and err <= 1e-8
    assert float(fb.relative_error(sol.w_final, ref)) <= 1e-8


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rtol=-1.0), "`rtol` must be in"),
        (dict(rtol=1e3), "`rtol` must be in"),
        (dict(rtol=float("nan")), "`rtol` must be a finite"),
        (dict(atol=0.0), "`atol` must be in"),
        (dict(max_steps=0), "`max_steps` must be an integer >= 1"),
        (dict(max_steps=-3), "`max_steps` must be an integer >= 1"),
        (dict(max_steps=None), "`max_steps` must be an integer >= 1"),
        (dict(num_save=10.5), "`num_save` must be an integer >= 2"),
        (dict(ts=[]), "`ts` is empty"),
        (dict(ts=np.ones((2, 2))), "`ts` must be a vector"),
        (dict(dt0=-1.0), "`dt0` must be > 0"),
        (dict(stop_ratio=2.0), "`stop_ratio` must be in"),
        (dict(require_convergence="yes"), "`require_convergence` must be a bool"),
    ],
)
def test_meaningless_options_are_refused_by_name(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fb.flowsolve(fb.LinearModel(np.zeros(20)), fb.SquareLoss(), X5, Y5, **kwargs)


def test_sweep_checks_labels_outside_the_vmap():
    P = random_separable(12, 3, 0)
    with pytest.raises(ValueError, match="labels \\+1 or -1"):
        fb.flowsweep(
            fb.LinearModel, jnp.zeros((2, 3)), fb.ExponentialLoss(), P.X, (P.y + 1) / 2, 10.0
        )


def test_a_defaulted_horizon_is_checked_for_convergence():
    # Asked to converge by a horizon too short for it: flagged, not successful.
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(20)),
        fb.SquareLoss(),
        X5,
        Y5,
        1e-3,
        require_convergence=True,
        throw=False,
    )
    assert sol.result == fb.RESULTS.not_converged
    with pytest.raises(fb.FlowSolveError, match="had not converged"):
        fb.flowsolve(
            fb.LinearModel(np.zeros(20)), fb.SquareLoss(), X5, Y5, 1e-3, require_convergence=True
        )
    # Least squares without an interpolator (n > d) converges by stationarity, not by loss.
    Xt, yt = RNG.normal(size=(30, 4)), RNG.normal(size=30)
    sol = fb.flowsolve(fb.LinearModel(np.zeros(4)), fb.SquareLoss(), Xt, yt)
    assert bool(sol.success)
    assert _rel(sol.w_final, np.linalg.lstsq(Xt, yt, rcond=None)[0]) <= 1e-9


def test_failure_message_is_the_same_traced_or_not():
    args = (fb.LinearModel(np.zeros(20)), fb.SquareLoss(), X5, Y5, 1e6)
    with pytest.raises(fb.FlowSolveError) as concrete:
        fb.flowsolve(*args, max_steps=3, solver=fb.default_solver(stiff=False))

    @jax.jit
    def traced(X):
        return fb.flowsolve(
            args[0], args[1], X, Y5, 1e6, max_steps=3, solver=fb.default_solver(stiff=False)
        ).w_final

    with pytest.raises(Exception) as jitted:
        traced(jnp.asarray(X5))
    message = fb.RESULTS[fb.RESULTS.max_steps_reached]
    assert message in str(concrete.value) and message in str(jitted.value)


def test_non_separable_data_in_log_time_say_why():
    X = np.array([[1.0, 0.2], [-1.0, -0.2], [0.5, 1.0], [0.3, -0.7]])
    y = np.array([1.0, 1.0, -1.0, 1.0])  # rows 0 and 1 are opposite with equal labels
    with pytest.raises(fb.FlowSolveError, match="not linearly separable"):
        fb.flowsolve(fb.LinearModel(np.zeros(2)), fb.LogisticLoss(), X, y, 1e10, max_steps=500)


# ---- the CLI: result never lost, data never destroyed, one error line ------------------------


def _npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def _error_line(capsys):
    captured = capsys.readouterr()
    err = [line for line in captured.err.strip().splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "Traceback" not in captured.err, captured.err
    return err[0], captured.out


@pytest.mark.parametrize("target", ["missing/out.json", "dir", "data.npz/out.json"])
def test_json_path_is_checked_before_solving(tmp_path, capsys, target):
    data = _npz(tmp_path, X=X5, y=Y5)
    (tmp_path / "dir").mkdir()
    assert main(["solve", data, "--json", str(tmp_path / target)]) == 2
    line, out = _error_line(capsys)
    assert "--json" in line and out == ""  # refused before any solve


def test_json_equal_to_input_is_refused_and_data_intact(tmp_path, capsys):
    data = _npz(tmp_path, X=X5, y=Y5)
    before = open(data, "rb").read()
    assert main(["solve", data, "--json", data]) == 2
    assert "the data file itself" in _error_line(capsys)[0]
    assert open(data, "rb").read() == before


@pytest.mark.skipif(
    not os.path.exists("/proc/version"), reason="needs a file that cannot be written even by root"
)
def test_failed_write_prints_the_result(tmp_path, capsys):
    data = _npz(tmp_path, X=X5, y=Y5)
    assert main(["solve", data, "--json", "/proc/version"]) == 2
    line, out = _error_line(capsys)
    assert "could not write" in line
    res = json.loads(out)
    assert _rel(res["w"], W_L2) <= 1e-8


def test_short_classification_solve_keeps_its_result(tmp_path, capsys):
    P = random_separable(20, 5, 1)
    data = _npz(tmp_path, X=P.X, y=P.y)
    assert main(["solve", data, "--t1", "1", "--loss", "exp", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (
        res["diagnostics"]["available"] is False and "extrapolate" in (res["diagnostics"]["reason"])
    )
    assert len(res["w"]) == 5 and res["success"]


def test_json_is_strict(tmp_path, capsys):
    data = _npz(tmp_path, X=X5, y=1e200 * Y5)
    out = tmp_path / "out.json"
    assert main(["solve", data, "--json", str(out)]) == 0
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    res = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert res["agreement"] <= 1e-8 and res["loss"] is None  # L ~ 1e400 is not a float64


@pytest.mark.parametrize(
    "arrays, extra, match",
    [
        (
            dict(X=RNG.normal(size=(5, 20)), y=Y5),
            ["--model", "diagonal", "--alpha", "1e-4", "--depth", "4"],
            "could not be computed at this initial scale",
        ),
        (dict(X=X5, y=Y5), ["--model", "diagonal", "--alpha", "1e-300"], "`alpha` = 1e-300"),
        (
            dict(X=X5, y=Y5),
            ["--model", "diagonal", "--alpha", "0.1", "--depth", "1000"],
            "`alpha` = 0.1 is outside",
        ),
        (dict(X=1e200 * X5[:, :4], y=np.sign(Y5)), ["--loss", "exp"], "`X` has max"),
        (dict(X=1e-200 * X5[:, :4], y=np.sign(Y5)), ["--loss", "exp"], "`X` has max"),
        (
            dict(X=X5, y=Y5, w0=np.ones(20)),
            ["--model", "diagonal", "--alpha", "1"],
            "initialisations for --model linear",
        ),
        (
            dict(X=X5, y=np.abs(Y5), u0=np.ones(20), v0=np.ones(20)),
            ["--model", "diagonal", "--tied"],
            "--tied",
        ),
        (dict(X=X5, y=Y5), ["--alpha", "1"], "--alpha applies to --model diagonal only"),
        (dict(X=X5, y=Y5), ["--rtol", "-1"], "--rtol must be in"),
        (dict(X=X5, y=Y5), ["--max-steps", "0"], "--max-steps must be >= 1"),
        (
            dict(X=X5, y=Y5),
            ["--model", "diagonal", "--alpha", "1e6", "--flow", "primal"],
            "use --flow dual",
        ),
    ],
)
def test_cli_errors_are_one_line_about_the_users_argument(tmp_path, capsys, arrays, extra, match):
    data = _npz(tmp_path, **arrays)
    assert main(["solve", data, *extra]) == 2
    line, _ = _error_line(capsys)
    assert re.search(match, line), line


def test_cli_solver_follows_conditioning_and_retries_stiff(tmp_path, capsys):
    # A plain 50 x 50 Gaussian least-squares problem (cond(X X^T) ~ 1e5): Tsit5 would need
    # ~2e6 steps, so the library's choice is the stiff solver, and the result says why.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 50)), rng.normal(size=50)
    assert main(["solve", _npz(tmp_path, X=X, y=y), "--max-steps", "20000", "--json", "-"]) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert res["solver"].startswith("Kvaerno5: least squares with cond(X X^T)")
    assert "retrying" not in captured.err
    assert _rel(res["w"], np.linalg.solve(X, y)) <= 1e-6
    # Where the explicit solver is chosen but runs out of steps, the command retries stiff.
    U, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    V, _ = np.linalg.qr(rng.normal(size=(10, 6)))
    X = U @ np.diag(np.geomspace(1.0, 0.05, 6)) @ V.T  # cond(X X^T) = 400: ~8000 Tsit5 steps
    y = rng.normal(size=6)
    data = _npz(tmp_path, name="mild.npz", X=X, y=y)
    # In a fresh interpreter: compiling this Kvaerno5 program late in the full suite's process
    # crashed XLA's CPU compiler (segmentation fault, twice; never in a process of its own).
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowbias_cli.main",
            "solve",
            data,
            "--max-steps",
            "2000",
            "--json",
            "-",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "retrying with the stiff one" in proc.stderr
    res = json.loads(proc.stdout)
    assert res["solver"].startswith("Kvaerno5: retried")
    assert _rel(res["w"], np.linalg.pinv(X) @ y) <= 1e-8


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda t: t, "is a directory"),
        (lambda t: "/dev/null", "not a regular file"),
        (lambda t: (t / "a.npz").write_text("hello") and t / "a.npz", "not an .npz archive"),
        (
            lambda t: __import__("shutil").make_archive(str(t / "z"), "zip", t) and t / "z.zip",
            "not .npy arrays|no array",
        ),
    ],
)
def test_cli_data_file_messages(tmp_path, capsys, make, match):
    (tmp_path / "inner.txt").write_text("x")
    assert main(["solve", str(make(tmp_path))]) == 2
    assert re.search(match, _error_line(capsys)[0])


def test_cli_extra_arrays_are_named_not_ignored(tmp_path, capsys):
    data = _npz(tmp_path, X=X5, y=Y5, junk=np.ones(3))
    assert main(["solve", data]) == 0
    assert "warning: ignoring array(s) ['junk']" in capsys.readouterr().err


# ---- the hypothesis battery -----------------------------------------------------------------

BAD_API = [
    ("rtol", st.sampled_from([0.0, -1e-8, 1.0, 1e3, float("inf")])),
    ("atol", st.sampled_from([0.0, -1.0, 1.0, float("nan")])),
    ("max_steps", st.sampled_from([0, -1, 2.5, None, True])),
    ("num_save", st.sampled_from([0, 1, 10.5, False])),
    ("t1", st.sampled_from([0.0, -1.0, float("nan")])),
    ("dt0", st.sampled_from([0.0, -1e-3])),
    ("ts", st.sampled_from([[], [[0.0, 1.0]], [1.0, 0.5], [-1.0, 1.0]])),
]


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_battery_bad_api_arguments_name_themselves(data):
    name, values = data.draw(st.sampled_from(BAD_API))
    value = data.draw(values)
    with pytest.raises((ValueError, TypeError)) as info:
        fb.flowsolve(fb.LinearModel(np.zeros(20)), fb.SquareLoss(), X5, Y5, **{name: value})
    assert f"`{name}`" in str(info.value) or (name == "ts" and "`t1`" in str(info.value))


BAD_CLI = [
    ["--t1", "-1"],
    ["--t1", "nan"],
    ["--t1", "inf"],
    ["--log10-t1", "nan"],
    ["--rtol", "2"],
    ["--atol", "0"],
    ["--max-steps", "-5"],
    ["--model", "diagonal"],
    ["--model", "diagonal", "--alpha", "0"],
    ["--model", "diagonal", "--alpha", "nan"],
    ["--model", "diagonal", "--alpha", "1", "--depth", "1"],
    ["--depth", "3"],
    ["--flow", "primal"],
    ["--tied"],
    ["--loss", "exp"],
]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=st.sampled_from(BAD_CLI))
def test_battery_bad_cli_arguments_one_error_line(tmp_path_factory, capsys, extra):
    data = _npz(tmp_path_factory.mktemp("cli"), X=X5, y=Y5)  # labels not +-1: exp is refused
    assert main(["solve", data, *extra]) == 2
    _error_line(capsys)


@settings(max_examples=6, deadline=None)
@given(k=st.integers(-130, 130))
def test_battery_data_scale_refused_or_right(k):
    # Either a clean refusal naming X, or the right answer: the L1 limit of (c X, y) is
    # w*(X, y) / c (the closed form, NumPy, on the unscaled data).
    c = 10.0**k
    try:
        sol = fb.flowsolve(fb.LinearModel(np.zeros(20)), fb.SquareLoss(), c * X5, Y5, throw=False)
    except ValueError as e:
        assert "`X` has max |entry|" in str(e) and abs(k) > 99
        return
    assert abs(k) <= 100
    assert bool(sol.success), sol.message
    assert _rel(np.asarray(sol.w_final) * c, W_L2) <= 1e-8
