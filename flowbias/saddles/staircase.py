r"""The $\alpha\to0$ limit of the depth-2 diagonal-network flow: a staircase of saddles.

For $w = u\odot u - v\odot v$ with $u(0) = v(0) = \alpha\mathbf 1$ on the square loss
$L(w) = \frac1{2n}\|Xw - y\|^2$, gradient flow gives $w(t) = 2\alpha^2\sinh(4\xi(t))$ with
$\xi = -\int_0^t\nabla L$. In the rescaled time $\tau = t/\log(1/\alpha)$ and dual variable
$s = 2\xi/\log(1/\alpha)$, $|w_i| \approx \alpha^{2(1-|s_i|)}$: a coordinate is
negligible while $|s_i| < 1$ and can be of order one only at $|s_i| = 1$. As $\alpha\to0$ the
path $w(\tau)$ tends to a piecewise-constant one: it rests on a saddle $\beta_k$ of the loss
while $s$ moves in a straight line, $s' = -2\nabla L(\beta_k)$, and jumps when a coordinate
of $s$ reaches $\pm1$; the next saddle minimises $L$ over
$\{\beta : \operatorname{sign}\beta_i \in \{0, s_i\}$ where $|s_i| = 1$, $\beta_i = 0$
elsewhere$\}$. A coordinate whose constrained optimum is 0 sees $s_i$ move back inside: it is
switched off, and may come back later with either sign.

??? cite "Source"
    S. Pesme and N. Flammarion, *Saddle-to-saddle dynamics in diagonal linear networks*,
    NeurIPS 2023 (their Algorithm 1 and Theorem 1, here in the time and scale conventions of
    [`DiagonalNetwork`][flowbias.DiagonalNetwork]: their threshold 1 on the dual variable is
    $|s_i| = 1$ above).
"""

from __future__ import annotations

import numbers
from fractions import Fraction

import equinox as eqx
import numpy as np
import sympy

from .constrained import SaddleDegeneracyError, kkt_violation, sign_constrained_least_squares


class Staircase(eqx.Module):
    r"""The saddles visited by the $\alpha\to0$ flow and the (rescaled) times it jumps.

    Plateau $k$ ($k = 0, \dots, K$) lasts from `times[k]` to `times[k+1]` (the last for ever),
    in rescaled time $\tau = t/\log(1/\alpha)$; `times[0] = 0` and `saddles[0] = 0`.

    **Fields:** `times` (K+1,), `saddles` (K+1, d), `signs` (K+1, d) (the sign pattern
    $\sigma$ allowed on each plateau: $\pm1$ where $|s_i| = 1$, else 0), `duals` (K+1, d) (the
    rescaled dual variable $s$ at the start of each plateau), `losses` (K+1,),
    `kkt_violation` (the largest violation of the saddles' optimality conditions, relative
    to $\|X^\top y\|_\infty/n$; exactly 0 when `exact`), `exact` (whether the arithmetic was
    rational), and `exact_times`, `exact_saddles` (the `Fraction` values, or `None`).
    """

    times: np.ndarray
    saddles: np.ndarray
    signs: np.ndarray
    duals: np.ndarray
    losses: np.ndarray
    kkt_violation: float
    exact: bool
    exact_times: tuple | None = None
    exact_saddles: tuple | None = None

    @property
    def num_jumps(self) -> int:
        return int(self.times.shape[0]) - 1

    @property
    def jump_times(self) -> np.ndarray:
        """The rescaled times $\\tau_1 < \\dots < \\tau_K$ of the jumps."""
        return self.times[1:]

    @property
    def final(self) -> np.ndarray:
        """The last saddle: a minimiser of the loss (the min-l1 interpolator when one exists)."""
        return self.saddles[-1]

    def active_sets(self, rtol: float = 1e-12) -> list[tuple[int, ...]]:
        """The support of each saddle: the coordinates with
        $\\lvert\\beta_i\\rvert > \\mathtt{rtol}\\cdot\\max_j\\lvert\\beta_j\\rvert$."""
        out = []
        for beta in self.saddles:
            m = float(np.max(np.abs(beta))) if beta.size else 0.0
            out.append(tuple(int(i) for i in np.flatnonzero(np.abs(beta) > rtol * m)))
        return out

    def entering(self) -> list[tuple[int, ...]]:
        """Per jump $k = 1..K$: the coordinates whose saddle value becomes non-zero."""
        act = self.active_sets()
        return [tuple(sorted(set(act[k]) - set(act[k - 1]))) for k in range(1, len(act))]

    def leaving(self) -> list[tuple[int, ...]]:
        """Per jump $k = 1..K$: the coordinates switched off (non-zero before, zero after)."""
        act = self.active_sets()
        return [tuple(sorted(set(act[k - 1]) - set(act[k]))) for k in range(1, len(act))]

    def evaluate(self, tau) -> np.ndarray:
        """The limit path $w(\\tau)$ at rescaled times `tau` (scalar or array): the saddle of
        the plateau containing each time (right-continuous at the jumps)."""
        tau = np.asarray(tau, dtype=np.float64)
        k = np.searchsorted(self.times, tau, side="right") - 1
        return self.saddles[np.clip(k, 0, self.num_jumps)]


def _fractions(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        if isinstance(v, Fraction):
            out[idx] = v
        elif isinstance(v, sympy.Rational):
            out[idx] = Fraction(int(v.p), int(v.q))
        else:
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise TypeError(
                    f"`{name}` holds {v!r}, which is not a number. Fix: pass integers, floats, "
                    "fractions.Fraction or sympy Rational entries."
                ) from None
            if not np.isfinite(f):
                raise ValueError(f"`{name}` contains NaN or inf. Fix: finite data only.")
            out[idx] = Fraction(v) if isinstance(v, int | np.integer) else Fraction(f)
    return out


def _check(X, y):
    Xf = np.asarray(np.asarray(X, dtype=object).astype(float))
    yf = np.asarray(np.asarray(y, dtype=object).astype(float))
    if Xf.ndim != 2 or Xf.shape[1] < 1 or Xf.shape[0] < 1:
        raise ValueError(
            f"`X` must be a matrix (n, d) with n, d >= 1; got shape {Xf.shape}. Fix: one row per "
            "data point, one column per coordinate."
        )
    if yf.shape != (Xf.shape[0],):
        raise ValueError(
            f"`y` must have shape ({Xf.shape[0]},) (one target per row of X); got {yf.shape}."
        )
    if not (np.all(np.isfinite(Xf)) and np.all(np.isfinite(yf))):
        raise ValueError("`X` or `y` contains NaN or inf. Fix: finite data only.")
    if not np.any(Xf.T @ yf != 0):
        raise ValueError(
            "X^T y = 0 (e.g. y = 0 everywhere): the flow from a vanishing initialisation never "
            "leaves w = 0, so there is no staircase. Fix: targets correlated with some column "
            "of X."
        )
    return Xf, yf


def saddle_to_saddle(
    X, y, *, exact: bool = False, max_jumps: int | None = None, rtol: float = 1e-10
) -> Staircase:
    r"""The $\alpha\to0$ limit of the depth-2 diagonal network's flow on the square loss: the
    saddles it visits and the rescaled times $\tau = t/\log(1/\alpha)$ at which it jumps.

    From $\beta_0 = 0$, $s_0 = 0$, $\tau_0 = 0$, repeat while $g = \nabla L(\beta_k) \ne 0$:

    1. $s(\tau) = s_k - 2(\tau - \tau_k)\,g$; the next jump $\tau_{k+1}$ is the first time a
       coordinate with $g_i \ne 0$ reaches $\pm1$ (all coordinates reaching it at that time
       jump together);
    2. $\beta_{k+1} = \arg\min L$ over $\operatorname{sign}\beta_i \in \{0, s_i\}$ where
       $|s_i| = 1$, $\beta_i = 0$ elsewhere (a sign-constrained least squares,
       [`sign_constrained_least_squares`][flowbias.saddles.constrained.sign_constrained_least_squares]).

    Both for $n < d$ and $n > d$; the last saddle minimises $L$ (for $n < d$, generically, the
    minimum-$\ell_1$ interpolator).

    **Arguments:**

    - `X` (n, d), `y` (n,): the data, as floats, integers, `Fraction`s or sympy Rationals.
    - `exact`: rational arithmetic throughout (floats are converted exactly, as binary
      fractions): jump times and saddles are exact and every saddle is certified with zero
      KKT violation. Cost grows fast with d; meant for small cases (d up to ~20).
    - `max_jumps`: stop with an error after this many jumps (default 10 d + 10).
    - `rtol` (float mode): gradients below `rtol` $\|X^\top y\|_\infty/n$ count as zero, and
      coordinates reaching $\pm1$ within `rtol` (relative) of the first are a tie and jump
      together.

    **Returns:** a [`Staircase`][flowbias.Staircase].

    Raises `SaddleDegeneracyError` if a saddle is not unique (linearly dependent columns),
    `ValueError` for bad data (shapes, NaN/inf, $X^\top y = 0$), `RuntimeError` if `max_jumps`
    is exceeded.

    ??? cite "Source"
        S. Pesme and N. Flammarion, *Saddle-to-saddle dynamics in diagonal linear networks*,
        NeurIPS 2023, Algorithm 1.
    """
    Xf, yf = _check(X, y)
    n, d = Xf.shape
    if max_jumps is not None and (
        isinstance(max_jumps, bool) or not isinstance(max_jumps, numbers.Integral) or max_jumps < 1
    ):
        raise ValueError(f"`max_jumps` must be a positive integer or None; got {max_jumps!r}.")
    if not (isinstance(rtol, numbers.Real) and 0 < rtol <= 1e-3):
        raise ValueError(f"`rtol` must be in (0, 1e-3]; got {rtol!r}. Fix: e.g. 1e-10.")
    max_jumps = 10 * d + 10 if max_jumps is None else int(max_jumps)
    if exact:
        Xq, yq = _fractions(X, "X"), _fractions(y, "y")
        G = (Xq.T @ Xq) / n
        b = (Xq.T @ yq) / n
        c = (yq @ yq) / (2 * n)
        zero, one = Fraction(0), Fraction(1)
        gtol, ttol = zero, zero
    else:
        G, b, c = Xf.T @ Xf / n, Xf.T @ yf / n, float(yf @ yf) / (2 * n)
        zero, one = 0.0, 1.0
        gtol = rtol * float(np.max(np.abs(b)))
        ttol = rtol

    def array(vals):
        return np.array(list(vals), dtype=object) if exact else np.asarray(vals, dtype=float)

    beta = array([zero] * d)
    s = array([zero] * d)
    signs = np.zeros(d, dtype=int)
    tau = zero
    rec_t, rec_beta, rec_sig, rec_s, rec_loss = [tau], [beta], [signs], [s], [c]
    worst = 0.0
    for _ in range(max_jumps + 1):
        g = G @ beta - b
        moving = [i for i in range(d) if abs(g[i]) > gtol]
        if not moving:
            break
        if len(rec_t) > max_jumps:
            raise RuntimeError(
                f"the staircase did not end within max_jumps = {max_jumps} jumps (the gradient "
                f"is still {float(max(abs(g[i]) for i in moving)):.3g}). Fix: raise `max_jumps`, "
                "or check the data for near-ties (exact=True resolves them exactly)."
            )
        # Coordinate i moves towards -sign(g_i), reaching it after (1 + sign(g_i) s_i) / 2|g_i|.
        hit = {i: (one + (s[i] if g[i] > 0 else -s[i])) / (2 * abs(g[i])) for i in moving}
        step = min(hit.values())
        first = [i for i in moving if hit[i] <= step * (1 + ttol)]
        s = s - 2 * step * g
        for i in first:
            s[i] = -one if g[i] > 0 else one
        tau = tau + step
        signs = np.array(
            [1 if s[i] >= one - ttol else (-1 if s[i] <= -one + ttol else 0) for i in range(d)],
            dtype=int,
        )
        for i in range(d):  # snap the boundary exactly (float mode)
            if signs[i]:
                s[i] = one * int(signs[i])
        beta = sign_constrained_least_squares(G, b, signs, exact=exact, tol=gtol)
        worst = max(worst, kkt_violation(G, b, signs, beta))
        r = G @ beta
        rec_t.append(tau)
        rec_beta.append(beta)
        rec_sig.append(signs)
        rec_s.append(s.copy())
        rec_loss.append(beta @ r / 2 - b @ beta + c)
    scale = float(np.max(np.abs(np.asarray(b, dtype=float))))

    def floats(vals):
        return np.asarray(np.asarray(vals, dtype=object).astype(float))

    return Staircase(
        times=floats(rec_t),
        saddles=floats(rec_beta).reshape(len(rec_t), d),
        signs=np.stack(rec_sig),
        duals=floats(rec_s).reshape(len(rec_t), d),
        losses=floats(rec_loss),
        kkt_violation=worst / scale,
        exact=bool(exact),
        exact_times=tuple(rec_t) if exact else None,
        exact_saddles=tuple(tuple(b_) for b_ in rec_beta) if exact else None,
    )


__all__ = ["SaddleDegeneracyError", "Staircase", "saddle_to_saddle"]
