r"""A user's own homogeneous network, an `equinox.Module` mapping one input to a scalar, with its
degree declared and checked."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import check_int
from .homogeneous import AbstractHomogeneousModel, check_inputs, initial_scale


class HomogeneousNetwork(AbstractHomogeneousModel):
    r"""Wraps `module`, an `eqx.Module` with `module(x) -> scalar` for one input `x` of shape
    `(d,)`, as a homogeneous model. Its parameters are the module's floating-point arrays
    (`eqx.filter(module, eqx.is_inexact_array)`; everything else stays fixed), one *layer* per
    array, in the order of `jax.tree.leaves`.

    **Arguments:**

    - `module`: the network at its initialisation.
    - `dim`: the input dimension d.
    - `layer_degrees`: the degree of the output in each array alone (default: one each, as for
      the weight matrices of a ReLU MLP without biases); the total degree is their sum.

    The declared degrees are checked on data with
    [`check_degree`][flowbias.AbstractHomogeneousModel.check_degree] and
    [`check_layer_degrees`][flowbias.HomogeneousNetwork.check_layer_degrees]; a bias, for
    instance, makes both fail.

    ```python
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import flowbias as fb


    class Net(eqx.Module):
        W: jax.Array
        a: jax.Array

        def __call__(self, x):
            return self.a @ jnp.maximum(self.W @ x, 0.0)


    rng = np.random.default_rng(0)
    net = fb.HomogeneousNetwork(Net(rng.normal(size=(5, 3)), rng.normal(size=5)), dim=3)
    net.check_degree(rng.normal(size=(10, 3)))
    print(net.degree)  # 2
    ```
    """

    module0: eqx.Module
    dim: int = eqx.field(static=True)
    declared_degrees: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self, module: eqx.Module, *, dim: int, layer_degrees: tuple[int, ...] | None = None
    ):
        if not isinstance(module, eqx.Module):
            raise TypeError(
                f"`module` must be an equinox Module (module(x) -> scalar); got "
                f"{type(module).__name__}. Fix: write the network as an eqx.Module."
            )
        self.dim = check_int(dim, "dim", minimum=1, fix="the input dimension d.")
        leaves = jax.tree.leaves(eqx.filter(module, eqx.is_inexact_array))
        if not leaves:
            raise ValueError("`module` has no floating-point arrays to train.")
        if layer_degrees is None:
            layer_degrees = (1,) * len(leaves)
        layer_degrees = tuple(
            check_int(k, "layer_degrees[j]", minimum=1) for k in tuple(layer_degrees)
        )
        if len(layer_degrees) != len(leaves):
            raise ValueError(
                f"`layer_degrees` has {len(layer_degrees)} entries but the module has "
                f"{len(leaves)} arrays (in jax.tree.leaves order); give one degree per array."
            )
        out = eqx.filter_eval_shape(module, jax.ShapeDtypeStruct((self.dim,), jnp.float64))
        if not (isinstance(out, jax.ShapeDtypeStruct) and out.shape == ()):
            raise ValueError(
                "`module(x)` must return a scalar for an input x of shape (dim,); got "
                f"{out}. Fix: end the network with a scalar output."
            )
        self.module0 = module
        self.declared_degrees = layer_degrees

    @property
    def layer_degrees(self) -> tuple[int, ...]:
        return self.declared_degrees

    @property
    def degree(self) -> int:
        return sum(self.declared_degrees)

    def init_params(self):
        return eqx.filter(self.module0, eqx.is_inexact_array)

    def layers(self, params):
        return tuple(jax.tree.leaves(params))

    def predict(self, params, X: Float[Array, "n d"]) -> Float[Array, " n"]:
        static = eqx.filter(self.module0, eqx.is_inexact_array, inverse=True)
        module = eqx.combine(params, static)
        return jax.vmap(module)(X)

    def check_layer_degrees(self, X, *, tol: float = 1e-10, scale: float = 2.0) -> None:
        """Raise unless scaling each array alone by `scale` scales the outputs on `X` by
        scale^k with k its declared degree (to relative `tol`)."""
        params = self.init_params()
        leaves, treedef = jax.tree.flatten(params)
        f = self.predict(params, X)
        for j, k in enumerate(self.layer_degrees):
            scaled = [scale * v if i == j else v for i, v in enumerate(leaves)]
            fj = self.predict(jax.tree.unflatten(treedef, scaled), X)
            err = float(jnp.max(jnp.abs(fj - scale**k * f)) / jnp.max(jnp.abs(scale**k * f)))
            if not err <= tol:
                raise ValueError(
                    f"array {j} of the module (jax.tree.leaves order) is declared of degree {k}, "
                    f"but scaling it alone by {scale} changes the outputs by {err:.2g} "
                    "(relative) against that. Fix: declare its degree, and use no biases."
                )

    def parameter_scale(self, X, y) -> Float[Array, ""]:
        return initial_scale(self.init_params())

    def time_scale(self, X) -> Float[Array, ""]:
        return jnp.ones((), jnp.result_type(float))

    def check_data(self, X) -> None:
        check_inputs(X, self.dim, "this network")
