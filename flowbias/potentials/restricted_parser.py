r"""Potentials typed as text, parsed without evaluating any code.

`parse_potential("abs(w)**1.5/1.5")` reads the string with Python's `ast` module in
expression mode and builds the sympy expression node by node from a short whitelist:
numbers, the symbol `w`, the constants `pi` and `E`, the operators `+ - * / **` (and unary
`-`, `+`) and calls of the functions in `FUNCTIONS` with one positional argument. Every other
construct (attribute access, subscripts, keywords, lambdas, comprehensions, strings, any
other name) is refused with an error naming it, before anything is built; so are strings
longer than 500 characters, more than 200 nodes, and a power of two numbers whose exponent
exceeds 64 or whose value is beyond the float64 range (sympy evaluates such powers exactly:
`10**10**10` has ten billion digits).
Neither `eval` nor `sympy.sympify` ever sees the text.
"""

from __future__ import annotations

import ast

import sympy as sp


W = sp.Symbol("w", real=True)

FUNCTIONS = {
    "abs": sp.Abs,
    "sign": sp.sign,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asinh": sp.asinh,
    "arcsinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
    "arctanh": sp.atanh,
    "atan": sp.atan,
    "arctan": sp.atan,
    "cos": sp.cos,
    "sin": sp.sin,
}
_CONSTANTS = {"w": W, "pi": sp.pi, "E": sp.E}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_MAX_CHARS = 500
_MAX_NODES = 200
_MAX_NUMERIC_EXPONENT = 64
_MAX_LOG_MAGNITUDE = 700.0  # |log| of a numeric power's value, as for float64


def _refuse(what: str, text: str) -> ValueError:
    return ValueError(
        f"cannot read the potential {text!r}: {what}. A potential is an expression in `w` "
        f"built from numbers, + - * / **, pi, E and the functions {', '.join(sorted(FUNCTIONS))} "
        "(e.g. 'abs(w)**1.5/1.5'); nothing else is read, and nothing is evaluated."
    )


def _build(node: ast.AST, text: str) -> sp.Expr:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _refuse(f"the constant {node.value!r} is not a number", text)
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise _refuse(f"the name {node.id!r} is not `w`, `pi` or `E`", text)
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _build(node.operand, text)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_build(node.left, text), _build(node.right, text))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exponent = _build(node.left, text), _build(node.right, text)
        if base.is_number and exponent.is_number and base != 0:
            # sympy evaluates a power of numbers exactly: bound the size of the result.
            size = abs(float(exponent)) * abs(float(sp.log(sp.Abs(base))))
            if abs(exponent) > _MAX_NUMERIC_EXPONENT or size > _MAX_LOG_MAGNITUDE:
                raise _refuse(f"the numeric power {ast.unparse(node)} is too large", text)
        return base**exponent
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise _refuse(f"the call {ast.unparse(node.func)!r} is not an allowed function", text)
        if node.keywords or len(node.args) != 1:
            raise _refuse(f"{node.func.id} takes exactly one positional argument", text)
        return FUNCTIONS[node.func.id](_build(node.args[0], text))
    raise _refuse(f"{type(node).__name__} is not allowed", text)


def parse_potential(text: str) -> sp.Expr:
    """The sympy expression of a potential phi(w) typed as `text` (see the module
    docstring for what is accepted). Raises `ValueError` naming what was refused."""
    if not isinstance(text, str):
        raise TypeError(f"the potential must be a string; got {type(text).__name__}.")
    if len(text) > _MAX_CHARS:
        raise _refuse(f"it is longer than {_MAX_CHARS} characters", text[:40] + "...")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise _refuse(f"it is not an expression ({e.msg})", text) from None
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        raise _refuse(f"it has more than {_MAX_NODES} parts", text)
    expr = _build(tree.body, text)
    if not expr.free_symbols <= {W}:
        raise _refuse("it depends on symbols other than w", text)
    if W not in expr.free_symbols:
        raise _refuse("it does not depend on w", text)
    return expr
