"""`flowbias solve --model factorized`: the JSON contract on completion and sensing data, and
one-line errors (exit 2) for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import RAZIN_COHEN_MIN_NUCLEAR, razin_cohen

from flowbias_cli.main import main


def _npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def _completion(tmp_path, p=None, **over):
    p = razin_cohen() if p is None else p
    arrays = dict(shape=np.array(p.shape), rows=p.rows, cols=p.cols, values=p.y)
    arrays.update(over)
    return _npz(tmp_path, **arrays)


def test_completion_json_contract(tmp_path):
    out = tmp_path / "out.json"
    data = _completion(tmp_path)
    assert (
        main(
            [
                "solve",
                data,
                "--model",
                "factorized",
                "--depth",
                "3",
                "--alpha",
                "0.1",
                "--t1",
                "100",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())
    for key in (
        "W",
        "t1",
        "loss",
        "num_steps",
        "singular_values",
        "nuclear_norm",
        "effective_rank",
        "limit",
        "success",
    ):
        assert key in res
    W = np.array(res["W"])
    assert W.shape == (2, 2) and res["t1"] == 100.0 and res["success"]
    # The spectral keys, recomputed from W with NumPy.
    s = np.linalg.svd(W, compute_uv=False)
    np.testing.assert_allclose(res["singular_values"], s, rtol=1e-12)
    assert res["nuclear_norm"] == pytest.approx(s.sum(), rel=1e-12)
    p = s / s.sum()
    assert res["effective_rank"] == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-10)
    # The limit: the closed-form min-nuclear-norm completion, and its distance from W.
    lim = res["limit"]
    assert lim["kind"] == "min_nuclear_norm"
    np.testing.assert_allclose(lim["W"], RAZIN_COHEN_MIN_NUCLEAR, atol=1e-8)
    assert lim["agreement"] == pytest.approx(
        np.linalg.norm(W - RAZIN_COHEN_MIN_NUCLEAR) / np.sqrt(2.0), rel=1e-6
    )
    # The observed entries are fitted (loss small at t = 100 from alpha = 0.1).
    assert abs(W[0, 1] - 1) < 0.05 and abs(W[1, 0] - 1) < 0.05 and abs(W[1, 1]) < 0.2


def test_sensing_json(tmp_path, capsys):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3, 3))
    W_star = np.outer([1.0, 2.0, 0.0], [1.0, 0.0, 1.0])
    data = _npz(tmp_path, A=A, y=np.einsum("kij,ij->k", A, W_star))
    assert (
        main(
            [
                "solve",
                data,
                "--model",
                "factorized",
                "--init",
                "gaussian",
                "--seed",
                "1",
                "--t1",
                "100",
                "--json",
                "-",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["problem"]["data"] == "sensing" and res["problem"]["init"] == "gaussian"
    np.testing.assert_allclose(
        np.einsum("kij,ij->k", A, np.array(res["W"])), np.einsum("kij,ij->k", A, W_star), atol=1e-3
    )


@pytest.mark.parametrize(
    "over, extra, match",
    [
        (dict(rows=np.array([0, 2, 1])), [], "`rows` holds index 2"),
        (
            dict(
                rows=np.array([0, 0, 1]), cols=np.array([1, 1, 1]), values=np.array([1.0, 2.0, 0.0])
            ),
            [],
            "observed twice with different values",
        ),
        (dict(shape=np.array([2, 2, 2])), [], "'shape' must hold two sizes"),
        (dict(values=np.array([1.0, 1.0])), [], "3 measurements but `y` has 2"),
        ({}, ["--alpha", "0"], "--alpha must be > 0"),
        ({}, ["--depth", "0"], "--depth must be an integer >= 1"),
        ({}, ["--symmetric", "--depth", "3"], "even --depth"),
        ({}, ["--loss", "logistic"], "square loss"),
        ({}, ["--flow", "primal"], "--flow applies to --model diagonal only"),
        ({}, ["--seed", "2"], "--seed applies to --init gaussian only"),
    ],
)
def test_bad_factorized_input_is_one_error_line(tmp_path, capsys, over, extra, match):
    data = _completion(tmp_path, **over)
    assert main(["solve", data, "--model", "factorized", "--t1", "1", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and match in err[0], err


def test_factorized_options_need_the_factorized_model(tmp_path, capsys):
    data = _npz(tmp_path, X=np.eye(3), y=np.ones(3))
    assert main(["solve", data, "--init", "gaussian"]) == 2
    assert "--init applies to --model factorized only" in capsys.readouterr().err
    assert main(["solve", data, "--model", "factorized"]) == 2
    assert "reads either matrix completion" in capsys.readouterr().err
