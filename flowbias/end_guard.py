r"""A guard against diffrax 0.7.2's final-step rejection loop.

In diffrax 0.7.2 a step proposed to end within 100 ULP of `t1` is clipped: after an accepted
step it is snapped to `t1`, after a rejected one it is replaced by the midpoint of
$[t_\text{prev}, t_1]$. The midpoint ignores the controller's smaller proposal and $t_\text{prev}$
does not move on a rejection, so a midpoint step that fails its error test is retried, unchanged,
until `max_steps` (diffrax issue 756, fixed after the release). It takes a step that cannot be
accepted within ~50 ULP of `t1`: rounding noise in the error estimate at tight tolerances, or a
sharp change of the field there.

The guard integrates to $t_1 + \delta$, with $\delta = 10^{-3}\max(|t_1|, 1)$ (far more than
100 ULP), and stops at $t_1$ with an event: the clipping window then lies beyond where the
integration ends, and the end of the solve is an ordinary step. With a controller whose steps land
on $t_1$ (flowsolve's default clips steps to the save times) the event fires exactly there;
otherwise at the first accepted step past $t_1$, and the values at $t_1$ come from the save
times, as any intermediate save.
"""

from __future__ import annotations

import diffrax as dfx
import jax.numpy as jnp


def guarded_end(t1):
    """The time $t_1 + \\delta$ to integrate to, and the event that stops at `t1`."""
    t1 = jnp.asarray(t1)
    return t1 + 1e-3 * jnp.maximum(jnp.abs(t1), 1.0)


def reached(t1):
    """An event condition that holds once the integration has reached `t1`."""

    def cond(t, y, args, **kwargs):
        return t >= t1

    return cond


def diffeqsolve_to(terms, solver, t0, t1, dt0, y0, *, event_conds=(), **kwargs) -> dfx.Solution:
    """`diffrax.diffeqsolve` from `t0` to `t1`, guarded against the final-step rejection loop:
    integrate to [`guarded_end`][] and stop at `t1` with an event. `event_conds` are further
    event conditions (a tuple), checked before the one of reaching `t1`, so that
    `sol.event_mask[i]` says whether `event_conds[i]` fired. Other keyword arguments go to
    `diffeqsolve` unchanged."""
    conds = (*event_conds, reached(t1))
    return dfx.diffeqsolve(
        terms,
        solver,
        t0=t0,
        t1=guarded_end(t1),
        dt0=dt0,
        y0=y0,
        event=dfx.Event(list(conds)),
        **kwargs,
    )
