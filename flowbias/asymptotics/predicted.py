r"""Predicted asymptotics of separable flows, from the hard-margin SVM dual alone.

Write $z_i = y_i x_i$, $\hat w = \sum_{i\in S} a_i z_i$ for the hard-margin SVM and its dual
(support set $S$, $z_i\cdot\hat w = 1$ on $S$). For gradient flow on
$L = \frac1n\sum_i e^{-z_i\cdot w}$ put $w(t) = \hat w\log t + \tilde w(t)$ and $u = \log t$.
Since $e^{-z_i\cdot w} = e^{-z_i\cdot\tilde w}/t$ on $S$ and $= O(t^{-m_i})$ off it
($m_i = z_i\cdot\hat w > 1$),

$$\frac{d\tilde w}{du} = t\,\dot w - \hat w
  = \frac1n\sum_{i\in S} z_i e^{-z_i\cdot\tilde w} - \sum_{i\in S} a_i z_i
  + O\big(t^{-(m_2 - 1)}\big),$$

with $m_2 = \min_{i\notin S} m_i$. Its fixed point, when the $z_i$ ($i\in S$) are linearly
independent, is $e^{-z_i\cdot\tilde w} = n a_i$: the **offsets**

$$z_i\cdot\big(w(t) - \hat w\log t\big) \to -\log(n a_i), \qquad i\in S.$$

Only the part of $\tilde w$ in $\operatorname{span}\{z_i\}_{i\in S}$ is fixed this way; the part
orthogonal to it converges to a limit that depends on the whole trajectory.

**Rate.** Linearising at the fixed point, $\delta' = -H\delta$ with
$H = \sum_{i\in S} a_i z_i z_i^\top$, so the offsets converge like $t^{-p}$,

$$p = \min\big(\lambda_{\min}(H|_{\operatorname{span} z_S}),\; m_2 - 1\big)$$

(the second term is the forcing by the non-support points). For the logistic loss,
$-\ell'(m) = e^{-m}(1 - e^{-m} + \dots)$: the same offsets, plus a correction $O(1/t)$, so
$p$ is capped at 1. Gradient *descent* with step $\eta$ follows the flow at $t = \eta k$
(same offsets, $p$ capped at 1 by the discretisation).

**Normalised flow** ($\dot w = -\nabla L / L$, the flow in loss-time): $\dot w = \sum_S p_i z_i$
with $p = \operatorname{softmax}(-z_S\cdot w)$, so $w(t) = \hat w\,t/\|\hat w\|^2 + \tilde w$ with
$p_i = a_i/\sum_j a_j$, i.e. $z_i\cdot\tilde w = -\log a_i + C$. The common constant $C$ is a
time shift (not predicted): compare centred offsets. The linearisation gives
$e^{-p t}$ convergence, with $p$ the smallest eigenvalue of
$Z_S^\top\operatorname{diag}(a/\|\hat w\|^2)Z_S - \hat w\hat w^\top/\|\hat w\|^4$ on
$\operatorname{span} z_S \ominus \hat w$ and $(m_2 - 1)/\|\hat w\|^2$.

**Margin gap.** With $g(t)$ the growth ($\log t$, or $t/\|\hat w\|^2$ when normalised),
$\gamma^\star - \min_i z_i\cdot w/\|w\| \approx D/(\|\hat w\|\,g(t))$ where
$D = \max_{S}\log a_i - \sum_S a_i\log a_i / \sum_S a_i \ge 0$ (the $n$ cancels). So the gap is
$D/(\|\hat w\|\log t)$ for constant steps and $D\,\|\hat w\|/t$ for normalised ones. Also
$t\,L(w(t)) \to \sum_i a_i = \|\hat w\|^2$ for the (unnormalised) flow.

**Degenerate support.** If a support vector has $a_i = 0$ (or the $z_S$ are linearly dependent),
no finite $\tilde w$ solves the fixed-point equation: $z_i\cdot\tilde w \to \infty$ and
$\|w(t) - \hat w \log t\|$ grows like $\log\log t$.

??? cite "References"

    Soudry, Hoffer, Nacson, Gunasekar & Srebro, *The Implicit Bias of Gradient Descent on
    Separable Data*, JMLR 19 (2018), Theorem 3 and its proof ($\tilde w$, the offsets
    $-\log(n a_i)$ up to the step size) and Theorem 4 (the $\log\log t$ residual in the
    degenerate case); Nacson et al., *Convergence of Gradient Descent on Separable Data*,
    AISTATS 2019 (normalised steps); Ji & Telgarsky, *Characterizing the implicit bias via a
    primal-dual analysis*, ALT 2021.
"""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from ..flows import AbstractFlow, GradientFlow, NormalisedGradientFlow
from ..losses import AbstractLoss, ExponentialLoss, LogisticLoss
from ..references import hard_margin_svm
from ..references.separability import _signed_data


_ZERO_DUAL = 1e-8


class PredictedAsymptotics(eqx.Module):
    r"""What theory predicts for $w(t)$ on separable data (see the module text).

    **Fields:**

    - `w_hat`, `dual`, `support`: the hard-margin SVM $\hat w$, its dual $a$ and support mask.
    - `growth`: `"log"` ($w \approx \hat w\log t + \tilde w$: gradient flow or descent) or
      `"linear"` ($w \approx \hat w\,t/\|\hat w\|^2 + \tilde w$: normalised steps).
    - `offsets`: predicted $z_i\cdot\tilde w$ on the support (NaN off it; `+inf` where
      $a_i = 0$). For `growth="linear"` they are defined up to a common constant and returned
      centred (mean zero over $S$).
    - `w_tilde_span`: the minimum-norm $\tilde w$ with these offsets (its component in
      $\operatorname{span} z_S$; NaN when degenerate).
    - `degenerate`, `zero_dual`, `rank_deficient`: whether the simple asymptotics fail, and why.
    - `lambda_min`: smallest eigenvalue of the linearisation on the support span.
    - `second_margin`: $m_2 = \min_{i\notin S} z_i\cdot\hat w$ (`inf` if every point is a support
      vector).
    - `offset_exponent`: $p$; offsets converge like $t^{-p}$ (`"log"`) or $e^{-pt}$
      (`"linear"`).
    - `gap_coefficient`: $D/\|\hat w\|$ (`"log"`: gap $\approx$ this $/\log t$) or
      $D\|\hat w\|$ (`"linear"`: gap $\approx$ this $/t$).
    - `loss_times_t`: predicted limit of $t\,L(w(t))$ ($\|\hat w\|^2$; NaN for `"linear"`).
    """

    w_hat: Float[Array, " d"]
    dual: Float[Array, " n"]
    support: Bool[Array, " n"]
    growth: str = eqx.field(static=True)
    offsets: Float[Array, " n"]
    w_tilde_span: Float[Array, " d"]
    degenerate: bool = eqx.field(static=True)
    zero_dual: Bool[Array, " n"]
    rank_deficient: bool = eqx.field(static=True)
    lambda_min: float
    second_margin: float
    offset_exponent: float
    gap_coefficient: float
    loss_times_t: float

    def log_t_to_tolerance(self, tol: float, scale: float = 1.0) -> float:
        r"""$\log t$ at which $\text{scale}\cdot t^{-p}$ reaches `tol` (growth `"log"`), or $t$
        at which $\text{scale}\cdot e^{-pt}$ does (growth `"linear"`)."""
        if not self.offset_exponent > 0:
            return math.inf
        return math.log(scale / tol) / self.offset_exponent


def _span_basis(Z_S: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns) of the row span of Z_S."""
    _, s, vt = np.linalg.svd(Z_S, full_matrices=False)
    r = int(np.sum(s > s.max() * 1e-10)) if s.size else 0
    return vt[:r].T


def predict_asymptotics(
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: AbstractLoss | None = None,
    flow: AbstractFlow | None = None,
    discrete: bool = False,
) -> PredictedAsymptotics:
    r"""Predict the asymptotic form of $w(t)$ from the SVM dual (no flow is run).

    **Arguments:**

    - `X`, `y`: separable data, shapes `(n, d)` and `(n,)`, labels $\pm1$.
    - `loss`: [`ExponentialLoss`][flowbias.ExponentialLoss] (default) or
      [`LogisticLoss`][flowbias.LogisticLoss].
    - `flow`: [`GradientFlow`][flowbias.GradientFlow] (default, growth `"log"`) or
      [`NormalisedGradientFlow`][flowbias.NormalisedGradientFlow] (growth `"linear"`).
    - `discrete`: True for gradient descent with a fixed step (time $t = \eta k$); caps the
      offset exponent at 1.

    **Returns:** a [`PredictedAsymptotics`][flowbias.asymptotics.PredictedAsymptotics].

    **Raises:** [`NonSeparableError`][flowbias.NonSeparableError] if the data are not separable
    through the origin; `TypeError` for an unsupported loss or flow.
    """
    loss = ExponentialLoss() if loss is None else loss
    flow = GradientFlow() if flow is None else flow
    if not isinstance(loss, ExponentialLoss | LogisticLoss):
        raise TypeError(
            f"`loss` must be fb.ExponentialLoss() or fb.LogisticLoss(); got "
            f"{type(loss).__name__}. Fix: the offsets are derived for exponentially tailed "
            "losses only."
        )
    if not isinstance(flow, GradientFlow | NormalisedGradientFlow):
        raise TypeError(
            f"`flow` must be fb.GradientFlow() or fb.NormalisedGradientFlow(); got "
            f"{type(flow).__name__}."
        )
    _, _, Z = _signed_data(X, y, "predict_asymptotics")
    svm = hard_margin_svm(X, y)  # raises NonSeparableError
    n = Z.shape[0]
    w_hat = np.asarray(svm.w)
    a = np.asarray(svm.dual).copy()
    S = np.asarray(svm.support)
    a[~S] = 0.0
    w2 = float(w_hat @ w_hat)
    Z_S = Z[S]
    zero = S & (a <= _ZERO_DUAL * a.max())
    rank_def = bool(np.linalg.matrix_rank(Z_S, tol=1e-10 * np.abs(Z_S).max()) < int(S.sum()))
    degenerate = bool(zero.any() or rank_def)
    margins = Z @ w_hat
    m2 = float(margins[~S].min()) if (~S).any() else math.inf
    linear = isinstance(flow, NormalisedGradientFlow)

    offsets = np.full(n, np.nan)
    a_pos = np.where(S & ~zero, a, np.nan)
    if linear:
        off = -np.log(a_pos)
        off = off - np.nanmean(off[S & ~zero])
    else:
        off = -np.log(n * a_pos)
    offsets[S & ~zero] = off[S & ~zero]
    offsets[zero] = np.inf

    B = _span_basis(Z_S)
    if degenerate:
        w_tilde = np.full_like(w_hat, np.nan)
        lam = math.nan
        p = 0.0
    else:
        w_tilde = np.linalg.lstsq(Z_S, offsets[S], rcond=None)[0]
        a_S = a[S]
        if linear:
            q = a_S / w2
            M = Z_S.T @ (q[:, None] * Z_S) - np.outer(w_hat, w_hat) / w2**2
            u = w_hat / math.sqrt(w2)
            B = B - np.outer(u, u) @ B  # span minus the time-shift direction w_hat
            B = _span_basis(B.T)
            lam = float(np.linalg.eigvalsh(B.T @ M @ B).min()) if B.shape[1] else math.inf
            p = min(lam, (m2 - 1.0) / w2)
        else:
            H = Z_S.T @ (a_S[:, None] * Z_S)
            lam = float(np.linalg.eigvalsh(B.T @ H @ B).min())
            p = min(lam, m2 - 1.0)
            if isinstance(loss, LogisticLoss) or discrete:
                p = min(p, 1.0)
    la = np.log(a[S & ~zero])
    D = float(la.max() - np.sum(a[S & ~zero] * la) / np.sum(a[S & ~zero]))
    gap_coef = D * math.sqrt(w2) if linear else D / math.sqrt(w2)
    return PredictedAsymptotics(
        w_hat=svm.w,
        dual=np.asarray(a),
        support=np.asarray(S),
        growth="linear" if linear else "log",
        offsets=np.asarray(offsets),
        w_tilde_span=np.asarray(w_tilde),
        degenerate=degenerate,
        zero_dual=np.asarray(zero),
        rank_deficient=rank_def,
        lambda_min=float(lam),
        second_margin=m2,
        offset_exponent=float(p),
        gap_coefficient=float(gap_coef),
        loss_times_t=math.nan if linear else w2,
    )
