"""The error a reference solver raises when it cannot certify its own answer."""


class LimitError(RuntimeError):
    """A reference solver did not certify its answer (its KKT residual was too large)."""
