r"""The limit direction of gradient flow for a polynomially tailed loss on separable data."""

from __future__ import annotations

import numpy as np

from .errors import LimitError
from .separability import _signed_data
from .svm import hard_margin_svm


def polynomial_tail_direction(X, y, k: float) -> tuple[np.ndarray, float]:
    r"""$u^\star = \arg\min_{\|u\| \le 1} \sum_i (z_i\cdot u)^{-k}$ over directions with
    positive margins, $z_i = y_i x_i$: the limit of the regularisation path
    $\arg\min_{\|w\| \le B}\sum_i \ell(z_i\cdot w)$ as $B \to \infty$ for any loss with
    $\ell(m) \sim m^{-k}$ (rescale $w = Bu$ and multiply by $B^k$), and so the direction of
    gradient flow for such a loss.

    Computed by damped Newton on the strictly convex, coercive
    $\Phi(v) = \sum_i (z_i\cdot v)^{-k} + \tfrac12\|v\|^2$ on $\{Zv > 0\}$ (by homogeneity its
    minimiser has the direction of $u^\star$), started from the hard-margin SVM solution, to
    a stationarity residual $\|v - k\sum_i (z_i\cdot v)^{-k-1} z_i\| / \|v\|$ of about
    $10^{-15}$.

    **Arguments:** `X` (n, d), `y` labels $\pm 1$ (separable through the origin), `k > 0`.

    **Returns:** `(u, residual)`: the unit direction and its stationarity residual.

    **Raises:** [`NonSeparableError`][flowbias.NonSeparableError] if the data are not
    separable; [`LimitError`][flowbias.LimitError] if Newton does not certify.

    ??? cite "Reference"
        Ji, Dudik, Schapire & Telgarsky, *Gradient descent follows the regularization path for
        general losses*, COLT 2020.
    """
    if isinstance(k, bool) or not isinstance(k, int | float) or not k > 0:
        raise ValueError(f"`k` must be a number > 0; got {k!r}.")
    _, _, Z = _signed_data(X, y, "polynomial_tail_direction")
    scale = float(np.max(np.linalg.norm(Z, axis=1)))
    Z = Z / scale  # the direction does not depend on the scale of the data
    v = np.asarray(hard_margin_svm(X, y).w, dtype=np.float64) * scale

    def phi(v):
        q = Z @ v
        return np.inf if np.any(q <= 0) else float(np.sum(q**-k) + 0.5 * v @ v)

    def residual(v):
        q = Z @ v
        return float(np.linalg.norm(v - k * (q ** (-k - 1.0)) @ Z) / np.linalg.norm(v))

    for _ in range(200):
        q = Z @ v
        g = -k * (q ** (-k - 1.0)) @ Z + v
        H = k * (k + 1.0) * (Z.T * q ** (-k - 2.0)) @ Z + np.eye(Z.shape[1])
        step = np.linalg.solve(H, g)
        f0, t = phi(v), 1.0
        while phi(v - t * step) > f0 - 0.25 * t * (g @ step) and t > 1e-14:
            t *= 0.5
        v = v - t * step
        if residual(v) <= 1e-14:
            break
    res = residual(v)
    if not res <= 1e-12:
        raise LimitError(
            f"the polynomial-tail direction did not certify itself: stationarity residual "
            f"{res:.2g} > 1e-12 after Newton. The data may be nearly non-separable."
        )
    return v / np.linalg.norm(v), res
