"""Confidence bounds on an observed success rate (SLA.md, Observed): one-sided Wilson score and
exact Clopper–Pearson bounds, and how many more runs a claim needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Z95 = 1.6448536269514722  # one-sided 95%: the 0.95 quantile of the standard normal
ALPHA = 0.05
SMALL_N = 100


def wilson_bounds(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """One-sided Wilson score bounds (lower, upper) for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denom = 1 + z2 / n
    lower = max(0.0, (centre - spread) / denom)
    upper = min(1.0, (centre + spread) / denom)
    return min(lower, p), max(upper, p)  # rounding must not put the estimate outside


def _binom_tail_ge(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0.0:
        return 1.0 if k <= 0 else 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    lc = math.lgamma(n + 1)
    return math.fsum(
        math.exp(lc - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq)
        for i in range(k, n + 1)
    )


def clopper_pearson_bounds(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """One-sided exact (Clopper–Pearson) bounds at confidence 1 − alpha."""
    if n == 0:
        return 0.0, 1.0
    if k == n:
        lower = alpha ** (1.0 / n)  # closed form: p^n = alpha
    elif k == 0:
        lower = 0.0
    else:
        lower = _bisect(lambda p: _binom_tail_ge(k, n, p) - alpha)
    if k == 0:
        upper = 1 - alpha ** (1.0 / n)
    elif k == n:
        upper = 1.0
    else:  # P(X <= k) = alpha  <=>  P(X >= k+1) = 1 - alpha
        upper = _bisect(lambda p: _binom_tail_ge(k + 1, n, p) - (1 - alpha))
    return lower, upper


def _bisect(f: Callable[[float], float]) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


BoundsMethod = Literal["none", "clopper-pearson", "wilson"]
Verdict = Literal["meets", "misses", "not enough data"]


def confidence_bounds(k: int, n: int) -> tuple[float, float, BoundsMethod]:
    """(lower, upper, method): exact when k = n or n is small, Wilson otherwise (SLA.md)."""
    if n == 0:
        return 0.0, 1.0, "none"
    if k == n or n <= SMALL_N:
        lo, hi = clopper_pearson_bounds(k, n)
        return lo, hi, "clopper-pearson"
    lo, hi = wilson_bounds(k, n)
    return lo, hi, "wilson"


def runs_to_claim(required: float, confidence: float = 0.95) -> int:
    """Runs with zero failures needed to claim ``required`` at ``confidence``:
    n >= ln(1 − confidence) / ln(required) (2,995 runs for 99.9% at 95%)."""
    if required >= 1.0:
        return 0
    return math.ceil(math.log(1 - confidence) / math.log(required) - 1e-9)


def runs_still_needed(k: int, n: int, required: float) -> int | None:
    """More runs, all successful, until the lower bound reaches ``required`` (None: never,
    e.g. required = 1)."""
    if required >= 1.0:
        return None
    if confidence_bounds(k, n)[0] >= required:
        return 0
    lo, hi = 0, max(1, runs_to_claim(required))
    while confidence_bounds(k + hi, n + hi)[0] < required:
        lo, hi = hi, hi * 2
        if hi > 10**9:
            return None
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if confidence_bounds(k + mid, n + mid)[0] >= required:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True, slots=True)
class Observed:
    """An observed success rate judged against what the stage requires, with its bounds."""

    attempts: int
    successes: int
    rate: float | None
    lower: float
    upper: float
    method: BoundsMethod
    verdict: Verdict
    runs_needed: int | None
    unknown: int = 0  # attempts of unknown result, not counted (the stage is then not proven)


def judge_observed(successes: int, attempts: int, required: float) -> Observed:
    """Judge ``successes`` of ``attempts`` against ``required``: meets (the lower bound reaches
    it), misses (the upper bound is below it) or not enough data (and how many more runs would
    settle it)."""
    lo, hi, method = confidence_bounds(successes, attempts)
    verdict: Verdict
    needed: int | None
    if attempts and lo >= required:
        verdict, needed = "meets", 0
    elif attempts and hi < required:
        verdict, needed = "misses", None
    else:
        verdict, needed = "not enough data", runs_still_needed(successes, attempts, required)
    return Observed(
        attempts,
        successes,
        successes / attempts if attempts else None,
        lo,
        hi,
        method,
        verdict,
        needed,
    )
