r"""Label noise and early stopping: the test error along the path, and the regularisation paths
a statistician would compare it with.

With noisy labels $y = Xw^\star + \sigma\varepsilon$ and $d > n$, a flow on the square loss
$L(w) = \frac{1}{2n}\|Xw - y\|^2$ converges to an *interpolator*, which fits the noise. The
interpolator is then not the goal: the held-out error

$$\mathrm{err}(t) = \frac1m \|X_{\mathrm{test}}\, w(t) - y_{\mathrm{test}}\|^2$$

is typically smallest at a finite time $t^\star$, and the path $t \mapsto w(t)$ plays the part of
a regularisation path. For gradient flow on a linear model from 0,
$w(t) = X^\top (XX^\top)^{-1}(I - e^{-tXX^\top/n})\,y$ shrinks each singular direction by
$1 - e^{-ts_i^2/n}$, close to ridge's $s_i^2/(s_i^2 + n\lambda)$ at $\lambda \approx 1/t$; a
diagonal network at small initialisation $\alpha$ follows instead a path close to the lasso's
(and its limit is close to the minimum-$\ell_1$ interpolator).

- [`early_stopping`][flowbias.early_stopping.early_stopping]: $\mathrm{err}(t)$ along a
  [`FlowSolution`][flowbias.FlowSolution].
- [`ridge_path`][flowbias.early_stopping.ridge_path],
  [`lasso_path`][flowbias.early_stopping.lasso_path]: the same error along the ridge and lasso
  paths, computed independently of any flow.
- [`plot_test_error`][flowbias.early_stopping.plot_test_error]: the curves, with their minima.

??? cite "Sources"
    - J. Li, T. V. Nguyen, C. Hegde, R. K. W. Wong, *Implicit sparse regularization: the impact
      of depth and early stopping*, NeurIPS 2021.
    - A. Ali, J. Z. Kolter, R. J. Tibshirani, *A continuous-time view of early stopping for
      least squares regression*, AISTATS 2019.
    - J. Friedman, T. Hastie, R. Tibshirani, *Regularization paths for generalized linear models
      via coordinate descent*, Journal of Statistical Software, 2010.
"""

from __future__ import annotations

import equinox as eqx
import numpy as np

from ._validation import as_data, as_float_array
from .solution import FlowSolution


class EarlyStopping(eqx.Module):
    r"""The held-out error along one path: a flow's (indexed by time) or a regularisation path
    (indexed by the penalty $\lambda$).

    **Fields:**

    - `ts`: the path's index: the saved times t of a flow, or the penalties $\lambda$ of
      [`ridge_path`][flowbias.early_stopping.ridge_path] /
      [`lasso_path`][flowbias.early_stopping.lasso_path] (in decreasing order, so that the last
      entry is the least regularised: the analogue of $t \to \infty$).
    - `w`: the predictor at each entry, shape `(k, d)`.
    - `test_errors`: $\frac1m\|X_{\mathrm{test}} w - y_{\mathrm{test}}\|^2$ at each entry.
    - `best_time`: the entry of `ts` with the smallest test error (the best $\lambda$ for a
      regularisation path; the first one on ties).
    - `best_error`: that smallest test error.
    - `final_error`: the test error at the last entry (the last saved time; the smallest
      $\lambda$).
    - `label`: a name for legends.
    """

    ts: np.ndarray
    w: np.ndarray
    test_errors: np.ndarray
    best_time: float
    best_error: float
    final_error: float
    label: str = eqx.field(static=True)


def _test_data(X_test, y_test, d: int) -> tuple[np.ndarray, np.ndarray]:
    X_test = np.asarray(as_float_array(X_test, "X_test", ndim=2))
    y_test = np.asarray(as_float_array(y_test, "y_test", ndim=1))
    if X_test.shape[1] != d:
        raise ValueError(
            f"`X_test` has {X_test.shape[1]} columns but the predictor has d = {d} coordinates. "
            "Fix: pass held-out inputs with the same features as the training data."
        )
    if X_test.shape[0] != y_test.shape[0] or X_test.shape[0] == 0:
        raise ValueError(
            f"`X_test` has {X_test.shape[0]} rows but `y_test` has {y_test.shape[0]} entries; "
            "they must match and be at least one. Fix: pass one target per held-out row."
        )
    return X_test, y_test


def _result(ts, w, X_test, y_test, label: str) -> EarlyStopping:
    errors = np.mean((w @ X_test.T - y_test) ** 2, axis=-1)
    best = int(np.argmin(errors))
    return EarlyStopping(
        ts=np.asarray(ts, dtype=np.float64),
        w=w,
        test_errors=errors,
        best_time=float(ts[best]),
        best_error=float(errors[best]),
        final_error=float(errors[-1]),
        label=label,
    )


def early_stopping(sol: FlowSolution, X_test, y_test, *, label: str | None = None) -> EarlyStopping:
    r"""The held-out mean squared error $\frac1m\|X_{\mathrm{test}}w(t) - y_{\mathrm{test}}\|^2$
    at each saved time of a flow. Saved times after `sol.log_t_end` (a convergence stop)
    repeat the final state, so their error is the final one.

    **Arguments:**

    - `sol`: a single-run [`FlowSolution`][flowbias.FlowSolution] of a linear-in-input model
      (its `w` of shape `(k, d)` and `ts` of shape `(k,)` are used).
    - `X_test`, `y_test`: held-out data, shapes `(m, d)` and `(m,)`.
    - `label`: the legend name (default: the model and flow class names).

    **Returns:** an [`EarlyStopping`][flowbias.early_stopping.EarlyStopping] whose `ts` are the
    saved times.

    **Raises:** `TypeError` if `sol` is not a `FlowSolution` or has no linear predictor
    (`sol.w is None`: matrix models); `ValueError` for a batch of runs, a non-finite path or
    test data of the wrong shape.
    """
    if not isinstance(sol, FlowSolution):
        raise TypeError(
            f"`sol` must be a FlowSolution (from fb.flowsolve); got {type(sol).__name__}."
        )
    if sol.w is None:
        raise TypeError(
            "`sol` has no effective linear predictor (`sol.w is None`: a model of a matrix), so "
            "it has no test error X_test w(t). Fix: use a linear-in-input model."
        )
    w = np.asarray(sol.w, dtype=np.float64)
    ts = np.asarray(sol.ts, dtype=np.float64)
    if w.ndim != 2 or ts.shape != w.shape[:1]:
        raise ValueError(
            f"`sol` must be a single run (w of shape (k, d), ts of shape (k,)); got w of shape "
            f"{w.shape} and ts of shape {ts.shape}. Fix: pick one run with `sol.run(i)`."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(
            "`sol.w` contains NaN or inf: the run failed. Fix: read `sol.message`, and rerun "
            "with the fix it names (e.g. a smaller `t1` or a tighter `rtol`)."
        )
    X_test, y_test = _test_data(X_test, y_test, w.shape[1])
    if label is None:
        label = f"{type(sol.problem.model).__name__}, {type(sol.problem.flow).__name__}"
    return _result(ts, w, X_test, y_test, label)


def _path_inputs(X, y, X_test, y_test, lambdas):
    X, y = (np.asarray(a) for a in as_data(X, y))
    lam = np.asarray(as_float_array(lambdas, "lambdas", ndim=1))
    if lam.size == 0 or not np.all(lam > 0):
        raise ValueError(
            "`lambdas` must be a non-empty vector of positive penalties; got "
            f"{lam.tolist()[:5]}. Fix: pass e.g. `np.geomspace(1e-4, 1, 30)`."
        )
    X_test, y_test = _test_data(X_test, y_test, X.shape[1])
    return X, y, X_test, y_test, np.sort(lam)[::-1].copy()


def ridge_path(X, y, X_test, y_test, lambdas, *, label: str = "ridge") -> EarlyStopping:
    r"""The test error along the ridge path
    $w_\lambda = \arg\min_w \frac{1}{2n}\|Xw - y\|^2 + \frac\lambda2\|w\|^2$.

    Closed form from the thin SVD $X = USV^\top$ (any $n$, $d$):
    $w_\lambda = V \operatorname{diag}\!\big(s_i / (s_i^2 + n\lambda)\big) U^\top y$, the
    solution of $(X^\top X/n + \lambda I)w = X^\top y/n$.

    **Arguments:**

    - `X`, `y`: training data, shapes `(n, d)` and `(n,)`.
    - `X_test`, `y_test`: held-out data, shapes `(m, d)` and `(m,)`.
    - `lambdas`: positive finite penalties, a 1-D array (any order).
    - `label`: the legend name.

    **Returns:** an [`EarlyStopping`][flowbias.early_stopping.EarlyStopping] whose `ts` holds
    the penalties in decreasing order (`best_time` is the best $\lambda$; `final_error` is at
    the smallest).
    """
    X, y, X_test, y_test, lam = _path_inputs(X, y, X_test, y_test, lambdas)
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    shrink = s / (s**2 + X.shape[0] * lam[:, None])  # (k, r)
    w = (shrink * (U.T @ y)) @ Vt
    return _result(lam, w, X_test, y_test, label)


def _gap(X, y, w, r, alpha) -> float:
    """Duality gap of (1/2)||y - Xw||^2 + alpha ||w||_1 at w (residual r), divided by n, with
    the dual point nu = r scaled into ||X^T nu||_inf <= alpha."""
    c = np.max(np.abs(X.T @ r))
    nu = r * min(1.0, alpha / c) if c > 0 else r
    primal = 0.5 * r @ r + alpha * np.sum(np.abs(w))
    return float(primal - (nu @ y - 0.5 * nu @ nu)) / X.shape[0]


def _support_step(X, y, w, alpha):
    r"""An active-set descent step on the support S and signs s of w, where the objective is
    the smooth $\frac12\|r\|^2 + \alpha s^\top w_S$: along $-s$ projected on the null space of
    $X_S$ if that is nonzero (the fit is unchanged and the objective falls), else the Newton
    step to its minimiser. A step stops at the first coordinate that reaches 0 (set to 0; the
    objective is convex along it, so it decreases) and is then repeated on the smaller
    support, until a full Newton step. Returns the new w."""
    for _ in range(w.size + 1):  # each partial step drops a coordinate
        S = np.flatnonzero(w)
        if S.size == 0:
            return w
        signs, r = np.sign(w[S]), y - X @ w
        _, sv, Vt = np.linalg.svd(X[:, S], full_matrices=True)
        rank = int(np.sum(sv > max(X.shape[0], S.size) * np.finfo(float).eps * sv[0]))
        null_s = Vt[rank:].T @ (Vt[rank:] @ signs)
        if np.linalg.norm(null_s) > 1e-8 * np.sqrt(S.size):
            delta, step = -null_s, np.inf  # the objective falls along delta until a 0 is hit
        else:
            grad = alpha * signs - X[:, S].T @ r
            delta = -Vt[:rank].T @ ((Vt[:rank] @ grad) / sv[:rank] ** 2)
            step = 1.0
        cross = w[S] * delta < 0
        ratios = np.where(cross, -w[S] / np.where(cross, delta, 1.0), np.inf)
        hit = int(np.argmin(ratios))
        w = w.copy()
        if ratios[hit] > step or not np.isfinite(ratios[hit]):
            if np.isfinite(step):
                w[S] = w[S] + step * delta
            return w
        w[S] = w[S] + ratios[hit] * delta
        w[S[hit]] = 0.0
    return w


def _lasso_cd(X, y, lam, w, norms, tol, max_sweeps):
    r"""Cyclic coordinate descent for $\frac{1}{2n}\|Xw-y\|^2 + \lambda\|w\|_1$ from `w`,
    until the duality gap is at most `tol` (absolute). After each sweep, active-set descent
    steps are taken too (see `_support_step`). Returns w and the gap reached."""
    alpha = X.shape[0] * lam  # the problem times n: (1/2)||r||^2 + alpha ||w||_1
    r = y - X @ w
    gap = np.inf
    for _ in range(max_sweeps):
        for j in range(X.shape[1]):
            if norms[j] == 0.0:
                continue
            old = w[j]
            rho = X[:, j] @ r + norms[j] * old
            new = np.sign(rho) * max(abs(rho) - alpha, 0.0) / norms[j]
            if new != old:
                r -= X[:, j] * (new - old)
                w[j] = new
        gap = _gap(X, y, w, r, alpha)
        if gap <= tol:
            return w, gap
        w = _support_step(X, y, w, alpha)
        r = y - X @ w
        gap = _gap(X, y, w, r, alpha)
        if gap <= tol:
            return w, gap
    return w, gap


def lasso_path(
    X,
    y,
    X_test,
    y_test,
    lambdas,
    *,
    label: str = "lasso",
    rtol: float = 1e-10,
    max_sweeps: int = 100_000,
) -> EarlyStopping:
    r"""The test error along the lasso path
    $w_\lambda = \arg\min_w \frac{1}{2n}\|Xw - y\|^2 + \lambda\|w\|_1$.

    Cyclic coordinate descent (soft-thresholding one coordinate at a time), warm-started along
    decreasing $\lambda$, each solve run until its duality gap is at most
    `rtol` $\cdot\,\frac{1}{2n}\|y\|^2$ (the objective at $w = 0$). For
    $\lambda \ge \|X^\top y\|_\infty / n$ the solution is $w = 0$. Near interpolation (small
    $\lambda$, $d > n$) plain coordinate descent converges slowly, so each sweep is followed by
    active-set steps on the current support $S$ and signs $s$: the Newton step to
    $w_S = (X_S^\top X_S)^{+}(X_S^\top y - n\lambda s)$ (or, where $X_S$ has a null space
    that $s$ is not orthogonal to, a step along it), stopped at the first coordinate that
    would change sign. Each step lowers the objective; the stopping test is the duality gap
    either way.

    **Arguments:**

    - `X`, `y`: training data, shapes `(n, d)` and `(n,)`.
    - `X_test`, `y_test`: held-out data, shapes `(m, d)` and `(m,)`.
    - `lambdas`: positive finite penalties, a 1-D array (any order).
    - `label`: the legend name.
    - `rtol`: the duality-gap tolerance, relative to $\frac{1}{2n}\|y\|^2$.
    - `max_sweeps`: the most passes over the coordinates per $\lambda$.

    **Returns:** an [`EarlyStopping`][flowbias.early_stopping.EarlyStopping] whose `ts` holds
    the penalties in decreasing order (`best_time` is the best $\lambda$).

    **Raises:** `ValueError` for bad inputs; `RuntimeError` if a solve has not reached the
    tolerance after `max_sweeps` sweeps.
    """
    X, y, X_test, y_test, lam = _path_inputs(X, y, X_test, y_test, lambdas)
    if not (np.isfinite(rtol) and rtol > 0):
        raise ValueError(f"`rtol` must be positive and finite; got {rtol}.")
    norms = np.einsum("ij,ij->j", X, X)
    tol = rtol * 0.5 * (y @ y) / X.shape[0]
    w = np.zeros(X.shape[1])
    ws = np.empty((lam.size, X.shape[1]))
    for k, lam_k in enumerate(lam):
        w, gap = _lasso_cd(X, y, float(lam_k), w, norms, tol, max_sweeps)
        if gap > tol:
            raise RuntimeError(
                f"lasso coordinate descent at lambda = {lam_k:.3g} reached a duality gap of "
                f"{gap:.3g} > {tol:.3g} after {max_sweeps} sweeps. Fix: raise `max_sweeps`, "
                "loosen `rtol`, or drop the smallest `lambdas`."
            )
        ws[k] = w
    return _result(lam, ws, X_test, y_test, label)


def plot_test_error(paths, *, ax=None, x_label: str = r"time $t$"):
    r"""Plot the test error of each path against its index on a log axis, with a marker at each
    path's minimum.

    **Arguments:**

    - `paths`: a list of [`EarlyStopping`][flowbias.early_stopping.EarlyStopping] (or one).
    - `ax`: the matplotlib Axes to draw on (default: a new figure).
    - `x_label`: the quantity on the x axis: the time (flows) or e.g. `r"$\lambda$"` for
      regularisation paths (the two are related by $\lambda \approx 1/t$ only roughly, so keep
      them on separate Axes or say so in the label).

    **Returns:** the matplotlib Axes (nothing is shown).
    """
    if isinstance(paths, EarlyStopping):
        paths = [paths]
    paths = list(paths)
    if not paths or not all(isinstance(p, EarlyStopping) for p in paths):
        raise TypeError(
            "`paths` must be a non-empty list of EarlyStopping results (from early_stopping, "
            "ridge_path or lasso_path)."
        )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(layout="constrained")
    for p in paths:
        ts, err = np.asarray(p.ts), np.asarray(p.test_errors)
        keep = (ts > 0) & np.isfinite(ts) & np.isfinite(err)
        order = np.argsort(ts[keep])
        (artist,) = ax.plot(ts[keep][order], err[keep][order], label=p.label)
        ax.plot(
            [p.best_time], [p.best_error], marker="o", linestyle="none", color=artist.get_color()
        )
    ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel("test MSE")
    ax.set_title("Held-out error along the path (markers: minima)")
    ax.legend()
    return ax
