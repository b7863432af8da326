"""Rate fits stop at the noise floor: a gap that has decayed into round-off and solver error is
not fitted; when nothing above the floor is left the rate is "not measurable".

Before: the offsets' exponent at t = 1e1000 was fitted on a ~1e-8 floor and reported as
-0.0009 (predicted 0.086), with nothing to flag it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import flowbias as fb
from flowbias.asymptotics import RateNotMeasurable, diagnose, diagnostics_summary, fit_rate


LOG_TS = np.linspace(1.0, 460.0, 200)


def _decay_with_floor(p: float, c: float, floor: float, seed: int) -> np.ndarray:
    """c t^-p plus non-negative noise of size `floor` (what a solve adds to a gap)."""
    rng = np.random.default_rng(seed)
    return c * np.exp(-p * LOG_TS) + floor * rng.uniform(0.0, 1.0, LOG_TS.shape)


def test_fit_above_the_floor_recovers_the_exponent():
    g = _decay_with_floor(0.25, 3.0, 1e-8, 0)
    naive = fit_rate(LOG_TS, g, against="t", log_t_min=50.0)
    assert abs(naive.exponent - 0.25) > 0.1  # the failure being fixed: the floor is fitted
    fit = fit_rate(LOG_TS, g, against="t", log_t_min=50.0, floor=1e-8)
    # Noise <= floor on points >= 10 floors shifts log g by <= log 1.1 = 0.095 at the low end
    # of a 4.7-wide range of log g: a slope bias of at most ~2-3%.
    assert fit.exponent == pytest.approx(0.25, rel=3e-2)
    # The window ends where the gap is ten floors: 3 e^{-0.25 log t} = 1e-7 at log t = 68.9.
    assert 50.0 <= fit.window[0] and fit.window[1] <= 69.0
    assert fit.floor == 1e-8


def test_noise_only_is_not_measurable():
    g = _decay_with_floor(0.25, 3.0, 1e-8, 1)
    with pytest.raises(RateNotMeasurable, match="not measurable: 0 of the .* noise floor"):
        fit_rate(LOG_TS, g, against="t", log_t_min=200.0, floor=1e-8)


@settings(max_examples=15, deadline=None)
@given(
    p=st.floats(0.05, 1.0),
    log10_c=st.floats(-3.0, 3.0),
    log10_floor=st.floats(-14.0, -4.0),
    log_t_min=st.floats(1.0, 300.0),
    seed=st.integers(0, 2**16),
)
def test_fit_is_right_or_not_measurable(p, log10_c, log10_floor, log_t_min, seed):
    # Never a confident wrong number: within 4 standard errors (+5%) of the true exponent.
    floor = 10.0**log10_floor
    g = _decay_with_floor(p, 10.0**log10_c, floor, seed)
    try:
        fit = fit_rate(LOG_TS, g, against="t", log_t_min=log_t_min, floor=floor)
    except RateNotMeasurable:
        return
    assert abs(fit.exponent - p) <= 4 * fit.stderr + 0.05 * p


# ---- on a flow to t = 1e1000 ------------------------------------------------------------------

X4 = np.array([[1.0, 0.5], [0.8, -0.3], [-1.0, -0.2], [2.0, 1.0]])
Y4 = np.array([1.0, 1.0, -1.0, 1.0])


@pytest.fixture(scope="module")
def far_solution():
    return fb.flowsolve(
        fb.LinearModel(np.zeros(2)), fb.ExponentialLoss(), X4, Y4, log_t1=1000 * np.log(10.0)
    )


def test_offset_exponent_at_t_1e1000_is_fitted_above_the_floor(far_solution):
    s = diagnostics_summary(far_solution, X4, Y4)
    # Predicted from the SVM dual's linearisation, independently of the trajectory.
    p = s["offset_exponent_predicted"]
    assert s["offset_exponent_status"] == "measured"
    assert s["offset_exponent_measured"] == pytest.approx(p, rel=0.1)
    lo, hi = s["offset_fit_window_log_t"]
    assert hi < 300.0  # beyond, z.rho is at the solver's ~1e-8 floor
    assert s["noise_level"] == pytest.approx(1e-10, rel=1e-6)  # the default rtol
    assert s["angle_rate"]["status"] == "measured"
    assert s["angle_rate"]["exponent"] == pytest.approx(1.0, abs=0.05)


def test_a_window_on_the_floor_says_not_measurable(far_solution):
    dg = diagnose(far_solution, X4, Y4, log_t_min=600.0)
    assert dg.offset_fit is None
    assert dg.offset_status.startswith("not measurable: 0 of the")
    assert "smaller `rtol`" in dg.offset_status
    # The slow gaps are still far above their floors there.
    assert dg.angle_status == "measured" and dg.margin_status == "measured"
