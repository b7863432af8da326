r"""Rich (alpha -> 0) and kernel (alpha -> infinity) limits of the diagonal mirror potential,
derived with sympy `limit` at the uniform initialisation $u_0 = v_0 = \alpha$.

With our normalisation ($\phi' = h^{-1}$, $\phi(w_0) = 0$, $Q = \sum_i \phi(w_i)$):

| model | $\alpha \to 0$ | $\alpha \to \infty$ |
| --- | --- | --- |
| untied $D = 2$ | $Q/N_2 \to \lVert w\rVert_1$ | $\alpha^2 Q \to \lVert w\rVert^2/16$ |
| untied $D \ge 3$ | $Q/N_D \to \lVert w\rVert_1$ | $\alpha^{2D-2} Q \to \lVert w\rVert^2/(4D^2)$ |
| tied $D = 2$ | $Q/N_2 \to \sum_i w_i$ | $\alpha^2 Q(\alpha^2+\Delta) \to \lVert\Delta\rVert^2/8$ |
| tied $D \ge 3$ | $Q/N_D \to \sum_i w_i$ | $\alpha^{2D-2}Q(\alpha^D+\Delta)\to\Delta^2/(2D^2)$ |

with $N_2 = \tfrac14\log(1/\alpha^2)$ and $N_D = \alpha^{2-D}/(D(D-2))$ for $D \ge 3$.
(Woodworth et al. state $Q_\alpha/\log(1/\alpha^2) \to \lVert w\rVert_1$ and
$\alpha^2 Q_\alpha \to \lVert w \rVert^2/4$ for their $Q_\alpha = \alpha^2 \sum q(w_i/\alpha^2)$,
which is $4\times$ ours.) The large-$\alpha$ constant is $1/(2h'(0))$, $h'(0) = D^2(u_0^{2D-2} +
v_0^{2D-2})$; the small-$\alpha$ normaliser $\alpha^{2-D}/(D(D-2))$ is the edge $\xi_{\max}$ of the
link's domain, which tends to $\tfrac14\log\alpha^{-2}$-type growth as $D \to 2$. For depth
$D \ge 3$ the rich limit is approached at a power rate
($\alpha^{D-2}\phi(w) = \frac{|w|}{D(D-2)} - \frac{\alpha^{D-2}|w|^{2/D}}{2(D-2)} + \dots$) rather
than $1/\log(1/\alpha)$: the sharper transition with depth.

For untied $D \ge 3$, $\phi$ has no closed form; we use the scaling law
$h(\xi;\alpha) = \alpha^D h_1(\alpha^{D-2}\xi)$, $H(\psi; \alpha) = \alpha^2 H_1(\alpha^{D-2}\psi)$
(verified symbolically), hence $\phi(w; \alpha) = \alpha^2 \phi_1(w/\alpha^D)$, and take the limits
of $\phi_1(z)/z$ ($z \to \infty$, i.e. $\psi \to \xi_{\max}$) and $\phi_1(z)/z^2$ ($z \to 0$) in
the Legendre parametrisation $\phi_1(h_1(\psi)) = \psi h_1(\psi) - H_1(\psi)$.

??? cite "Sources"
    - B. Woodworth et al., *Kernel and rich regimes in overparametrized models*, COLT 2020
      (the depth-2 limits and the depth-$D$ section).
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from .identities import zero


__all__ = ["RegimeLimit", "regime_limits"]


@dataclasses.dataclass(frozen=True)
class RegimeLimit:
    """`lim phi(argument) / normaliser = limit` as alpha -> `to` (0 or oo), per coordinate."""

    to: sp.Basic  # sp.S.Zero or sp.oo
    argument: sp.Expr  # where phi is evaluated: w, or alpha^D + Delta for the tied kernel regime
    normaliser: sp.Expr  # function of alpha
    limit: sp.Expr
    statement: str

    def equation(self) -> sp.Eq:
        alpha = next(iter(s for s in self.normaliser.free_symbols if s.name == "alpha"))
        ratio = sp.Function("phi")(self.argument) / self.normaliser
        return sp.Eq(sp.Limit(ratio, alpha, self.to), self.limit)


def _check(ok: bool, what: str) -> None:
    if not ok:  # pragma: no cover - guards the derivation itself
        raise AssertionError(f"regime-limit derivation: {what} failed to simplify to 0")


def regime_limits(
    *,
    depth: int,
    tied: bool,
    alpha: sp.Symbol,
    w: sp.Symbol,
    psi: sp.Symbol,
    xi: sp.Symbol,
    potential: sp.Expr | None,
    link: sp.Expr,
    dual_potential: sp.Expr,
    potential_parametric: sp.Expr,
) -> tuple[RegimeLimit, RegimeLimit]:
    """Small- and large-alpha limits of the per-coordinate potential. Every expression is
    given at the uniform initialisation u0 = v0 = alpha (the potential in `w`, the link in
    `xi`, the dual potential and the Legendre-parametrised potential in `psi`)."""
    D, a = depth, alpha
    wp = sp.Symbol("w", positive=True)
    delta = sp.Symbol("Delta", real=True)
    small_norm = sp.log(1 / a**2) / 4 if D == 2 else a ** (2 - D) / (D * (D - 2))
    large_norm = a ** (2 - 2 * D)
    if tied:
        phi = potential
        small = sp.limit(phi.subs(w, wp) / small_norm, a, 0, "+").subs(wp, w)
        arg = a**D + delta
        large = sp.limit(phi.subs(w, arg) / large_norm, a, sp.oo)
        return (
            RegimeLimit(sp.S.Zero, w, small_norm, small, "Rich limit (alpha -> 0): l1, w > 0"),
            RegimeLimit(sp.oo, arg, large_norm, sp.factor(large), "Kernel limit at w0 = alpha^D"),
        )
    if D == 2:
        phi = potential
        _check(zero(phi.subs(w, -w) - phi) == 0, "evenness of phi")
        small = sp.limit(phi.subs(w, wp) / small_norm, a, 0, "+")
        large = sp.limit(phi / large_norm, a, sp.oo)
    else:
        s = sp.Symbol("s", real=True)
        h1 = link.subs(a, 1)
        h = link
        _check(zero(h.subs(xi, a ** (2 - D) * s) - a**D * h1.subs(xi, s)) == 0, "link scaling")
        H = dual_potential
        H1 = H.subs(a, 1)
        _check(zero(H.subs(psi, a ** (2 - D) * s) - a**2 * H1.subs(psi, s)) == 0, "H scaling")
        P1 = potential_parametric.subs(a, 1)
        _check(zero(P1.subs(psi, -psi) - P1) == 0, "evenness of phi")
        h1 = h1.subs(xi, psi)
        edge = sp.Rational(1, D * (D - 2))  # sup of the domain at alpha = 1
        # alpha^(D-2) phi(w) = w phi1(z)/z with z = w/alpha^D -> oo, i.e. psi -> edge
        small = wp * sp.limit(P1 / h1, psi, edge, "-") / (a ** (D - 2) * small_norm)
        # alpha^(2D-2) phi(w) = w^2 phi1(z)/z^2 with z -> 0, i.e. psi -> 0
        large = w**2 * sp.limit(P1 / h1**2, psi, 0)
    small = sp.simplify(small).subs(wp, sp.Abs(w))
    return (
        RegimeLimit(sp.S.Zero, w, small_norm, small, "Rich limit (alpha -> 0): l1"),
        RegimeLimit(sp.oo, w, large_norm, sp.factor(large), "Kernel limit (alpha -> oo): l2"),
    )
