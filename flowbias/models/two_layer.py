r"""Two-layer networks without biases, $f(x) = \sum_k a_k\,\sigma(\langle w_k, x\rangle)$."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_float_array, as_positive_scalar, check_int
from .activations import AbstractActivation, AbstractKinkedActivation, LeakyReLU, ReLU
from .homogeneous import AbstractHomogeneousModel, check_inputs, initial_scale


class TwoLayerNetwork(AbstractHomogeneousModel):
    r"""A two-layer network without biases, $f(x; W, a) = \sum_{k=1}^m a_k\,\sigma(w_k\cdot x)$,
    with a positively homogeneous activation $\sigma$ of degree $p$
    ([`ReLU`][flowbias.ReLU], [`LeakyReLU`][flowbias.LeakyReLU],
    [`PowerReLU`][flowbias.PowerReLU]). It is homogeneous of degree $p + 1$ in $(W, a)$: of
    degree $p$ in the inner weights $W$ ($m \times d$, rows $w_k$) and one in the outer
    weights $a$. The observable is the flattened parameter vector ($W$ row by row, then $a$),
    whose direction tends to a KKT point of the max-margin problem on separable data.

    With a kinked activation (ReLU, leaky ReLU) gradient flow can *slide* along a kink: a
    pre-activation $w_k \cdot x_i$ pinned at 0, the vector field pointing back across it
    from both sides (a Filippov solution). Adaptive ODE solvers stall there, taking ever
    smaller steps; [`flowsolve`][flowbias.flowsolve] says so when a run ends that way.
    [`PowerReLU`][flowbias.PowerReLU] with $p \ge 2$ is differentiable and has no kinks.
    A data point on which no neuron is active stays unfitted forever (its gradient is zero);
    see [`dead_points`][flowbias.TwoLayerNetwork.dead_points].

    `kink_width` $= \varepsilon$ rounds the kink off in the *cosine* of each pre-activation:
    $\sigma(w_k\cdot x) \to \nu\,\sigma_\varepsilon(w_k\cdot x/\nu)$ with
    $\nu = \|w_k\|\|x\|$ and $\sigma_\varepsilon$ the activation made continuously
    differentiable on $|c| \le \varepsilon$
    ([`smoothed`][flowbias.models.activations.AbstractKinkedActivation.smoothed]). The network
    stays homogeneous of the same degree, its flow has no kinks to slide along, and as
    $\varepsilon \to 0$ its solutions approach a Filippov solution of the ReLU flow (the
    regularisation of a discontinuous vector field): halve $\varepsilon$ and check that the
    result does not move. On symmetric data, widths $10^{-2}$ and $10^{-3}$ gave the same
    function direction to 7 digits.

    **Arguments:** `W0` (shape `(m, d)`), `a0` (shape `(m,)`), `activation` (default ReLU).
    Use [`gaussian`][flowbias.TwoLayerNetwork.gaussian] for a seeded initialisation.

    ```python
    import flowbias as fb

    net = fb.TwoLayerNetwork.gaussian(0.1, 2, width=8, activation=fb.LeakyReLU(0.2))
    print(net.degree, net.width)  # 2 8
    ```

    ??? cite "Sources"
        Lyu & Li, *Gradient Descent Maximizes the Margin of Homogeneous Neural Networks*,
        ICLR 2020; Ji & Telgarsky, *Directional convergence and alignment in deep learning*,
        NeurIPS 2020; Chizat & Bach, *Implicit Bias of Gradient Descent for Wide Two-layer
        Neural Networks Trained with the Logistic Loss*, COLT 2020.
    """

    W0: Float[Array, "m d"]
    a0: Float[Array, " m"]
    activation: AbstractActivation
    kink_width: float | None = eqx.field(static=True)

    def __init__(self, W0, a0, activation: AbstractActivation | None = None, *, kink_width=None):
        self.W0 = as_float_array(W0, "W0", ndim=2)
        self.a0 = as_float_array(a0, "a0", ndim=1)
        if self.a0.shape[0] != self.W0.shape[0]:
            raise ValueError(
                f"`a0` has {self.a0.shape[0]} entries but `W0` has {self.W0.shape[0]} rows (one "
                "per neuron); they must match."
            )
        activation = ReLU() if activation is None else activation
        if not isinstance(activation, AbstractActivation):
            raise TypeError(
                "`activation` must be a homogeneous activation (fb.ReLU(), fb.LeakyReLU(slope), "
                f"fb.PowerReLU(p)); got {type(activation).__name__}. A homogeneous network "
                "needs a positively homogeneous activation (no tanh, no sigmoid)."
            )
        self.activation = activation
        if kink_width is not None:
            if not isinstance(activation, AbstractKinkedActivation):
                raise ValueError(
                    f"`kink_width` rounds off the kink of a ReLU or leaky ReLU; "
                    f"{activation.label} has none. Fix: drop kink_width."
                )
            if (
                isinstance(kink_width, bool)
                or not isinstance(kink_width, int | float)
                or not (0 < kink_width < 1)
            ):
                raise ValueError(
                    f"`kink_width` must be a number in (0, 1) (a width in cosine); got "
                    f"{kink_width!r}. Fix: e.g. kink_width=1e-3, and halve it to check the limit."
                )
            kink_width = float(kink_width)
        self.kink_width = kink_width

    @classmethod
    def gaussian(
        cls,
        alpha,
        d: int,
        *,
        width: int,
        activation: AbstractActivation | None = None,
        seed: int = 0,
        balanced: bool = False,
        kink_width: float | None = None,
    ) -> "TwoLayerNetwork":
        r"""Inner and outer weights with i.i.d. $\mathcal N(0, \alpha^2)$ entries (NumPy's
        `default_rng(seed)`). With `balanced=True` the outer weights are instead
        $a_k = \pm\|w_k\|/\sqrt p$ with random signs, so that every neuron is balanced
        ($p\,a_k^2 = \|w_k\|^2$, conserved by gradient flow)."""
        alpha = float(as_positive_scalar(alpha, "alpha", fix="the initial scale, e.g. 0.1."))
        d = check_int(d, "d", minimum=1, fix="the input dimension (columns of X).")
        width = check_int(width, "width", minimum=1, fix="the number of neurons, e.g. 100.")
        activation = ReLU() if activation is None else activation
        rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
        W = alpha * rng.normal(size=(width, d))
        a = alpha * rng.normal(size=width)
        if balanced:
            p = activation.degree if isinstance(activation, AbstractActivation) else 1
            a = np.sign(a) * np.linalg.norm(W, axis=1) / np.sqrt(p)
        return cls(W, a, activation, kink_width=kink_width)

    @property
    def width(self) -> int:
        """m, the number of neurons."""
        return self.W0.shape[0]

    @property
    def dim(self) -> int:
        """d, the input dimension."""
        return self.W0.shape[1]

    @property
    def degree(self) -> int:
        return self.activation.degree + 1

    @property
    def layer_degrees(self) -> tuple[int, ...]:
        return (self.activation.degree, 1)

    def init_params(self) -> tuple[Float[Array, "m d"], Float[Array, " m"]]:
        return (self.W0, self.a0)

    def layers(self, params):
        return tuple(params)

    def predict(self, params, X: Float[Array, "n d"]) -> Float[Array, " n"]:
        W, a = params
        Z = X @ W.T
        if self.kink_width is None:
            return self.activation(Z) @ a
        # Round off the kink in the cosine c = z / (||w_k|| ||x_i||) and scale back: still
        # homogeneous of degree one in w_k.
        nu = jnp.linalg.norm(X, axis=1)[:, None] * jnp.linalg.norm(W, axis=1)[None, :]
        safe = jnp.where(nu > 0, nu, 1.0)
        return (nu * self.activation.smoothed(Z / safe, self.kink_width)) @ a

    def kink_distance(self, params, X: Float[Array, "n d"]) -> Float[Array, ""]:
        r"""$\min_{k,i} |w_k\cdot x_i| / (\|w_k\|\,\|x_i\|)$: how close any neuron's
        pre-activation is to the activation's kink, relative to its scale (ignored where the
        activation is differentiable: `inf` then)."""
        if self.activation.differentiable or self.kink_width is not None:
            return jnp.asarray(jnp.inf)
        W, _ = params
        Z = X @ W.T
        scale = jnp.linalg.norm(X, axis=1)[:, None] * jnp.linalg.norm(W, axis=1)[None, :]
        return jnp.min(jnp.abs(Z) / jnp.where(scale > 0, scale, 1.0))

    def dead_points(self, params, X: Float[Array, "n d"]) -> Float[Array, " n"]:
        r"""Which data points no neuron is active on: every pre-activation $w_k\cdot x_i \le
        10^{-6}\|w_k\|\|x_i\|$, where the activation and its derivative are zero (or
        vanishingly small). Their outputs and gradients vanish, so gradient flow cannot fit
        them. Always False for a leaky ReLU."""
        if isinstance(self.activation, LeakyReLU) and self.activation.slope > 0:
            return jnp.zeros(X.shape[0], bool)
        W, _ = params
        scale = jnp.linalg.norm(X, axis=1)[:, None] * jnp.linalg.norm(W, axis=1)[None, :]
        floor = 1e-6 if self.kink_width is None else -self.kink_width
        return jnp.all(X @ W.T <= floor * scale, axis=1)

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        return initial_scale((self.W0, self.a0))

    def time_scale(self, X) -> Float[Array, ""]:
        return jnp.ones((), jnp.result_type(float))

    def check_data(self, X) -> None:
        check_inputs(X, self.dim, "this two-layer network")
