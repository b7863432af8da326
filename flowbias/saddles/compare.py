r"""The flow at a small $\alpha$ against its $\alpha\to0$ staircase: jump times and plateaus."""

from __future__ import annotations

import equinox as eqx
import numpy as np

from ..solution import FlowSolution
from .jumps import FlowJumps, locate_jumps, log_inverse_alpha, time_unit
from .staircase import Staircase


class StaircaseComparison(eqx.Module):
    r"""How far a flow at scale $\alpha$ is from the staircase, jump by jump.

    **Fields:**

    - `jump_times` (K,): the flow's measured rescaled jump times, one per jump of the
      staircase (NaN where the entering coordinate was not seen);
    - `jump_errors` (K,): $|\tau^{\rm flow}_k - \tau_k| / \tau_k$;
    - `plateau_errors` (K,): $\|w(\bar\tau_k) - \beta_k\|_\infty / \|\beta_K\|_\infty$ at the
      saved time nearest the middle $\bar\tau_k$ of plateau $k = 1..K$ (the last plateau: at
      the end of the run); NaN where no save time lies in the middle half of the plateau;
    - `loss_errors` (K,): $|L(w(\bar\tau_k)) - L(\beta_k)| / L(0)$ at the same times;
    - `switch_offs`: `(k, i, tau)` for each coordinate $i$ the staircase switches off at
      jump $k$, with the flow's measured rescaled time of its fall (NaN if not seen);
    - `log_inverse_alpha`: $\log(1/\alpha)$.
    """

    jump_times: np.ndarray
    jump_errors: np.ndarray
    plateau_errors: np.ndarray
    loss_errors: np.ndarray
    switch_offs: tuple
    log_inverse_alpha: float

    @property
    def max_jump_error(self) -> float:
        """The largest jump-time error; NaN if any jump was not seen (never hidden)."""
        return float(np.max(self.jump_errors)) if self.jump_errors.size else 0.0

    @property
    def max_plateau_error(self) -> float:
        """The largest plateau error; NaN if a plateau had no save time in its middle half."""
        return float(np.max(self.plateau_errors)) if self.plateau_errors.size else 0.0


def plateau_midpoints(staircase: Staircase) -> np.ndarray:
    """Rescaled times in the middle of plateaus 1..K-1 (save the flow there to compare its
    plateau values; the last plateau is read at the end of the run)."""
    t = staircase.times
    return 0.5 * (t[1:-1] + t[2:])


def compare_staircase(
    sol: FlowSolution, staircase: Staircase, *, jumps: FlowJumps | None = None
) -> StaircaseComparison:
    r"""Measure a dual diagonal flow at a small $\alpha$ against the staircase of its data.

    Jump $k$ of the staircase is matched with the flow's $m$-th rise of the coordinate that
    enters at jump $k$ (its $m$-th entry in the staircase), located by events
    ([`locate_jumps`][flowbias.saddles.locate_jumps]); its time is the onset
    $\tau$ at which the coordinate's dual variable, at its measured speed, reaches the
    threshold of the rescaling.

    **Arguments:** `sol`, a solution of [`DualFlow`][flowbias.DualFlow] on a
    [`RescaledDiagonalNetwork`][flowbias.RescaledDiagonalNetwork] (or a uniform depth-2
    [`DiagonalNetwork`][flowbias.DiagonalNetwork] with $\alpha < 1$) on the staircase's
    data; `staircase` from [`saddle_to_saddle`][flowbias.saddle_to_saddle]; `jumps`
    (optional) if already located.

    **Returns:** a [`StaircaseComparison`][flowbias.saddles.StaircaseComparison].
    """
    unit = time_unit(sol.problem.model)
    if unit is None:
        raise TypeError(
            "compare_staircase needs a depth-2 network with one scale alpha < 1 (a "
            "RescaledDiagonalNetwork, or DiagonalNetwork.uniform(alpha, d) with alpha < 1); got "
            f"{type(sol.problem.model).__name__}."
        )
    if not isinstance(staircase, Staircase):
        raise TypeError(
            f"`staircase` must be a Staircase (from fb.saddle_to_saddle); got "
            f"{type(staircase).__name__}."
        )
    if sol.w is None or np.shape(sol.w)[-1] != staircase.saddles.shape[1]:
        raise ValueError(
            f"`staircase` has d = {staircase.saddles.shape[1]} coordinates but the solution's "
            "predictor does not. Fix: compute the staircase on the data the flow was solved on."
        )
    if jumps is None:
        jumps = locate_jumps(sol)
    t_flow = np.asarray(sol.ts) / unit
    w_flow = np.asarray(sol.w)
    entering, leaving = staircase.entering(), staircase.leaving()
    seen: dict[int, int] = {}
    times, errs = [], []
    rises = jumps.onsets if jumps.onsets is not None else jumps.rescaled
    for k, enter in enumerate(entering):
        tau_k = float(staircase.times[k + 1])
        found = []
        for i in enter:
            m = seen.get(i, 0)
            seen[i] = m + 1
            sel = np.flatnonzero((jumps.coordinates == i) & (jumps.directions == 1))
            if m < sel.size:
                found.append(float(rises[sel[m]]))
        tk = min(found, key=lambda v: abs(v - tau_k)) if found else np.nan
        times.append(tk)
        errs.append(abs(tk - tau_k) / tau_k)
    offs = []
    falls_seen: dict[int, int] = {}
    for k, leave in enumerate(leaving):
        for i in leave:
            m = falls_seen.get(i, 0)
            falls_seen[i] = m + 1
            falls = jumps.crossings(i, -1)
            offs.append((k + 1, int(i), float(falls[m]) if m < falls.size else np.nan))
    scale = float(np.max(np.abs(staircase.final))) or 1.0
    loss_flow = np.asarray(sol.loss)
    plateau, losses = [], []
    K = staircase.num_jumps
    for k in range(1, K + 1):
        if k == K:
            w, j = w_flow[-1], -1
        else:
            lo, hi = staircase.times[k], staircase.times[k + 1]
            mid, quarter = 0.5 * (lo + hi), 0.25 * (hi - lo)
            j = int(np.argmin(np.abs(t_flow - mid)))
            if abs(t_flow[j] - mid) > quarter:
                plateau.append(np.nan)
                losses.append(np.nan)
                continue
            w = w_flow[j]
        plateau.append(float(np.max(np.abs(w - staircase.saddles[k]))) / scale)
        losses.append(
            abs(float(loss_flow[j]) - float(staircase.losses[k])) / float(staircase.losses[0])
        )
    return StaircaseComparison(
        jump_times=np.asarray(times, dtype=float),
        jump_errors=np.asarray(errs, dtype=float),
        plateau_errors=np.asarray(plateau, dtype=float),
        loss_errors=np.asarray(losses, dtype=float),
        switch_offs=tuple(offs),
        log_inverse_alpha=log_inverse_alpha(sol.problem.model),
    )


def fit_inverse_log_rate(log_inverse_alphas, errors) -> float:
    r"""The exponent $p$ of a fit $\text{error} \approx C\,(1/\log(1/\alpha))^p$ (least squares
    in log-log coordinates); $p \approx 1$ is the expected first-order convergence."""
    x = np.log(1.0 / np.asarray(log_inverse_alphas, dtype=float))
    e = np.asarray(errors, dtype=float)
    if x.size < 2 or not np.all(np.isfinite(e) & (e > 0)):
        raise ValueError("need at least two positive, finite errors to fit a rate.")
    return float(np.polyfit(x, np.log(e), 1)[0])
