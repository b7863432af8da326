from ._base import AbstractFlow as AbstractFlow, AbstractGradientFlow as AbstractGradientFlow
from .adam import AdamFlow as AdamFlow
from .dual import DualFlow as DualFlow
from .end_to_end import EndToEndFlow as EndToEndFlow
from .gradient import GradientFlow as GradientFlow, NormalisedGradientFlow as NormalisedGradientFlow
from .mirror import MirrorFlow as MirrorFlow
from .modified import ModifiedGradientFlow as ModifiedGradientFlow
from .steepest import SteepestDescentFlow as SteepestDescentFlow
from .time import AbstractTime as AbstractTime, LinearTime as LinearTime, LogTime as LogTime
