"""Comparison helpers against analytic values and 50-digit mpmath arithmetic."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from flowbias.compare import (
    angle,
    margin_gap,
    normalized_margin,
    one_minus_cos,
    relative_error,
)


def mp_one_minus_cos_and_angle(u, v):
    """1 - cos and the angle of the exact float64 inputs, in 50-digit arithmetic."""
    with mpmath.workdps(50):
        u = [mpmath.mpf(float(x)) for x in u]
        v = [mpmath.mpf(float(x)) for x in v]
        dot = mpmath.fsum(a * b for a, b in zip(u, v, strict=True))
        nu = mpmath.sqrt(mpmath.fsum(a * a for a in u))
        nv = mpmath.sqrt(mpmath.fsum(b * b for b in v))
        c = dot / (nu * nv)
        # At 50 digits, 1 - c and 1 - c^2 keep ~30 significant digits even at angles of 1e-9.
        s = mpmath.sqrt(max(mpmath.mpf(0), 1 - c * c))
        return float(1 - c), float(mpmath.atan2(s, c))


def test_relative_error():
    w, w_ref = np.array([1.0, 2.0, 2.0]), np.array([0.0, 3.0, 4.0])
    assert float(relative_error(w, w_ref)) == pytest.approx(np.sqrt(1 + 1 + 4) / 5, rel=1e-15)
    # w_ref = 0: the absolute error.
    assert float(relative_error(w, np.zeros(3))) == pytest.approx(3.0, rel=1e-15)


@pytest.mark.parametrize("a", [1e-12, 1e-8, 1e-5, 1e-2, 0.5, 2.0, 3.0])
def test_one_minus_cos_and_angle_analytic_2d(a):
    w, w_ref = np.array([2.0, 0.0]), np.array([np.cos(a), np.sin(a)])
    # The float64 inputs represent the angle a to within 1e-16 absolute.
    rtol = 1e-15 + 4e-16 / a
    assert float(one_minus_cos(w, w_ref)) == pytest.approx(2 * np.sin(a / 2) ** 2, rel=rtol)
    assert float(angle(w, w_ref)) == pytest.approx(a, rel=rtol)


def test_one_minus_cos_beats_the_naive_formula_at_1e_8():
    a = 1e-8
    w, w_ref = np.array([1.0, 0.0]), np.array([np.cos(a), np.sin(a)])
    naive = 1 - w @ w_ref / (np.linalg.norm(w) * np.linalg.norm(w_ref))
    assert naive == 0.0  # all digits lost
    assert float(one_minus_cos(w, w_ref)) == pytest.approx(5e-17, rel=1e-8)


def test_angle_near_pi():
    d = 1e-9
    w, w_ref = np.array([1.0, 0.0]), np.array([np.cos(np.pi - d), np.sin(np.pi - d)])
    assert np.pi - float(angle(w, w_ref)) == pytest.approx(d, rel=1e-6)


@pytest.mark.parametrize("eps", [1e-9, 1e-6, 1e-3, 1.0])
def test_direction_measures_against_mpmath(eps):
    rng = np.random.default_rng(0)
    u = rng.normal(size=7)
    v = 3.7 * (u + eps * rng.normal(size=7))
    omc_ref, ang_ref = mp_one_minus_cos_and_angle(u, v)
    assert float(one_minus_cos(u, v)) == pytest.approx(omc_ref, rel=1e-6)
    assert float(angle(u, v)) == pytest.approx(ang_ref, rel=1e-7)


def test_batches_broadcast_and_transform():
    rng = np.random.default_rng(1)
    W, w_ref = rng.normal(size=(4, 3, 5)), rng.normal(size=5)
    for fn in (relative_error, one_minus_cos, angle):
        out = np.asarray(fn(W, w_ref))
        assert out.shape == (4, 3)
        loop = np.array([[float(fn(W[i, j], w_ref)) for j in range(3)] for i in range(4)])
        np.testing.assert_allclose(out, loop, rtol=1e-14)
        np.testing.assert_allclose(np.asarray(jax.jit(fn)(W, w_ref)), out, rtol=1e-14)
        vm = jax.vmap(fn, in_axes=(0, None))(jnp.asarray(W), jnp.asarray(w_ref))
        np.testing.assert_allclose(np.asarray(vm), out, rtol=1e-14)


def test_zero_vector_has_no_direction():
    assert np.isnan(float(one_minus_cos(np.zeros(3), np.ones(3))))
    assert np.isnan(float(angle(np.ones(3), np.zeros(3))))
    assert np.isnan(float(normalized_margin(np.zeros(2), np.eye(2), np.ones(2))))


def test_normalized_margin_and_gap():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 4)), rng.choice([-1.0, 1.0], size=9)
    W = rng.normal(size=(6, 4))
    expected = [min(y[i] * X[i] @ w for i in range(9)) / np.linalg.norm(w) for w in W]
    np.testing.assert_allclose(np.asarray(normalized_margin(W, X, y)), expected, rtol=1e-14)
    jitted = jax.jit(normalized_margin)(W, X, y)
    np.testing.assert_allclose(np.asarray(jitted), expected, rtol=1e-14)
    # Hand case: z = (1, 1), (1, -1), (3, 0) has w_hat = (1, 0), max-margin 1.
    X = np.array([[1.0, 1.0], [-1.0, 1.0], [3.0, 0.0]])
    y = np.array([1.0, -1.0, 1.0])
    w_hat = np.array([1.0, 0.0])
    assert float(margin_gap(5.0 * w_hat, X, y, w_hat)) == 0.0
    w = np.array([1.0, 0.1])
    gap = 1.0 - (1.0 - 0.1) / np.sqrt(1.01)
    assert float(margin_gap(w, X, y, w_hat)) == pytest.approx(gap, rel=1e-14)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: relative_error(np.ones(3), np.ones(4)), "`w_ref` has 4"),
        (lambda: angle(np.ones((2, 3)), np.ones((4, 3))), "do not broadcast"),
        (lambda: one_minus_cos(1.0, np.ones(1)), "`w` must be a vector"),
        (lambda: one_minus_cos(np.ones(2), np.array([np.nan, 1.0])), "`w_ref` contains NaN"),
        (lambda: normalized_margin(np.ones(3), np.ones((2, 2)), np.ones(2)), "`X` has 2 col"),
        (lambda: normalized_margin(np.ones(2), np.ones((2, 2)), np.array([1.0, 0.0])), "`y`"),
        (lambda: margin_gap(np.ones(2), np.eye(2), np.ones(2), np.ones((2, 2))), "`w_hat`"),
        (lambda: margin_gap(np.ones(2), np.eye(2), np.ones(2), np.ones(3)), "`w_hat` has 3"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_measures_compile_once_per_shape():
    """`agreement` and the measures behind it run one compiled kernel: new values of the same
    shape reuse it (no compilation per call), a new shape compiles once more."""
    from flowbias.compare import _angle_kernel, _one_minus_cos_kernel, _relative_error_kernel

    kernels = (_relative_error_kernel, _one_minus_cos_kernel, _angle_kernel)
    # A shape (7, 13) that no other test uses, so the first call is this test's own.
    rng = np.random.default_rng(0)
    w, w_ref = rng.standard_normal((7, 13)), rng.standard_normal(13)
    for f in (relative_error, one_minus_cos, angle):
        f(w, w_ref)
    sizes = [k._cache_size() for k in kernels]
    for f in (relative_error, one_minus_cos, angle):
        f(2.0 * w + 1.0, w_ref - 3.0)
    assert [k._cache_size() for k in kernels] == sizes
    for f in (relative_error, one_minus_cos, angle):
        f(w[:3], w_ref)
    assert [k._cache_size() for k in kernels] == [s + 1 for s in sizes]
