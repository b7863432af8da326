r"""Jumps of a diagonal-network flow, located by diffrax events.

A coordinate of a flow started at a tiny scale is *on* while $|w_i| \ge \varepsilon$ and *off*
below (the `level` $\varepsilon$). Between two saved states of a
[`FlowSolution`][flowbias.FlowSolution] where a coordinate changes status, the flow is
integrated again, from the earlier saved state, with a `diffrax.Event` whose condition is
$\log|w_i| - \log\varepsilon$; its root finder locates the crossing on the solver's dense
interpolant. The crossing times are measured, not read off the save grid; a coordinate that
goes on and off again between two saved states is not seen (save densely enough: a few hundred
times across the staircase).
"""

from __future__ import annotations

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..flows import DualFlow, LinearTime
from ..models import AbstractMirrorModel, DiagonalNetwork, RescaledDiagonalNetwork
from ..solution import FlowSolution


class FlowJumps(eqx.Module):
    r"""The status changes of the coordinates of a flow, in time order.

    **Fields:** `times` (in the solution's time, $t$; for a
    [`RescaledDiagonalNetwork`][flowbias.RescaledDiagonalNetwork] that is already
    $\tau = t/\log(1/\alpha)$), `rescaled` ($t/\log(1/\alpha)$, or `None` where the model has no
    single scale $\alpha < 1$), `coordinates`, `directions` (+1: $|w_i|$ rises through the level;
    -1: it falls), `signs` (the sign of $w_i$ at the crossing), `level` ($\varepsilon$).
    """

    times: np.ndarray
    rescaled: np.ndarray | None
    coordinates: np.ndarray
    directions: np.ndarray
    signs: np.ndarray
    level: float
    onsets: np.ndarray | None

    @property
    def num_jumps(self) -> int:
        return int(self.times.shape[0])

    def crossings(self, i: int, direction: int = 1) -> np.ndarray:
        """The rescaled (else plain) times at which coordinate `i` crosses in `direction`."""
        t = self.rescaled if self.rescaled is not None else self.times
        return t[(self.coordinates == i) & (self.directions == direction)]


def time_unit(model) -> float | None:
    r"""$\log(1/\alpha)$ for a network with one scale $\alpha < 1$ (the unit of the rescaled
    time), 1 for a [`RescaledDiagonalNetwork`][flowbias.RescaledDiagonalNetwork] (already
    rescaled), `None` otherwise."""
    if isinstance(model, RescaledDiagonalNetwork):
        return 1.0
    if isinstance(model, DiagonalNetwork) and not model.tied and model.depth == 2:
        u0, v0 = (np.asarray(a) for a in model.init_params())
        a = float(u0[0])
        if np.all(u0 == a) and np.all(v0 == a) and a < 1:
            return float(-np.log(a))
    return None


def _field(s, state, args):
    flow, model, loss, time, X, y, _, _ = args
    return flow.vector_field(s, state, model, loss, time, X, y)


def _cond(t, y, args, **kwargs):
    flow, model, _, _, X, _, i, log_level = args
    w = flow.observable(y, model, X)
    m = jnp.abs(w[i])
    return jnp.where(m > 0, jnp.log(jnp.where(m > 0, m, 1.0)), -1e300) - log_level


@eqx.filter_jit
def _crossing(flow, model, loss, time, X, y, s0, s1, state0, i, log_level, rtol, solver, max_steps):
    args = (flow, model, loss, time, X, y, i, log_level)
    event = dfx.Event(_cond, root_finder=optx.Bisection(rtol=1e-10, atol=1e-10))
    sol = dfx.diffeqsolve(
        dfx.ODETerm(_field),
        solver,
        s0,
        s1,
        None,
        state0,
        args=args,
        stepsize_controller=dfx.PIDController(rtol=rtol, atol=rtol * 1e-2),
        saveat=dfx.SaveAt(t1=True),
        event=event,
        max_steps=max_steps,
        throw=False,
    )
    state = jax.tree.map(lambda a: a[-1], sol.ys)
    w = flow.observable(state, model, X)
    # The dual coordinate xi_i = (X^T nu)_i and its speed where the level is crossed.
    xi = (X.T @ state)[i]
    speed = (X.T @ flow.vector_field(sol.ts[-1], state, model, loss, time, X, y))[i]
    return sol.ts[-1], sol.result == dfx.RESULTS.event_occurred, w[i], xi, speed


def locate_jumps(
    sol: FlowSolution, *, level: float | None = None, max_steps: int = 10_000
) -> FlowJumps:
    r"""Where the coordinates of a dual diagonal flow switch on and off, located by events.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of
      [`DualFlow`][flowbias.DualFlow] on a mirror model
      ([`DiagonalNetwork`][flowbias.DiagonalNetwork] or
      [`RescaledDiagonalNetwork`][flowbias.RescaledDiagonalNetwork]), saved densely enough
      that each status change falls in its own save interval.
    - `level`: $\varepsilon$, the magnitude at which a coordinate counts as on (default
      $10^{-3}\max_{t,i}|w_i(t)|$). Any fixed level gives jump times within
      $O(1/\log(1/\alpha))$ of the $\alpha\to0$ limit's.
    - `max_steps`: for each local re-integration.

    **Returns:** [`FlowJumps`][flowbias.saddles.FlowJumps], in time order.
    """
    if not isinstance(sol, FlowSolution):
        raise TypeError(f"`sol` must be a FlowSolution; got {type(sol).__name__}.")
    if sol.num_runs is not None:
        raise ValueError("`sol` is a sweep of runs; pass one run, `sol.run(k)`.")
    p = sol.problem
    if not (isinstance(p.flow, DualFlow) and isinstance(p.model, AbstractMirrorModel)):
        raise TypeError(
            "locate_jumps needs a solution of `flow=fb.DualFlow()` on a mirror model (e.g. a "
            f"DiagonalNetwork); got {type(p.flow).__name__} on {type(p.model).__name__}. Fix: "
            "solve with flow=fb.DualFlow()."
        )
    w = np.asarray(sol.observable)
    if level is None:
        level = 1e-3 * float(np.max(np.abs(w)))
    level = float(level)
    if not (np.isfinite(level) and level > 0):
        raise ValueError(f"`level` must be finite and > 0; got {level!r}. Fix: e.g. 1e-3.")
    on = np.abs(w) >= level
    s = np.asarray(sol.s)
    states = np.asarray(sol.state)
    end = float(np.asarray(p.time.s_of_log_t(sol.log_t_end)))
    from ..solver_choice import default_solver  # a leaf import: it imports the flows

    solver = default_solver(stiff=p.flow.is_stiff(p.model))
    rtol = jnp.asarray(min(float(sol.rtol), 1e-10))
    found = []
    for k in np.flatnonzero(np.any(on[1:] != on[:-1], axis=1)):
        if s[k] >= end:
            break  # past the convergence stop the saved states repeat
        for i in np.flatnonzero(on[k + 1] != on[k]):
            t_s, ok, wi, xi, speed = _crossing(
                p.flow,
                p.model,
                p.loss,
                p.time,
                p.X,
                p.y,
                jnp.asarray(s[k]),
                jnp.asarray(min(s[k + 1], end)),
                jnp.asarray(states[k]),
                jnp.asarray(int(i)),
                jnp.asarray(np.log(level)),
                rtol,
                solver,
                max_steps,
            )
            if not bool(ok):
                continue  # the crossing was an artefact of the saved states' rounding
            found.append(
                (
                    float(t_s),
                    int(i),
                    1 if on[k + 1, i] else -1,
                    int(np.sign(float(wi))),
                    float(xi),
                    float(speed),
                )
            )
    found.sort()
    times = np.array([f[0] for f in found])
    times = np.asarray(jnp.exp(p.time.log_t_of_s(jnp.asarray(times)))) if found else times
    unit = time_unit(p.model)
    onsets = None
    if unit is not None and isinstance(p.time, LinearTime):
        # At its own speed, when would the dual coordinate reach the threshold |xi| = unit/2?
        onsets = np.array(
            [
                (f[0] + (0.5 * unit - abs(f[4])) / abs(f[5])) / unit
                if f[2] > 0 and f[5] != 0
                else np.nan
                for f in found
            ]
        )
    return FlowJumps(
        onsets=onsets,
        times=times,
        rescaled=None if unit is None else times / unit,
        coordinates=np.array([f[1] for f in found], dtype=int),
        directions=np.array([f[2] for f in found], dtype=int),
        signs=np.array([f[3] for f in found], dtype=int),
        level=level,
    )


def log_inverse_alpha(model) -> float | None:
    r"""$\log(1/\alpha)$ of a depth-2 network with one scale $\alpha < 1$, else `None`."""
    if isinstance(model, RescaledDiagonalNetwork):
        return float(model.log_inverse_alpha)
    return time_unit(model)
