r"""Comparing a computed solution with a predicted limit.

All functions are plain `jax.numpy`, so they work under `jax.jit`, `jax.vmap` and on batches:
vectors live on the last axis, and leading axes broadcast (e.g. a trajectory `w` of shape
`(T, d)` against one limit `w_ref` of shape `(d,)` gives `T` numbers).

Directions are compared through the unit vectors $u = w/\|w\|$, $v = w_{\mathrm{ref}} /
\|w_{\mathrm{ref}}\|$, never through $1 - u\cdot v$: for an angle $\theta$ of $10^{-8}$ the dot
product rounds to 1 and $1 - u \cdot v$ loses every digit, whereas

$$1 - \cos\theta = \tfrac12 \|u - v\|^2, \qquad
\theta = 2 \operatorname{atan2}(\|u - v\|, \|u + v\|)$$

keep full relative accuracy (the second is accurate near $\theta = \pi$ too). A zero vector
has no direction: those functions return NaN for it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._validation import as_data, as_float_array


def _vector(x, name: str) -> Array:
    arr = as_float_array(x, name)
    if arr.ndim < 1:
        raise ValueError(
            f"`{name}` must be a vector or a batch of vectors (shape (..., d)); got a scalar. "
            f"Fix: pass `{name}` with the coordinates on its last axis."
        )
    return arr


def _pair(w, w_ref, name: str = "w", ref_name: str = "w_ref") -> tuple[Array, Array]:
    w = _vector(w, name)
    w_ref = _vector(w_ref, ref_name)
    if w.shape[-1] != w_ref.shape[-1]:
        raise ValueError(
            f"`{name}` has {w.shape[-1]} coordinates (last axis) but `{ref_name}` has "
            f"{w_ref.shape[-1]}; they must match. Fix: compare vectors of the same dimension d."
        )
    try:
        np.broadcast_shapes(w.shape[:-1], w_ref.shape[:-1])
    except ValueError:
        raise ValueError(
            f"The batch shapes of `{name}` {tuple(w.shape[:-1])} and `{ref_name}` "
            f"{tuple(w_ref.shape[:-1])} do not broadcast. Fix: pass one reference of shape (d,), "
            "or references with a matching batch shape."
        ) from None
    return w, w_ref


def _norm(v: Array) -> Array:
    """Euclidean norm over the last axis, scaled so that neither 1e200 nor 1e-200 entries
    over- or underflow in the squares."""
    m = jnp.max(jnp.abs(v), axis=-1, keepdims=True)
    safe = jnp.where((m > 0) & jnp.isfinite(m), m, 1.0)
    n = safe[..., 0] * jnp.sqrt(jnp.sum((v / safe) ** 2, axis=-1))
    return jnp.where(m[..., 0] == 0, 0.0, jnp.where(jnp.isposinf(m[..., 0]), jnp.inf, n))


def _unit(v: Array) -> tuple[Array, Array]:
    r"""`v / ||v||` (NaN where `v = 0`) and `||v||`."""
    n = _norm(v)
    safe = jnp.where(n > 0, n, 1.0)
    u = v / safe[..., None]
    return jnp.where((n > 0)[..., None], u, jnp.nan), n


@jax.jit
def _relative_error_kernel(w: Array, w_ref: Array) -> Array:
    n_ref = _norm(w_ref)
    # The difference itself can overflow at 1e308-sized entries: scale both first.
    m = jnp.maximum(jnp.max(jnp.abs(w), axis=-1), jnp.max(jnp.abs(w_ref), axis=-1))
    c = jnp.where(m > 0, m, 1.0)[..., None]
    diff = c[..., 0] * _norm(w / c - w_ref / c)
    return diff / jnp.where(n_ref > 0, n_ref, 1.0)


@jax.jit
def _one_minus_cos_kernel(w: Array, w_ref: Array) -> Array:
    u, _ = _unit(w)
    v, _ = _unit(w_ref)
    return 0.5 * jnp.sum((u - v) ** 2, axis=-1)


@jax.jit
def _angle_kernel(w: Array, w_ref: Array) -> Array:
    u, _ = _unit(w)
    v, _ = _unit(w_ref)
    return 2.0 * jnp.arctan2(_norm(u - v), _norm(u + v))


# The three measures check their arguments in Python, then run one compiled kernel: called
# eagerly, each of the dozen array operations above would be dispatched (and, the first time,
# compiled) on its own. The kernels compile once per shape, and inline under an outer `jit`.


def relative_error(
    w: Float[Array, "*batch d"], w_ref: Float[Array, "*batch d"]
) -> Float[Array, "*batch"]:
    r"""$\|w - w_{\mathrm{ref}}\| / \|w_{\mathrm{ref}}\|$, or the absolute error
    $\|w - w_{\mathrm{ref}}\|$ where $w_{\mathrm{ref}} = 0$."""
    return _relative_error_kernel(*_pair(w, w_ref))


def one_minus_cos(
    w: Float[Array, "*batch d"], w_ref: Float[Array, "*batch d"]
) -> Float[Array, "*batch"]:
    r"""$1 - \cos\angle(w, w_{\mathrm{ref}})$, computed without cancellation as
    $\tfrac12 \|w/\|w\| - w_{\mathrm{ref}}/\|w_{\mathrm{ref}}\|\|^2$.

    The relative error is about $10^{-16} / \theta$: at $\theta = 10^{-8}$ this returns
    $5 \times 10^{-17}$ to eight digits, where `1 - dot / norms` returns 0. NaN if either
    vector is zero.
    """
    return _one_minus_cos_kernel(*_pair(w, w_ref))


def angle(w: Float[Array, "*batch d"], w_ref: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
    r"""The angle between `w` and `w_ref` in radians, in $[0, \pi]$.

    Computed as $2\operatorname{atan2}(\|u - v\|, \|u + v\|)$ on the unit vectors (Kahan),
    accurate for tiny angles and near $\pi$ alike; it equals $2 \arcsin(\|u - v\| / 2)$
    mathematically. NaN if either vector is zero.
    """
    return _angle_kernel(*_pair(w, w_ref))


def _data(X, y, d: int) -> tuple[Array, Array]:
    X, y = as_data(X, y, labels=True)
    if X.shape[1] != d:
        raise ValueError(
            f"`w` has {d} coordinates (last axis) but `X` has {X.shape[1]} columns; they must "
            "match. Fix: pass w of shape (..., d) for X of shape (n, d)."
        )
    return X, y


def normalized_margin(
    w: Float[Array, "*batch d"], X: Float[Array, "n d"], y: Float[Array, " n"]
) -> Float[Array, "*batch"]:
    r"""The normalised (geometric) margin $\min_i y_i x_i \cdot w / \|w\|$.

    Positive exactly when $w$ separates the data; at most $1/\|\hat w\|$, the max-margin,
    with equality at $w \propto \hat w$. NaN for $w = 0$.

    ??? cite "Reference"

        Soudry, Hoffer, Nacson, Gunasekar & Srebro, *The Implicit Bias of Gradient Descent on
        Separable Data*, JMLR 2018 (the normalised margin of the flow tends to the max-margin).
    """
    w = _vector(w, "w")
    X, y = _data(X, y, w.shape[-1])
    n_w = _norm(w)
    m = jnp.min((w @ X.T) * y, axis=-1)
    return jnp.where(n_w > 0, m / jnp.where(n_w > 0, n_w, 1.0), jnp.nan)


def margin_gap(
    w: Float[Array, "*batch d"],
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    w_hat: Float[Array, " d"],
) -> Float[Array, "*batch"]:
    r"""The margin gap $1/\|\hat w\| - \min_i y_i x_i \cdot w / \|w\| \ge 0$.

    `w_hat` is the hard-margin SVM solution (margin one, e.g. `hard_margin_svm(X, y).w`), so
    $1/\|\hat w\|$ is the max-margin. The gap is zero exactly in the max-margin direction.

    ??? cite "Reference"

        Ji & Telgarsky, *Risk and parameter convergence of logistic regression*, 2018, and
        *Characterizing the implicit bias via a primal-dual analysis*, ALT 2021 (the gap is
        $O(\log n / \log t)$ for gradient descent with constant steps).
    """
    w_hat = _vector(w_hat, "w_hat")
    if w_hat.ndim != 1:
        raise ValueError(
            f"`w_hat` must be a single vector of shape (d,); got shape {tuple(w_hat.shape)}. "
            "Fix: pass the SVM solution `hard_margin_svm(X, y).w`."
        )
    if w_hat.shape[0] != jnp.shape(X)[-1]:
        raise ValueError(
            f"`w_hat` has {w_hat.shape[0]} coordinates but `X` has {jnp.shape(X)[-1]} columns; "
            "they must match. Fix: pass the SVM solution for these X, y."
        )
    return 1.0 / _norm(w_hat) - normalized_margin(w, X, y)
