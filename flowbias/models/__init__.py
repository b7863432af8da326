from ._base import (
    AbstractLinearModel as AbstractLinearModel,
    AbstractMirrorModel as AbstractMirrorModel,
    AbstractModel as AbstractModel,
)
from .activations import (
    AbstractActivation as AbstractActivation,
    AbstractKinkedActivation as AbstractKinkedActivation,
    LeakyReLU as LeakyReLU,
    PowerReLU as PowerReLU,
    ReLU as ReLU,
)
from .deep_linear import DeepLinearNetwork as DeepLinearNetwork
from .diagonal import DiagonalNetwork as DiagonalNetwork
from .factorized import (
    AbstractMatrixModel as AbstractMatrixModel,
    MatrixFactorization as MatrixFactorization,
)
from .homogeneous import AbstractHomogeneousModel as AbstractHomogeneousModel
from .linear import LinearModel as LinearModel
from .mlp import HomogeneousMLP as HomogeneousMLP
from .monotone import (
    AbstractMonotoneActivation as AbstractMonotoneActivation,
    Sigmoid as Sigmoid,
    Softplus as Softplus,
    Tanh as Tanh,
)
from .rescaled_diagonal import RescaledDiagonalNetwork as RescaledDiagonalNetwork
from .single_neuron import SingleNeuron as SingleNeuron
from .two_layer import TwoLayerNetwork as TwoLayerNetwork
from .wrapped import HomogeneousNetwork as HomogeneousNetwork
