"""Saddle-to-saddle dynamics of diagonal networks at vanishing initialisation (Pesme and
Flammarion, NeurIPS 2023)."""

from .compare import (
    StaircaseComparison as StaircaseComparison,
    compare_staircase as compare_staircase,
    fit_inverse_log_rate as fit_inverse_log_rate,
    plateau_midpoints as plateau_midpoints,
)
from .constrained import (
    SaddleDegeneracyError as SaddleDegeneracyError,
    kkt_violation as kkt_violation,
    sign_constrained_least_squares as sign_constrained_least_squares,
)
from .jumps import FlowJumps as FlowJumps, locate_jumps as locate_jumps, time_unit as time_unit
from .staircase import Staircase as Staircase, saddle_to_saddle as saddle_to_saddle
