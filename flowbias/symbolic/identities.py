"""Deciding sympy identities between closed forms."""

from __future__ import annotations

import sympy as sp


__all__ = ["zero"]


def zero(expr: sp.Expr) -> sp.Expr:
    """Simplify `expr`, trying the rewrites an identity between closed forms needs here
    (hyperbolic functions as exponentials, arcsinh as log, perfect-square radicands, expanded
    logs). Returns the simplified expression: 0 when the identity holds."""
    out = sp.simplify(expr)
    if out == 0 or sp.simplify(expr.rewrite(sp.exp)) == 0:
        return sp.S.Zero
    e = sp.expand(expr.rewrite(sp.log))
    e = e.replace(lambda x: x.is_Pow and x.exp == sp.S.Half, lambda x: sp.sqrt(sp.factor(x.base)))
    return sp.simplify(sp.expand_log(e, force=True))
