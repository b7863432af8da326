r"""The flow at small $\alpha$ over the $\alpha\to0$ staircase, in rescaled time."""

from __future__ import annotations

import numpy as np

from ..saddles import Staircase, time_unit
from ..saddles.jumps import log_inverse_alpha
from ..solution import FlowSolution
from ._common import get_ax


def plot_staircase(
    staircase: Staircase,
    sols: list[FlowSolution] | tuple = (),
    *,
    ax=None,
    coordinates=None,
    t_max: float | None = None,
):
    r"""$w_i$ against rescaled time $\tau = t/\log(1/\alpha)$: the staircase of
    [`saddle_to_saddle`][flowbias.saddle_to_saddle] (thick steps, one colour per coordinate)
    and, over it, the flows `sols` at several $\alpha$ (thin lines, lighter for larger
    $\alpha$), with the jump times marked.

    **Arguments:** `staircase`; `sols`, solutions of [`DualFlow`][flowbias.DualFlow] on
    depth-2 networks with one scale $\alpha < 1$; `coordinates` (default: those the staircase
    ever uses); `t_max` (default: 1.3 times the last jump); `ax`.

    **Returns:** the Axes.
    """
    ax = get_ax(ax)
    import matplotlib.pyplot as plt

    if coordinates is None:
        coordinates = sorted({i for a in staircase.active_sets() for i in a})
    t_max = 1.3 * float(staircase.times[-1]) if t_max is None else float(t_max)
    grid = np.linspace(0.0, t_max, 2000)
    path = staircase.evaluate(grid)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, i in enumerate(coordinates):
        ax.plot(
            grid,
            path[:, i],
            color=colours[c % len(colours)],
            lw=3,
            alpha=0.35,
            label=f"$w_{{{i}}}$ (α → 0)",
        )
    units = []
    for sol in sols:
        unit = time_unit(sol.problem.model)
        if unit is None:
            raise TypeError(
                "plot_staircase needs flows of depth-2 networks with one scale "
                "alpha < 1 (RescaledDiagonalNetwork or DiagonalNetwork.uniform)."
            )
        units.append(log_inverse_alpha(sol.problem.model))
    order = np.argsort(units)
    for rank, k in enumerate(order):
        sol = sols[k]
        unit = time_unit(sol.problem.model)
        tau = np.asarray(sol.ts) / unit
        w = np.asarray(sol.w)
        keep = tau <= t_max
        shade = 0.35 + 0.65 * (rank + 1) / len(sols)
        for c, i in enumerate(coordinates):
            ax.plot(tau[keep], w[keep, i], color=colours[c % len(colours)], lw=1, alpha=shade)
        ax.plot(
            [], [], color="k", lw=1, alpha=shade, label=f"flow, α = 1e{-units[k] / np.log(10):.0f}"
        )
    for t in staircase.jump_times:
        if t <= t_max:
            ax.axvline(t, color="0.6", lw=0.6, ls=":")
    ax.set_xlim(0, t_max)
    ax.set_xlabel(r"rescaled time $\tau = t / \log(1/\alpha)$ (linear)")
    ax.set_ylabel(r"$w_i(\tau)$ (linear)")
    ax.set_title(
        f"diagonal net u²−v², square loss, d = {staircase.saddles.shape[1]}: "
        f"α → 0 staircase ({staircase.num_jumps} jumps)" + (" vs flows" if sols else "")
    )
    ax.legend(fontsize="small", ncol=2)
    return ax
