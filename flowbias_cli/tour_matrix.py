"""Tour entries for matrix factorisation (catalogue row M1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _m1_commuting(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    # Diagonal (commuting) measurements of a sparse non-negative diagonal target.
    d, n = 4, 2
    A, y, _ = problems.commuting_sensing(d, n, 1)
    X = fb.MatrixSensing(A)
    alphas = np.array([0.5, 0.2, 0.1, 1e-2])
    errors, limit = [], None
    for alpha in alphas:
        model = fb.MatrixFactorization.balanced(alpha, (d, d), depth=2, symmetric=True)
        sol = fb.flowsolve(model, fb.SquareLoss(), X, y)
        limit = fb.predicted_limit(sol) if limit is None else limit
        errors.append(float(fb.agreement(sol, limit)))
    slope, icpt = np.polyfit(np.log(alphas[:3]), np.log(errors[:3]), 1)
    slope = float(slope)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    plotting.plot_error_against_scale(
        alphas, {"W = U U^T, depth 2": errors}, ax=ax, ylabel="distance to the min trace PSD fit"
    )
    fit = alphas[:3]
    ax.plot(
        fit,
        np.exp(icpt) * fit**slope,
        ":",
        color="0.3",
        label=rf"fit $\propto \alpha^{{{slope:.1f}}}$ (alpha in [0.1, 0.5])",
    )
    ax.axhline(
        1e-10, color="0.6", linestyle="--", linewidth=1.0, label="solver tolerance (rtol = 1e-10)"
    )
    ax.legend(fontsize="small")
    ax.set_title(
        "M1: commuting (diagonal) sensing, 4 x 4 PSD target, 2 measurements\n"
        "flow limit -> min trace fit as alpha -> 0 (Gunasekar et al. 2017)",
        fontsize="medium",
    )
    save_figure(fig, out / "M1_commuting_sensing.png")
    return [
        Check(
            "M1 commuting sensing, U U^T, alpha = 1e-2",
            "argmin tr W s.t. A(W) = y, W >= 0",
            f"rel. error {errors[-1]:.1e} (error ~ alpha^{slope:.1f} for alpha in [0.1, 0.5])",
            errors[-1],
            1e-6,
        ),
    ]


def _m1_razin_cohen(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import problems

    rows, cols, y = problems.razin_cohen()
    X = fb.MatrixCompletion(rows, cols, (2, 2))
    t1 = 1e5 if quick else 1e6
    ts = np.geomspace(1.0, t1, 50)
    model = fb.MatrixFactorization.balanced(0.1, (2, 2), depth=3)
    # Stiff late on: the path hugs det W -> 0+.
    sol = fb.flowsolve(
        model, fb.SquareLoss(), X, y, ts=ts, stop_ratio=False, solver=fb.default_solver(stiff=True)
    )
    W = np.asarray(sol.observable)
    nuc = np.asarray(fb.nuclear_norm(W))
    erank = np.asarray(fb.effective_rank(W))
    det = np.prod([np.linalg.det(np.asarray(F)) for F in sol.params], axis=0)
    limit = fb.predicted_limit(sol)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    lt = np.asarray(sol.log_ts) / np.log(10.0)
    axes[0].plot(lt, nuc, label=r"$\|W(t)\|_*$")
    axes[0].plot(lt, np.abs(W[:, 0, 0]), "--", label=r"$|w_{11}(t)|$")
    axes[0].axhline(2.0, color="0.4", linestyle=":", label="min nuclear norm (= 2)")
    axes[0].set_yscale("log")
    axes[0].set(
        xlabel=r"$\log_{10} t$", ylabel="norm (log scale)", title="nuclear norm grows without bound"
    )
    axes[0].legend(fontsize="small")
    axes[1].plot(lt, erank - 1.0)
    axes[1].set_yscale("log")
    axes[1].set(
        xlabel=r"$\log_{10} t$",
        ylabel="effective rank - 1 (log scale)",
        title="while the effective rank tends to 1",
    )
    fig.suptitle("M1: Razin-Cohen 2 x 2 completion, depth 3, alpha = 0.1, square loss")
    save_figure(fig, out / "M1_razin_cohen.png")
    loss_ratio = float(sol.loss[-1] / sol.loss[0])
    return [
        Check(
            "M1 Razin-Cohen completion, depth 3",
            "not min nuclear norm: ||W||_* -> inf",
            f"||W(t1)||_* = {nuc[-1]:.0f} (min: 2), loss ratio {loss_ratio:.0e}, "
            f"det > 0 kept: {bool(np.all(det > 0))}",
            2.0 / nuc[-1] if np.all(det > 0) and loss_ratio < 1e-4 else np.inf,
            0.1,
        ),
        Check(
            "M1 Razin-Cohen: effective rank",
            "-> 1",
            f"erank - 1 = {erank[-1] - 1:.1e}",
            float(erank[-1] - 1.0),
            1e-5,
        ),
        Check(
            "M1 reference: min nuclear norm completion",
            "[[0, 1], [1, 0]] (closed form)",
            f"residual {limit.residual:.0e}",
            _rel(limit.value, np.array([[0.0, 1.0], [1.0, 0.0]])),
            1e-8,
        ),
    ]


def _m1_depth(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting, problems

    # Arora, Cohen, Hu, Luo (2019) at small size: a rank-1 10 x 10 target, 35 entries.
    d, r, m = 10, 1, 35
    rows, cols, y, W_star = problems.low_rank_completion(d, r, m, 0)
    X = fb.MatrixCompletion(rows, cols, (d, d))
    reference = fb.min_nuclear_norm(X, y).W
    nuclear = _rel(reference, W_star)
    alphas = np.array([1e-3]) if quick else np.array([1e-2, 1e-3])
    errors, last = {}, None
    for depth in (2, 3):
        errors[f"depth {depth}"] = []
        for alpha in alphas:
            model = fb.MatrixFactorization.gaussian(alpha, (d, d), depth=depth, seed=1)
            last = fb.flowsolve(model, fb.SquareLoss(), X, y, 1e5, stop_ratio=1e-16)
            errors[f"depth {depth}"].append(_rel(last.observable_final, W_star))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    plotting.plot_error_against_scale(alphas, errors, ax=axes[0], reference_error=nuclear)
    axes[0].set_title("reconstruction error of all 100 entries")
    plotting.plot_singular_values(last, ax=axes[1], num=4)
    axes[1].set_title(f"depth 3, alpha = {alphas[-1]:g}: one singular value learned")
    fig.suptitle("M1: 10 x 10 rank-1 completion from 35 entries (Arora et al. 2019, small)")
    save_figure(fig, out / "M1_depth.png")
    e3 = errors["depth 3"][-1]
    erank = float(fb.effective_rank(last.observable_final))
    return [
        Check(
            f"M1 depth-3 completion, alpha = {alphas[-1]:g}",
            "exact recovery (lower error than min nuclear norm)",
            f"error {e3:.1e} (depth 2: {errors['depth 2'][-1]:.2f}, nuclear norm: {nuclear:.2f})",
            e3,
            1e-5,
        ),
        Check(
            "M1 depth-3 completion: effective rank",
            "1 (the target's rank)",
            f"{erank:.6f} (min nuclear norm: {float(fb.effective_rank(reference)):.2f})",
            abs(erank - 1.0),
            1e-5,
        ),
    ]


def _m1_end_to_end(out: Path, quick: bool) -> list[Check]:
    import flowbias as fb

    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 4, 3))
    y = np.einsum("kij,ij->k", A, rng.normal(size=(4, 1)) @ rng.normal(size=(1, 3)))
    X = fb.MatrixSensing(A)
    model = fb.MatrixFactorization.balanced(0.5, (4, 3), depth=3)
    kw = dict(ts=np.geomspace(1e-2, 30.0, 40), stop_ratio=False, rtol=1e-12, atol=1e-14)
    factored = fb.flowsolve(model, fb.SquareLoss(), X, y, **kw)
    reduced = fb.flowsolve(model, fb.SquareLoss(), X, y, flow=fb.EndToEndFlow(), **kw)
    Wf, We = np.asarray(factored.observable), np.asarray(reduced.observable)
    err = float(np.max(np.linalg.norm(Wf - We, axis=(1, 2)) / np.linalg.norm(We, axis=(1, 2))))
    return [
        Check(
            "M1 end-to-end flow, balanced depth 3",
            "= factored gradient flow (Arora et al. 2018)",
            f"max rel. difference on W along the path {err:.1e}",
            err,
            1e-8,
        )
    ]


MATRIX_ENTRIES = [
    Entry("M1", "commuting sensing: minimum trace", _m1_commuting, in_quick_tour=True),
    Entry("M1", "Razin-Cohen: no norm explains it", _m1_razin_cohen),
    Entry("M1", "deep matrix completion: depth helps", _m1_depth),
    Entry("M1", "end-to-end flow = factored flow", _m1_end_to_end),
]
