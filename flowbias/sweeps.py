"""Batched runs: one flow per value of a parameter (alpha, an initialisation, a seed), vmapped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, ArrayLike, Float

from ._validation import as_float_array
from .losses import AbstractLoss, SquareLoss
from .models import AbstractModel, DiagonalNetwork
from .solution import FlowSolution
from .solve import default_t1, flowsolve


def flowsweep(
    make_model: Callable[[Any], AbstractModel],
    values: Any,
    loss: AbstractLoss,
    X: ArrayLike,
    y: ArrayLike,
    t1: ArrayLike | None = None,
    *,
    shard: bool | Mesh | None = None,
    **flowsolve_kwargs,
) -> FlowSolution:
    """Solve one flow per entry of `values` (a pytree of arrays with a leading batch axis),
    vmapped in one compiled program.

    `make_model(value)` builds the model for one entry. Runs never raise: each run's failure is
    flagged in `solution.success` (one per run) and all results are kept. `t1` may be a scalar
    or one horizon per run (default: [`default_t1`][flowbias.default_t1] of each run's model).
    The data are validated once, outside the vmap. Pass the same `make_model` object on every
    call (not a fresh lambda) so that repeated sweeps reuse the compiled program.

    `shard` spreads the runs over devices: `None` (default) shards over all visible devices
    when there is more than one, `True` always does (also on one device), `False` never, and
    a one-axis `jax.sharding.Mesh` picks the devices. Each device integrates its own block of
    runs independently (the vmapped solve dispatched to each device, data replicated), so a
    device never waits for another's slow runs until the end. The number of runs is padded to
    a multiple of the device count and the padding dropped. See the docs page on sweeps
    across devices for several GPUs or hosts.

    ```python
    import numpy as np
    import flowbias as fb

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 30)), rng.normal(size=5)
    W0 = rng.normal(size=(4, 30))
    sols = fb.flowsweep(fb.LinearModel, W0, fb.SquareLoss(), X, y, 100.0)
    print(sols.w_final.shape, sols.success)
    ```
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    leaves = jax.tree.leaves(values)
    if not leaves:
        raise ValueError("`values` is empty. Fix: pass an array with one entry per run.")
    num = jnp.shape(leaves[0])[0]
    if t1 is None:
        t1 = [default_t1(make_model(_entry(values, i)), loss, X) for i in range(num)]
    t1 = jnp.broadcast_to(as_float_array(np.asarray(t1, dtype=np.float64), "t1"), (num,))
    if not bool(jnp.all(t1 > 0)):
        raise ValueError("`t1` must be > 0 for every run.")
    flowsolve_kwargs["throw"] = False
    mesh = sweep_mesh(shard)
    if mesh is None:
        return _sweep(make_model, values, loss, X, y, t1, flowsolve_kwargs, None)
    pad = -num % mesh.size
    if pad:
        values, t1 = jax.tree.map(lambda v: _pad(v, pad), (values, t1))
    sols = _sweep(make_model, values, loss, X, y, t1, flowsolve_kwargs, mesh)
    return jax.tree.map(lambda v: v[:num], sols) if pad else sols


def sweep_mesh(shard: bool | Mesh | None = None) -> Mesh | None:
    """The device mesh a sweep runs on (see `shard` in [`flowsweep`][flowbias.flowsweep]):
    a one-axis mesh named `"runs"`, or None for an unsharded sweep."""
    if isinstance(shard, Mesh):
        if len(shard.axis_names) != 1:
            raise ValueError(f"`shard` must be a one-axis Mesh; got axes {shard.axis_names}. "
                             "Fix: jax.make_mesh((num_devices,), ('runs',)).")
        return shard
    if shard is not None and not isinstance(shard, bool):
        raise TypeError(f"`shard` must be None, True, False or a jax.sharding.Mesh; got "
                        f"{type(shard).__name__}. Fix: e.g. shard=False for one device.")
    if shard is False or (shard is None and jax.device_count() == 1):
        return None
    return Mesh(np.asarray(jax.devices()), ("runs",))


def _pad(v, pad: int):
    return jnp.concatenate([v, jnp.repeat(v[-1:], pad, axis=0)])


def _entry(values, i: int):
    return jax.tree.map(lambda v: v[i], values)


def _sweep(make_model, values, loss, X, y, t1, kwargs, mesh):
    if mesh is None:
        return _vmapped_sweep(make_model, values, loss, X, y, t1, kwargs)
    # One block of runs per device, each dispatched asynchronously to its device with the data
    # replicated there, so the devices integrate concurrently and never wait for each other.
    # (A shard_map of the vmapped solve would be the one-program way, but lineax's linear
    # solves inside implicit solvers fail under shard_map: patrick-kidger/lineax#185.)
    devices = list(mesh.devices.flat)
    num = t1.shape[0] // len(devices)
    blocks = []
    for k, device in enumerate(devices):
        if not device.process_index == jax.process_index():
            continue
        block = jax.tree.map(lambda v, k=k: v[k * num:(k + 1) * num], (values, t1))
        (v_k, t1_k), X_k, y_k = jax.device_put((block, X, y), device)
        blocks.append(_vmapped_sweep(make_model, v_k, loss, X_k, y_k, t1_k, kwargs))
    runs = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))

    def assemble(*shards):
        shape = (num * len(devices),) + shards[0].shape[1:]
        return jax.make_array_from_single_device_arrays(shape, runs, list(shards))

    return jax.tree.map(assemble, *blocks)


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces; tests pin one per shape
def _vmapped_sweep(make_model, values, loss, X, y, t1, kwargs):
    def one(value, t1_, X, y):
        return flowsolve(make_model(value), loss, X, y, t1_, **kwargs)

    return jax.vmap(one, in_axes=(0, 0, None, None))(values, t1, X, y)


def alpha_sweep(
    alphas: ArrayLike,
    X: ArrayLike,
    y: ArrayLike,
    t1: ArrayLike | None = None,
    *,
    depth: int = 2,
    tied: bool = False,
    loss: AbstractLoss | None = None,
    **flowsolve_kwargs,
) -> FlowSolution:
    r"""Diagonal networks at initial scales `alphas` ($u(0) = v(0) = \alpha\mathbf 1$), one
    vmapped solve; see [`flowsweep`][flowbias.flowsweep]. Pass `flow=fb.DualFlow()` for the
    fast n-dimensional path.
    """
    alphas = as_float_array(alphas, "alphas", ndim=1)
    if not bool(jnp.all(alphas > 0)):
        bad = float(alphas[jnp.argmin(alphas)])
        raise ValueError(f"`alphas` must all be > 0; got {bad!r}. Fix: use e.g. "
                         "np.logspace(-4, 2, 13).")
    X = as_float_array(X, "X", ndim=2)
    d = X.shape[1]
    DiagonalNetwork.uniform(1.0, d, depth=depth, tied=tied)  # validates depth before the vmap
    loss = SquareLoss() if loss is None else loss

    make = _UniformDiagonal(d, depth, tied)
    return flowsweep(make, alphas, loss, X, y, t1, **flowsolve_kwargs)


class _UniformDiagonal(eqx.Module):
    """alpha -> DiagonalNetwork.uniform(alpha, ...), compared by value: sweeps with the same
    (d, depth, tied) reuse one compiled program."""

    d: int = eqx.field(static=True)
    depth: int = eqx.field(static=True)
    tied: bool = eqx.field(static=True)

    def __call__(self, alpha):
        return DiagonalNetwork.uniform(alpha, self.d, depth=self.depth, tied=self.tied)


def sweep_limits(
    sols: FlowSolution,
) -> Float[Array, "runs d"]:
    """The final predictors of a sweep, one row per run (NaN rows for failed runs)."""
    w = sols.w_final
    return jnp.where(sols.success[:, None], w, jnp.nan)
