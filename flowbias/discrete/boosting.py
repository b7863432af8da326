r"""AdaBoost on decision stumps: coordinate descent on the exponential loss, whose implicit bias
is the $\ell_1$ max-margin over the stumps' weights.

With features $h_j(x) \in \{-1, +1\}$ (rows of $H$, $H_{ij} = h_j(x_i)$) and weights $w$,
AdaBoost minimises $L(w) = \frac1n\sum_i e^{-y_i (Hw)_i}$ one coordinate at a time: with
$D \propto e^{-y \odot Hw}$ the current distribution over the data, it picks the feature of
largest edge $|r_j|$, $r_j = \sum_i D_i y_i H_{ij}$, and moves its weight by
$\nu\cdot\frac12\log\frac{1 + r_j}{1 - r_j}$ (the exact line search, shrunk by $\nu \in (0, 1]$).
Its normalised margin is $\min_i y_i (Hw)_i / \|w\|_1$; the largest possible is the value of
the linear program $\max_{\|w\|_1 \le 1}\min_i y_i(Hw)_i$
([`lp_max_margin`][flowbias.lp_max_margin] with $p = 1$). It is the $p \to 1$ end of
[`SteepestDescentFlow`][flowbias.SteepestDescentFlow].
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import as_data, as_float_array, check_int


class Stumps(eqx.Module):
    r"""Decision stumps $h_j(x) = \operatorname{sign}(x_{k_j} - b_j)$ (with $+1$ at equality).

    `Stumps.from_data(X)` puts a threshold between each
    pair of consecutive distinct values of every feature: every labelling a stump can make
    of the data, once.

    **Fields:** `feature` $k_j$, `threshold` $b_j$.
    """

    feature: Int[Array, " m"]
    threshold: Float[Array, " m"]

    @classmethod
    def from_data(cls, X: ArrayLike) -> "Stumps":
        X = np.asarray(as_float_array(X, "X", ndim=2))
        features, thresholds = [], []
        for k in range(X.shape[1]):
            v = np.unique(X[:, k])
            mids = 0.5 * (v[1:] + v[:-1])
            features.extend([k] * mids.size)
            thresholds.extend(mids.tolist())
        if not thresholds:
            raise ValueError("`X` has no feature with two distinct values: no stump splits it.")
        return cls(jnp.asarray(features), jnp.asarray(thresholds))

    def __call__(self, X: Float[Array, "n d"]) -> Float[Array, "n m"]:
        """$H_{ij} = h_j(x_i) \\in \\{-1, +1\\}$."""
        return jnp.where(X[:, self.feature] >= self.threshold, 1.0, -1.0)


class BoostingPath(eqx.Module):
    r"""The saved iterates of [`adaboost`][flowbias.discrete.adaboost].

    **Fields:** `rounds` (the saved round counts), `w` (the weights, one row per save),
    `l1_margin` ($\min_i y_i(Hw)_i/\|w\|_1$; NaN at $w = 0$), `log_loss` ($\log L(w)$),
    `shrinkage` $\nu$.
    """

    rounds: Int[Array, " k"]
    w: Float[Array, "k m"]
    l1_margin: Float[Array, " k"]
    log_loss: Float[Array, " k"]
    shrinkage: Float[Array, ""]


@eqx.filter_jit
def _boost(H, y, shrinkage, num_saves: int, save_every: int):
    n, m = H.shape
    Z = y[:, None] * H
    # An edge of exactly one (a stump that fits every point) would take an infinite step.
    r_max = 1.0 - 1e-12

    def one_round(_, w):
        q = -(Z @ w)
        D = jax.nn.softmax(q)
        edges = D @ Z
        j = jnp.argmax(jnp.abs(edges))
        r = jnp.clip(edges[j], -r_max, r_max)
        return w.at[j].add(shrinkage * 0.5 * (jnp.log1p(r) - jnp.log1p(-r)))

    def save(w, _):
        w = jax.lax.fori_loop(0, save_every, one_round, w)
        margins = Z @ w
        norm = jnp.sum(jnp.abs(w))
        log_loss = jax.nn.logsumexp(-margins) - jnp.log(n)
        return w, (w, jnp.min(margins) / norm, log_loss)

    w0 = jnp.zeros(m, H.dtype)
    _, (W, margin, log_loss) = jax.lax.scan(save, w0, None, length=num_saves)
    return W, margin, log_loss


def adaboost(
    H: ArrayLike,
    y: ArrayLike,
    num_rounds: int,
    *,
    shrinkage: float | ArrayLike = 1.0,
    save_every: int = 1,
) -> BoostingPath:
    r"""AdaBoost on the features $H$ (entries $\pm1$, e.g. `Stumps.from_data(X)(X)`) with
    labels $y$, from $w = 0$, for `num_rounds` rounds (one jitted scan; $H$, $y$ and the
    shrinkage are arguments, so another shrinkage reuses the compiled program).

    With exact line searches ($\nu = 1$) AdaBoost need not reach the $\ell_1$ max-margin
    (Rudin, Daubechies & Schapire 2004); with shrinkage $\nu \to 0$ its margin tends to it
    (Zhang & Yu 2005; Telgarsky 2013), the behaviour of coordinate descent's flow.

    **Arguments:**

    - `H`: features, shape `(n, m)`, entries $\pm 1$. `y`: labels $\pm 1$, shape `(n,)`.
    - `num_rounds`: the number of rounds, a multiple of `save_every`.
    - `shrinkage`: $\nu \in (0, 1]$.
    - `save_every`: save every this many rounds.

    **Returns:** a [`BoostingPath`][flowbias.discrete.BoostingPath].

    ??? cite "References"
        Freund & Schapire, *A Decision-Theoretic Generalization of On-Line Learning and an
        Application to Boosting*, JCSS 1997; Rudin, Daubechies & Schapire, *The Dynamics of
        AdaBoost: Cyclic Behavior and Convergence of Margins*, JMLR 2004; Zhang & Yu, *Boosting
        with Early Stopping: Convergence and Consistency*, Ann. Statist. 2005; Telgarsky,
        *Margins, Shrinkage, and Boosting*, ICML 2013.
    """
    H, y = as_data(H, y, labels=True)
    if not bool(jnp.all(jnp.abs(H) == 1.0)):
        raise ValueError(
            "`H` must hold features with values +1 or -1. Fix: e.g. H = Stumps.from_data(X)(X)."
        )
    num_rounds = check_int(num_rounds, "num_rounds", minimum=1, fix="e.g. num_rounds=1000.")
    save_every = check_int(save_every, "save_every", minimum=1, fix="e.g. save_every=10.")
    if num_rounds % save_every:
        raise ValueError(
            f"`num_rounds` ({num_rounds}) must be a multiple of `save_every` ({save_every})."
        )
    nu = as_float_array(shrinkage, "shrinkage", ndim=0)
    if not 0 < float(nu) <= 1:
        raise ValueError(f"`shrinkage` must be in (0, 1]; got {float(nu)}. Fix: e.g. 0.1.")
    num_saves = num_rounds // save_every
    W, margin, log_loss = _boost(H, y, nu, num_saves, save_every)
    rounds = jnp.arange(1, num_saves + 1) * save_every
    return BoostingPath(rounds=rounds, w=W, l1_margin=margin, log_loss=log_loss, shrinkage=nu)
