"""Sweeps sharded over devices give the unsharded results.

Four CPU devices are simulated with XLA_FLAGS=--xla_force_host_platform_device_count=4, which
must be set before JAX starts, so the sharded runs happen in a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import flowbias as fb


SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, numpy as np
    import flowbias as fb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 30))
    w = np.zeros(30)
    w[:2] = [1.0, -0.5]
    y = X @ w
    alphas = np.logspace(-2, 0, 6)  # padded to 8 over 4 devices
    out = {"devices": jax.device_count()}
    for name, flow in [("dual", fb.DualFlow()), ("primal", fb.GradientFlow())]:
        kw = dict(flow=flow, num_save=4)
        sharded = fb.alpha_sweep(alphas, X, y, **kw)
        whole = fb.alpha_sweep(alphas, X, y, shard=False, **kw)
        # each device's block (two runs) solved alone, unsharded, on one device
        blocks = [fb.alpha_sweep(alphas[k:k + 2], X, y, shard=False, **kw).w
                  for k in (0, 2, 4)]
        out[name] = {
            "sharded_devices": len(sharded.w.sharding.device_set),
            "shape": list(sharded.w.shape),
            "success": bool(np.all(sharded.success)),
            "max_diff_blocks": float(np.max(np.abs(np.asarray(sharded.w)
                                                   - np.concatenate(blocks)))),
            "max_rel_diff_whole": float(np.max(np.abs(np.asarray(sharded.w) - whole.w))
                                        / np.max(np.abs(whole.w))),
            "limits": [float(fb.relative_error(sharded.w_final[i],
                                               fb.mirror_limit(
                                                   fb.DiagonalNetwork.uniform(a, 30), X, y)))
                       for i, a in enumerate(alphas)],
        }
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def sharded_results():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("flow", ["dual", "primal"])
def test_sharded_sweep_matches_unsharded(sharded_results, flow):
    r = sharded_results[flow]
    assert sharded_results["devices"] == 4
    assert r["sharded_devices"] == 4 and r["shape"][0] == 6 and r["success"]
    # Sharding changes nothing: every device's block is bit-for-bit the unsharded solve of
    # that block.
    assert r["max_diff_blocks"] == 0.0
    # Against one unsharded sweep of all six runs the batch size differs, so batched products
    # round differently and adaptive steps can differ: agreement to the solver tolerance.
    assert r["max_rel_diff_whole"] <= 1e-8
    # And every run reaches its independent reference, argmin Q_alpha.
    assert max(r["limits"]) <= 1e-7


def test_sweep_mesh_choices():
    assert fb.sweep_mesh(False) is None
    if jax.device_count() == 1:
        assert fb.sweep_mesh(None) is None
    mesh = fb.sweep_mesh(True)
    assert mesh.axis_names == ("runs",) and mesh.size == jax.device_count()
    two_axes = jax.sharding.Mesh(np.asarray(jax.devices()).reshape(1, -1), ("a", "b"))
    with pytest.raises(ValueError, match="one-axis Mesh"):
        fb.sweep_mesh(two_axes)
    with pytest.raises(TypeError, match="`shard` must be"):
        fb.sweep_mesh("all")
