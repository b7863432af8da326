"""Benchmark: how fast the command line answers when it has nothing to compute. Target: `flowbias
--help`, `--version` and an argument error each well under a second (issue 12; before the CLI
became its own package they took 6.3 s, importing JAX first).

Each command runs in a fresh interpreter (as a user types it), `--repeats` times; the table
gives the median wall time, next to the two floors it sits between: an empty Python start and
`import flowbias` (the library, with JAX, diffrax, equinox, cvxpy and sympy).

    python bench/cli_startup.py             # 7 repeats, ~1 min
    python bench/cli_startup.py --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _common import machine_info, markdown_table, write_results


TARGET_S = 1.0


def _commands(flowbias: list[str], missing: str) -> dict[str, list[str]]:
    return {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "flowbias --help": [*flowbias, "--help"],
        "flowbias --version": [*flowbias, "--version"],
        "flowbias solve --help": [*flowbias, "solve", "--help"],
        "flowbias solve DATA --t1 -1 (argument error)": [*flowbias, "solve", missing, "--t1", "-1"],
        "flowbias solve missing.npz (file error)": [*flowbias, "solve", missing],
        "python -c 'import flowbias' (library)": [sys.executable, "-c", "import flowbias"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    script = shutil.which("flowbias")
    flowbias = [script] if script else [sys.executable, "-m", "flowbias_cli.main"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in _commands(flowbias, f"{tmp}/missing.npz").items():
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp)
                times.append(time.perf_counter() - t0)
            cli = name.startswith("flowbias")
            rows.append(
                {
                    "command": name,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "exit": proc.returncode,
                    "target_s": TARGET_S if cli else None,
                    "met": (statistics.median(times) < TARGET_S) if cli else None,
                }
            )
    columns = ["command", "median_s", "min_s", "exit", "target_s", "met"]
    print(markdown_table(rows, columns))
    path = write_results(
        "cli_startup",
        {"machine": machine_info(), "repeats": args.repeats, "entry": flowbias, "rows": rows},
    )
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
