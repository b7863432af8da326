"""flowbias: compute the implicit bias of gradient methods.

Importing flowbias turns on JAX's float64 mode: every tolerance flowbias states (1e-8 and
tighter) needs it.
"""

import jax as _jax


_jax.config.update("jax_enable_x64", True)

from . import (  # noqa: E402
    asymptotics as asymptotics,
    discrete as discrete,
    plotting as plotting,
    problems as problems,
    symbolic as symbolic,
)
from .asymptotics import (  # noqa: E402
    AsymptoticDiagnostics as AsymptoticDiagnostics,
    DescentPath as DescentPath,
    PredictedAsymptotics as PredictedAsymptotics,
    diagnose as diagnose,
    diagnostics_summary as diagnostics_summary,
    gradient_descent as gradient_descent,
    predict_asymptotics as predict_asymptotics,
)
from .compare import (  # noqa: E402
    angle as angle,
    margin_gap as margin_gap,
    normalized_margin as normalized_margin,
    one_minus_cos as one_minus_cos,
    relative_error as relative_error,
)
from .compilation_cache import enable_compilation_cache as enable_compilation_cache  # noqa: E402
from .data import (  # noqa: E402
    AbstractMeasurements as AbstractMeasurements,
    MatrixCompletion as MatrixCompletion,
    MatrixSensing as MatrixSensing,
)
from .discrete import StepSizeOrders as StepSizeOrders, step_size_orders as step_size_orders  # noqa: E402
from .early_stopping import (  # noqa: E402
    EarlyStopping as EarlyStopping,
    lasso_path as lasso_path,
    ridge_path as ridge_path,
)
from .exact import ExactLinearSolver as ExactLinearSolver  # noqa: E402
from .flows import (  # noqa: E402
    AbstractFlow as AbstractFlow,
    AbstractGradientFlow as AbstractGradientFlow,
    AbstractTime as AbstractTime,
    AdamFlow as AdamFlow,
    DualFlow as DualFlow,
    EndToEndFlow as EndToEndFlow,
    GradientFlow as GradientFlow,
    LinearTime as LinearTime,
    LogTime as LogTime,
    MirrorFlow as MirrorFlow,
    ModifiedGradientFlow as ModifiedGradientFlow,
    NormalisedGradientFlow as NormalisedGradientFlow,
    SteepestDescentFlow as SteepestDescentFlow,
)
from .limits import (  # noqa: E402
    Comparison as Comparison,
    DirectionLimit as DirectionLimit,
    KKTLimit as KKTLimit,
    LimitError as LimitError,
    PointLimit as PointLimit,
    PredictedLimit as PredictedLimit,
    agreement as agreement,
    compare as compare,
    predicted_limit as predicted_limit,
)
from .losses import (  # noqa: E402
    AbstractClassificationLoss as AbstractClassificationLoss,
    AbstractLoss as AbstractLoss,
    AbstractMarginLoss as AbstractMarginLoss,
    ExponentialLoss as ExponentialLoss,
    LogisticLoss as LogisticLoss,
    PolynomialLoss as PolynomialLoss,
    SquareLoss as SquareLoss,
)
from .margin_bound import MarginBound as MarginBound, margin_bound as margin_bound  # noqa: E402
from .margins import MarginPath as MarginPath, margin_path as margin_path  # noqa: E402
from .models import (  # noqa: E402
    AbstractActivation as AbstractActivation,
    AbstractHomogeneousModel as AbstractHomogeneousModel,
    AbstractKinkedActivation as AbstractKinkedActivation,
    AbstractLinearModel as AbstractLinearModel,
    AbstractMatrixModel as AbstractMatrixModel,
    AbstractMirrorModel as AbstractMirrorModel,
    AbstractModel as AbstractModel,
    AbstractMonotoneActivation as AbstractMonotoneActivation,
    DeepLinearNetwork as DeepLinearNetwork,
    DiagonalNetwork as DiagonalNetwork,
    HomogeneousMLP as HomogeneousMLP,
    HomogeneousNetwork as HomogeneousNetwork,
    LeakyReLU as LeakyReLU,
    LinearModel as LinearModel,
    MatrixFactorization as MatrixFactorization,
    PowerReLU as PowerReLU,
    ReLU as ReLU,
    RescaledDiagonalNetwork as RescaledDiagonalNetwork,
    Sigmoid as Sigmoid,
    SingleNeuron as SingleNeuron,
    Softplus as Softplus,
    Tanh as Tanh,
    TwoLayerNetwork as TwoLayerNetwork,
)
from .potentials import (  # noqa: E402
    AbstractPotential as AbstractPotential,
    FunctionPotential as FunctionPotential,
    HyperbolicEntropy as HyperbolicEntropy,
    NegativeEntropy as NegativeEntropy,
    PNormPotential as PNormPotential,
    SymbolicPotential as SymbolicPotential,
    parse_potential as parse_potential,
)
from .references import (  # noqa: E402
    BregmanProjection as BregmanProjection,
    F1MarginSolution as F1MarginSolution,
    KKTCertificate as KKTCertificate,
    LinfConstrainedSolution as LinfConstrainedSolution,
    LpMarginSolution as LpMarginSolution,
    NewNeuron as NewNeuron,
    NonSeparableError as NonSeparableError,
    NuclearNormSolution as NuclearNormSolution,
    PolishedKKT as PolishedKKT,
    ReLUNeuronSolution as ReLUNeuronSolution,
    SeparabilityReport as SeparabilityReport,
    SeparableSplit as SeparableSplit,
    SVMSolution as SVMSolution,
    best_new_neuron as best_new_neuron,
    bregman_projection as bregman_projection,
    check_separable as check_separable,
    f1_max_margin as f1_max_margin,
    hard_margin_svm as hard_margin_svm,
    least_squares_limit as least_squares_limit,
    linf_constrained_minimiser as linf_constrained_minimiser,
    lp_max_margin as lp_max_margin,
    max_margin_kkt as max_margin_kkt,
    min_l1_interpolator as min_l1_interpolator,
    min_l2_interpolator as min_l2_interpolator,
    min_norm_interpolator as min_norm_interpolator,
    min_nuclear_norm as min_nuclear_norm,
    mirror_limit as mirror_limit,
    new_neuron_gains as new_neuron_gains,
    polish_kkt as polish_kkt,
    polynomial_tail_direction as polynomial_tail_direction,
    relu_neuron_nearest_interpolator as relu_neuron_nearest_interpolator,
    require_separable as require_separable,
    separable_split as separable_split,
    single_neuron_limit as single_neuron_limit,
)
from .results import RESULTS as RESULTS, FlowSolveError as FlowSolveError  # noqa: E402
from .saddles import (  # noqa: E402
    SaddleDegeneracyError as SaddleDegeneracyError,
    Staircase as Staircase,
    saddle_to_saddle as saddle_to_saddle,
)
from .solution import FlowProblem as FlowProblem, FlowSolution as FlowSolution  # noqa: E402
from .solve import default_t1 as default_t1, flowsolve as flowsolve  # noqa: E402
from .solver_choice import (  # noqa: E402
    SolverChoice as SolverChoice,
    choose_solver as choose_solver,
    default_solver as default_solver,
)
from .spectra import (  # noqa: E402
    effective_rank as effective_rank,
    nuclear_norm as nuclear_norm,
    singular_values as singular_values,
)
from .sweeps import (  # noqa: E402
    alpha_sweep as alpha_sweep,
    flowsweep as flowsweep,
    sweep_mesh as sweep_mesh,
)


__version__ = "0.1.0"
