r"""Compiled (JAX, float64) mirror maps of diagonal linear networks of any depth.

[`DiagonalMirror`][flowbias.symbolic.DiagonalMirror] evaluates, coordinate-wise, the objects
derived in [`derive_diagonal`][flowbias.symbolic.derive_diagonal]:

| method | maths | note |
| --- | --- | --- |
| `link(xi)` | $w = h(\xi)$ | $h(0) = w_0 = u_0^D - v_0^D$ ($u_0^D$ tied) |
| `hessian_diag(xi)` | $h'(\xi) = D^2(u^{2D-2} + v^{2D-2})$ | alias `link_derivative` |
| `factors(xi)` | $(u(\xi), v(\xi))$ | the parameters on the path |
| `inverse_link(w)` | $\psi = h^{-1}(w) = \nabla Q(w)$ | Newton for untied $D \ge 3$ |
| `dual_potential(xi)` | $\sum_i H(\xi_i)$, $H(\psi) = \int_0^\psi h$ | $\nabla = h$ |
| `potential(w)` | $Q(w) = \sum_i \phi(w_i)$, $\phi' = h^{-1}$, $\phi(w_0) = 0$ | $\ge 0$ |
| `potential_hessian_diag(w)` | $\phi''(w) = 1/h'(h^{-1}(w))$ | |

$\xi$ is the integrated gradient $-\int_0^t \nabla_w L$ ($= X^\top\nu$ for linear models); the
flow is $w(t) = h(\xi(t))$, i.e. the mirror flow $\frac{d}{dt}\nabla Q(w) = -\nabla L(w)$, and its
limit is $\arg\min Q$ s.t. $Xw = y$. Uniform depth 2:
$h(\xi) = 2\alpha^2\sinh 4\xi$, $\phi(w) = \frac{\alpha^2}{4}q(w/\alpha^2)$ (Woodworth et al.'s
$q$); tied depth 2: $\phi(w) = \frac14(w\log(w/\alpha^2) - w + \alpha^2)$.

**Domains.** Depth 2: all real $\xi$. Depth $D \ge 3$: $\xi_{\min} < \xi < \xi_{\max}$
([`domain`][flowbias.symbolic.DiagonalMirror.domain]) with $\xi_{\max} = 1/(D(D-2)u_0^{D-2})$
(pole of $u$), $\xi_{\min} = -1/(D(D-2)v_0^{D-2})$ ($-\infty$ tied). Tied: $w > 0$ for
`inverse_link`, $w \ge 0$ for `potential` ($\phi(0) = u_0^2/(2D)$ is the boundary value). With
concrete inputs a violation raises `ValueError`; under `jit`/`vmap` it yields inf/NaN.

**Numerics.** Every quantity is a sum of per-factor terms in the factor exponent $x$
([`stable_kernels`][flowbias.symbolic.stable_kernels]): no cancellation near $\xi = 0$
($w/\alpha^D = 10^{-8}$, $\alpha = 10^3$), powers of $u_0$ taken directly (no over/underflow
or lost digits at $\alpha = 10^{-30}$, as long as $\alpha^{\pm D}$ and $\alpha^{2D-2}$ are normal
floats). Measured against 50-digit mpmath: relative error below $10^{-14}$ at the uniform shape
(see `tests/test_symbolic.py`). Near a root $w \approx w_0 \ne 0$ of a non-uniform shape the
problem itself is ill-conditioned; errors are then small in the backward sense.

??? cite "Sources"
    - B. Woodworth et al., *Kernel and rich regimes in overparametrized models*, COLT 2020.
    - S. Azulay et al., *On the implicit bias of initialization shape*, ICML 2021.
    - *Foundations of Deep Learning*, ch. 7 "Implicit regularization", section "Diagonal
      linear models" (lecture notes, NYU Tandon, Spring 2022): the tied model.
"""

from __future__ import annotations

import numbers

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_float_array, as_positive_scalar, is_concrete
from .diagonal_derivation import check_depth
from .implicit_inverse import domain_bounds, solve_untied_inverse
from .stable_kernels import (
    dual_factor,
    expm1,
    factor_exponent,
    log_ratio,
    potential_factor,
    stable_asinh,
)


__all__ = ["DiagonalMirror"]


def _positive_vector(x, name: str) -> Float[Array, " d"]:
    arr = as_float_array(x, name, ndim=1)
    if arr.shape[0] == 0:
        raise ValueError(f"`{name}` is empty; need one initial value per coordinate (d >= 1).")
    if is_concrete(arr) and not bool(np.all(np.asarray(arr) > 0)):
        i = int(np.argmax(~(np.asarray(arr) > 0)))
        raise ValueError(
            f"`{name}` must be > 0 in every coordinate; got {float(arr[i])!r} at index {i}. "
            f"Fix: initialise with a positive scale, e.g. `{name}=alpha * ones(d)`."
        )
    return arr


def _check_range(x, name: str, depth: int) -> None:
    """The maps use u0^D, u0^(2D-2) and their inverses as float64 numbers: refuse initial
    values whose powers underflow or overflow (the flow would be computed as if u0 = 0)."""
    if not is_concrete(x):
        return
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    p = 2 * depth - 2
    lo = float(np.finfo(np.float64).tiny) ** (1.0 / p)
    hi = float(np.finfo(np.float64).max) ** (1.0 / p)
    if np.any((x < lo) | (x > hi)):
        bad = float(x[np.argmax((x < lo) | (x > hi))])
        what = f"= {bad:.3g} is" if x.size == 1 else f"has an entry {bad:.3g}"
        raise ValueError(
            f"`{name}` {what} outside [{lo:.3g}, {hi:.3g}]: at depth {depth} "
            f"its power {p} is not a normal float64 number, so the flow would be computed as if "
            f"it were 0 or inf. Fix: an initial scale (alpha) within that range."
        )


class DiagonalMirror(eqx.Module):
    """Link, inverse link, dual potential and mirror potential of the diagonal network
    `w = u^D - v^D` (or tied `w = u^D`) started at `u(0) = u0`, `v(0) = v0`."""

    u0: Float[Array, " d"]
    v0: Float[Array, " d"] | None
    depth: int = eqx.field(static=True)
    tied: bool = eqx.field(static=True)

    def __init__(self, u0, v0=None, *, depth: int = 2, tied: bool = False):
        self.depth = check_depth(depth)
        self.tied = bool(tied)
        self.u0 = _positive_vector(u0, "u0")
        _check_range(self.u0, "u0", self.depth)
        if self.tied:
            if v0 is not None:
                raise ValueError(
                    "`v0` must be None for the tied model w = u^D (it has no v factor). "
                    "Fix: drop `v0`, or pass tied=False for w = u^D - v^D."
                )
            self.v0 = None
            return
        if v0 is None:
            raise ValueError(
                "`v0` is required for the untied model w = u^D - v^D. Fix: pass v0 (v0=u0 for "
                "the uniform shape), or use DiagonalMirror.uniform(alpha, d)."
            )
        self.v0 = _positive_vector(v0, "v0")
        _check_range(self.v0, "v0", self.depth)
        if self.v0.shape != self.u0.shape:
            raise ValueError(
                f"`v0` has shape {tuple(self.v0.shape)} but `u0` has shape "
                f"{tuple(self.u0.shape)}; they must match (one pair per coordinate). "
                "Fix: pass u0 and v0 of the same length d."
            )

    @classmethod
    def uniform(cls, alpha, d: int, depth: int = 2, tied: bool = False) -> DiagonalMirror:
        """The uniform shape u0 = v0 = alpha * ones(d)."""
        a = as_positive_scalar(
            alpha, "alpha", fix="pass alpha > 0 (small alpha: rich/l1 regime, large: kernel/l2)."
        )
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
            raise ValueError(f"`d` must be a positive integer (the dimension); got {d!r}.")
        _check_range(a, "alpha", check_depth(depth))
        u0 = a * jnp.ones(int(d))
        return cls(u0, None if tied else u0, depth=depth, tied=tied)

    @property
    def d(self) -> int:
        return self.u0.shape[0]

    @property
    def w0(self) -> Float[Array, " d"]:
        """w at initialisation, h(0) = u0^D - v0^D (exactly 0 where u0 = v0: not computed as a
        difference, which a fused multiply-add under jit would leave at ~eps u0^D)."""
        zero = jnp.zeros_like(self.u0)
        return self._link(zero, None if self.tied else zero)

    def domain(self) -> tuple[Float[Array, " d"], Float[Array, " d"]]:
        """Open interval (lo, hi) of admissible xi, per coordinate. `inverse_link` returns a value
        in the closed interval: at the edge when |w| is beyond float64 resolution of the pole."""
        if self.depth == 2:
            return jnp.full(self.d, -jnp.inf), jnp.full(self.d, jnp.inf)
        return domain_bounds(self.u0, self.v0, self.depth)

    # ---- input checks -----------------------------------------------------------------
    def _arg(self, x, name: str) -> Float[Array, "*batch d"]:
        arr = as_float_array(x, name)
        if arr.ndim == 0 or arr.shape[-1] != self.d:
            raise ValueError(
                f"`{name}` must have last axis of length d = {self.d} (one entry per "
                f"coordinate); got shape {tuple(arr.shape)}. Fix: pass an array of shape "
                f"(..., {self.d})."
            )
        return arr

    def _dual_arg(self, xi) -> Float[Array, "*batch d"]:
        xi = self._arg(xi, "xi")
        if self.depth > 2 and is_concrete(xi) and is_concrete(self.u0):
            lo, hi = (np.asarray(b) for b in self.domain())
            x = np.asarray(xi)
            if not np.all((x > lo) & (x < hi)):
                raise ValueError(
                    f"`xi` leaves the domain ({'-inf' if self.tied else 'xi_min'}, xi_max) of "
                    f"the depth-{self.depth} link (the factor u or v blows up at its edge; "
                    "see DiagonalMirror.domain()). Fix: keep xi inside the domain, e.g. "
                    "shorten the step that produced it."
                )
        return xi

    def _primal_arg(self, w, *, allow_zero: bool) -> Float[Array, "*batch d"]:
        w = self._arg(w, "w")
        if self.tied and is_concrete(w):
            x = np.asarray(w)
            ok = np.all(x >= 0) if allow_zero else np.all(x > 0)
            if not ok:
                raise ValueError(
                    f"`w` must be {'>= 0' if allow_zero else '> 0'} for the tied model "
                    f"w = u^{self.depth} (got min {x.min()!r}). Fix: the tied network only "
                    "reaches non-negative targets; use tied=False for signed w."
                )
        return w

    # ---- per-factor pieces --------------------------------------------------------------
    def _dual_exponents(self, xi):
        D = self.depth
        x_u = factor_exponent(xi, self.u0, D)
        return x_u, (None if self.tied else factor_exponent(-xi, self.v0, D))

    def _primal_exponents(self, w):
        """(psi, x_u, x_v) at h(psi) = w."""
        D, k = self.depth, self.depth * (self.depth - 2)
        if self.tied:
            x = jnp.log(w / self.u0**D) * (1.0 if D == 2 else (D - 2) / D)
            psi = x / 4.0 if D == 2 else -expm1(-x) / (k * self.u0 ** (D - 2))
            return psi, x, None
        if D == 2:
            psi = (stable_asinh(w / (2 * self.u0 * self.v0)) - jnp.log(self.u0 / self.v0)) / 4.0
            return psi, 4.0 * psi, -4.0 * psi
        shape = jnp.broadcast_shapes(w.shape, self.u0.shape)
        flat = [jnp.broadcast_to(a, shape).reshape(-1) for a in (w, self.u0, self.v0)]
        return tuple(a.reshape(shape) for a in solve_untied_inverse(*flat, D))

    def _link(self, x_u, x_v):
        D = self.depth
        lu = log_ratio(x_u, D)
        u_d = self.u0**D * jnp.exp(D * lu)
        if self.tied:
            return u_d
        lv = log_ratio(x_v, D)
        ell = jnp.log(self.u0 / self.v0) + lu - lv  # log(u / v)
        near = jnp.abs(D * ell) < 1.0
        half = jnp.where(near, 0.5 * D * ell, 0.0)
        w_near = 2 * (self.u0 * self.v0) ** (D / 2) * jnp.exp(0.5 * D * (lu + lv)) * jnp.sinh(half)
        return jnp.where(near, w_near, u_d - self.v0**D * jnp.exp(D * lv))

    def _slope(self, x_u, x_v):
        D = self.depth
        n = 2 * D - 2
        s = self.u0**n * jnp.exp(n * log_ratio(x_u, D))
        if not self.tied:
            s = s + self.v0**n * jnp.exp(n * log_ratio(x_v, D))
        return D**2 * s

    # ---- implementations (no checks; traced once per shape by _run) -------------------------
    def _impl_link(self, xi):
        return self._link(*self._dual_exponents(xi))

    def _impl_slope(self, xi):
        return self._slope(*self._dual_exponents(xi))

    def _impl_factors(self, xi):
        D = self.depth
        x_u, x_v = self._dual_exponents(xi)
        u = self.u0 * jnp.exp(log_ratio(x_u, D))
        return u, (None if self.tied else self.v0 * jnp.exp(log_ratio(x_v, D)))

    def _impl_inverse(self, w):
        return self._primal_exponents(w)[0]

    def _impl_dual_potential(self, xi):
        D = self.depth
        x_u, x_v = self._dual_exponents(xi)
        sq_u = self.u0**2 * expm1(2 * log_ratio(x_u, D))
        if self.tied:
            return sq_u / (2 * D)
        sq_v = self.v0**2 * expm1(2 * log_ratio(x_v, D))
        # near xi = 0 the two squares cancel to first order: use w0 xi + E_u + E_v there
        near = (jnp.abs(x_u) < 1.0) & (jnp.abs(x_v) < 1.0)
        xs_u, xs_v = jnp.where(near, x_u, 0.0), jnp.where(near, x_v, 0.0)
        e = dual_factor(xs_u, self.u0**2, D) + dual_factor(xs_v, self.v0**2, D)
        return jnp.where(near, self.w0 * xi + e / (2 * D), (sq_u + sq_v) / (2 * D))

    def _impl_potential(self, w):
        D = self.depth
        _, x_u, x_v = self._primal_exponents(w)
        t = potential_factor(x_u, self.u0**2, D)
        if not self.tied:
            t = t + potential_factor(x_v, self.v0**2, D)
        return t / (2 * D)

    def _impl_potential_hessian(self, w):
        _, x_u, x_v = self._primal_exponents(w)
        return 1.0 / self._slope(x_u, x_v)

    # ---- public maps --------------------------------------------------------------------
    def link(self, xi: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """w = h(xi), coordinate-wise."""
        return _run(self, "_impl_link", self._dual_arg(xi))

    def hessian_diag(self, xi: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """h'(xi) > 0 (the Hessian of the dual potential, diagonal)."""
        return _run(self, "_impl_slope", self._dual_arg(xi))

    def link_derivative(self, xi: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """Alias of [`hessian_diag`][flowbias.symbolic.DiagonalMirror.hessian_diag]."""
        return self.hessian_diag(xi)

    def factors(
        self, xi: Float[Array, "*batch d"]
    ) -> tuple[Float[Array, "*batch d"], Float[Array, "*batch d"] | None]:
        """The parameters (u, v) on the gradient-flow path at xi (v is None when tied)."""
        return _run(self, "_impl_factors", self._dual_arg(xi))

    def inverse_link(self, w: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """psi = h^{-1}(w) = grad Q(w)."""
        return _run(self, "_impl_inverse", self._primal_arg(w, allow_zero=False))

    def dual_potential_coords(self, xi: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """H(xi_i) = int_0^{xi_i} h, per coordinate."""
        return _run(self, "_impl_dual_potential", self._dual_arg(xi))

    def dual_potential(self, xi: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """sum_i H(xi_i); its gradient is link(xi)."""
        return jnp.sum(self.dual_potential_coords(xi), axis=-1)

    def potential_coords(self, w: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """phi(w_i) >= 0, per coordinate (phi' = h^{-1}, phi(w0) = 0)."""
        return _run(self, "_impl_potential", self._primal_arg(w, allow_zero=True))

    def potential(self, w: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """Q(w) = sum_i phi(w_i); its gradient is inverse_link(w)."""
        return jnp.sum(self.potential_coords(w), axis=-1)

    def potential_hessian_diag(self, w: Float[Array, "*batch d"]) -> Float[Array, "*batch d"]:
        """phi''(w) = 1 / h'(h^{-1}(w))."""
        return _run(self, "_impl_potential_hessian", self._primal_arg(w, allow_zero=False))


@eqx.filter_jit
def _run(mirror: DiagonalMirror, method: str, x):
    """Checks run eagerly in the public methods; the maths is compiled once per shape here (an
    enclosing jit/vmap/grad simply inlines it). The mirror and x are arguments, never
    constants baked into the compiled function."""
    return getattr(mirror, method)(x)
