"""Tour entry for finite step sizes (catalogue row M5): gradient descent against gradient flow
and against the modified flow of Barrett & Dherin, and the limit of gradient descent at a
large step on a diagonal network (Even, Pesme, Gunasekar & Flammarion 2023)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _effective_init(X, y, alpha: float, eta: float, u, v):
    """alpha_+- = alpha exp(-sum_k q_+-(x_k) / 2) with x_k = 2 eta grad_w L(w_k) over the
    saved iterates u_k, v_k (every step): gradient descent on u*u - v*v ends where gradient
    flow from u(0) = alpha_+, v(0) = alpha_- does (Even et al. 2023)."""
    n = X.shape[0]
    W = u[:-1] ** 2 - v[:-1] ** 2
    x = 2 * eta * (X.T @ (X @ W.T - y[:, None]) / n).T
    q_plus = np.sum(-np.log((1 - x) ** 2) - 2 * x, axis=0)
    q_minus = np.sum(-np.log((1 + x) ** 2) + 2 * x, axis=0)
    return alpha * np.exp(-q_plus / 2), alpha * np.exp(-q_minus / 2), float(np.max(np.abs(x)))


def _m5_finite_steps(out: Path, quick: bool) -> list[Check]:
    import diffrax as dfx
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import problems
    from flowbias.discrete import gradient_descent, step_size_orders

    t = 1.0
    ks = np.array([10, 20, 40]) if quick else np.array([10, 20, 40, 80])
    X, y, w0 = problems.gaussian_regression(30, 8, 7)
    linear = step_size_orders(fb.LinearModel(w0), fb.SquareLoss(), X, y, step_sizes=t / ks, t=t)
    Xd, yd, _ = problems.sparse_regression(10, 20, 2, 0)
    diagonal = step_size_orders(
        fb.DiagonalNetwork.uniform(1.0, 20),
        fb.SquareLoss(),
        Xd,
        yd,
        step_sizes=t / (2 * ks),
        t=t,
        solver=dfx.Dopri8(),  # a short, non-stiff horizon
    )

    # Large steps on a sparse problem at alpha = 0.1.
    alpha, num_steps = 0.1, 20_000
    Xs, ys, _ = problems.sparse_regression(20, 40, 3, 0)
    n, d = Xs.shape
    model = fb.DiagonalNetwork.uniform(alpha, d)
    w_gf = np.asarray(fb.mirror_limit(model, Xs, ys))  # gradient flow's limit, argmin Q_alpha
    w_l1 = np.asarray(fb.min_l1_interpolator(Xs, ys))
    # Stable steps: eta < 1 / (2 max |grad L(w_0)|) at the start; at gradient flow's limit the
    # Hessian in (u, v) has eigenvalues 4 eig(X diag(u^2 + v^2) X^T / n).
    g0 = np.abs(Xs.T @ ys / n).max()
    lam = np.linalg.eigvalsh(Xs @ np.diag(np.sqrt(w_gf**2 + 4 * alpha**4)) @ Xs.T / n).max()
    eta_max = min(1.0 / (2 * g0), 2.0 / (4 * lam))
    fracs = (0.1, 0.5, 0.95) if quick else (0.1, 0.3, 0.5, 0.7, 0.95)
    dists, l1s = [], []
    for frac in fracs:
        path = gradient_descent(
            model,
            fb.SquareLoss(),
            Xs,
            ys,
            step_size=frac * eta_max,
            num_steps=num_steps,
            save_every=1 if frac == fracs[-1] else num_steps,
        )
        w_end = np.asarray(path.observable_final)
        dists.append(_rel(w_end, w_l1))
        l1s.append(float(np.sum(np.abs(w_end))))
    eta_large = fracs[-1] * eta_max
    u, v = (np.asarray(a) for a in path.params)
    a_plus, a_minus, x_max = _effective_init(Xs, ys, alpha, eta_large, u, v)
    predicted = np.asarray(fb.mirror_limit(fb.DiagonalNetwork(a_plus, a_minus), Xs, ys))
    eff_err = _rel(w_end, predicted)
    a_inf = np.sqrt(a_plus * a_minus)
    residual = float(np.linalg.norm(Xs @ w_end - ys) / np.linalg.norm(ys))
    d_gf = _rel(w_gf, w_l1)
    shortfall = max(0.0, (d_gf - dists[-1]) / d_gf)

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    for o, color, name in ((linear, "C0", "least squares"), (diagonal, "C1", "diagonal net")):
        eta = np.asarray(o.step_sizes)
        e1, e2 = np.asarray(o.gradient_flow_error), np.asarray(o.modified_error)
        ax.loglog(
            eta,
            e1,
            "o-",
            color=color,
            label=f"{name}: |GD - GF| (slope {float(o.gradient_flow_slope):.2f})",
        )
        ax.loglog(
            eta,
            e2,
            "s--",
            color=color,
            label=f"{name}: |GD - modified flow| (slope {float(o.modified_slope):.2f})",
        )
        # Reference lines through a third of the smallest step's error, so both stay visible.
        ax.loglog(eta, e1[-1] / 3 * eta / eta[-1], ":", color="0.5", lw=1.2)
        ax.loglog(eta, e2[-1] / 3 * (eta / eta[-1]) ** 2, ":", color="0.2", lw=1.2)
    ax.plot([], [], ":", color="0.5", label=r"slope 1 ($\propto\eta$)")
    ax.plot([], [], ":", color="0.2", label=r"slope 2 ($\propto\eta^2$)")
    ax.set_xlabel(r"step size $\eta$ (log scale)")
    ax.set_ylabel(r"$\|o_{GD}(t) - o(t)\| / \|o_{GF}(t)\|$ at $t = 1$ (log scale)")
    ax.legend(fontsize="x-small", loc="lower right")
    ax.set_title(
        "GD after t/eta steps vs gradient flow and vs the modified flow at t = 1\n"
        "least squares 30 x 8 (noisy), diagonal net u*u - v*v, alpha = 1, 10 x 20",
        fontsize="medium",
    )
    ax = axes[1]
    etas = np.array(fracs) * eta_max
    ax.plot(etas, dists, "o-", label="gradient descent's limit")
    ax.axhline(d_gf, color="C3", ls="--", label=r"gradient flow's limit (argmin $Q_\alpha$)")
    ax.set_xlabel(
        r"step size $\eta$ (linear scale; the largest is 0.95 of the estimated stability bound)"
    )
    ax.set_ylabel(r"$\|w_\infty - w_{\ell_1}\| / \|w_{\ell_1}\|$ (linear scale)")
    ax.legend(fontsize="small")
    ax.set_title(
        f"diagonal net, alpha = {alpha:g}, 3-sparse target, 20 x 40, {num_steps} steps:\n"
        "larger steps move GD away from the min-l1 interpolator (Even et al. 2023)",
        fontsize="medium",
    )
    fig.suptitle("M5: finite step sizes (Barrett & Dherin 2021; Even et al. 2023)")
    save_figure(fig, out / "M5_finite_steps.png")

    def order_checks(o, name):
        s1, s2 = float(o.gradient_flow_slope), float(o.modified_slope)
        e1, e2 = np.asarray(o.gradient_flow_error), np.asarray(o.modified_error)
        return [
            Check(
                f"M5 {name}: GD vs gradient flow at t = 1",
                "O(eta): log-log slope 1",
                f"slope {s1:.3f} (errors {e1[0]:.1e} .. {e1[-1]:.1e})",
                abs(s1 - 1.0),
                0.15,
            ),
            Check(
                f"M5 {name}: GD vs modified flow L + (eta/4)|grad L|^2",
                "O(eta^2): log-log slope 2 (Barrett & Dherin)",
                f"slope {s2:.3f} (errors {e2[0]:.1e} .. {e2[-1]:.1e})",
                abs(s2 - 2.0),
                0.2,
            ),
        ]

    return [
        *order_checks(linear, "least squares 30 x 8"),
        *order_checks(diagonal, "diagonal net alpha = 1, 10 x 20"),
        Check(
            f"M5 large step eta = {eta_large:.3f}, diagonal net alpha = 0.1: GD's limit",
            "argmin Q at the effective init alpha_inf = alpha exp(-sum q(2 eta g_k) / 2)",
            f"rel. error {eff_err:.1e} (residual {residual:.0e}, max |2 eta g| = {x_max:.2f}, "
            f"alpha_inf / alpha in [{a_inf.min() / alpha:.2f}, {a_inf.max() / alpha:.2f}])",
            eff_err,
            1e-9,
        ),
        Check(
            "M5 large steps and sparsity (GD, not SGD)",
            "GD's limit farther from min-l1 than GF's (large steps can hinder GD)",
            f"distance to min-l1 {d_gf:.3f} (GF) vs {dists[0]:.3f} .. {dists[-1]:.3f} (GD); "
            f"l1 norm {float(np.sum(np.abs(w_gf))):.3f} vs {l1s[-1]:.3f}",
            shortfall,
            0.0,
        ),
    ]


FINITE_STEP_ENTRIES = [
    Entry("M5", "finite steps: GD vs gradient flow vs modified flow", _m5_finite_steps),
]
