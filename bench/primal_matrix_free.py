"""Benchmark: the primal diagonal-network flow at d = 10^4 with an implicit solver that forms no
Jacobian (issue 11 item 5). Target: peak memory < 2 GiB; time reported.

Depth-2 diagonal network, alpha = 0.1 (uniform), square loss, `problems.sparse_regression(n,
d, 5, seed=0)`, the default horizon and convergence stop. The state (u, v) has 2d entries, so a
dense implicit step would form a (2d)^2 Jacobian (3.2 GB at d = 10^4) and factorise it;
flowsolve's default for such a state is Kvaerno5 with Newton-GMRES
(`fb.default_solver(stiff=True, matrix_free=True)`), which needs only Jacobian-vector
products. Reported: steps, run wall time (compilation apart, `time_jax`: first call minus
second), peak RSS above the level before the run, the relative error against `fb.mirror_limit`
(argmin Q_alpha by Newton on the n-dimensional dual: an independent computation), and which
solver the default chose and why. The dual flow (n entries, dense Kvaerno5) runs beside it.

    python bench/primal_matrix_free.py [--d 10000] [--n 50] [--alpha 0.1] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import markdown_table, time_jax, write_results

import flowbias as fb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=10_000)
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--alpha", type=float, default=0.1)
    p.add_argument("--quick", action="store_true", help="d = 2000")
    args = p.parse_args()
    if args.quick:
        args.d = 2000
    X, y, _ = fb.problems.sparse_regression(args.n, args.d, 5, 0)
    net = fb.DiagonalNetwork.uniform(args.alpha, args.d)
    ref = np.asarray(fb.mirror_limit(net, X, y))
    rows = []
    for name, flow in (
        ("primal (2d entries)", fb.GradientFlow()),
        ("dual (n entries)", fb.DualFlow()),
    ):
        sol, wall, compile_s, peak = time_jax(
            lambda flow=flow: fb.flowsolve(net, fb.SquareLoss(), X, y, flow=flow, num_save=3)
        )
        rows.append(
            {
                "flow": name,
                "success": bool(sol.success),
                "steps": int(sol.num_steps),
                "wall_s": wall,
                "compile_s": compile_s,
                "peak_MiB": peak,
                "rel_err_vs_mirror_limit": float(
                    np.linalg.norm(np.asarray(sol.w_final) - ref) / np.linalg.norm(ref)
                ),
                "solver_choice": sol.solver_choice,
            }
        )
    cols = [
        "flow",
        "success",
        "steps",
        "wall_s",
        "compile_s",
        "peak_MiB",
        "rel_err_vs_mirror_limit",
    ]
    print(f"diagonal network depth 2, d = {args.d}, n = {args.n}, alpha = {args.alpha:g}\n")
    print(markdown_table(rows, cols))
    for r in rows:
        print(f"\n{r['flow']}: {r['solver_choice']}")
    met = rows[0]["success"] and rows[0]["peak_MiB"] < 2048
    print(f"\ntarget: primal peak memory < 2 GiB: {'met' if met else 'missed'}")
    path = write_results(
        "primal_matrix_free_quick" if args.quick else "primal_matrix_free",
        {"args": vars(args), "rows": rows, "target_met": met},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
