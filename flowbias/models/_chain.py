"""Products of chained matrices W_K ... W_1, shared by the factorisation and the deep linear
network."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def chain_product(mats) -> Float[Array, "r c"]:
    """W_K ... W_1 for `mats` = (W_1, ..., W_K)."""
    P = mats[0]
    for W in mats[1:]:
        P = W @ P
    return P


def chain_rate(mats) -> Float[Array, ""]:
    r"""$\sum_j \prod_{i \ne j}\|W_i\|_2^2$: how much faster than a single linear map the product
    moves under gradient flow, at these factors (1 for one factor)."""
    norms = jnp.stack([jnp.linalg.norm(W, 2) ** 2 for W in mats])
    k = len(mats)
    return sum(jnp.prod(jnp.delete(norms, j)) if k > 1 else 1.0 for j in range(k))
