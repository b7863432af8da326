r"""Can the tied (non-negative) diagonal network interpolate the data at all?

The tied model $w = u^D$ keeps $w > 0$ along the flow, so its limit solves
$\min Q(w)$ s.t. $Xw = y$, $w \ge 0$, which needs a non-negative interpolator. This is a linear
feasibility problem; we solve the LP

$$\max_{w, s} \; s \quad \text{s.t.} \quad Xw = y,\; w_i \ge s,\; s \le 1$$

(HiGHS via `scipy.optimize.linprog`; $s$ is free below, so the LP is infeasible only when no
$w$ at all interpolates). $s^\star < 0$: interpolators exist but none is non-negative, the tied
model cannot reach the data; $s^\star = 0$: non-negative interpolators all touch the boundary
(the flow's limit then has zero coordinates); $s^\star > 0$: a strictly positive one exists.

??? cite "Sources"
    - *Foundations of Deep Learning*, ch. 7, "Diagonal linear models" (lecture notes, NYU
      Tandon, Spring 2022): the tied model expresses only $w \ge 0$.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._validation import as_data


__all__ = ["TiedReachability", "check_tied_reachable"]


@dataclasses.dataclass(frozen=True)
class TiedReachability:
    """`reachable`: some w >= 0 has Xw = y. `margin`: the largest min_i w_i over such w
    (capped at 1; > 0 means a strictly positive interpolator exists). `witness`: that w."""

    reachable: bool
    margin: float
    witness: np.ndarray | None


def check_tied_reachable(X, y, *, tol: float = 1e-9) -> TiedReachability:
    """Whether the tied model can reach an interpolator of (X, y); see the module docstring."""
    from scipy.optimize import linprog  # imported on use: ~1 s of `import flowbias` otherwise

    X, y = (np.asarray(a) for a in as_data(X, y))
    n, d = X.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0  # maximise s
    a_eq = np.hstack([X, np.zeros((n, 1))])
    a_ub = np.hstack([-np.eye(d), np.ones((d, 1))])  # s - w_i <= 0
    bounds = [(None, None)] * d + [(None, 1.0)]
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(d), A_eq=a_eq, b_eq=y, bounds=bounds, method="highs")
    if res.status == 2:  # infeasible
        return TiedReachability(False, -np.inf, None)
    if res.status != 0:  # pragma: no cover - unbounded is impossible (s <= 1)
        raise RuntimeError(f"linprog failed on the reachability LP: {res.message}")
    margin = float(res.x[-1])
    return TiedReachability(margin >= -tol, margin, res.x[:d])
