"""Plots of flows against (log) time, and of their distance to predicted limits.

Every function takes a [`FlowSolution`][flowbias.FlowSolution], draws on the matplotlib Axes
`ax` (a new figure when `ax=None`), returns the Axes, and never calls `plt.show()`.
"""

from .overview import plot_overview as plot_overview
from .trajectories import (
    plot_direction_error as plot_direction_error,
    plot_distance as plot_distance,
    plot_log_loss as plot_log_loss,
    plot_norm as plot_norm,
    plot_rowspace_deviation as plot_rowspace_deviation,
)
