r"""Gradient descent with a fixed step, and normalised gradient descent: the discrete maps.

$$w_{k+1} = w_k - \eta\,\nabla L(w_k) \qquad\text{or}\qquad
  w_{k+1} = w_k - \eta\,\nabla L(w_k) / L(w_k).$$

The first follows gradient flow at time $t = \eta k$: on separable data with the exponential
loss $w_k = \hat w\log(\eta k) + \tilde w + o(1)$ with the *same* offsets
$z_i\cdot\tilde w = -\log(n a_i)$ as the flow (matching $w_{k+1} - w_k \approx \hat w/k$ with
$\eta\frac1n\sum_S z_i e^{-z_i\cdot\tilde w}/(\eta k)$), provided $\eta$ is below the stability
limit $2/\beta$ ($\beta \le L(w_0)\max_i\|x_i\|^2$ for the exponential loss). The second
(normalised steps, $\eta_k = \eta/L(w_k)$) grows linearly, $w_k \approx \hat w\,\eta k/
\|\hat w\|^2 + \tilde w$, with margin gap $O(1/k)$, and the same centred offsets as the
normalised flow (its step depends on $w_k$ only through $\operatorname{softmax}(-z\cdot w_k)$).

The loop is a `jax.lax.scan` over the save points with a `fori_loop` inside, jitted with the
data as arguments, so a million steps of a small problem take seconds.

??? cite "References"

    Soudry et al., *The Implicit Bias of Gradient Descent on Separable Data*, JMLR 2018,
    Theorem 3 (gradient descent, $\eta < 2/\beta$); Nacson et al., *Convergence of Gradient
    Descent on Separable Data*, AISTATS 2019 (normalised steps); Ji & Telgarsky, ALT 2021.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import (
    as_data,
    as_initialisation,
)
from ..losses import AbstractClassificationLoss
from ..models import LinearModel


class DescentPath(eqx.Module):
    r"""Saved iterates of [`gradient_descent`][flowbias.asymptotics.gradient_descent].

    Has the fields the diagnostics read from a [`FlowSolution`][flowbias.FlowSolution]
    (`log_ts`, `w`, `log_loss`), with time $t = \eta k$.

    **Fields:** `ks` (iteration counts), `ts` ($\eta k$), `log_ts` ($\log \eta k$, `-inf` at
    $k = 0$), `w` (shape `(num_save, d)`), `log_loss`, `eta`, `normalised`.
    """

    ks: Int[Array, " k"]
    ts: Float[Array, " k"]
    log_ts: Float[Array, " k"]
    w: Float[Array, "k d"]
    log_loss: Float[Array, " k"]
    eta: float
    normalised: bool = eqx.field(static=True)

    @property
    def w_final(self) -> Float[Array, " d"]:
        return self.w[-1]


@eqx.filter_jit
def _run(loss, X, y, w0, eta, ks, normalise: bool):
    def step(w, _):
        f = X @ w
        log_scale = -loss.log_value(f, y) if normalise else jnp.zeros((), X.dtype)
        return w - eta * (X.T @ loss.scaled_grad(f, y, log_scale))

    def chunk(carry, k_next):
        w, k = carry
        w = jax.lax.fori_loop(k, k_next, lambda i, w: step(w, i), w)
        return (w, k_next), w

    (_, _), ws = jax.lax.scan(chunk, (w0, ks[0]), ks)
    log_loss = jax.vmap(lambda w: loss.log_value(X @ w, y))(ws)
    return ws, log_loss


def gradient_descent(
    model_or_w0: LinearModel | ArrayLike,
    loss: AbstractClassificationLoss,
    X: ArrayLike,
    y: ArrayLike,
    eta: float,
    num_steps: int,
    *,
    save_every: int | None = None,
    num_save: int = 100,
    normalise: bool = False,
) -> DescentPath:
    r"""Run gradient descent (or normalised gradient descent) on a linear model.

    **Arguments:**

    - `model_or_w0`: a [`LinearModel`][flowbias.LinearModel] or the initial $w_0$, shape `(d,)`.
    - `loss`: a classification loss (e.g. [`ExponentialLoss`][flowbias.ExponentialLoss]).
    - `X`, `y`: data `(n, d)` and labels `(n,)`.
    - `eta`: the step size ($\eta/L(w_k)$ is used when `normalise=True`).
    - `num_steps`: the number of steps $K$.
    - `save_every`: save every this many steps; by default the distinct integers among
      `num_save` log-spaced points in $[1, K]$ (plus $k = 0$), which suits $\log t$ axes
      (fewer than `num_save + 1` saves where the early points round to the same step).
    - `normalise`: use steps $\eta/L(w_k)$ (normalised gradient descent).

    **Returns:** a [`DescentPath`][flowbias.asymptotics.DescentPath].

    ```python
    import numpy as np
    import flowbias as fb
    from flowbias.asymptotics import gradient_descent

    X = np.array([[1.0, 0.5], [0.8, -0.3], [-1.0, -0.2]])
    y = np.array([1.0, 1.0, -1.0])
    path = gradient_descent(np.zeros(2), fb.ExponentialLoss(), X, y, eta=0.5, num_steps=10_000)
    print(path.w.shape)  # (85, 2): 84 distinct log-spaced steps, and k = 0
    ```
    """
    X, y = as_data(X, y, labels=True)
    w0 = model_or_w0.w0 if isinstance(model_or_w0, LinearModel) else model_or_w0
    w0 = as_initialisation(w0, X.shape[1], "model_or_w0")
    if not isinstance(loss, AbstractClassificationLoss):
        raise TypeError(
            f"`loss` must be a classification loss (fb.ExponentialLoss(), fb.LogisticLoss()); "
            f"got {type(loss).__name__}."
        )
    if not (isinstance(eta, int | float) and eta > 0 and math.isfinite(eta)):
        raise ValueError(f"`eta` must be a positive finite float; got {eta!r}.")
    if not (isinstance(num_steps, int | np.integer) and num_steps >= 1):
        raise ValueError(f"`num_steps` must be a positive int; got {num_steps!r}.")
    if save_every is not None:
        if not (isinstance(save_every, int | np.integer) and save_every >= 1):
            raise ValueError(f"`save_every` must be a positive int; got {save_every!r}.")
        ks = np.arange(0, num_steps + 1, save_every)
        if ks[-1] != num_steps:
            ks = np.append(ks, num_steps)
    else:
        if num_save < 2:
            raise ValueError(f"`num_save` must be >= 2; got {num_save}.")
        ks = np.unique(np.round(np.geomspace(1, num_steps, num_save)).astype(np.int64))
        ks = np.concatenate([[0], ks])
    ks_j = jnp.asarray(ks, dtype=jnp.int64)
    ws, log_loss = _run(loss, X, y, w0, jnp.asarray(float(eta)), ks_j, bool(normalise))
    ts = float(eta) * ks.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_ts = np.log(ts)
    return DescentPath(
        ks=ks_j,
        ts=jnp.asarray(ts),
        log_ts=jnp.asarray(log_ts),
        w=ws,
        log_loss=log_loss,
        eta=float(eta),
        normalised=bool(normalise),
    )
