"""Issue 28, item 5: the faster ingest paths give what the slower ones gave (differential
tests; no timing is asserted: the figures are in bench/README.md).

- sealing: one encoding of an event gives both its line and the bytes hashed (the ``hash``
  member taken out of the sorted line) instead of encoding it twice;
- JSON text with integers past 64 bits (SDK span dumps' 128-bit ids) is parsed by msgspec
  instead of the standard library: the same values;
- ``collect``'s sink writes a batch without decoding every line back;
- every trace format of the registry has a bench case (``bench/gen_imports.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness_audit.importers import base as base_module
from harness_audit.importers.base import count_values, json_loads, ts_to_ns
from harness_audit.trail.canonical import canonicalize_general
from harness_audit.trail.seal import seal_event
from harness_audit.trail.writer import TrailWriter

from .test_import_spill import _gen_imports

ROOT = Path(__file__).resolve().parents[1]
PREV = "ab" * 32


def _reference(event: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
    """Sealing as it was: the canonical form without ``hash`` hashed, then encoded again
    with it (RFC 8785 in full, the general form)."""
    body = {k: v for k, v in event.items() if k != "hash"}
    body |= {"v": 1, "seq": seq, "prev": prev}
    body.setdefault("span", f"s{seq}")
    digest = hashlib.sha256(b"\x00" + canonicalize_general(body)).hexdigest()
    return canonicalize_general({**body, "hash": digest}), digest


BASE = {
    "ts": "2026-01-01T00:00:00.000Z",
    "run": "r1",
    "parent": None,
    "agent": "a",
    "kind": "tool_call",
    "tool": "t",
    "effect": "read",
    "scope": "s",
    "outcome": "ok",
}

CASES = [
    BASE,
    {**BASE, "hash": "stale"},  # a hash given is replaced
    {**BASE, "x_note": {"hash": "h" * 64}},  # a nested member like the stand-in
    {**BASE, "x_note": {"hash": "h" * 64, "deeper": [{"hash": "h" * 64}]}},
    {**BASE, "x_text": '"hash":"' + "h" * 64 + '"'},  # the stand-in inside a string
    {**BASE, "x_unicode": 'é\u2028\x00"\\', "x_list": [1, None, True, "x"]},
    {**BASE, "agent": "a" * 5, "x_a": 1, "x_z": -(2**53 - 1)},
]


@pytest.mark.parametrize("event", CASES)
def test_sealing_with_one_encoding_is_the_reference(event: dict[str, Any]) -> None:
    line, digest = seal_event(event, 7, PREV)
    assert (line, digest) == _reference(event, 7, PREV)


def test_a_first_member_hash_is_taken_out_with_its_comma() -> None:
    """``hash`` sorts first when no key sorts before it (not a trail event, but the
    unsigned bytes must still be the canonical form without it)."""
    from harness_audit.trail import seal as seal_mod

    body = {"kind": "x", "seq": 1}
    line = seal_mod._marked_line(body)
    assert line.startswith(b'{"hash":')
    want = hashlib.sha256(b"\x00" + canonicalize_general(body)).hexdigest()
    assert seal_mod._digest_of_marked(line) == want
    alone: dict[str, Any] = {}
    line = seal_mod._marked_line(alone)
    assert seal_mod._digest_of_marked(line) == hashlib.sha256(b"\x00{}").hexdigest()


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(extra=st.dictionaries(st.text("xyz_hash", min_size=1, max_size=6), _values, max_size=4))
def test_sealing_differential(extra: dict[str, Any]) -> None:
    event = {**BASE, **{f"x_{k}": v for k, v in extra.items()}}
    if "x_hash" in extra:  # a member named like the stand-in, at the top: x_hash, not hash
        event["x_hash"] = {"hash": "h" * 64}
    assert seal_event(event, 3, PREV) == _reference(event, 3, PREV)


BIG = [
    b'{"trace_id": 123456789012345678901234567890123456789, "n": -99999999999999999999999}',
    b'[{"a": 1.5, "b": 18446744073709551616, "c": "12345678901234567890123"}]',
    b'{"k": 100000000000000000000, "u": "\\u00e9\\n", "z": [1e2, -0.0, 3.25e-5]}',
]


@pytest.mark.parametrize("raw", BIG)
def test_big_integers_parse_as_the_standard_library_does(raw: bytes) -> None:
    got = json_loads(raw)
    assert got == json.loads(raw)
    assert json.dumps(got) == json.dumps(json.loads(raw))  # ints stay ints, exact


@pytest.mark.parametrize(
    "raw",
    [b'{"a": 100000000000000000000, "b": NaN}', b'{"a": 100000000000000000000', b"[" * 5000],
)
def test_big_integer_text_that_is_no_json_is_refused(raw: bytes) -> None:
    import orjson

    with pytest.raises(orjson.JSONDecodeError):
        json_loads(raw + b" 100000000000000000000")


def test_write_many_writes_what_append_many_writes(tmp_path: Path) -> None:
    """The sink's batch write (no lines decoded back) and append_many seal alike."""
    events = [{**BASE, "run": f"r{i}", "ts": f"2026-01-01T00:00:0{i}.000Z"} for i in range(5)]
    with TrailWriter(tmp_path / "a", "o", None, checkpoint_every=0) as a:
        written = a.append_many(events)
    with TrailWriter(tmp_path / "b", "o", None, checkpoint_every=0) as b:
        lines = b.write_many(events)
    assert [json.loads(x) for x in lines] == written
    seg_a = sorted((tmp_path / "a").glob("*.jsonl"))[0].read_bytes()
    seg_b = sorted((tmp_path / "b").glob("*.jsonl"))[0].read_bytes()
    assert seg_a == seg_b == b"".join(x + b"\n" for x in lines)


def test_every_trace_format_has_a_bench_case() -> None:
    """A new importer is never left out of bench/bench_import.py."""
    assert _gen_imports().missing_formats() == []


def _old_pending(actions_and_obs: list[tuple[str, str | None]]) -> dict[str, int]:
    """mini-swe-agent's matching as it was (a list of pending actions, ``remove`` by
    value): which observation (its index) each action got."""
    pending: list[str] = []
    by_call: dict[str, str] = {}
    got: dict[str, int] = {}
    for i, (what, ident) in enumerate(actions_and_obs):
        if what == "action":
            assert ident is not None
            pending.append(ident)
            by_call[ident] = ident
            continue
        tc = by_call.pop(ident, None) if ident is not None else None
        if tc is None and pending:
            tc = pending[0]
        if tc is None:
            continue
        pending.remove(tc)
        got[tc] = i
    return got


def test_mini_swe_agent_pending_actions_match_as_before(tmp_path: Path) -> None:
    """The pending actions are a dict, not a list (taking one out scanned past every action
    never observed: quadratic in a long trajectory); observations go to the same actions:
    by id, else the oldest still pending."""
    from harness_audit.importers import import_trace

    steps = 60
    seq: list[tuple[str, str | None]] = []
    messages: list[dict[str, Any]] = [{"role": "system", "content": "s"}]
    for n in range(steps):
        ids = [f"a{n}", f"b{n}"]
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "extra": {
                    "actions": [{"command": "ls", "tool_call_id": x} for x in ids],
                    "timestamp": 1767000000.0 + n,
                },
            }
        )
        seq += [("action", x) for x in ids]
        # a{n} observed by its id; b{n} never, but every tenth step an observation without
        # an id takes the oldest action still pending
        obs = [f"a{n}"] + ([None] if n % 10 == 9 else [])
        for x in obs:
            m: dict[str, Any] = {
                "role": "tool",
                "content": "",
                "extra": {"returncode": len(seq) % 3, "timestamp": 1767000000.5 + n},
            }
            if x is not None:
                m["tool_call_id"] = x
            messages.append(m)
            seq.append(("obs", x))
    doc = {
        "info": {"exit_status": "Submitted", "mini_version": "2.0.0"},
        "messages": messages,
        "trajectory_format": "mini-swe-agent-1.1",
    }
    p = tmp_path / "t.traj.json"
    p.write_text(json.dumps(doc))
    events = [r.event for r in import_trace([p], fmt="mini-swe-agent").events()]
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    want = _old_pending(seq)
    observed = {span for span, e in tools.items() if "x_returncode" in e}
    assert observed == set(want)
    for span, i in want.items():  # the returncode of the observation it got
        assert tools[span]["x_returncode"] == i % 3


def test_mini_swe_agent_an_observation_of_an_action_observed_already_is_dropped(
    tmp_path: Path,
) -> None:
    """An observation naming an action that an earlier observation without an id took by
    position is counted as dropped (it raised an internal error before)."""
    from harness_audit.importers import import_trace

    def obs(call: str | None, code: int) -> dict[str, Any]:
        m: dict[str, Any] = {"role": "tool", "content": "", "extra": {"returncode": code}}
        return m | ({"tool_call_id": call} if call else {})

    act = {"actions": [{"command": "ls", "tool_call_id": "a"}], "timestamp": 1767000000.0}
    doc = {
        "info": {"exit_status": "Submitted", "mini_version": "2.0.0"},
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "assistant", "content": None, "extra": act},
            obs(None, 0),  # takes "a" by position
            obs("a", 1),  # names "a" again
        ],
        "trajectory_format": "mini-swe-agent-1.1",
    }
    p = tmp_path / "t.traj.json"
    p.write_text(json.dumps(doc))
    trace = import_trace([p], fmt="mini-swe-agent")
    tools = [r.event for r in trace.events() if r.event["kind"] == "tool_call"]
    assert [t["x_returncode"] for t in tools] == [0]


_OLD_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9})\d*)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def _old_text_ns(text: str) -> int | None:
    """``ts_to_ns`` of RFC 3339 text as it was: a ``datetime`` per timestamp."""
    m = _OLD_RFC3339.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        base = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), min(int(s), 59), tzinfo=dt.UTC)
    except ValueError:
        return None
    offset = 0
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    seconds = int(base.timestamp()) - offset
    nanos = int((frac or "0").ljust(9, "0")[:9])
    return max(0, seconds * 1_000_000_000 + nanos)


_D2 = st.integers(0, 99).map(lambda n: f"{n:02d}")
_TIMESTAMPS = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, tz: f"{y:04d}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{tz}",
    st.integers(0, 9999) | st.sampled_from([1969, 1970, 2000, 2024, 2026]),
    _D2 | st.sampled_from(["01", "02", "12", "13"]),
    _D2 | st.sampled_from(["28", "29", "30", "31", "32"]),
    st.sampled_from(["T", "t", " "]),
    _D2 | st.sampled_from(["00", "23", "24"]),
    _D2 | st.sampled_from(["00", "59", "60"]),
    _D2 | st.sampled_from(["59", "60", "61"]),
    st.sampled_from(["", ".1", ",5", ".120000", ".123456789", ".1234567891234"]),
    st.sampled_from(["", "Z", "z", "+00:00", "-05:30", "+1400", "-23:59", "+99:99"]),
)


@settings(max_examples=300, deadline=None)
@given(_TIMESTAMPS)
def test_rfc3339_times_parse_as_with_a_datetime_each(text: str) -> None:
    """``ts_to_ns`` counts days (remembered per date) instead of building a ``datetime`` per
    timestamp (most of a Phoenix or Langfuse span's reading): the same nanoseconds, the same
    refusals (no such day, hour 24, minute 60), for every date, separator, fraction and offset."""
    assert ts_to_ns(text) == _old_text_ns(text)
    assert ts_to_ns(f" {text} ") == _old_text_ns(text)


def test_the_common_shapes_are_read_without_the_pattern() -> None:
    """``Z`` and an offset ``±HH:MM`` (Phoenix's ``+00:00``) take the reading without the
    pattern (session 7: Phoenix's timestamps went to the pattern), with the pattern's value."""
    from harness_audit.importers.base import _utc_ns

    for text in (
        "2026-03-02T10:15:00.120000+00:00",
        "2026-03-02T10:15:00-05:30",
        "2026-03-02T10:15:00.123456789Z",
        "1970-01-01T00:00:00+01:00",
    ):
        assert _utc_ns(text) >= 0 and _utc_ns(text) == _old_text_ns(text), text
    for text in ("2026-03-02T10:15:00.+00:00", "2026-03-02T10:15:00+0000", "2026-03-02 10:15:00Z"):
        assert _utc_ns(text) == -1, text  # the pattern's to read (or refuse)


def test_rfc3339_dates_are_remembered_boundedly() -> None:
    """The days remembered are bounded (a stream of distinct dates does not grow them)."""
    for n in range(5000):
        day = dt.date(1970, 1, 1) + dt.timedelta(days=n)
        assert ts_to_ns(f"{day.isoformat()}T00:00:00Z") == n * 86400 * 10**9
    assert len(base_module._DAYS) <= 4096


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet=',:[]{}"ab1 \\', max_size=300).map(str.encode))
def test_values_are_counted_as_with_four_counts(raw: bytes) -> None:
    """``count_values`` in one pass (a translate keeping the four separators) counts what the
    four ``bytes.count`` passes counted."""
    old = raw.count(b",") + raw.count(b":") + raw.count(b"[") + raw.count(b"{") + 1
    assert count_values(raw) == old
    assert base_module._NOT_SEPARATORS.translate(None, b",:[{") == base_module._NOT_SEPARATORS
