"""`flowbias tour`: the catalogue of results, each confronted with its prediction.

Each entry integrates a flow on built-in data, computes the predicted limit independently,
and reports (result, predicted, measured, error, tolerance, pass). Figures go to PNG files
and everything to `report.json`.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure as _save
from .tour_asymptotics import ASYMPTOTIC_ENTRIES
from .tour_diagonal import DIAGONAL_ENTRIES
from .tour_finite_steps import FINITE_STEP_ENTRIES
from .tour_geometry import GEOMETRY_ENTRIES
from .tour_homogeneous import HOMOGENEOUS_ENTRIES
from .tour_matrix import MATRIX_ENTRIES
from .tour_saddles import SADDLE_ENTRIES
from .tour_single_neuron import SINGLE_NEURON_ENTRIES


def _l1(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    n, d = (10, 40) if quick else (20, 100)
    X, y, w0 = problems.gaussian_regression(n, d, 0)
    model = fb.LinearModel(w0)
    sol = fb.flowsolve(model, fb.SquareLoss(), X, y)
    limit = fb.predicted_limit(model, fb.SquareLoss(), X, y)
    err = float(fb.relative_error(sol.w_final, limit.w))
    Q, _ = np.linalg.qr(X.T)  # orthonormal basis of rowspace(X)
    dev = np.asarray(sol.w) - w0
    off = float(np.max(np.linalg.norm(dev - (dev @ Q) @ Q.T, axis=-1)))
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.9))
    plotting.plot_overview(sol, limit.w, direction=False, axes=axes[:3])
    plotting.plot_rowspace_deviation(sol, X, w0, ax=axes[3])
    axes[3].set_title("distance from w0 + rowspace(X)")
    fig.suptitle(f"L1: {plotting.run_title(sol)}; limit argmin ||w - w0|| s.t. Xw = y")
    _save(fig, out / "L1_min_norm.png")
    return [
        Check(
            "L1 limit, square loss from w0",
            "argmin ||w - w0|| s.t. Xw = y",
            f"rel. error {err:.2e}",
            err,
            1e-8,
        ),
        Check("L1 path stays in w0 + rowspace(X)", "0", f"max off-rowspace {off:.2e}", off, 1e-10),
    ]


def _l2(loss_name: str, t1: float) -> Callable[[Path, bool], list[Check]]:
    def run(out: Path, quick: bool) -> list[Check]:
        import matplotlib.pyplot as plt

        import flowbias as fb
        from flowbias import plotting, problems

        n, d = (20, 5) if quick else (38, 10)
        X, y = problems.gaussian_separable(n, d, 1)
        loss = fb.ExponentialLoss() if loss_name == "exp" else fb.LogisticLoss()
        model = fb.LinearModel(np.zeros(d))
        limit = fb.predicted_limit(model, loss, X, y)
        sol = fb.flowsolve(model, loss, X, y, t1)
        err = float(fb.agreement(sol.w_final, limit))
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
        plotting.plot_overview(sol, limit.w, direction=True, axes=axes)
        # The theory on the panel: 1 - cos closes like 1/log^2 t (up to log log t factors;
        # Soudry et al. 2018), drawn through the last point.
        log10_t = np.linspace(2.0, np.log10(t1), 100)
        c = err * np.log(t1) ** 2
        axes[2].plot(
            log10_t,
            c / (log10_t * np.log(10.0)) ** 2,
            ":",
            color="0.3",
            label=r"$\propto 1/\log^2 t$ (theory)",
        )
        axes[2].legend(fontsize="small")
        fig.suptitle(f"L2: {plotting.run_title(sol)}; direction -> hard-margin SVM")
        _save(fig, out / f"L2_{loss_name}_t{int(np.log10(t1))}.png")
        return [
            Check(
                f"L2 direction, {loss_name} loss, t = {t1:.0e}",
                "hard-margin SVM direction",
                f"1 - cos {err:.2e} in {int(sol.num_steps)} steps",
                err,
                1e-4,
            ),
        ]

    return run


CATALOGUE: list[Entry] = [
    Entry("L1", "least squares from w0: nearest interpolator", _l1, in_quick_tour=True),
    Entry(
        "L2", "exponential loss, separable: SVM direction", _l2("exp", 1e100), in_quick_tour=True
    ),
    Entry("L2", "logistic loss, separable: SVM direction", _l2("logistic", 1e100)),
    Entry("L2", "exponential loss at t = 1e300", _l2("exp", 1e300)),
    *ASYMPTOTIC_ENTRIES,
    *DIAGONAL_ENTRIES,
    *SADDLE_ENTRIES,
    *MATRIX_ENTRIES,
    *HOMOGENEOUS_ENTRIES,
    *GEOMETRY_ENTRIES,
    *SINGLE_NEURON_ENTRIES,
    *FINITE_STEP_ENTRIES,
]


def _table(checks: list[Check]) -> str:
    head = ("result", "predicted", "measured", "error", "tolerance", "pass")
    rows = [
        (
            c.result,
            c.predicted,
            c.measured,
            f"{c.error:.2e}",
            f"{c.tolerance:.0e}",
            "yes" if c.passed else "NO",
        )
        for c in checks
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    return "\n".join(lines + [fmt.format(*r) for r in rows])


def _run_entry(index: int, out: str, quick: bool) -> tuple[list[Check], float]:
    """Run catalogue entry `index` (in a worker process: the entries are independent)."""
    import matplotlib

    matplotlib.use("Agg")
    t0 = time.perf_counter()
    checks = CATALOGUE[index].run(Path(out), quick)
    # Each compiled program holds a few hundred memory mappings until JAX's caches are
    # cleared; a worker running many entries would reach the kernel's limit (65530) and XLA
    # would abort. The entries share no compiled programs worth keeping.
    import jax

    jax.clear_caches()
    return checks, time.perf_counter() - t0


def _default_jobs() -> int:
    # Compiling a flow is single-threaded (tracing in Python, then XLA), and compiling is most
    # of the tour's time: one process per core, up to 4 (beyond that the longest entry sets
    # the wall time).
    return max(1, min(os.cpu_count() or 1, 4))


def select_entries(rows: str | None, quick: bool) -> list[int]:
    """The indices of the catalogue entries to run: those of the rows named in `rows`
    (comma-separated, e.g. `L1,D2`, or `all`), else every entry for the full tour and the
    entries marked `in_quick_tour` for the quick one."""
    if rows is None:
        return [i for i, e in enumerate(CATALOGUE) if e.in_quick_tour or not quick]
    if rows.strip().lower() == "all":
        return list(range(len(CATALOGUE)))
    wanted = {r.strip().upper() for r in rows.split(",") if r.strip()}
    known = {e.row for e in CATALOGUE}
    unknown = sorted(wanted - known)
    if unknown or not wanted:
        raise ValueError(
            f"`--rows` names rows the tour does not have: {', '.join(unknown) or rows!r}. "
            f"Fix: choose among {', '.join(sorted(known))}, or `all`."
        )
    return [i for i, e in enumerate(CATALOGUE) if e.row in wanted]


def run_tour(
    out: Path,
    *,
    quick: bool = False,
    rows: str | None = None,
    progress: bool = True,
    jobs: int | None = None,
) -> bool:
    """Run the catalogue's entries; print the table; write figures and `report.json` to `out`.

    `quick` runs smaller problems, and by default only the entries marked for the quick tour;
    `rows` picks entries by row (see [`select_entries`][]). `jobs` worker processes run the
    entries side by side (default: one per core, up to 4; 1 runs them in this process).
    Returns whether every check passed."""
    import matplotlib

    matplotlib.use("Agg")
    from tqdm.auto import tqdm

    jobs = _default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"`jobs` must be >= 1; got {jobs}.")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    started = time.time() - 1.0  # file times: figures of this run, not of an earlier one
    results: dict[int, tuple[list[Check], float]] = {}
    chosen = select_entries(rows, quick)
    bar = tqdm(total=len(chosen), desc="flowbias tour", disable=not progress)
    if jobs == 1:
        for i in chosen:
            results[i] = _run_entry(i, str(out), quick)
            bar.update()
    else:
        # "spawn": JAX's runtime threads do not survive a fork.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_entry, i, str(out), quick): i for i in chosen}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    bar.close()
    checks = [c for i in chosen for c in results[i][0]]
    timings = {f"{CATALOGUE[i].row}: {CATALOGUE[i].title}": results[i][1] for i in chosen}
    print(_table(checks))
    ok = all(c.passed for c in checks)
    report = {
        "quick": quick,
        "all_passed": ok,
        "wall_time_s": time.perf_counter() - start,
        "jobs": jobs,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "timings_s": timings,
        "checks": [dataclasses.asdict(c) | {"passed": c.passed} for c in checks],
        "figures": sorted(p.name for p in out.glob("*.png") if p.stat().st_mtime >= started),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\n{sum(c.passed for c in checks)}/{len(checks)} checks passed; "
        f"figures and report.json in {out}/"
    )
    return ok
