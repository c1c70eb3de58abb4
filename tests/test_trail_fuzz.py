"""Issue 13.5: one bad line never stops verification; seal, the reader and the proof reader
raise only HarnessAuditError (or return problems), whatever the bytes."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError, TrailError
from harness_audit.trail.merkle import ProofError
from harness_audit.trail.proofs import read_proof, verify_proof_data
from harness_audit.trail.reader import ReadStats, read_decoded
from harness_audit.trail.seal import seal_event
from harness_audit.trail.sealer import seal_file
from harness_audit.trail.verify import verify_trail

from .trailkit import SIGNER, event, write_trail

V = [SIGNER.verifier]


def _deep(n: int, obj: bool) -> bytes:
    return (b'{"a":' * n + b"1" + b"}" * n) if obj else (b"[" * n + b"]" * n)


def _near(base: bytes, kind: int, n: int) -> bytes:
    """A real event line, damaged in one of the ways an attacker or a bug would."""
    body = base[:-1]
    if kind == 0:
        return body + b',"x":' + _deep(n, n % 2 == 0) + b"}"
    if kind == 1:
        return body + b',"\\ud800":1}'
    if kind == 2:
        return body + b',"message":"\\udc00\\ud800"}'
    if kind == 3:
        return base.replace(b'"seq":', b'"seq":' + b"9" * (4290 + n % 30), 1)
    if kind == 4:
        return body + b',"x":NaN}' if n % 2 else body + b',"x":-Infinity}'
    if kind == 5:
        return base.replace(b'"agent":', b'"agent":"a","agent":', 1)
    if kind == 6:
        return base.replace(b'"run":"', b'"run":"\xff\xfe', 1)
    if kind == 7:
        return b"9" * (4200 + n)
    if kind == 8:
        return base.replace(b'"seq":', b'"seq":' + b"9" * (20 + n % 400), 1)
    return body + b',"x":' + b"1" * (n + 1) + b".5e99999}"


BASE = seal_event(event(2), 2, "ab" * 32)[0]

LINES = st.one_of(
    st.binary(max_size=300),
    st.builds(_near, st.just(BASE), st.integers(0, 9), st.integers(0, 3000)),
    st.builds(lambda d, o: _deep(d, o), st.integers(900, 5000), st.booleans()),
    st.text(max_size=60).map(lambda t: json.dumps({t: 1, "kind": t}).encode()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 6), LINES), min_size=1, max_size=3))
def test_no_line_stops_any_reader(bad: list[tuple[int, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        t = write_trail(Path(d) / "t", 6)
        seg = sorted(t.glob("*.jsonl"))[0]
        lines = seg.read_bytes().splitlines()
        fuzz = [(pos, line.replace(b"\n", b" ")) for pos, line in bad]
        for pos, line in sorted(fuzz, reverse=True):
            lines.insert(pos, line)
        seg.write_bytes(b"".join(x + b"\n" for x in lines))

        r = verify_trail([t], V)  # a report, never an exception
        assert r.status == "failed" and r.problems

        stats = ReadStats()
        got = list(read_decoded([t], stats))
        assert stats.events == len(got)
        with contextlib.suppress(HarnessAuditError):
            list(read_decoded([t], strict=True))

        src = Path(d) / "src.jsonl"
        src.write_bytes(b"".join(x + b"\n" for x in lines))
        try:
            seal_file(src, Path(d) / "sealed.jsonl", SIGNER, "harness-audit/fuzz")
        except HarnessAuditError as e:
            assert ":" in str(e) and str(src) in str(e)

        note = (t / "trail.checkpoint").read_text()
        for _, line in fuzz:
            text = line.decode("utf-8", "surrogateescape")
            for blob in (
                line,
                b'{"format":"harness-audit/proof/v1","type":"inclusion",'
                b'"leaf_index":0,"tree_size":6,"leaf_hash":"' + b"0" * 64 + b'",'
                b'"checkpoint":'
                + json.dumps(note).encode()
                + b',"event":'
                + json.dumps(text).encode()
                + b',"path":[]}',
            ):
                p = Path(d) / "proof.json"
                p.write_bytes(blob)
                try:
                    data = read_proof(p)
                except HarnessAuditError:
                    continue
                for item in data if isinstance(data, list) else [data]:
                    with contextlib.suppress(ProofError):  # the CLI names the proof file
                        verify_proof_data(item, V)


@pytest.mark.parametrize(
    "bad",
    [
        _deep(1000, False),
        _deep(1000, True),
        b'{"\\ud800": 1}',
        b'{"kind":"error","message":"\\udc00"}',
        b'{"seq":' + b"9" * 5000 + b"}",
    ],
    ids=["deep-array", "deep-object", "surrogate-key", "surrogate-value", "huge-integer"],
)
def test_a_bad_line_is_reported_and_the_rest_verified(tmp_path: Path, bad: bytes) -> None:
    """Old code: a RecursionError (nesting) or an internal error, nothing verified."""
    t = write_trail(tmp_path / "t", 8)
    seg = sorted(t.glob("*.jsonl"))[0]
    lines = seg.read_bytes().splitlines()
    lines[3] = bad
    seg.write_bytes(b"".join(x + b"\n" for x in lines))
    r = verify_trail([t], V)
    assert r.events == 8 and r.status == "failed"
    first = r.problems[0]
    assert (first.kind, first.line) in {("unparseable_line", 4), ("invalid_event", 4)}
    assert not [p for p in r.problems if p.line not in (None, 4)]  # the rest verified
    assert len(list(read_decoded([t]))) == 7


def test_seal_names_the_bad_line_and_refuses_duplicate_keys(tmp_path: Path) -> None:
    good = json.dumps(event(0)).encode()
    for bad, why in [
        (_deep(1000, True), "nested"),
        (b'{"\\ud800": 1}', "surrogate"),
        (b'{"a":1,"a":2}', "appears twice"),
        (good[:-1] + b',"agent":"x"}', "appears twice"),
        (good[:-1] + b',"x":' + b"9" * 400 + b"}", "too large"),
        (good[:-1] + b',"x":' + b"9" * 5000 + b"}", "not JSON"),
    ]:
        src = tmp_path / "src.jsonl"
        src.write_bytes(good + b"\n\n" + bad + b"\n")
        with pytest.raises(TrailError, match=why) as e:
            seal_file(src, tmp_path / "out.jsonl", SIGNER, "harness-audit/t")
        assert str(e.value).startswith(f"{src}:3:")
