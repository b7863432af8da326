"""`flowbias solve`: integrate a flow on DATA.npz and confront it with its predicted limit.

The arguments are checked first (before JAX is imported), then the data file and the output
path, then the predicted limit (which refuses, for instance, non-separable data for a margin
limit), and only then the flow. A run that fails keeps its result: the JSON is written with
`"success": false` and the reason, and the command exits with status 2 and one `error:` line
that says which option fixes it.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from .io import UsageError, check_depth_and_alpha, check_output_path, load_npz, run_fields
from .solve_factorized import INITS, check_factorized_arguments, factorized_result
from .solve_homogeneous import HOMOGENEOUS, check_homogeneous_arguments, homogeneous_result


MODELS = ("linear", "diagonal", "factorized", *HOMOGENEOUS)
LOSSES = ("square", "logistic", "exp")
SOLVERS = ("auto", "explicit", "stiff")
KNOWN_KEYS = {"linear": {"X", "y", "w0"}, "diagonal": {"X", "y", "u0", "v0"}}


def add_arguments(solve) -> None:
    solve.add_argument(
        "data",
        help=".npz file with arrays X (n x d), y (n,), optionally w0 (d,) "
        "(linear) or u0, v0 (d,) (diagonal); for factorized: shape, rows, cols, "
        "values (completion) or A (n x d1 x d2), y (sensing)",
    )
    solve.add_argument(
        "--model",
        choices=MODELS,
        default="linear",
        help="linear: f(x) = <w, x>; diagonal: w = u^D - v^D; factorized: "
        "W = W_N ... W_1 seen through measurements; deep-linear: f(x) = W_L ... W_1 x; "
        "two-layer: f(x) = sum_k a_k sigma(w_k . x) (default: linear)",
    )
    solve.add_argument(
        "--loss",
        choices=LOSSES,
        default="square",
        help="square (regression) or exp/logistic (labels +1/-1) (default: square)",
    )
    diag = solve.add_argument_group("diagonal networks and factorisations")
    diag.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="initial scale: u(0) = v(0) (diagonal), factors' scale (factorized, default "
        "1e-3), std of the Gaussian weights (deep-linear, two-layer; default 0.5)",
    )
    diag.add_argument(
        "--depth",
        type=int,
        default=None,
        help="depth: D >= 2 (diagonal), N >= 1 factors (factorized), L >= 1 layers "
        "(deep-linear); default 2",
    )
    diag.add_argument(
        "--tied", action="store_true", default=None, help="the non-negative model w = u^D"
    )
    diag.add_argument(
        "--flow",
        choices=("dual", "primal"),
        default=None,
        help="integrate the n-dim dual variable (fast, default) or the parameters",
    )
    geom = solve.add_argument_group("optimiser geometry (--model linear)")
    geom.add_argument(
        "--potential",
        default=None,
        metavar="EXPR",
        help="mirror flow with psi(w) = sum_i phi(w_i), phi the formula EXPR in w, e.g. "
        "'abs(w)**1.5/1.5' or 'cosh(w)' (read by a restricted parser that evaluates nothing; "
        "limit: the Bregman projection, or the l_p max-margin for abs(w)**p/p). Default: "
        "gradient flow",
    )
    geom.add_argument(
        "--domain",
        choices=("real", "positive"),
        default=None,
        help="the potential's domain: the real line (default) or w > 0 (entropies, e.g. "
        "'w*log(w) - w', with a positive w0 in DATA.npz)",
    )
    geom.add_argument(
        "--steepest",
        type=float,
        default=None,
        metavar="P",
        help="steepest descent in the l_P norm, 1 < P < inf (limit on separable data: the "
        "l_P max-margin; none is predicted on least squares)",
    )
    fact = solve.add_argument_group("matrix factorisations (--model factorized)")
    fact.add_argument(
        "--symmetric",
        action="store_true",
        default=None,
        help="W = P P^T (positive semidefinite targets; even depth)",
    )
    fact.add_argument(
        "--init",
        choices=INITS,
        default=None,
        help="balanced: every factor alpha * identity (default); gaussian: "
        "i.i.d. N(0, alpha^2) entries",
    )
    fact.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the Gaussian initialisation (--init gaussian, deep-linear, two-layer; 0)",
    )
    homog = solve.add_argument_group("homogeneous networks (--model deep-linear, two-layer)")
    homog.add_argument(
        "--width",
        type=int,
        default=None,
        help="hidden width (deep-linear: default d; two-layer: the number of neurons, required)",
    )
    homog.add_argument(
        "--activation",
        default=None,
        help="two-layer activation: relu (default), leaky:S (slope S in [0, 1), default 0.1) "
        "or relu^P (P >= 1; P >= 2 is differentiable)",
    )
    homog.add_argument(
        "--kink-width",
        type=float,
        default=None,
        metavar="EPS",
        help="round off the kink of relu/leaky on |cos| <= EPS (in (0, 1)), so that the flow "
        "cannot slide along it; halve EPS to check the limit (default: no rounding)",
    )
    horizon = solve.add_mutually_exclusive_group()
    horizon.add_argument("--t1", type=float, default=None, help="final time (default: converged)")
    horizon.add_argument("--log10-t1", type=float, default=None, help="log10 of the final time")
    num = solve.add_argument_group("solver")
    num.add_argument(
        "--solver",
        choices=SOLVERS,
        default="auto",
        help="auto: the library's choice (stiff Kvaerno5 for diagonal networks "
        "and ill-conditioned least squares, explicit Tsit5 otherwise), retrying "
        "with the stiff one if the explicit one runs out of steps (default: auto)",
    )
    num.add_argument("--max-steps", type=int, default=100_000, help="step cap (default 100000)")
    num.add_argument("--rtol", type=float, default=1e-10, help="relative tolerance (1e-10)")
    num.add_argument(
        "--atol",
        type=float,
        default=1e-12,
        help="absolute tolerance, relative to the state's scale (1e-12)",
    )
    solve.add_argument(
        "--json",
        default=None,
        metavar="PATH",
        help="write the full result as JSON to PATH (`-`: print it instead of "
        "the summary); default: the summary only",
    )
    solve.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (it is shown on stderr when that is a terminal)",
    )


def _check_arguments(args) -> None:
    """Everything that can be checked without the data or JAX."""
    if args.t1 is not None:
        if math.isnan(args.t1):
            raise UsageError("--t1 must be a number; got nan. Fix: e.g. --t1 1e100.")
        if not args.t1 > 0:
            raise UsageError(f"--t1 must be > 0; got {args.t1}. Fix: e.g. --t1 1e100.")
        if math.isinf(args.t1):
            raise UsageError(f"--t1 {args.t1} is beyond the float64 range. Fix: use --log10-t1.")
    if args.log10_t1 is not None and not math.isfinite(args.log10_t1):
        raise UsageError(f"--log10-t1 must be finite; got {args.log10_t1}.")
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be >= 1; got {args.max_steps}.")
    if not (math.isfinite(args.rtol) and 1e-15 <= args.rtol <= 1e-3):
        raise UsageError(f"--rtol must be in [1e-15, 1e-3]; got {args.rtol}. Fix: e.g. 1e-10.")
    if not (math.isfinite(args.atol) and 0 < args.atol <= 1e-3):
        raise UsageError(f"--atol must be in (0, 1e-3]; got {args.atol}. Fix: e.g. 1e-12.")
    geometry = {"--potential": args.potential, "--domain": args.domain, "--steepest": args.steepest}
    given = [k for k, v in geometry.items() if v is not None]
    if given and args.model != "linear":
        raise UsageError(
            f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to --model linear "
            f"only. Fix: drop {'it' if len(given) == 1 else 'them'}, or use --model linear."
        )
    if args.potential is not None and args.steepest is not None:
        raise UsageError(
            "--potential (mirror flow) and --steepest (steepest descent) are two different "
            "flows. Fix: pass one of them."
        )
    if args.domain is not None and args.potential is None:
        raise UsageError("--domain applies to --potential only. Fix: add --potential EXPR.")
    if args.steepest is not None and not (math.isfinite(args.steepest) and args.steepest > 1):
        raise UsageError(
            f"--steepest must be a finite P > 1; got {args.steepest}. Fix: e.g. --steepest 3 "
            "(P = 1 and P = inf have discontinuous fields: approach them with 1.1 or 3.5)."
        )
    if args.model in HOMOGENEOUS:
        check_homogeneous_arguments(args)
        return
    homogeneous_only = {
        "--width": args.width,
        "--activation": args.activation,
        "--kink-width": args.kink_width,
    }
    given = [k for k, v in homogeneous_only.items() if v is not None]
    if given:
        raise UsageError(
            f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to --model "
            "deep-linear or two-layer only. Fix: pass one of those models, or drop them."
        )
    factorized_only = {"--symmetric": args.symmetric, "--init": args.init, "--seed": args.seed}
    if args.model != "factorized":
        given = [k for k, v in factorized_only.items() if v is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to "
                "--model factorized only. Fix: add --model factorized, or drop "
                "them."
            )
    else:
        args.init = "balanced" if args.init is None else args.init
        check_factorized_arguments(args)
        return
    diagonal_only = {
        "--alpha": args.alpha,
        "--depth": args.depth,
        "--tied": args.tied,
        "--flow": args.flow,
    }
    if args.model == "linear":
        given = [k for k, v in diagonal_only.items() if v is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to "
                "--model diagonal only. Fix: add --model diagonal, or drop them."
            )
        return
    check_depth_and_alpha(
        args,
        min_depth=2,
        depth_example=2,
        alpha_hint="0.01 (small: sparse/rich regime; large: kernel regime)",
    )


def _check_xy(arrays: dict, path: str) -> None:
    for key in ("X", "y"):
        if key not in arrays:
            raise UsageError(
                f"{path!r} has no array {key!r} (it has: {sorted(arrays) or 'none'})."
                " Fix: save it with np.savez(path, X=X, y=y[, w0=w0])."
            )
    if arrays["X"].ndim != 2:
        raise UsageError(
            f"array X must be 2-D (n x d); got shape {arrays['X'].shape}. Fix: reshape X."
        )


def _warn_unknown(arrays: dict, path: str, known: set, model: str) -> None:
    unknown = sorted(set(arrays) - known)
    if unknown:
        print(
            f"warning: ignoring array(s) {unknown} in {path!r} (--model {model} reads "
            f"{sorted(known)}).",
            file=sys.stderr,
        )


def _check_arrays(args, arrays: dict, path: str) -> None:
    _check_xy(arrays, path)
    other = "diagonal" if args.model == "linear" else "linear"
    wrong = sorted(set(arrays) & KNOWN_KEYS[other] - KNOWN_KEYS[args.model])
    if wrong:
        use = "--model diagonal" if args.model == "linear" else "--model linear"
        raise UsageError(
            f"array(s) {wrong} in {path!r} are initialisations for {use}, not "
            f"--model {args.model}, and would be ignored. Fix: pass {use}, or drop "
            "them from the file."
        )
    if args.model == "diagonal":
        if "u0" in arrays and args.alpha is not None:
            raise UsageError("pass either --alpha or arrays u0/v0 in the data file, not both.")
        if "u0" not in arrays and args.alpha is None:
            raise UsageError(
                "--model diagonal needs --alpha A (the initial scale, > 0), or "
                "arrays u0 (and v0) in the data file."
            )
        if args.tied and "v0" in arrays:
            raise UsageError(
                "array v0 is given but --tied (w = u^D) has no v factor, so it "
                "would be ignored. Fix: drop v0, or drop --tied."
            )
        if "v0" in arrays and "u0" not in arrays:
            raise UsageError("array v0 is given without u0. Fix: save both u0 and v0.")
    _warn_unknown(arrays, path, KNOWN_KEYS[args.model], args.model)


# What fixes each failed outcome, in the command line's own options.
def _cli_fix(fb, result) -> str:
    fixes = [
        (
            fb.RESULTS.max_steps_reached,
            "raise --max-steps, loosen --rtol/--atol, or try --solver stiff",
        ),
        (fb.RESULTS.nonfinite, "rescale the data, or try --solver stiff or a smaller --rtol"),
        (fb.RESULTS.not_converged, "pass a longer --t1 (the default horizon was not enough)"),
        (
            fb.RESULTS.ill_conditioned,
            "use --flow dual (it evaluates w without cancellation), or a smaller --alpha",
        ),
        (fb.RESULTS.solver_failed, "try --solver explicit or --solver stiff, or loosen --rtol"),
    ]
    for item, fix in fixes:
        if result == item:
            return fix
    return "see the message"


def _model(fb, args, arrays, d: int):
    if args.model == "linear":
        return fb.LinearModel(arrays.get("w0", np.zeros(d)))
    depth = 2 if args.depth is None else args.depth
    tied = bool(args.tied)
    if "u0" in arrays:
        return fb.DiagonalNetwork(
            arrays["u0"], None if tied else arrays.get("v0"), depth=depth, tied=tied
        )
    return fb.DiagonalNetwork.uniform(args.alpha, d, depth=depth, tied=tied)


def _solve(fb, args, model, loss, flow, X, y, ts=None):
    """Run the flow with the command line's solver options (auto: retry stiff on max_steps)."""
    kwargs = dict(flow=flow, throw=False, max_steps=args.max_steps, rtol=args.rtol, atol=args.atol)
    if not args.quiet and sys.stderr.isatty():
        import diffrax

        kwargs["progress_meter"] = diffrax.TqdmProgressMeter()
    if ts is not None:  # save times on the default horizon, which still claims convergence
        kwargs.update(ts=ts, require_convergence=True)
    if args.log10_t1 is not None:
        kwargs["log_t1"] = args.log10_t1 * math.log(10.0)
    auto = args.solver == "auto"
    solver = None if auto else fb.default_solver(stiff=args.solver == "stiff")
    sol = fb.flowsolve(model, loss, X, y, args.t1, solver=solver, **kwargs)
    stiff = sol.solver_choice.startswith("Kvaerno5")
    name = sol.solver_choice
    if auto and not stiff and bool(sol.result == fb.RESULTS.max_steps_reached):
        print(
            f"note: the explicit solver ran out of its {args.max_steps} steps; retrying with "
            "the stiff one (--solver stiff).",
            file=sys.stderr,
        )
        sol = fb.flowsolve(
            model, loss, X, y, args.t1, solver=fb.default_solver(stiff=True), **kwargs
        )
        stiff = True
        name = f"Kvaerno5: retried after Tsit5 ran out of its {args.max_steps} steps."
    stats = sol.stats
    if bool(sol.result == fb.RESULTS.max_steps_reached) and int(
        stats["num_rejected_steps"]
    ) > 0.9 * int(stats["num_steps"]):
        # A step-size loop that rejects the same step for ever (seen with diffrax 0.7.2 on
        # dual diagonal flows at alpha ~ 1e-100); another rtol steps around it.
        rtol = min(args.rtol * 10, 1e-3)
        print(
            f"note: the step-size controller stalled ({int(stats['num_rejected_steps'])} "
            f"rejected steps); retrying once with --rtol {rtol:g}.",
            file=sys.stderr,
        )
        kwargs["rtol"] = rtol
        sol = fb.flowsolve(
            model, loss, X, y, args.t1, solver=fb.default_solver(stiff=stiff), **kwargs
        )
    return sol, name


def _time_unit(model):
    from flowbias.saddles import time_unit

    return time_unit(model)


def run_solve(args) -> tuple[dict | None, str | None]:
    """The result as a dict, and an error message if the run failed (the result is kept)."""
    _check_arguments(args)
    arrays = load_npz(args.data)
    if args.model in HOMOGENEOUS:
        _check_xy(arrays, args.data)
        _warn_unknown(arrays, args.data, {"X", "y"}, args.model)
    elif args.model != "factorized":
        _check_arrays(args, arrays, args.data)
    if args.json and args.json != "-":
        check_output_path(args.json, args.data)

    import flowbias as fb

    if args.model == "factorized":
        result, ok, outcome = factorized_result(fb, args, arrays, lambda *a: _solve(fb, args, *a))
        return result, _failure(fb, ok, result["message"], outcome)
    if args.model in HOMOGENEOUS:
        result, ok, outcome = homogeneous_result(fb, args, arrays, lambda *a: _solve(fb, args, *a))
        return result, _failure(fb, ok, result["message"], outcome)

    X, y = arrays["X"], arrays["y"]
    loss = {"square": fb.SquareLoss, "logistic": fb.LogisticLoss, "exp": fb.ExponentialLoss}[
        args.loss
    ]()
    model = _model(fb, args, arrays, X.shape[1])
    flow = None
    if args.model == "diagonal":
        flow = fb.GradientFlow() if args.flow == "primal" else fb.DualFlow()
    if args.potential is not None:
        domain = (0.0, math.inf) if args.domain == "positive" else (-math.inf, math.inf)
        try:
            flow = fb.MirrorFlow(fb.SymbolicPotential(args.potential, domain=domain))
        except (ValueError, TypeError) as e:
            raise UsageError(f"--potential: {e}") from None
        try:
            flow.check(model, loss)
        except ValueError as e:
            raise UsageError(str(e)) from None
    if args.steepest is not None:
        flow = fb.SteepestDescentFlow(args.steepest)
    # The predicted limit first: it validates the data and, for classification losses,
    # refuses non-separable data before any long computation.
    try:
        limit = fb.predicted_limit(model, loss, X, y, flow=flow)
    except fb.LimitError as e:
        if args.steepest is None:
            raise
        limit = None  # steepest descent on least squares: no limit is predicted
        no_limit = " ".join(str(e).split())
    except fb.references.MirrorLimitError as e:
        raise UsageError(
            "the predicted limit argmin Q s.t. Xw = y could not be computed at this initial "
            f"scale and depth: its dual Newton solve stalled at relative residual "
            f"{e.residual:.2e} after {e.steps} steps. Fix: a less extreme --alpha (deep networks "
            "at tiny alpha sit at the float64 floor next to the link's pole)."
        ) from e
    flow = fb.GradientFlow() if flow is None else flow
    ts = None
    saddle_view = (
        args.model == "diagonal"
        and isinstance(flow, fb.DualFlow)
        and not loss.is_classification
        and _time_unit(model) is not None
    )
    if saddle_view and args.t1 is None and args.log10_t1 is None:
        # Save densely, in linear time, across the staircase (its length from the alpha -> 0
        # algorithm), so that every jump falls in its own save interval.
        stc = fb.saddle_to_saddle(X, y)
        t_end = _time_unit(model) * 3.0 * float(stc.times[-1])
        t1 = fb.default_t1(model, loss, X)
        dense = np.linspace(0.0, min(t_end, t1), 800)
        ts = np.concatenate([dense, np.geomspace(dense[-1], t1, 60)[1:]]) if t_end < t1 else dense
    start = time.perf_counter()
    sol, solver_name = _solve(fb, args, model, loss, flow, X, y, ts)
    wall = time.perf_counter() - start
    w = np.asarray(sol.w_final)
    ok = bool(sol.success)
    result = {
        "w": w.tolist(),
        **run_fields(args, sol, solver_name, wall),
        "limit": (
            {"kind": limit.kind, "w": np.asarray(limit.w).tolist()}
            if limit is not None
            else {"kind": f"none predicted: {no_limit}", "w": None}
        ),
        "agreement": float(fb.agreement(w, limit)) if limit is not None else None,
        "agreement_measure": limit.agreement_measure if limit is not None else "none",
        "problem": {
            "model": args.model,
            "loss": args.loss,
            "n": int(X.shape[0]),
            "d": int(X.shape[1]),
        },
    }
    if saddle_view:  # depth 2, one scale alpha < 1
        from flowbias.saddles import locate_jumps

        jumps = locate_jumps(sol)
        rises = jumps.directions == 1
        result["jumps"] = jumps.onsets[rises].tolist()
        result["jump_coordinates"] = jumps.coordinates[rises].tolist()
        result["jumps_time"] = "t / log(1/alpha), onset of each coordinate (diffrax events)"
    if args.potential is not None or args.steepest is not None:
        result["flow"] = (
            f"mirror flow, psi = {flow.potential.label}"
            if args.potential is not None
            else f"steepest descent, l_{args.steepest:g}"
        )
    elif loss.is_classification and args.model == "linear":
        # Asymptotic diagnostics: offsets measured vs predicted, fitted rates. A run too short
        # for them keeps its result; the diagnostics say why they are missing.
        try:
            result["diagnostics"] = fb.diagnostics_summary(sol, X, y, loss=loss)
            result["diagnostics"]["available"] = True
        except ValueError as e:
            result["diagnostics"] = {"available": False, "reason": " ".join(str(e).split())}
    return result, _failure(fb, ok, sol.message, sol.result)


def summary(result: dict) -> str:
    """A few lines for a person: what ran, the limit, the agreement, steps and wall time."""
    p = result["problem"]
    limit = result["limit"]
    agreement = limit.get("agreement", result.get("agreement"))
    measure = limit.get("agreement_measure", result.get("agreement_measure"))
    size = (
        f"{p['n']} measurements of a {p['shape'][0]} x {p['shape'][1]} matrix"
        if "shape" in p
        else f"n x d = {p['n']} x {p['d']}"
    )
    horizon = (
        f"t1 = 1e{result['log10_t1']:.4g}" if result["t1"] is None else f"t1 = {result['t1']:.3g}"
    )
    lines = [
        f"flowbias solve: {p['model']} model, {p['loss'] if 'loss' in p else 'square'} loss, "
        f"{size}, {horizon}" + (f", {result['flow']}" if "flow" in result else ""),
        f"  solver     {result['solver']}",
        f"  steps      {result['num_steps']} in {result['wall_s']:.1f} s (with compilation)",
        f"  loss       {result['loss']:.3g} at the end",
        f"  limit      {limit['kind']}",
        f"  agreement  {'n/a' if agreement is None else f'{agreement:.3g}'} "
        f"({measure.replace('_', ' ')})",
        f"  result     {'success' if result['success'] else 'FAILED: ' + result['message']}",
    ]
    if "normalized_margin" in result:
        kkt = result["kkt"]
        lines.append(
            f"  margins    normalised {result['normalized_margin']:.4g}, smoothed "
            f"{result['smoothed_margin']:.4g} (/ ||theta||^{p['degree']})"
        )
        lines.append(
            f"  KKT        stationarity {kkt['stationarity']:.2g}, complementarity "
            f"{kkt['complementarity']:.2g}, feasibility {kkt['feasibility']:.2g}"
        )
    if "jumps" in result:
        jumps = ", ".join(f"{t:.4g}" for t in result["jumps"])
        lines.append(f"  jumps      t / log(1/alpha) = {jumps}")
    lines.append("  (the full result: --json PATH, or --json - to print it)")
    return "\n".join(lines)


def _failure(fb, ok: bool, message: str, outcome) -> str | None:
    if ok:
        return None
    # Where the message says why more steps will not help, the generic fix would mislead.
    fix = "" if "will not help" in message else f" In this command: {_cli_fix(fb, outcome)}."
    return (
        f"the solve did not succeed: {' '.join(message.split())}{fix} The result is kept, "
        'flagged "success": false.'
    )
