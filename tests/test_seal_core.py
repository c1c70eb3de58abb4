"""Issue 28, item 5: sealing in the compiled core (``_cverify.seal_batch``) against the
pure-Python sealing (``seal.seal_event``, the reference): the same lines, hashes and links,
the same refusals, byte for byte; every line the core seals is one its verify loop takes; the
trails of ``trail import`` of the real traces identical with either core."""

from __future__ import annotations

import datetime as dt
import math
from collections import UserDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace
from harness_audit.trail import _core
from harness_audit.trail import events as ev_mod
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.seal import seal_event, seal_many
from harness_audit.trail.sealer import seal_events
from harness_audit.trail.writer import TrailWriter

from .test_trail_core import ANY, TEXT, ascii_event, events
from .trailkit import SIGNER

pytestmark = pytest.mark.skipif(
    not _core.available(), reason="the compiled core is not built (no compiler or libssl-dev)"
)

ZERO = "0" * 64
REAL = Path(__file__).resolve().parents[2] / "shared" / "real"


def _cverify() -> Any:
    from harness_audit.trail import _cverify as c  # type: ignore[attr-defined]

    return c


def both(evs: list[dict[str, Any]], seq: int = 0, prev: str = ZERO) -> tuple[Any, Any]:
    """seal_many with the compiled core and with the pure one: (lines, leaves, last, error
    text) each."""
    out = []
    for core in ("c", "python"):
        with _core.using(core):
            lines, leaves, last, error = seal_many(evs, seq, prev)
        out.append((lines, leaves, last, None if error is None else str(error)))
    return out[0], out[1]


# values a plain event does not hold: the general form (or a refusal) decides them
ODD: st.SearchStrategy[Any] = st.sampled_from(
    [
        1.5,
        -0.0,
        math.inf,
        2**53,
        -(2**53),
        2**64,
        (1, 2),
        "\ud800",
        {"é": 1},
        {1: 2},
        {"hash": "h" * 64},
        {"a\n": 1},
        [[[]]],
        True,
    ]
)


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Events of every kind, valid or near it, with ``x_`` fields of any value (text beyond
    ASCII, escapes), odd values and missing ``ts``/``span``."""
    n = draw(st.integers(1, 6))
    out = []
    for i in range(n):
        e = draw(events(i)) if draw(st.booleans()) else ascii_event(draw(st.integers(0, 79)))
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(["x_a", "x_z", "x_cost", "x_outcome", "zz", "a_x"]) | TEXT)
            e[name] = draw(ANY | ODD)
        if not draw(st.integers(0, 5)):
            e.pop(draw(st.sampled_from(["ts", "span", "hash", "prev", "seq", "v"])), None)
        out.append(e)
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.integers(0, 2**53 - 1) | st.integers(0, 5))
@example([ascii_event(0), {**ascii_event(1), "x_y": {"hash": "h" * 64}}], 0)
@example([{**ascii_event(2), "x_é": "é\u2028\x7f\x00"}, ascii_event(3)], 2**53 - 2)
def test_the_compiled_sealing_is_the_reference(evs: list[dict[str, Any]], seq: int) -> None:
    c_out, py_out = both(evs, seq)
    assert c_out == py_out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_what_the_core_seals_the_verify_loop_takes(evs: list[dict[str, Any]]) -> None:
    """Event by event: the core seals an event exactly as seal_event does, and only when the
    verify loop takes the line (else it hands the event back)."""
    c = _cverify()
    prev = ZERO
    for seq, e in enumerate(evs):
        lines, leaves, last = c.seal_batch([e], 0, seq, prev, ev_mod.MAX_LINE, None)
        try:
            line, digest = seal_event(e, seq, prev)
        except ValueError:
            assert lines == []  # refused by the reference: never sealed by the core
            continue
        if lines:
            assert lines == [line] and leaves.hex() == digest and last == digest
            assert c.check(line)
        prev = digest


def test_the_core_hands_back_what_it_does_not_decide() -> None:
    c = _cverify()
    base = ascii_event(0)
    for e in (
        {k: v for k, v in base.items() if k != "ts"},  # the caller stamps it (or refuses)
        UserDict(base),  # not a dict
        {**base, "x": 1.0},
        {**base, "x": (1,)},
        {**base, "x": 2**53},
        {**base, "x": "\udc00"},
        {**base, "é": 1},
        {**base, "x": _nested(64)},  # 65 levels with the event's own
        {**base, "ts": "yesterday"},
    ):
        assert c.seal_batch([e], 0, 0, ZERO, ev_mod.MAX_LINE, None)[0] == []
    # a line longer than the limit, a prev that is not hex, a seq beyond 2^53 - 1
    assert c.seal_batch([base], 0, 0, ZERO, 100, None)[0] == []
    assert c.seal_batch([base], 0, 0, "g" * 64, ev_mod.MAX_LINE, None)[0] == []
    assert c.seal_batch([base], 0, 2**53, ZERO, ev_mod.MAX_LINE, None)[0] == []
    deepest = {**base, "x": _nested(63)}  # 64 levels: the limit
    assert len(c.seal_batch([base, deepest], 0, 0, ZERO, ev_mod.MAX_LINE, None)[0]) == 2


def _nested(levels: int) -> Any:
    """``levels`` lists, one inside the other."""
    x: Any = []
    for _ in range(levels - 1):
        x = [x]
    return x


def test_the_leaves_go_into_the_merkle_subtrees() -> None:
    c = _cverify()
    evs = [ascii_event(i) for i in range(37)]
    for start in (0, 5, 64):
        tree, sc = CompactTree(), c.Scanner(start, ())
        for _ in range(start):
            tree.push(b"\x00" * 32)
        lines, leaves, _ = c.seal_batch(evs, 0, 0, ZERO, ev_mod.MAX_LINE, sc)
        assert len(lines) == 37
        ref = CompactTree()
        for _ in range(start):
            ref.push(b"\x00" * 32)
        for i in range(37):
            ref.push(leaves[32 * i : 32 * i + 32])
        for _, height, digest in sc.pieces():
            tree.push(digest, height)
        assert tree.root() == ref.root() and tree.size == ref.size


@pytest.mark.parametrize("segment_bytes", [300, 64 << 20])
@pytest.mark.parametrize("checkpoint_every", [0, 7])
def test_append_many_writes_the_same_trail_with_either_core(
    tmp_path: Path, segment_bytes: int, checkpoint_every: int
) -> None:
    """In bulk or line by line (a segment rotating, a checkpoint falling within the batch),
    the same segments and the same tree."""
    evs = [ascii_event(i) for i in range(30)]
    evs[11] = {**evs[11], "x_f": 0.5}  # the general form in the middle of a batch
    out = {}
    for core in ("c", "python"):
        with _core.using(core):
            w = TrailWriter(
                tmp_path / core,
                "o",
                SIGNER,
                checkpoint_every=checkpoint_every,
                segment_bytes=segment_bytes,
                clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
            with pytest.raises(HarnessAuditError, match=r"event 11: .*0\.5"):
                w.write_many(evs)
            evs[11] = ascii_event(11)
            w.write_many(evs[:20])
            w.write_many(evs[20:])
            root, size = w.tree.root(), w.tree.size
            w.close()
            evs[11] = {**evs[11], "x_f": 0.5}
        out[core] = (
            root,
            size,
            {p.name: p.read_bytes() for p in sorted((tmp_path / core).rglob("*")) if p.is_file()},
        )
    assert out["c"] == out["python"]


def _real_traces() -> list[Path]:
    if not REAL.is_dir():
        return []
    found = []
    for p in sorted(REAL.rglob("*")):
        if not p.is_file() or p.suffix in (".yaml", ".py", ".md"):
            continue
        try:
            detect_trace(p)
        except HarnessAuditError:
            continue
        found.append(p)
    return found


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is not here")
@pytest.mark.parametrize("trace", _real_traces(), ids=lambda p: p.name)
def test_trail_import_of_the_real_traces_is_the_same_with_either_core(
    trace: Path, tmp_path: Path
) -> None:
    segments = {}
    for core in ("c", "python"):
        with _core.using(core):
            job = import_trace([trace])
            seal_events(job.events(), tmp_path / core, "o", SIGNER, jobs=1)
        segments[core] = [p.read_bytes() for p in sorted((tmp_path / core).glob("*.jsonl"))]
    assert segments["c"] == segments["python"] and segments["c"]
    # and the core sealed every one of them (none handed back to the Python sealing)
    evs = [r.event for r in import_trace([trace]).events()]
    lines, _, _ = _cverify().seal_batch(evs, 0, 0, ZERO, ev_mod.MAX_LINE, None)
    assert b"".join(x + b"\n" for x in lines) == b"".join(segments["c"])
