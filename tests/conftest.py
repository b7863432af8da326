import os

import jax
import matplotlib
from hypothesis import settings


jax.config.update("jax_enable_x64", True)
matplotlib.use("Agg")

# Property tests draw the same examples on every run (derandomised, no example database), so
# that CI on a clean clone cannot pass one day and fail the next. To hunt for new
# counterexamples, draw at random: HYPOTHESIS_PROFILE=explore python3 -m pytest tests/...
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
