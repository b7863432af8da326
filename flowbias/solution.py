"""What [`flowsolve`][flowbias.flowsolve] returns."""

from __future__ import annotations

import diffrax as dfx
import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PyTree


class FlowSolution(eqx.Module):
    r"""The trajectory of a flow at the saved times, with solver diagnostics.

    Every array has a leading axis over the saved times (and, under `jax.vmap`, a batch axis
    in front of that).

    **Fields:**

    - `ts`: the saved times t (`inf` where t exceeds the float64 range; use `log_ts`).
    - `log_ts`: log t at the saved times (`-inf` at t = 0).
    - `params`: the model parameters theta(t).
    - `w`: the effective linear predictor w(t) (for linear-in-input models; else `None`).
    - `log_loss`: log L(theta(t)). Kept in log form: at t = 1e300 the exponential loss is
      ~1e-300, whose gradient would underflow; its log is ~-690.
    - `state`: the raw ODE state (equal to `params` for primal flows; the dual variable for
      [`DualFlow`][flowbias.DualFlow]).
    - `s`: the saved values of the integration variable s (log time by default for
      classification losses).
    - `result`: a `diffrax.RESULTS`; `success` also requires every saved value to be finite.
    - `log_t_end`: log of the time where integration ended: log t1, or earlier where it
      stopped at convergence (see `stop_ratio` in [`flowsolve`][flowbias.flowsolve]).
    - `stats`: solver statistics: `num_steps`, `num_accepted_steps`, `num_rejected_steps`,
      `max_steps`.
    """

    ts: Float[Array, " k"]
    log_ts: Float[Array, " k"]
    params: PyTree
    w: Float[Array, "k d"] | None
    log_loss: Float[Array, " k"]
    state: PyTree
    s: Float[Array, " k"]
    result: dfx.RESULTS
    finite: Bool[Array, ""]
    stats: dict[str, Int[Array, ""]]
    log_t_end: Float[Array, ""]

    @property
    def success(self) -> Bool[Array, ""]:
        """True where the solve succeeded and produced only finite values."""
        return (self.result == dfx.RESULTS.successful) & self.finite

    @property
    def loss(self) -> Float[Array, " k"]:
        """L(theta(t)); underflows to 0 at very long times: prefer `log_loss`."""
        return jnp.exp(self.log_loss)

    @property
    def w_final(self) -> Float[Array, " d"]:
        """w at the last saved time (normally t1)."""
        if self.w is None:
            raise AttributeError("this model has no effective linear predictor w")
        return self.w[..., -1, :]

    @property
    def num_steps(self) -> Int[Array, ""]:
        return self.stats["num_steps"]
