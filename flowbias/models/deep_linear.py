r"""Deep linear networks $x \mapsto W_L \cdots W_1 x$ with a scalar output."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_matrix_chain, as_positive_scalar, check_int
from ._base import AbstractLinearModel
from ._chain import chain_product, chain_rate
from .homogeneous import AbstractHomogeneousModel, initial_scale


def _layer_shapes(d: int, depth: int, width: int) -> list[tuple[int, int]]:
    dims = [d] + [width] * (depth - 1) + [1]
    return [(dims[j + 1], dims[j]) for j in range(depth)]


def _check_init(alpha, d, depth, width):
    alpha = float(as_positive_scalar(alpha, "alpha", fix="the initial scale, e.g. alpha=0.1."))
    d = check_int(d, "d", minimum=1, fix="the input dimension (columns of X).")
    depth = check_int(depth, "depth", minimum=1, fix="depth=2 or more (depth 1 is linear).")
    width = d if width is None else check_int(width, "width", minimum=1, fix="e.g. width=d.")
    return alpha, d, depth, width


class DeepLinearNetwork(AbstractLinearModel, AbstractHomogeneousModel):
    r"""A deep linear network $f(x) = W_L W_{L-1} \cdots W_1 x$ with a scalar output: $W_1$ is
    $h_1 \times d$, $W_L$ is $1 \times h_{L-1}$. Its effective predictor is the end-to-end
    vector $w = (W_L \cdots W_1)^\top \in \mathbb{R}^d$ (the observable), and it is
    homogeneous of degree $L$ in its parameters, of degree one in each layer.

    On separable data with an exponentially tailed loss, gradient flow sends $w/\|w\|$ to the
    hard-margin SVM direction and aligns the layers: $W_j/\|W_j\|_F \to v_j v_{j-1}^\top$
    (rank one, $v_0 = \hat w/\|\hat w\|$, $v_L = 1$).

    **Arguments:** `layers0`, the initial weights $W_1(0), \ldots, W_L(0)$ (`W_1` first). Use
    [`gaussian`][flowbias.DeepLinearNetwork.gaussian] or
    [`balanced`][flowbias.DeepLinearNetwork.balanced].

    ```python
    import flowbias as fb

    model = fb.DeepLinearNetwork.gaussian(0.5, 3, depth=3, width=4, seed=0)
    print(model.degree, [W.shape for W in model.layers0])  # 3 [(4, 3), (4, 4), (1, 4)]
    ```

    ??? cite "Sources"
        Ji & Telgarsky, *Gradient descent aligns the layers of deep linear networks*, ICLR
        2019 (alignment and convergence to the max-margin direction); Arora, Cohen, Hazan, *On
        the Optimization of Deep Networks*, ICML 2018 (balancedness is conserved).
    """

    layers0: tuple[Float[Array, "r c"], ...]

    def __init__(self, layers0):
        ws = as_matrix_chain(layers0, "layers0")
        if ws[-1].shape[0] != 1:
            raise ValueError(
                f"the last layer must have one row (a scalar output); `layers0[{len(ws) - 1}]` "
                f"has shape {tuple(ws[-1].shape)}. Fix: end with a 1 x h matrix."
            )
        self.layers0 = ws

    @classmethod
    def gaussian(
        cls, alpha, d: int, *, depth: int = 2, width: int | None = None, seed: int = 0
    ) -> "DeepLinearNetwork":
        r"""Layers with i.i.d. $\mathcal N(0, \alpha^2)$ entries (NumPy's `default_rng(seed)`);
        `width` (every hidden size) defaults to `d`."""
        alpha, d, depth, width = _check_init(alpha, d, depth, width)
        rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
        return cls([alpha * rng.normal(size=s) for s in _layer_shapes(d, depth, width)])

    @classmethod
    def balanced(
        cls, alpha, d: int, *, depth: int = 2, width: int | None = None, seed: int = 0
    ) -> "DeepLinearNetwork":
        r"""Rank-one balanced layers $W_j = \alpha\, u_j u_{j-1}^\top$ with seeded random unit
        vectors $u_j$ ($u_L = 1$): $W_{j+1}^\top W_{j+1} = W_j W_j^\top$ and every layer has
        Frobenius norm $\alpha$."""
        alpha, d, depth, width = _check_init(alpha, d, depth, width)
        rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
        dims = [d] + [width] * (depth - 1)
        us = [u / np.linalg.norm(u) for u in (rng.normal(size=k) for k in dims)] + [np.ones(1)]
        return cls([alpha * np.outer(us[j + 1], us[j]) for j in range(depth)])

    @property
    def depth(self) -> int:
        """L, the number of layers."""
        return len(self.layers0)

    @property
    def degree(self) -> int:
        return self.depth

    @property
    def layer_degrees(self) -> tuple[int, ...]:
        return (1,) * self.depth

    @property
    def dim(self) -> int:
        return self.layers0[0].shape[1]

    def init_params(self) -> tuple[Float[Array, "r c"], ...]:
        return self.layers0

    def layers(self, params):
        return tuple(params)

    @staticmethod
    def _chain(params):
        return chain_product(params)

    def predictor(self, params) -> Float[Array, " d"]:
        return self._chain(params)[0]

    def observable_sensitivity(self, params) -> Float[Array, " d"]:
        return self.depth * self._chain(tuple(jnp.abs(W) for W in params))[0]

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        return initial_scale(self.layers0)

    def time_scale(self, X) -> Float[Array, ""]:
        # The end-to-end vector moves at rate sum_j prod_{i != j} ||W_i||_2^2 times the
        # gradient at the start: its inverse.
        return jnp.maximum(1.0 / chain_rate(self.layers0), 1.0)

    def alignment(self, params) -> Float[Array, " L"]:
        r"""Per layer, $1 - \|W_j\|_2^2/\|W_j\|_F^2$ (one minus the share of the top singular
        value): 0 exactly when $W_j$ has rank one. The last layer (a row) is always 0."""
        return jnp.stack(
            [1.0 - jnp.linalg.norm(W, 2) ** 2 / jnp.sum(W**2) for W in self.layers(params)]
        )
