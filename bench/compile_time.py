"""Benchmark: compile time of flowbias's standard solves on CPU. Target: under 10 s each.

The standard solves, with flowsolve's defaults (solver, tolerances, horizon) unless said:

(i)   linear model, exponential loss, separable data (200, 100), t1 = 1e100 (log time);
(ii)  least squares, linear model from w0, Gaussian (500, 2000);
(iii) diagonal network depth 2, dual flow (`fb.DualFlow()`), d = 1000, n = 50, alpha = 1e-2;
(iv)  diagonal network depth 2, primal flow (`fb.GradientFlow()`), d = 100, n = 5, alpha = 1e-2;
(v)   `fb.alpha_sweep` of 64 alphas, dual flow, d = 1000, n = 50, alphas = logspace(-2, 1, 64)
      (`--sweep-alphas MIN MAX` in log10; the values do not change the program, only how long
      the full sweep runs: `bench/alpha_sweep.py` times logspace(-4, 1, 64)).

How, per solve, after `jax.clear_caches()`: two calls at a tiny horizon (t1 = 1e-3, a few
steps), then the full solve. compile_s = first call - second call (tracing, lowering, XLA
compilation and any Python-side setup the second call does not repeat); run_s = the full call.
The horizon is an array argument, so the full call reuses the
compiled program: the trace counters (jit cache size of flowbias's `_integrate`; for the sweep
`eqx.debug.get_num_traces` of the vmapped sweep, as tests/test_diagonal.py reads them) must not
grow after the first call (new_traces = 0). The short calls keep compile_s out of the noise of
long runs: first - second of two full sweeps differs by run-to-run noise (tens of seconds).

"A sweep over alpha compiles once": the sweep's second short call passes other alphas (the same
values in reverse order: every lane gets a new alpha, the slowest lane's work is unchanged), so
it costs what a run costs (`second_s`), with no new trace; the full sweep traces nothing either.

One OpenBLAS thread unless OPENBLAS_NUM_THREADS is set (see the top of the code); the value
used is in the JSON config.

    python bench/compile_time.py              # (i)-(v), 2-4 min on 2 shared cores, most of
                                              # it the full sweep's run
    python bench/compile_time.py --quick      # (i) 50x20, (ii) 50x200, (iii)/(v) d = 200, 1 min
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
import numpy as np
from _common import block, markdown_table, write_results

import flowbias as fb
import flowbias.sweeps
from flowbias.solve import _integrate


TARGET_S = 10.0
PROBE_T1 = 1e-3  # short calls integrate to t = 1e-3 (s = log(1 + t) in log time): a few steps


def integrate_traces() -> int:
    """Programs compiled for flowsolve's jitted core (the test in tests/test_solve.py)."""
    return _integrate._cached._cache_size()


def sweep_traces() -> int | None:
    """Traces of flowbias's vmapped sweep: eqx.debug.get_num_traces where it is decorated
    with eqx.debug.assert_max_traces, else its jit cache size; None if not found."""
    f = getattr(flowbias.sweeps, "_vmapped_sweep", None) or flowbias.sweeps._sweep
    try:
        return eqx.debug.get_num_traces(f)
    except Exception:
        return f._cached._cache_size() if hasattr(f, "_cached") else None


def separable(n, d, rng):
    """Gaussian points labelled by a planted direction, pushed 0.5 from its hyperplane."""
    w_star = rng.normal(size=d)
    w_star /= np.linalg.norm(w_star)
    X = rng.normal(size=(n, d))
    y = np.sign(X @ w_star)
    return (X + 0.5 * y[:, None] * w_star) / np.sqrt(d), y


def sparse_regression(n, d, rng):
    X = rng.normal(size=(n, d))
    w_star = np.zeros(d)
    w_star[rng.choice(d, 5, replace=False)] = rng.normal(size=5)
    return X, X @ w_star


def standard_solves(args):
    """label -> (call(short: bool, other: bool), trace counter, default solver's name).
    `short` integrates to the tiny horizon; `other` changes the swept alphas (sweep only)."""
    rng = np.random.default_rng(args.seed)
    sq = fb.SquareLoss()
    Xs, ys = separable(*args.sep, rng)
    Xl, yl = rng.normal(size=args.ls), rng.normal(size=args.ls[0])
    w0 = rng.normal(size=args.ls[1]) / np.sqrt(args.ls[1])
    Xd, yd = sparse_regression(args.diag_n, args.diag_d, rng)
    Xp, yp = sparse_regression(5, args.primal_d, rng)
    diag = fb.DiagonalNetwork.uniform
    alphas = np.logspace(*args.sweep_alphas, args.num)

    def one(model, loss, X, y, t1=None, flow=None):
        flow = fb.GradientFlow() if flow is None else flow

        def call(short, other):
            return fb.flowsolve(
                model, loss, X, y, PROBE_T1 if short else t1, flow=flow, throw=False
            )

        solver = type(fb.default_solver(stiff=flow.is_stiff(model))).__name__
        return call, integrate_traces, solver

    def sweep(short, other):
        if not short:
            return fb.alpha_sweep(alphas, Xd, yd, flow=fb.DualFlow(), num_save=2)
        # Other alphas: the same values in reverse, so each lane gets a new alpha while the
        # slowest lane, which sets the vmapped step count, does the same work.
        a = alphas[::-1] if other else alphas
        return fb.alpha_sweep(a, Xd, yd, PROBE_T1, flow=fb.DualFlow(), num_save=2)

    sep, ls = args.sep, args.ls
    return {
        f"(i) linear, exp loss, separable {sep[0]}x{sep[1]}, t1=1e100": one(
            fb.LinearModel(np.zeros(sep[1])), fb.ExponentialLoss(), Xs, ys, t1=1e100
        ),
        f"(ii) least squares {ls[0]}x{ls[1]}": one(fb.LinearModel(w0), sq, Xl, yl),
        f"(iii) diagonal dual d={args.diag_d}, n={args.diag_n}": one(
            diag(1e-2, Xd.shape[1]), sq, Xd, yd, flow=fb.DualFlow()
        ),
        f"(iv) diagonal primal d={args.primal_d}, n=5": one(diag(1e-2, Xp.shape[1]), sq, Xp, yp),
        f"(v) alpha_sweep x{args.num}, dual, d={args.diag_d}": (
            sweep,
            sweep_traces,
            type(fb.default_solver(fb.DualFlow().is_stiff(diag(1.0, Xd.shape[1])))).__name__,
        ),
    }


def _timed(fn):
    t0 = time.perf_counter()
    out = block(fn())
    return out, time.perf_counter() - t0


def measure(label, call, traces, solver):
    jax.clear_caches()
    before = traces()
    _, first = _timed(lambda: call(True, False))
    after_first = traces()
    _, second = _timed(lambda: call(True, True))
    sol, run = _timed(lambda: call(False, False))
    ok, steps = np.asarray(sol.success), np.asarray(sol.num_steps)
    row = dict(
        solve=label,
        solver=solver,
        compile_s=max(first - second, 0.0),
        run_s=run,
        first_s=first,
        second_s=second,
        steps=int(steps.max()),
        status="ok" if ok.all() else f"{int(ok.sum())}/{ok.size} ok",
        traces_first=None if before is None else after_first - before,
        new_traces=None if before is None else traces() - after_first,
        target_met=first - second < TARGET_S,
    )
    print(
        f"  {label}: compile {row['compile_s']:.2f} s, run {run:.3f} s "
        f"({row['steps']} steps, {row['status']}), new traces {row['new_traces']}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--num", type=int, default=64, help="alphas in the sweep")
    parser.add_argument(
        "--sweep-alphas",
        type=float,
        nargs=2,
        default=[-2.0, 1.0],
        metavar=("LOG10_MIN", "LOG10_MAX"),
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    args.sep, args.ls, args.diag_d, args.diag_n, args.primal_d = (
        ((50, 20), (50, 200), 200, 20, 50)
        if args.quick
        else ((200, 100), (500, 2000), 1000, 50, 100)
    )
    name = args.name or ("compile_time_quick" if args.quick else "compile_time")

    rows = [measure(label, *entry) for label, entry in standard_solves(args).items()]
    print(
        "\n"
        + markdown_table(
            rows,
            [
                "solve",
                "solver",
                "compile_s",
                "run_s",
                "steps",
                "status",
                "new_traces",
                "target_met",
            ],
        )
    )
    met = all(r["target_met"] for r in rows)
    print(f"\ntarget: compile_s < {TARGET_S:g} s for every solve: {'met' if met else 'NOT met'}")
    sweep = rows[-1]
    print(
        f"alpha_sweep compiles once: first short call {sweep['first_s']:.2f} s "
        f"({sweep['traces_first']} trace), second with other alphas {sweep['second_s']:.3f} s, "
        f"full sweep {sweep['run_s']:.2f} s, new traces after the first call: "
        f"{sweep['new_traces']}"
    )
    config = dict(vars(args), OPENBLAS_NUM_THREADS=os.environ["OPENBLAS_NUM_THREADS"])
    path = write_results(
        name, dict(config=config, command=" ".join(sys.argv), rows=rows, target_met=met)
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
