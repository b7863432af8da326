r"""Asymptotics of separable flows: $w(t) = \hat w\log t + \tilde w + o(1)$, its offsets, rates
and diagnostics (Soudry et al., JMLR 2018; Ji & Telgarsky, ALT 2021).

- [`predict_asymptotics`][flowbias.asymptotics.predict_asymptotics]: from the SVM dual alone.
- [`diagnose`][flowbias.asymptotics.diagnose] and
  [`diagnostics_summary`][flowbias.asymptotics.diagnostics_summary]: from a trajectory.
- [`fit_rate`][flowbias.asymptotics.fit_rate],
  [`classify_rate`][flowbias.asymptotics.classify_rate],
  [`fit_loglog_growth`][flowbias.asymptotics.fit_loglog_growth]: fitted rates.
- [`gradient_descent`][flowbias.asymptotics.gradient_descent]: the discrete maps.
"""

from .descent import DescentPath as DescentPath, gradient_descent as gradient_descent
from .diagnostics import (
    AsymptoticDiagnostics as AsymptoticDiagnostics,
    diagnose as diagnose,
    diagnostics_summary as diagnostics_summary,
    extrapolate_direction as extrapolate_direction,
    growth_of as growth_of,
    measured_offsets as measured_offsets,
    residual as residual,
)
from .predicted import (
    PredictedAsymptotics as PredictedAsymptotics,
    predict_asymptotics as predict_asymptotics,
)
from .rates import (
    GrowthFit as GrowthFit,
    RateFit as RateFit,
    RateNotMeasurable as RateNotMeasurable,
    classify_rate as classify_rate,
    fit_loglog_growth as fit_loglog_growth,
    fit_rate as fit_rate,
)
