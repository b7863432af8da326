"""`flowbias solve --model deep-linear|two-layer`: the JSON contract (checked against a cvxpy
SVM and margins recomputed here from the saved parameters), and one-line errors (exit 2),
argument errors before JAX is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import random_separable

from flowbias import problems
from flowbias_cli.main import main


SEP = random_separable(12, 3, 3)


def _npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_deep_linear_json_contract(tmp_path):
    data = _npz(tmp_path, X=SEP.X, y=SEP.y)
    out = tmp_path / "out.json"
    argv = ["solve", data, "--model", "deep-linear", "--loss", "exp", "--depth", "3"]
    assert main([*argv, "--width", "4", "--t1", "1e100", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    Ws = [np.array(W) for W in res["params"]]
    assert [W.shape for W in Ws] == [(4, 3), (4, 4), (1, 4)]
    w = (Ws[2] @ Ws[1] @ Ws[0])[0]
    np.testing.assert_allclose(res["w"], w, rtol=1e-12)
    svm = SEP.svm_direction  # cvxpy, in tests/helpers.py
    cos = w @ svm / (np.linalg.norm(w) * np.linalg.norm(svm))
    assert 1 - cos <= 1e-4 and res["limit"]["kind"] == "hard_margin_svm"
    assert res["limit"]["agreement"] <= 1e-4
    theta = np.concatenate([W.ravel() for W in Ws])
    gamma = np.min(SEP.y * (SEP.X @ w)) / np.linalg.norm(theta) ** 3
    assert res["normalized_margin"] == pytest.approx(gamma, rel=1e-10)
    assert res["smoothed_margin"] <= res["normalized_margin"]
    assert set(res["kkt"]) == {"stationarity", "complementarity", "feasibility", "multipliers"}
    assert res["kkt"]["feasibility"] == 0.0 and len(res["kkt"]["multipliers"]) == 12
    assert res["success"] and res["problem"]["degree"] == 3


def test_two_layer_summary_and_json(tmp_path, capsys):
    data = _npz(tmp_path, X=SEP.X, y=SEP.y)
    argv = ["solve", data, "--model", "two-layer", "--loss", "logistic", "--width", "30"]
    assert main([*argv, "--activation", "relu^2", "--t1", "1e30", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    W, a = (np.array(p) for p in res["params"])
    assert W.shape == (30, 3) and a.shape == (30,)
    f = np.maximum(SEP.X @ W.T, 0) ** 2 @ a
    theta = np.concatenate([W.ravel(), a])
    gamma = np.min(SEP.y * f) / np.linalg.norm(theta) ** 3
    assert res["normalized_margin"] == pytest.approx(gamma, rel=1e-10)
    assert res["limit"]["kind"] == "max_margin_kkt" and res["problem"]["activation"] == "relu^2"
    assert 0 < res["kkt"]["stationarity"] < 1
    assert main([*argv, "--activation", "relu^2", "--t1", "1e30"]) == 0
    text = capsys.readouterr().out
    assert "margins" in text and "KKT" in text and "max_margin_kkt" in text


def test_rounded_kink_on_symmetric_data_gives_the_svm(tmp_path, capsys):
    P = random_separable(20, 4, 0)
    data = _npz(tmp_path, X=np.vstack([P.X, -P.X]), y=np.concatenate([P.y, -P.y]))
    argv = ["solve", data, "--model", "two-layer", "--loss", "exp", "--width", "6"]
    argv += ["--activation", "leaky:0.2", "--kink-width", "1e-3", "--alpha", "0.3", "--seed", "2"]
    assert main([*argv, "--t1", "1e100", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    W, a = (np.array(p) for p in res["params"])
    u, v = a @ W, P.svm_direction
    assert 1 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v)) <= 1e-4
    assert res["problem"]["kink_width"] == 1e-3


def test_a_kink_failure_says_why_and_keeps_the_result(tmp_path, capsys):
    data = _npz(tmp_path, X=SEP.X, y=SEP.y)
    out = tmp_path / "out.json"
    argv = ["solve", data, "--model", "two-layer", "--loss", "exp", "--width", "8"]
    argv += ["--activation", "leaky:0.3", "--t1", "1e30", "--max-steps", "2000"]
    assert main([*argv, "--solver", "explicit", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the line saying where the JSON went
    assert last.startswith("error:") and "kink" in last and "--max-steps" not in last
    res = json.loads(out.read_text())
    assert res["success"] is False and "kink" in res["message"]


def test_non_separable_data_are_refused(tmp_path, capsys):
    X, y = problems.partly_separable(8, 6, 4, 0)
    data = _npz(tmp_path, X=X, y=y)
    assert main(["solve", data, "--model", "deep-linear", "--loss", "exp"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not linearly separable" in err


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--model", "two-layer", "--loss", "exp", "--width", "3", "--activation", "tanh"], "tanh"),
        (["--model", "two-layer", "--loss", "exp"], "--width"),
        (["--model", "two-layer", "--loss", "exp", "--width", "0"], "--width"),
        (["--model", "deep-linear"], "--loss exp"),
        (["--model", "deep-linear", "--loss", "exp", "--activation", "relu"], "--activation"),
        (["--model", "linear", "--width", "3"], "--width"),
        (["--model", "two-layer", "--loss", "exp", "--width", "3", "--depth", "2"], "--depth"),
        (
            ["--model", "two-layer", "--loss", "exp", "--width", "3", "--activation", "leaky:2"],
            "0 <= S < 1",
        ),
    ],
    ids=[
        "tanh",
        "no-width",
        "width-0",
        "square-loss",
        "activation-deep",
        "width-linear",
        "depth-two-layer",
        "slope-2",
    ],
)
def test_argument_errors_answer_without_jax(tmp_path, extra, words):
    code = (
        "import sys\nfrom flowbias_cli.main import main\nrc = main(sys.argv[1:])\n"
        "print('imported:', sorted(m for m in ('jax', 'flowbias') if m in sys.modules), rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "solve", "data.npz", *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout.strip().splitlines()[-1] == "imported: [] 2", proc.stderr
    assert proc.stderr.startswith("error:") and words in proc.stderr
