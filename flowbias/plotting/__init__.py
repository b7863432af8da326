"""Plots of flows against (log) time, of their distance to predicted limits, and of the
regimes of diagonal networks across initial scales.

Every function takes a [`FlowSolution`][flowbias.FlowSolution] (or, for the regime plots, the
limits of a sweep), draws on the matplotlib Axes `ax` (a new figure when `ax=None`), returns
the Axes, and never shows the figure itself. Plots of one flow are titled with what was run
([`run_title`][flowbias.plotting.run_title]) unless the Axes has a title already.
"""

from ._common import run_title as run_title
from .asymptotics import (
    plot_gaps as plot_gaps,
    plot_loss_times_t as plot_loss_times_t,
    plot_offsets as plot_offsets,
    plot_residual as plot_residual,
)
from .margin_bound import plot_margin_bound as plot_margin_bound
from .margins import (
    plot_kkt_residuals as plot_kkt_residuals,
    plot_margins as plot_margins,
    plot_new_neuron_gain as plot_new_neuron_gain,
)
from .matrix import (
    plot_error_against_scale as plot_error_against_scale,
    plot_singular_values as plot_singular_values,
)
from .overview import plot_overview as plot_overview
from .regimes import (
    plot_incremental_learning as plot_incremental_learning,
    plot_regime_distances as plot_regime_distances,
    plot_test_error as plot_test_error,
)
from .saddles import plot_staircase as plot_staircase
from .trajectories import (
    plot_direction_error as plot_direction_error,
    plot_distance as plot_distance,
    plot_log_loss as plot_log_loss,
    plot_norm as plot_norm,
    plot_rowspace_deviation as plot_rowspace_deviation,
)
