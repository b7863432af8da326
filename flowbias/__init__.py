"""flowbias: compute the implicit bias of gradient methods.

Importing flowbias turns on JAX's float64 mode: every tolerance flowbias states (1e-8 and
tighter) needs it.
"""

import jax as _jax


_jax.config.update("jax_enable_x64", True)

from .flows import (  # noqa: E402
    AbstractFlow as AbstractFlow,
    AbstractTime as AbstractTime,
    DualFlow as DualFlow,
    GradientFlow as GradientFlow,
    LinearTime as LinearTime,
    LogTime as LogTime,
    NormalisedGradientFlow as NormalisedGradientFlow,
)
from .losses import (  # noqa: E402
    AbstractClassificationLoss as AbstractClassificationLoss,
    AbstractLoss as AbstractLoss,
    ExponentialLoss as ExponentialLoss,
    LogisticLoss as LogisticLoss,
    SquareLoss as SquareLoss,
)
from .models import (  # noqa: E402
    AbstractLinearModel as AbstractLinearModel,
    AbstractMirrorModel as AbstractMirrorModel,
    AbstractModel as AbstractModel,
    LinearModel as LinearModel,
)
from .solution import FlowSolution as FlowSolution  # noqa: E402
from .solve import (  # noqa: E402
    FlowSolveError as FlowSolveError,
    default_t1 as default_t1,
    flowsolve as flowsolve,
)


__version__ = "0.1.0"
