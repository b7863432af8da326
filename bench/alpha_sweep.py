"""Benchmark: an alpha sweep of 64 values, vmapped (`fb.alpha_sweep`) against a Python loop of
`fb.flowsolve`. Target: the vmapped sweep at least 5x faster than the loop on CPU.

Diagonal network of depth 2, square loss, Gaussian X (n x d), y = X w* with a planted w* of 5
non-zeros, alphas = np.logspace(-4, 1, 64), default horizon (`fb.default_t1` of each alpha) and
flowbias's convergence stop. Two variants, each a pair of rows:

- **dual** (`flow=fb.DualFlow()`, flowsolve's default solver for it, or `--dual-solver
  tsit5|kvaerno5`; at small alpha the dual flow is stiff: its Jacobian
  -X diag(h'(X^T nu)) X^T / n spans a factor ~|w| / alpha^2), d = 1000, n = 50:
  `fb.alpha_sweep(alphas, X, y, flow=fb.DualFlow(), num_save=2)` against
  `for a in alphas: fb.flowsolve(fb.DiagonalNetwork.uniform(a, d), fb.SquareLoss(), X, y,
  flow=fb.DualFlow(), num_save=2, throw=False)`;
- **primal** (`flow=fb.GradientFlow()`, Kvaerno5 by default), d = 100, n = 5, the same pair.

How: alpha and t1 enter as arrays, so one compiled program serves every alpha. Compile time is
measured apart from the full run: each path is first called twice on other alphas
(alphas x 1.01) at a tiny horizon (t1 = 1e-3: a few steps), compile_s = first -
second; then the full sweep / the full loop (default horizons) is timed once. The jit cache
sizes / trace counts (`eqx.debug.get_num_traces` of flowbias's vmapped sweep and the jit cache
of `_integrate` for the loop, read as the tests do) show the full calls trace nothing new
(traces_after_first = 0); the loop's first probe
call traces once (traces_first_call, in the JSON).

Reported per row: successes, wall and compile time, steps (loop: per run; vmapped: per lane;
under vmap every lane keeps stepping until the slowest finishes, so the vmapped work is
num x max steps, "lane_steps"), and per variant the largest difference between the two sets of
final w (they agree to the solver tolerance), the relative error against `fb.mirror_limit`
(dual Newton, no time integration) at four alphas, and loop / vmapped.

One OpenBLAS thread unless OPENBLAS_NUM_THREADS is set (see the top of the code); the value
used is in the JSON config.

    python bench/alpha_sweep.py                     # d = 1000, n = 50; primal d = 100, n = 5
    python bench/alpha_sweep.py --dual-solver tsit5   # alpha <= 1e-3 runs into max_steps, and
        # some alphas never take a first step (diffrax 0.7.2's clip-to-t1 on rejected steps,
        # patrick-kidger/diffrax#756): under vmap every lane then runs max_steps
    python bench/alpha_sweep.py --quick             # d = 200, n = 20, 16 alphas; primal d = 50
    python bench/alpha_sweep.py --gpu-size          # d = 10000, n = 500: the issue's GPU size
"""

from __future__ import annotations

import os


# One BLAS thread unless the caller sets OPENBLAS_NUM_THREADS: on a shared 2-core machine
# OpenBLAS's threads (used by NumPy, scipy and JAX's CPU LU, which calls scipy's LAPACK) made a
# 400 x 400 LU ~30x slower (150 ms instead of 4 ms), and Kvaerno5 steps with it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from _common import PeakMemory, block, markdown_table, write_results

import flowbias as fb
import flowbias.sweeps
from flowbias.solve import _integrate


TARGET = 5.0
PROBE_T1 = 1e-3  # the compile probes integrate to t = 1e-3: a few steps for every alpha


def sweep_traces() -> int | None:
    """Traces of flowbias's vmapped sweep: eqx.debug.get_num_traces where it is decorated
    with eqx.debug.assert_max_traces (as tests/test_diagonal.py reads it), else its jit cache
    size; None if not found."""
    f = getattr(flowbias.sweeps, "_vmapped_sweep", None) or flowbias.sweeps._sweep
    try:
        return eqx.debug.get_num_traces(f)
    except Exception:
        return f._cached._cache_size() if hasattr(f, "_cached") else None


def make_problem(n: int, d: int, seed: int = 0):
    X, y, _ = fb.problems.sparse_regression(n, d, 5, seed)
    return X, y


def _timed(fn):
    t0 = time.perf_counter()
    out = block(fn())
    return out, time.perf_counter() - t0


def run_vmapped(alphas, X, y, flow, kw, batch_size=None):
    def go(a, t1):
        # require_convergence=True, as the default horizons imply, also in the probes at a
        # given t1, so that probes and the timed run share one compiled program.
        return fb.alpha_sweep(
            a,
            X,
            y,
            t1,
            flow=flow,
            num_save=2,
            batch_size=batch_size,
            require_convergence=True,
            **kw,
        )

    # Compile: twice at a tiny horizon with other alphas (first - second); the full sweep then
    # reuses that program, with the default horizons, which the cache size confirms.
    probe = (alphas * 1.01, np.full(len(alphas), PROBE_T1))
    _, first = _timed(lambda: go(*probe))
    _, second = _timed(lambda: go(*probe))
    size = sweep_traces()
    with PeakMemory() as mem:
        sols, wall = _timed(lambda: go(alphas, None))
    steps = np.asarray(sols.stats["num_steps"])
    if batch_size is None:
        lane_steps = int(steps.max()) * len(alphas)
        method = "vmapped alpha_sweep"
    else:
        # Batches of similar alphas, one after another: each runs to its own slowest lane.
        s = steps[np.argsort(np.asarray(alphas))]
        lane_steps = sum(
            int(s[k : k + batch_size].max()) * len(s[k : k + batch_size])
            for k in range(0, len(s), batch_size)
        )
        method = f"alpha_sweep, batch_size={batch_size} (sorted by alpha)"
    return sols, dict(
        method=method,
        ok_runs=int(np.sum(np.asarray(sols.success))),
        wall_s=wall,
        compile_s=max(first - second, 0.0),
        steps_sum=int(steps.sum()),
        steps_max=int(steps.max()),
        lane_steps=lane_steps,
        traces_after_first=None if size is None else sweep_traces() - size,
        peak_MiB=mem.peak_mib,
        steps_per_lane=steps.tolist(),
    )


def run_loop(alphas, X, y, flow, d, kw):
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def one(a, t1=None):
        return fb.flowsolve(
            fb.DiagonalNetwork.uniform(a, d),
            fb.SquareLoss(),
            Xj,
            yj,
            t1,
            flow=flow,
            num_save=2,
            throw=False,
            require_convergence=True,
            **kw,
        )

    size0 = _integrate._cached._cache_size()
    _, first = _timed(lambda: one(alphas[0] * 1.01, PROBE_T1))
    _, second = _timed(lambda: one(alphas[0] * 1.01, PROBE_T1))
    size1 = _integrate._cached._cache_size()
    sols, times = [], []
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        for a in alphas:
            sol, dt = _timed(lambda a=a: one(a))
            sols.append(sol)
            times.append(dt)
        wall = time.perf_counter() - t0
    steps = np.array([int(s.num_steps) for s in sols])
    row = dict(
        method="Python loop of flowsolve",
        ok_runs=sum(bool(s.success) for s in sols),
        wall_s=wall,
        compile_s=max(first - second, 0.0),
        steps_sum=int(steps.sum()),
        steps_max=int(steps.max()),
        lane_steps=int(steps.sum()),
        traces_first_call=size1 - size0,
        traces_after_first=_integrate._cached._cache_size() - size1,
        peak_MiB=mem.peak_mib,
        steps_per_run=steps.tolist(),
        seconds_per_run=times,
    )
    return np.stack([np.asarray(s.w_final) for s in sols]), row


def bench_variant(name, flow, n, d, args, rows, summary, solver=None):
    X, y = make_problem(n, d, args.seed)
    kw = {} if solver is None else {"solver": solver}
    if args.max_steps is not None:
        kw["max_steps"] = args.max_steps
    if solver is None:
        used = fb.default_solver(stiff=flow.is_stiff(fb.DiagonalNetwork.uniform(1.0, d)))
    else:
        used = solver
    alphas_np = np.logspace(args.log_alpha_min, args.log_alpha_max, args.num)
    alphas = jnp.asarray(alphas_np)
    print(
        f"\n=== {name}: d = {d}, n = {n}, {args.num} alphas in "
        f"[{alphas_np[0]:.3g}, {alphas_np[-1]:.3g}], {type(used).__name__} ===",
        flush=True,
    )
    sols, vrow = run_vmapped(alphas, X, y, flow, kw)
    print(
        f"  vmapped: {vrow['wall_s']:.3f} s (+ {vrow['compile_s']:.2f} s compile), steps max "
        f"{vrow['steps_max']}, new traces {vrow['traces_after_first']}",
        flush=True,
    )
    brow = None
    if args.batch_size:
        bsols, brow = run_vmapped(alphas, X, y, flow, kw, batch_size=args.batch_size)
        print(
            f"  batches of {args.batch_size}: {brow['wall_s']:.3f} s (+ {brow['compile_s']:.2f} s "
            f"compile), lane steps {brow['lane_steps']}",
            flush=True,
        )
    w_loop, lrow = run_loop(alphas, X, y, flow, d, kw)
    print(
        f"  loop:    {lrow['wall_s']:.3f} s (+ {lrow['compile_s']:.2f} s compile), steps sum "
        f"{lrow['steps_sum']}; traces: first call {lrow['traces_first_call']}, after "
        f"{lrow['traces_after_first']}",
        flush=True,
    )

    w_vmap = np.asarray(sols.w_final)
    diff = np.abs(w_vmap - w_loop)
    scale = np.max(np.abs(w_loop), axis=1)
    rel_diff = np.max(diff, axis=1) / scale

    checks = np.unique(np.linspace(0, args.num - 1, 4).round().astype(int))
    errs = []
    for i in checks:
        model = fb.DiagonalNetwork.uniform(float(alphas_np[i]), d)
        ref = np.asarray(fb.mirror_limit(model, X, y))
        errs.append(
            dict(
                alpha=float(alphas_np[i]),
                vmapped=float(np.linalg.norm(w_vmap[i] - ref) / np.linalg.norm(ref)),
                loop=float(np.linalg.norm(w_loop[i] - ref) / np.linalg.norm(ref)),
            )
        )
    ratio = lrow["wall_s"] / vrow["wall_s"]
    batched = {}
    if brow is not None:
        wb = np.asarray(bsols.w_final)
        batched = dict(
            loop_over_batched=lrow["wall_s"] / brow["wall_s"],
            batched_target_met=lrow["wall_s"] / brow["wall_s"] >= 2.0,
            max_rel_diff_batched=float(np.max(np.max(np.abs(wb - w_loop), axis=1) / scale)),
        )
    for r in (vrow, lrow) if brow is None else (vrow, brow, lrow):
        rows.append(
            dict(
                variant=name,
                solver=type(used).__name__,
                d=d,
                n=n,
                num=args.num,
                **r,
                x_vs_vmapped=r["wall_s"] / vrow["wall_s"],
            )
        )
    summary.append(
        dict(
            variant=name,
            solver=type(used).__name__,
            d=d,
            n=n,
            num=args.num,
            loop_over_vmapped=ratio,
            target_met=ratio >= TARGET,
            max_abs_diff_w=float(diff.max()),
            max_rel_diff_w=float(rel_diff.max()),
            max_rel_err_vs_mirror_limit=max(max(e["vmapped"], e["loop"]) for e in errs),
            **batched,
            mirror_limit_checks=errs,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--log-alpha-min", type=float, default=-4.0)
    parser.add_argument("--log-alpha-max", type=float, default=1.0)
    parser.add_argument("--primal-d", type=int, default=100)
    parser.add_argument("--primal-n", type=int, default=5)
    parser.add_argument("--skip-primal", action="store_true")
    parser.add_argument("--skip-dual", action="store_true")
    parser.add_argument(
        "--dual-solver",
        choices=["default", "tsit5", "kvaerno5"],
        default="default",
        help="the dual variant's solver: flowsolve's default for the flow, "
        "or fb.default_solver(stiff=False / True)",
    )
    parser.add_argument(
        "--max-steps", type=int, default=None, help="passed to flowsolve (default: its own, 100000)"
    )
    parser.add_argument("--quick", action="store_true", help="d = 200, n = 20, 16 alphas")
    parser.add_argument(
        "--gpu-size",
        action="store_true",
        help="d = 10000, n = 500 (the GPU configuration of the issue)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="also time alpha_sweep(batch_size=B): batches of B runs sorted by alpha",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    if args.quick:
        args.d, args.n, args.num, args.primal_d = 200, 20, 16, 50
    if args.gpu_size:
        args.d, args.n = 10_000, 500
    name = args.name or ("alpha_sweep_quick" if args.quick else "alpha_sweep")

    rows, summary = [], []
    dual_solver = (
        None
        if args.dual_solver == "default"
        else fb.default_solver(stiff=args.dual_solver == "kvaerno5")
    )
    if not args.skip_dual:
        bench_variant("dual", fb.DualFlow(), args.n, args.d, args, rows, summary, dual_solver)
    if not args.skip_primal:
        bench_variant(
            "primal", fb.GradientFlow(), args.primal_n, args.primal_d, args, rows, summary
        )

    print(
        "\n"
        + markdown_table(
            rows,
            [
                "variant",
                "solver",
                "d",
                "n",
                "method",
                "ok_runs",
                "wall_s",
                "compile_s",
                "steps_sum",
                "steps_max",
                "lane_steps",
                "traces_after_first",
                "peak_MiB",
                "x_vs_vmapped",
            ],
        )
    )
    print(
        "\n"
        + markdown_table(
            summary,
            [
                "variant",
                "solver",
                "d",
                "n",
                "num",
                "loop_over_vmapped",
                "target_met",
                "max_abs_diff_w",
                "max_rel_diff_w",
                "max_rel_err_vs_mirror_limit",
            ],
        )
    )
    print(f"\ntarget: loop / vmapped >= {TARGET:g} on CPU ({jax.devices()[0].device_kind})")
    config = dict(vars(args), OPENBLAS_NUM_THREADS=os.environ["OPENBLAS_NUM_THREADS"])
    path = write_results(
        name, dict(config=config, command=" ".join(sys.argv), rows=rows, summary=summary)
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
