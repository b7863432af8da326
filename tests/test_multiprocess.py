"""The multi-process path of a sweep (issue 11 item 7): two CPU processes on this machine, joined
by `jax.distributed.initialize` with the gloo CPU collectives, each owning two simulated devices
and so half of the runs; the gathered result must equal the one-process sweep to the solver's
tolerance, and every run its independent reference (least squares from six starts: the
interpolator nearest each start)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import flowbias as fb


WORKER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    pid, port = int(sys.argv[1]), sys.argv[2]
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=pid
    )
    import numpy as np
    import flowbias as fb
    from jax.experimental import multihost_utils

    rng = np.random.default_rng(0)  # the same data and starts in every process
    X, y = rng.normal(size=(6, 30)), rng.normal(size=6)
    W0 = rng.normal(size=(6, 30))  # six runs, padded to 8 over the 4 devices of 2 processes
    sols = fb.flowsweep(fb.LinearModel, W0, fb.SquareLoss(), X, y, num_save=4)
    gather = lambda a: np.asarray(multihost_utils.process_allgather(a, tiled=True)).tolist()
    print(json.dumps({
        "process": jax.process_index(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "mesh_processes": sorted({d.process_index for d in fb.sweep_mesh(True).devices.flat}),
        "w_final": gather(sols.w_final),
        "success": gather(sols.success),
    }))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(pid), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for pid in (0, 1)
    ]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


def test_two_process_sweep_equals_the_one_process_sweep(two_processes):
    a, b = two_processes
    assert {a["process"], b["process"]} == {0, 1}
    assert a["devices"] == 4 and a["local_devices"] == 2 and a["mesh_processes"] == [0, 1]
    # Every process ends with every run.
    assert a["w_final"] == b["w_final"] and all(a["success"])
    w = np.asarray(a["w_final"])
    assert w.shape == (6, 30)
    # The same sweep in this one process, unsharded: equal to the solver's tolerance (batches
    # of two runs round differently from one batch of six; see test_sharding).
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 30)), rng.normal(size=6)
    W0 = rng.normal(size=(6, 30))
    one = fb.flowsweep(fb.LinearModel, W0, fb.SquareLoss(), X, y, num_save=4, shard=False)
    assert np.max(np.abs(w - np.asarray(one.w_final))) <= 1e-8 * np.max(np.abs(one.w_final))
    # And each run its independent reference, the interpolator nearest its start (NumPy).
    for i in range(6):
        ref = W0[i] + np.linalg.pinv(X) @ (y - X @ W0[i])
        assert np.linalg.norm(w[i] - ref) <= 1e-8 * np.linalg.norm(ref)
