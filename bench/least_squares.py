"""Benchmark: least squares from w0, (n, d) = (500, 2000): flowbias against hand-written NumPy
gradient descent and scipy's `solve_ivp`, to the accuracy ||w - w_inf|| <= eps ||w_inf||.

The flow is dw/dt = -grad L(w) with L(w) = ||Xw - y||^2 / (2n) (flowbias's `SquareLoss`), so
grad L = X^T (Xw - y) / n; its limit is w_inf = w0 + X^+ (y - X w0) (`fb.least_squares_limit`).
Two designs, in one process, one row after another:

(a) isotropic: X with i.i.d. N(0, 1) entries; cond(X X^T) ~ (1 + sqrt(n/d))^2 / (1 - sqrt(n/d))^2
    = 9 at n/d = 1/4, so GD needs only ~9 log(1/eps) ~ 200 steps;
(b) ill-conditioned: X = U diag(s) V^T with U, V random orthonormal and a power-law spectrum
    s_k = sqrt(n) k^(-p), p = log(100) / log(n), so that cond(X X^T) = (s_1/s_n)^2 = 1e4 and GD
    needs ~kappa log(1/eps) ~ 2e5 steps.

y ~ N(0, I_n) and w0 ~ N(0, I_d / d) in both. Competitors:

- **NumPy GD**: w <- w - grad L(w) / beta, beta = lambda_max(X^T X / n), so step k is time
  t = k / beta (the same t as the flow). The relative error to w_inf is checked every 10 steps
  (an oracle stop, which favours GD); it stops at eps or at the budget.
- **scipy `solve_ivp`** (LSODA, BDF, DOP853, RK45) on the same ODE, rtol 1e-10, atol 1e-12 (as
  flowbias), up to flowbias's horizon `fb.default_t1` with flowbias's stop (a terminal event at
  L <= 1e-20 L(0)). BDF and LSODA get the analytic, constant Jacobian -X^T X / n as a dense
  d x d array via `jac=` (built inside the timed region; passed as a function returning the
  array, since scipy's LSODA rejects a plain array). rhs_evals = nfev (+ njev, which is the
  number of times the constant array is handed over); each event check costs one product Xw.
- **flowbias**: `fb.flowsolve(fb.LinearModel(w0), fb.SquareLoss(), X, y, num_save=2)` with its
  default solver (`fb.choose_solver` at the full horizon: Tsit5, or Kvaerno5 where the
  conditioning would cost an explicit solver more than 2e4 steps), with
  `solver=fb.default_solver(stiff=True)` (Kvaerno5: every step builds a d x d Jacobian from
  d Jacobian-vector products and factorises it), and both again with `flow=fb.DualFlow()`
  (the n-dim dual state, w = w0 + X^T nu, whose implicit step needs only n products).
  Row labels name the solver used.

flowbias timing: a probe (a few hundred Tsit5 steps, or four Kvaerno5 steps, run twice) measures
the cost per step, and max_steps is set to what fits in the budget, as flowbias's jitted loop
cannot be interrupted from Python (status "capped"; "max_steps" if flowsolve's own default of
1e5 was hit). Then, with that max_steps, a call at a tiny horizon (t1 = 1e-6 default_t1: trace,
compile, a few steps), the same again (its run part), and the full solve with the same compiled
program (t1 is an array argument): compile_s = first - second, wall_s = the full call. For a
scipy timeout the partial rel_error is that of the last state handed to the right-hand side.
x_vs_flowbias is wall time over flowbias default's. On a shared machine timings carry noise of
tens of percent.

One OpenBLAS thread unless OPENBLAS_NUM_THREADS is set (see the top of the code); the value
used is in the JSON config.

    python bench/least_squares.py                 # (500, 2000), both designs (~20 min, 2 cores)
    python bench/least_squares.py --quick         # (50, 200), budget 30 s (~2 min)
    python bench/least_squares.py --budget 60 --designs isotropic
"""

from __future__ import annotations

import os


# One BLAS thread unless the caller sets OPENBLAS_NUM_THREADS: on a shared 2-core machine
# OpenBLAS's threads (used by NumPy, scipy and JAX's CPU LU, which calls scipy's LAPACK) made a
# 400 x 400 LU ~30x slower (150 ms instead of 4 ms), and Kvaerno5 steps with it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import sys
import time

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
from _common import (
    Budget,
    BudgetExceeded,
    PeakMemory,
    markdown_table,
    rhs_evaluations,
    write_results,
)

import flowbias as fb


DEFAULT_MAX_STEPS = 100_000  # flowsolve's default
STOP_RATIO = 1e-20  # flowbias's default stop for regression losses: L <= 1e-20 L(0)


def make_design(kind: str, n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    if kind == "isotropic":
        X = rng.normal(size=(n, d))
    else:
        U, _ = np.linalg.qr(rng.normal(size=(n, n)))
        V, _ = np.linalg.qr(rng.normal(size=(d, n)))
        p = math.log(100.0) / math.log(n)
        s = math.sqrt(n) * np.arange(1, n + 1, dtype=float) ** (-p)
        X = (U * s) @ V.T
    y = rng.normal(size=n)
    w0 = rng.normal(size=d) / math.sqrt(d)
    return X, y, w0


def rel_error(w, w_inf) -> float | None:
    if w is None or not np.all(np.isfinite(w)):
        return None
    return float(np.linalg.norm(np.asarray(w) - w_inf) / np.linalg.norm(w_inf))


# --------------------------------------------------------------------------- NumPy GD


def numpy_gd(X, y, w0, w_inf, eps, budget_s, check_every=10):
    n = X.shape[0]
    beta = np.linalg.eigvalsh(X @ X.T / n)[-1]  # lambda_max(X^T X / n), via the n x n Gram
    step = 1.0 / (beta * n)
    budget = Budget(budget_s)
    w, r, k, status, err = w0.copy(), np.empty(n), 0, "ok", rel_error(w0, w_inf)
    try:
        while err > eps:
            for _ in range(check_every):
                np.matmul(X, w, out=r)
                r -= y
                w -= step * (X.T @ r)
            k += check_every
            err = rel_error(w, w_inf)
            budget.check()
    except BudgetExceeded:
        status = "timeout"
    return dict(w=w, steps=k, rhs_evals=k, status=status, t_end=k / beta)


# --------------------------------------------------------------------------- scipy


class LinearFlow:
    """dw/dt = -X^T (Xw - y) / n, with counters, a budget check and flowbias's stop event."""

    def __init__(self, X, y, w0, budget):
        self.X, self.y, self.n, self.budget = X, y, X.shape[0], budget
        self.nfev = self.nevent = 0
        self.last_w = w0
        self.log_floor = self.log_loss(w0) + math.log(STOP_RATIO)
        self.event = lambda t, w: self.log_loss(w) - self.log_floor
        self.event.terminal, self.event.direction = True, -1

    def log_loss(self, w):
        self.nevent += 1
        r = self.X @ w - self.y
        return math.log(max(r @ r / (2 * self.n), 1e-300))

    def rhs(self, t, w):
        self.nfev += 1
        self.last_w = w
        if self.nfev % 32 == 0:
            self.budget.check()
        return -(self.X.T @ (self.X @ w - self.y)) / self.n


def run_scipy(method, X, y, w0, t1, budget_s):
    flow = LinearFlow(X, y, w0, Budget(budget_s))
    status, w, steps, njev = "ok", None, None, 0
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        try:
            kw = {}
            if method in ("BDF", "LSODA", "Radau"):
                J = -(X.T @ X) / X.shape[0]  # constant: the ODE is linear
                # A callable: scipy's LSODA wrapper mishandles an array `jac` (truth-value
                # error in lsoda.py), so both get the same array through a function.
                kw["jac"] = lambda t, w: J
            sol = scipy.integrate.solve_ivp(
                flow.rhs,
                (0.0, t1),
                w0,
                method=method,
                rtol=1e-10,
                atol=1e-12,
                events=flow.event,
                **kw,
            )
            w, steps, njev = sol.y[:, -1], sol.t.size - 1, sol.njev
            t_end = float(sol.t[-1])
            if not sol.success:
                status = f"failed: {sol.message}"
        except BudgetExceeded:
            status, t_end, w = "timeout", None, flow.last_w
        wall = time.perf_counter() - t0
    return dict(
        w=w,
        wall_s=wall,
        steps=steps,
        rhs_evals=flow.nfev + njev,
        status=status,
        peak_MiB=mem.peak_mib,
        t_end=t_end,
        event_evals=flow.nevent,
        njev=njev,
    )


# --------------------------------------------------------------------------- flowbias


def _call(go, t1):
    t0 = time.perf_counter()
    sol = go(t1)
    jax.block_until_ready(sol.w)
    return sol, time.perf_counter() - t0


def run_flowbias(X, y, w0, t1, budget_s, *, stiff=False, flow=None):
    """The full solve with compile time split off and max_steps fitted to the budget (see the
    module docstring)."""
    Xj, yj, w0j = jnp.asarray(X), jnp.asarray(y), jnp.asarray(w0)
    flow = fb.GradientFlow() if flow is None else flow
    if stiff:
        used = fb.default_solver(stiff=True)
    else:  # flowsolve's own choice at the full horizon, pinned for the short calls too
        used = fb.choose_solver(fb.LinearModel(w0j), fb.SquareLoss(), flow, Xj, np.log(t1)).solver
    solver = used
    kw = {"flow": flow}
    jax.clear_caches()  # measure this row's compile, not a cache hit from an earlier row

    def make(max_steps):
        def go(t1_):
            return fb.flowsolve(
                fb.LinearModel(w0j),
                fb.SquareLoss(),
                Xj,
                yj,
                jnp.asarray(t1_),
                num_save=2,
                solver=solver,
                max_steps=max_steps,
                throw=False,
                **kw,
            )

        return go

    # Probe: a few steps (Kvaerno5) or a few hundred (Tsit5) at the full horizon, twice.
    probe_steps = 4 if isinstance(used, dfx.AbstractImplicitSolver) else 200
    probe = make(probe_steps)
    _call(probe, t1)
    sol, wall = _call(probe, t1)
    per_step = wall / max(int(sol.num_steps), 1)
    max_steps = int(min(DEFAULT_MAX_STEPS, max(probe_steps, budget_s // per_step)))
    print(f"    probe: {per_step * 1e3:.3g} ms/step -> max_steps = {max_steps}", flush=True)

    go = make(max_steps)
    _, first = _call(go, 1e-6 * t1)
    _, second = _call(go, 1e-6 * t1)
    with PeakMemory() as mem:
        sol, wall = _call(go, t1)
    steps = int(sol.num_steps)
    if bool(sol.success):
        status = "ok"
    elif steps >= max_steps:
        status = "max_steps" if max_steps == DEFAULT_MAX_STEPS else "capped"
    else:
        status = "failed"
    return dict(
        w=np.asarray(sol.w_final),
        solver=type(used).__name__,
        wall_s=wall,
        compile_s=max(first - second, 0.0),
        steps=steps,
        rhs_evals=rhs_evaluations(used, sol.stats),
        status=status,
        peak_MiB=mem.peak_mib,
        t_end=float(np.exp(sol.log_t_end)),
        max_steps=max_steps,
        probe_s_per_step=per_step,
    )


def run_exact(X, y, w0, t1):
    """The closed form (fb.ExactLinearSolver): one SVD, no steps; compile split off."""
    Xj, yj, w0j = jnp.asarray(X), jnp.asarray(y), jnp.asarray(w0)
    jax.clear_caches()

    def go(t1_):
        return fb.flowsolve(
            fb.LinearModel(w0j),
            fb.SquareLoss(),
            Xj,
            yj,
            jnp.asarray(t1_),
            num_save=2,
            solver=fb.ExactLinearSolver(),
            throw=False,
        )

    _, first = _call(go, 1e-6 * t1)
    _, second = _call(go, 1e-6 * t1)
    with PeakMemory() as mem:
        sol, wall = _call(go, t1)
    return dict(
        w=np.asarray(sol.w_final),
        solver="ExactLinearSolver",
        wall_s=wall,
        compile_s=max(first - second, 0.0),
        steps=0,
        rhs_evals=0,
        status="ok" if bool(sol.success) else "failed",
        peak_MiB=mem.peak_mib,
        t_end=float(np.exp(sol.log_t_end)),
        max_steps=0,
        probe_s_per_step=None,
    )


# --------------------------------------------------------------------------- driver


def bench_design(kind, args, rows, summary):
    n, d = args.n, args.d
    X, y, w0 = make_design(kind, n, d, args.seed)
    gram = np.linalg.eigvalsh(X @ X.T)
    w_inf = np.asarray(fb.least_squares_limit(X, y, w0))
    t1 = fb.default_t1(fb.LinearModel(w0), fb.SquareLoss(), X)
    print(
        f"\n=== design {kind}: (n, d) = ({n}, {d}), cond(X X^T) = {gram[-1] / gram[0]:.3g}, "
        f"default_t1 = {t1:.4g} ===",
        flush=True,
    )
    design_rows = []

    def add(method, r):
        r = dict(r)
        w = r.pop("w")
        row = dict(design=kind, method=method, **r, rel_error=rel_error(w, w_inf))
        row["reached_eps"] = row["rel_error"] is not None and row["rel_error"] <= args.eps
        design_rows.append(row)
        print(
            f"  {method:>28}: {row['status']:>9} {row['wall_s']:9.3f} s  steps "
            f"{row['steps']}  rel_error {row['rel_error']}",
            flush=True,
        )

    with PeakMemory() as mem:
        t0 = time.perf_counter()
        r = numpy_gd(X, y, w0, w_inf, args.eps, args.budget)
        r["wall_s"] = time.perf_counter() - t0
    add("numpy GD (step 1/beta)", dict(r, compile_s=None, peak_MiB=mem.peak_mib))

    flowbias_runs = {
        "flowbias default": dict(),
        "flowbias stiff": dict(stiff=True),
        "flowbias dual": dict(flow=fb.DualFlow()),
        "flowbias dual stiff": dict(flow=fb.DualFlow(), stiff=True),
    }
    for name, kw in flowbias_runs.items():
        if "stiff" in name and args.skip_implicit:
            continue
        r = run_flowbias(X, y, w0, t1, args.budget, **kw)
        add(f"{name} ({r['solver']})", r)
    add("flowbias exact (closed form)", run_exact(X, y, w0, t1))

    for method in args.scipy_methods:
        label = f"scipy {method}" + (" (dense jac)" if method in ("BDF", "LSODA") else "")
        add(label, dict(run_scipy(method, X, y, w0, t1, args.budget), compile_s=None))

    base = design_rows[1]["wall_s"]  # flowbias default
    for row in design_rows:
        row["x_vs_flowbias"] = row["wall_s"] / base
    rows.extend(design_rows)
    gd = design_rows[0]
    done = [r for r in design_rows[1:] if r["status"] == "ok" and r["reached_eps"]]
    best = min(done, key=lambda r: r["wall_s"]) if done else None
    summary.append(
        dict(
            design=kind,
            cond_XXT=gram[-1] / gram[0],
            gd_steps=gd["steps"],
            gd_status=gd["status"],
            gd_wall_s=gd["wall_s"],
            fastest_integrator=best["method"] if best else None,
            fastest_wall_s=best["wall_s"] if best else None,
            gd_over_fastest=gd["wall_s"] / best["wall_s"] if best else None,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--d", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="(n, d) = (50, 200)")
    parser.add_argument("--eps", type=float, default=1e-8)
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds per run (GD, scipy; flowbias via max_steps); default 120, or 30 with --quick",
    )
    parser.add_argument(
        "--designs",
        nargs="+",
        default=["isotropic", "ill-conditioned"],
        choices=["isotropic", "ill-conditioned"],
    )
    parser.add_argument("--scipy-methods", nargs="+", default=["LSODA", "BDF", "DOP853", "RK45"])
    parser.add_argument(
        "--skip-implicit",
        action="store_true",
        help="skip the flowbias rows with solver=fb.default_solver(stiff=True)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    if args.quick:
        args.n, args.d = 50, 200
    if args.budget is None:
        args.budget = 30.0 if args.quick else 120.0
    name = args.name or ("least_squares_quick" if args.quick else "least_squares")

    rows, summary = [], []
    for kind in args.designs:
        bench_design(kind, args, rows, summary)

    cols = [
        "design",
        "method",
        "status",
        "wall_s",
        "compile_s",
        "steps",
        "rhs_evals",
        "rel_error",
        "peak_MiB",
        "x_vs_flowbias",
    ]
    print(f"\n(n, d) = ({args.n}, {args.d}), eps = {args.eps:g}, budget {args.budget:g} s\n")
    print(markdown_table(rows, cols))
    print(
        "\n"
        + markdown_table(
            summary,
            [
                "design",
                "cond_XXT",
                "gd_steps",
                "gd_status",
                "gd_wall_s",
                "fastest_integrator",
                "fastest_wall_s",
                "gd_over_fastest",
            ],
        )
    )
    print(
        "\ngd_over_fastest > 1: an integrator beat GD; the isotropic design is the one "
        "where GD needs only ~200 steps."
    )
    config = dict(vars(args), OPENBLAS_NUM_THREADS=os.environ["OPENBLAS_NUM_THREADS"])
    path = write_results(
        name, dict(config=config, command=" ".join(sys.argv), rows=rows, summary=summary)
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
