"""Shared machinery for the benchmark scripts: machine info, timing with compile time split
off, peak memory, time budgets for the slow competitors, and the table/JSON output.

Every script runs its competitors one after another in one process, so ratios between rows
are measured side by side. Nothing here is imported by the library.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np


RESULTS_DIR = Path(__file__).parent / "results"


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """Where and with what the numbers were measured."""
    import diffrax
    import equinox
    import scipy

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    devices = jax.devices()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "jax_backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind,
        "versions": {
            "jax": jax.__version__,
            "diffrax": diffrax.__version__,
            "equinox": equinox.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "x64": bool(jax.config.jax_enable_x64),
    }


# --------------------------------------------------------------------------- memory


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every `interval` seconds, plus
    the accelerator's peak bytes in use where the backend reports it.

    RSS covers NumPy, SciPy and XLA's CPU buffers alike. It is a high-water mark of the
    process: memory freed and reused inside the block is counted once.
    """

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.peak_mib = float("nan")
        self.device_peak_mib = None

    def __enter__(self):
        self._base = _rss_bytes()
        self._peak = self._base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, _rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, _rss_bytes())
        self.peak_mib = (self._peak - self._base) / 2**20
        stats = jax.devices()[0].memory_stats()
        if stats and "peak_bytes_in_use" in stats:
            self.device_peak_mib = stats["peak_bytes_in_use"] / 2**20
        return False


# --------------------------------------------------------------------------- timing


def block(out):
    """Wait for every array in `out` (a pytree) to be computed."""
    return jax.block_until_ready(out)


def time_once(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run `fn` once: (output, seconds, peak MiB above entry)."""
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        out = block(fn())
        wall = time.perf_counter() - t0
    return out, wall, mem.peak_mib


def time_jax(fn: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """Run a JAX computation twice: (output, run seconds, compile seconds, peak MiB).

    The first call traces and compiles; the second hits the cache and is the run time.
    Compile time is reported as first minus second.
    """
    t0 = time.perf_counter()
    block(fn())
    first = time.perf_counter() - t0
    out, wall, peak = time_once(fn)
    return out, wall, max(first - wall, 0.0), peak


class BudgetExceeded(RuntimeError):
    """A competitor ran past its wall-clock budget."""


class Budget:
    """A wall-clock deadline checked from inside a competitor's loop or right-hand side."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds

    def check(self):
        if time.perf_counter() > self.deadline:
            raise BudgetExceeded(f"over the {self.seconds:g} s budget")


# --------------------------------------------------------------------------- counting


def rhs_evaluations(solver, stats: dict) -> int | None:
    """Vector-field evaluations of an explicit Runge-Kutta run from diffrax's step counts:
    (stages, less one if first-same-as-last) per attempted step, plus the first evaluation.
    None for implicit solvers, whose Newton iterations diffrax does not count."""
    tableau = getattr(solver, "tableau", None)
    if tableau is None or tableau.implicit:
        return None
    stages = tableau.num_stages
    fsal = bool(tableau.fsal)
    steps = int(stats["num_steps"])
    return steps * (stages - int(fsal)) + 1


# --------------------------------------------------------------------------- output


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value)}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != v:
            return "nan"
        if v == 0 or 1e-2 <= abs(v) < 1e4:
            return f"{v:.3g}"
        return f"{v:.2e}"
    return str(value)


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def write_results(name: str, payload: dict, out_dir: Path | str = RESULTS_DIR) -> Path:
    """Write `payload` (plus machine info) to `<out_dir>/<name>.json`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    payload = {
        "benchmark": name,
        "machine": machine_info(),
        "command": "python " + " ".join(sys.argv),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    return path


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
