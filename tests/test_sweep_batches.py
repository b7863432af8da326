"""Sweeps in batches (issue 11 item 4): runs of similar cost share a batch, the batches run one
after another in one compiled program, and the results come back in the caller's order."""

import numpy as np
import pytest

import flowbias as fb


RNG = np.random.default_rng(3)
X = RNG.normal(size=(6, 30))
Y = X @ np.r_[1.0, -0.5, np.zeros(28)]
ALPHAS = np.array([1.0, 1e-2, 0.3, 3e-2, 0.1, 0.05])  # unsorted on purpose; 2 batches of 3


@pytest.fixture(scope="module")
def batched():
    return fb.alpha_sweep(ALPHAS, X, Y, flow=fb.DualFlow(), num_save=3, batch_size=3, shard=False)


def test_batched_sweep_matches_the_references_in_the_callers_order(batched):
    assert bool(np.all(batched.success))
    for i, alpha in enumerate(ALPHAS):
        ref = fb.mirror_limit(fb.DiagonalNetwork.uniform(alpha, 30), X, Y)
        assert float(fb.relative_error(batched.w_final[i], ref)) <= 1e-7
    # Each run's own step count sits at its own position: smaller alpha, more steps.
    steps = np.asarray(batched.num_steps)
    assert np.all(np.diff(steps[np.argsort(ALPHAS)[::-1]]) >= 0), steps


def test_another_batched_sweep_of_the_same_shape_compiles_nothing(batched):
    from equinox.debug import get_num_traces

    import flowbias.sweeps as sweeps

    before = get_num_traces(sweeps._vmapped_sweep)
    again = fb.alpha_sweep(
        ALPHAS * 1.1, X, Y, flow=fb.DualFlow(), num_save=3, batch_size=3, shard=False
    )
    assert get_num_traces(sweeps._vmapped_sweep) == before and bool(np.all(again.success))


def test_batch_arguments_are_checked():
    with pytest.raises(ValueError, match="`batch_size`"):
        fb.alpha_sweep(ALPHAS, X, Y, flow=fb.DualFlow(), batch_size=0, shard=False)
    with pytest.raises(ValueError, match="permutation"):
        fb.flowsweep(fb.LinearModel, np.zeros((3, 30)), fb.SquareLoss(), X, Y, 1.0, order=[0, 0, 1])
