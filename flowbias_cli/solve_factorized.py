"""`flowbias solve --model factorized`: matrix factorisation on completion or sensing data.

The data file holds either observed entries (`shape` (2,), `rows`, `cols`, `values`) or
sensing matrices (`A` (n, d1, d2) and `y` (n,)). The result carries the final end-to-end
matrix, its spectrum, and the minimum nuclear norm fit it is compared with.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .io import UsageError, check_depth_and_alpha, run_fields


COMPLETION_KEYS = {"shape", "rows", "cols", "values"}
SENSING_KEYS = {"A", "y"}
INITS = ("balanced", "gaussian")


def check_factorized_arguments(args) -> None:
    """The options that apply to --model factorized, before the data or JAX."""
    wrong = [k for k, v in {"--tied": args.tied, "--flow": args.flow}.items() if v is not None]
    if wrong:
        one = len(wrong) == 1
        raise UsageError(
            f"{', '.join(wrong)} appl{'ies' if one else 'y'} to --model diagonal "
            f"only. Fix: drop {'it' if one else 'them'}."
        )
    if args.loss != "square":
        raise UsageError(
            f"--model factorized fits measurements with the square loss; got --loss "
            f"{args.loss}. Fix: --loss square (the default)."
        )
    check_depth_and_alpha(
        args, min_depth=1, depth_example=3, alpha_hint="1e-3 (small: low-rank bias)"
    )
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0; got {args.seed}.")
    if args.seed is not None and args.init != "gaussian":
        raise UsageError(
            "--seed applies to --init gaussian only (the balanced init is not "
            "random). Fix: add --init gaussian, or drop --seed."
        )
    if args.symmetric and args.depth is not None and args.depth % 2:
        raise UsageError(f"--symmetric (W = P P^T) needs an even --depth; got {args.depth}.")


def _whole(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim != 1 or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise UsageError(f"array {name!r} must be a vector of whole-number indices.")
    return a.astype(np.int64)


def load_measurements(fb, arrays: dict, path: str):
    """The operator and the measured values from the arrays of the data file."""
    keys = set(arrays)
    if COMPLETION_KEYS <= keys:
        kind, used = "completion", COMPLETION_KEYS
    elif SENSING_KEYS <= keys:
        kind, used = "sensing", SENSING_KEYS
    else:
        raise UsageError(
            f"{path!r} holds {sorted(keys) or 'no arrays'}; --model factorized reads either "
            "matrix completion (shape, rows, cols, values) or sensing (A of shape (n, d1, d2), "
            "y). Fix: np.savez(path, shape=(d1, d2), rows=rows, cols=cols, values=values)."
        )
    extra = sorted(keys - used)
    if extra:
        print(
            f"warning: ignoring array(s) {extra} in {path!r} (matrix {kind} reads {sorted(used)}).",
            file=sys.stderr,
        )
    if kind == "sensing":
        if arrays["A"].ndim != 3:
            raise UsageError(f"array A must be 3-D (n, d1, d2); got shape {arrays['A'].shape}.")
        return fb.MatrixSensing(arrays["A"]), arrays["y"], kind
    shape = np.asarray(arrays["shape"]).reshape(-1)
    if shape.size != 2:
        raise UsageError(f"array 'shape' must hold two sizes (d1, d2); got {shape.tolist()}.")
    rows, cols = _whole(arrays["rows"], "rows"), _whole(arrays["cols"], "cols")
    shape = tuple(int(s) for s in _whole(shape.astype(np.float64), "shape"))
    return fb.MatrixCompletion(rows, cols, shape), arrays["values"], kind


def _model(fb, args, shape):
    depth = 2 if args.depth is None else args.depth
    alpha = 1e-3 if args.alpha is None else args.alpha
    symmetric = bool(args.symmetric)
    if args.init == "gaussian":
        seed = 0 if args.seed is None else args.seed
        return fb.MatrixFactorization.gaussian(
            alpha, shape, depth=depth, seed=seed, symmetric=symmetric
        )
    return fb.MatrixFactorization.balanced(alpha, shape, depth=depth, symmetric=symmetric)


def factorized_result(fb, args, arrays: dict, solve) -> tuple[dict, bool, object]:
    """Solve, and the JSON-able result (with `ok` and the solution's result item).

    `solve(model, loss, flow, X, y)` runs the flow with the command line's solver options."""
    X, y, kind = load_measurements(fb, arrays, args.data)
    model = _model(fb, args, X.shape)
    loss = fb.SquareLoss()
    limit = fb.predicted_limit(model, loss, X, y)  # validates the data before the flow
    start = time.perf_counter()
    sol, solver_name = solve(model, loss, fb.GradientFlow(), X, y)
    wall = time.perf_counter() - start
    W = np.asarray(sol.observable_final)
    ok = bool(sol.success)
    result = {
        "W": W.tolist(),
        **run_fields(args, sol, solver_name, wall),
        "singular_values": np.asarray(fb.singular_values(W)).tolist(),
        "nuclear_norm": float(fb.nuclear_norm(W)),
        "effective_rank": float(fb.effective_rank(W)),
        "limit": {
            "kind": limit.kind,
            "W": np.asarray(limit.value).tolist(),
            "agreement": float(fb.agreement(W, limit)),
            "agreement_measure": limit.agreement_measure,
            "nuclear_norm": float(fb.nuclear_norm(limit.value)),
        },
        "problem": {
            "model": "factorized",
            "data": kind,
            "shape": list(X.shape),
            "n": int(X.num_measurements),
            "depth": model.depth,
            "symmetric": model.symmetric,
            "init": args.init,
            "alpha": 1e-3 if args.alpha is None else args.alpha,
        },
    }
    return result, ok, sol.result
