"""Benchmark: the direction of separable exponential-loss training, flowbias against what
researchers run today (plain gradient descent in NumPy, scipy's `solve_ivp`).

For each problem size (n, d), in one process:

1. **NumPy GD** with step 1/beta, beta = lambda_max(X^T X)/n (the Hessian of the mean
   exponential loss at w = 0, where the loss is largest), for `--gd-steps` (10^5) steps. Its
   final angle gap eps = 1 - cos(w, w_hat) to the hard-margin SVM w_hat is the accuracy
   target; GD's time to t = 1e4 (t = eta k) is recorded on the way.
2. **flowbias** (`fb.flowsolve`, default solver, log time) to three horizons: t = 1e4 (the same
   time GD reaches), the smallest t1 in eta 1e5 x {1, 10, 100, ...} where 1 - cos <= eps
   (flowbias may go to larger t to reach GD's accuracy), and t = 1e100 (which GD never
   reaches: it would need 1e100 steps).
3. **scipy `solve_ivp`** (LSODA, BDF, DOP853) on the same ODE in the same log time
   s = log(1 + t), dw/ds = -e^s grad L(w), with the factor e^s folded into the exponent as
   flowbias does (otherwise it overflows), the same tolerances (rtol 1e-10, atol 1e-12) and
   the same horizons. LSODA and BDF run twice: as usually called (finite-difference
   Jacobians, d right-hand sides each) and with the analytic Jacobian (`+jac`), scipy at its
   best.

Each row reports wall time (flowbias: second call; compile time separate), steps, right-hand
side (gradient) evaluations, 1 - cos to w_hat, the distance of the direction to a reference
trajectory (diffrax Dopri8 at rtol 1e-12) and the peak memory. The last table measures one
gradient evaluation (two products with X) and its memory bandwidth: at (2000, 1000) every
integrator is bound by these products, so its floor is (RHS evaluations) x (one evaluation).

    python bench/separable.py                        # (200, 100) and (2000, 1000)
    python bench/separable.py --sizes 200x100 --gd-steps 20000          # quick
    python bench/separable.py --sizes 20000x5000 --skip-gd --skip-scipy  # GPU size
"""

from __future__ import annotations

import argparse
import math
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
    write_results,
)

import flowbias as fb


# Peak memory bandwidth of accelerators (bytes/s), from the vendors' data sheets.
PEAK_BANDWIDTH = {
    "H100 80GB HBM3": 3.35e12,
    "H100 PCIe": 2.0e12,
    "H200": 4.8e12,
    "A100-SXM4-80GB": 2.04e12,
    "A100-SXM4-40GB": 1.56e12,
}


def make_problem(n: int, d: int, seed: int = 0):
    """Gaussian points labelled by a planted unit direction and pushed 0.5 away from its
    hyperplane (so the data are separable with margin >= 0.5/sqrt(d)), scaled by 1/sqrt(d)."""
    rng = np.random.default_rng(seed)
    w_star = rng.normal(size=d)
    w_star /= np.linalg.norm(w_star)
    X = rng.normal(size=(n, d))
    y = np.sign(X @ w_star)
    X += 0.5 * y[:, None] * w_star[None, :]
    return X / np.sqrt(d), y


def one_minus_cos(w, w_hat_unit) -> float:
    w = np.asarray(w)
    return float(1.0 - w @ w_hat_unit / np.linalg.norm(w))


def direction_error(w, w_ref) -> float:
    w, w_ref = np.asarray(w), np.asarray(w_ref)
    return float(np.linalg.norm(w / np.linalg.norm(w) - w_ref / np.linalg.norm(w_ref)))


# --------------------------------------------------------------------------- NumPy GD


def numpy_gd(X, y, eta, num_steps, record_every, budget):
    """w <- w - eta grad L(w), L = mean exp(-y x.w), with the exponent shifted by its max so
    nothing overflows. Returns the final w and the iterates every `record_every` steps."""
    n = X.shape[0]
    Z = y[:, None] * X
    w = np.zeros(X.shape[1])
    snapshots = []
    for k in range(1, num_steps + 1):
        m = Z @ w
        shift = m.min()
        a = np.exp(-(m - shift))
        w += (eta * math.exp(-shift) / n) * (Z.T @ a)
        if k % record_every == 0:
            snapshots.append((k, w.copy()))
            budget.check()
    return w, snapshots


# --------------------------------------------------------------------------- scipy


class LogTimeExpFlow:
    """dw/ds = e^s (1/n) sum_i exp(-m_i) z_i with z_i = y_i x_i, m_i = z_i . w, in NumPy."""

    def __init__(self, X, y, budget):
        self.Z = y[:, None] * X
        self.n = X.shape[0]
        self.budget = budget
        self.nfev = 0

    def rhs(self, s, w):
        self.nfev += 1
        if self.nfev % 64 == 0:
            self.budget.check()
        return self.Z.T @ np.exp(s - self.Z @ w - math.log(self.n))

    def jac(self, s, w):
        self.budget.check()
        a = np.exp(s - self.Z @ w - math.log(self.n))
        return -(self.Z.T * a) @ self.Z


def _row(w, wall, steps, flow, njev, status, mem) -> dict:
    """One classical competitor's result, as the table's columns."""
    return dict(
        w=w,
        wall_s=wall,
        steps=steps,
        rhs_evals=flow.nfev,
        jac_evals=njev,
        status=status,
        peak_MiB=mem.peak_mib,
    )


def run_scipy(method, X, y, log_t1, budget_s):
    flow = LogTimeExpFlow(X, y, Budget(budget_s))
    method, _, jac = method.partition("+")
    kw = {"jac": flow.jac} if jac else {}
    status = "ok"
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        try:
            s1 = log_t1 + math.log1p(math.exp(-log_t1))  # s = log(1 + t), as fb.LogTime
            sol = scipy.integrate.solve_ivp(
                flow.rhs,
                (0.0, s1),
                np.zeros(X.shape[1]),
                method=method,
                rtol=1e-10,
                atol=1e-12,
                **kw,
            )
            w, steps, njev = sol.y[:, -1], sol.t.size - 1, sol.njev
            if not sol.success:
                status = f"failed: {sol.message}"
        except BudgetExceeded:
            w, steps, njev, status = None, None, None, "timeout"
        wall = time.perf_counter() - t0
    return _row(w, wall, steps, flow, njev, status, mem)


def run_cvode(X, y, log_t1, budget_s):
    """SUNDIALS CVODE (scikit-sundae): BDF, orders 1-5, dense LAPACK linear solves with the
    analytic Jacobian, rtol 1e-10, atol 1e-12, the same log-time field as scipy's."""
    from sksundae.cvode import CVODE

    flow = LogTimeExpFlow(X, y, Budget(budget_s))

    def rhsfn(s, w, wdot):
        wdot[:] = flow.rhs(s, w)

    njev = [0]

    def jacfn(s, w, wdot, JJ):
        njev[0] += 1
        JJ[:, :] = flow.jac(s, w)

    solver = CVODE(
        rhsfn,
        method="BDF",
        rtol=1e-10,
        atol=1e-12,
        linsolver="lapackdense" if X.shape[1] >= 100 else "dense",
        jacfn=jacfn,
        max_num_steps=10**7,
    )
    status = "ok"
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        s1 = log_t1 + math.log1p(math.exp(-log_t1))
        try:
            sol = solver.solve(np.array([0.0, s1]), np.zeros(X.shape[1]))
            w, steps = np.asarray(sol.y[-1]), len(sol.t) - 1  # every step is returned
            if not sol.success:
                status = f"failed: {sol.message}"
        except BudgetExceeded:
            w, steps, status = None, None, "timeout"
        wall = time.perf_counter() - t0
    return _row(w, wall, steps, flow, njev[0], status, mem)


# --------------------------------------------------------------------------- flowbias


def run_flowbias(X, y, log_t1, solver=None, **kw):
    d = X.shape[1]
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    log_t1 = jnp.asarray(log_t1)

    def go():
        return fb.flowsolve(
            fb.LinearModel(jnp.zeros(d)),
            fb.ExponentialLoss(),
            Xj,
            yj,
            log_t1=log_t1,
            num_save=2,
            solver=solver,
            throw=False,
            **kw,
        )

    sol, wall, compile_s, peak = time_jax(go)
    used = fb.default_solver(stiff=False) if solver is None else solver
    return dict(
        w=np.asarray(sol.w_final),
        wall_s=wall,
        compile_s=compile_s,
        steps=int(sol.num_steps),
        rhs_evals=rhs_evaluations(used, sol.stats),
        status="ok" if bool(sol.success) else "failed",
        peak_MiB=peak,
    )


def gradient_bandwidth(X, y, reps: int = 50):
    """Seconds and bytes/s of one log-time gradient evaluation (two products with X) in
    flowbias's vector field, jitted, data passed as arguments."""
    model, loss = fb.LinearModel(jnp.zeros(X.shape[1])), fb.ExponentialLoss()
    flow, time_ = fb.GradientFlow(), fb.LogTime()
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    @jax.jit
    def many(w, X, y):
        def body(_, w):
            return w + 1e-30 * flow.vector_field(jnp.asarray(5.0), w, model, loss, time_, X, y)

        return jax.lax.fori_loop(0, reps, body, w)

    w = jnp.full(X.shape[1], 1e-3)
    jax.block_until_ready(many(w, Xj, yj))
    t0 = time.perf_counter()
    jax.block_until_ready(many(w, Xj, yj))
    per_eval = (time.perf_counter() - t0) / reps
    bytes_moved = 2 * X.size * X.itemsize  # X is read twice: X w and X^T g
    return per_eval, bytes_moved / per_eval


def numpy_gradient_seconds(X, y, reps: int = 50):
    Z = y[:, None] * X
    w = np.full(X.shape[1], 1e-3)
    t0 = time.perf_counter()
    for _ in range(reps):
        Z.T @ np.exp(5.0 - Z @ w)
    return (time.perf_counter() - t0) / reps


# --------------------------------------------------------------------------- driver


def bench_size(n, d, args, rows, summary, kernel_rows):
    print(f"\n=== (n, d) = ({n}, {d}) ===", flush=True)
    X, y = make_problem(n, d)
    svm = fb.hard_margin_svm(X, y)
    w_hat = np.array(svm.w) / np.linalg.norm(np.asarray(svm.w))
    eta = n / np.linalg.eigvalsh(X.T @ X)[-1]
    t_gd_end = eta * args.gd_steps
    horizons = {"t=1e4": math.log(1e4), "t=1e100": math.log(1e100)}

    def ref_direction(log_t1):
        return run_flowbias(
            X, y, log_t1, solver=dfx.Dopri8(), rtol=1e-12, atol=1e-12, max_steps=1_000_000
        )["w"]

    def add(task, method, r, log_t1):
        r = dict(r)
        w = r.pop("w")
        ok = w is not None and np.all(np.isfinite(w))
        row = dict(
            n=n,
            d=d,
            task=task,
            method=method,
            t1=f"{math.exp(log_t1):.3g}" if log_t1 < 700 else f"e^{log_t1:.0f}",
            **r,
        )
        row["one_minus_cos"] = one_minus_cos(w, w_hat) if ok else None
        row["dir_err_vs_ref"] = direction_error(w, refs[log_t1]) if ok else None
        rows.append(row)
        print(
            f"  {task:>10} {method:>18}: {row['status']:>8} {row['wall_s']:8.3f} s  "
            f"1-cos {row['one_minus_cos']}",
            flush=True,
        )
        return row

    refs = {}
    gd = None
    if not args.skip_gd:
        k_1e4 = math.ceil(1e4 / eta)
        record = max(1, args.gd_steps // 1000)
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            status = "ok"
            try:
                w_gd, snaps = numpy_gd(X, y, eta, args.gd_steps, record, Budget(args.gd_budget))
            except BudgetExceeded:
                status, w_gd, snaps = "timeout", None, []
            gd_wall = time.perf_counter() - t0
        if status == "ok":
            eps = one_minus_cos(w_gd, w_hat)
            # time to t = 1e4 from the per-step cost (GD's cost is uniform in k)
            gd_1e4 = gd_wall * min(k_1e4, args.gd_steps) / args.gd_steps
            w_1e4 = min(snaps, key=lambda s: abs(s[0] - k_1e4))[1]
            gd = dict(eps=eps, wall=gd_wall, k_1e4=k_1e4, w_1e4=w_1e4)
            refs[math.log(1e4)] = ref_direction(math.log(1e4))
            log_t_gd = math.log(t_gd_end)
            refs[log_t_gd] = ref_direction(log_t_gd)
            add(
                "t=1e4",
                "numpy GD",
                dict(
                    w=w_1e4,
                    wall_s=gd_1e4,
                    steps=k_1e4,
                    rhs_evals=k_1e4,
                    status="ok",
                    peak_MiB=mem.peak_mib,
                ),
                math.log(1e4),
            )
            add(
                "GD eps",
                "numpy GD",
                dict(
                    w=w_gd,
                    wall_s=gd_wall,
                    steps=args.gd_steps,
                    rhs_evals=args.gd_steps,
                    status="ok",
                    peak_MiB=mem.peak_mib,
                ),
                log_t_gd,
            )
            print(
                f"  GD: eta = {eta:.3g}, {args.gd_steps} steps reach t = {t_gd_end:.3g}, "
                f"eps = 1 - cos = {eps:.3e}",
                flush=True,
            )

    for log_t1 in horizons.values():
        refs.setdefault(log_t1, ref_direction(log_t1))

    # flowbias: the three horizons
    fb_rows = {}
    for task, log_t1 in horizons.items():
        fb_rows[task] = add(task, "flowbias", run_flowbias(X, y, log_t1), log_t1)
    if gd is not None:
        log_t1 = math.log(t_gd_end)
        for _ in range(100):
            r = run_flowbias(X, y, log_t1)
            if one_minus_cos(r["w"], w_hat) <= gd["eps"]:
                break
            log_t1 += math.log(10.0)
        refs.setdefault(log_t1, ref_direction(log_t1))
        horizons["GD eps"] = log_t1
        fb_rows["GD eps"] = add("GD eps", "flowbias", r, log_t1)

    if not args.skip_scipy:
        for task, log_t1 in horizons.items():
            for method in args.scipy_methods:
                add(task, f"scipy {method}", run_scipy(method, X, y, log_t1, args.budget), log_t1)
            if _have_cvode():
                add(task, "CVODE BDF+jac", run_cvode(X, y, log_t1, args.budget), log_t1)

    # ratios against flowbias, per task
    for row in rows:
        if row["n"] == n and row["d"] == d:
            base = fb_rows.get(row["task"])
            if base is not None and row["wall_s"] is not None:
                row["x_vs_flowbias"] = row["wall_s"] / base["wall_s"]

    # one gradient evaluation: time and bandwidth
    per_eval, bandwidth = gradient_bandwidth(X, y)
    np_eval = numpy_gradient_seconds(X, y)
    kind = jax.devices()[0].device_kind
    peak = args.peak_bandwidth or PEAK_BANDWIDTH.get(kind)
    kernel_rows.append(
        dict(
            n=n,
            d=d,
            device=kind,
            flowbias_eval_us=per_eval * 1e6,
            numpy_eval_us=np_eval * 1e6,
            GB_per_s=bandwidth / 1e9,
            fraction_of_peak=None if peak is None else bandwidth / peak,
        )
    )
    for row in rows:
        if row["n"] == n and row["d"] == d and row.get("rhs_evals"):
            unit = per_eval if row["method"] == "flowbias" else np_eval
            row["floor_s"] = row["rhs_evals"] * unit
    if gd is not None:
        summary.append(
            dict(
                n=n,
                d=d,
                eps=gd["eps"],
                t_flowbias=fb_rows["GD eps"]["t1"],
                gd_over_flowbias=gd["wall"] / fb_rows["GD eps"]["wall_s"],
                best_scipy_over_flowbias_1e100=_best_scipy(rows, n, d, "t=1e100", fb_rows),
            )
        )


def _have_cvode() -> bool:
    try:
        import sksundae.cvode  # noqa: F401
    except ImportError:
        print("  (scikit-sundae not installed: no CVODE rows; pip install scikit-sundae)")
        return False
    return True


def _best_scipy(rows, n, d, task, fb_rows):
    walls = [
        r["wall_s"]
        for r in rows
        if r["n"] == n
        and r["d"] == d
        and r["task"] == task
        and r["method"].startswith(("scipy", "CVODE"))
        and r["status"] == "ok"
    ]
    return min(walls) / fb_rows[task]["wall_s"] if walls else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["200x100", "2000x1000"])
    parser.add_argument("--gd-steps", type=int, default=100_000)
    parser.add_argument("--gd-budget", type=float, default=1200.0)
    parser.add_argument("--budget", type=float, default=300.0, help="per scipy run, seconds")
    parser.add_argument(
        "--scipy-methods",
        nargs="+",
        default=["LSODA", "LSODA+jac", "BDF", "BDF+jac", "DOP853"],
        help="'+jac': give the analytic Jacobian (default: finite differences)",
    )
    parser.add_argument("--skip-gd", action="store_true")
    parser.add_argument("--skip-scipy", action="store_true")
    parser.add_argument(
        "--peak-bandwidth",
        type=float,
        default=None,
        help="device peak memory bandwidth in bytes/s (default: a table)",
    )
    parser.add_argument("--name", default="separable")
    args = parser.parse_args()

    rows, summary, kernel_rows = [], [], []
    for size in args.sizes:
        n, d = (int(v) for v in size.lower().split("x"))
        bench_size(n, d, args, rows, summary, kernel_rows)

    cols = [
        "n",
        "d",
        "task",
        "t1",
        "method",
        "status",
        "wall_s",
        "compile_s",
        "steps",
        "rhs_evals",
        "jac_evals",
        "floor_s",
        "one_minus_cos",
        "dir_err_vs_ref",
        "peak_MiB",
        "x_vs_flowbias",
    ]
    print("\n" + markdown_table(rows, cols))
    if summary:
        print(
            "\n"
            + markdown_table(
                summary,
                [
                    "n",
                    "d",
                    "eps",
                    "t_flowbias",
                    "gd_over_flowbias",
                    "best_scipy_over_flowbias_1e100",
                ],
            )
        )
    print(
        "\n"
        + markdown_table(
            kernel_rows,
            [
                "n",
                "d",
                "device",
                "flowbias_eval_us",
                "numpy_eval_us",
                "GB_per_s",
                "fraction_of_peak",
            ],
        )
    )
    path = write_results(
        args.name, dict(config=vars(args), rows=rows, summary=summary, gradient_kernel=kernel_rows)
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
