"""The command line: JSON contract and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import CLASSIFICATION, REGRESSION

from flowbias_cli.main import main
from flowbias_cli.tour import CATALOGUE


def _npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_solve_square_json_contract(tmp_path):
    p = REGRESSION[0]
    data = _npz(tmp_path, X=p.X, y=p.y, w0=p.w0)
    out = tmp_path / "out.json"
    assert main(["solve", data, "--model", "linear", "--loss", "square", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    for key in ("w", "t1", "loss", "num_steps", "limit", "agreement"):
        assert key in res
    assert res["limit"]["kind"] == "min_norm_interpolator"
    # Independent check of both sides: the JSON limit and w against the textbook formula.
    ref = p.min_norm_limit
    assert np.linalg.norm(np.array(res["limit"]["w"]) - ref) <= 1e-12 * np.linalg.norm(ref)
    assert np.linalg.norm(np.array(res["w"]) - ref) <= 1e-8 * np.linalg.norm(ref)
    assert res["agreement"] <= 1e-8


@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_solve_classification_stdout(tmp_path, capsys, loss):
    p = CLASSIFICATION[1]
    data = _npz(tmp_path, X=p.X, y=p.y)
    assert main(["solve", data, "--loss", loss, "--t1", "1e100", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["limit"]["kind"] == "hard_margin_svm"
    w_hat = p.svm_direction
    np.testing.assert_allclose(res["limit"]["w"], w_hat, rtol=1e-6, atol=1e-7)
    # The SVM solution has margin exactly 1.
    assert np.min(p.y * (p.X @ np.array(res["limit"]["w"]))) == pytest.approx(1.0, abs=1e-9)
    assert res["agreement"] <= 1e-4 and res["t1"] == 1e100
    # Diagnostics: the predicted offsets are -log(n a_i) for the SVM dual coefficients a_i,
    # here recovered independently from the JSON's w_hat by non-negative least squares on the
    # support vectors (w_hat = sum_S a_i y_i x_i).
    from scipy.optimize import nnls

    diag = res["diagnostics"]
    S = np.array(diag["support"])
    Z = (p.y[:, None] * p.X)[S]
    a, _ = nnls(Z.T, np.array(res["limit"]["w"]))
    expected = -np.log(len(p.y) * a)
    np.testing.assert_allclose(diag["offsets_predicted"], expected, rtol=1e-6, atol=1e-6)


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error:")
    return err[0]


@pytest.mark.parametrize(
    "make, extra, match",
    [
        (lambda t: str(t / "missing.npz"), [], "does not exist"),
        (lambda t: _npz(t, X=np.eye(3)), [], "no array 'y'"),
        (lambda t: _npz(t, X=np.ones((3, 4)), y=np.ones(2)), [], "`X` has 3 rows but `y` has 2"),
        (
            lambda t: _npz(t, X=np.ones((3, 4)), y=np.ones(3), w0=np.ones(5)),
            [],
            "`X` has 4 columns but the model has dimension d = 5",
        ),
        (lambda t: _npz(t, X=np.array([[1.0, np.nan]]), y=np.ones(1)), [], "`X` contains NaN"),
        (lambda t: _npz(t, X=np.eye(2), y=np.array([1.0, np.inf])), [], "`y` contains NaN"),
        (
            lambda t: _npz(t, X=np.array([[1.0, 0], [1.0, 0]]), y=np.array([1.0, -1.0])),
            ["--loss", "exp"],
            "not linearly separable",
        ),
        (
            lambda t: _npz(t, X=np.array([[1.0, 0], [-1.0, 0]]), y=np.array([1.0, 1.0])),
            ["--loss", "logistic"],
            "not linearly separable",
        ),
        (lambda t: _npz(t, X=np.eye(2), y=np.ones(2)), ["--t1", "0"], "--t1 must be > 0"),
        (lambda t: _npz(t, X=np.eye(2), y=np.ones(2)), ["--t1", "-5"], "--t1 must be > 0"),
        (lambda t: _npz(t, X=np.eye(2), y=np.ones(2)), ["--model", "mlp"], "invalid choice: 'mlp'"),
        (
            lambda t: _npz(t, X=np.eye(2), y=np.ones(2)),
            ["--loss", "hinge"],
            "invalid choice: 'hinge'",
        ),
        (
            lambda t: _npz(t, X=np.eye(2), y=np.array([0.0, 1.0])),
            ["--loss", "exp"],
            "labels \\+1 or -1",
        ),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, capsys, make, extra, match):
    data = make(tmp_path)
    assert main(["solve", data, *extra]) == 2
    line = _error_line(capsys)
    assert pytest.importorskip("re").search(match, line), line


def test_pickled_npz_refused(tmp_path, capsys):
    data = _npz(tmp_path, X=np.array([{"a": 1}], dtype=object), y=np.ones(1))
    assert main(["solve", data]) == 2
    assert "pickle" in _error_line(capsys)


def test_console_script_exit_status_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "flowbias_cli.main", "solve", str(tmp_path / "nope.npz")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_tour_quick_writes_report(tmp_path, capsys):
    out = tmp_path / "tour"
    out.mkdir()
    stale = out / "figure_of_an_earlier_run.png"
    stale.write_bytes(b"")
    os.utime(stale, (0, 0))
    # Every entry, at the quick tour's sizes (the quick tour itself runs a subset of them).
    assert main(["tour", "--quick", "--rows", "all", "--out", str(out), "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["all_passed"] and len(report["checks"]) >= 5
    assert report["jobs"] >= 1 and set(report["timings_s"]) == {
        f"{e.row}: {e.title}" for e in CATALOGUE
    }  # every entry ran, in whichever worker
    assert len(report["figures"]) >= 3 and all((out / f).is_file() for f in report["figures"])
    assert stale.name not in report["figures"]  # only what this run wrote
    assert "L1 limit" in capsys.readouterr().out


def test_solve_diagonal_json(tmp_path):
    from helpers import entropy_split_limit_cvxpy, sparse_regression

    p = sparse_regression(8, 30, 2, 3)
    data = _npz(tmp_path, X=p.X, y=p.y)
    out = tmp_path / "out.json"
    argv = [
        "solve",
        data,
        "--model",
        "diagonal",
        "--alpha",
        "0.1",
        "--loss",
        "square",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    res = json.loads(out.read_text())
    assert res["limit"]["kind"] == "diagonal_potential(depth=2, untied)"
    # Independent reference: the exponential-cone program for depth 2.
    w_cvx = entropy_split_limit_cvxpy(p.X, p.y, np.full(30, 0.1), np.full(30, 0.1))
    assert np.linalg.norm(np.array(res["limit"]["w"]) - w_cvx) <= 1e-6 * np.linalg.norm(w_cvx)
    assert res["agreement"] <= 1e-8


@pytest.mark.parametrize(
    "arrays, extra, match",
    [
        ({}, ["--alpha", "0"], "--alpha must be > 0"),
        ({}, ["--alpha", "-1"], "--alpha must be > 0"),
        ({}, [], "needs --alpha"),
        ({}, ["--alpha", "1", "--depth", "1"], "--depth must be an integer >= 2"),
        ({"u0": np.ones(2), "v0": np.ones(3)}, [], "`v0` has shape"),
        ({}, ["--alpha", "1", "--tied"], "not reachable by the tied model"),
        ({}, ["--alpha", "1", "--loss", "exp"], "not implemented"),
    ],
)
def test_bad_diagonal_input(tmp_path, capsys, arrays, extra, match):
    data = _npz(tmp_path, X=np.eye(2), y=np.array([1.0, -1.0]), **arrays)
    assert main(["solve", data, "--model", "diagonal", *extra]) == 2
    line = _error_line(capsys)
    assert match in line, line


@pytest.mark.parametrize(
    "argv, status",
    [
        (["--help"], 0),
        (["--version"], 0),
        (["solve", "--help"], 0),
        (["solve", "data.npz", "--t1", "-1"], 2),
        (["solve", "missing.npz"], 2),
        (["tour", "--bogus"], 2),
        (["tour", "--jobs", "0"], 2),
        (["tour", "--rows", "Z9"], 2),
    ],
    ids=[
        "help",
        "version",
        "solve-help",
        "bad-t1",
        "missing-file",
        "bad-option",
        "bad-jobs",
        "bad-rows",
    ],
)
def test_help_version_and_argument_errors_answer_without_jax(tmp_path, argv, status):
    # In a fresh interpreter: the command line parses and checks its arguments before the
    # library (and JAX, ~5 s to import) is loaded; only running a command imports them.
    code = (
        "import sys\nfrom flowbias_cli.main import main\ntry:\n    rc = main(sys.argv[1:])\n"
        "except SystemExit as e:\n    rc = e.code\n"
        "print('imported:', sorted(m for m in ('jax', 'flowbias') if m in sys.modules), rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.stdout.strip().splitlines()[-1] == f"imported: [] {status}", proc.stderr
    if status == 2:
        assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_version_is_the_installed_distribution(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"flowbias {version('flowbias')}"


def test_summary_by_default_and_json_on_request(tmp_path, capsys):
    p = REGRESSION[0]
    data = _npz(tmp_path, X=p.X, y=p.y, w0=p.w0)
    out = tmp_path / "out.json"
    assert main(["solve", data, "--json", str(out)]) == 0
    captured = capsys.readouterr()
    res = json.loads(out.read_text())
    # The summary states what ran and the numbers of the JSON, in a few lines.
    lines = captured.out.strip().splitlines()
    assert lines[0] == (
        f"flowbias solve: linear model, square loss, n x d = {p.X.shape[0]} x "
        f"{p.X.shape[1]}, t1 = {res['t1']:.3g}"
    )
    assert f"agreement  {res['agreement']:.3g} (relative error)" in captured.out
    assert f"{res['num_steps']} in" in captured.out and "result     success" in captured.out
    assert captured.err.strip() == f"result written to {out}"
    assert res["wall_s"] > 0


def _stderr_through_terminal(argv: list[str], cwd) -> tuple[int, str]:
    """Run the console entry point in a fresh interpreter with stderr on a pseudo-terminal (as
    in a shell), stdout captured; return the exit status and what the terminal showed."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    # A terminal 100 columns wide (a new pty has width 0, on which tqdm draws nothing).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(
        [sys.executable, "-m", "flowbias_cli.main", *argv],
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=cwd,
    )
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_progress_meter_on_a_terminal_and_quiet_silences_it(tmp_path):
    # A separable solve to t = 1e100 takes thousands of steps: the terminal shows diffrax's tqdm
    # meter (a percentage bar over the integration interval); --quiet shows nothing.
    p = CLASSIFICATION[0]
    data = _npz(tmp_path, X=p.X, y=p.y)
    argv = ["solve", data, "--loss", "exp", "--t1", "1e100"]
    rc, shown = _stderr_through_terminal(argv, tmp_path)
    assert rc == 0, shown
    assert "100.00%" in shown and "|" in shown, shown
    rc, shown = _stderr_through_terminal([*argv, "--quiet"], tmp_path)
    assert rc == 0 and "%" not in shown, shown


def test_solve_mirror_flow_from_a_formula(tmp_path, capsys):
    from helpers import bregman_pnorm_cvxpy

    p = REGRESSION[0]
    data = _npz(tmp_path, X=p.X, y=p.y, w0=p.w0)
    out = tmp_path / "out.json"
    argv = ["solve", data, "--potential", "abs(w)**1.5/1.5", "--json", str(out)]
    assert main(argv) == 0
    res = json.loads(out.read_text())
    assert res["limit"]["kind"].startswith("bregman_projection") and res["agreement"] < 1e-8
    ref = bregman_pnorm_cvxpy(p.X, p.y, p.w0, 1.5)  # independent of the library
    assert np.linalg.norm(np.array(res["w"]) - ref) < 1e-7 * np.linalg.norm(ref)
    assert "mirror flow" in res["flow"]
    capsys.readouterr()
    # A formula that is code is refused, naming the option, before anything runs.
    assert main(["solve", data, "--potential", "__import__('os').getcwd()"]) == 2
    assert "--potential: cannot read the potential" in _error_line(capsys)


def test_solve_steepest_descent_on_least_squares_reports_no_limit(tmp_path):
    p = REGRESSION[0]
    data = _npz(tmp_path, X=p.X, y=p.y, w0=p.w0)
    out = tmp_path / "out.json"
    assert main(["solve", data, "--steepest", "3", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["limit"]["kind"].startswith("none predicted") and res["agreement"] is None
    assert np.linalg.norm(p.X @ np.array(res["w"]) - p.y) < 1e-8 * np.linalg.norm(p.y)


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--potential", "cosh(w)", "--steepest", "3"], "two different flows"),
        (["--domain", "positive"], "--domain applies to --potential only"),
        (["--steepest", "1"], "--steepest must be a finite P > 1"),
        (["--model", "diagonal", "--potential", "cosh(w)"], "applies to --model linear only"),
    ],
)
def test_geometry_argument_errors(tmp_path, capsys, extra, match):
    data = _npz(tmp_path, X=np.ones((3, 4)), y=np.ones(3))
    assert main(["solve", data, *extra]) == 2
    assert match in _error_line(capsys)
