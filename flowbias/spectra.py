r"""Spectral summaries of matrix observables: singular values, nuclear norm, effective rank."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def singular_values(W: Float[ArrayLike, "*batch d1 d2"]) -> Float[Array, "*batch r"]:
    """The singular values of `W` (leading axes batch, e.g. saved times), largest first."""
    W = jnp.asarray(W)
    if W.ndim < 2:
        raise ValueError(f"`W` must be a matrix (or a batch of them); got shape {W.shape}.")
    return jnp.linalg.svd(W, compute_uv=False)


def nuclear_norm(W: Float[ArrayLike, "*batch d1 d2"]) -> Float[Array, "*batch"]:
    r"""$\|W\|_* = \sum_r \sigma_r(W)$."""
    return jnp.sum(singular_values(W), axis=-1)


def effective_rank(W: Float[ArrayLike, "*batch d1 d2"]) -> Float[Array, "*batch"]:
    r"""$\exp(-\sum_r p_r \log p_r)$ with $p_r = \sigma_r / \sum_s \sigma_s$: between 1 (rank
    one) and $\min(d_1, d_2)$ (all singular values equal); NaN for $W = 0$.

    ??? cite "Definition"
        Roy & Vetterli, *The effective rank: a measure of effective dimensionality*, EUSIPCO
        2007; used for the same purpose by Razin & Cohen, NeurIPS 2020.
    """
    s = singular_values(W)
    total = jnp.sum(s, axis=-1, keepdims=True)
    p = s / jnp.where(total > 0, total, 1.0)
    ent = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)
    return jnp.where(total[..., 0] > 0, jnp.exp(ent), jnp.nan)
