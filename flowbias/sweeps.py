"""Batched runs: one flow per value of a parameter (alpha, an initialisation, a seed), vmapped."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import ArrayLike

from ._validation import as_float_array, check_int
from .data import validate_data
from .losses import AbstractLoss, SquareLoss
from .models import AbstractModel, DiagonalNetwork
from .results import RESULTS
from .solution import FlowProblem, FlowSolution
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
    batch_size: int | None = None,
    order: ArrayLike | None = None,
    **flowsolve_kwargs,
) -> FlowSolution:
    """Solve one flow per entry of `values` (a pytree of arrays with a leading batch axis),
    vmapped in one compiled program.

    `make_model(value)` builds the model for one entry. Runs never raise: each run's failure is
    flagged in `solution.result` / `solution.success` (one per run) and all results are kept.
    An entry for which `make_model` (or the default horizon) refuses the value, e.g. an alpha
    that is NaN, negative or out of range, is not solved: its run is flagged
    `RESULTS.invalid_parameter`, a warning names it and why, and the other runs go on. `t1`
    may be a scalar or one horizon per run (default: [`default_t1`][flowbias.default_t1] of
    each run's model, a claim of convergence that each run is checked against). The data are
    validated once, outside the vmap. Pass the same `make_model` object on every call (not a
    fresh lambda) so that repeated sweeps reuse the compiled program.

    `batch_size` solves the runs in batches of that many, one batch after another inside the
    same compiled program (`jax.lax.map` with `batch_size`), instead of all at once: under
    `vmap` every run keeps stepping until the slowest of its batch finishes, so batches of
    runs of similar cost waste less. `order` (a permutation of the runs) sets which runs share
    a batch, e.g. sorted by the expected number of steps; results come back in the original
    order either way. [`alpha_sweep`][flowbias.alpha_sweep] sorts by alpha.

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
    X, y = validate_data(X, y, loss=loss)
    leaves = jax.tree.leaves(values)
    if not leaves or jnp.shape(leaves[0])[0] == 0:
        raise ValueError("`values` is empty. Fix: pass an array with one entry per run.")
    num = jnp.shape(leaves[0])[0]
    bad, reasons, horizons = _check_runs(make_model, values, loss, X, num, t1 is None)
    if len(bad) == num:
        raise ValueError(f"every run was refused; the first: {reasons[0]}")
    if bad:
        warnings.warn(
            "flowsweep: runs "
            + "; ".join(f"{i} ({r})" for i, r in zip(bad, reasons, strict=True))
            + " were refused and are flagged RESULTS.invalid_parameter; the others run.",
            stacklevel=2,
        )
        good = next(i for i in range(num) if i not in bad)
        mask = np.zeros(num, bool)
        mask[bad] = True
        values = jax.tree.map(
            lambda v: jnp.where(mask.reshape((-1,) + (1,) * (jnp.ndim(v) - 1)), v[good], v),
            values,
        )
    if t1 is None:
        good_t1 = next(h for h in horizons if h is not None)
        t1 = [good_t1 if h is None else h for h in horizons]
        flowsolve_kwargs.setdefault("require_convergence", True)
    t1 = jnp.broadcast_to(as_float_array(np.asarray(t1, dtype=np.float64), "t1"), (num,))
    if not bool(jnp.all(t1 > 0)):
        raise ValueError("`t1` must be > 0 for every run.")
    flowsolve_kwargs["throw"] = False
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1, fix="e.g. 8, or None.")
    inverse = None
    if order is not None:
        perm = np.asarray(order)
        if perm.shape != (num,) or not np.array_equal(np.sort(perm), np.arange(num)):
            raise ValueError(
                f"`order` must be a permutation of the {num} runs (e.g. np.argsort of a cost); "
                f"got shape {perm.shape}."
            )
        inverse = np.argsort(perm)
        values, t1 = jax.tree.map(lambda v: v[perm], (values, t1))
    flowsolve_kwargs["_batch_size"] = batch_size
    mesh = sweep_mesh(shard)
    if mesh is None:
        sols = _sweep(make_model, values, loss, X, y, t1, flowsolve_kwargs, None)
    else:
        pad = -num % mesh.size
        if pad:
            values, t1 = jax.tree.map(lambda v: _pad(v, pad), (values, t1))
        sols = _sweep(make_model, values, loss, X, y, t1, flowsolve_kwargs, mesh)
        if pad:
            sols = jax.tree.map(lambda v: v[:num], sols)
    if inverse is not None:
        sols = jax.tree.map(lambda v: v[inverse], sols)
    if bad:
        mask = jnp.asarray(np.isin(np.arange(num), bad))
        result = jax.vmap(lambda m, r: RESULTS.where(m, RESULTS.invalid_parameter, r))(
            mask, sols.result
        )
        sols = eqx.tree_at(lambda s: s.result, sols, result)
    # The data were left out of the vmapped program's outputs (they would be copied per run).
    problem = sols.problem
    return eqx.tree_at(
        lambda s: s.problem,
        sols,
        FlowProblem(problem.model, problem.loss, problem.flow, problem.time, X, y),
    )


def _check_runs(make_model, values, loss, X, num: int, need_t1: bool):
    """Build each run's model (and its default horizon) outside the vmap: the runs refused,
    why, and the horizons (None where refused or not needed)."""
    bad, reasons, horizons = [], [], []
    for i in range(num):
        try:
            model = make_model(_entry(values, i))
            horizons.append(default_t1(model, loss, X) if need_t1 else None)
        except (ValueError, TypeError) as e:
            bad.append(i)
            reasons.append(" ".join(str(e).split()))
            horizons.append(None)
    return bad, reasons, horizons


def sweep_mesh(shard: bool | Mesh | None = None) -> Mesh | None:
    """The device mesh a sweep runs on (see `shard` in [`flowsweep`][flowbias.flowsweep]):
    a one-axis mesh named `"runs"`, or None for an unsharded sweep."""
    if isinstance(shard, Mesh):
        if len(shard.axis_names) != 1:
            raise ValueError(
                f"`shard` must be a one-axis Mesh; got axes {shard.axis_names}. "
                "Fix: jax.make_mesh((num_devices,), ('runs',))."
            )
        return shard
    if shard is not None and not isinstance(shard, bool):
        raise TypeError(
            f"`shard` must be None, True, False or a jax.sharding.Mesh; got "
            f"{type(shard).__name__}. Fix: e.g. shard=False for one device."
        )
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
        block = jax.tree.map(lambda v, k=k: v[k * num : (k + 1) * num], (values, t1))
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
    kwargs = dict(kwargs)
    batch_size = kwargs.pop("_batch_size", None)

    def one(value, t1_, X, y):
        sol = flowsolve(make_model(value), loss, X, y, t1_, **kwargs)
        p = sol.problem
        return eqx.tree_at(
            lambda s: s.problem, sol, FlowProblem(p.model, p.loss, p.flow, p.time, None, None)
        )

    if batch_size is None:
        return jax.vmap(one, in_axes=(0, 0, None, None))(values, t1, X, y)
    # Batches one after another; each batch's while loop ends with its own slowest run.
    return jax.lax.map(lambda v: one(v[0], v[1], X, y), (values, t1), batch_size=batch_size)


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
    fast n-dimensional path. An alpha that is refused (NaN, not positive, or out of range for
    the depth) flags its own run and leaves the others. With `batch_size`, runs are batched in
    order of alpha (the cost of a run grows as alpha falls).
    """
    a = np.asarray(alphas)
    if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.number):
        raise ValueError(
            f"`alphas` must be a non-empty 1-D array of numbers; got shape {a.shape}. Fix: e.g. "
            "np.logspace(-4, 2, 13)."
        )
    X = as_float_array(X, "X", ndim=2)
    d = X.shape[1]
    DiagonalNetwork.uniform(1.0, d, depth=depth, tied=tied)  # validates depth before the vmap
    loss = SquareLoss() if loss is None else loss

    make = _UniformDiagonal(d, depth, tied)
    if flowsolve_kwargs.get("batch_size") is not None:
        # Runs of similar alpha take similar numbers of steps: batch them together.
        flowsolve_kwargs.setdefault("order", np.argsort(np.where(np.isfinite(a), a, np.inf)))
    return flowsweep(make, jnp.asarray(a, jnp.float64), loss, X, y, t1, **flowsolve_kwargs)


class _UniformDiagonal(eqx.Module):
    """alpha -> DiagonalNetwork.uniform(alpha, ...), compared by value: sweeps with the same
    (d, depth, tied) reuse one compiled program."""

    d: int = eqx.field(static=True)
    depth: int = eqx.field(static=True)
    tied: bool = eqx.field(static=True)

    def __call__(self, alpha):
        return DiagonalNetwork.uniform(alpha, self.d, depth=self.depth, tied=self.tied)
