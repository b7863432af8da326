r"""How far gradient descent is from gradient flow and from the modified flow, as the step
size falls: the orders $O(\eta)$ and $O(\eta^2)$, measured.

Over a fixed horizon $t$, with $t = K\eta$, the $K$-th gradient-descent iterate $\theta_K$
and the flows at time $t$ satisfy

$$\|\theta_K - \theta_{\mathrm{GF}}(t)\| = O(\eta), \qquad
  \|\theta_K - \theta_{\mathrm{MF}}(t)\| = O(\eta^2),$$

with $\theta_{\mathrm{MF}}$ the modified flow $\dot\theta = -\nabla(L + \frac\eta4
\|\nabla L\|^2)$ ([`ModifiedGradientFlow`][flowbias.ModifiedGradientFlow]). The slopes of
$\log$ error against $\log\eta$ are then 1 and 2.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import as_float_array, require_float64
from ..data import validate_data
from ..flows import GradientFlow, LinearTime
from ..flows.modified import ModifiedGradientFlow
from ..losses import AbstractLoss
from ..models import AbstractModel
from ..solve import flowsolve
from .gradient_descent import gradient_descent


class StepSizeOrders(eqx.Module):
    r"""What [`step_size_orders`][flowbias.discrete.step_size_orders] measured.

    **Fields:**

    - `step_sizes`: the step sizes $\eta_j$, shape `(m,)`; `num_steps`: $K_j = t/\eta_j$.
    - `t`: the horizon.
    - `descent`: the observable of gradient descent after $K_j$ steps, shape `(m, ...)`.
    - `gradient_flow`: the observable of gradient flow at $t$.
    - `modified_flow`: the observable of the modified flow for each $\eta_j$ at $t$,
      shape `(m, ...)`.
    - `gradient_flow_error`: $\|o_{\mathrm{GD}} - o_{\mathrm{GF}}\| / \|o_{\mathrm{GF}}\|$
      per step size (Frobenius norms; absolute where $o_{\mathrm{GF}} = 0$).
    - `modified_error`: $\|o_{\mathrm{GD}} - o_{\mathrm{MF}}\| / \|o_{\mathrm{GF}}\|$.
    - `gradient_flow_slope`, `modified_slope`: least-squares slopes of $\log$ error against
      $\log\eta$ (expected 1 and 2; NaN where an error is exactly 0).
    """

    step_sizes: Float[Array, " m"]
    num_steps: Int[Array, " m"]
    t: Float[Array, ""]
    descent: Array
    gradient_flow: Array
    modified_flow: Array
    gradient_flow_error: Float[Array, " m"]
    modified_error: Float[Array, " m"]
    gradient_flow_slope: Float[Array, ""]
    modified_slope: Float[Array, ""]


def _slope(step_sizes: np.ndarray, errors: np.ndarray) -> float:
    if not np.all(errors > 0):
        return math.nan
    return float(np.polyfit(np.log(step_sizes), np.log(errors), 1)[0])


def _steps_for(t: float, step_sizes: np.ndarray) -> np.ndarray:
    ratio = t / step_sizes
    steps = np.round(ratio)
    bad = (np.abs(ratio - steps) > 1e-9 * ratio) | (steps < 1)
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`t / step_size` must be a positive integer: gradient descent reaches time "
            f"t = k * step_size only at whole steps k. Got t = {t:g} and step_sizes[{j}] = "
            f"{step_sizes[j]:g}, so t / step_size = {ratio[j]:.6g}. Fix: step sizes of the form "
            "t / k, e.g. `step_sizes = t / np.array([10, 20, 40, 80])`."
        )
    return steps.astype(np.int64)


def step_size_orders(
    model: AbstractModel,
    loss: AbstractLoss,
    X: ArrayLike,
    y: ArrayLike,
    *,
    step_sizes: ArrayLike,
    t: float,
    rtol: float = 1e-12,
    atol: float = 1e-14,
    solver=None,
    max_steps: int = 100_000,
) -> StepSizeOrders:
    r"""Measure the distance of gradient descent to gradient flow, $O(\eta)$, and to the
    modified flow of Barrett & Dherin, $O(\eta^2)$, at a fixed horizon $t$.

    For each step size $\eta_j$ it runs gradient descent for $K_j = t/\eta_j$ steps
    ([`gradient_descent`][flowbias.discrete.gradient_descent]) and integrates the modified
    flow to $t$; gradient flow, the same for every $\eta$, is integrated once. Both flows go
    through [`flowsolve`][flowbias.flowsolve] in linear time at tight tolerances: the errors
    measured must stay well above the solver's (about `rtol` relative), else the fitted
    slopes flatten.

    **Arguments:**

    - `model`, `loss`, `X`, `y`: as for [`flowsolve`][flowbias.flowsolve].

    **Keyword arguments:**

    - `step_sizes`: at least two distinct step sizes, each positive, with $t/\eta$ an
      integer (a whole number of steps reaches time $t$).
    - `t`: the horizon, > 0.
    - `rtol`, `atol`, `solver`, `max_steps`: passed to `flowsolve` for both flows.

    **Returns:** a [`StepSizeOrders`][flowbias.discrete.StepSizeOrders].

    ??? cite "The two orders"
        Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021 (gradient descent
        follows the modified flow to $O(\eta^2)$ and gradient flow to $O(\eta)$); the global
        error of the explicit Euler method, which gradient descent is: Hairer, Nørsett &
        Wanner, *Solving Ordinary Differential Equations I*, Springer 1993, Chapter II.

    ```python
    import numpy as np
    import flowbias as fb
    from flowbias.discrete import step_size_orders

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 5)), rng.normal(size=20)
    orders = step_size_orders(
        fb.LinearModel(np.zeros(5)), fb.SquareLoss(), X, y,
        step_sizes=1.0 / np.array([10, 20, 40]), t=1.0,
    )
    print(f"{orders.gradient_flow_slope:.2f} {orders.modified_slope:.2f}")  # 1.02 2.00
    ```
    """
    require_float64()
    if not isinstance(model, AbstractModel):
        raise TypeError(f"`model` must be a flowbias model; got {type(model).__name__}.")
    if not isinstance(loss, AbstractLoss):
        raise TypeError(f"`loss` must be a flowbias loss; got {type(loss).__name__}.")
    X, y = validate_data(X, y, model=model, loss=loss)
    t_arr = as_float_array(t, "t", ndim=0)
    t = float(t_arr)
    if not t > 0:
        raise ValueError(f"`t` must be > 0; got {t!r}. Fix: e.g. t=1.0.")
    etas = np.asarray(as_float_array(step_sizes, "step_sizes", ndim=1))
    if etas.size < 2 or np.unique(etas).size != etas.size:
        raise ValueError(
            f"`step_sizes` must hold at least two distinct values to fit a slope; got "
            f"{etas.tolist()}. Fix: e.g. `step_sizes = t / np.array([10, 20, 40, 80])`."
        )
    if not np.all(etas > 0):
        raise ValueError(
            f"`step_sizes` must be > 0; got {etas.tolist()}. Fix: e.g. "
            "`step_sizes = t / np.array([10, 20, 40, 80])`."
        )
    steps = _steps_for(t, etas)

    solve = dict(
        time=LinearTime(),
        ts=np.array([t]),
        rtol=rtol,
        atol=atol,
        solver=solver,
        max_steps=max_steps,
        stop_ratio=False,
    )
    gf = flowsolve(model, loss, X, y, t_arr, flow=GradientFlow(), **solve).observable_final
    gd, mf = [], []
    for eta, k in zip(etas, steps, strict=True):
        path = gradient_descent(
            model, loss, X, y, step_size=float(eta), num_steps=int(k), save_every=int(k)
        )
        gd.append(path.observable_final)
        sol = flowsolve(model, loss, X, y, t_arr, flow=ModifiedGradientFlow(float(eta)), **solve)
        mf.append(sol.observable_final)
    gd, mf = jnp.stack(gd), jnp.stack(mf)

    def norm(a):
        return jnp.sqrt(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1))

    scale = float(jnp.sqrt(jnp.sum(gf**2)))
    scale = scale if scale > 0 else 1.0
    gf_err = norm(gd - gf[None]) / scale
    mf_err = norm(gd - mf) / scale
    return StepSizeOrders(
        step_sizes=jnp.asarray(etas),
        num_steps=jnp.asarray(steps),
        t=t_arr,
        descent=gd,
        gradient_flow=gf,
        modified_flow=mf,
        gradient_flow_error=gf_err,
        modified_error=mf_err,
        gradient_flow_slope=jnp.asarray(_slope(etas, np.asarray(gf_err))),
        modified_slope=jnp.asarray(_slope(etas, np.asarray(mf_err))),
    )
