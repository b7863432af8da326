"""Input checks shared by every entry point.

Every check raises *before* any long computation, with a message that names the argument,
says what is wrong, and says how to fix it. Checks that need concrete values are skipped when
the value is a JAX tracer (inside `jax.vmap` / `jax.jit`), so that the public functions stay
transformable; the same checks then run once, outside, on the concrete inputs.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when `x` holds actual values (not a tracer under jit/vmap)."""
    return not isinstance(x, jax.core.Tracer)


def require_float64() -> None:
    """Raise if JAX is running in float32 mode: flowbias's tolerances (1e-8 and tighter) need
    float64, and float32 would silently cap accuracy near 1e-7."""
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "flowbias needs float64, but JAX is in float32 mode (jax_enable_x64 is off): "
            "float32 would silently limit accuracy to about 1e-7. Fix: call "
            "`jax.config.update('jax_enable_x64', True)` before creating arrays "
            "(importing flowbias does this; something turned it off again)."
        )


def as_float_array(x, name: str, *, ndim: int | None = None) -> jax.Array:
    """Convert `x` to a float64 JAX array, checking its rank and that it is finite.

    float32 input is accepted and promoted: its values are exactly representable in float64;
    what matters is that computation happens in float64 (see `require_float64`).
    """
    require_float64()
    if isinstance(x, jax.core.Tracer):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as e:  # pragma: no cover - exotic inputs
            raise TypeError(f"`{name}` must be array-like; got {type(x).__name__}.") from e
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise TypeError(f"`{name}` must be a numeric array; got dtype {arr.dtype}.")
        if np.iscomplexobj(arr):
            raise TypeError(f"`{name}` must be real; got a complex array.")
    if ndim is not None and arr.ndim != ndim:
        words = {0: "a scalar", 1: "a vector (1-D)", 2: "a matrix (2-D)"}
        shape_word = words.get(ndim, f"{ndim}-D")
        raise ValueError(
            f"`{name}` must be {shape_word}; got an array of shape {tuple(arr.shape)}. "
            f"Fix: reshape `{name}` to {ndim} dimension(s)."
        )
    if is_concrete(arr):
        arr_np = np.asarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(arr_np)):
            bad = np.argwhere(~np.isfinite(arr_np))
            where = tuple(int(i) for i in bad[0]) if arr_np.ndim else ()
            raise ValueError(
                f"`{name}` contains NaN or inf ({len(bad)} entr{'y' if len(bad) == 1 else 'ies'}, "
                f"first at index {where}). Fix: remove or impute non-finite values."
            )
        return jnp.asarray(arr_np, dtype=jnp.float64)
    return jnp.asarray(arr, dtype=jnp.float64)


def as_positive_scalar(x, name: str, *, fix: str = "") -> jax.Array:
    """A strictly positive finite float64 scalar (as an array, so jit does not recompile)."""
    arr = as_float_array(x, name, ndim=0)
    if is_concrete(arr) and not float(arr) > 0:
        raise ValueError(
            f"`{name}` must be > 0; got {float(arr)!r}." + (f" Fix: {fix}" if fix else "")
        )
    return arr


def check_labels(y: jax.Array, name: str = "y") -> None:
    """Classification labels must be +1 or -1."""
    if is_concrete(y):
        vals = np.unique(np.asarray(y))
        if not np.all(np.isin(vals, [-1.0, 1.0])):
            raise ValueError(
                f"`{name}` must hold labels +1 or -1 for a classification loss; got values "
                f"{vals[:5].tolist()}{'...' if len(vals) > 5 else ''}. Fix: map classes to "
                "+1/-1 (e.g. y = 2*y01 - 1), or use the square loss for regression."
            )


def check_data_shapes(X: jax.Array, y: jax.Array) -> None:
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"`X` has {X.shape[0]} rows but `y` has {y.shape[0]} entries; they must match "
            "(one target per row of X). Fix: pass X of shape (n, d) and y of shape (n,)."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"`X` is empty (shape {tuple(X.shape)}); need n >= 1 and d >= 1.")


def check_int(x, name: str, *, minimum: int, fix: str = "") -> int:
    """An integer >= `minimum` (bools and floats such as 10.5 are refused)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < minimum:
        hint = f" Fix: {fix}" if fix else ""
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {x!r}.{hint}")
    return int(x)


def check_tolerance(x, name: str, *, lo: float, hi: float) -> float:
    """A finite tolerance in [lo, hi]: outside it a solve is either meaningless (a relative
    tolerance of 1e3 accepts any answer) or beyond float64 (below ~1e-15)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        raise ValueError(f"`{name}` must be a finite number; got {x!r}. Fix: e.g. {name}=1e-10.")
    if not lo <= x <= hi:
        raise ValueError(
            f"`{name}` must be in [{lo:g}, {hi:g}]; got {x!r}. Below {lo:g} float64 cannot meet "
            f"it; above {hi:g} the solve would mean nothing. Fix: e.g. {name}=1e-10."
        )
    return float(x)


def check_data_scale(X, name: str = "X") -> None:
    """Refuse data whose scale puts the flow's time scale or its products outside float64.

    For a linear model the flow on (c X, y) is the flow on (X, y) at time c^2 t, with w scaled
    by 1/c, so rescaling loses nothing."""
    if not is_concrete(X):
        return
    m = float(np.max(np.abs(np.asarray(X)))) if np.size(X) else 0.0
    if m == 0.0:
        raise ValueError(
            f"`{name}` is all zeros: the loss does not depend on the parameters, so there is "
            f"no flow to integrate. Fix: pass non-zero data."
        )
    if not _MIN_SCALE <= m <= _MAX_SCALE:
        raise ValueError(
            f"`{name}` has max |entry| = {m:.3g}, outside [{_MIN_SCALE:g}, {_MAX_SCALE:g}]: its "
            "Gram matrix and the flow's time scale (~1/|X|^2) leave the float64 range. Fix: "
            f"rescale, e.g. `{name} / {m:.3g}` (for a linear model the flow on c X is the same "
            "path at time c^2 t, with w divided by c)."
        )


_MIN_SCALE, _MAX_SCALE = 1e-100, 1e100


def as_data(X, y, *, labels: bool = False) -> tuple[jax.Array, jax.Array]:
    """`X` (n, d) and `y` (n,) as finite float64 arrays with matching n >= 1, d >= 1; with
    `labels=True`, `y` must hold +1/-1. The preamble of every function that takes data; entry
    points that integrate a flow use `validate_data`, which adds the model's and the scale's
    checks."""
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    check_data_shapes(X, y)
    if labels:
        check_labels(y)
    return X, y


def as_initialisation(w0, d: int, name: str = "w0") -> jax.Array:
    """An initial parameter vector `w0` of shape (d,), finite float64; `None` means zeros."""
    if w0 is None:
        return jnp.zeros(d, dtype=jnp.float64)
    w0 = as_float_array(w0, name, ndim=1)
    if w0.shape[0] != d:
        raise ValueError(
            f"`{name}` has {w0.shape[0]} entries but `X` has {d} columns; they must match (one "
            f"initial weight per feature). Fix: pass {name} of shape ({d},)."
        )
    return w0


def validate_data(X, y, *, model=None, loss=None) -> tuple[jax.Array, jax.Array]:
    """The data preamble of every entry point that integrates a flow: `X` (n, d) and `y` (n,)
    as finite float64 arrays with matching n; labels +1/-1 for a classification `loss`;
    `model.check_data`; a scale float64 can integrate."""
    X, y = as_data(X, y)
    if model is not None:
        model.check_data(X)
    check_data_scale(X)
    if loss is not None and loss.is_classification:
        check_labels(y)
    return X, y


def as_matrix_chain(mats, name: str, *, what: str = "layers") -> tuple:
    """A non-empty list of float64 matrices that chain as a product, first factor first:
    `mats[j]` has as many columns as `mats[j - 1]` has rows."""
    if not isinstance(mats, list | tuple) or len(mats) == 0:
        raise TypeError(f"`{name}` must be a non-empty list of matrices W_1(0), ..., W_K(0).")
    ms = tuple(as_float_array(m, f"{name}[{j}]", ndim=2) for j, m in enumerate(mats))
    for j in range(1, len(ms)):
        if ms[j].shape[1] != ms[j - 1].shape[0]:
            raise ValueError(
                f"`{name}[{j}]` has {ms[j].shape[1]} columns but `{name}[{j - 1}]` has "
                f"{ms[j - 1].shape[0]} rows; consecutive {what} must chain (W_1 first)."
            )
    return ms
