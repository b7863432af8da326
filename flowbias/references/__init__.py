"""Predicted limits ("references") computed independently of the flows."""

from .bregman import (
    BregmanProjection as BregmanProjection,
    bregman_projection as bregman_projection,
)
from .errors import LimitError as LimitError
from .f1_margin import F1MarginSolution as F1MarginSolution, f1_max_margin as f1_max_margin
from .kkt import KKTCertificate as KKTCertificate, max_margin_kkt as max_margin_kkt
from .kkt_polish import PolishedKKT as PolishedKKT, polish_kkt as polish_kkt
from .linf_constrained import (
    LinfConstrainedSolution as LinfConstrainedSolution,
    linf_constrained_minimiser as linf_constrained_minimiser,
)
from .lp_margin import LpMarginSolution as LpMarginSolution, lp_max_margin as lp_max_margin
from .min_norm import (
    least_squares_limit as least_squares_limit,
    min_norm_interpolator as min_norm_interpolator,
)
from .mirror_limit import MirrorLimitError as MirrorLimitError, mirror_limit as mirror_limit
from .new_neuron import (
    NewNeuron as NewNeuron,
    best_new_neuron as best_new_neuron,
    new_neuron_gains as new_neuron_gains,
)
from .nonseparable import SeparableSplit as SeparableSplit, separable_split as separable_split
from .nuclear_norm import (
    NuclearNormSolution as NuclearNormSolution,
    min_nuclear_norm as min_nuclear_norm,
)
from .polynomial_tail import polynomial_tail_direction as polynomial_tail_direction
from .regimes import (
    min_l1_interpolator as min_l1_interpolator,
    min_l2_interpolator as min_l2_interpolator,
)
from .separability import (
    NonSeparableError as NonSeparableError,
    SeparabilityReport as SeparabilityReport,
    check_separable as check_separable,
    require_separable as require_separable,
)
from .single_neuron import (
    ReLUNeuronSolution as ReLUNeuronSolution,
    relu_neuron_nearest_interpolator as relu_neuron_nearest_interpolator,
    single_neuron_limit as single_neuron_limit,
)
from .svm import SVMSolution as SVMSolution, hard_margin_svm as hard_margin_svm
