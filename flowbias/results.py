"""The outcomes of a solve: one enumeration, one path for every run-time failure.

Every run of [`flowsolve`][flowbias.flowsolve] ends with a `result` from
[`RESULTS`][flowbias.RESULTS]. With `throw=True` a failed run raises
[`FlowSolveError`][flowbias.FlowSolveError] carrying the result's message (and, inside
`jax.jit`, an `equinox` runtime error with the same message); with `throw=False` the run is
flagged in `solution.result` / `solution.success` and everything it computed is kept, per run
under `jax.vmap`. A run is only called successful after the checks of its claims have passed
(see [`flowsolve`][flowbias.flowsolve], "What a success means").
"""

from __future__ import annotations

import diffrax as dfx
import equinox as eqx
import jax.numpy as jnp


class RESULTS(eqx.Enumeration):
    """The outcome of one run. Compare with `==` (`sol.result == fb.RESULTS.successful`);
    `RESULTS[item]` is the message, which says what went wrong and how to fix it."""

    successful = ""
    max_steps_reached = (
        "the solver used all `max_steps` steps before reaching t1. Fix: raise `max_steps`, or "
        "loosen `rtol`/`atol`; if an explicit solver creeps in tiny steps the flow is stiff: "
        "pass `solver=fb.default_solver(stiff=True)`."
    )
    nonfinite = (
        "the state or the loss became NaN or infinite. Fix: check the data scale (a huge |X| "
        "makes the flow very fast), try the stiff solver (`solver=fb.default_solver(stiff="
        "True)`) or a tighter `rtol`."
    )
    not_converged = (
        "the flow had not converged at the default horizon t1: the loss and its gradient were "
        "still above the convergence criterion (`stop_ratio`). Fix: pass a longer `t1`, or "
        "inspect `sol.log_loss` to see how far it got."
    )
    ill_conditioned = (
        "the reported observable is inaccurate: it is a difference of much larger terms of "
        "the ODE state (e.g. w = u^D - v^D with u ~ v at a large initial scale), so rounding "
        "leaves an estimated relative error `sol.error_estimate` above max(100 rtol, 1e-8); "
        "a tighter rtol cannot help. Fix: for a mirror model use `flow=fb.DualFlow()`, which "
        "evaluates w through its link without cancellation; or a smaller initial scale."
    )
    invalid_parameter = (
        "this run's parameter was refused before solving (e.g. an initial scale alpha that is "
        "NaN, not positive, or outside float64 range for the depth); nothing was computed for "
        "it. The other runs of the sweep are unaffected. Fix: pass values in range."
    )
    solver_failed = (
        "the diffrax solver failed (e.g. its implicit stage equations did not converge or the "
        "step size fell below its minimum). Fix: try another solver (`solver=diffrax.Tsit5()` "
        "for non-stiff flows, `fb.default_solver(stiff=True)` for stiff ones) or loosen "
        "`rtol`/`atol`."
    )


def from_diffrax(result: dfx.RESULTS) -> RESULTS:
    """Map a diffrax outcome onto flowbias's: a convergence stop (an event) is a success."""
    ok = (result == dfx.RESULTS.successful) | (result == dfx.RESULTS.event_occurred)
    steps = result == dfx.RESULTS.max_steps_reached
    return RESULTS.where(
        ok,
        RESULTS.successful,
        RESULTS.where(steps, RESULTS.max_steps_reached, RESULTS.solver_failed),
    )


def first_failure(*checks: tuple[jnp.ndarray, RESULTS], base: RESULTS) -> RESULTS:
    """`base`, or the first `(failed, result)` whose `failed` holds, where `base` succeeded."""
    out = base
    for failed, item in reversed(checks):
        out = RESULTS.where((base == RESULTS.successful) & failed, item, out)
    return out


class FlowSolveError(RuntimeError):
    """A solve failed; the message is the run's [`RESULTS`][flowbias.RESULTS] message."""
