"""The guard against diffrax 0.7.2's final-step rejection loop (issue 11 item 6)."""

from __future__ import annotations

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowbias.end_guard import diffeqsolve_to


T1 = 1.0
A = 1e12


def _jump_field(t, y, args):
    # A jump of height A at t_star, a few ULP before t1: a step across it is accepted only
    # when it overshoots t_star by less than ~1 ULP, so steps there are rejected repeatedly.
    return jnp.where(t > args, A, 0.0) * jnp.ones_like(y)


def _controller():
    return dfx.PIDController(rtol=1e-6, atol=1e-6)


@jax.jit
def _plain(t_star):
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_jump_field),
        dfx.Tsit5(),
        0.0,
        T1,
        0.01,
        jnp.zeros(1),
        args=t_star,
        stepsize_controller=_controller(),
        max_steps=3000,
        throw=False,
    )
    return sol.result == dfx.RESULTS.max_steps_reached, sol.stats["num_rejected_steps"]


@jax.jit
def _guarded(t_star):
    controller = dfx.ClipStepSizeController(_controller(), step_ts=jnp.array([T1]))
    sol = diffeqsolve_to(
        dfx.ODETerm(_jump_field),
        dfx.Tsit5(),
        0.0,
        T1,
        0.01,
        jnp.zeros(1),
        args=t_star,
        stepsize_controller=controller,
        saveat=dfx.SaveAt(ts=jnp.array([T1])),
        max_steps=3000,
        throw=False,
    )
    return sol.result == dfx.RESULTS.event_occurred, sol.ys[0, 0], sol.stats["num_steps"]


@pytest.mark.parametrize("ulps", [5, 50, 95])
def test_guard_finishes_where_diffrax_loops_on_its_last_step(ulps):
    t_star = T1
    for _ in range(ulps):
        t_star = np.nextafter(t_star, 0.0)
    stuck, rejected = _plain(t_star)
    # Without the guard: the midpoint step inside the 100-ULP window is retried until
    # max_steps (measured: 2851 of 3000 steps rejected).
    assert bool(stuck) and int(rejected) > 2500
    done, y_end, steps = _guarded(t_star)
    assert bool(done) and int(steps) < 1000  # measured ~300
    # The exact value A (t1 - t_star), to the resolution of crossing the jump: one ULP of t.
    assert abs(float(y_end) - A * (T1 - t_star)) <= A * np.spacing(T1)


def test_guard_ends_exactly_at_t1_on_a_smooth_flow():
    controller = dfx.ClipStepSizeController(
        dfx.PIDController(rtol=1e-12, atol=1e-14), step_ts=jnp.array([T1])
    )
    sol = diffeqsolve_to(
        dfx.ODETerm(lambda t, y, args: -y),
        dfx.Tsit5(),
        0.0,
        T1,
        None,
        jnp.ones(1),
        stepsize_controller=controller,
        saveat=dfx.SaveAt(ts=jnp.array([0.5, T1]), t1=True),
    )
    assert float(sol.ts[-1]) == T1  # stopped at t1, not at the extended end
    np.testing.assert_allclose(sol.ys[:2, 0], np.exp([-0.5, -1.0]), rtol=1e-10)
