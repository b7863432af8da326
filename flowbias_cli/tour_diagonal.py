"""Tour entries for diagonal linear networks (catalogue rows D1-D4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _sparse_problem(n: int, d: int, k: int, seed: int):
    from flowbias import problems

    return problems.sparse_regression(n, d, k, seed)


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _d1_tied(out: Path, quick: bool) -> list[Check]:
    import flowbias as fb

    rng = np.random.default_rng(4)
    n, d = (6, 20) if quick else (10, 50)
    X = rng.normal(size=(n, d))
    y = X @ np.abs(rng.normal(size=d))  # reachable with w > 0
    model = fb.DiagonalNetwork.uniform(0.5, d, tied=True)
    sol = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow())
    limit = fb.predicted_limit(model, fb.SquareLoss(), X, y)
    err = _rel(sol.w_final, limit.w)
    return [
        Check(
            "D1 tied u*u, alpha = 0.5",
            "argmin sum w log(w/a^2) - w s.t. Xw = y",
            f"rel. error {err:.2e}",
            err,
            1e-8,
        )
    ]


def _d2_depth2(out: Path, quick: bool) -> list[Check]:
    import flowbias as fb

    n, d = (10, 40) if quick else (20, 100)
    X, y, _ = _sparse_problem(n, d, 3, 0)
    checks = []
    for alpha in (1.0, 1e-2) if quick else (100.0, 1.0, 1e-2, 1e-4):
        model = fb.DiagonalNetwork.uniform(alpha, d)
        limit = fb.predicted_limit(model, fb.SquareLoss(), X, y)
        dual = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow())
        err = _rel(dual.w_final, limit.w)
        checks.append(
            Check(
                f"D2 u*u - v*v, alpha = {alpha:g} (dual flow)",
                "argmin Q_alpha s.t. Xw = y (dual Newton)",
                f"rel. error {err:.2e}",
                err,
                1e-8,
            )
        )
    # The primal flow (2d parameters, implicit steps cost O(d^3)) on a smaller problem.
    X, y, _ = _sparse_problem(10, 40, 3, 1)
    model = fb.DiagonalNetwork.uniform(1e-2, 40)
    primal = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.GradientFlow())
    dual = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow())
    err = _rel(primal.w_final, dual.w_final)
    checks.append(
        Check(
            "D2 primal flow on (u, v) = dual flow, alpha = 0.01, 10 x 40",
            "same limit",
            f"rel. diff {err:.2e}",
            err,
            1e-8,
        )
    )
    return checks


def _d3_regimes(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting

    n, d = (10, 40) if quick else (20, 100)
    X, y, w_star = _sparse_problem(n, d, 2 if quick else 3, 0)
    w_l1 = np.asarray(fb.min_l1_interpolator(X, y))
    w_l2 = np.asarray(fb.min_l2_interpolator(X, y))
    tiny = fb.flowsolve(
        fb.DiagonalNetwork.uniform(1e-30, d), fb.SquareLoss(), X, y, flow=fb.DualFlow()
    )
    big = fb.flowsolve(
        fb.DiagonalNetwork.uniform(100.0, d), fb.SquareLoss(), X, y, flow=fb.DualFlow()
    )
    e1, e2 = _rel(tiny.w_final, w_l1), _rel(big.w_final, w_l2)
    # The kernel regime sets in at alpha^D ~ 1e3-1e6: alpha = 100 at depth 2, 10 at depth 3.
    # (At depth 3 and alpha >= 50 the vmapped implicit solver rejects every step, although
    # the same run alone converges: a sweep flags it, and the check below would too.)
    sweep_alphas = {
        2: np.logspace(-4, 2, 7 if quick else 13),
        3: np.logspace(-4, 1, 6 if quick else 11),
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    limits, failed = {}, []
    for depth, alphas in sweep_alphas.items():
        sols = fb.alpha_sweep(alphas, X, y, depth=depth, flow=fb.DualFlow())
        limits[depth] = np.asarray(sols.w_final)
        failed += [
            f"depth {depth}, alpha {a:.0e}"
            for a, ok in zip(alphas, np.asarray(sols.success), strict=True)
            if not ok
        ]
        plotting.plot_regime_distances(
            alphas, limits[depth], w_l1, w_l2, ax=axes[depth - 2], label=f"depth {depth}"
        )
        axes[depth - 2].set_title(f"depth {depth}: limit vs min-l1 / min-l2")
    rng = np.random.default_rng(7)
    X_test = rng.normal(size=(200, d))
    y_test = X_test @ w_star
    for depth, alphas in sweep_alphas.items():
        plotting.plot_test_error(
            alphas, limits[depth], X_test, y_test, ax=axes[2], label=f"depth {depth} limit"
        )
    for w_ref, name, style in (
        (w_l1, "min-l1 interpolator", "--"),
        (w_l2, "min-l2 interpolator", ":"),
    ):
        axes[2].axhline(
            float(np.mean((X_test @ w_ref - y_test) ** 2)),
            color="0.4",
            linestyle=style,
            linewidth=1.0,
            label=name,
        )
    axes[2].legend(fontsize="small")
    axes[2].set_title(
        f"test error, {X_test.shape[0]} fresh points, {int(np.sum(w_star != 0))}-sparse truth"
    )
    fig.suptitle(
        f"D3: diagonal net u^D - v^D, square loss, n x d = {n} x {d}, dual flow to "
        "convergence, alpha = 1e-4 ... 1e2: rich (min-l1) to kernel (min-l2)"
    )
    save_figure(fig, out / "D3_regimes.png")
    n_runs = sum(a.size for a in sweep_alphas.values())
    return [
        # Q_alpha = log(1/alpha^2) (||w||_1 + eps sum |w| (log |w| - 1)) + O(alpha^2), and the
        # min-l1 interpolator of sparse data is a sharp minimum: an eps = 1/138 perturbation
        # does not move it. What is left is the solver's error (rtol 1e-10), hence 1e-8.
        Check(
            "D3 alpha = 1e-30 -> min-l1 (rich)",
            "argmin ||w||_1 s.t. Xw = y (LP)",
            f"rel. error {e1:.2e}",
            e1,
            1e-8,
        ),
        Check(
            "D3 alpha = 100 -> min-l2 (kernel)",
            "argmin ||w||_2 s.t. Xw = y",
            f"rel. error {e2:.2e}",
            e2,
            1e-5,
        ),
        Check(
            f"D3 alpha sweeps in the figure ({n_runs} runs, depths 2 and 3)",
            "every run converged",
            "all converged" if not failed else "not converged: " + ", ".join(failed),
            float(len(failed)),
            0.0,
        ),
    ]


def _d4_deep(out: Path, quick: bool) -> list[Check]:
    import flowbias as fb

    n, d = (10, 40) if quick else (20, 100)
    X, y, _ = _sparse_problem(n, d, 3, 0)
    checks = []
    for depth in (3,) if quick else (3, 4):
        model = fb.DiagonalNetwork.uniform(1e-2, d, depth=depth)
        limit = fb.predicted_limit(model, fb.SquareLoss(), X, y)
        sol = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.DualFlow())
        err = _rel(sol.w_final, limit.w)
        checks.append(
            Check(
                f"D4 depth {depth}, alpha = 0.01",
                "argmin Q_D (Legendre, Newton)",
                f"rel. error {err:.2e}",
                err,
                1e-6,
            )
        )
    return checks


DIAGONAL_ENTRIES = [
    Entry("D1", "tied diagonal network: entropy potential", _d1_tied),
    Entry("D2", "diagonal network depth 2: argmin Q_alpha", _d2_depth2, in_quick_tour=True),
    Entry("D3", "rich and kernel regimes", _d3_regimes),
    Entry("D4", "deeper diagonal networks", _d4_deep),
]
