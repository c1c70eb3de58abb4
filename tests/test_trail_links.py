"""Issue 17 (Python core): a ``prev`` or ``hash`` that is not 64 lowercase hex digits is an
invalid event, not a broken link or a modified event."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness_audit.trail.canonical import canonicalize
from harness_audit.trail.verify import verify_trail

from .trailkit import SIGNER, write_trail

V = [SIGNER.verifier]


def _edit(t: Path, k: int, field: str, value: str, rehash: bool) -> None:
    seg = sorted(t.glob("*.jsonl"))[0]
    lines = seg.read_bytes().splitlines()
    ev = json.loads(lines[k])
    ev[field] = value
    if rehash and field != "hash":
        body = {x: v for x, v in ev.items() if x != "hash"}
        ev["hash"] = hashlib.sha256(b"\x00" + canonicalize(body)).hexdigest()
    lines[k] = canonicalize(ev)
    seg.write_bytes(b"".join(x + b"\n" for x in lines))


def problems_at(report, line: int) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.kind for p in report.problems if p.line == line and not p.warning)


@pytest.mark.parametrize("value", ["AB" * 32, "ab" * 31, "zz" * 32, "ab" * 33, ""])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_malformed_prev_is_an_invalid_event(tmp_path: Path, value: str, jobs: int) -> None:
    """Old code: reported as a broken link."""
    t = write_trail(tmp_path / "t", 40)
    _edit(t, 5, "prev", value, rehash=True)
    r = verify_trail([t], V, jobs=jobs)
    assert problems_at(r, 6) == ["invalid_event"]
    assert "prev is not 64 lowercase hex" in next(p.detail for p in r.problems if p.line == 6)
    assert r.status == "failed"


@pytest.mark.parametrize("value", ["AB" * 32, "ab" * 31, "not-a-hash"])
def test_a_malformed_hash_is_an_invalid_event(tmp_path: Path, value: str) -> None:
    """Old code: reported as a modified event."""
    t = write_trail(tmp_path / "t", 10)
    _edit(t, 3, "hash", value, rehash=False)
    r = verify_trail([t], V)
    assert problems_at(r, 4) == ["invalid_event"]
    assert "hash is not 64 lowercase hex" in next(p.detail for p in r.problems if p.line == 4)
    assert r.status == "failed"


def test_the_uppercase_of_the_true_hash_is_invalid_not_modified(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 10)
    seg = sorted(t.glob("*.jsonl"))[0]
    ev = json.loads(seg.read_bytes().splitlines()[3])
    _edit(t, 3, "hash", ev["hash"].upper(), rehash=False)
    r = verify_trail([t], V)
    assert problems_at(r, 4) == ["invalid_event"]


def test_a_malformed_prev_in_a_non_canonical_line(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 10)
    _edit(t, 3, "prev", "AB" * 32, rehash=True)
    seg = sorted(t.glob("*.jsonl"))[0]
    lines = seg.read_bytes().splitlines()
    lines[3] = lines[3].replace(b",", b", ", 1)
    seg.write_bytes(b"".join(x + b"\n" for x in lines))
    r = verify_trail([t], V)
    assert problems_at(r, 4) == ["invalid_event", "non_canonical"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_malformed_prev_at_a_segment_start_is_not_a_seam_break(tmp_path: Path, jobs: int) -> None:
    t = write_trail(tmp_path / "t", 30, segment_bytes=3000)
    segs = sorted(t.glob("*.jsonl"))
    assert len(segs) > 2
    lines = segs[1].read_bytes().splitlines()
    ev = json.loads(lines[0])
    ev["prev"] = "AB" * 32
    body = {x: v for x, v in ev.items() if x != "hash"}
    ev["hash"] = hashlib.sha256(b"\x00" + canonicalize(body)).hexdigest()
    lines[0] = canonicalize(ev)
    segs[1].write_bytes(b"".join(x + b"\n" for x in lines))
    r = verify_trail([t], V, jobs=jobs)
    mine = sorted(p.kind for p in r.problems if p.file == str(segs[1]) and p.line == 1)
    assert mine == ["invalid_event"]


def test_a_malformed_hash_and_the_prev_that_repeats_it(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 10)
    _edit(t, 3, "hash", "AB" * 32, rehash=False)
    _edit(t, 4, "prev", "AB" * 32, rehash=True)
    r = verify_trail([t], V)
    assert problems_at(r, 4) == ["invalid_event"] and problems_at(r, 5) == ["invalid_event"]
