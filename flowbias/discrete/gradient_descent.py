r"""Gradient descent with a fixed step on any flowbias model and loss: the discrete map

$$\theta_{k+1} = \theta_k - \eta\,\nabla_\theta L(\theta_k), \qquad t_k = k\eta,$$

run as one jitted `jax.lax.scan` (over the save points, with a `fori_loop` inside), with the
data and the step size passed in as arguments, so that another step size or other data of the
same shapes reuse the compiled program.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PyTree

from .._validation import as_positive_scalar, check_int, is_concrete, require_float64
from ..data import AbstractMeasurements, validate_data
from ..losses import AbstractLoss
from ..models import AbstractModel


class DescentDivergedError(RuntimeError):
    """Gradient descent left the float64 range (its iterates or outputs became NaN or
    infinite): the step size is above the stability limit. `step` is the first step found
    non-finite."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class DescentPath(eqx.Module):
    r"""The saved iterates of [`gradient_descent`][flowbias.discrete.gradient_descent].

    Every array has a leading axis over the saved steps.

    **Fields:**

    - `steps`: the saved step counts $k$ ($0$, `save_every`, $2\,$`save_every`, ..., and the
      last step).
    - `ts`: the matching times $t_k = k\eta$, at which to compare with a flow.
    - `params`: the parameters $\theta_k$.
    - `observable`: the model's observable at $\theta_k$ (the predictor $w$ for linear and
      diagonal models; see [`AbstractModel.observable`][flowbias.AbstractModel.observable]).
    - `log_loss`: $\log L(\theta_k)$.
    - `step_size`: $\eta$.
    - `finite`: whether every iterate stayed finite (checked at every step, not only at the
      saved ones); False means the run diverged and its later values are NaN or infinite.
    - `diverged_step`: the first step whose iterate was non-finite, or $-1$.
    """

    steps: Int[Array, " k"]
    ts: Float[Array, " k"]
    params: PyTree
    observable: Array
    log_loss: Float[Array, " k"]
    step_size: Float[Array, ""]
    finite: Bool[Array, ""]
    diverged_step: Int[Array, ""]

    @property
    def loss(self) -> Float[Array, " k"]:
        """$L(\\theta_k)$ (may underflow to 0 where `log_loss` does not)."""
        return jnp.exp(self.log_loss)

    @property
    def observable_final(self) -> Array:
        """The observable after the last step."""
        return self.observable[-1]

    @property
    def params_final(self) -> PyTree:
        """The parameters after the last step."""
        return jax.tree.map(lambda a: a[-1], self.params)


def _gradient(model, loss, params, X, y):
    f, vjp = jax.vjp(lambda p: model.predict(p, X), params)
    (g,) = vjp(loss.grad(f, y))
    return f, g


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces; tests pin one per shape
def _descend(model, loss, X, y, step_size, num_chunks: int, save_every: int, remainder: int):
    def run(carry, start, length: int):
        def body(i, c):
            params, first_bad = c
            f, g = _gradient(model, loss, params, X, y)
            bad = ~jnp.all(jnp.isfinite(f))
            first_bad = jnp.where((first_bad < 0) & bad, start + i, first_bad)
            params = jax.tree.map(lambda p, d: p - step_size * d, params, g)
            return params, first_bad

        return jax.lax.fori_loop(0, length, body, carry)

    def chunk(carry, j):
        carry = run(carry, j * save_every, save_every)
        return carry, carry[0]

    params0 = model.init_params()
    carry = (params0, jnp.asarray(-1, jnp.int64))
    carry, saved = jax.lax.scan(chunk, carry, jnp.arange(num_chunks, dtype=jnp.int64))
    stack = [jax.tree.map(lambda a: a[None], params0), saved]
    if remainder:
        carry = run(carry, num_chunks * save_every, remainder)
        stack.append(jax.tree.map(lambda a: a[None], carry[0]))
    params = jax.tree.map(lambda *a: jnp.concatenate(a), *stack)
    observable, log_loss = jax.vmap(
        lambda p: (model.observable(p), loss.log_value(model.predict(p, X), y))
    )(params)
    last = jax.tree.map(lambda a: a[-1], params)
    final_ok = jnp.all(
        jnp.stack([jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves((last, observable[-1]))])
    )
    num_steps = num_chunks * save_every + remainder
    first_bad = carry[1]
    first_bad = jnp.where((first_bad < 0) & ~final_ok, num_steps, first_bad)
    return params, observable, log_loss, first_bad < 0, first_bad


def gradient_descent(
    model: AbstractModel,
    loss: AbstractLoss,
    X: ArrayLike,
    y: ArrayLike,
    *,
    step_size: float | ArrayLike,
    num_steps: int,
    save_every: int = 1,
    throw: bool = True,
) -> DescentPath:
    r"""Run gradient descent $\theta_{k+1} = \theta_k - \eta\nabla_\theta L(\theta_k)$ from the
    model's initialisation, for `num_steps` steps.

    The counterpart, step for step, of [`flowsolve`][flowbias.flowsolve]'s gradient flow at
    the times $t_k = k\eta$: it takes the same models, losses and data.

    **Arguments:**

    - `model`: the model, carrying its initialisation (e.g.
      [`LinearModel`][flowbias.LinearModel], [`DiagonalNetwork`][flowbias.DiagonalNetwork]).
    - `loss`: e.g. [`SquareLoss`][flowbias.SquareLoss].
    - `X`: data `(n, d)` or a measurement operator; `y`: targets or ±1 labels `(n,)`.

    **Keyword arguments:**

    - `step_size`: $\eta > 0$, finite. Passed into the compiled loop as an array: another
      step size does not recompile.
    - `num_steps`: the number of steps $K \ge 1$ (static: another value compiles anew).
    - `save_every`: save every this many steps (static); the last step is always saved.
    - `throw`: if True, a run whose iterates become NaN or infinite raises
      [`DescentDivergedError`][flowbias.discrete.DescentDivergedError], naming the step; if
      False it comes back with `path.finite` False and `path.diverged_step` set.

    **Returns:** a [`DescentPath`][flowbias.discrete.DescentPath].

    ```python
    import numpy as np
    import flowbias as fb
    from flowbias.discrete import gradient_descent

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 20)), rng.normal(size=5)
    path = gradient_descent(
        fb.LinearModel(np.zeros(20)), fb.SquareLoss(), X, y, step_size=0.05, num_steps=2000,
        save_every=100,
    )
    err = fb.relative_error(path.observable_final, fb.min_norm_interpolator(X, y))
    print(float(path.ts[-1]), bool(err < 1e-12))  # 100.0 True: at t = 100, the min-norm limit
    ```
    """
    require_float64()
    if not isinstance(model, AbstractModel):
        raise TypeError(f"`model` must be a flowbias model; got {type(model).__name__}.")
    if not isinstance(loss, AbstractLoss):
        raise TypeError(f"`loss` must be a flowbias loss; got {type(loss).__name__}.")
    if isinstance(step_size, bool):
        raise TypeError(f"`step_size` must be a positive finite number; got {step_size!r}.")
    step_size = as_positive_scalar(step_size, "step_size", fix="e.g. step_size=0.01.")
    num_steps = check_int(num_steps, "num_steps", minimum=1, fix="e.g. num_steps=1000.")
    save_every = check_int(
        save_every, "save_every", minimum=1, fix="e.g. save_every=1 (every step)."
    )
    if not isinstance(throw, bool):
        raise TypeError(f"`throw` must be a bool; got {throw!r}.")
    X, y = validate_data(X, y, model=model, loss=loss)
    if not isinstance(X, AbstractMeasurements) and not is_concrete(X):
        X = eqx.error_if(X, ~jnp.all(jnp.isfinite(X)), "`X` contains NaN or inf")
    if not is_concrete(y):
        y = eqx.error_if(y, ~jnp.all(jnp.isfinite(y)), "`y` contains NaN or inf")
    save_every = min(save_every, num_steps)
    num_chunks, remainder = divmod(num_steps, save_every)
    params, observable, log_loss, finite, first_bad = _descend(
        model, loss, X, y, step_size, num_chunks, save_every, remainder
    )
    steps = np.arange(num_chunks + 1, dtype=np.int64) * save_every
    if remainder:
        steps = np.append(steps, num_steps)
    steps = jnp.asarray(steps)
    path = DescentPath(
        steps=steps,
        ts=step_size * steps.astype(jnp.float64),
        params=params,
        observable=observable,
        log_loss=log_loss,
        step_size=step_size,
        finite=finite,
        diverged_step=first_bad,
    )
    if throw:
        if is_concrete(finite):
            if not bool(finite):
                k = int(first_bad)
                raise DescentDivergedError(
                    f"gradient descent diverged: its iterate became NaN or infinite at step {k} "
                    f"(t = {k * float(step_size):.4g}) with step_size = {float(step_size):.4g}. "
                    "The step is above the stability limit, 2 / (the largest eigenvalue of "
                    "the loss's Hessian along the path); for least squares on a linear model "
                    "that is 2n / lambda_max(X^T X). Fix: a smaller `step_size`, or pass "
                    "throw=False to keep the path.",
                    k,
                )
        else:
            checked = eqx.error_if(
                (path.params, path.observable, path.log_loss),
                ~finite,
                "gradient descent diverged (NaN or inf iterates): lower `step_size`",
            )
            path = eqx.tree_at(lambda p: (p.params, p.observable, p.log_loss), path, checked)
    return path
