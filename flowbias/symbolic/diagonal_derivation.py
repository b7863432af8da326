r"""Symbolic derivation (sympy) of the mirror structure of diagonal linear networks.

Model, coordinate-wise: $w = u^D - v^D$ (untied) or $w = u^D$ (tied, $w > 0$), depth
$D \ge 2$, initialisation $u(0) = u_0 > 0$, $v(0) = v_0 > 0$. Gradient flow on $(u, v)$ of a
loss $L(w)$ with $g = \partial L / \partial w$ gives $\dot u = -D u^{D-1} g$,
$\dot v = +D v^{D-1} g$. With the *integrated gradient* $\xi(t) = -\int_0^t g$,

$$\frac{du}{d\xi} = D u^{D-1}, \qquad \frac{dv}{d\xi} = -D v^{D-1},$$

so $w = h(\xi)$ for an explicit coordinate-wise **link** $h$:

| depth | $u(\xi)$ | link $h(\xi)$ |
| --- | --- | --- |
| $D = 2$ | $u_0 e^{2\xi}$ | $u_0^2 e^{4\xi} - v_0^2 e^{-4\xi}$ ($2\alpha^2\sinh 4\xi$ uniform) |
| $D \ge 3$ | $(u_0^{2-D} - D(D-2)\xi)^{-1/(D-2)}$ | $u^D - v^D$, $v(\xi) = u(-\xi)$ at $v_0$ |

Then $h' = D^2(u^{2D-2} + v^{2D-2}) > 0$, the **dual potential** is elementary for every depth,
$H(\psi) = \int_0^\psi h = (u^2 - u_0^2 + v^2 - v_0^2)/(2D)$ (because $d(u^2)/d\xi = 2D u^D$),
and the **mirror potential** $\phi$ with $\phi' = h^{-1}$, $\phi(w_0) = 0$, $w_0 = h(0)$, obeys
the Legendre identity $\phi(h(\psi)) = \psi h(\psi) - H(\psi)$. $\phi$ is closed-form for
$D = 2$ and for the tied model; for untied $D \ge 3$ only the parametric (Legendre) form is
elementary (`legendre=True`). The flow limit is $\arg\min \sum_i \phi(w_i)$ s.t. $Xw = y$.

Normalisation: for $D = 2$, uniform $u_0 = v_0 = \alpha$,
$\phi(w) = \frac{\alpha^2}{4} q(w/\alpha^2)$ with Woodworth et al.'s
$q(z) = 2 - \sqrt{4 + z^2} + z\,\mathrm{arcsinh}(z/2)$; in general
$\phi = \frac{u_0 v_0}{4} q\big(\tfrac{w}{u_0 v_0}\big) - \frac{w}{4}\log\frac{u_0}{v_0}
+ \frac{(u_0 - v_0)^2}{4}$. Tied $D = 2$: $\phi = \frac14(w \log(w/\alpha^2) - w + \alpha^2)$.

??? cite "Sources"
    - B. Woodworth, S. Gunasekar, J. Lee, E. Moroshko, P. Savarese, I. Golan, D. Soudry,
      N. Srebro. *Kernel and rich regimes in overparametrized models*, COLT 2020
      (depth 2 and depth $D$ links, $q$, the $\alpha \to 0$ / $\alpha \to \infty$ limits).
    - S. Azulay, E. Moroshko, M. S. Nacson, B. Woodworth, N. Srebro, A. Globerson, D. Soudry.
      *On the implicit bias of initialization shape*, ICML 2021 (vector $u_0, v_0$).
    - *Foundations of Deep Learning*, ch. 7, "Diagonal linear models" (lecture notes, NYU
      Tandon, Spring 2022): the tied model and its
      $w \log(w/\alpha^2) - w$ potential.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers

import sympy as sp

from .identities import zero
from .regime_limits import RegimeLimit, regime_limits


__all__ = ["DerivationStep", "DiagonalDerivation", "check_depth", "derive_diagonal", "zero"]


def check_depth(depth) -> int:
    """`depth` as a Python int >= 2, or a ValueError that names it and says how to fix it."""
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or int(depth) < 2:
        raise ValueError(
            f"`depth` must be an integer >= 2 (the number of factors D in w = u^D - v^D); "
            f"got {depth!r}. Fix: pass depth=2 for the usual two-layer diagonal network, or an "
            "integer D >= 3 for a deeper one."
        )
    return int(depth)


@dataclasses.dataclass(frozen=True)
class DerivationStep:
    """One displayable step: a title and an equation (or expression)."""

    title: str
    equation: sp.Basic

    def latex(self) -> str:
        return sp.latex(self.equation)


@dataclasses.dataclass(frozen=True)
class DiagonalDerivation:
    r"""The derived expressions for one (depth, tied) pair; build it with
    [`derive_diagonal`][flowbias.symbolic.derive_diagonal].

    Expressions are in the symbols `xi` ($\xi$), `psi` ($\psi$, the dual variable at which the
    link is evaluated), `w`, `u0`, `v0` (positive) and `alpha` (uniform scale; use
    [`uniform`][flowbias.symbolic.DiagonalDerivation.uniform]). For the tied model the `v`
    fields are None and `w` is a positive symbol.
    """

    depth: int
    tied: bool
    xi: sp.Symbol
    psi: sp.Symbol
    w: sp.Symbol
    u0: sp.Symbol
    v0: sp.Symbol
    alpha: sp.Symbol
    separated: sp.Eq  # the separated-variables equation for u
    u: sp.Expr
    v: sp.Expr | None
    link: sp.Expr  # h(xi)
    link_derivative: sp.Expr  # h'(xi)
    w0: sp.Expr  # h(0)
    domain: tuple[sp.Expr, sp.Expr]  # open interval of admissible xi
    invariant: sp.Expr | None  # conserved along the flow (untied only)
    inverse_link: sp.Expr | None  # h^{-1}(w) where elementary
    dual_potential: sp.Expr  # H(psi) = int_0^psi h
    potential: sp.Expr | None  # phi(w) where elementary
    potential_parametric: sp.Expr  # phi(h(psi)) = psi h(psi) - H(psi)
    legendre: bool  # True when phi is only available through the Legendre identity

    def at(self, expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
        """`expr` (written in `xi`) with `xi` replaced by `var`."""
        return expr.subs(self.xi, var)

    def uniform(self, expr: sp.Expr) -> sp.Expr:
        """`expr` at the uniform initialisation u0 = v0 = alpha."""
        return expr.subs({self.u0: self.alpha, self.v0: self.alpha})

    def verify(self) -> dict[str, sp.Expr]:
        """Simplified residuals of every identity the derivation relies on; all are 0."""
        D, xi, psi, w = self.depth, self.xi, self.psi, self.w
        h_psi = self.at(self.link, psi)
        res = {
            "ode_u": self.u.diff(xi) - D * self.u ** (D - 1),
            "init_u": self.u.subs(xi, 0) - self.u0,
            "link_derivative": self.link.diff(xi) - self.link_derivative,
            "dual_potential_derivative": self.dual_potential.diff(psi) - h_psi,
            "dual_potential_at_0": self.dual_potential.subs(psi, 0),
            "legendre_derivative": self.potential_parametric.diff(psi)
            - psi * self.at(self.link_derivative, psi),
            "legendre_at_0": self.potential_parametric.subs(psi, 0),
        }
        if not self.tied:
            res["ode_v"] = self.v.diff(xi) + D * self.v ** (D - 1)
            res["init_v"] = self.v.subs(xi, 0) - self.v0
            res["invariant"] = self.invariant.diff(xi)
        if self.inverse_link is not None:
            res["inverse_of_link"] = self.at(self.link, self.inverse_link) - w
            res["inverse_at_w0"] = self.inverse_link.subs(w, self.w0)
        if self.potential is not None:
            res["potential_gradient"] = self.potential.diff(w) - self.inverse_link
            res["potential_at_w0"] = self.potential.subs(w, self.w0)
            res["potential_legendre"] = self.potential - (
                w * self.inverse_link - self.dual_potential.subs(psi, self.inverse_link)
            )
        return {k: zero(v) for k, v in res.items()}

    @functools.cached_property
    def regime_limits(self) -> tuple[RegimeLimit, RegimeLimit]:
        """The small- and large-alpha limits at the uniform initialisation (sympy `limit`)."""
        u = self.uniform
        return regime_limits(
            depth=self.depth,
            tied=self.tied,
            alpha=self.alpha,
            w=self.w,
            psi=self.psi,
            xi=self.xi,
            potential=None if self.potential is None else u(self.potential),
            link=u(self.link),
            dual_potential=u(self.dual_potential),
            potential_parametric=u(self.potential_parametric),
        )

    def steps(self) -> list[DerivationStep]:
        """The derivation, step by step, for display (e.g. in a notebook)."""
        D, xi, psi, w = self.depth, self.xi, self.psi, self.w
        uf, vf, hf, Hf, phif = (sp.Function(n) for n in ("u", "v", "h", "H", "phi"))
        out = [
            DerivationStep(
                "Gradient flow in the integrated gradient xi",
                sp.Eq(sp.Derivative(uf(xi), xi), D * uf(xi) ** (D - 1)),
            ),
            DerivationStep("Separate variables", self.separated),
            DerivationStep("Solution", sp.Eq(uf(xi), self.u)),
        ]
        if not self.tied:
            out += [
                DerivationStep("Same for v (sign of g flipped)", sp.Eq(vf(xi), self.v)),
                DerivationStep(
                    "Conserved along the flow", sp.Eq(self.invariant, self.invariant.subs(xi, 0))
                ),
            ]
        out += [
            DerivationStep("Link w = h(xi)", sp.Eq(hf(xi), self.link)),
            DerivationStep(
                "Slope of the link", sp.Eq(sp.Derivative(hf(xi), xi), self.link_derivative)
            ),
            DerivationStep("Domain of xi", sp.Interval.open(*self.domain)),
            DerivationStep("Dual potential H = int_0^psi h", sp.Eq(Hf(psi), self.dual_potential)),
        ]
        if self.inverse_link is not None:
            inv = sp.Eq(sp.Function("h^{-1}")(w), self.inverse_link)
            out.append(DerivationStep("Inverse link", inv))
        if self.potential is not None:
            pot = sp.Eq(phif(w), self.potential)
            out.append(DerivationStep("Mirror potential phi' = h^{-1}, phi(w0) = 0", pot))
        out.append(
            DerivationStep(
                "Legendre identity phi(h(psi)) = psi h(psi) - H(psi)",
                sp.Eq(phif(hf(psi)), self.potential_parametric),
            )
        )
        for lim in self.regime_limits:
            out.append(DerivationStep(lim.statement, lim.equation()))
        return out

    def latex(self) -> str:
        """All steps as one LaTeX `aligned` block."""
        rows = [rf"&\text{{{s.title}}}: && {s.latex()}" for s in self.steps()]
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def _repr_markdown_(self) -> str:
        kind = "tied $w = u^D$" if self.tied else "untied $w = u^D - v^D$"
        lines = [f"**Diagonal network, depth D = {self.depth}, {kind}**", ""]
        lines += [f"1. {s.title}: $\\displaystyle {s.latex()}$" for s in self.steps()]
        return "\n".join(lines)


def _solve_factor(D: int, xi: sp.Symbol, u0: sp.Symbol) -> tuple[sp.Eq, sp.Expr]:
    """Separate du/dxi = D u^(D-1) and solve for u(xi) with u(0) = u0 (u > 0)."""
    U = sp.Symbol("U", positive=True)
    lhs = sp.integrate(U ** (1 - D), (U, u0, U))
    separated = sp.Eq(lhs, D * xi)
    if D == 2:  # log(U/u0) = 2 xi
        (sol,) = sp.solve(separated, U)
        return separated, sol
    # the separated equation is linear in Y = U^(2-D) > 0
    Y = sp.Symbol("Y", positive=True)
    (y_sol,) = sp.solve(separated.subs(U, Y ** sp.Rational(1, 2 - D)), Y)
    return separated, sp.expand(y_sol) ** sp.Rational(-1, D - 2)


@functools.cache
def derive_diagonal(depth: int, *, tied: bool = False) -> DiagonalDerivation:
    """Derive link, inverse, dual potential and mirror potential of a depth-`depth` diagonal
    network (untied `w = u^D - v^D`, or tied `w = u^D`). Cached per (depth, tied)."""
    D = check_depth(depth)
    tied = bool(tied)
    xi, psi = sp.symbols("xi psi", real=True)
    w = sp.Symbol("w", positive=True) if tied else sp.Symbol("w", real=True)
    u0, v0, alpha = sp.symbols("u_0 v_0 alpha", positive=True)
    k = D * (D - 2)

    separated, u = _solve_factor(D, xi, u0)
    v = None if tied else _solve_factor(D, xi, v0)[1].subs(xi, -xi)
    link = u**D if tied else u**D - v**D
    link_derivative = D**2 * u ** (2 * D - 2) + (0 if tied else D**2 * v ** (2 * D - 2))
    w0 = link.subs(xi, 0)
    if D == 2:
        lo, hi = -sp.oo, sp.oo
    else:
        hi = u0 ** (2 - D) / k
        lo = -sp.oo if tied else -(v0 ** (2 - D)) / k
    invariant = None if tied else (u * v if D == 2 else u ** (2 - D) + v ** (2 - D))
    # H(psi) = int_0^psi h, since d(u^2)/dxi = 2 D u^D and d(v^2)/dxi = -2 D v^D
    sq = u**2 - u0**2 + (0 if tied else v**2 - v0**2)
    dual_potential = (sq / (2 * D)).subs(xi, psi)
    h_psi = link.subs(xi, psi)
    potential_parametric = psi * h_psi - dual_potential

    inverse_link = potential = None
    if tied:  # w = u^D  <=>  u^(2-D) = w^((2-D)/D)  (D >= 3), log u = log(w)/2 (D = 2)
        if D == 2:
            eq = sp.Eq(sp.log(u.subs(xi, psi)), sp.log(w) / 2)
        else:
            eq = sp.Eq(u.subs(xi, psi) ** (2 - D), w ** sp.Rational(2 - D, D))
        (inverse_link,) = sp.solve(eq, psi)
        inverse_link = sp.expand(sp.expand_log(inverse_link, force=True))
    elif D == 2:  # X = e^(4 psi) > 0 solves u0^2 X - v0^2 / X = w; written with asinh
        X = sp.Symbol("X", positive=True)
        roots = sp.solve(sp.Eq(u0**2 * X - v0**2 / X, w), X)
        (root,) = [r for r in roots if r.subs(w, 0).is_positive]
        inverse_log = sp.log(root) / 4
        inverse_link = (sp.asinh(w / (2 * u0 * v0)) - sp.log(u0 / v0)) / 4
        assert zero(inverse_log - inverse_link) == 0
    if inverse_link is not None:
        s = sp.Symbol("s", positive=True) if tied else sp.Symbol("s", real=True)
        antiderivative = sp.integrate(inverse_link.subs(w, s), s)
        potential = sp.expand(antiderivative.subs(s, w)) - zero(antiderivative.subs(s, w0))
    return DiagonalDerivation(
        depth=D,
        tied=tied,
        xi=xi,
        psi=psi,
        w=w,
        u0=u0,
        v0=v0,
        alpha=alpha,
        separated=separated,
        u=u,
        v=v,
        link=link,
        link_derivative=link_derivative,
        w0=w0,
        domain=(lo, hi),
        invariant=invariant,
        inverse_link=inverse_link,
        dual_potential=dual_potential,
        potential=potential,
        potential_parametric=potential_parametric,
        legendre=potential is None,
    )
