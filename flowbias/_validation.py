"""Input checks shared by every entry point.

Every check raises *before* any long computation, with a message that names the argument,
says what is wrong, and says how to fix it. Checks that need concrete values are skipped when
the value is a JAX tracer (inside `jax.vmap` / `jax.jit`), so that the public functions stay
transformable; the same checks then run once, outside, on the concrete inputs.
"""

from __future__ import annotations

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
