"""Print the tables of the latest benchmark results (bench/results/*.json) as markdown.

    python bench/report.py [names...] > tables.md

bench/RESULTS.md is written from this output plus the commentary on what the numbers mean.
"""

from __future__ import annotations

import json
import sys

from _common import RESULTS_DIR, markdown_table


# Which columns each benchmark's tables show, in order (others stay in the JSON).
COLUMNS = {
    "separable": {
        "rows": [
            "n",
            "d",
            "task",
            "t1",
            "method",
            "status",
            "wall_s",
            "compile_s",
            "steps",
            "rhs_evals",
            "jac_evals",
            "floor_s",
            "one_minus_cos",
            "dir_err_vs_ref",
            "peak_MiB",
            "x_vs_flowbias",
        ],
        "summary": [
            "n",
            "d",
            "eps",
            "t_flowbias",
            "gd_over_flowbias",
            "best_scipy_over_flowbias_1e100",
        ],
        "gradient_kernel": [
            "n",
            "d",
            "device",
            "flowbias_eval_us",
            "numpy_eval_us",
            "GB_per_s",
            "fraction_of_peak",
        ],
    },
}


def _machine_line(m: dict) -> str:
    v = m.get("versions", {})
    return (
        f"{m.get('date')} · {m.get('cpu')} ({m.get('cpu_count')} cores) · JAX "
        f"{v.get('jax')} on {m.get('jax_backend')} ({m.get('device_kind')}) · diffrax "
        f"{v.get('diffrax')} · NumPy {v.get('numpy')} · SciPy {v.get('scipy')}"
    )


def report(name: str) -> str:
    data = json.loads((RESULTS_DIR / f"{name}.json").read_text())
    out = [f"### `{name}`", "", _machine_line(data["machine"]), ""]
    if "command" in data:
        out += ["```bash", str(data["command"]), "```", ""]
    spec = COLUMNS.get(name, {})
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            cols = spec.get(key) or list(
                dict.fromkeys(k for r in value for k in r if not isinstance(r[k], (list, dict)))
            )
            out += [f"**{key}**", "", markdown_table(value, cols), ""]
    return "\n".join(out)


def main() -> None:
    names = sys.argv[1:] or sorted(
        p.stem
        for p in RESULTS_DIR.glob("*.json")
        if "quick" not in p.stem and "scratch" not in p.stem
    )
    print("\n".join(report(n) for n in names))


if __name__ == "__main__":
    main()
