"""ExactLinearSolver: the closed-form path of linear least squares, against diffrax's Dopri8
at rtol 1e-13 along the whole path and against the textbook limit (tests/helpers)."""

from __future__ import annotations

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import REGRESSION

import flowbias as fb


def _rel_path(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)))


@pytest.mark.parametrize("p", REGRESSION, ids=lambda p: p.name)
def test_exact_path_matches_dopri8_and_the_limit(p):
    model = fb.LinearModel(p.w0)
    ts = np.geomspace(1e-3, 1e3, 25)
    exact = fb.flowsolve(
        model, fb.SquareLoss(), p.X, p.y, ts=ts, solver=fb.ExactLinearSolver(), stop_ratio=False
    )
    ref = fb.flowsolve(
        model,
        fb.SquareLoss(),
        p.X,
        p.y,
        ts=ts,
        solver=dfx.Dopri8(),
        rtol=1e-13,
        atol=1e-14,
        stop_ratio=False,
    )
    assert _rel_path(exact.w, ref.w) <= 1e-10
    assert int(exact.num_steps) == 0 and bool(exact.success)
    far = fb.flowsolve(
        model,
        fb.SquareLoss(),
        p.X,
        p.y,
        log_t1=1000.0,  # t = e^1000
        solver=fb.ExactLinearSolver(),
    )
    lim = p.min_norm_limit
    assert np.linalg.norm(np.asarray(far.w_final) - lim) <= 1e-12 * np.linalg.norm(lim)
    np.testing.assert_allclose(np.asarray(far.w[0]), p.w0, rtol=0, atol=0)  # t = 0


def test_defaulted_horizon_claims_convergence_and_is_checked():
    p = REGRESSION[0]
    sol = fb.flowsolve(
        fb.LinearModel(p.w0), fb.SquareLoss(), p.X, p.y, solver=fb.ExactLinearSolver()
    )
    assert bool(sol.success)
    short = fb.flowsolve(
        fb.LinearModel(p.w0),
        fb.SquareLoss(),
        p.X,
        p.y,
        1e-3,
        solver=fb.ExactLinearSolver(),
        require_convergence=True,
        throw=False,
    )
    assert bool(short.result == fb.RESULTS.not_converged)


def test_ill_conditioned_data_are_flagged():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    V, _ = np.linalg.qr(rng.normal(size=(8, 4)))
    X = U @ np.diag([1.0, 1e-3, 1e-6, 1e-9]) @ V.T  # cond 1e9: eps cond ~ 2e-7
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(8)),
        fb.SquareLoss(),
        X,
        rng.normal(size=4),
        1.0,
        solver=fb.ExactLinearSolver(),
        throw=False,
    )
    assert bool(sol.result == fb.RESULTS.ill_conditioned)
    assert float(sol.error_estimate) == pytest.approx(np.finfo(float).eps * 1e9, rel=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(model=fb.DiagonalNetwork.uniform(1.0, 3)), "ExactLinearSolver solves"),
        (dict(loss=fb.ExponentialLoss()), "ExactLinearSolver solves"),
        (dict(flow=fb.DualFlow()), "ExactLinearSolver solves"),
        (dict(stepsize_controller=dfx.ConstantStepSize()), "takes no steps"),
    ],
)
def test_other_problems_are_refused(kwargs, match):
    args = dict(model=fb.LinearModel(np.zeros(3)), loss=fb.SquareLoss())
    args.update({k: v for k, v in kwargs.items() if k in args})
    extra = {k: v for k, v in kwargs.items() if k not in args}
    y = np.array([1.0, -1.0])
    with pytest.raises((TypeError, ValueError), match=match):
        fb.flowsolve(
            args["model"],
            args["loss"],
            np.eye(2, 3),
            y,
            1.0,
            solver=fb.ExactLinearSolver(),
            **extra,
        )


def test_vmaps_and_compiles_once():
    import equinox as eqx

    from flowbias.solve import _exact_path

    p = REGRESSION[0]
    run = lambda w0: (
        fb.flowsolve(  # noqa: E731
            fb.LinearModel(w0), fb.SquareLoss(), p.X, p.y, 5.0, solver=fb.ExactLinearSolver()
        ).w_final
    )
    W0 = np.random.default_rng(1).normal(size=(3, p.w0.size))
    batched = np.asarray(jax.vmap(run)(jnp.asarray(W0)))
    for k in range(3):
        np.testing.assert_allclose(batched[k], np.asarray(run(jnp.asarray(W0[k]))), rtol=1e-13)
    traces = eqx.debug.get_num_traces(_exact_path)
    fb.flowsolve(
        fb.LinearModel(p.w0), fb.SquareLoss(), 2 * p.X, p.y, 7.0, solver=fb.ExactLinearSolver()
    )
    assert eqx.debug.get_num_traces(_exact_path) == traces
