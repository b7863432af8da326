"""Tour entries D6 (saddle-to-saddle dynamics at vanishing initialisation, incremental learning)
and D7 (label noise and early stopping)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _d6_saddles(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems
    from flowbias.saddles import compare_staircase, fit_inverse_log_rate, plateau_midpoints

    X, y = problems.saddle_switch_off()
    stc = fb.saddle_to_saddle(X, y, exact=True)
    T1 = 1.5 * float(stc.times[-1])
    ts = np.unique(np.concatenate([np.linspace(0, T1, 500), plateau_midpoints(stc)]))
    alphas = (1e-10, 1e-30, 1e-100, 1e-300)
    sols, cmps = {}, {}
    for a in alphas:
        model = fb.RescaledDiagonalNetwork(X.shape[1], alpha=a)
        sols[a] = fb.flowsolve(model, fb.SquareLoss(), X, y, T1, flow=fb.DualFlow(), ts=ts)
        cmps[a] = compare_staircase(sols[a], stc)
    c = cmps[1e-100]
    rate = fit_inverse_log_rate(
        [cmps[a].log_inverse_alpha for a in alphas], [cmps[a].max_jump_error for a in alphas]
    )
    ((k, i, tau_off),) = c.switch_offs
    off_err = abs(tau_off - stc.times[k]) / stc.times[k]
    finite = bool(np.all(np.isfinite(np.asarray(sols[1e-300].w))))

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    plotting.plot_staircase(stc, [sols[1e-10], sols[1e-30]], ax=axes[0], t_max=3.2)
    lams = np.array([cmps[a].log_inverse_alpha for a in alphas])
    errs = np.array([cmps[a].max_jump_error for a in alphas])
    axes[1].loglog(1 / lams, errs, "o-", label="max jump-time error (measured)")
    axes[1].loglog(1 / lams, errs[0] * lams[0] / lams, "k--", lw=0.8, label="∝ 1/log(1/α)")
    from matplotlib.ticker import NullFormatter

    axes[1].xaxis.set_minor_formatter(NullFormatter())  # the minor labels overlap
    axes[1].set_xlabel(r"$1/\log(1/\alpha)$ (log scale)")
    axes[1].set_ylabel("relative error of jump times (log scale)")
    axes[1].set_title(f"jump times → staircase at rate {rate:.2f} in 1/log(1/α)")
    axes[1].legend(fontsize="small")
    save_figure(fig, out / "D6_saddle_to_saddle.png")

    checks = [
        Check(
            "D6 jump times, alpha = 1e-100 (3 x 4, a switch-off)",
            "Pesme-Flammarion staircase (exact rationals)",
            f"max rel. error {c.max_jump_error:.2e}",
            c.max_jump_error,
            1e-2,
        ),
        # Mid-plateau, the coordinates still to move are a power of alpha away from the saddle
        # (the power is the distance to the next jump in rescaled time): at alpha = 1e-100 far
        # below the solver's error, so the tolerance is that of the solve.
        Check(
            "D6 plateau values, alpha = 1e-100",
            "saddles: sign-constrained least squares",
            f"max rel. error {c.max_plateau_error:.2e}",
            c.max_plateau_error,
            1e-8,
        ),
        Check(
            "D6 convergence rate of jump times in 1/log(1/alpha)",
            "first order (1)",
            f"fitted {rate:.3f}",
            abs(rate - 1.0),
            0.2,
        ),
        Check(
            f"D6 coordinate {i} switched off at jump {k}, alpha = 1e-100",
            f"tau = {float(stc.times[k]):.4f}",
            f"flow {tau_off:.4f}",
            off_err,
            2e-2,
        ),
        Check(
            "D6 flow at alpha = 1e-300 finite",
            "no overflow (log-form link)",
            "finite" if finite else "non-finite",
            0.0 if finite else np.inf,
            0.0,
        ),
    ]
    n, d = (8, 30) if quick else (20, 100)
    rng = np.random.default_rng(11)
    Xs = rng.normal(size=(n, d))
    w_star = np.zeros(d)
    w_star[:4] = [2.0, -1.5, 1.0, 0.5]
    ys = Xs @ w_star
    last = fb.saddle_to_saddle(Xs, ys).final
    ref = np.asarray(fb.min_l1_interpolator(Xs, ys))
    err = float(np.linalg.norm(last - ref) / np.linalg.norm(ref))
    checks.append(
        Check(
            f"D6 last saddle, {n} x {d} sparse regression",
            "min-l1 interpolator (LP)",
            f"rel. error {err:.2e}",
            err,
            1e-6,
        )
    )
    return checks


def _first_rises(jumps) -> list[int]:
    order: list[int] = []
    for c in jumps.coordinates[jumps.directions == 1]:
        if int(c) not in order:
            order.append(int(c))
    return order


def _d6_incremental(out: Path, quick: bool) -> list[Check]:
    import flowbias as fb
    from flowbias.saddles import locate_jumps

    # Sparse regression with n > d: the staircase learns the support one coordinate at a time.
    rng = np.random.default_rng(5)
    n, d = 40, 10
    X = rng.normal(size=(n, d))
    w_star = np.zeros(d)
    w_star[[3, 7, 1, 5]] = [4.0, -2.0, 1.0, 0.5]
    y = X @ w_star
    stc = fb.saddle_to_saddle(X, y)
    predicted = [i for e in stc.entering() for i in e]
    T1 = 1.5 * float(stc.times[-1])
    two = fb.flowsolve(
        fb.RescaledDiagonalNetwork(d, alpha=1e-30),
        fb.SquareLoss(),
        X,
        y,
        T1,
        flow=fb.DualFlow(),
        ts=np.linspace(0, T1, 600),
    )
    order2 = _first_rises(locate_jumps(two, level=1e-2))
    three = fb.flowsolve(
        fb.DiagonalNetwork.uniform(1e-3, d, depth=3),
        fb.SquareLoss(),
        X,
        y,
        flow=fb.DualFlow(),
        ts=np.geomspace(1e-2, 1e6, 800),
    )
    order3 = _first_rises(locate_jumps(three, level=1e-2))

    def mismatches(order):
        return float(
            sum(a != b for a, b in zip(order, predicted, strict=False))
            + abs(len(order) - len(predicted))
        )

    return [
        Check(
            "D6 incremental learning, depth 2, alpha = 1e-30 (40 x 10)",
            f"order {predicted} (staircase)",
            f"flow {order2}",
            mismatches(order2),
            0.0,
        ),
        Check(
            "D6 incremental learning, depth 3, alpha = 1e-3 (flow)",
            f"order {predicted} (depth-2 staircase)",
            f"flow {order3}",
            mismatches(order3),
            0.0,
        ),
    ]


def _d7_early_stopping(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias.early_stopping import early_stopping, lasso_path, plot_test_error, ridge_path

    rng = np.random.default_rng(0)
    n, d, m, sigma = 20, 40, 2000, 0.5
    w_star = np.zeros(d)
    w_star[:3] = [2.0, -1.5, 1.0]
    X, X_test = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    y = X @ w_star + sigma * rng.normal(size=n)
    y_test = X_test @ w_star + sigma * rng.normal(size=m)
    ts = np.geomspace(1e-2, 1e4, 200)
    flows = {}
    for alpha in (1e-3, 1.0):
        sol = fb.flowsolve(
            fb.DiagonalNetwork.uniform(alpha, d), fb.SquareLoss(), X, y, flow=fb.DualFlow(), ts=ts
        )
        flows[alpha] = early_stopping(sol, X_test, y_test, label=f"diagonal net, α = {alpha:g}")
    lams = np.geomspace(1e-6, 10, 121)
    lasso = lasso_path(X, y, X_test, y_test, lams)
    ridge = ridge_path(X, y, X_test, y_test, lams)
    tiny = fb.flowsolve(
        fb.DiagonalNetwork.uniform(1e-30, d), fb.SquareLoss(), X, y, flow=fb.DualFlow()
    )
    l1 = np.asarray(fb.min_l1_interpolator(X, y))
    err_tiny = float(np.mean((X_test @ np.asarray(tiny.w_final) - y_test) ** 2))
    err_l1 = float(np.mean((X_test @ l1 - y_test) ** 2))

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    plot_test_error(list(flows.values()), ax=axes[0], x_label=r"time $t$ (log scale)")
    axes[0].set_title(f"flows on noisy sparse regression ({n} x {d}, σ = {sigma}): test error")
    plot_test_error([lasso, ridge], ax=axes[1], x_label=r"penalty $\lambda$ (log scale)")
    axes[1].set_title("the statistician's paths: lasso and ridge")
    save_figure(fig, out / "D7_early_stopping.png")
    small = flows[1e-3]
    gain = small.best_error / small.final_error
    rel = abs(err_tiny - err_l1) / err_l1
    return [
        # The alpha = 1e-30 limit is the min-l1 interpolator up to the solver's error (see D3),
        # so their test errors agree to it.
        Check(
            "D7 alpha = 1e-30 interpolator's test error",
            "that of the min-l1 interpolator (LP)",
            f"rel. diff {rel:.2e}",
            rel,
            1e-8,
        ),
        Check(
            "D7 early stopping, alpha = 1e-3, sigma = 0.5",
            "best test error along the path < interpolator's",
            f"best {small.best_error:.3f} at t = {small.best_time:.3g}, final "
            f"{small.final_error:.3f}; lasso best {lasso.best_error:.3f}",
            gain,
            0.95,
        ),
    ]


SADDLE_ENTRIES = [
    Entry("D6", "saddle-to-saddle dynamics as alpha -> 0", _d6_saddles, in_quick_tour=True),
    Entry("D6", "incremental learning, depths 2 and 3", _d6_incremental),
    Entry("D7", "label noise and early stopping", _d7_early_stopping),
]
