"""Tour entries for the asymptotics of separable flows (catalogue rows L3-L4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _separable(n: int, d: int, seed: int):
    from flowbias import problems

    return problems.gaussian_separable(n, d, seed)


def _l3_offsets(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting

    X, y = _separable(20, 5, 1)
    loss = fb.ExponentialLoss()
    sol = fb.flowsolve(fb.LinearModel(np.zeros(5)), loss, X, y, 1e200)
    diag = fb.diagnose(sol, X, y, loss=loss)
    summary = fb.diagnostics_summary(sol, X, y, loss=loss)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    plotting.plot_offsets(diag, ax=axes[0])
    _trim_to_decay(axes[0])
    axes[0].set_title("support-vector offsets -> -log(n a_i)", fontsize="medium")
    plotting.plot_residual(diag, ax=axes[1])
    axes[1].set_title("residual after w_hat log t: bounded", fontsize="medium")
    fig.suptitle(f"L3: {plotting.run_title(sol)}; w(t) = w_hat log t + offsets + o(1)")
    save_figure(fig, out / "L3_offsets.png")
    off = summary["offset_max_error"]
    ext = summary["one_minus_cos_extrapolated"]
    return [
        Check(
            "L3 support-vector offsets, exp loss, t = 1e200",
            "z_n.(w - w_hat log t) -> -log(n a_n)",
            f"max error {off:.2e}",
            off,
            1e-6,
        ),
        Check(
            "L3 direction extrapolated from w_hat log t + c",
            "w_hat direction",
            f"1 - cos {ext:.1e} (w(t1) itself: {summary['one_minus_cos_final']:.1e})",
            ext,
            1e-8,
        ),
    ]


def _l4_rates(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting

    X, y = _separable(20, 5, 1)
    loss = fb.ExponentialLoss()
    model = fb.LinearModel(np.zeros(5))
    sol = fb.flowsolve(model, loss, X, y, 1e200)
    const = fb.diagnostics_summary(sol, X, y, loss=loss)
    flow = fb.NormalisedGradientFlow()
    nsol = fb.flowsolve(model, loss, X, y, 1e5, flow=flow)
    norm = fb.diagnostics_summary(nsol, X, y, loss=loss, flow=flow)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    plotting.plot_gaps(fb.diagnose(sol, X, y, loss=loss), ax=axes[0])
    axes[0].set_title("gradient flow to t = 1e200: gaps ~ 1/log t", fontsize="medium")
    plotting.plot_gaps(fb.diagnose(nsol, X, y, loss=loss, flow=flow), ax=axes[1])
    axes[1].set_title("loss-normalised flow to t = 1e5: gaps ~ 1/t", fontsize="medium")
    fig.suptitle(
        "L4: linear model, exp loss, n x d = 20 x 5; angle to w_hat and margin gap "
        "(Nacson et al. 2019)"
    )
    save_figure(fig, out / "L4_rates.png")
    return [
        _rate_check(
            "L4 angle gap, gradient flow", "~ 1/log t (exponent 1 in log t)", const["angle_rate"]
        ),
        _rate_check(
            "L4 margin gap, normalised flow", "~ 1/t (exponent 1 in t)", norm["margin_gap_rate"]
        ),
    ]


def _trim_to_decay(ax) -> None:
    """Keep the x range where the plotted errors still decay: up to a little past the time the
    worst curve reaches its noise floor (its median over the last quarter of the run), not the
    decades spent on that floor."""
    curves = [
        np.asarray(ln.get_ydata(), float) for ln in ax.get_lines() if ln.get_linestyle() == "-"
    ]
    if not curves:
        return
    x = np.asarray(ax.get_lines()[0].get_xdata(), float)
    worst = np.nanmax(np.stack(curves), axis=0)
    noise = np.nanmedian(worst[-max(1, worst.size // 4) :])
    reached = np.flatnonzero(worst <= 3 * noise)
    if reached.size and reached[0] < x.size - 1:
        end = x[reached[0]]
        ax.set_xlim(x[0], min(x[-1], end + 0.3 * (end - x[0])))
        floor = np.nanmin(np.stack(curves))
        ax.set_ylim(floor / 10, 10 * np.nanmax(worst))


def _rate_check(result: str, predicted: str, rate: dict) -> Check:
    """A fitted exponent against 1; a rate that is not measurable fails with its reason."""
    k = rate["exponent"]
    if k is None:
        return Check(result, predicted, rate["status"], float("nan"), 0.1)
    lo, hi = rate["window_log_t"]
    return Check(
        result,
        predicted,
        f"exponent {k:.3f} (fitted on log t in [{lo:.0f}, {hi:.0f}])",
        abs(k - 1.0),
        0.1,
    )


ASYMPTOTIC_ENTRIES = [
    Entry("L3", "asymptotic form w_hat log t + offsets", _l3_offsets, in_quick_tour=True),
    Entry("L4", "rates: gradient flow and loss-normalised flow", _l4_rates),
]
