"""Tour entries for homogeneous networks, margins and non-separable data (rows L5, M2-M4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _l5_polynomial_tail(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import problems

    X, y = problems.gaussian_separable(20, 3, 1)
    svm = np.asarray(fb.hard_margin_svm(X, y).w)
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    checks = []
    for k, style in ((1.0, "-"), (2.0, "--")):
        sol = fb.flowsolve(fb.LinearModel(np.zeros(3)), fb.PolynomialLoss(k), X, y, 1e100)
        limit = fb.predicted_limit(sol)
        W = np.asarray(sol.w)
        x = np.asarray(sol.log_ts) / np.log(10.0)
        ok = np.isfinite(x) & (np.linalg.norm(W, axis=1) > 0)
        to_path = np.asarray(fb.one_minus_cos(W[ok], limit.w))
        to_svm = np.asarray(fb.one_minus_cos(W[ok], svm))
        ax.semilogy(
            x[ok],
            np.maximum(to_path, 1e-32),
            style,
            color="C0",
            label=f"k = {k:g}: to the regularisation path's limit",
        )
        ax.semilogy(x[ok], to_svm, style, color="C1", label=f"k = {k:g}: to the SVM direction")
        err = float(fb.agreement(sol, limit))
        checks.append(
            Check(
                f"L5 polynomial tail (1 + m)^-{k:g}: direction",
                "argmin_{|u| <= 1} sum (z.u)^-k, not the SVM",
                f"1 - cos {err:.1e} (to the SVM {to_svm[-1]:.1e})",
                err,
                1e-10,
            )
        )
    ax.set_xlabel(r"$\log_{10} t$")
    ax.set_ylabel(r"$1 - \cos$ (log scale)")
    ax.legend(fontsize="small")
    ax.set_title(
        "L5: linear model, polynomial losses, n x d = 20 x 3, t1 = 1e100\n"
        "the direction follows the regularisation path, not the max margin (Ji et al. 2020)",
        fontsize="medium",
    )
    save_figure(fig, out / "L5_polynomial_tail.png")
    return checks


def _m2_deep_linear(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    n, d = (20, 5) if quick else (38, 10)
    X, y = problems.gaussian_separable(n, d, 1)
    depth = 3
    model = fb.DeepLinearNetwork.gaussian(0.5, d, depth=depth, width=d, seed=0)
    sol = fb.flowsolve(model, fb.ExponentialLoss(), X, y, 1e100)
    limit = fb.predicted_limit(sol)
    err = float(fb.agreement(sol, limit))
    path = fb.margin_path(sol)
    b = np.asarray(path.balancedness)
    drift = float(np.max(np.abs(b - b[0])) / np.max(np.asarray(path.layer_norms) ** 2))
    log_ts = np.asarray(sol.log_ts)
    align = np.array(
        [np.asarray(model.alignment([W[k] for W in sol.params]))[:-1] for k in range(len(log_ts))]
    )
    v0 = np.linalg.svd(np.asarray(sol.params[0][-1]))[2][0]
    w_hat = np.asarray(limit.w)
    v0_err = float(fb.one_minus_cos(v0 * np.sign(v0 @ w_hat), w_hat))
    late = log_ts > np.log(1e10)
    rate = float(np.polyfit(np.log(log_ts[late]), np.log(align[late, 0]), 1)[0])
    # The KKT certificate where the answer is known: the SVM factorised into balanced rank-one
    # layers has multipliers a / ||w_hat||^((2L-2)/L), a the SVM's dual weights.
    svm = fb.hard_margin_svm(X, y)
    r = float(np.linalg.norm(svm.w)) ** (1.0 / depth)
    us = [np.asarray(svm.w) / np.linalg.norm(svm.w)] + [np.eye(d)[0]] * (depth - 1) + [np.ones(1)]
    kkt_model = fb.DeepLinearNetwork([r * np.outer(us[j + 1], us[j]) for j in range(depth)])
    cert = fb.max_margin_kkt(kkt_model, kkt_model.init_params(), X, y)
    expected = np.asarray(svm.dual) / float(np.linalg.norm(svm.w)) ** ((2.0 * depth - 2) / depth)
    kkt_err = float(np.max(np.abs(np.asarray(cert.multipliers) - expected)) / np.max(expected))

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    plotting.plot_direction_error(sol, w_hat, ax=axes[0])
    axes[0].set_title("end-to-end w vs hard-margin SVM", fontsize="medium")
    x = log_ts / np.log(10.0)
    for j in range(align.shape[1]):
        axes[1].loglog(x[1:], align[1:, j], label=f"layer {j + 1}")
    axes[1].set_xlabel(r"$\log_{10} t$ (log scale)")
    axes[1].set_ylabel(r"$1 - \|W_j\|_2^2 / \|W_j\|_F^2$ (log scale)")
    axes[1].set_title(
        f"layers align to rank one (fit: $\\propto (\\log t)^{{{rate:.2f}}}$)", fontsize="medium"
    )
    axes[1].legend(fontsize="small")
    gamma = 1.0 / (float(np.linalg.norm(svm.w)) * depth ** (depth / 2))
    plotting.plot_margins(sol, max_margin=gamma, ax=axes[2])
    axes[2].set_title(r"margins $/\|\theta\|^3$ -> SVM margin $/ 3^{3/2}$", fontsize="medium")
    fig.suptitle(f"M2: {plotting.run_title(sol)} (Ji & Telgarsky 2019)")
    save_figure(fig, out / "M2_deep_linear.png")
    return [
        Check(
            "M2 deep linear (depth 3): end-to-end direction",
            "hard-margin SVM direction",
            f"1 - cos {err:.2e} at t = 1e100 in {int(sol.num_steps)} steps",
            err,
            1e-4,
        ),
        Check(
            "M2 first layer's top right singular vector",
            "hard-margin SVM direction",
            f"1 - cos {v0_err:.2e}; alignment residual ~ (log t)^{rate:.2f}",
            v0_err,
            1e-4,
        ),
        Check(
            "M2 balancedness ||W_j+1||^2 - ||W_j||^2",
            "conserved by gradient flow",
            f"relative drift {drift:.1e}",
            drift,
            1e-10,
        ),
        Check(
            "M2 KKT certificate at the factorised SVM",
            "multipliers = SVM dual / ||w_hat||^(4/3)",
            f"max relative difference {kkt_err:.1e}",
            kkt_err,
            1e-7,
        ),
    ]


def _m3_two_layer(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    X, y = problems.gaussian_separable(12, 3, 3)
    model = fb.TwoLayerNetwork.gaussian(0.5, 3, width=30, activation=fb.PowerReLU(2), seed=0)
    sol = fb.flowsolve(model, fb.ExponentialLoss(), X, y, 1e100)
    path = fb.margin_path(sol)
    fitted = np.asarray(path.fitted)
    sm = np.asarray(path.smoothed_margin)[fitted]
    drop = float(max(0.0, -np.min(np.diff(sm))) / np.max(np.abs(sm)))
    limit = fb.predicted_limit(sol)
    log_ts = np.asarray(sol.log_ts)
    late = np.flatnonzero(log_ts > np.log(1e10))[:: 2 if quick else 1]
    res = np.asarray(limit.agreement(np.asarray(sol.observable)[late]))
    rise = float(max(0.0, np.max(np.diff(res))) / res[0])
    rate = float(np.polyfit(np.log(log_ts[late]), np.log(res), 1)[0])

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    plotting.plot_margins(sol, ax=axes[0])
    axes[0].set_title("margins rise; the smoothed one never falls", fontsize="medium")
    plotting.plot_kkt_residuals(sol, every=4 if quick else 2, ax=axes[1])
    axes[1].set_title(
        f"distance to a max-margin KKT point (fit: $\\propto (\\log t)^{{{rate:.2f}}}$)",
        fontsize="medium",
    )
    fig.suptitle(f"M3: {plotting.run_title(sol)} (Lyu & Li 2020)")
    save_figure(fig, out / "M3_two_layer.png")
    return [
        Check(
            "M3 two-layer relu^2: smoothed margin after fitting",
            "non-decreasing (Lyu & Li)",
            f"largest relative drop {drop:.1e} over {sm.size} saved times",
            drop,
            1e-9,
        ),
        Check(
            "M3 two-layer relu^2: KKT residual, t in [1e10, 1e100]",
            "falls towards 0 (a KKT point)",
            f"{res[0]:.2f} -> {res[-1]:.2f}, ~ (log t)^{rate:.2f}; largest rise {rise:.1e}",
            rise,
            1e-12,
        ),
    ]


def _m3_leaky_symmetric(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    X, y = problems.gaussian_separable(20, 4, 0)
    Xs, ys = np.vstack([X, -X]), np.concatenate([y, -y])
    svm = np.asarray(fb.hard_margin_svm(Xs, ys).w)
    widths = (1e-2,) if quick else (1e-2, 1e-3)
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    dirs, errs = [], []
    for width, style in zip(widths, ("-", "--"), strict=False):
        net = fb.TwoLayerNetwork.gaussian(
            0.3, 4, width=6, activation=fb.LeakyReLU(0.2), seed=2, kink_width=width
        )
        sol = fb.flowsolve(net, fb.ExponentialLoss(), Xs, ys, 1e100)
        W, a = (np.asarray(p) for p in sol.params)
        u = np.einsum("km,kmd->kd", a, W)  # the linear part sum_k a_k w_k at every time
        x = np.asarray(sol.log_ts) / np.log(10.0)
        ok = np.isfinite(x)
        err = np.asarray(fb.one_minus_cos(u[ok], svm))
        ax.semilogy(x[ok], err, style, label=f"kink rounded on |cos| <= {width:g}")
        dirs.append(u[-1])
        errs.append(float(err[-1]))
    polished = fb.polish_kkt(net, np.asarray(sol.observable)[-1], Xs, ys)
    new = fb.best_new_neuron(net, polished.certificate, Xs, ys)
    theory = 1.2 / 4 / float(np.linalg.norm(svm))  # (1 + s)/4 times the SVM margin
    star = np.asarray(polished.certificate.theta) / np.linalg.norm(polished.certificate.theta)
    obs = np.asarray(sol.observable)
    late = np.flatnonzero(np.asarray(sol.log_ts) > np.log(1e10))
    dist = np.linalg.norm(obs[late] / np.linalg.norm(obs[late], axis=1)[:, None] - star, axis=1)
    rate = float(np.polyfit(np.log(np.asarray(sol.log_ts)[late]), np.log(dist), 1)[0])
    ax.set_xlabel(r"$\log_{10} t$")
    ax.set_ylabel(r"$1 - \cos(\sum_k a_k w_k, \hat w)$ (log scale)")
    ax.legend(fontsize="small")
    ax.set_title(
        f"M3: {plotting.run_title(sol)}\non symmetric data the network computes the "
        "hard-margin SVM (Lyu, Li, Wang & Arora 2021)",
        fontsize="medium",
    )
    save_figure(fig, out / "M3_leaky_symmetric.png")
    checks = [
        Check(
            "M3 leaky ReLU, symmetric data: function direction",
            "hard-margin SVM direction (linear function)",
            f"1 - cos {errs[-1]:.1e} at t = 1e100",
            errs[-1],
            1e-4,
        )
    ]
    checks += [
        Check(
            "M3 leaky ReLU: KKT limit, polished from t = 1e100",
            "a KKT point at the global max, (1 + s)/4 x SVM margin",
            f"residual {polished.certificate.residual:.0e}, margin "
            f"{float(polished.certificate.normalized_margin):.10f} vs {theory:.10f}, G = "
            f"{new.gain:.6f}",
            max(
                polished.certificate.residual,
                abs(float(polished.certificate.normalized_margin) / theory - 1),
                abs(new.gain - 1),
            ),
            1e-9,
        ),
        Check(
            "M3 leaky ReLU: the flow's distance to that KKT point",
            "falls (slowly: an O(1) offset against |theta| ~ (log t)^(1/2))",
            f"{polished.distance:.1e} at t = 1e100 (its KKT residual "
            f"{polished.start.residual:.1e}), ~ (log t)^{rate:.2f}",
            abs(rate + 0.5),
            0.1,
        ),
    ]
    if len(dirs) == 2:
        gap = float(fb.one_minus_cos(dirs[0], dirs[1]))
        checks.append(
            Check(
                "M3 leaky ReLU: kink widths 1e-2 and 1e-3",
                "the same limit (the rounding vanishes)",
                f"1 - cos between them {gap:.1e}",
                gap,
                1e-12,
            )
        )
    return checks


def _m3_kkt_not_optimal(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    X, y, W0, a0 = problems.obtuse_pair(150.0)
    net = fb.TwoLayerNetwork(W0, a0)
    sol = fb.flowsolve(net, fb.ExponentialLoss(), X, y, 1e100)
    polished = fb.polish_kkt(net, np.asarray(sol.observable)[-1], X, y)
    new = fb.best_new_neuron(net, polished.certificate, X, y)
    f1 = fb.f1_max_margin(X, y, num_directions=3600).margin / 2
    half = np.deg2rad(75.0)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    plotting.plot_new_neuron_gain(net, polished.certificate, X, y, ax=axes[0])
    axes[0].set_title(
        f"one live neuron; a new one along a data point would gain (G = {new.gain:.3f} > 1)",
        fontsize="medium",
    )
    plotting.plot_margins(sol, max_margin=new.margin_bound, ax=axes[1])
    axes[1].axhline(new.margin, color="C2", linestyle="-.", label="its KKT point (polished)")
    axes[1].legend(fontsize="small")
    axes[1].set_title(
        f"the flow's margin tends to {new.margin:.4f}, the global max is {new.margin_bound:.2f}",
        fontsize="medium",
    )
    fig.suptitle(
        f"M3: {plotting.run_title(sol)}, two points 150 degrees apart, one neuron dead at the "
        "start:\na KKT point that is not a local max (after Vardi, Shamir & Srebro 2022)"
    )
    save_figure(fig, out / "M3_kkt_not_optimal.png")
    return [
        Check(
            "M3 dead-neuron ReLU pair: the flow's KKT residual at t = 1e100",
            "-> 0 (a KKT point: one neuron on the bisector)",
            f"{polished.start.residual:.1e}; polished: {polished.certificate.residual:.0e}",
            polished.start.residual,
            1e-4,
        ),
        Check(
            "M3 dead-neuron ReLU pair: margin of that KKT point",
            "cos(75 deg) / 2 (closed form)",
            f"{float(polished.certificate.normalized_margin):.12f}",
            abs(float(polished.certificate.normalized_margin) / (np.cos(half) / 2) - 1),
            1e-10,
        ),
        Check(
            "M3 dead-neuron ReLU pair: a new neuron's gain G",
            "1 / (2 cos 75 deg) > 1: not a local max",
            f"G = {new.gain:.6f}, bound on any width {new.margin_bound:.4f}, F1 LP {f1:.4f}",
            max(abs(new.gain * 2 * np.cos(half) - 1), abs(new.margin_bound - f1) / f1),
            1e-8,
        ),
    ]


def _l5_nonseparable(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    X, y = problems.partly_separable(8, 6, 4, 0)
    split = fb.separable_split(X, y, fb.LogisticLoss())
    sol = fb.flowsolve(
        fb.LinearModel(np.zeros(4)),
        fb.LogisticLoss(),
        X,
        y,
        1e100,
        time=fb.LinearTime(),
        solver=fb.default_solver(stiff=True),
    )
    P = np.asarray(split.projector)
    w_bar, w_hat = np.asarray(split.w_bar), np.asarray(split.w_hat)
    W = np.asarray(sol.w)
    dist = np.linalg.norm(W @ P - w_bar, axis=1) / np.linalg.norm(w_bar)
    perp = W - W @ P
    cos_err = np.asarray(fb.one_minus_cos(perp, w_hat))
    x = np.asarray(sol.log_ts) / np.log(10.0)
    ok = np.isfinite(x) & (x > -2)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    axes[0].semilogy(x[ok], dist[ok])
    axes[0].set_xlabel(r"$\log_{10} t$")
    axes[0].set_ylabel(r"$\|\Pi_V w(t) - \bar w\| / \|\bar w\|$ (log scale)")
    axes[0].set_title("the non-separable part converges to its minimiser", fontsize="medium")
    axes[1].semilogy(x[ok], cos_err[ok])
    axes[1].set_xlabel(r"$\log_{10} t$")
    axes[1].set_ylabel(r"$1 - \cos(\Pi_{V^\perp} w(t), \hat w_S)$ (log scale)")
    axes[1].set_title("the rest diverges along the SVM of S, projected", fontsize="medium")
    fig.suptitle(f"L5: {plotting.run_title(sol)}, 8 separable + 6 not (Ji & Telgarsky 2019)")
    save_figure(fig, out / "L5_nonseparable.png")
    return [
        Check(
            "L5 non-separable logistic: finite part",
            "Pi_V w -> argmin of the rest's loss on V",
            f"relative error {dist[-1]:.1e} at t = 1e100 ({int(sol.num_steps)} Kvaerno5 steps)",
            float(dist[-1]),
            1e-6,
        ),
        Check(
            "L5 non-separable logistic: divergent part",
            "direction of the SVM of S projected off V",
            f"1 - cos {cos_err[-1]:.1e} at t = 1e100",
            float(cos_err[-1]),
            1e-4,
        ),
    ]


def _m4_margin_bound(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    d, m, m_test = (5, 1000, 5000) if quick else (5, 3000, 20000)
    X, y = problems.gaussian_separable(m + m_test, d, 5, gap=0.05)
    Xtr, ytr, Xte, yte = X[:m], y[:m], X[m:], y[m:]
    # Many points, small margin: the log-time flow is stiff here (Tsit5 would run out of
    # steps); the default choice sees it in the SVM's duals and takes Kvaerno5.
    sol = fb.flowsolve(fb.LinearModel(np.zeros(d)), fb.ExponentialLoss(), Xtr, ytr, 1e100)
    W = np.asarray(sol.w)[1:]
    bound = fb.margin_bound(W, Xtr, ytr, second_moment=float(d), r=3.0, delta=0.05)
    test = np.mean(np.sign(W @ Xte.T) != yte, axis=1)
    # The bound holds with probability 0.95 over the sample; here, at every saved time.
    slack = float(np.max(test - np.asarray(bound.best)))
    svm = fb.hard_margin_svm(Xtr, ytr)
    gap = float(1.0 / np.linalg.norm(svm.w) - bound.normalized_margin[-1])
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.3))
    plotting.plot_margin_bound(np.asarray(sol.log_ts)[1:], bound, test_error=test, ax=axes[0])
    axes[0].set_xlim(-3.5, 12)
    axes[0].set_title(
        "along the path: the bound is flat from t = 1e-3 on (run to t = 1e100);\n"
        "the test error is 0 from t ~ 1 (not drawn on a log axis)",
        fontsize="medium",
    )
    rhos = np.asarray(bound.rhos)
    axes[1].loglog(rhos, np.asarray(bound.bound)[-1], label="bound")
    axes[1].loglog(
        rhos, np.asarray(bound.rademacher), ":", label=r"$4\sqrt{E\|x\|^2}/(\rho\sqrt{m})$"
    )
    loss = np.asarray(bound.margin_loss)[-1]
    axes[1].loglog(rhos[loss > 0], loss[loss > 0], "--", label=r"empirical $\rho$-margin loss")
    axes[1].axvline(
        float(bound.normalized_margin[-1]),
        color="0.5",
        linewidth=0.8,
        label="normalised margin at t = 1e100",
    )
    axes[1].axvline(
        float(bound.best_rho[-1]), color="k", linestyle="-.", linewidth=0.8, label=r"best $\rho$"
    )
    axes[1].set_ylim(1e-3, 1e2)
    axes[1].set_xlabel(r"margin $\rho$ (log scale)")
    axes[1].set_ylabel("bound and its terms (log scale)")
    axes[1].set_title(r"the trade-off in $\rho$ at t = 1e100", fontsize="medium")
    axes[1].legend(fontsize="small")
    fig.suptitle(
        f"M4: {plotting.run_title(sol)}; margin bound (delta = 0.05, E||x||^2 = {d}) vs test "
        f"error on {m_test} held-out points"
    )
    save_figure(fig, out / "M4_margin_bound.png")
    return [
        Check(
            f"M4 margin bound along the path, m = {m}",
            "test 0-1 error <= bound (prob. 0.95)",
            f"bound {float(bound.best[-1]):.3f} at rho = {float(bound.best_rho[-1]):.3f}, "
            f"test error {test[-1]:.1e} ({sol.solver_choice.split(':')[0]} chosen)",
            max(slack, 0.0),
            0.0,
        ),
        Check(
            "M4 normalised margin at t = 1e100",
            "-> the SVM margin 1/||w_hat||",
            f"gap {gap:.1e} of {1.0 / float(np.linalg.norm(svm.w)):.4f}",
            abs(gap) * float(np.linalg.norm(svm.w)),
            1e-2,
        ),
    ]


HOMOGENEOUS_ENTRIES = [
    Entry(
        "L5",
        "non-separable data: a finite part and an SVM part",
        _l5_nonseparable,
        in_quick_tour=True,
    ),
    Entry("L5", "polynomial tails: the regularisation path's direction", _l5_polynomial_tail),
    Entry(
        "M2",
        "deep linear networks: SVM direction, aligned layers",
        _m2_deep_linear,
        in_quick_tour=True,
    ),
    Entry("M3", "homogeneous two-layer net: margins and KKT", _m3_two_layer),
    Entry("M3", "leaky ReLU on symmetric data: the SVM", _m3_leaky_symmetric, in_quick_tour=True),
    Entry("M3", "a KKT point that is not a local max", _m3_kkt_not_optimal),
    Entry("M4", "margin bound along a trajectory", _m4_margin_bound),
]
