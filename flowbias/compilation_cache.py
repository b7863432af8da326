r"""An opt-in persistent compilation cache, so that a fresh interpreter need not compile again.

The first `flowsolve` of a problem in a new Python process spends most of its time tracing and
compiling (about 2-3 s for the README's example on a 2-core machine); JAX can keep compiled
programs on disk and load them in the next process. This is off by default (it writes files to
the user's disk).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache as _jax_cache


def default_cache_directory() -> Path:
    """`$XDG_CACHE_HOME/flowbias/jax`, or `~/.cache/flowbias/jax` where that is unset."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowbias" / "jax"


def enable_compilation_cache(
    directory: str | os.PathLike | None = None, *, min_compile_time_s: float = 0.0
) -> Path:
    r"""Keep compiled programs on disk and reuse them in later processes.

    Later processes that solve flows of the same structure and shapes (the values of the data
    may differ) load compiled programs instead of compiling them again; tracing still runs.
    What is stored are the many small programs around a solve (the checks, the save grid, the
    comparison kernels): the integration itself is not, because it holds host callbacks
    (diffrax's and equinox's run-time checks) and JAX does not store such programs. Measured
    on the README's example (2-core machine): the first solve in a fresh process takes 2.2 s
    instead of 3.0 s, the whole script 5.5 s instead of 6.6 s.

    **Arguments:**

    - `directory`: where to keep the programs; by default
      [`default_cache_directory()`][flowbias.compilation_cache.default_cache_directory]. It is
      created if missing.
    - `min_compile_time_s`: the shortest compilation worth storing, in seconds ($\ge 0$); the
      default stores every program, since the small ones (~0.02 s each) are what add up.

    **Returns:** the directory in use.

    Call `fb.enable_compilation_cache()` once, at the top of a script or notebook (later calls
    work too). It sets JAX's `jax_compilation_cache_dir` and
    `jax_persistent_cache_min_compile_time_secs` for the whole process, so it also caches
    programs of code other than flowbias. The same without code: set
    `JAX_COMPILATION_CACHE_DIR=DIR` and `JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0` in the
    environment.
    """
    if isinstance(min_compile_time_s, bool) or not isinstance(min_compile_time_s, (int, float)):
        raise TypeError(
            f"`min_compile_time_s` must be a number of seconds; got "
            f"{type(min_compile_time_s).__name__}."
        )
    if not min_compile_time_s >= 0:
        raise ValueError(
            f"`min_compile_time_s` must be >= 0 (seconds); got {min_compile_time_s}. Fix: pass "
            "0 to store every program."
        )
    path = default_cache_directory() if directory is None else Path(directory).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"`directory` {str(path)!r} exists and is not a directory. Fix: pass a directory "
            "(it is created if missing)."
        )
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_time_s))
    # JAX decides once per process whether a cache is in use, at the first compilation; reset
    # that decision so that turning the cache on after some solves takes effect too.
    _jax_cache.reset_cache()
    _jax_cache.set_cache_dir(str(path))
    return path
