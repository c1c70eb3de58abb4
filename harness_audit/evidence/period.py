"""The period of review and the trails' coverage of it (issue 16).

``--period FROM..TO`` declares the period: events outside it are counted, not judged. Inside it
(or, with no period declared, between the first and the last event) every stretch longer than the
allowed gap with no event and no timestamped checkpoint is a coverage gap, reported with its dates.

Memory is bounded by the period, not by the trail: timestamps are kept as the earliest and the
latest of each bucket of at most the allowed gap (one hour at most), so a year is at most 8,784
buckets; a gap longer than a bucket always falls between two consecutive non-empty buckets, so
the gaps found are exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from harness_audit.errors import Diagnostic, ManifestError, UsageError

DEFAULT_MAX_GAP_S = 24 * 3600.0
"""The longest stretch with no event nor checkpoint that is not a gap, by default."""
EXPECTED_ACTIVITY_KEY = "x-expected-activity"
"""The manifest's ``trail`` extension key that declares the allowed gap: ``{max_gap: 4h}``."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str, setting: str = "--max-gap") -> float:
    """Seconds in ``90m``, ``24h``, ``2d``, ``1w`` or ``3600s``; UsageError otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise UsageError(
            Diagnostic(
                setting,
                f"not a duration: {str(text)[:40]!r}",
                expected="a positive number and a unit: 90m, 24h, 2d, 1w",
            )
        )
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_ts(ts: str) -> dt.datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; None when it does not parse."""
    try:
        t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


_TRAIL_TS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d):(\d\d)(?:\.(\d{1,6}))?Z", re.ASCII)
_MINUTES: dict[str, int | None] = {}  # "YYYY-MM-DDTHH:MM" -> its microseconds since the epoch
MAX_MINUTES = 100_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _us(t: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, unlike a float)."""
    return (t - _EPOCH) // _MICROSECOND


def trail_us(ts: str) -> int | None:
    """Microseconds since the epoch of a timestamp in the trail's own form
    (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, as writers seal it), the instant :func:`parse_ts`
    gives; None for any other text (:func:`parse_ts` decides then). The minute is parsed
    once by :func:`parse_ts` and kept: this runs for every event judged (issue 28, item 2)."""
    m = _TRAIL_TS.fullmatch(ts)
    if m is None:
        return None
    minute, second, fraction = m.groups()
    if minute in _MINUTES:
        base = _MINUTES[minute]
    else:
        t = parse_ts(f"{minute}:00Z")
        base = None if t is None else _us(t)
        if len(_MINUTES) < MAX_MINUTES:
            _MINUTES[minute] = base
    s = int(second)
    if base is None or s > 59:
        return None
    return base + s * 1_000_000 + (int(fraction.ljust(6, "0")) if fraction else 0)


def _compiled_trail_us() -> Callable[[str], int | None]:
    """:func:`trail_us` as the compiled core has it (``_cverify.trail_us``, the same answer for
    every text: tests/test_judge_compiled.py), else :func:`trail_us` itself: the judging pass
    calls it for every event (issue 28, item 2)."""
    from harness_audit.trail._core import core

    compiled = getattr(core(), "trail_us", None)
    return trail_us if compiled is None else cast("Callable[[str], int | None]", compiled)


fast_trail_us = _compiled_trail_us()
"""The :func:`trail_us` the judging pass calls: compiled when the core is (else the same)."""


def iso(t: dt.datetime) -> str:
    """``2026-01-31T12:00:00Z``: a UTC time to the second."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Period:
    """The declared period of review: ``start`` inclusive, ``end`` exclusive, as given, and
    where it was declared (``--period``, or the config file that set ``period``)."""

    start: dt.datetime
    end: dt.datetime
    text: str
    source: str = "--period"

    def __contains__(self, t: dt.datetime) -> bool:
        return self.start <= t < self.end

    def as_dict(self) -> dict[str, str]:
        """The period as JSON: as given, and its bounds (end exclusive)."""
        return {"declared": self.text, "from": iso(self.start), "to_exclusive": iso(self.end)}


def parse_period(text: str, source: str = "--period") -> Period:
    """``FROM..TO``: dates (``2026-01-01..2026-06-30``, TO's whole day included) or RFC 3339
    times (TO excluded); UsageError when it does not parse or is empty. ``source`` says where
    it was declared."""
    left, sep, right = str(text).partition("..")
    bounds: list[dt.datetime | None] = []
    for part, is_end in ((left, False), (right, True)):
        part = part.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
            try:
                day = dt.datetime.fromisoformat(part).replace(tzinfo=dt.UTC)
            except ValueError:
                bounds.append(None)
                continue
            bounds.append(day + dt.timedelta(days=1) if is_end else day)
        else:
            bounds.append(parse_ts(part) if part else None)
    start, end = bounds
    if not sep or start is None or end is None:
        raise UsageError(
            Diagnostic(
                "--period",
                f"not a period: {str(text)[:60]!r}",
                expected="FROM..TO, dates (2026-01-01..2026-06-30) or RFC 3339 times",
            )
        )
    if end <= start:
        raise UsageError(
            Diagnostic(
                "--period",
                f"{text!r} ends before it starts",
                expected="FROM..TO with FROM before TO",
            )
        )
    return Period(start, end, str(text), source)


TRAILS_SPAN = "the trails' own span: no period declared"
"""The source of the period of review when none is declared."""


@dataclass(frozen=True, slots=True)
class ReviewPeriod:
    """The one period every judgement of a pipeline's trails uses (HA-207, the work paper's
    sample sizes): the declared period (from ``--period`` or the config), else the trails' own
    span from the first event to the last; with where it came from."""

    start: str | None
    end: str | None
    days: float | None
    source: str
    declared: str | None = None  # the period as given, when declared

    @property
    def text(self) -> str:
        """The period and its source, as the pack and the findings say it."""
        if self.declared is not None:
            return f"{self.declared} (declared by {self.source})"
        if self.start is None:
            return f"none ({self.source}, and no event)"
        return f"{self.start} to {self.end} ({self.source})"


def span_text(days: float) -> str:
    """A length of time in the unit that reads: seconds, minutes, hours or days."""
    s = days * 86400
    if s < 120:
        n = f"{s:,.0f}"
        return "1 second" if n == "1" else f"{n} seconds"
    if s < 2 * 3600:
        return f"{s / 60:,.0f} minutes"
    if days < 2:
        return f"{s / 3600:,.1f} hours"
    return f"{days:,.1f} days"


def review_period(period: Period | None, first: str | None, last: str | None) -> ReviewPeriod:
    """The period of review: ``period`` when declared, else the span ``first`` to ``last``."""
    if period is not None:
        days = (period.end - period.start).total_seconds() / 86400
        return ReviewPeriod(iso(period.start), iso(period.end), days, period.source, period.text)
    a, b = (parse_ts(first) if first else None), (parse_ts(last) if last else None)
    if a is None or b is None:
        return ReviewPeriod(first, last, None, TRAILS_SPAN)
    return ReviewPeriod(iso(a), iso(b), (b - a).total_seconds() / 86400, TRAILS_SPAN)


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of the period with no event and no checkpoint, longer than the allowed gap."""

    start: str
    end: str
    hours: float

    def as_dict(self) -> dict[str, Any]:
        """The gap as JSON."""
        return {"from": self.start, "to": self.end, "hours": round(self.hours, 2)}


@dataclass
class Coverage:
    """What part of the period the trails cover: fed every event's timestamp, in any order."""

    period: Period | None
    max_gap_s: float = DEFAULT_MAX_GAP_S
    max_gap_source: str = "default"
    inside: int = 0
    outside: int = 0
    untimed: int = 0  # timestamps that did not parse: judged, not placed
    unstated: int = 0  # events whose source stated no time (x_time): judged, not placed
    buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    signed: list[float] = field(default_factory=list)  # checkpoint times, with no period
    span: tuple[float, float] | None = None  # the first and last event placed
    # what event() needs of the period and the gap, worked out once (both are fixed when the
    # coverage is made): the bucket width and the period's bounds in microseconds (no period:
    # None, None)
    _fast: tuple[float, int | None, int | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = self.period
        self._fast = (
            (self.bucket_s, None, None) if p is None else (self.bucket_s, _us(p.start), _us(p.end))
        )

    @property
    def bucket_s(self) -> float:
        """The bucket width: the allowed gap, at most an hour."""
        return min(3600.0, self.max_gap_s)

    def _place(self, t: float) -> None:
        b = int(t // self.bucket_s)
        lo, hi = self.buckets.get(b, (t, t))
        self.buckets[b] = (min(lo, t), max(hi, t))

    def event(self, ts: str) -> bool:
        """Count an event; True when it is inside the period (to be judged)."""
        us = fast_trail_us(ts)
        if us is not None:  # the trail's own form, as parse_ts reads it, without a datetime
            w, start, end = self._fast
            if start is not None and not start <= us < end:  # type: ignore[operator]
                self.outside += 1
                return False
            self.inside += 1
            x = us / 1_000_000  # what datetime.timestamp() gives for the same instant
            b = int(x // w)  # self._place, inlined: this runs for every event
            lo_hi = self.buckets.get(b)
            if lo_hi is None:
                self.buckets[b] = (x, x)
            elif x < lo_hi[0]:
                self.buckets[b] = (x, lo_hi[1])
            elif x > lo_hi[1]:
                self.buckets[b] = (lo_hi[0], x)
            span = self.span
            if span is None:
                self.span = (x, x)
            elif x < span[0]:
                self.span = (x, span[1])
            elif x > span[1]:
                self.span = (span[0], x)
            return True
        t = parse_ts(ts)
        if t is None:
            self.untimed += 1
            self.inside += 1
            return True
        if self.period is not None and t not in self.period:
            self.outside += 1
            return False
        self.inside += 1
        x = t.timestamp()
        self._place(x)
        self.span = (min(self.span[0], x), max(self.span[1], x)) if self.span else (x, x)
        return True

    def unstated_time(self, marker: object) -> bool:
        """Count an event whose ``ts`` its source did not state (an import's ``x_time:
        unknown``, the time placed): judged, but never placed, so it is no evidence that the
        period was covered (a gap it would close stays a gap). True: it is judged."""
        if marker != "unknown":  # another value is no marker the importers write: a time
            return True
        self.unstated += 1
        self.inside += 1
        return True

    def checkpoint(self, ts: str) -> None:
        """A timestamped checkpoint inside the period covers it too: a witness's cosignature,
        or the signing time of a trusted checkpoint (its ``harness-audit-signed`` line)."""
        t = parse_ts(ts)
        if t is None:
            return
        if self.period is None:  # the period is the events' span: known once they are read
            self.signed.append(t.timestamp())
        elif t in self.period:
            self._place(t.timestamp())

    def close(self) -> None:
        """With no declared period, place the checkpoint times that fall inside the events'
        own span (they close its gaps; they do not stretch the period of review)."""
        if self.span is not None:
            for x in self.signed:
                if self.span[0] <= x <= self.span[1]:
                    self._place(x)
        self.signed = []

    @property
    def first(self) -> str | None:
        """The earliest event (or checkpoint) placed in the period."""
        return (
            iso(dt.datetime.fromtimestamp(self.buckets[min(self.buckets)][0], dt.UTC))
            if self.buckets
            else None
        )

    @property
    def last(self) -> str | None:
        """The latest event (or checkpoint) placed in the period."""
        return (
            iso(dt.datetime.fromtimestamp(self.buckets[max(self.buckets)][1], dt.UTC))
            if self.buckets
            else None
        )

    def gaps(self) -> list[Gap]:
        """Every stretch longer than the allowed gap with nothing in it, in time order: from the
        period's start to the first event, between events, and from the last to the end (no
        period declared: between the first and the last event only)."""
        points = []
        for b in sorted(self.buckets):
            lo, hi = self.buckets[b]
            points.append((lo, hi))
        edges: list[tuple[float, float]] = []
        if self.period is not None:
            start, end = self.period.start.timestamp(), self.period.end.timestamp()
            if not points:
                edges.append((start, end))
            else:
                edges.append((start, points[0][0]))
                edges.append((points[-1][1], end))
        edges += [(a[1], b[0]) for a, b in itertools.pairwise(points)]
        out = [
            Gap(
                iso(dt.datetime.fromtimestamp(a, dt.UTC)),
                iso(dt.datetime.fromtimestamp(b, dt.UTC)),
                (b - a) / 3600,
            )
            for a, b in edges
            if b - a > self.max_gap_s
        ]
        return sorted(out, key=lambda g: g.start)

    def as_dict(self) -> dict[str, Any]:
        """The coverage as JSON: declared period, observed span, counts and gaps."""
        return {
            "period": self.period.as_dict() if self.period else None,
            "observed": {"from": self.first, "to": self.last},
            "events_in_period": self.inside,
            "events_outside_period": self.outside,
            "max_gap_hours": round(self.max_gap_s / 3600, 4),
            "max_gap_source": self.max_gap_source,
            "gaps": [g.as_dict() for g in self.gaps()],
            **({"events_time_unknown": self.unstated} if self.unstated else {}),
        }


def expected_gap(file: str, line: int) -> float | None:
    """The allowed gap the manifest declares as ``trail.x-expected-activity`` (``{max_gap:
    4h}`` or ``4h``), None when it declares none; ManifestError on a value that is no duration."""
    from harness_audit.manifest.yamlsafe import load_yaml

    try:
        data = load_yaml(Path(file)).data
    except (OSError, ValueError):
        return None
    trail = data.get("trail") if isinstance(data, dict) else None
    value = trail.get(EXPECTED_ACTIVITY_KEY) if isinstance(trail, dict) else None
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("max_gap")
    try:
        return parse_duration(str(value), f"trail.{EXPECTED_ACTIVITY_KEY}")
    except UsageError as e:
        raise ManifestError(
            Diagnostic(
                file,
                f"trail.{EXPECTED_ACTIVITY_KEY}: not a duration: {str(value)[:40]!r}",
                line or None,
                expected="{max_gap: 24h}",
            )
        ) from e
