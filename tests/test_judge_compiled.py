"""The judging pass's compiled helpers (``_cverify``'s judging block, issue 28 item 2) against
their Python twins, which stay the reference: the same answer for every input, trail-form
times and text that only looks like one alike."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness_audit.evidence import period
from harness_audit.trail import _core


def _built() -> ModuleType | None:
    """The compiled core when it was built, whether or not it is in use (with
    HARNESS_AUDIT_CORE=python the judging pass runs the pure path, and the twins are still
    compared)."""
    try:
        from harness_audit.trail import _cverify  # type: ignore[attr-defined]
    except ImportError:
        return None
    module: ModuleType = _cverify
    return module


C = _built()
needs_core = pytest.mark.skipif(
    C is None, reason="the compiled core is not built (no compiler or libssl-dev)"
)


def test_the_judging_pass_uses_the_compiled_helper_when_the_core_is_in_use() -> None:
    if _core.compiled():
        assert period.fast_trail_us is C.trail_us  # type: ignore[union-attr]
    else:
        assert period.fast_trail_us is period.trail_us


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


# the trail's own form, with every field drawn over all its digits (invalid dates included)
trail_form = st.builds(
    lambda y, mo, d, h, mi, s, frac, z: f"{y}-{mo}-{d}T{h}:{mi}:{s}{frac}{z}",
    _digits(4),
    _digits(2),
    _digits(2),
    _digits(2),
    _digits(2),
    _digits(2),
    st.one_of(st.just(""), st.text("0123456789", max_size=9).map(lambda f: "." + f)),
    st.sampled_from(["Z", "Z", "Z", "z", "+00:00", "", "Z "]),
)
# the same, from real dates: most of them valid
real_form = st.builds(
    lambda t, frac: t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z",
    st.datetimes(),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=7).map(lambda f: "." + f)),
)


@needs_core
@given(st.one_of(trail_form, real_form, st.text(max_size=30)))
@example("2026-09-14T03:00:01.345Z")
@example("0000-01-01T00:00:00Z")  # year 0: no such year
@example("0001-01-01T00:00:00Z")
@example("9999-12-31T23:59:59.999999Z")
@example("2024-02-29T12:00:00Z")  # a leap day
@example("2100-02-29T12:00:00Z")  # not one
@example("2000-02-29T12:00:00Z")  # one
@example("2026-01-01T24:00:00Z")
@example("2026-01-01T23:60:00Z")
@example("2026-01-01T23:59:60Z")  # a leap second: not the trail's
@example("2026-01-01T23:59:59.Z")
@example("2026-01-01T23:59:59.1234567Z")
@example("1969-12-31T23:59:59.5Z")
@example("２０２６-01-01T00:00:00Z")  # digits beyond ASCII
@example("")
def test_compiled_trail_us_is_the_python_one(ts: str) -> None:
    assert C is not None
    assert C.trail_us(ts) == period.trail_us(ts)


@needs_core
def test_compiled_trail_us_refuses_what_is_not_text() -> None:
    assert C is not None
    with pytest.raises(TypeError):
        C.trail_us(b"2026-01-01T00:00:00Z")


def _covered(ts: list[str], period_: period.Period | None, gap: float) -> tuple[Any, ...]:
    cov = period.Coverage(period_, gap, "test")
    judged = [cov.event(t) for t in ts]
    cov.close()
    gaps = [g.as_dict() for g in cov.gaps()]
    return judged, cov.inside, cov.outside, cov.untimed, cov.buckets, cov.span, gaps


@needs_core
@given(
    st.lists(st.one_of(real_form, trail_form, st.sampled_from(["", "soon", "2026-09-14"]))),
    st.sampled_from([None, "2026-01-01..2026-06-30", "1999-12-31T23:00:00Z..2100-01-01T00:00:00Z"]),
    st.sampled_from([60.0, 3600.0, 86400.0]),
)
def test_coverage_is_the_same_with_either_trail_us(
    ts: list[str], declared: str | None, gap: float
) -> None:
    """The coverage of a run of times (the period, the buckets, the gaps) is the same whether
    its events are placed by the compiled helper or by the Python reference."""
    assert C is not None
    p = period.parse_period(declared) if declared else None
    saved = period.fast_trail_us
    try:
        period.fast_trail_us = C.trail_us
        compiled = _covered(ts, p, gap)
        period.fast_trail_us = period.trail_us
        pure = _covered(ts, p, gap)
    finally:
        period.fast_trail_us = saved
    assert compiled == pure
