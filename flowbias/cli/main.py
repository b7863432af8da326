"""`flowbias solve` and `flowbias tour`.

Bad input exits with status 2 and a single line on stderr starting with `error:` that names
the problem and the fix; no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np


MODELS = ("linear", "diagonal")
LOSSES = ("square", "logistic", "exp")


class UsageError(Exception):
    """Bad input from the command line: reported as one `error:` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _load_npz(path: str) -> dict[str, np.ndarray]:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"data file {path!r} does not exist. Fix: pass the path of an .npz file "
                         "holding arrays X (n x d) and y (n,), e.g. made with np.savez.")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:
        raise UsageError(f"cannot read {path!r} without pickle ({e}). Fix: save plain numeric "
                         "arrays with np.savez(path, X=X, y=y).") from e
    except Exception as e:
        raise UsageError(f"cannot read {path!r} as .npz ({type(e).__name__}: {e}). Fix: save it "
                         "with np.savez(path, X=X, y=y).") from e
    for key in ("X", "y"):
        if key not in arrays:
            raise UsageError(f"{path!r} has no array {key!r} (it has: {sorted(arrays) or 'none'}). "
                             "Fix: save it with np.savez(path, X=X, y=y[, w0=w0]).")
    return arrays


def _loss(name: str):
    import flowbias as fb

    return {"square": fb.SquareLoss, "logistic": fb.LogisticLoss, "exp": fb.ExponentialLoss}[
        name
    ]()


def _diagonal_model(fb, args, arrays, d: int):
    if args.depth < 2:
        raise UsageError(f"--depth must be an integer >= 2; got {args.depth}. Fix: e.g. --depth 2.")
    if "u0" in arrays:
        if args.alpha is not None:
            raise UsageError("pass either --alpha or arrays u0/v0 in the data file, not both.")
        return fb.DiagonalNetwork(arrays["u0"], None if args.tied else arrays.get("v0"),
                                  depth=args.depth, tied=args.tied)
    if args.alpha is None:
        raise UsageError("--model diagonal needs --alpha A (the initial scale, > 0), or arrays "
                         "u0 (and v0) in the data file.")
    if not args.alpha > 0:
        raise UsageError(f"--alpha must be > 0; got {args.alpha}. Fix: e.g. --alpha 0.01 "
                         "(small: sparse/rich regime; large: kernel regime).")
    return fb.DiagonalNetwork.uniform(args.alpha, d, depth=args.depth, tied=args.tied)


def run_solve(args) -> dict:
    import flowbias as fb

    arrays = _load_npz(args.data)
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2:
        raise UsageError(f"array X must be 2-D (n x d); got shape {X.shape}. Fix: reshape X.")
    w0 = arrays.get("w0", np.zeros(X.shape[1]) if X.ndim == 2 else None)
    if args.t1 is not None and not args.t1 > 0:
        raise UsageError(f"--t1 must be > 0; got {args.t1}. Fix: e.g. --t1 1e100.")
    if args.t1 is not None and not math.isfinite(args.t1):
        raise UsageError(f"--t1 {args.t1} is beyond the float64 range. Fix: use --log10-t1.")
    loss = _loss(args.loss)
    flow = None
    if args.model == "linear":
        model = fb.LinearModel(w0)
    else:
        model = _diagonal_model(fb, args, arrays, X.shape[1])
        flow = fb.DualFlow() if args.flow == "dual" else fb.GradientFlow()
    # The predicted limit first: it validates the data and, for classification losses,
    # refuses non-separable data before any long computation.
    limit = fb.predicted_limit(model, loss, X, y)
    kwargs = {}
    if args.log10_t1 is not None:
        kwargs["log_t1"] = args.log10_t1 * math.log(10.0)
    sol = fb.flowsolve(model, loss, X, y, args.t1, flow=flow, **kwargs)
    w = np.asarray(sol.w_final)
    log_t1 = float(sol.log_ts[-1])
    extra = {}
    if loss.is_classification and args.model == "linear":
        # Asymptotic diagnostics: offsets measured vs predicted, fitted rates (THEORY L3-L4).
        extra["diagnostics"] = fb.diagnostics_summary(sol, X, y, loss=loss)
    return {
        "w": w.tolist(),
        "t1": args.t1 if args.t1 is not None else (math.exp(log_t1) if log_t1 < 709 else None),
        "log10_t1": log_t1 / math.log(10.0),
        "loss": float(np.exp(sol.log_loss[-1])),
        "log_loss": float(sol.log_loss[-1]),
        "num_steps": int(sol.num_steps),
        "success": bool(sol.success),
        "limit": {"kind": limit.kind, "w": np.asarray(limit.w).tolist()},
        "agreement": float(fb.agreement(w, limit)),
        "agreement_measure": limit.agreement_measure,
        "problem": {"model": args.model, "loss": args.loss, "n": int(X.shape[0]),
                    "d": int(X.shape[1])},
        **extra,
    }


def _build_parser() -> _Parser:
    parser = _Parser(prog="flowbias", description="Implicit bias of gradient methods, computed.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    solve = sub.add_parser("solve", help="integrate a flow on DATA.npz and compare to theory")
    solve.add_argument("data", help=".npz file with arrays X (n x d), y (n,), optionally w0 (d,)")
    solve.add_argument("--model", choices=MODELS, default="linear")
    solve.add_argument("--loss", choices=LOSSES, default="square")
    diag = solve.add_argument_group("diagonal networks (--model diagonal)")
    diag.add_argument("--alpha", type=float, default=None, help="initial scale u(0) = v(0)")
    diag.add_argument("--depth", type=int, default=2, help="depth D >= 2 (w = u^D - v^D)")
    diag.add_argument("--tied", action="store_true", help="the non-negative model w = u^D")
    diag.add_argument("--flow", choices=("dual", "primal"), default="dual",
                      help="integrate the n-dim dual variable (fast) or the parameters")
    horizon = solve.add_mutually_exclusive_group()
    horizon.add_argument("--t1", type=float, default=None, help="final time (default: converged)")
    horizon.add_argument("--log10-t1", type=float, default=None, help="log10 of the final time")
    solve.add_argument("--json", default=None, metavar="PATH", help="write JSON here (else stdout)")
    tour = sub.add_parser("tour", help="run the catalogue of results on built-in data")
    tour.add_argument("--out", default="flowbias-tour", help="output folder (figures, report)")
    tour.add_argument("--quick", action="store_true", help="smaller problems, for CI")
    tour.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("no command given. Fix: `flowbias solve DATA.npz` or `flowbias tour`.")
        if args.command == "solve":
            out = run_solve(args)
            text = json.dumps(out, indent=2)
            if args.json:
                Path(args.json).write_text(text + "\n")
            else:
                print(text)
            return 0
        from .tour import run_tour

        ok = run_tour(Path(args.out), quick=args.quick, progress=not args.no_progress)
        return 0 if ok else 1
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, NotImplementedError) as e:  # library validation errors
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
