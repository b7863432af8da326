"""Tour entries for the asymptotics of separable flows (catalogue rows L3-L4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._tour_base import Check, Entry, save_figure


def _separable(n: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.sign(X @ rng.normal(size=d))


def _l3_offsets(out: Path, quick: bool) -> list[Check]:
    import matplotlib.pyplot as plt

    import flowbias as fb
    from flowbias import plotting

    X, y = _separable(20, 5, 1)
    loss = fb.ExponentialLoss()
    sol = fb.flowsolve(fb.LinearModel(np.zeros(5)), loss, X, y, 1e200)
    diag = fb.diagnose(sol, X, y, loss=loss)
    summary = fb.diagnostics_summary(sol, X, y, loss=loss)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    plotting.plot_offsets(diag, ax=axes[0])
    plotting.plot_residual(diag, ax=axes[1])
    save_figure(fig, out / "L3_offsets.png")
    off = summary["offset_max_error"]
    ext = summary["one_minus_cos_extrapolated"]
    return [
        Check("L3 support-vector offsets, exp loss, t = 1e200",
              "z_n.(w - w_hat log t) -> -log(n a_n)", f"max error {off:.2e}", off, 1e-6),
        Check("L3 direction extrapolated from w_hat log t + c", "w_hat direction",
              f"1 - cos {ext:.1e} (w(t1) itself: {summary['one_minus_cos_final']:.1e})", ext,
              1e-8),
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
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    plotting.plot_gaps(fb.diagnose(sol, X, y, loss=loss), ax=axes[0])
    plotting.plot_gaps(fb.diagnose(nsol, X, y, loss=loss, flow=flow), ax=axes[1])
    save_figure(fig, out / "L4_rates.png")
    return [
        _rate_check("L4 angle gap, constant steps", "~ 1/log t (exponent 1 in log t)",
                    const["angle_rate"]),
        _rate_check("L4 margin gap, normalised steps", "~ 1/t (exponent 1 in t)",
                    norm["margin_gap_rate"]),
    ]


def _rate_check(result: str, predicted: str, rate: dict) -> Check:
    """A fitted exponent against 1; a rate that is not measurable fails with its reason."""
    k = rate["exponent"]
    if k is None:
        return Check(result, predicted, rate["status"], float("nan"), 0.1)
    lo, hi = rate["window_log_t"]
    return Check(result, predicted, f"exponent {k:.3f} (fitted on log t in [{lo:.0f}, {hi:.0f}])",
                 abs(k - 1.0), 0.1)


ASYMPTOTIC_ENTRIES = [
    Entry("L3", "asymptotic form w_hat log t + offsets", _l3_offsets),
    Entry("L4", "rates: constant and normalised steps", _l4_rates),
]
