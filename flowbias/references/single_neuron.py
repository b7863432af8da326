r"""Interpolators of a single neuron $\psi(\langle w, x\rangle)$ nearest to an initialisation.

For a strictly increasing $\psi$ the zero-loss set $\{w : \psi(Xw) = y\}$ is the affine
subspace $Xw = \psi^{-1}(y)$, and the interpolator nearest to $w_0$ is the linear one on the
transformed targets (`single_neuron_limit`): the limit of gradient flow on the square
loss when it reaches zero loss. For the ReLU a target $y_i = 0$ asks only $x_i\cdot w \le 0$:
the zero-loss set is a polyhedron, its point nearest to $w_0$ a quadratic program
(`relu_neuron_nearest_interpolator`), and gradient flow in general does not stop there.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .._validation import as_data, as_initialisation, is_concrete
from ..models.single_neuron import (
    NeuronActivation,
    activation_inverse,
    activation_range,
    check_activation,
    is_invertible,
)
from .errors import LimitError
from .min_norm import min_norm_interpolator


def _out_of_range(y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return ~((y > lo) & (y < hi))


def single_neuron_limit(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    w0: Float[Array, " d"] | None,
    activation: NeuronActivation,
) -> Float[Array, " d"]:
    r"""The interpolator of a single neuron nearest to `w0`, for a strictly increasing $\psi$:

    $$\arg\min_w \|w - w_0\| \ \text{ s.t. } \ \psi(Xw) = y
    \;=\; \arg\min_w \|w - w_0\| \ \text{ s.t. } \ Xw = z, \quad z = \psi^{-1}(y),$$

    that is $w_0 + X^\top(XX^\top)^{-1}(z - Xw_0)$ for $X$ of full row rank, computed by
    [`min_norm_interpolator`][flowbias.min_norm_interpolator] on the transformed targets.
    It is the limit of gradient flow on the square loss from $w_0$ whenever the flow reaches
    zero loss (see `single_neuron_theorem`).

    **Arguments:**

    - `X`: data, shape `(n, d)`.
    - `y`: targets, shape `(n,)`, inside the range of $\psi$.
    - `w0`: initialisation, shape `(d,)` (`None`: zeros).
    - `activation`: $\psi$: a monotone activation (`Tanh`, `Sigmoid`, `Softplus`) or a
      `LeakyReLU` with slope $> 0$.

    **Returns:** the interpolator, shape `(d,)`.

    **Raises:** [`LimitError`][flowbias.LimitError] if $\psi$ is not invertible (ReLU), if a
    target lies outside its range, or if no $w$ has $Xw = \psi^{-1}(y)$ (X rank-deficient).

    ??? cite "References"
        G. Vardi & O. Shamir, *Implicit Regularization in ReLU Networks with the Square
        Loss*, COLT 2021 (the single-neuron argument for monotone activations, and the
        ReLU, for which no such characterisation exists); *Foundations of Deep Learning*,
        ch. 7 "Implicit regularization", section "Single neurons" (lecture notes, NYU Tandon,
        Spring 2022).
    """
    activation = check_activation(activation)
    X, y = as_data(X, y)
    w0 = as_initialisation(w0, X.shape[1])
    if not is_invertible(activation):
        zeros = int(np.sum(np.asarray(y) == 0)) if is_concrete(y) else None
        note = (
            f" Here {zeros} target(s) are 0."
            if zeros
            else " Even with every target > 0 (then relu^-1(y) = y), a sample whose "
            "pre-activation is negative gets no gradient, and the flow can stop short of zero "
            "loss."
        )
        raise LimitError(
            f"{activation.label} is not invertible, so `y` does not determine the "
            "pre-activations: a target y_i = 0 only asks x_i.w <= 0, and samples with a "
            "negative pre-activation get no gradient, so the zero-loss point gradient flow "
            "reaches depends on its path and is in general not the one nearest to w0." + note + " "
            "Fix: `flowbias.references.single_neuron.relu_neuron_nearest_interpolator(X, y, w0)` "
            "gives argmin ||w - w0|| s.t. relu(Xw) = y (a QP the flow need not reach), or use "
            "fb.LeakyReLU(slope) with slope > 0."
        )
    lo, hi = activation_range(activation)
    if is_concrete(y):
        yn = np.asarray(y)
        bad = np.flatnonzero(_out_of_range(yn, lo, hi))
        if bad.size:
            i = int(bad[0])
            raise LimitError(
                f"`y` has {bad.size} target(s) outside the range ({lo:g}, {hi:g}) of "
                f"{activation.label} (first: y[{i}] = {float(yn[i])!r}), so no w has "
                f"{activation.label}(Xw) = y and the flow cannot reach zero loss (it diverges "
                f"towards the saturation). Fix: targets strictly inside ({lo:g}, {hi:g}) (e.g. "
                "rescale them), or an activation whose range contains them."
            )
    z = activation_inverse(activation, y)
    try:
        return min_norm_interpolator(X, z, w0)
    except ValueError:
        n, d = X.shape
        why = "more rows than columns" if n > d else "rank-deficient"
        raise LimitError(
            f"no w has {activation.label}(Xw) = y: the transformed targets psi^-1(y) are not "
            f"in the range of `X` ({n} x {d}, {why}), so the flow cannot reach zero loss and "
            "the theorem does not apply. Fix: pass X of full row rank (n <= d, no dependent "
            "rows)."
        ) from None


class ReLUNeuronSolution(eqx.Module):
    r"""The solution of `relu_neuron_nearest_interpolator`.

    **Fields:**

    - `w`: $\arg\min\|w - w_0\|$ s.t. $\operatorname{relu}(Xw) = y$, shape `(d,)`.
    - `multipliers`: $\lambda$, shape `(n,)`, with $w - w_0 = -X^\top\lambda$: free for
      targets $y_i > 0$ (equalities $x_i\cdot w = y_i$), $\lambda_i \ge 0$ for targets
      $y_i = 0$ (inequalities $x_i\cdot w \le 0$), and $\lambda_i = 0$ where those are slack.
    - `active`: boolean mask, shape `(n,)`, of the rows the solution lies on: every $y_i > 0$,
      and the $y_i = 0$ with $x_i\cdot w = 0$ (to within $10^{-9}$ of the scale).
    - `kkt_residual`: the largest scale-free KKT violation: stationarity
      $\|w - w_0 + X^\top\lambda\|$, primal infeasibility $|x_i\cdot w - y_i|$ ($y_i > 0$)
      and $(x_i\cdot w)_+$ ($y_i = 0$), dual infeasibility $(-\lambda_i)_+$ and complementarity
      $|\lambda_i\, x_i\cdot w|$, each relative to its natural scale
      ($\|X\|_2$, $\|w\|$, $\|w_0\|$, $\|y\|$).
    """

    w: Float[Array, " d"]
    multipliers: Float[Array, " n"]
    active: Bool[Array, " n"]
    kkt_residual: float


_ACTIVE_TOL = 1e-9
_KKT_TOL = 1e-8


def _kkt(X, y, w0, w, lam) -> float:
    pos = y > 0
    s = float(np.linalg.norm(X, 2))
    size = float(np.linalg.norm(w) + np.linalg.norm(w0))
    size = size if size > 0 else 1.0
    z = X @ w
    out_scale = s * float(np.linalg.norm(w)) + float(np.linalg.norm(y))
    out_scale = out_scale if out_scale > 0 else 1.0
    stationarity = float(np.linalg.norm(w - w0 + X.T @ lam)) / size
    primal = max(
        float(np.max(np.abs(z[pos] - y[pos]), initial=0.0)),
        float(np.max(z[~pos], initial=0.0)),
    )
    dual = s * float(np.max(-lam[~pos], initial=0.0)) / size
    slack = s * float(np.max(np.abs(lam[~pos] * z[~pos]), initial=0.0)) / (size * out_scale)
    return max(stationarity, primal / out_scale, dual, slack)


def _solve_qp(X, y, w0) -> tuple[np.ndarray, np.ndarray]:
    import cvxpy as cp  # imported on use: 1.4 s of `import flowbias` otherwise

    pos = y > 0
    w = cp.Variable(X.shape[1])
    cons = [X[pos] @ w == y[pos], X[~pos] @ w <= 0]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w - w0)), cons)
    try:
        prob.solve(
            solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500
        )
    except cp.error.SolverError as e:  # pragma: no cover - rare numerical failure
        raise LimitError(f"Clarabel failed on the ReLU-neuron QP: {e}") from e
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
        raise LimitError(
            f"no w has relu(Xw) = y (Clarabel: {prob.status!r}): the targets y_i > 0 and the "
            "sign conditions x_i.w <= 0 for y_i = 0 are incompatible. Fix: pass X of full row "
            "rank (n <= d, no dependent rows), for which every such system is solvable."
        )
    lam = np.zeros(X.shape[0])
    lam[pos] = np.asarray(cons[0].dual_value, dtype=np.float64)
    lam[~pos] = np.asarray(cons[1].dual_value, dtype=np.float64)
    return np.asarray(w.value, dtype=np.float64), lam


def _polish(X, y, w0, A) -> tuple[np.ndarray, np.ndarray]:
    """The interpolator of the rows `A` (targets y_A) nearest to w0, and its multipliers."""
    XA = X[A]
    w = w0 + np.linalg.lstsq(XA, y[A] - XA @ w0, rcond=None)[0]
    lam = np.zeros(X.shape[0])
    lam[A] = np.linalg.lstsq(XA.T, w0 - w, rcond=None)[0]
    return w, lam


def relu_neuron_nearest_interpolator(
    X: Float[Array, "n d"], y: Float[Array, " n"], w0: Float[Array, " d"] | None = None
) -> ReLUNeuronSolution:
    r"""The zero-loss point of a ReLU neuron nearest to `w0`:

    $$\arg\min_w \tfrac12\|w - w_0\|^2 \quad\text{s.t.}\quad x_i\cdot w = y_i\ (y_i > 0),
    \qquad x_i\cdot w \le 0\ (y_i = 0),$$

    a quadratic program (its constraints say $\operatorname{relu}(Xw) = y$). This is *not*
    in general the limit of gradient flow: a sample with $y_i = 0$ that starts active pushes
    $w$ along $-x_i$ until its pre-activation reaches 0, a move the QP does not need, and
    samples with negative pre-activations get no gradient at all (see
    `SingleNeuron`).

    Solved by Clarabel (cvxpy), then polished: on the rows the solution lies on (every
    $y_i > 0$ and the $y_i = 0$ with $x_i\cdot w$ within $10^{-9}$ of zero, relative) the
    interpolator nearest to $w_0$ is computed by least squares in float64, with its
    multipliers, and kept if it is feasible and certifies better.

    **Arguments:** `X` (n, d); `y` (n,), targets $\ge 0$; `w0` (d,), zeros by default.

    **Returns:** a `ReLUNeuronSolution` (`w`, `multipliers`, `active`, `kkt_residual`).

    **Raises:** [`LimitError`][flowbias.LimitError] if a target is negative (outside the
    ReLU's range), if no $w$ fits (X rank-deficient), or if the KKT residual exceeds
    $10^{-8}$.

    ??? cite "Reference"
        G. Vardi & O. Shamir, *Implicit Regularization in ReLU Networks with the Square
        Loss*, COLT 2021: for a single ReLU neuron the implicit regularisation of gradient
        flow cannot be written as any explicit function of the weights, so the nearest
        interpolator is a comparison, not a prediction.
    """
    X, y = as_data(X, y)
    w0 = as_initialisation(w0, X.shape[1])
    Xn, yn, w0n = (np.asarray(a, dtype=np.float64) for a in (X, y, w0))
    bad = np.flatnonzero(yn < 0)
    if bad.size:
        i = int(bad[0])
        raise LimitError(
            f"`y` has {bad.size} negative target(s) (first: y[{i}] = {float(yn[i])!r}), "
            "outside the range [0, inf) of relu: no w has relu(Xw) = y. Fix: targets >= 0 (e.g. "
            "relu(X w_star)), or an activation whose range contains them (fb.LeakyReLU(0.2))."
        )
    w, lam = _solve_qp(Xn, yn, w0n)
    best = _kkt(Xn, yn, w0n, w, lam)
    scale = float(np.linalg.norm(Xn, 2)) * float(np.linalg.norm(w)) + float(np.linalg.norm(yn))
    on = (yn > 0) | (Xn @ w >= -_ACTIVE_TOL * max(scale, np.finfo(float).tiny))
    w_p, lam_p = _polish(Xn, yn, w0n, np.flatnonzero(on))
    r = _kkt(Xn, yn, w0n, w_p, lam_p)
    if r < best:
        w, lam, best = w_p, lam_p, r
    if not best <= _KKT_TOL:
        raise LimitError(
            f"the ReLU-neuron QP did not certify itself: KKT residual {best:.2g} > {_KKT_TOL:g}. "
            "X is too badly conditioned for float64, or nearly rank-deficient."
        )
    z = Xn @ w
    active = (yn > 0) | (z >= -_ACTIVE_TOL * max(scale, np.finfo(float).tiny))
    return ReLUNeuronSolution(
        w=jnp.asarray(w),
        multipliers=jnp.asarray(lam),
        active=jnp.asarray(active),
        kkt_residual=best,
    )
