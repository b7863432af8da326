import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowbias as fb


LOSSES = [fb.ExponentialLoss(), fb.LogisticLoss()]


def _naive_value(loss, m):
    if isinstance(loss, fb.ExponentialLoss):
        return np.mean(np.exp(-m))
    return np.mean(np.log1p(np.exp(-m)))


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_classification_loss_matches_naive_at_moderate_margins(loss):
    rng = np.random.default_rng(0)
    f, y = rng.normal(size=30) * 3, np.sign(rng.normal(size=30))
    m = y * f
    assert np.exp(float(loss.log_value(jnp.array(f), jnp.array(y)))) == pytest.approx(
        _naive_value(loss, m), rel=1e-13
    )
    grad = jax.grad(lambda f_: jnp.mean(jnp.log1p(jnp.exp(-y * f_))))(jnp.array(f))
    if isinstance(loss, fb.ExponentialLoss):
        grad = jax.grad(lambda f_: jnp.mean(jnp.exp(-y * f_)))(jnp.array(f))
    np.testing.assert_allclose(loss.grad(jnp.array(f), jnp.array(y)), grad, rtol=1e-13)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
@pytest.mark.parametrize("margin", [1e3, 5e3, 1e5])
def test_classification_loss_stable_at_huge_margins(loss, margin):
    # At margins m, L = (1/n) sum exp(-m_i) (to within e^-m for logistic): log L = -min m + ...
    f = jnp.array([margin, margin + 1.0, -margin - 2.0])
    y = jnp.array([1.0, 1.0, -1.0])
    m = np.array([margin, margin + 1.0, margin + 2.0])
    expected = -margin + np.log(np.sum(np.exp(-(m - margin)))) - np.log(3)
    assert float(loss.log_value(f, y)) == pytest.approx(expected, rel=1e-14)
    # The scaled gradient at log-scale c = margin is O(1), exactly e^{c - m_i} y_i / n.
    g = loss.scaled_grad(f, y, jnp.array(margin))
    np.testing.assert_allclose(g, -np.asarray(y) * np.exp(margin - m) / 3, rtol=1e-13)
    assert np.all(np.isfinite(g))
    assert np.all(np.isfinite(jax.grad(lambda f_: loss.log_value(f_, y))(f)))


def test_square_loss_log_value_no_underflow():
    loss = fb.SquareLoss()
    y = jnp.zeros(4)
    f = jnp.array([1e-200, 0.0, 0.0, 0.0])
    # ||r||^2/(2n) = 1e-400/8: underflows as a float, not as a log.
    assert float(loss.log_value(f, y)) == pytest.approx(-400 * np.log(10) - np.log(8), rel=1e-14)
    assert float(loss.log_value(y, y)) == -np.inf


def test_logistic_log_value_matches_exp_tail():
    # For m -> inf, log(1 + e^-m) = e^-m (1 - e^-m/2 + ...): relative difference e^-m/2.
    loss = fb.LogisticLoss()
    m = 40.0
    lv = float(loss.log_value(jnp.array([m]), jnp.array([1.0])))
    assert lv == pytest.approx(-m + np.log1p(-0.5 * np.exp(-m)), abs=1e-15)


@pytest.mark.parametrize("k", [0.5, 1.0, 3.0])
def test_polynomial_loss_values_slopes_and_inverse(k):
    loss = fb.PolynomialLoss(k)
    m = np.array([-3.0, -0.7, -1e-3, 0.0, 1e-3, 0.4, 7.0, 1e6])

    def ell(v):  # written out here: (1 + m)^-k, its Taylor quadratic below 0
        return (1 + v) ** -k if v >= 0 else 1 - k * v + 0.5 * k * (k + 1) * v**2

    def slope(v):
        return k * (1 + v) ** (-k - 1) if v >= 0 else k - k * (k + 1) * v

    np.testing.assert_allclose(np.exp(loss.log_ell(jnp.array(m))), [ell(v) for v in m], rtol=1e-14)
    np.testing.assert_allclose(
        np.exp(loss.log_neg_ell_prime(jnp.array(m))), [slope(v) for v in m], rtol=1e-14
    )
    np.testing.assert_allclose(
        loss.inverse_neg_log_ell(-loss.log_ell(jnp.array(m))), m, rtol=1e-9, atol=1e-12
    )
    # At margins of 1e200 the loss is 1e-200k: log-values stay finite.
    assert float(loss.log_ell(jnp.array(1e200))) == pytest.approx(-k * 200 * np.log(10), rel=1e-14)
    with pytest.raises(ValueError, match="k"):
        fb.PolynomialLoss(0.0)


def test_polynomial_loss_is_a_margin_loss_but_not_exponentially_tailed():
    # The max-margin theorems are registered for exponentially tailed losses only.
    assert isinstance(fb.PolynomialLoss(), fb.AbstractMarginLoss)
    assert not isinstance(fb.PolynomialLoss(), fb.AbstractClassificationLoss)
