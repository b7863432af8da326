"""Sample points of a domain, and the convexity check every user potential passes."""

from __future__ import annotations

import math

import numpy as np


def sample_points(domain: tuple[float, float]) -> np.ndarray:
    """Points spread over the open interval `domain`, log-spaced towards its ends."""
    a, b = domain
    r = np.logspace(-3, 2, 11)
    if a == -math.inf and b == math.inf:
        return np.concatenate([-r[::-1], r])
    if b == math.inf:
        return a + r
    if a == -math.inf:
        return b - r[::-1]
    t = np.linspace(0.02, 0.98, 25)
    return a + (b - a) * t


def check_domain_argument(domain) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise TypeError(
            f"`domain` must be a pair (a, b) of numbers; got {domain!r}. Fix: e.g. "
            "domain=(0, math.inf) for an entropy."
        ) from None
    if not (a < b) or math.isnan(a) or math.isnan(b):
        raise ValueError(f"`domain` must be an interval (a, b) with a < b; got {domain!r}.")
    return a, b


def check_convex(label: str, phi, grad, curvature, domain) -> None:
    """Refuse a potential that is not finite, strictly convex and smooth on sample points."""
    w = sample_points(domain)
    values = np.asarray(phi(w), dtype=np.float64)
    slopes = np.asarray(grad(w), dtype=np.float64)
    curv = np.asarray(curvature(w), dtype=np.float64)
    for name, v in (("phi", values), ("phi'", slopes), ("phi''", curv)):
        bad = ~np.isfinite(v)
        if bad.any():
            raise ValueError(
                f"the potential {label} has {name}(w) = {v[bad][0]} at w = {w[bad][0]:g}, "
                f"inside the domain {domain}. Fix: pass the interval on which it is finite as "
                "`domain` (e.g. domain=(0, math.inf) for entropies)."
            )
    if not (curv > 0).all() or not (np.diff(slopes) > 0).all():
        i = int(np.flatnonzero(curv <= 0)[0]) if (curv <= 0).any() else 0
        raise ValueError(
            f"the potential {label} is not strictly convex on {domain}: phi''({w[i]:g}) = "
            f"{curv[i]:g}. A mirror map must be strictly increasing. Fix: use a strictly "
            "convex phi, e.g. abs(w)**p/p with p > 1."
        )
