r"""A single neuron $f(x; w) = \psi(\langle w, x\rangle)$, from any initialisation $w_0$."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import as_float_array
from ..data import AbstractMeasurements
from ._base import AbstractModel
from .activations import AbstractKinkedActivation
from .monotone import AbstractMonotoneActivation


#: What a single neuron accepts: a smooth strictly increasing activation (tanh, sigmoid,
#: softplus), or a kinked one (leaky ReLU with slope s > 0, strictly increasing; ReLU, s = 0,
#: not invertible).
NeuronActivation = AbstractMonotoneActivation | AbstractKinkedActivation

# The default horizon assumes the flow's pre-activations stay within |z| <= this (or within
# the initial ones, if larger): tanh targets up to 0.995, sigmoid targets in [0.047, 0.953].
_PREACTIVATION_RADIUS = 3.0


def check_activation(activation, name: str = "activation") -> NeuronActivation:
    """`activation` if it is one a single neuron takes, else a `TypeError` naming the fix."""
    if not isinstance(activation, AbstractMonotoneActivation | AbstractKinkedActivation):
        raise TypeError(
            f"`{name}` must be a flowbias activation for a single neuron: a strictly "
            "increasing one (flowbias.models.monotone.Tanh(), Sigmoid(), Softplus(), or "
            f"fb.LeakyReLU(slope) with slope > 0) or fb.ReLU(); got "
            f"{type(activation).__name__}. Fix: pass an instance, e.g. Tanh() for tanh (not "
            "np.tanh or jnp.tanh), or fb.LeakyReLU(0.2)."
        )
    return activation


def is_invertible(activation: NeuronActivation) -> bool:
    r"""Whether $\psi$ is strictly increasing, so that $\psi(z) = y$ has one solution $z$ for
    every $y$ in its range: the smooth monotone activations, and a leaky ReLU with slope
    $s > 0$. Not the ReLU ($s = 0$): every $z \le 0$ gives $\psi(z) = 0$."""
    activation = check_activation(activation)
    if isinstance(activation, AbstractMonotoneActivation):
        return True
    return activation.negative_slope > 0


def activation_range(activation: NeuronActivation) -> tuple[float, float]:
    r"""The open interval of values of an invertible $\psi$ (all of $\mathbb R$ for a leaky
    ReLU with $s > 0$). Raises `ValueError` for a ReLU (its values $[0, \infty)$ are not
    reached one-to-one)."""
    activation = check_activation(activation)
    if isinstance(activation, AbstractMonotoneActivation):
        return activation.range
    if activation.negative_slope > 0:
        return (-math.inf, math.inf)
    raise ValueError(
        f"{activation.label} is not invertible (every z <= 0 maps to 0), so it has no "
        "one-to-one range. Fix: use a leaky ReLU with slope > 0, or a smooth monotone activation."
    )


def activation_inverse(activation: NeuronActivation, y: Float[Array, "..."]) -> Float[Array, "..."]:
    r"""$\psi^{-1}(y)$ entrywise, for an invertible activation: its closed form, or for a
    leaky ReLU of slope $s > 0$, $y$ where $y > 0$ and $y/s$ otherwise. Raises `ValueError`
    for a ReLU."""
    activation = check_activation(activation)
    if isinstance(activation, AbstractMonotoneActivation):
        return activation.inverse(y)
    s = activation.negative_slope
    if not s > 0:
        raise ValueError(
            f"{activation.label} is not invertible: a target 0 is reached by every z <= 0. "
            "Fix: see flowbias.references.single_neuron.relu_neuron_nearest_interpolator."
        )
    return jnp.where(y > 0, y, y / s)


def activation_min_slope(activation: NeuronActivation, radius) -> Float[Array, ""]:
    r"""$\min_{|z| \le r} \psi'(z)$ (a leaky ReLU: its slope $s$; a ReLU: 1, the slope of its
    active samples, since inactive ones do not move at all)."""
    activation = check_activation(activation)
    if isinstance(activation, AbstractMonotoneActivation):
        return activation.min_slope(-radius, radius)
    s = activation.negative_slope
    return jnp.asarray(s if s > 0 else 1.0)


class SingleNeuron(AbstractModel):
    r"""One neuron $f(x; w) = \psi(\langle w, x\rangle)$ started at $w(0) = w_0$, with an
    activation $\psi$ that is strictly increasing and smooth
    (`Tanh`, `Sigmoid`,
    `Softplus`) or kinked
    ([`LeakyReLU`][flowbias.LeakyReLU], strictly increasing for a slope $s > 0$;
    [`ReLU`][flowbias.ReLU], not invertible). The observable is $w$.

    On the square loss $L(w) = \frac1{2n}\|\psi(Xw) - y\|^2$ the gradient

    $$\nabla L(w) = \tfrac1n X^\top\big(\psi'(Xw) \odot (\psi(Xw) - y)\big)$$

    lies in the row space of $X$, so gradient flow never leaves $w_0 + \operatorname{row}(X)$.
    For a strictly increasing $\psi$ and targets in its range the zero-loss set is the affine
    subspace $Xw = \psi^{-1}(y)$, and a zero-loss limit is the interpolator of the transformed
    targets nearest to $w_0$ (see `flowbias.limits.single_neuron.single_neuron_theorem`).

    With a kinked activation the flow can *slide* along the kink: a pre-activation
    $x_i\cdot w$ pinned at 0 while the vector field points back across it from both sides (a
    Filippov solution; for a leaky ReLU the slope jumps from 1 to $s$ there, and the other
    samples can push $x_i\cdot w$ up on one side while it pushes itself down on the other).
    Sliding keeps the flow in $w_0 + \operatorname{row}(X)$, so the limit is unchanged, but an
    adaptive solver stalls in rejected steps and `flowsolve` reports `max_steps` reached.
    Measured on `problems.single_neuron_problem(n, d, 0)` with slope 0.2: no sliding at
    5 x 12 and 15 x 40, sliding at 8 x 20, 10 x 30 and 10 x 40.

    **Arguments:**

    - `w0`: the initialisation, shape `(d,)`.
    - `activation`: $\psi$, an `AbstractMonotoneActivation` or an `AbstractKinkedActivation`.

    ```python
    import numpy as np
    import flowbias as fb

    neuron = fb.SingleNeuron(np.zeros(3), fb.Tanh())
    ```
    """

    w0: Float[Array, " d"]
    activation: NeuronActivation

    def __init__(self, w0: ArrayLike, activation: NeuronActivation):
        self.activation = check_activation(activation)
        self.w0 = as_float_array(w0, "w0", ndim=1)
        if self.w0.shape[0] == 0:
            raise ValueError("`w0` is empty; need d >= 1 weights. Fix: pass w0 of shape (d,).")

    @property
    def dim(self) -> int:
        """d, the input dimension."""
        return self.w0.shape[0]

    @property
    def invertible(self) -> bool:
        """Whether the activation is strictly increasing (see `is_invertible`)."""
        return is_invertible(self.activation)

    def init_params(self) -> Float[Array, " d"]:
        return self.w0

    def predict(self, params: Float[Array, " d"], X: Float[Array, "n d"]) -> Float[Array, " n"]:
        return self.activation(X @ params)

    def observable(self, params: Float[Array, " d"]) -> Float[Array, " d"]:
        return params

    def observable_sensitivity(self, params: Float[Array, " d"]) -> Float[Array, " d"]:
        return jnp.abs(params)

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        # The larger of w0 and the step X^+ (z - X w0) to the transformed targets z (y itself
        # where psi has no inverse, or where y is outside psi's range).
        if self.invertible:
            z = activation_inverse(self.activation, y)
            z = jnp.where(jnp.isfinite(z), z, y)
        else:
            z = y
        step = jnp.linalg.pinv(X) @ (z - X @ self.w0)
        step_size = jnp.max(jnp.abs(step))
        size = jnp.maximum(
            jnp.max(jnp.abs(self.w0)), jnp.where(jnp.isfinite(step_size), step_size, 0.0)
        )
        return jnp.where(jnp.isfinite(size) & (size > 0), size, 1.0)

    def time_scale(self, X) -> Float[Array, ""]:
        r"""$1/m^2$ with $m = \min_{|z| \le r}\psi'(z)$ and
        $r = \max(3, \max_i |x_i\cdot w_0|)$. Near its limit the flow is linear with rates the
        eigenvalues of $D XX^\top D/n$, $D = \operatorname{diag}\psi'(Xw_\infty)$, at least
        $m^2$ times those of a linear model while the pre-activations stay within $r$. Targets
        deeper in saturation (tanh beyond $\pm 0.995$) fit more slowly than the default horizon
        allows: `flowsolve` then flags the run `not_converged`; pass a longer `t1`."""
        radius = jnp.maximum(_PREACTIVATION_RADIUS, jnp.max(jnp.abs(X @ self.w0)))
        m = activation_min_slope(self.activation, radius)
        return 1.0 / jnp.maximum(m, jnp.finfo(jnp.float64).tiny) ** 2

    def check_data(self, X) -> None:
        if isinstance(X, AbstractMeasurements):
            raise TypeError(
                f"SingleNeuron is a model of vectors, psi(<w, x>) on rows of an (n, d) matrix "
                f"`X`; got a measurement operator ({type(X).__name__}). Fix: pass X as an array."
            )
        if X.ndim != 2:
            raise ValueError(
                f"`X` must be a matrix (2-D) of shape (n, d) for SingleNeuron; got shape "
                f"{tuple(X.shape)}. Fix: one row per data point."
            )
        if X.shape[1] != self.dim:
            raise ValueError(
                f"`X` has {X.shape[1]} columns but the neuron has dimension d = {self.dim} "
                "(from its initialisation). Fix: build the neuron with an initialisation of "
                f"length {X.shape[1]}, or pass X with {self.dim} columns."
            )
