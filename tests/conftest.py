import gc
import os

import jax
import matplotlib
import pytest
from hypothesis import settings


jax.config.update("jax_enable_x64", True)
matplotlib.use("Agg")

# Property tests draw the same examples on every run (derandomised, no example database), so
# that CI on a clean clone cannot pass one day and fail the next. To hunt for new
# counterexamples, draw at random: HYPOTHESIS_PROFILE=explore python3 -m pytest tests/...
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Every program XLA compiles for the CPU keeps a few hundred memory mappings (measured: ~350 per
# compiled solve) until JAX's caches are cleared. The whole suite compiles a few hundred
# programs in one process, which reaches the kernel's limit of 65530 mappings
# (vm.max_map_count); XLA's compiler then aborts the process ("Fatal Python error: Aborted",
# seen late in the suite, never in a process of its own). So the caches are cleared whenever
# the count passes a safe level: tests recompile what they need.
_MAPS_LIMIT = 30_000


def _num_mappings() -> int:
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    yield
    if _num_mappings() > _MAPS_LIMIT:
        jax.clear_caches()
        gc.collect()
