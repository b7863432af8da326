"""The symbolic layer (THEORY rows D1-D5): sympy identities, and the compiled JAX mirror maps
against 50-digit mpmath references.

References: the sympy expressions of `derive_diagonal` (themselves checked symbolically here),
evaluated by `sympy.lambdify(..., "mpmath")` at 50 digits; where no closed form exists (untied
depth >= 3) a 50-digit Newton iteration on the sympy link for the inverse, and the Legendre
identity or `mpmath.quad` of psi h'(psi) for the potential. Nothing here reuses the float64 code
under test.

Tolerance: relative error <= 1e-12 (measured: below 1e-14). Where a quantity is ill-conditioned
by nature the error is measured against that sensitivity instead: near w = w0 != 0 (tied or
non-uniform shapes) a relative perturbation eps of w moves psi by eps |w| / h'(psi), so
|psi - psi*| <= 1e-12 (|psi*| + |w| / h'(psi*)) and |Q - Q*| <= 1e-12 (|Q*| + |psi* w|); within
5% of the pole of a depth >= 3 link (condition number up to 1e6 on the grid),
|f - f*| <= 1e-12 (|f*| + |xi f'(xi)|).
"""

from __future__ import annotations

import functools

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

from flowbias.symbolic import DiagonalMirror, check_tied_reachable, derive_diagonal
from flowbias.symbolic.diagonal_derivation import zero
from flowbias.symbolic.stable_kernels import kernel_expressions, taylor_coefficients


jax.config.update("jax_enable_x64", True)
RTOL = 1e-12
CASES = [(2, False), (2, True), (3, False), (3, True), (4, False), (4, True)]
CASE_IDS = [f"D{d}-{'tied' if t else 'untied'}" for d, t in CASES]
ALPHAS = [1e-30, 1e-4, 1.0, 1e3]
N = 20  # coordinates per array: one shape throughout keeps JAX compilations few


@pytest.fixture(autouse=True)
def _fifty_digits():
    """mpmath at 50 digits for this module's tests only (mpmath's precision is global)."""
    with mp.workdps(50):
        yield


# ---------------------------------------------------------------------------------------------
# symbolic identities
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("depth", "tied"), CASES, ids=CASE_IDS)
def test_derivation_identities_simplify_to_zero(depth, tied):
    # ODE solution and initial value, h' , H' = h, H(0) = 0, Legendre identity, and where
    # elementary: h(h^{-1}(w)) = w, h^{-1}(w0) = 0, phi' = h^{-1}, phi(w0) = 0.
    der = derive_diagonal(depth, tied=tied)
    res = der.verify()
    expected = {"ode_u", "init_u", "dual_potential_derivative", "legendre_derivative"}
    if der.potential is not None:
        expected |= {"inverse_of_link", "potential_gradient", "potential_at_w0"}
    assert expected <= set(res)
    assert all(v == 0 for v in res.values()), {k: v for k, v in res.items() if v != 0}
    assert der.legendre == (depth >= 3 and not tied)


def test_depth2_closed_forms():
    der = derive_diagonal(2)
    a, w, xi = der.alpha, der.w, der.xi
    z = sp.Symbol("z", real=True)
    q = 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2)  # Woodworth et al. 2020
    assert zero(der.uniform(der.link) - 2 * a**2 * sp.sinh(4 * xi)) == 0
    assert zero(der.uniform(der.potential) - a**2 / 4 * q.subs(z, w / a**2)) == 0
    # Azulay et al. 2021 shape (u0, v0) = (a, b)
    u0, v0 = der.u0, der.v0
    shaped = u0 * v0 / 4 * q.subs(z, w / (u0 * v0)) - w / 4 * sp.log(u0 / v0) + (u0 - v0) ** 2 / 4
    assert zero(der.potential - shaped) == 0
    explicit = sp.log((w + sp.sqrt(w**2 + 4 * u0**2 * v0**2)) / (2 * u0**2)) / 4
    assert zero(der.inverse_link - explicit) == 0


def test_tied_depth2_is_the_seed_potential():
    der = derive_diagonal(2, tied=True)
    a, w = der.alpha, der.w
    seed = (w * sp.log(w / a**2) - w + a**2) / 4  # seed 001: w log(w/alpha^2) - w, + const
    assert zero(der.uniform(der.potential) - seed) == 0
    # boundary value phi(0+) = alpha^2 / 4 = u0^2 / (2D)
    assert sp.limit(der.uniform(der.potential), w, 0, "+") == a**2 / 4


@pytest.mark.parametrize(("depth", "tied"), CASES, ids=CASE_IDS)
def test_regime_limits(depth, tied):
    der = derive_diagonal(depth, tied=tied)
    small, large = der.regime_limits
    w, a = der.w, der.alpha
    assert small.to == 0 and large.to == sp.oo
    if tied:
        delta = next(s for s in large.limit.free_symbols if s.name == "Delta")
        assert sp.simplify(small.limit - w) == 0
        assert sp.simplify(large.limit - delta**2 / (2 * depth**2)) == 0
    else:
        assert sp.simplify(small.limit - sp.Abs(w)) == 0
        assert sp.simplify(large.limit - w**2 / (4 * depth**2)) == 0
    expected_norm = sp.log(1 / a**2) / 4 if depth == 2 else a ** (2 - depth) / (depth * (depth - 2))
    assert sp.simplify(small.normaliser - expected_norm) == 0
    assert sp.simplify(large.normaliser - a ** (2 - 2 * depth)) == 0
    if depth == 2 and not tied:  # Woodworth's statement for Q_alpha = 4 phi
        assert sp.simplify(large.limit * 4 - w**2 / 4) == 0


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_stable_kernels_are_the_factor_terms(depth):
    der = derive_diagonal(depth)
    psi, u0, v0 = der.psi, der.u0, der.v0
    x, k_t, k_e = kernel_expressions(depth)
    if depth == 2:
        to_x = {psi: x / 4}
    else:
        to_x = {psi: u0 ** (2 - depth) * (1 - sp.exp(-x)) / (depth * (depth - 2))}
    u = der.at(der.u, psi)
    t_u = psi * u**depth - (u**2 - u0**2) / (2 * depth)
    e_u = (u**2 - u0**2) / (2 * depth) - u0**depth * psi
    assert zero((t_u - u0**2 / (2 * depth) * k_t).subs(to_x)) == 0
    assert zero((e_u - u0**2 / (2 * depth) * k_e).subs(to_x)) == 0
    # phi(h(psi)) = T(psi; u0) + T(-psi; v0) and H = w0 psi + E(psi; u0) + E(-psi; v0)
    flip = {psi: -psi, u0: v0}
    assert zero(der.potential_parametric - t_u - t_u.subs(flip, simultaneous=True)) == 0
    rest = der.dual_potential - der.w0 * psi - e_u - e_u.subs(flip, simultaneous=True)
    assert zero(rest) == 0
    # Taylor coefficients vs sympy.series (an independent route)
    for kind, expr in (("potential", k_t), ("dual", k_e)):
        series = sp.series(expr, x, 0, 8).removeO()
        ref = [float(series.coeff(x, n)) for n in range(2, 8)]
        assert np.allclose(taylor_coefficients(depth, kind)[:6], ref, rtol=1e-15, atol=0)


def test_steps_render():
    der = derive_diagonal(3)
    md = der._repr_markdown_()
    assert "Legendre" in md and "Rich limit" in md
    assert der.latex().startswith("\\begin{aligned}")


# ---------------------------------------------------------------------------------------------
# 50-digit references
# ---------------------------------------------------------------------------------------------
@functools.cache
def _mp(depth, tied):
    der = derive_diagonal(depth, tied=tied)
    lam = functools.partial(sp.lambdify, modules="mpmath")
    f = {
        "link": lam((der.xi, der.u0, der.v0), der.link),
        "slope": lam((der.xi, der.u0, der.v0), der.link_derivative),
        "curvature": lam((der.xi, der.u0, der.v0), der.link_derivative.diff(der.xi)),
        "H": lam((der.psi, der.u0, der.v0), der.dual_potential),
        "inv": None,
        "phi": None,
    }
    if der.potential is not None:
        f["inv"] = lam((der.w, der.u0, der.v0), der.inverse_link)
        f["phi"] = lam((der.w, der.u0, der.v0), der.potential)
    return f


def _mp_inverse(w, u0, v0, depth, tied, guess):
    f = _mp(depth, tied)
    w, u0, v0 = mp.mpf(w), mp.mpf(u0), mp.mpf(v0)
    if f["inv"] is not None:
        return f["inv"](w, u0, v0)
    # Newton at 50 digits from the float64 answer; h is increasing, so the root is unique and
    # a converged iterate is the reference whatever the start (checked by the residual below)
    root = mp.mpf(guess)
    for _ in range(60):
        step = (f["link"](root, u0, v0) - w) / f["slope"](root, u0, v0)
        root -= step
        if abs(step) <= mp.mpf(10) ** -45 * abs(root):
            break
    assert abs(f["link"](root, u0, v0) - w) <= mp.mpf(10) ** -40 * abs(w)
    return root


def _mp_potential(w, psi, u0, v0, depth, tied):
    f = _mp(depth, tied)
    w, u0, v0 = mp.mpf(w), mp.mpf(u0), mp.mpf(v0)
    if f["phi"] is not None:
        return f["phi"](w, u0, v0)
    return w * psi - f["H"](psi, u0, v0)  # Legendre identity (verified symbolically above)


def _rel(got, ref):
    ref = mp.mpf(ref)
    return float(abs(mp.mpf(float(got)) - ref) / abs(ref)) if ref != 0 else abs(float(got))


def _dual_grid(depth, alpha):
    """N points of xi: from 1e-12 up to the pole (D >= 3: 1 - 1e-6 of the way)."""
    if depth == 2:
        s = np.array([1e-12, 1e-8, 1e-4, 1e-2, 0.05, 0.1, 0.2, 1.0, 3.0])
        s = np.r_[s, -s, 0.0, 10.0]
    else:
        f = np.array([1e-12, 1e-8, 1e-4, 1e-2, 0.1, 0.3, 0.6, 0.9, 0.999])
        s = np.r_[f, -f, 1 - 1e-6, -(1 - 1e-3)] / (depth * (depth - 2))
    return s * alpha ** (2 - depth)


def _primal_grid(depth, alpha, tied):
    """N points of w / alpha^D from 1e-8 to 1e8 (tied: around w0 = alpha^D too)."""
    z = 10.0 ** np.arange(-8, 9, 2)
    if tied:
        z = np.r_[z, 0.37, 1 - 1e-6, 1 + 1e-9, 1 + 1e-3, 7.0, 0.5, 2.0, 3e-3, 30.0, 3e5, 1e-7]
    else:
        z = np.r_[z, -z, 0.0, 0.37]
    return z * alpha**depth


def _near_pole(x, depth, alpha):
    return depth > 2 and abs(x) > 0.95 * alpha ** (2 - depth) / (depth * (depth - 2))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize(("depth", "tied"), CASES, ids=CASE_IDS)
def test_dual_side_vs_mpmath(depth, tied, alpha):
    """link, h' and H at uniform alpha, xi from 1e-12 to the pole (D >= 3)."""
    m = DiagonalMirror.uniform(alpha, N, depth=depth, tied=tied)
    xi = _dual_grid(depth, alpha)
    got = {"link": m.link(xi), "slope": m.hessian_diag(xi), "H": m.dual_potential_coords(xi)}
    f = _mp(depth, tied)
    a = mp.mpf(alpha)
    derivative = {"link": "slope", "slope": "curvature", "H": "link"}
    for name, values in got.items():
        for x, g in zip(xi, np.asarray(values), strict=True):
            x_mp = mp.mpf(x)
            ref = f[name](x_mp, a, a)
            if _near_pole(x, depth, alpha):
                # condition number |xi f'/f| up to ~1e6: measure against that sensitivity
                tol = RTOL * (abs(ref) + abs(x_mp * f[derivative[name]](x_mp, a, a)))
                assert abs(mp.mpf(float(g)) - ref) <= tol, (name, x, g, ref)
            else:
                assert _rel(g, ref) <= RTOL, (name, x, g, ref)


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize(("depth", "tied"), CASES, ids=CASE_IDS)
def test_primal_side_vs_mpmath(depth, tied, alpha):
    """h^{-1}, Q and the round trip at uniform alpha, w / alpha^D from 1e-8 to 1e8."""
    m = DiagonalMirror.uniform(alpha, N, depth=depth, tied=tied)
    w = _primal_grid(depth, alpha, tied)
    psi = np.asarray(m.inverse_link(w))
    q = np.asarray(m.potential_coords(w))
    slope = _mp(depth, tied)["slope"]
    a = mp.mpf(alpha)
    for wi, p, qi in zip(w, psi, q, strict=True):
        if wi == 0:  # untied uniform: h(0) = 0
            assert p == 0 and qi == 0
            continue
        p_ref = _mp_inverse(wi, alpha, alpha, depth, tied, p)
        q_ref = _mp_potential(wi, p_ref, alpha, alpha, depth, tied)
        if tied:  # psi ~ 0 at w ~ w0 = alpha^D: measure against the sensitivity (module doc)
            # (+ a floor far below float64 resolution: at w = w0 exactly, psi* = Q* = 0 and
            # the 50-digit reference carries ~1e-50 relative rounding of its terms)
            scale_p = abs(p_ref) + abs(mp.mpf(wi)) / slope(p_ref, a, a) + 1e-30 * a ** (2 - depth)
            scale_q = abs(q_ref) + abs(p_ref * wi) + 1e-30 * a**2
            assert abs(mp.mpf(float(p)) - p_ref) <= RTOL * scale_p, (wi, p, p_ref)
            assert abs(mp.mpf(float(qi)) - q_ref) <= RTOL * scale_q, (wi, qi, q_ref)
        else:
            assert _rel(p, p_ref) <= RTOL, (wi, p, p_ref)
            assert _rel(qi, q_ref) <= RTOL, (wi, qi, q_ref)
    # round trip on the dual grid (tied: ill-conditioned near w0, see the module doc)
    xi = _dual_grid(depth, alpha)
    w = m.link(xi)
    back = m.inverse_link(w)
    sens = np.abs(w) / m.hessian_diag(xi) if tied else 0.0
    assert np.all(np.abs(back - xi) <= RTOL * (np.abs(xi) + sens))


@pytest.mark.parametrize(("depth", "tied"), CASES, ids=CASE_IDS)
def test_general_shapes_vs_mpmath(depth, tied):
    """Azulay et al. shapes: u0, v0 vectors (ratios up to 10), scales 1e-4 .. 1e2."""
    rng = np.random.default_rng(depth + 10 * tied)
    scale = 10.0 ** rng.uniform(-4, 2, N)
    u0 = scale * 10.0 ** rng.uniform(-0.5, 0.5, N)
    v0 = None if tied else scale * 10.0 ** rng.uniform(-0.5, 0.5, N)
    b = np.zeros(N) if tied else v0
    m = DiagonalMirror(u0, v0, depth=depth, tied=tied)
    f = _mp(depth, tied)
    for _ in range(2):
        z = 10.0 ** rng.uniform(-6, 6, N) * (1.0 if tied else rng.choice([-1.0, 1.0], N))
        w = z * scale**depth
        psi = np.asarray(m.inverse_link(w))
        phi = np.asarray(m.potential_coords(w))
        for j, wj in enumerate(w):
            p_ref = _mp_inverse(wj, u0[j], b[j], depth, tied, psi[j])
            q_ref = _mp_potential(wj, p_ref, u0[j], b[j], depth, tied)
            slope = f["slope"](p_ref, mp.mpf(u0[j]), mp.mpf(b[j]))
            sens = abs(mp.mpf(wj)) / slope
            assert abs(mp.mpf(float(psi[j])) - p_ref) <= RTOL * (abs(p_ref) + sens)
            assert abs(mp.mpf(float(phi[j])) - q_ref) <= RTOL * (abs(q_ref) + abs(p_ref * wj))
        # and the link at the reference psi (backward error of the whole row)
        back = np.asarray(m.link(psi))
        tol = RTOL * (np.abs(w) + np.abs(psi) * np.asarray(m.hessian_diag(psi)))
        assert np.all(np.abs(back - w) <= tol)


@pytest.mark.parametrize("depth", [3, 4])
def test_legendre_potential_vs_quadrature(depth):
    """Q = int_{w0}^w h^{-1} = int_0^psi x h'(x) dx (by parts): mpmath quadrature, no Legendre."""
    m = DiagonalMirror.uniform(0.5, N, depth=depth)
    f = _mp(depth, False)
    a = mp.mpf(0.5)
    z = np.resize([1e-6, -0.3, 2.0, -50.0, 1e4], N)
    w = z * 0.5**depth
    psi, q = np.asarray(m.inverse_link(w)), np.asarray(m.potential_coords(w))
    for j in range(5):
        p_ref = _mp_inverse(w[j], 0.5, 0.5, depth, False, psi[j])
        q_quad = mp.quad(lambda x: x * f["slope"](x, a, a), [0, p_ref / 2, p_ref])
        assert _rel(q[j], q_quad) <= RTOL


# ---------------------------------------------------------------------------------------------
# autodiff, transformations
# ---------------------------------------------------------------------------------------------
@eqx.filter_jit
def _derivatives(m, xi):
    """Everything test_gradients compares, in one compiled function (one compilation)."""
    w = m.link(xi)
    ones = jnp.ones_like(xi)  # the maps are coordinate-wise: J @ ones is J's diagonal
    return {
        "w": w,
        "psi": m.inverse_link(w),
        "grad_Q": jax.grad(m.potential)(w),
        "grad_H": jax.grad(m.dual_potential)(xi),
        "jvp_link": jax.jvp(m.link, (xi,), (ones,))[1],  # forward mode
        "slope": m.hessian_diag(xi),
        "vjp_inverse": jax.vjp(m.inverse_link, w)[1](ones)[0],  # reverse mode
        "phi_hessian": m.potential_hessian_diag(w),
    }


@pytest.mark.parametrize(("depth", "tied"), CASES, ids=CASE_IDS)
def test_gradients(depth, tied):
    rng = np.random.default_rng(3)
    u0 = 10.0 ** rng.uniform(-1, 1, N)
    m = DiagonalMirror(u0, None if tied else u0[::-1].copy(), depth=depth, tied=tied)
    lo, hi = m.domain()
    span = np.minimum(np.asarray(hi), 5.0) - np.maximum(np.asarray(lo), -5.0)
    xi = np.maximum(np.asarray(lo), -5.0) + span * rng.uniform(0.05, 0.95, N)
    xi[0] = 0.0  # the link must be differentiable at xi = 0 too
    r = _derivatives(m, jnp.asarray(xi))
    np.testing.assert_allclose(r["grad_Q"], r["psi"], rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(r["grad_H"], r["w"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(r["jvp_link"], r["slope"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(r["vjp_inverse"], r["phi_hessian"], rtol=1e-10, atol=0)
    np.testing.assert_allclose(r["phi_hessian"] * r["slope"], 1.0, rtol=1e-10)


def test_derivative_in_the_initialisation():
    """d/dalpha of Q(w; alpha) through the implicit inverse (depth 3) vs a central difference."""
    w = jnp.asarray(np.resize([0.3, -1.7, 4.0, 0.02], N))

    def q(alpha):
        return DiagonalMirror.uniform(alpha, N, depth=3).potential(w)

    @jax.jit
    def both(alpha, h):  # one compilation for the derivative and the difference quotient
        return jax.jvp(q, (alpha,), (1.0,))[1], (q(alpha + h) - q(alpha - h)) / (2 * h)

    exact, fd = both(0.8, 1e-5)
    np.testing.assert_allclose(exact, fd, rtol=1e-8)


def test_jit_vmap_and_no_closed_over_data():
    alphas = jnp.array([1e-3, 0.1, 1.0, 30.0])
    w = jnp.linspace(-2.0, 3.0, N)

    def q(alpha):
        return DiagonalMirror.uniform(alpha, N, depth=3).potential(w)

    batched = jax.vmap(q)(alphas)
    looped = jnp.stack([q(a) for a in alphas])
    np.testing.assert_allclose(batched, looped, rtol=1e-14)
    m = DiagonalMirror.uniform(0.2, N, depth=3)
    closed = jax.make_jaxpr(lambda mirror, x: mirror.potential(x))(m, w)
    assert all(np.size(c) <= 1 for c in closed.consts)  # u0, v0 and w are arguments
    # batch axes in front of the coordinate axis
    m2 = DiagonalMirror.uniform(0.2, N)
    xs = jnp.stack([w, 2 * w, -w])
    np.testing.assert_allclose(m2.potential(xs), jnp.stack([m2.potential(x) for x in xs]))


def test_nan_not_garbage_outside_domain_under_jit():
    m = DiagonalMirror.uniform(1.0, N, depth=3)
    xi = jnp.zeros(N).at[0].set(0.5)  # xi_max = 1/3
    w = jnp.ones(N).at[0].set(jnp.nan)
    out, psi = jax.jit(lambda mm, x, y: (mm.link(x), mm.inverse_link(y)))(m, xi, w)
    assert np.isnan(out[0]) and np.all(out[1:] == 0.0)
    assert np.isnan(psi[0]) and np.all(np.isfinite(psi[1:]))


# ---------------------------------------------------------------------------------------------
# regimes, numerically (depth >= 3 has no closed form)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_regime_limits_numerically(depth):
    w = jnp.asarray(np.resize([0.7, -1.3, 0.0, 2.5, -0.01], N))
    l1, l2sq = float(jnp.sum(jnp.abs(w))), float(jnp.sum(w**2))
    for alpha in [1e-6, 1e-12]:
        q = float(DiagonalMirror.uniform(alpha, N, depth=depth).potential(w))
        if depth == 2:  # phi/N = |w| (1 + (log|w| - 1)/log(alpha^-2)) + O(alpha^2)
            a = np.abs(np.asarray(w))[np.asarray(w) != 0]
            pred = np.sum(a * (1 + (np.log(a) - 1) / np.log(alpha**-2)))
            assert abs(q / (np.log(alpha**-2) / 4) - pred) <= 1e-9 * l1
        else:  # alpha^(D-2) phi = |w|/k - alpha^(D-2) |w|^(2/D) / (2(D-2)) + ...
            k = depth * (depth - 2)
            ratio = q * alpha ** (depth - 2) * k / l1
            assert abs(ratio - 1) <= 10 * depth * alpha ** (depth - 2) + 1e-13
    for alpha in [1e3, 1e5]:
        q = float(DiagonalMirror.uniform(alpha, N, depth=depth).potential(w))
        assert abs(q * alpha ** (2 * depth - 2) * 4 * depth**2 / l2sq - 1) <= 10 * alpha**-depth


# ---------------------------------------------------------------------------------------------
# properties (hypothesis)
# ---------------------------------------------------------------------------------------------
_unit = st.floats(0.01, 0.99)
_shape = st.tuples(
    st.sampled_from([2, 3, 4]),
    st.booleans(),
    st.floats(-6, 3),
    st.lists(st.floats(-0.7, 0.7), min_size=N, max_size=N),
    st.lists(st.floats(-0.7, 0.7), min_size=N, max_size=N),
    st.lists(_unit, min_size=N, max_size=N),
)


def _mirror(depth, tied, log_alpha, ru, rv):
    alpha = 10.0**log_alpha
    u0 = alpha * 10.0 ** np.array(ru)
    return DiagonalMirror(
        u0, None if tied else alpha * 10.0 ** np.array(rv), depth=depth, tied=tied
    )


def _interior(m, frac):
    lo, hi = (np.asarray(b) for b in m.domain())
    lo, hi = np.maximum(lo, -3.0), np.minimum(hi, 3.0)
    return lo + (hi - lo) * np.array(frac)


@settings(max_examples=20, deadline=None)
@given(_shape, st.lists(_unit, min_size=N, max_size=N))
def test_property_fenchel_young_and_round_trip(shape, frac2):
    """Q(w) + H(xi) >= w.xi with equality at w = h(xi); h^{-1}(h(xi)) = xi; Q >= 0 = Q(w0).

    Tolerances scale with the sensitivity to a relative perturbation of w (module doc):
    |w|/h' for psi and its square over h' for Q near w0."""
    m = _mirror(*shape[:5])
    xi = _interior(m, shape[5])
    w = m.link(xi)
    slope = m.hessian_diag(xi)
    sens = jnp.abs(w) / slope
    assert np.all(np.abs(m.inverse_link(w) - xi) <= 1e-12 * (np.abs(xi) + sens))
    # near w0 != 0, psi carries ~c eps |w| / h' (module doc), hence Q ~ (c eps)^2 w^2 / h':
    # allowed for c up to 1e3 (measured: c ~ 1e2)
    floor = 1e-26 * float(jnp.sum(w**2 / slope))
    gap = m.potential(w) + m.dual_potential(xi) - jnp.dot(w, xi)
    scale = jnp.sum(jnp.abs(w * xi)) + m.potential(w)
    assert abs(float(gap)) <= 1e-12 * float(scale) + floor
    other = m.link(_interior(m, frac2))
    gap2 = m.potential(other) + m.dual_potential(xi) - jnp.dot(other, xi)
    assert float(gap2) >= -1e-12 * float(jnp.sum(jnp.abs(other * xi)) + m.potential(other))
    w0 = m.w0
    assert float(m.potential(w)) >= 0
    assert float(m.potential(w0)) <= 1e-26 * float(jnp.sum(w0**2 / m.hessian_diag(0 * xi)))


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([3, 4, 5]), st.floats(-300, 300), st.floats(-1, 1), st.booleans())
def test_property_newton_inverse_whole_range(depth, log10_z, log_ratio, negative):
    """The Newton inverse (untied D >= 3) converges over |w| / alpha^D in [1e-300, 1e300]."""
    m = DiagonalMirror(jnp.ones(N), jnp.full(N, 10.0**log_ratio), depth=depth)
    w = jnp.full(N, (-1.0 if negative else 1.0) * 10.0**log10_z).at[1:].set(0.5)
    psi = m.inverse_link(w)
    assert np.all(np.isfinite(psi))
    lo, hi = (float(b[0]) for b in m.domain())
    p = float(psi[0])
    assert lo <= p <= hi
    if min(p - lo, hi - p) > 1e-10 * (hi - lo):
        back = m.link(psi)
        sens = jnp.abs(psi) * m.hessian_diag(psi)
        assert np.all(np.abs(back - w) <= 1e-12 * (np.abs(w) + sens))
    else:  # within 1e-10 of a pole: h is increasing, so |w| must exceed h there
        gap = 1e-10 * (hi - lo)
        edge = jnp.full(N, 0.0).at[0].set(hi - gap if hi - p < p - lo else lo + gap)
        w_edge = float(m.link(edge)[0])
        assert abs(float(w[0])) >= abs(w_edge) * (1 - 1e-5) and w_edge * float(w[0]) > 0


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: DiagonalMirror.uniform(0.0, 3), "alpha"),
        (lambda: DiagonalMirror.uniform(-1.0, 3), "alpha"),
        (lambda: DiagonalMirror.uniform(1.0, 0), "`d`"),
        (lambda: DiagonalMirror([1.0, -2.0], [1.0, 1.0]), "u0"),
        (lambda: DiagonalMirror([1.0, 2.0], [1.0, 0.0]), "v0"),
        (lambda: DiagonalMirror([1.0, 2.0], [1.0]), "v0"),
        (lambda: DiagonalMirror([1.0, 2.0]), "v0"),
        (lambda: DiagonalMirror([1.0, 2.0], [1.0, 2.0], tied=True), "v0"),
        (lambda: DiagonalMirror([1.0], [1.0], depth=1), "depth"),
        (lambda: DiagonalMirror([1.0], [1.0], depth=2.5), "depth"),
        (lambda: DiagonalMirror([1.0], [1.0], depth=True), "depth"),
        (lambda: derive_diagonal(1), "depth"),
        (lambda: DiagonalMirror.uniform(1.0, 2, depth=3).link(jnp.array([0.4, 0.0])), "xi"),
        (lambda: DiagonalMirror.uniform(1.0, 2, depth=3).link(jnp.zeros(3)), "xi"),
        (lambda: DiagonalMirror.uniform(1.0, 2, tied=True).inverse_link([1.0, 0.0]), "w"),
        (lambda: DiagonalMirror.uniform(1.0, 2, tied=True).potential([1.0, -1e-3]), "w"),
        (lambda: DiagonalMirror.uniform(1.0, 2).potential([1.0, np.nan]), "w"),
    ],
)
def test_bad_input_is_rejected_with_the_argument_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_tied_boundary_value_and_reachability():
    m = DiagonalMirror.uniform(0.3, N, depth=3, tied=True)
    # phi(0) = u0^2 / (2D), the limit from the closed form
    der = derive_diagonal(3, tied=True)
    ref = float(sp.limit(der.potential.subs(der.u0, sp.Rational(3, 10)), der.w, 0, "+"))
    np.testing.assert_allclose(m.potential_coords(jnp.zeros(N))[0], ref, rtol=1e-14)
    X = np.array([[1.0, 2.0, 0.5], [0.0, 1.0, 1.0]])
    ok = check_tied_reachable(X, X @ np.array([0.2, 0.1, 0.3]))
    assert ok.reachable and ok.margin > 0 and np.allclose(X @ ok.witness, X @ [0.2, 0.1, 0.3])
    assert not check_tied_reachable(X, np.array([-1.0, 0.5])).reachable
    edge = check_tied_reachable(np.eye(2), np.array([1.0, 0.0]))
    assert edge.reachable and abs(edge.margin) <= 1e-9
