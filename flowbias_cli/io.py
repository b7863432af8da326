"""Reading the data file and writing the result, for `flowbias solve`.

Everything here runs before JAX is imported, so that a bad path costs nothing: the data file
is checked to be a readable .npz archive of plain arrays, and the output path to be writable
(and not the data file itself) *before* any solve, so that a result is never computed only
to be lost, and the data are never overwritten.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np


class UsageError(Exception):
    """Bad input from the command line: reported as one `error:` line, exit status 2."""


_NPZ_FIX = "Fix: save the data with np.savez(path, X=X, y=y)."


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive, read without pickle, with a message for each way a
    path can fail to be one."""
    p = Path(path)
    if not p.exists():
        raise UsageError(
            f"data file {path!r} does not exist. Fix: pass the path of an .npz file "
            "holding arrays X (n x d) and y (n,), e.g. made with np.savez."
        )
    if p.is_dir():
        raise UsageError(
            f"data file {path!r} is a directory, not an .npz file. Fix: pass the "
            "path of the .npz file inside it."
        )
    if not p.is_file():
        raise UsageError(
            f"data file {path!r} is not a regular file (a device or a pipe?). {_NPZ_FIX}"
        )
    if not os.access(p, os.R_OK):
        raise UsageError(
            f"data file {path!r} is not readable (permission denied). Fix: check its permissions."
        )
    if not zipfile.is_zipfile(p):
        raise UsageError(
            f"data file {path!r} is not an .npz archive (a zip of .npy arrays); it "
            f"looks like another kind of file. {_NPZ_FIX}"
        )
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
    odd = [n for n in names if not n.endswith(".npy")]
    if odd:
        raise UsageError(
            f"data file {path!r} is a zip archive whose members {odd[:3]} are not "
            f".npy arrays. {_NPZ_FIX}"
        )
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:
        if "pickle" in str(e):
            raise UsageError(
                f"data file {path!r} holds object arrays, which can only be read "
                "by unpickling (refused: it can run arbitrary code). Fix: save "
                "plain numeric arrays with np.savez(path, X=X, y=y)."
            ) from e
        raise UsageError(f"cannot read {path!r} as .npz ({e}). {_NPZ_FIX}") from e
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise UsageError(
            f"cannot read {path!r} as .npz ({type(e).__name__}: {e}). {_NPZ_FIX}"
        ) from e
    for key, arr in arrays.items():
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise UsageError(
                f"array {key!r} in {path!r} has dtype {arr.dtype}, not a number "
                "type. Fix: save numeric arrays."
            )
    return arrays


def check_output_path(out: str, data: str) -> Path:
    """Refuse, before solving, an output path that cannot be written or is the data file."""
    p = Path(out)
    if p.is_dir():
        raise UsageError(
            f"--json {out!r} is a directory. Fix: name a file, e.g. "
            f"--json {os.path.join(out, 'result.json')!r}."
        )
    if p.exists() and Path(data).exists() and os.path.samefile(p, data):
        raise UsageError(
            f"--json {out!r} is the data file itself; writing there would destroy "
            "the data. Fix: name another file, e.g. --json result.json."
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(
            f"--json {out!r}: the directory {str(parent)!r} does not exist. Fix: "
            "create it first, or name a file in an existing directory."
        )
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(
            f"--json {out!r} exists and is not writable. Fix: check its "
            "permissions, or name another file."
        )
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"--json {out!r}: the directory {str(parent)!r} is not writable. Fix: "
            "name a file in a directory you can write to."
        )
    return p


def jsonable(x):
    """`x` with every float made JSON-safe: NaN and infinities become None (strict JSON
    parsers refuse `NaN` and `Infinity`), numpy scalars and arrays become Python values."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def run_fields(args, sol, solver_name: str, wall: float) -> dict:
    """The fields every solve reports, whatever the model: horizon, final loss (also in log
    form, finite past the float64 range), steps, outcome, solver and wall time."""
    log_t1 = float(sol.log_ts[-1])
    log_loss = float(sol.log_loss[-1])
    return {
        "t1": args.t1 if args.t1 is not None else (math.exp(log_t1) if log_t1 < 709 else None),
        "log10_t1": log_t1 / math.log(10.0),
        "loss": math.exp(log_loss) if log_loss < 709.78 else math.inf,  # inf: null in JSON
        "log_loss": log_loss,
        "num_steps": int(sol.num_steps),
        "success": bool(sol.success),
        "message": sol.message,
        "error_estimate": float(sol.error_estimate),
        "solver": solver_name,
        "wall_s": wall,
    }


def dumps(result: dict) -> str:
    return json.dumps(jsonable(result), indent=2, allow_nan=False)


def check_depth_and_alpha(args, *, min_depth: int, depth_example: int, alpha_hint: str) -> None:
    """`--depth` an integer >= `min_depth` and `--alpha` finite and > 0, when given."""
    if args.depth is not None and args.depth < min_depth:
        raise UsageError(
            f"--depth must be an integer >= {min_depth}; got {args.depth}. Fix: "
            f"e.g. --depth {depth_example}."
        )
    if args.alpha is not None and not (math.isfinite(args.alpha) and args.alpha > 0):
        raise UsageError(
            f"--alpha must be > 0 and finite; got {args.alpha}. Fix: e.g. --alpha {alpha_hint}."
        )
