r"""A margin-based generalisation bound evaluated along a path of linear classifiers (row M4).

For the unit-norm linear class $\mathcal H_1 = \{x \mapsto \langle w, x\rangle : \|w\| \le 1\}$,
whose expected Rademacher complexity on $m$ points is at most
$\sqrt{\mathbb E\|x\|^2}/\sqrt m$, a union over margins $\rho_k = r2^{-k}$ gives: with
probability at least $1 - \delta$ over the sample, simultaneously for every $h \in \mathcal H_1$
and every $\rho \in (0, r]$,

$$L^{0\text{-}1}_{\mathcal D}(\operatorname{sign}\circ h) \le L^\rho_S(h)
+ \frac{4}{\rho}\frac{\sqrt{\mathbb E\|x\|^2}}{\sqrt m}
+ \sqrt{\frac1m \log\log_2\frac{2r}{\rho}} + \sqrt{\frac{1}{2m}\log\frac2\delta},$$

with $L^\rho_S$ the empirical ramp (margin) loss. Because it holds for all $h$ and $\rho$ at once,
it may be evaluated at every point $w(t)/\|w(t)\|$ of a trajectory and minimised over $\rho$
there; the sign of a linear classifier does not depend on its scale, so normalising costs
nothing.
"""

from __future__ import annotations

import math

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float

from ._validation import as_data


class MarginBound(eqx.Module):
    r"""The terms of the bound at each point of a path (rows) and each margin $\rho$ (columns);
    see [`margin_bound`][flowbias.margin_bound].

    **Fields:** `rhos` (R,); `margin_loss`, $L^\rho_S$ (T, R); `rademacher`,
    $4\sqrt{\mathbb E\|x\|^2}/(\rho\sqrt m)$ (R,); `log_log`,
    $\sqrt{\log\log_2(2r/\rho)/m}$ (R,; zero at $\rho = r$); `confidence`,
    $\sqrt{\log(2/\delta)/(2m)}$; `bound`, their sum (T, R); `best`, its minimum over
    $\rho$ (T,); `best_rho`, the minimiser (T,); `normalized_margin`,
    $\min_i y_i\langle w, x_i\rangle/\|w\|$ (T,).
    """

    rhos: Float[Array, " R"]
    margin_loss: Float[Array, "T R"]
    rademacher: Float[Array, " R"]
    log_log: Float[Array, " R"]
    confidence: float
    bound: Float[Array, "T R"]
    best: Float[Array, " T"]
    best_rho: Float[Array, " T"]
    normalized_margin: Float[Array, " T"]


def ramp_loss(margins, rho):
    r"""The $\rho$-margin (ramp) loss of signed margins $q$: 1 for $q \le 0$, $1 - q/\rho$ for
    $0 \le q \le \rho$, 0 beyond; an upper bound of the 0-1 loss, $1/\rho$-Lipschitz."""
    q = np.asarray(margins, dtype=np.float64)
    return np.clip(1.0 - q / rho, 0.0, 1.0)


def margin_bound(
    w,
    X,
    y,
    *,
    second_moment: float,
    r: float,
    delta: float = 0.05,
    rhos=None,
) -> MarginBound:
    r"""The margin bound above at each row of `w` (a path $w(t)$ of shape (T, d), or one
    vector), for the sample `X`, `y` of size $m$.

    **Arguments:**

    - `w`: the classifiers, shape `(T, d)` or `(d,)`; each is normalised to unit norm.
    - `X`, `y`: the training sample, labels $\pm 1$.
    - `second_moment`: $\mathbb E\|x\|^2$ of the *distribution* (e.g. $d$ for standard
      Gaussian inputs), fixed before the sample is seen. (Plugging in the sample's mean makes
      the statement heuristic.)
    - `r`: the largest margin considered, fixed before the sample is seen; margins above it are
      not searched.
    - `delta`: the failure probability, in (0, 1).
    - `rhos`: the margins to minimise over, in $(0, r]$; default 200 log-spaced values in
      $[10^{-4} r, r]$.

    **Returns:** a [`MarginBound`][flowbias.MarginBound].

    ```python
    import numpy as np
    import flowbias as fb

    X, y = fb.problems.gaussian_separable(2000, 3, seed=0, gap=0.2)
    w_svm = fb.hard_margin_svm(X, y).w
    b = fb.margin_bound(w_svm, X, y, second_moment=3.0, r=3.0)  # E||x||^2 = d for N(0, I)
    print(float(b.best[0]) < 1)  # True: not vacuous at this sample size
    ```

    ??? cite "Reference"
        D. Sutherland, *CPSC 532D lecture notes*, UBC 2025, Proposition 13.4 (the margin
        bound, uniform over $\rho \in (0, r]$) with the Rademacher bound for norm-bounded
        linear classes, $\mathbb E\,\mathrm{Rad} \le B\sqrt{\mathbb E\|x\|^2}/\sqrt m$.
    """
    X, y = as_data(X, y, labels=True)
    Xn, yn = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    W = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if W.ndim != 2 or W.shape[1] != Xn.shape[1]:
        raise ValueError(
            f"`w` must have shape (T, {Xn.shape[1]}) or ({Xn.shape[1]},) for X with "
            f"{Xn.shape[1]} columns; got {np.shape(w)}."
        )
    norms = np.linalg.norm(W, axis=1)
    if not np.all(np.isfinite(W)) or np.any(norms == 0):
        raise ValueError(
            "every row of `w` must be finite and non-zero (a zero classifier has no direction). "
            "Fix: drop w(0) = 0 from the path, e.g. pass sol.w[1:]."
        )
    for name, value in (("second_moment", second_moment), ("r", r)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"`{name}` must be a finite number > 0; got {value!r}.")
    if not (isinstance(delta, int | float) and 0 < delta < 1):
        raise ValueError(f"`delta` must be in (0, 1); got {delta!r}. Fix: e.g. delta=0.05.")
    rhos = np.geomspace(1e-4 * r, r, 200) if rhos is None else np.asarray(rhos, np.float64)
    if rhos.ndim != 1 or rhos.size == 0 or np.any(rhos <= 0) or np.any(rhos > r):
        raise ValueError(f"`rhos` must be a non-empty vector of margins in (0, r = {r:g}].")
    m = Xn.shape[0]
    q = (W / norms[:, None]) @ (yn[:, None] * Xn).T  # (T, m) normalised margins
    loss = np.stack([ramp_loss(q, rho).mean(axis=1) for rho in rhos], axis=1)
    rademacher = 4.0 / rhos * math.sqrt(second_moment) / math.sqrt(m)
    log2 = np.log2(2.0 * r / rhos)
    log_log = np.sqrt(np.log(np.maximum(log2, 1.0)) / m)
    confidence = math.sqrt(math.log(2.0 / delta) / (2.0 * m))
    bound = loss + rademacher[None, :] + log_log[None, :] + confidence
    k = np.argmin(bound, axis=1)
    return MarginBound(
        rhos=rhos,
        margin_loss=loss,
        rademacher=rademacher,
        log_log=log_log,
        confidence=confidence,
        bound=bound,
        best=bound[np.arange(len(k)), k],
        best_rho=rhos[k],
        normalized_margin=q.min(axis=1),
    )
