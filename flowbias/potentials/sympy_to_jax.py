"""A sympy expression of one variable compiled to a JAX function, node by node (no strings,
no `lambdify`): the derivatives sympy produces for potentials use a small vocabulary."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import sympy as sp


_UNARY: dict[type, Callable] = {
    sp.Abs: jnp.abs,
    sp.sign: jnp.sign,
    sp.exp: jnp.exp,
    sp.log: jnp.log,
    sp.sinh: jnp.sinh,
    sp.cosh: jnp.cosh,
    sp.tanh: jnp.tanh,
    sp.asinh: jnp.arcsinh,
    sp.acosh: jnp.arccosh,
    sp.atanh: jnp.arctanh,
    sp.atan: jnp.arctan,
    sp.cos: jnp.cos,
    sp.sin: jnp.sin,
    # Derivatives of |w| and sign(w) at the single point w = 0: a measure-zero set on which
    # the flow never rests; their value there is taken as 0 (DiracDelta) and 1/2 (Heaviside).
    sp.DiracDelta: jnp.zeros_like,
    sp.Heaviside: lambda x: jnp.heaviside(x, 0.5),
}


def _compile(expr: sp.Expr, symbol: sp.Symbol) -> Callable:
    if expr == symbol:
        return lambda w: w
    if expr.is_number:
        value = complex(expr)
        if value.imag != 0:
            raise ValueError(f"the potential has a complex constant {expr}.")
        return lambda w, v=value.real: jnp.full_like(w, v)
    if isinstance(expr, sp.Add):
        parts = [_compile(a, symbol) for a in expr.args]
        return lambda w: sum(f(w) for f in parts)
    if isinstance(expr, sp.Mul):
        parts = [_compile(a, symbol) for a in expr.args]

        def product(w):
            out = parts[0](w)
            for f in parts[1:]:
                out = out * f(w)
            return out

        return product
    if isinstance(expr, sp.Pow):
        base = _compile(expr.base, symbol)
        if expr.exp.is_Integer:
            k = int(expr.exp)
            return lambda w: base(w) ** k
        if expr.exp.is_number:
            e = float(expr.exp)
            return lambda w: jnp.power(base(w), e)
        exponent = _compile(expr.exp, symbol)
        return lambda w: jnp.power(base(w), exponent(w))
    for kind, fn in _UNARY.items():
        if isinstance(expr, kind) and len(expr.args) == 1:
            inner = _compile(expr.args[0], symbol)
            return lambda w, fn=fn, inner=inner: fn(inner(w))
    raise ValueError(
        f"cannot compile {type(expr).__name__} ({expr}) to JAX. Fix: write the potential with "
        "elementary functions, or pass a JAX function to fb.FunctionPotential."
    )


def to_jax(expr: sp.Expr, symbol: sp.Symbol) -> Callable:
    """`expr` as an entrywise JAX function of one array argument standing for `symbol`."""
    f = _compile(expr, symbol)
    return lambda w: f(jnp.asarray(w))
