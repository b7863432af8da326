"""Which diffrax solver a flow gets by default, and why."""

from __future__ import annotations

import hashlib
import math

import diffrax as dfx
import equinox as eqx
import jax
import lineax as lx
import numpy as np
import optimistix as optx

from ._validation import as_data, is_concrete
from .data import gram_eigenvalues, num_points
from .flows import AbstractFlow, AbstractTime, DualFlow, GradientFlow, LinearTime
from .losses import AbstractClassificationLoss, AbstractLoss, SquareLoss
from .models import AbstractModel, LinearModel


# An explicit 5th-order Runge-Kutta method is stable on a real negative eigenvalue -lambda
# for h lambda up to ~3.3 (Tsit5 and Dopri5 alike), so on least squares it needs at least
# lambda_max t1 / 3.3 steps, whatever its tolerance.
_EXPLICIT_STABILITY = 3.3
# Above this many stability-limited steps the implicit solver is cheaper (it takes a few
# hundred steps on least squares at rtol 1e-10, each with a Jacobian of the state's size).
_EXPLICIT_STEP_BUDGET = 20_000
# An implicit step forms and factorises a dense (size x size) Jacobian; beyond this size
# that costs more than the explicit steps it saves.
_IMPLICIT_MAX_STATE = 2_000
# On separable data the stiffness estimate needs the hard-margin SVM (a QP over d variables,
# ~0.1 s at d = 100, ~1 s at d = 200), and an implicit step's Jacobian costs d products with
# X: the estimate is made up to this dimension.
_SEPARABLE_MAX_DIM = 100


def default_solver(stiff: bool = True, *, matrix_free: bool = False) -> dfx.AbstractSolver:
    """The two solvers [`flowsolve`][flowbias.flowsolve] chooses between when none is given
    (which one a run got, and why, is `solution.solver_choice`).

    - `stiff=True`: `diffrax.Kvaerno5` (5th order, L-stable ESDIRK), for the flows of
      multiplicative parametrisations (diagonal networks, primal or dual), whose fast modes
      scale with the fitted weights: at alpha = 1e-3 an explicit solver exceeds 1e5 steps
      even on the n-dimensional dual flow of a 10 x 200 problem; and for badly conditioned
      least squares. Its stage equations are
      solved by `optimistix.Chord` with tolerances (rtol 1e-6, atol 1e-8) looser than the
      step-size controller's; they are meaningful because the ODE state is integrated in
      units of its own scale (see [`AbstractFlow.state_scale`][flowbias.AbstractFlow.state_scale]).
      diffrax's default, `VeryChord` at the controller's tolerances, fails here in two ways:
      on the exponential nonlinearity of separable flows its divergence test trips at large
      steps and the solver stalls in rejected steps (10^4 rejections on a 20 x 5 problem,
      against ~850 steps with this choice); and on diagonal networks at small scale, where the
      Jacobian is ~1e-15, it rejects every step.
    - `stiff=False`: `diffrax.Tsit5` (5th order, explicit), for linear models.
      An implicit step builds a state-sized Jacobian (one Jacobian-vector product per state
      entry) and factorises it, so on a 2000 x 1000 separable problem Kvaerno5 took 149 s to
      t = 1e4 where Tsit5 took 0.33 s for the same steps and answer (`bench/separable.py`).

    - `stiff=True, matrix_free=True`: Kvaerno5 whose stage equations are solved by
      `optimistix.Newton` with `lineax.GMRES` (restart 20, rtol 1e-8): only Jacobian-vector
      products, no Jacobian formed or factorised, so memory stays linear in the state. For
      large stiff states (the primal diagonal flow at d = 10^4 has 2 x 10^4 entries: a dense
      Jacobian alone would take 3.2 GB). Newton rather than Chord because optimistix's Chord
      keeps the linear solver's state across iterations, which for GMRES holds the operator
      itself and cannot be carried. Measured at d = 10^4, n = 50, alpha = 0.1 (default
      horizon): 63 steps, 9.8 s with compilation, peak RSS 662 MiB, relative error 1.2e-10
      against `mirror_limit`; at d = 200 the same 192 steps as the dense solver, 4.4 s
      against 7.6 s.

    `tests/test_solve.py` pins them against `diffrax.Dopri8` at rtol 1e-13.
    """
    if stiff and matrix_free:
        gmres = lx.GMRES(rtol=1e-8, atol=1e-10, restart=20, max_steps=400)
        return dfx.Kvaerno5(root_finder=optx.Newton(rtol=1e-6, atol=1e-8, linear_solver=gmres))
    if stiff:
        return dfx.Kvaerno5(root_finder=optx.Chord(rtol=1e-6, atol=1e-8))
    return dfx.Tsit5()


class SolverChoice(eqx.Module):
    """The solver a run got by default and the reason, in words (`solution.solver_choice`).

    **Fields:**

    - `solver`: the diffrax solver.
    - `reason`: why this one: the flow's stiffness, or for least squares the measured
      condition number and the steps an explicit solver would need.
    """

    solver: dfx.AbstractSolver
    reason: str = eqx.field(static=True)


def _state_size(flow: AbstractFlow, model: AbstractModel, X) -> int:
    return sum(int(np.size(leaf)) for leaf in jax.tree.leaves(flow.init_state(model, X)))


def choose_solver(
    model: AbstractModel,
    loss: AbstractLoss,
    flow: AbstractFlow,
    X,
    log_t1,
    *,
    y=None,
    time: AbstractTime | None = None,
) -> SolverChoice:
    r"""The default solver for this run, following its measured stiffness.

    - Diagonal networks and other multiplicative parametrisations
      ([`AbstractFlow.is_stiff`][flowbias.AbstractFlow.is_stiff]): the stiff solver; its
      matrix-free form (Newton-GMRES) when the state has more than 2000 entries.
    - A linear model on the square loss (gradient or dual flow, data given as values): the
      flow is linear with rates the eigenvalues $\lambda_k$ of $XX^\top/n$. An explicit
      5th-order method needs at least $\lambda_{\max} t_1 / 3.3$ steps (its stability limit),
      which at the default horizon $t_1 = 60/\lambda_{\min}$ is $\approx 18\,\kappa$ with
      $\kappa = \mathrm{cond}(XX^\top)$. Above 20000 such steps the stiff solver is chosen,
      unless the state has more than 2000 entries (a dense implicit step would cost more);
      then the reason names the closed form ([`ExactLinearSolver`][flowbias.ExactLinearSolver])
      or the n-dimensional `DualFlow`.
    - A linear model on an exponentially tailed loss (labels `y` given, log time, the
      default): late in the run the log-time flow's Jacobian tends to
      $-\sum_i \alpha_i z_i z_i^\top$, $z_i = y_i x_i$, with $\alpha$ the dual weights of the
      hard-margin SVM (since $t\,e^{-z_i\cdot w}/n \to \alpha_i$ on the support vectors), so
      an explicit method needs about $\rho\log t_1/3.3$ steps with
      $\rho = \lambda_{\max}(\sum_i\alpha_i z_iz_i^\top) \le \max_i\|x_i\|^2/\gamma^2$:
      many points near a small margin $\gamma$ make it stiff (measured: 3000 x 5 points, margin
      gap 0.05, $\rho = 2100$: predicted 1.47e5 explicit steps, Tsit5 took 1.34e5, Kvaerno5
      553). Above 20000 such steps the stiff solver is chosen, for $d \le 100$ (the SVM is
      solved here, a QP in $d$ variables, and an implicit step costs $d$ products with $X$).
    - Otherwise the explicit solver (an implicit step's Jacobian costs more than the steps it
      saves; `bench/separable.py`).

    **Arguments:** `model`, `loss`, `flow`, the data `X` (and labels `y`, needed for the
    separable estimate), `log_t1` the log of the horizon, `time` the time variable
    (default: as [`flowsolve`][flowbias.flowsolve]'s).

    **Returns:** a [`SolverChoice`][flowbias.SolverChoice].
    """
    for value, name, kind in (
        (model, "model", AbstractModel),
        (loss, "loss", AbstractLoss),
        (flow, "flow", AbstractFlow),
    ):
        if not isinstance(value, kind):
            raise TypeError(
                f"`{name}` must be a flowbias {kind.__name__[8:].lower()} (an "
                f"{kind.__name__}); got {type(value).__name__}."
            )
    if is_concrete(log_t1) and not np.isfinite(float(np.asarray(log_t1))):
        raise ValueError(f"`log_t1` must be finite (log of the horizon); got {log_t1!r}.")
    if flow.is_stiff(model):
        size = _state_size(flow, model, X)
        if size > _IMPLICIT_MAX_STATE:
            return SolverChoice(
                default_solver(stiff=True, matrix_free=True),
                f"Kvaerno5, matrix-free (Newton-GMRES): the flow of {type(model).__name__} is "
                f"stiff (its fast modes scale with the fitted weights), and with {size} state "
                f"entries a dense Jacobian ({size**2 * 8 / 2**30:.2g} GiB) and its LU per step "
                "cost more than Jacobian-vector products.",
            )
        return SolverChoice(
            default_solver(stiff=True),
            f"Kvaerno5: the flow of {type(model).__name__} is stiff (its fast "
            "modes scale with the fitted weights).",
        )
    linear = (
        isinstance(model, LinearModel)
        and isinstance(loss, SquareLoss)
        and type(flow) in (GradientFlow, DualFlow)
    )
    if (
        isinstance(model, LinearModel)
        and isinstance(loss, AbstractClassificationLoss)
        and type(flow) is GradientFlow
        and not isinstance(time, LinearTime)
    ):
        return _separable_choice(model, loss, flow, X, y, log_t1)
    if not linear:
        return SolverChoice(
            default_solver(stiff=False),
            "Tsit5: explicit, for flows not marked stiff (AbstractFlow.is_stiff); "
            "an implicit step's Jacobian costs a state-sized factorisation.",
        )
    if not (is_concrete(log_t1) and all(is_concrete(a) for a in jax.tree.leaves(X))):
        return SolverChoice(
            default_solver(stiff=False),
            "Tsit5: the data or t1 are traced, so their conditioning is "
            "unknown here; pass `solver=` if they are ill-conditioned.",
        )
    if not all(np.all(np.isfinite(np.asarray(a))) for a in jax.tree.leaves(X)):
        raise ValueError(
            "`X` contains NaN or inf: its spectrum, which sets the solver, is not "
            "defined. Fix: clean the data (flowsolve refuses it too)."
        )
    eig = gram_eigenvalues(X) / num_points(X)
    lam_max = float(np.max(eig)) if eig.size else 0.0
    positive = eig[eig > lam_max * 1e-12] if lam_max > 0 else eig[:0]
    kappa = float(positive.max() / positive.min()) if positive.size else 1.0
    log_steps = math.log(max(lam_max, 1e-300)) + float(log_t1) - math.log(_EXPLICIT_STABILITY)
    steps = math.exp(min(log_steps, 700.0))
    facts = f"cond(X X^T) = {kappa:.2g}, so an explicit solver needs >= {steps:.2g} steps"
    if steps <= _EXPLICIT_STEP_BUDGET:
        return SolverChoice(default_solver(stiff=False), f"Tsit5: least squares with {facts}.")
    size = _state_size(flow, model, X)
    if size > _IMPLICIT_MAX_STATE:
        return SolverChoice(
            default_solver(stiff=False),
            f"Tsit5: least squares with {facts}, but an implicit step on "
            f"{size} state entries costs more; for speed pass "
            "`solver=fb.ExactLinearSolver()` (closed form) or "
            "`flow=fb.DualFlow()` (n entries).",
        )
    return SolverChoice(
        default_solver(stiff=True),
        f"Kvaerno5: least squares with {facts} (its stability limit); the "
        "L-stable implicit solver takes a few hundred.",
    )


# rho (or why it could not be computed) per data set, so that repeated solves on the same
# data solve the SVM once; keyed on the bytes of (X, y), oldest dropped first.
_SPECTRAL_RADII: dict[str, float | str] = {}


def _separable_choice(model, loss, flow, X, y, log_t1) -> SolverChoice:
    """The choice for a linear model on an exponentially tailed loss in log time."""
    from .references import LimitError, NonSeparableError, hard_margin_svm

    def explicit(why: str) -> SolverChoice:
        return SolverChoice(default_solver(stiff=False), f"Tsit5: separable flow; {why}.")

    if y is None:
        return explicit("labels not given, so its log-time stiffness is not estimated")
    if not (is_concrete(log_t1) and all(is_concrete(a) for a in jax.tree.leaves((X, y)))):
        return explicit("the data or t1 are traced, so its stiffness is unknown here")
    X, y = as_data(X, y, labels=True)  # bad labels are an error, not a reason to go explicit
    Xn, yn = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if Xn.shape[1] > _SEPARABLE_MAX_DIM:
        return explicit(
            f"d = {Xn.shape[-1]} > {_SEPARABLE_MAX_DIM}: an implicit step would cost more, so "
            "the stiffness is not estimated (pass solver=fb.default_solver(stiff=True) if it "
            "runs out of steps)"
        )
    key = hashlib.blake2b(Xn.tobytes() + yn.tobytes() + str(Xn.shape).encode()).hexdigest()
    rho = _SPECTRAL_RADII.get(key)
    if rho is None:
        try:
            svm = hard_margin_svm(Xn, yn)
        except (NonSeparableError, LimitError) as e:
            rho = " ".join(str(e).split())[:120]
        else:
            Z = yn[:, None] * Xn
            alpha = np.maximum(np.asarray(svm.dual, dtype=np.float64), 0.0)
            rho = float(np.linalg.eigvalsh((Z.T * alpha) @ Z)[-1])
        if len(_SPECTRAL_RADII) >= 256:
            _SPECTRAL_RADII.pop(next(iter(_SPECTRAL_RADII)))
        _SPECTRAL_RADII[key] = rho
    if isinstance(rho, str):
        return explicit(f"its SVM could not be computed ({rho})")
    steps = math.exp(
        min(
            math.log(max(rho, 1e-300))
            + math.log(max(float(log_t1), 1e-300))
            - math.log(_EXPLICIT_STABILITY),
            700.0,
        )
    )
    facts = (
        f"the log-time Jacobian tends to -sum_i alpha_i z_i z_i^T (SVM duals), spectral radius "
        f"{rho:.3g}, so an explicit solver needs >= {steps:.2g} steps"
    )
    if steps <= _EXPLICIT_STEP_BUDGET:
        return SolverChoice(default_solver(stiff=False), f"Tsit5: separable flow; {facts}.")
    return SolverChoice(
        default_solver(stiff=True),
        f"Kvaerno5: separable flow; {facts} (its stability limit); the L-stable implicit "
        "solver takes a few hundred.",
    )
