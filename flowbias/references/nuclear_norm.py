r"""Minimum nuclear norm (and minimum trace PSD) matrices consistent with linear measurements,
by convex programming, each certified by its dual."""

from __future__ import annotations

import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jaxtyping import Array, ArrayLike, Float

from ..data import AbstractMeasurements, MatrixCompletion, validate_data
from .errors import LimitError


class NuclearNormSolution(eqx.Module):
    r"""The solution of [`min_nuclear_norm`][flowbias.min_nuclear_norm].

    **Fields:** `W` (the matrix); `objective` ($\|W\|_*$, or $\operatorname{tr} W$ for the
    PSD program); `dual` (the multipliers $\lambda$ of the measurement constraints, signed
    so that $M = \mathcal A^*(\lambda)$ is the dual certificate); `residual` (the relative
    KKT residual: the largest of the measurement misfit $\|\mathcal A(W) - y\|/\|y\|$, the
    dual infeasibility $\max(0, \|M\|_2 - 1)$ (PSD: $\max(0, \lambda_{\max}(M) - 1)$), and
    the duality gap $|\langle M, W\rangle - \text{objective}| / \text{objective}$);
    `psd`.

    Weak duality makes the residual a certificate: any $W'$ with $\mathcal A(W') = y$ has
    $\|W'\|_* \ge \langle M, W'\rangle = \lambda^\top y = \langle M, W\rangle$.
    """

    W: Float[Array, "d1 d2"]
    objective: float
    dual: Float[Array, " n"]
    residual: float
    psd: bool = eqx.field(static=True)


def _selection(X: AbstractMeasurements):
    """The measurements as a matrix acting on vec(W) (row-major): sparse for completion."""
    n, (d1, d2) = X.num_measurements, X.shape
    if isinstance(X, MatrixCompletion):
        flat = np.asarray(X.rows) * d2 + np.asarray(X.cols)
        return sp.csr_matrix((np.ones(n), (np.arange(n), flat)), shape=(n, d1 * d2))
    return np.asarray(X.dense(), dtype=np.float64).reshape(n, d1 * d2)


def min_nuclear_norm(
    X: AbstractMeasurements, y: ArrayLike, *, psd: bool = False, tol: float = 1e-8
) -> NuclearNormSolution:
    r"""$\arg\min \|W\|_*$ s.t. $\langle A_k, W\rangle = y_k$ for all $k$ or, with `psd`,
    $\arg\min \operatorname{tr} W$ s.t. the same and $W \succeq 0$ (the two agree on PSD
    matrices).

    Solved as a semidefinite program by Clarabel through cvxpy (gap and feasibility tolerances
    1e-12), then certified by its dual: raises [`LimitError`][flowbias.LimitError] if the
    relative KKT residual (see [`NuclearNormSolution`][flowbias.NuclearNormSolution]) exceeds
    `tol`, and `ValueError` if no matrix fits the measurements.

    ```python
    import numpy as np
    import flowbias as fb

    X = fb.MatrixCompletion(rows=[0, 1, 1], cols=[1, 0, 1], shape=(2, 2))
    ref = fb.min_nuclear_norm(X, np.array([1.0, 1.0, 0.0]))
    print(np.round(np.asarray(ref.W), 6))  # w11 = 0: [[0, 1], [1, 0]]
    ```

    ??? cite "Conjecture and counterexample"
        Gunasekar et al., *Implicit Regularization in Matrix Factorization*, NeurIPS 2017
        (conjectured as the limit of factorised gradient flow from $U(0)\to 0$; proved for
        commuting measurements); Razin & Cohen, NeurIPS 2020 (a completion where it fails).
    """
    X, y = validate_data(X, y)
    if not isinstance(X, AbstractMeasurements):
        raise TypeError(
            "`X` must be a measurement operator (fb.MatrixSensing or fb.MatrixCompletion)."
        )
    d1, d2 = X.shape
    if psd and d1 != d2:
        raise ValueError(f"`psd=True` needs square matrices; `X` measures {d1} x {d2}.")
    yn = np.asarray(y, dtype=np.float64)
    S = _selection(X)
    import cvxpy as cp  # imported on use: 1.4 s of `import flowbias` otherwise

    W = cp.Variable((d1, d2), PSD=True) if psd else cp.Variable((d1, d2))
    fit = S @ cp.vec(W, order="C") == yn
    objective = cp.trace(W) if psd else cp.normNuc(W)
    problem = cp.Problem(cp.Minimize(objective), [fit])
    with warnings.catch_warnings():
        # Clarabel may call a solution "inaccurate" at these tight tolerances; the dual
        # certificate below is the check that counts, and it raises if the answer is off.
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if problem.status in ("infeasible", "infeasible_inaccurate"):
        raise ValueError(
            "`X`, `y`: no matrix"
            + (" W >= 0 (PSD)" if psd else "")
            + " fits these measurements. Fix: check the measured values."
        )
    if W.value is None:
        raise LimitError(f"the nuclear-norm program did not solve (status {problem.status}).")
    Wv = np.asarray(W.value, dtype=np.float64)
    lam = np.asarray(fit.dual_value, dtype=np.float64).reshape(-1)
    M = np.asarray(X.adjoint(jnp.asarray(lam)), dtype=np.float64)
    if psd:
        M = 0.5 * (M + M.T)
    obj = float(np.trace(Wv)) if psd else float(np.sum(np.linalg.svd(Wv, compute_uv=False)))
    if np.sum(M * Wv) < 0:  # cvxpy's sign convention for the multipliers: make <M, W> = obj
        lam, M = -lam, -M
    misfit = np.linalg.norm(S @ Wv.reshape(-1) - yn) / max(np.linalg.norm(yn), 1e-300)
    dual_excess = (np.linalg.eigvalsh(M)[-1] if psd else np.linalg.norm(M, 2)) - 1.0
    gap = abs(float(np.sum(M * Wv)) - obj) / max(obj, 1e-300)
    residual = float(max(misfit, max(dual_excess, 0.0), gap))
    if not residual <= tol:
        raise LimitError(
            f"the nuclear-norm solution is not certified: relative KKT residual {residual:.2g} "
            f"> tol = {tol:g} (misfit {misfit:.1e}, dual excess {dual_excess:.1e}, gap "
            f"{gap:.1e}). Fix: rescale the data, or pass a looser `tol`."
        )
    return NuclearNormSolution(
        W=jnp.asarray(Wv), objective=obj, dual=jnp.asarray(lam), residual=residual, psd=psd
    )
