"""The pieces every tour entry uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class Check:
    result: str
    predicted: str
    measured: str
    error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)


@dataclasses.dataclass
class Entry:
    """One catalogue row: `run(out_dir, quick)` returns its checks (and saves its figures).
    `in_quick_tour` marks the entries `flowbias tour --quick` runs: one or two per family of
    results, chosen to finish within a minute on two cores."""

    row: str
    title: str
    run: Callable[[Path, bool], list[Check]]
    in_quick_tour: bool = False


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
