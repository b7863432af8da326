"""Benchmark: diagonal networks w = u^D - v^D on the square loss, time to the limit.

For each depth D, dimension d and scale alpha (u(0) = v(0) = alpha), in one process:
data n = d // 20, X with i.i.d. N(0, 1) entries (seed 0), y = X w* with w* k-sparse,
k = max(1, n // 5), nonzeros N(0, 1). The reference is w_ref = `fb.mirror_limit` (argmin Q
s.t. Xw = y by dual Newton, no time integration; timed as its own row). A method "reaches"
the target if ||w - w_ref|| / ||w_ref|| <= eps (default 1e-6). Competitors, one after another:

1. flowbias dual: `flowsolve(..., flow=DualFlow())`, default solver (Kvaerno5, an n x n
   Jacobian per step), default t1 and convergence stop (L <= 1e-20 L(0)); and the same with
   the explicit Tsit5, to show that the dual ODE inherits the primal's stiffness at small
   alpha.
2. flowbias primal, `GradientFlow()` with `diffrax.Tsit5()` (the flow is stiff: many steps).
3. flowbias primal, `GradientFlow()` with its default implicit Kvaerno5: each step builds a
   (2d x 2d) Jacobian and LU, so it runs only where d <= --implicit-primal-max-d (and at
   --implicit-primal-once d alpha); elsewhere the row says "skipped" with a cost estimate.
4. NumPy GD on (u, v) with eta = 1 / (D^2 lambda_max(X^T X / n) m^(2 - 2/D)),
   m = max(max_i |w_ref,i|, 2 alpha^D) (a bound on the Hessian at the start and at the
   limit); halved once on divergence. The error is checked every 100 steps; GD stops at eps,
   at the budget, or where its iterate is stationary to rounding. GD's limit differs from the
   flow's by O(eta), so it can stop above eps ("not reached", best error kept); then a second
   row, "numpy GD (eta for eps)", reruns it with eta scaled by eps / (2 x that error).
5. scipy `solve_ivp` on the same primal ODE in NumPy, LSODA (with the analytic dense
   Jacobian; skipped above --scipy-stiff-max-d) and DOP853, rtol 1e-10, atol 1e-12 (flowbias's
   defaults), t_span (0, fb.default_t1) with a terminal event at L <= 1e-20 L(0).

Each competitor gets a wall-clock budget (--budget). flowbias runs are jitted loops that
cannot be stopped from outside, so each is first probed with a small max_steps (its cost per
step); if it did not finish, the full run is capped at budget / (cost per step) steps,
compiled first on a horizon of a few steps, then timed (a cache hit); a run that hits its cap
in under half the budget is redone with a larger cap (at most 3 times), else it is "timeout".
So flowbias wall times exclude compilation, reported as compile_s (JAX caches are cleared
per configuration). Steps, right-hand-side (gradient) evaluations and peak RSS above the
level at entry are recorded. x_vs_dual = wall / wall of the default dual (Kvaerno5) (where
that reached eps). The summary has one line per dual solver: the fastest competitor of each family
(flowbias primal, NumPy GD, scipy) that reached eps over that dual's wall, or a lower bound
from the runs that timed out (or ended above eps); targets: >= 10 for the primal at d = 1000,
>= 50 for GD.

    python bench/diagonal.py [--depths 2 3] [--ds 100 1000 10000] [--alphas 1 1e-2 1e-4]
                             [--budget 120] [--eps 1e-6] [--quick]
"""

from __future__ import annotations

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
    time_jax,
    time_once,
    write_results,
)

import flowbias as fb


LOSS = fb.SquareLoss()
STOP_RATIO = 1e-20  # flowsolve's default convergence stop for regression losses


def make_problem(d: int, seed: int = 0):
    n = d // 20
    X, y, _ = fb.problems.sparse_regression(n, d, max(1, n // 5), seed)
    return X, y


def rel_error(w, w_ref) -> float | None:
    if w is None or not np.all(np.isfinite(w)):
        return None
    return float(np.linalg.norm(np.asarray(w) - w_ref) / np.linalg.norm(w_ref))


# --------------------------------------------------------------------------- flowbias


def run_flowbias(model, X, y, flow, solver, budget, max_steps, probe_steps):
    """Probe with `probe_steps` steps for the cost per step, then run capped by the budget."""

    def go(cap, t1=None):
        return lambda: fb.flowsolve(
            model, LOSS, X, y, t1, flow=flow, solver=solver, num_save=2, max_steps=cap, throw=False
        )

    sol, wall, compile_s, peak = time_jax(go(probe_steps))
    cap = probe_steps
    for _ in range(3):  # the probe's cost per step can be off (noise, costlier late steps)
        if not (
            bool(sol.result == dfx.RESULTS.max_steps_reached)
            and cap < max_steps
            and wall < 0.5 * budget
        ):
            break
        per_step = max(wall, 1e-4) / max(int(sol.num_steps), 1)
        cap = int(min(max_steps, max(2 * cap, budget / per_step)))
        # max_steps is static: compile the capped solve on a horizon of a few steps (same
        # shapes, so the same program), then time the full run, which hits the cache.
        _, _, compile_s, _ = time_jax(go(cap, 1e-9))
        sol, wall, peak = time_once(go(cap))
    steps = int(sol.num_steps)
    if bool(sol.success):
        status = "ok"
    elif bool(sol.result == dfx.RESULTS.max_steps_reached):
        status = "timeout" if cap < max_steps else f"failed: max_steps = {max_steps}"
    else:
        status = f"failed: {sol.result}"
    return dict(
        w=np.asarray(sol.w_final),
        status=status,
        wall_s=wall,
        compile_s=compile_s,
        steps=steps,
        rhs_evals=rhs_evaluations(solver, sol.stats),
        peak_MiB=peak,
    )


# --------------------------------------------------------------------------- NumPy / scipy


class PrimalODE:
    """d(u, v)/dt = (-D u^(D-1) g, D v^(D-1) g), g = X^T (X w - y) / n, w = u^D - v^D."""

    def __init__(self, X, y, D, budget):
        self.X, self.y, self.D, self.n, self.d = X, y, D, X.shape[0], X.shape[1]
        self.budget, self.nfev, self._A = budget, 0, None

    def grad_w(self, z):
        u, v = z[: self.d], z[self.d :]
        return self.X.T @ (self.X @ (u**self.D - v**self.D) - self.y) / self.n

    def rhs(self, t, z):
        self.nfev += 1
        if self.nfev % 16 == 0:
            self.budget.check()
        u, v, g, D = z[: self.d], z[self.d :], self.grad_w(z), self.D
        return np.concatenate([-D * u ** (D - 1) * g, D * v ** (D - 1) * g])

    def jac(self, t, z):
        """-c c^T * [[A, A], [A, A]] - diag(c' g), c = dw/dz, A = X^T X / n."""
        self.budget.check()
        if self._A is None:
            self._A = self.X.T @ self.X / self.n
        u, v, g, D = z[: self.d], z[self.d :], self.grad_w(z), self.D
        c = np.concatenate([D * u ** (D - 1), -D * v ** (D - 1)])
        dc = np.concatenate([D * (D - 1) * u ** (D - 2), -D * (D - 1) * v ** (D - 2)])
        J = -(c[:, None] * np.tile(self._A, (2, 2)) * c[None, :])
        J[np.diag_indices_from(J)] -= dc * np.concatenate([g, g])
        return J

    def log_loss(self, z):
        u, v = z[: self.d], z[self.d :]
        r = self.X @ (u**self.D - v**self.D) - self.y
        return math.log(max(float(r @ r), 1e-300) / (2 * self.n))


def gd_eta(X, D, alpha, w_ref):
    lam = float(np.linalg.eigvalsh(X @ X.T / X.shape[0])[-1])
    m = max(float(np.abs(w_ref).max()), 2 * alpha**D)
    return 1.0 / (D**2 * lam * m ** (2 - 2 / D))


def run_gd(X, y, D, alpha, w_ref, eps, eta, budget, max_steps):
    """GD on (u, v) from alpha; every 100 steps: error check, stop at eps, at a fixed point
    (w unchanged to rounding: GD's own limit, which is O(eta) from the flow's) or budget."""
    n, d = X.shape
    clock, notes = Budget(budget), []
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        for _attempt in range(2):
            u, v = np.full(d, float(alpha)), np.full(d, float(alpha))
            w_prev, best, k, status = u**D - v**D, math.inf, 0, "not reached"
            try:
                while k < max_steps:
                    for _ in range(100):
                        g = X.T @ (X @ (u**D - v**D) - y) / n
                        u, v = u - eta * D * u ** (D - 1) * g, v + eta * D * v ** (D - 1) * g
                    k += 100
                    w = u**D - v**D
                    err = rel_error(w, w_ref)
                    if err is None or err > 1e6:
                        status = "diverged"
                        break
                    best = min(best, err)
                    if err <= eps:
                        status = "ok"
                        break
                    if np.linalg.norm(w - w_prev) <= 1e-14 * np.linalg.norm(w):
                        notes.append(f"stationary at step {k} (GD's own limit)")
                        break
                    w_prev = w
                    clock.check()
            except BudgetExceeded:
                status = "timeout"
            if status != "diverged":
                break
            notes.append(f"eta = {eta:.3g} diverged at step {k}")
            eta /= 2
        wall = time.perf_counter() - t0
    notes.insert(0, f"eta = {eta:.3g}")
    status = "failed: diverged" if status == "diverged" else status
    return dict(
        w=None,
        rel_error=None if best == math.inf else best,
        status=status,
        wall_s=wall,
        steps=k,
        rhs_evals=k,
        peak_MiB=mem.peak_mib,
        note="; ".join(notes),
        eta=eta,
    )


def run_scipy(method, X, y, D, alpha, t1, budget):
    ode = PrimalODE(X, y, D, Budget(budget))
    z0 = np.full(2 * X.shape[1], float(alpha))
    floor = ode.log_loss(z0) + math.log(STOP_RATIO)
    event = lambda t, z: ode.log_loss(z) - floor  # noqa: E731
    event.terminal, event.direction = True, -1
    kw = {"jac": ode.jac} if method == "LSODA" else {}
    w, steps, njev, status = None, None, None, "ok"
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        try:
            sol = scipy.integrate.solve_ivp(
                ode.rhs, (0.0, t1), z0, method=method, rtol=1e-10, atol=1e-12, events=event, **kw
            )
            u, v = sol.y[: X.shape[1], -1], sol.y[X.shape[1] :, -1]
            w, steps, njev = u**D - v**D, sol.t.size - 1, sol.njev
            if not sol.success:
                status = f"failed: {sol.message}"
        except BudgetExceeded:
            status = "timeout"
        wall = time.perf_counter() - t0
    return dict(
        w=w,
        status=status,
        wall_s=wall,
        steps=steps,
        rhs_evals=ode.nfev,
        jac_evals=njev,
        peak_MiB=mem.peak_mib,
    )


# --------------------------------------------------------------------------- driver


def bench_config(D, d, alpha, args, rows, summary):
    jax.clear_caches()  # compile times per configuration, not shared with earlier ones
    X, y = make_problem(d)
    n = X.shape[0]
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    model = fb.DiagonalNetwork.uniform(alpha, d, depth=D)
    print(f"\n=== depth {D}, d = {d}, n = {n}, alpha = {alpha:g} ===", flush=True)
    ref, wall, compile_s, peak = time_jax(lambda: fb.mirror_limit(model, Xj, yj))
    w_ref = np.asarray(ref)
    here = []

    def add(method, r):
        r = dict(r)
        w = r.pop("w", None)
        if "rel_error" not in r:
            r["rel_error"] = rel_error(w, w_ref)
        if r["status"] == "ok" and r["rel_error"] is not None and r["rel_error"] > args.eps:
            r["status"] = "not reached"
        row = dict(depth=D, d=d, n=n, alpha=alpha, method=method, **r)
        here.append(row)
        rows.append(row)
        print(
            f"  {method:<24} {row['status']:<12} wall {row.get('wall_s') or 0:9.3f} s  "
            f"steps {row.get('steps')}  err {row['rel_error']}",
            flush=True,
        )

    add(
        "reference (dual Newton)",
        dict(status="ok", wall_s=wall, compile_s=compile_s, peak_MiB=peak, rel_error=None),
    )

    def guarded(method, fn, *a, **kw):
        try:
            add(method, fn(*a, **kw))
        except Exception as exc:  # one failure must not stop the grid
            add(method, dict(status=f"failed: {type(exc).__name__}: {exc}"[:200]))

    big = args.max_steps
    guarded(
        "flowbias dual (Kvaerno5, default)",
        run_flowbias,
        model,
        Xj,
        yj,
        fb.DualFlow(),
        fb.default_solver(stiff=True),
        args.budget,
        big,
        5,
    )
    if not args.skip_explicit_dual:
        guarded(
            "flowbias dual (Tsit5)",
            run_flowbias,
            model,
            Xj,
            yj,
            fb.DualFlow(),
            fb.default_solver(stiff=False),
            args.budget,
            big,
            200,
        )
    guarded(
        "flowbias primal (Tsit5)",
        run_flowbias,
        model,
        Xj,
        yj,
        fb.GradientFlow(),
        dfx.Tsit5(),
        args.budget,
        big,
        200,
    )
    once = args.implicit_primal_once
    if d <= args.implicit_primal_max_d or (once and d == once[0] and alpha == once[1]):
        budget = (
            max(args.budget, args.implicit_budget)
            if d > args.implicit_primal_max_d
            else args.budget
        )
        guarded(
            "flowbias primal (Kvaerno5)",
            run_flowbias,
            model,
            Xj,
            yj,
            fb.GradientFlow(),
            fb.default_solver(stiff=True),
            budget,
            big,
            5,
        )
    else:
        # Cost per step ~ (2d)^3 / 3 flops (LU) + 2d Jacobian-vector products.
        add(
            "flowbias primal (Kvaerno5)",
            dict(
                status="skipped",
                note=(
                    f"(2d x 2d) = {2 * d} x {2 * d} Jacobian + LU per step, "
                    f"~{(2 * d) ** 3 / 3:.1e} flops; measured 1022 s at d = 1000, alpha = 1e-3 "
                    "(bench/diagonal_dual_vs_primal.py); raise --implicit-primal-max-d or use "
                    "--implicit-primal-once d alpha"
                ),
            ),
        )
    eta = gd_eta(X, D, alpha, w_ref)
    guarded(
        "numpy GD", run_gd, X, y, D, alpha, w_ref, args.eps, eta, args.budget, args.gd_max_steps
    )
    gd = here[-1]
    if gd["status"] == "not reached" and gd.get("rel_error"):
        # GD's bias is O(eta): shrink eta so that its limit is within eps/2 of the flow's.
        eta_eps = gd["eta"] * 0.5 * args.eps / gd["rel_error"]
        guarded(
            "numpy GD (eta for eps)",
            run_gd,
            X,
            y,
            D,
            alpha,
            w_ref,
            args.eps,
            eta_eps,
            args.budget,
            args.gd_max_steps,
        )
    t1 = fb.default_t1(model, LOSS, Xj)
    for method in ("LSODA", "DOP853"):
        if method == "LSODA" and d > args.scipy_stiff_max_d:
            add(
                f"scipy {method}",
                dict(
                    status="skipped",
                    note=(
                        f"stiff mode needs a dense {2 * d} x {2 * d} Jacobian "
                        f"({(2 * d) ** 2 * 8 / 2**30:.1f} GiB) and its LU "
                        f"(~{(2 * d) ** 3 / 3:.1e} flops) per update; raise "
                        "--scipy-stiff-max-d to run it"
                    ),
                ),
            )
            continue
        guarded(f"scipy {method}", run_scipy, method, X, y, D, alpha, t1, args.budget)

    for r in here:
        if r.get("wall_s") is not None and here[1]["status"] == "ok":
            r["x_vs_dual"] = r["wall_s"] / here[1]["wall_s"]
    for dual in [r for r in here if r["method"].startswith("flowbias dual")]:
        summary.append(
            dict(
                depth=D,
                d=d,
                n=n,
                alpha=alpha,
                dual=dual["method"],
                dual_status=dual["status"],
                dual_s=dual.get("wall_s"),
                **ratio(
                    here,
                    dual,
                    "primal",
                    lambda m: m.startswith("flowbias primal"),
                    10.0 if d == 1000 else None,
                ),
                **ratio(here, dual, "gd", lambda m: m.startswith("numpy GD"), 50.0),
                **ratio(here, dual, "scipy", lambda m: m.startswith("scipy"), None),
            )
        )


def ratio(rows, dual, key, pick, target):
    """Competitor time to eps over the dual's: the fastest 'ok' row, else a lower bound from
    the rows that ran out of budget or finished above eps (their time to eps is longer)."""
    cands = [r for r in rows if pick(r["method"]) and r.get("wall_s") is not None]
    ok = [r["wall_s"] for r in cands if r["status"] == "ok"]
    # A run that finished above eps never gets there (bound: its wall); a timed-out one (or
    # one stopped by max_steps) would need more than its wall: the stronger bound, preferred.
    lower = [
        r["wall_s"]
        for r in cands
        if r["status"] == "timeout" or r["status"].startswith("failed: max_steps")
    ] or [r["wall_s"] for r in cands if r["status"] == "not reached"]
    out = {f"{key}_over_dual": None, f"{key}_bound": None}
    if dual["status"] != "ok" or not (ok or lower):
        return out | ({f"{key}_target_met": None} if target else {})
    out[f"{key}_over_dual"] = (min(ok) if ok else min(lower)) / dual["wall_s"]
    if not ok:
        out[f"{key}_bound"] = "lower bound: competitor timed out / stopped above eps"
    if target:
        out[f"{key}_target_met"] = out[f"{key}_over_dual"] >= target
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--ds", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0, 1e-2, 1e-4])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per competitor")
    parser.add_argument("--eps", type=float, default=1e-6)
    parser.add_argument("--max-steps", type=int, default=1_000_000, help="flowbias runs")
    parser.add_argument("--gd-max-steps", type=int, default=10**7)
    parser.add_argument("--implicit-primal-max-d", type=int, default=100)
    parser.add_argument(
        "--implicit-primal-once",
        type=float,
        nargs=2,
        metavar=("D", "ALPHA"),
        help="also run the implicit primal at this (d, alpha), every depth",
    )
    parser.add_argument(
        "--implicit-budget",
        type=float,
        default=1800.0,
        help="budget of the --implicit-primal-once run",
    )
    parser.add_argument("--scipy-stiff-max-d", type=int, default=1000)
    parser.add_argument(
        "--skip-explicit-dual",
        action="store_true",
        help="leave out the dual flow with Tsit5 (stiff at small alpha)",
    )
    parser.add_argument("--quick", action="store_true", help="d = 100, alphas 1, 1e-2, 20 s")
    parser.add_argument("--name", default="diagonal")
    args = parser.parse_args()
    if args.quick:
        args.ds, args.alphas, args.budget = [100], [1.0, 1e-2], 20.0
        args.name = "diagonal_quick" if args.name == "diagonal" else args.name
    if args.implicit_primal_once:
        args.implicit_primal_once = (
            int(args.implicit_primal_once[0]),
            args.implicit_primal_once[1],
        )

    rows, summary = [], []
    t_start = time.perf_counter()
    for D in args.depths:
        for d in args.ds:
            for alpha in args.alphas:
                bench_config(D, d, alpha, args, rows, summary)

    cols = [
        "depth",
        "d",
        "n",
        "alpha",
        "method",
        "status",
        "wall_s",
        "compile_s",
        "steps",
        "rhs_evals",
        "jac_evals",
        "rel_error",
        "peak_MiB",
        "x_vs_dual",
    ]
    print("\n" + markdown_table(rows, cols))
    notes = [
        f"- depth {r['depth']}, d {r['d']}, alpha {r['alpha']:g}, {r['method']}: {r['note']}"
        for r in rows
        if r.get("note")
    ]
    print("\nnotes:\n" + "\n".join(notes))
    scols = [
        "depth",
        "d",
        "alpha",
        "dual",
        "dual_status",
        "dual_s",
        "primal_over_dual",
        "primal_bound",
        "primal_target_met",
        "gd_over_dual",
        "gd_bound",
        "gd_target_met",
        "scipy_over_dual",
        "scipy_bound",
    ]
    print(
        "\nsummary (targets: primal >= 10x the dual at d = 1000; GD >= 50x the dual):\n"
        + markdown_table(summary, scols)
    )
    total = time.perf_counter() - t_start
    print(f"\ntotal {total:.0f} s")
    path = write_results(
        args.name,
        dict(
            command="python " + " ".join(sys.argv),
            config=vars(args),
            eps=args.eps,
            data="X ~ N(0,1)^(n x d), n = d // 20, w* k-sparse (k = max(1, n // 5)) N(0,1), "
            "y = X w*, seed 0",
            total_s=total,
            rows=rows,
            summary=summary,
        ),
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
