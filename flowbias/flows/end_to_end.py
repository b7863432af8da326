r"""The end-to-end flow of a balanced deep matrix factorisation (Arora, Cohen, Hazan 2018)."""

from __future__ import annotations

import jax.numpy as jnp

from ..data import adjoint
from ..models import MatrixFactorization
from ._base import AbstractGradientFlow


def _gram_power(U, sig, p: float):
    """(W W^T)^p = U diag(sigma^(2p)) U^T from a thin SVD; the identity for p = 0."""
    if p == 0.0:
        return jnp.eye(U.shape[0], dtype=U.dtype)
    return (U * sig ** (2 * p)) @ U.T


class EndToEndFlow(AbstractGradientFlow):
    r"""Gradient flow of a balanced depth-$N$ factorisation $W = W_N\cdots W_1$, integrated
    in the end-to-end matrix $W$ alone:

    $$\dot W = -\sum_{j=1}^{N} (WW^\top)^{\frac{j-1}{N}}\,\nabla_W L(W)\,
    (W^\top W)^{\frac{N-j}{N}}.$$

    When the factors start balanced ($W_{j+1}^\top W_{j+1} = W_j W_j^\top$, as from
    [`MatrixFactorization.balanced`][flowbias.MatrixFactorization.balanced]), this is exactly
    the path of $W$ under gradient flow on the factors: a $d_1 \times d_2$ state instead of
    $N$ factors, and a second, independent route to the same answer. Its singular values
    move as $\dot\sigma_r = -N\sigma_r^{2 - 2/N}\langle\nabla_W L, u_r v_r^\top\rangle$.

    The fractional powers come from the thin SVD of $W$, keeping the $r$ singular values that
    the factorisation can have ($r$ the smallest of $d_1, d_2$ and the hidden widths; the
    others are zero exactly). Taking them from an eigendecomposition of $WW^\top$ instead
    would turn its rounding-level zero eigenvalues $\sim\epsilon\|W\|^2$ into spurious
    terms $\sim\epsilon^{1/N}\|W\|^{2/N}$ (measured: 1.4e-8 off the factored flow). The
    SVD's derivative is undefined at repeated singular values ($W(0) = \alpha^N I$ has only
    one), so the flow is integrated by an explicit solver by default (`is_stiff` is False).

    `params` returns *a* balanced factorisation of $W$ ($W_1 = \Sigma^{1/N}V^\top$,
    $W_j = \Sigma^{1/N}$, $W_N = U\Sigma^{1/N}$ from the SVD, hidden width
    $\min(d_1, d_2)$); the factored flow's own factors agree with it up to orthogonal
    changes of basis of the hidden spaces.

    ??? cite "Source"
        Arora, Cohen, Hazan, *On the Optimization of Deep Networks: Implicit Acceleration by
        Overparameterization*, ICML 2018, Theorem 1 and Claim 1.
    """

    def check(self, model, loss) -> None:
        if not isinstance(model, MatrixFactorization) or model.symmetric:
            raise TypeError(
                "EndToEndFlow integrates an asymmetric MatrixFactorization (W = W_N ... W_1); "
                f"got {type(model).__name__}"
                + (" with symmetric=True" if isinstance(model, MatrixFactorization) else "")
                + ". Fix: use fb.GradientFlow() for this model."
            )
        imbalance = float(model.imbalance(model.init_params())) if model.depth > 1 else 0.0
        if not imbalance <= 1e-12:
            raise ValueError(
                f"EndToEndFlow is exact only from a balanced initialisation; these factors have "
                f"imbalance {imbalance:.2g} (max_j ||W_(j+1)^T W_(j+1) - W_j W_j^T|| / "
                "||W_j W_j^T||). Fix: build the model with MatrixFactorization.balanced, or "
                "integrate the factors with fb.GradientFlow()."
            )

    def is_stiff(self, model) -> bool:
        return False

    def init_state(self, model, X):
        return model.end_to_end(model.init_params())

    def vector_field(self, s, state, model, loss, time, X, y):
        N = model.depth
        W = state
        G = adjoint(X, loss.scaled_grad(X.apply(W), y, time.log_dt_ds(s)))
        if N == 1:
            return -G
        r = min(min(F.shape) for F in model.init_params())
        U, sig, Vt = jnp.linalg.svd(W, full_matrices=False)
        U, sig, V = U[:, :r], sig[:r], Vt[:r].T
        out = jnp.zeros_like(W)
        for j in range(1, N + 1):
            out = out + _gram_power(U, sig, (j - 1) / N) @ G @ _gram_power(V, sig, (N - j) / N)
        return -out

    def params(self, state, model, X):
        N = model.depth
        U, sig, Vt = jnp.linalg.svd(state, full_matrices=False)
        root = sig ** (1.0 / N)
        if N == 1:
            return (state,)
        first = root[:, None] * Vt
        middle = tuple(jnp.diag(root) for _ in range(N - 2))
        last = U * root[None, :]
        return (first, *middle, last)

    def observable(self, state, model, X):
        return state

    def outputs(self, state, model, X):
        return X.apply(state)

    def observable_error(self, state, model, X, num_steps):
        eps = jnp.finfo(state.dtype).eps
        return 4 * eps * jnp.sqrt(num_steps + 1.0) * jnp.abs(state)

    def state_scale(self, model, loss, X, y):
        size = jnp.max(jnp.abs(model.end_to_end(model.init_params())))
        return jnp.where(size > 0, size, 1.0)
