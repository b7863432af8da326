"""`flowbias solve --model deep-linear|two-layer`: homogeneous networks on classification data.

The data file holds `X` (n x d) and labels `y` (+1/-1). The result carries the final
parameters (each layer as nested lists), the normalised and smoothed margins, and the KKT
certificate of the final direction; for deep linear networks also the end-to-end vector `w`
and its predicted limit, the hard-margin SVM direction.
"""

from __future__ import annotations

import re
import time

import numpy as np

from .io import UsageError, check_depth_and_alpha, run_fields


HOMOGENEOUS = ("deep-linear", "two-layer")
_ACTIVATION = re.compile(r"^(relu|leaky(?::([0-9.eE+-]+))?|relu\^([0-9]+))$")


def parse_activation(text: str) -> tuple[str, float | int | None]:
    """`relu`, `leaky` or `leaky:S` (slope S in [0, 1)), `relu^P` (integer P >= 1)."""
    m = _ACTIVATION.match(text)
    if not m:
        raise UsageError(
            f"--activation {text!r} is not a positively homogeneous activation this command "
            "knows. Fix: relu, leaky:0.1 (slope in [0, 1)) or relu^2 (a power >= 1); "
            "tanh, sigmoid and biases would break homogeneity."
        )
    if m.group(1).startswith("leaky"):
        slope = 0.1 if m.group(2) is None else float(m.group(2))
        if not 0 <= slope < 1:
            raise UsageError(f"--activation leaky:S needs 0 <= S < 1; got S = {slope}.")
        return "leaky", slope
    if m.group(3) is not None:
        power = int(m.group(3))
        if power < 1:
            raise UsageError(f"--activation relu^P needs P >= 1; got P = {power}.")
        return "power", power
    return "relu", None


def check_homogeneous_arguments(args) -> None:
    """The options that apply to the homogeneous networks, before the data or JAX."""
    wrong = [k for k, v in {"--tied": args.tied, "--flow": args.flow}.items() if v is not None]
    wrong += [
        k for k, v in {"--symmetric": args.symmetric, "--init": args.init}.items() if v is not None
    ]
    if wrong:
        raise UsageError(
            f"{', '.join(wrong)} do(es) not apply to --model {args.model}. Fix: drop "
            f"{'it' if len(wrong) == 1 else 'them'}."
        )
    if args.loss not in ("exp", "logistic"):
        raise UsageError(
            f"--model {args.model} is trained on labels with an exponentially tailed loss; got "
            f"--loss {args.loss}. Fix: --loss exp or --loss logistic."
        )
    check_depth_and_alpha(args, min_depth=1, depth_example=3, alpha_hint="0.5")
    if args.model == "two-layer":
        if args.depth is not None:
            raise UsageError("--depth applies to --model deep-linear. Fix: drop it.")
        if args.width is None:
            raise UsageError("--model two-layer needs --width M (the number of neurons >= 1).")
        args.activation_spec = parse_activation(args.activation or "relu")
        if args.kink_width is not None:
            if args.activation_spec[0] == "power":
                raise UsageError(
                    "--kink-width rounds off the kink of relu or leaky; relu^P has none. Fix: "
                    "drop --kink-width."
                )
            if not 0 < args.kink_width < 1:
                raise UsageError(f"--kink-width must be in (0, 1); got {args.kink_width}.")
    else:
        extra = [
            k
            for k, v in {"--activation": args.activation, "--kink-width": args.kink_width}.items()
            if v is not None
        ]
        if extra:
            one = len(extra) == 1
            raise UsageError(
                f"{', '.join(extra)} appl{'ies' if one else 'y'} to --model two-layer. Fix: "
                f"drop {'it' if one else 'them'}."
            )
    if args.width is not None and args.width < 1:
        raise UsageError(f"--width must be an integer >= 1; got {args.width}. Fix: e.g. 30.")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0; got {args.seed}.")


def _model(fb, args, d: int):
    alpha = 0.5 if args.alpha is None else args.alpha
    seed = 0 if args.seed is None else args.seed
    if args.model == "deep-linear":
        depth = 2 if args.depth is None else args.depth
        return fb.DeepLinearNetwork.gaussian(alpha, d, depth=depth, width=args.width, seed=seed)
    kind, value = args.activation_spec
    activation = {
        "relu": lambda: fb.ReLU(),
        "leaky": lambda: fb.LeakyReLU(value),
        "power": lambda: fb.PowerReLU(value),
    }[kind]()
    return fb.TwoLayerNetwork.gaussian(
        alpha, d, width=args.width, activation=activation, seed=seed, kink_width=args.kink_width
    )


def homogeneous_result(fb, args, arrays: dict, solve) -> tuple[dict, bool, object]:
    """Solve, and the JSON-able result (with `ok` and the solution's result item).

    `solve(model, loss, flow, X, y)` runs the flow with the command line's solver options."""
    X, y = arrays["X"], arrays["y"]
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise UsageError("array y must hold labels +1 or -1 for a classification loss.")
    report = fb.check_separable(X, y)
    if not report.separable:
        raise UsageError(
            f"the data are not linearly separable through the origin, so no margin limit "
            f"exists for --model {args.model}: {' '.join(report.message.split())} Fix: "
            "separable data (for a linear model, fb.separable_split describes the limit of "
            "non-separable data)."
        )
    loss = fb.ExponentialLoss() if args.loss == "exp" else fb.LogisticLoss()
    model = _model(fb, args, X.shape[1])
    limit = fb.predicted_limit(model, loss, X, y)
    start = time.perf_counter()
    sol, solver_name = solve(model, loss, fb.GradientFlow(), X, y)
    wall = time.perf_counter() - start
    ok = bool(sol.success)
    last = [np.asarray(p)[-1] for p in sol.params]
    path = fb.margin_path(sol)
    cert = fb.max_margin_kkt(model, model.flat(last), X, y)
    result = {
        "params": [p.tolist() for p in last],
        **run_fields(args, sol, solver_name, wall),
        "normalized_margin": float(path.normalized_margin[-1]),
        "smoothed_margin": float(path.smoothed_margin[-1]),
        "parameter_norm": float(path.parameter_norm[-1]),
        "layer_norms": np.asarray(path.layer_norms[-1]).tolist(),
        "kkt": {
            "stationarity": float(cert.stationarity),
            "complementarity": float(cert.complementarity),
            "feasibility": float(cert.feasibility),
            "multipliers": np.asarray(cert.multipliers).tolist(),
        },
        "problem": {
            "model": args.model,
            "loss": args.loss,
            "n": int(X.shape[0]),
            "d": int(X.shape[1]),
            "degree": model.degree,
            "alpha": 0.5 if args.alpha is None else args.alpha,
            "seed": 0 if args.seed is None else args.seed,
        },
    }
    if not ok:  # what the problem says about the failure (a kink, a point no neuron sees)
        from flowbias.solve import failure_hint

        result["message"] += failure_hint(sol)
    if args.model == "deep-linear":
        w = np.asarray(sol.w_final)
        result["w"] = w.tolist()
        result["limit"] = {
            "kind": limit.kind,
            "w": np.asarray(limit.w).tolist(),
            "agreement": float(fb.agreement(w, limit)),
            "agreement_measure": limit.agreement_measure,
        }
        result["problem"]["depth"] = model.depth
    else:
        result["limit"] = {
            "kind": limit.kind,
            "agreement": cert.residual if np.isfinite(cert.residual) else None,
            "agreement_measure": limit.agreement_measure,
        }
        result["problem"].update(
            width=model.width, activation=model.activation.label, kink_width=model.kink_width
        )
    return result, ok, sol.result
