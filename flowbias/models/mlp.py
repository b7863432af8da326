r"""Homogeneous multilayer perceptrons without biases,
$f(x) = W_L\,\sigma(W_{L-1}\cdots\sigma(W_1 x))$."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_matrix_chain, as_positive_scalar, check_int
from .activations import AbstractActivation, ReLU
from .homogeneous import AbstractHomogeneousModel, check_inputs, initial_scale


class HomogeneousMLP(AbstractHomogeneousModel):
    r"""An MLP without biases, $f(x) = W_L\,\sigma(W_{L-1}\,\sigma(\cdots\sigma(W_1 x)))$, with a
    scalar output and an activation of degree one ([`ReLU`][flowbias.ReLU] or
    [`LeakyReLU`][flowbias.LeakyReLU]): homogeneous of degree $L$ in its parameters, of degree
    one in each layer. With a leaky slope of 1 it would be a deep linear network (use
    [`DeepLinearNetwork`][flowbias.DeepLinearNetwork]).

    Its gradient flow can slide along the activation's kinks, where adaptive solvers stall
    (see [`TwoLayerNetwork`][flowbias.TwoLayerNetwork]); the margins, the KKT certificate and
    the degree check apply to any parameters.

    **Arguments:** `layers0`, the weights $W_1(0), \ldots, W_L(0)$ (`W_1` first, the last a
    row); `activation`, of degree one (default ReLU).

    ```python
    import flowbias as fb

    mlp = fb.HomogeneousMLP.gaussian(0.5, 3, widths=(8, 8), seed=0)
    print(mlp.degree)  # 3
    ```
    """

    layers0: tuple[Float[Array, "r c"], ...]
    activation: AbstractActivation

    def __init__(self, layers0, activation: AbstractActivation | None = None):
        if not isinstance(layers0, list | tuple) or len(layers0) < 2:
            raise TypeError(
                "`layers0` must be a list of at least two matrices W_1(0), ..., W_L(0) (one "
                "layer is a linear model: use fb.LinearModel)."
            )
        ws = as_matrix_chain(layers0, "layers0")
        if ws[-1].shape[0] != 1:
            raise ValueError(
                f"the last layer must be a row (a scalar output); got shape {ws[-1].shape}."
            )
        activation = ReLU() if activation is None else activation
        if not isinstance(activation, AbstractActivation) or activation.degree != 1:
            raise ValueError(
                "`activation` must be a homogeneous activation of degree one (fb.ReLU() or "
                "fb.LeakyReLU(slope)): with a higher power the degree would not be the sum of "
                "the layers'. Fix: use fb.TwoLayerNetwork for relu^p."
            )
        self.layers0 = ws
        self.activation = activation

    @classmethod
    def gaussian(
        cls,
        alpha,
        d: int,
        *,
        widths: tuple[int, ...],
        activation: AbstractActivation | None = None,
        seed: int = 0,
    ) -> "HomogeneousMLP":
        r"""Layers with i.i.d. $\mathcal N(0, \alpha^2)$ entries (NumPy's `default_rng(seed)`),
        hidden sizes `widths` (one per hidden layer)."""
        alpha = float(as_positive_scalar(alpha, "alpha", fix="the initial scale, e.g. 0.5."))
        d = check_int(d, "d", minimum=1, fix="the input dimension (columns of X).")
        if not isinstance(widths, list | tuple) or not widths:
            raise ValueError("`widths` must be a non-empty tuple of hidden sizes, e.g. (8, 8).")
        dims = [d] + [check_int(w, "widths[j]", minimum=1) for w in widths] + [1]
        rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
        return cls(
            [alpha * rng.normal(size=(dims[j + 1], dims[j])) for j in range(len(dims) - 1)],
            activation,
        )

    @property
    def dim(self) -> int:
        return self.layers0[0].shape[1]

    @property
    def degree(self) -> int:
        return len(self.layers0)

    @property
    def layer_degrees(self) -> tuple[int, ...]:
        return (1,) * len(self.layers0)

    def init_params(self):
        return self.layers0

    def layers(self, params):
        return tuple(params)

    def predict(self, params, X: Float[Array, "n d"]) -> Float[Array, " n"]:
        H = X.T
        for W in params[:-1]:
            H = self.activation(W @ H)
        return (params[-1] @ H)[0]

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        return initial_scale(self.layers0)

    def time_scale(self, X) -> Float[Array, ""]:
        return jnp.ones((), jnp.result_type(float))

    def check_data(self, X) -> None:
        check_inputs(X, self.dim, "this MLP")
