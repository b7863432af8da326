"""Benchmark: a two-layer ReLU network on separable data, flowbias's flow to t = 1e100 against
hand-written gradient descent with Lyu and Li's loss-based learning rate (issue 13 item 9).

Data: `problems.gaussian_separable(n, d, seed=0, gap=0.1)`; network f(x) = sum_k a_k
relu(w_k . x), width m, balanced Gaussian initialisation of scale alpha (seed 0), exponential
loss L(theta) = mean_i exp(-q_i), q_i = y_i f(x_i). Competitors, one after another in one
process:

1. flowbias: `flowsolve` in log time to t1 = 1e100 (default solver), the ReLU kink rounded off
   on |cos| <= --kink-width (without it the flow slides along the kink and stalls). Wall time
   excludes compilation (reported separately). Its final normalised margin
   gamma = min_i q_i / ||theta||^2, evaluated on the plain ReLU network at the same
   parameters, is the target.
2. NumPy full-batch GD on the plain ReLU network (subgradient 1[z > 0] at the kink), run until
   its normalised margin reaches the flow's, or the budget ends (then the best margin it
   reached is reported, with the reason it stopped). The margin is checked after every
   accepted step (it falls out of the forward pass the step needs anyway).

What Lyu and Li's experiments do (read from github.com/vfleaking/max-margin, commit bcf7986,
the code of "Gradient Descent Maximizes the Margin of Homogeneous Neural Networks", ICLR 2020;
their README points to the two places below):

* Schedule: class `LossBasedLRv1` in `models/lr_schedulers.py`, driven by `Core.train` in
  `core.py`; the MNIST and CIFAR configurations (`exper-final-*-loss-based-lr.py`) use it with
  lr0 = 0.1, r_up = 2^(1/5), r_down = 2^(1/10). The real step size of epoch k is
  eta_k = lr_k / F_k, where F_k (the "frame") is the training loss at the start of the epoch.
  After an epoch, the full training loss L' is evaluated. If L' <= F_k (their eps = 0) and
  everything stayed finite, the epoch is accepted: F_{k+1} = L' and lr_{k+1} = r_up lr_k.
  Otherwise the parameters are rolled back to the start of the epoch, lr_k is divided by
  r_down (the increase of the previous acceptance is not undone) and the epoch is retried with
  F_k unchanged. A learning rate below 1e-50 ends the run (`lr_lb` in `core.py`). A running
  minibatch loss above `loss_ub` (600 on MNIST) or a non-finite value also counts as a failed
  epoch. The frame starts at log(10) (`log_frame0` = log log 10: the cross-entropy of a
  zero-output network over 10 classes), so only the very first step uses a guess for F.
* Overflow/underflow: the parameters are never rescaled (plain float32 variables); the loss
  is what is kept in range. With `TrainMode.USE_FRAME` the network is trained on L / F_k
  (`hp_sparse_softmax_cross_entropy_with_logits_v2` in `models/base_model.py`): the logits
  are cast to float64 and, once every sample's margin exceeds 30, the per-sample loss is
  computed as exp(-margin - log F_k) directly (a softplus of a log-sum-exp divided by F_k
  otherwise); log F is carried as a float64 and updated additively (log F += log(L'/F)).
  Gradient descent on L / F_k with rate lr_k is exactly GD on L with rate lr_k / F_k.

The port here (`--schedule lyu-li`, the default): the same accept/retry rule, constants and
lr floor, with one epoch = one full-batch step (they ran minibatch SGD, batches of 100, an
epoch being a pass over the data; full batch is what "GD" means here). The loss is the
exponential loss, not the softmax cross-entropy (binary labels; their loss is the same
exp(-margin) once margins exceed 30), and F_0 = 1 = the exponential loss of the zero output,
the analogue of their log(10). `--schedule fixed` is the schedule of the first version of
this file: eta_k = eta0 / L(theta_k), no adaptation, no rejection.

Numerics. A degree-2 network's norm grows geometrically under eta / L, so theta itself
overflows float64 (the first version of this file died there). Here theta is stored as
theta = exp(log_c) u with ||u|| = 1 and log_c a float64, a change of representation only:
with q_i(theta) = c^2 q_i(u) and grad f_i(theta) = c grad f_i(u), the step
theta' = theta - (lr / F) grad L(theta) becomes

    u' = u + lr (L(theta) / F) sum_i p_i y_i grad f_i(u),   p = softmax(-c^2 q(u)),
    log_c' = log_c + log ||u'||,   u' <- u' / ||u'||,

and log L(theta) = -c^2 q_min(u) + log(mean_i exp(-c^2 (q_i(u) - q_min(u)))), with
c^2 x formed as sign(x) exp(2 log_c + log |x|), so nothing overflows until log L itself
leaves float64 (|log L| > 1.8e308; reported if it happens). The acceptance test L' <= F is
done on logs. L(theta) / F is 1 after the first accepted step (F is then the current loss).
The normalised margin is q_min(u), u having unit norm. Checked: one step agrees with
theta - (lr / F) jax.grad(L)(theta) to 1e-14, and on the quick case (where theta stays small
enough to store directly) a naive theta-space port takes the same 971 accepted and 1989
rejected steps to the same margin, to 15 digits.

ratio = GD wall / flowbias wall (run only). Target (issue 13): >= 20.

    python bench/homogeneous.py [--n 200] [--d 20] [--width 100] [--budget 300]
        [--schedule {lyu-li,fixed}] [--eta0 LR0] [--up R] [--down R] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _common import fmt, markdown_table, time_jax, write_results

import flowbias as fb


UP, DOWN, LR_FLOOR = 2 ** (1 / 5), 2 ** (1 / 10), 1e-50  # LossBasedLRv1 / Core values
LR0 = {"lyu-li": 0.1, "fixed": 0.05}  # theirs for MNIST/CIFAR; the first version's eta0


def _margin(W, a, X, y) -> float:
    f = np.maximum(X @ W.T, 0.0) @ a
    return float(np.min(y * f) / (np.sum(W**2) + np.sum(a**2)))


def _forward(U, b, X, y):
    Z = X @ U.T
    H = np.maximum(Z, 0.0)
    return Z, H, y * (H @ b)


def _times_c2(log_c: float, x):
    """c^2 x for c = exp(log_c), without forming c^2 (inf where the product leaves float64)."""
    with np.errstate(divide="ignore", over="ignore"):
        return np.sign(x) * np.exp(2.0 * log_c + np.log(np.abs(x)))


def _log_loss(log_c: float, q):
    """log L(theta) and the weights p = softmax(-q(theta)), theta = exp(log_c) u, q = q(u)."""
    q_min = q.min()
    w = np.exp(-_times_c2(log_c, q - q_min))  # 1 at the minimum, in (0, 1] elsewhere
    s = w.sum()
    log_l = -float(_times_c2(log_c, q_min)) + math.log(s / q.size)
    return log_l, w / s


def _direction(Z, H, p, y, b, X):
    """sum_i p_i y_i grad f_i(u), as (dU, db)."""
    py = p * y
    G = (Z > 0) * py[:, None]
    return b[:, None] * (G.T @ X), H.T @ py


def _gd(
    W, a, X, y, target: float, schedule: str, lr: float, up: float, down: float, budget: float
) -> dict:
    start = time.perf_counter()
    c = math.sqrt(np.sum(W**2) + np.sum(a**2))
    U, b, log_c = W / c, a / c, math.log(c)
    Z, H, q = _forward(U, b, X, y)
    log_l, p = _log_loss(log_c, q)
    log_f = 0.0  # log F_0: the loss of the zero output (their log_frame0 = log log 10)
    dU, db = _direction(Z, H, p, y, b, X)
    steps = rejected = 0
    best = float(q.min())
    why = "budget"
    while time.perf_counter() - start <= budget:
        scale = lr * math.exp(log_l - log_f) if schedule == "lyu-li" else lr  # = eta * L
        U1, b1 = U + scale * dU, b + scale * db
        r = math.sqrt(np.sum(U1**2) + np.sum(b1**2))
        U1, b1, log_c1 = U1 / r, b1 / r, log_c + math.log(r)
        Z1, H1, q1 = _forward(U1, b1, X, y)
        log_l1, p1 = _log_loss(log_c1, q1)
        if schedule == "lyu-li" and not log_l1 <= log_f:  # also catches nan, as their check
            rejected += 1  # roll back (theta is untouched) and retry with a smaller lr
            lr /= down
            if lr < LR_FLOOR:
                why = "lr below 1e-50"
                break
            continue
        if not np.isfinite(log_l1):
            why = "log L below -1.8e308" if log_l1 == -np.inf else "non-finite loss"
            break
        U, b, log_c, Z, H, q, log_l, p = U1, b1, log_c1, Z1, H1, q1, log_l1, p1
        steps += 1
        if schedule == "lyu-li":
            log_f = log_l  # the new frame is the loss just reached
            lr *= up
        m = float(q.min())  # = the normalised margin: ||u|| = 1
        best = max(best, m)
        if m >= target:
            why = "reached"
            break
        dU, db = _direction(Z, H, p, y, b, X)
    return {
        "reached": why == "reached",
        "stop": why,
        "steps": steps,
        "rejected": rejected,
        "wall_s": time.perf_counter() - start,
        "margin": best,
        "log10_norm": log_c / math.log(10),
        "log10_loss": log_l / math.log(10),
        "lr_final": lr,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--d", type=int, default=20)
    p.add_argument("--width", type=int, default=100)
    p.add_argument("--alpha", type=float, default=0.1)
    p.add_argument("--kink-width", type=float, default=1e-3)
    p.add_argument(
        "--schedule",
        choices=["lyu-li", "fixed"],
        default="lyu-li",
        help="lyu-li: their adaptive lr / L (default); fixed: eta0 / L",
    )
    p.add_argument(
        "--eta0",
        type=float,
        default=None,
        help="initial lr (lyu-li, default 0.1) or the fixed eta0 (default 0.05)",
    )
    p.add_argument("--up", type=float, default=UP, help="lr factor after an accepted step")
    p.add_argument("--down", type=float, default=DOWN, help="lr divisor after a rejected one")
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--quick", action="store_true", help="n = 50, d = 5, width 20, budget 30 s")
    args = p.parse_args()
    if args.quick:
        args.n, args.d, args.width, args.budget = 50, 5, 20, 30.0
    if args.eta0 is None:
        args.eta0 = LR0[args.schedule]

    X, y = fb.problems.gaussian_separable(args.n, args.d, 0, gap=0.1)
    net = fb.TwoLayerNetwork.gaussian(
        args.alpha, args.d, width=args.width, seed=0, balanced=True, kink_width=args.kink_width
    )
    sol, wall, compile_s, peak = time_jax(
        lambda: fb.flowsolve(net, fb.ExponentialLoss(), X, y, 1e100)
    )
    W, a = (np.asarray(q)[-1] for q in sol.params)
    target = _margin(W, a, X, y)
    rows = [
        {
            "method": f"flowbias flow to t = 1e100 (kink width {args.kink_width:g})",
            "reached": bool(sol.success),
            "steps": int(sol.num_steps),
            "wall_s": wall,
            "compile_s": compile_s,
            "margin": target,
            "log10_norm": 0.5 * math.log10(np.sum(W**2) + np.sum(a**2)),
            "peak_mib": peak,
        }
    ]
    W0, a0 = (np.asarray(q, dtype=np.float64) for q in net.init_params())
    X64, y64 = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    gd = _gd(W0, a0, X64, y64, target, args.schedule, args.eta0, args.up, args.down, args.budget)
    if args.schedule == "lyu-li":
        label = f"numpy GD, Lyu-Li lr / L (lr0 {args.eta0:g}, x{args.up:.4g} / {args.down:.4g})"
    else:
        label = f"numpy GD, eta = {args.eta0:g} / L"
    rows.append({"method": label, **gd})
    ratio = gd["wall_s"] / wall
    if not gd["reached"]:
        bound = (
            " (lower bound: GD did not reach the margin, best"
            f" {fmt(gd['margin'])}, stopped on {gd['stop']})"
        )
    else:
        bound = ""
    columns = [
        "method",
        "reached",
        "stop",
        "steps",
        "rejected",
        "wall_s",
        "compile_s",
        "margin",
        "log10_norm",
        "log10_loss",
        "lr_final",
    ]
    print(f"two-layer ReLU, n = {args.n}, d = {args.d}, width {args.width}, exp loss\n")
    print(markdown_table(rows, columns))
    print(f"\nratio GD / flowbias = {fmt(ratio)}{bound}; target >= 20")
    path = write_results(
        "homogeneous_quick" if args.quick else "homogeneous",
        {"args": vars(args), "rows": rows, "ratio": ratio, "gd_reached": gd["reached"]},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
