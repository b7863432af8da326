"""`flowbias saddles DATA.npz`: the alpha -> 0 staircase of a depth-2 diagonal network, and
optionally the flow at a given alpha measured against it."""

from __future__ import annotations

import math

import numpy as np

from .io import UsageError, check_output_path, load_npz


def add_arguments(p) -> None:
    p.add_argument("data", metavar="DATA.npz", help="arrays X (n x d) and y (n,)")
    p.add_argument(
        "--exact",
        action="store_true",
        help="rational arithmetic: exact jump times and saddles (small d only)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="also integrate the flow at this initial scale in (0, 1) (e.g. 1e-100) "
        "and measure its jumps against the staircase; default: no flow",
    )
    p.add_argument(
        "--log10-alpha",
        type=float,
        default=None,
        dest="log10_alpha",
        help="the same, as log10(alpha) < 0, for scales below 1e-308 (e.g. -1000)",
    )
    p.add_argument(
        "--json",
        metavar="PATH",
        help="write the full result as JSON to PATH (`-`: print it instead of the "
        "summary); default: the summary only",
    )


def _log_alpha(args) -> float | None:
    if args.alpha is not None and args.log10_alpha is not None:
        raise UsageError("pass --alpha or --log10-alpha, not both.")
    if args.alpha is not None:
        if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
            raise UsageError(
                f"--alpha must be in (0, 1) for the rescaled view t / log(1/alpha); "
                f"got {args.alpha!r}. Fix: e.g. --alpha 1e-100."
            )
        return math.log(args.alpha)
    if args.log10_alpha is not None:
        if not (math.isfinite(args.log10_alpha) and args.log10_alpha < 0):
            raise UsageError(f"--log10-alpha must be finite and < 0; got {args.log10_alpha!r}.")
        return args.log10_alpha * math.log(10.0)
    return None


def run_saddles(args) -> tuple[dict, str | None]:
    log_alpha = _log_alpha(args)
    arrays = load_npz(args.data)
    for key in ("X", "y"):
        if key not in arrays:
            raise UsageError(f"{args.data!r} has no array {key!r}. Fix: np.savez(path, X=X, y=y).")
    X, y = np.asarray(arrays["X"], dtype=float), np.asarray(arrays["y"], dtype=float)
    if X.ndim != 2 or X.shape[1] < 1:
        raise UsageError(f"X must be a matrix with d >= 1 columns; got shape {X.shape}.")
    if args.json and args.json != "-":
        check_output_path(args.json, args.data)

    import flowbias as fb
    from flowbias.saddles import compare_staircase, plateau_midpoints

    stc = fb.saddle_to_saddle(X, y, exact=args.exact)
    result = {
        "jumps": stc.jump_times.tolist(),
        "saddles": stc.saddles[1:].tolist(),
        "active_sets": [list(a) for a in stc.active_sets()[1:]],
        "switched_off": [list(a) for a in stc.leaving()],
        "losses": stc.losses[1:].tolist(),
        "kkt_violation": stc.kkt_violation,
        "exact": bool(args.exact),
        "time": "t / log(1/alpha)",
        "problem": {"n": int(X.shape[0]), "d": int(X.shape[1])},
    }
    if args.exact:
        result["exact_jumps"] = [str(v) for v in stc.exact_times[1:]]
    if log_alpha is None:
        return result, None
    T1 = 1.5 * float(stc.times[-1])
    ts = np.unique(np.concatenate([np.linspace(0, T1, 600), plateau_midpoints(stc)]))
    model = fb.RescaledDiagonalNetwork(X.shape[1], log_alpha=log_alpha)
    sol = fb.flowsolve(model, fb.SquareLoss(), X, y, T1, flow=fb.DualFlow(), ts=ts, throw=False)
    cmp = compare_staircase(sol, stc)
    result["flow"] = {
        "log10_alpha": log_alpha / math.log(10.0),
        "jumps": [None if not math.isfinite(v) else v for v in cmp.jump_times.tolist()],
        "jump_errors": [None if not math.isfinite(v) else v for v in cmp.jump_errors.tolist()],
        "plateau_errors": [
            None if not math.isfinite(v) else v for v in cmp.plateau_errors.tolist()
        ],
        "loss_errors": [None if not math.isfinite(v) else v for v in cmp.loss_errors.tolist()],
        "success": bool(sol.success),
        "message": sol.message,
        "num_steps": int(sol.num_steps),
    }
    error = (
        None
        if bool(sol.success)
        else (
            f"the flow at alpha = 1e{log_alpha / math.log(10.0):.4g} did not succeed: "
            f"{' '.join(sol.message.split())} The staircase is kept."
        )
    )
    return result, error


def summary(result: dict) -> str:
    lines = [f"staircase of {len(result['jumps'])} jumps (times in t / log(1/alpha)):"]
    for k, (t, act) in enumerate(zip(result["jumps"], result["active_sets"], strict=True)):
        off = result["switched_off"][k]
        lines.append(
            f"  jump {k + 1}: tau = {t:.6g}  support {act}"
            + (f"  (switched off: {off})" if off else "")
        )
    if "flow" in result:
        f = result["flow"]
        errs = [e for e in f["jump_errors"] if e is not None]
        lines.append(
            f"flow at alpha = 1e{f['log10_alpha']:.4g}: max relative jump-time error "
            f"{max(errs) if errs else float('nan'):.2e}, {f['num_steps']} steps"
        )
    return "\n".join(lines)
