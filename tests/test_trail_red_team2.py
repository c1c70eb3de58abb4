"""Issue 23, the verifier's side: a line's fate never depends on the chunk or range it falls
in, what is evidence is decided per line (by its position in the signed tree), a damaged
hash hides nothing, a size-0 checkpoint anchors nothing, the cores agree on every input, a
file cut under the verifier is reported, and sealing refuses what the verifier refuses.

Each test failed before its fix (the issue's item number is in its name's docstring)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode, TrailError
from harness_audit.evidence.trails import judge_trails
from harness_audit.manifest import load_manifest
from harness_audit.trail import _core
from harness_audit.trail import verify as v
from harness_audit.trail.badline import MAX_LINE
from harness_audit.trail.canonical import canonicalize
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, sign_note
from harness_audit.trail.seal import seal_event
from harness_audit.trail.store import chunks, windows
from harness_audit.trail.writer import TrailWriter

from .test_evidence import CLAUDE, GPT, Trail, manifest_dict
from .trailkit import SIGNER, event, write_trail

V = [SIGNER.verifier]
ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
CORES = ["python", *(["c"] if _core.available() else [])]


def invoke(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def sealed(events: list[dict[str, Any]]) -> tuple[list[bytes], CompactTree]:
    """Lines chained and hashed as the writer does, with no limit (an attacker's writer)."""
    lines, tree, prev = [], CompactTree(), "0" * 64
    for i, e in enumerate(events):
        body = {**e, "v": 1, "seq": i, "prev": prev}
        body.setdefault("span", f"s{i}")
        digest = hashlib.sha256(b"\x00" + canonicalize(body)).digest()
        tree.push(digest)
        prev = body["hash"] = digest.hex()
        lines.append(canonicalize(body) + b"\n")
    return lines, tree


def signed_folder(folder: Path, lines: list[bytes], tree: CompactTree) -> Path:
    folder.mkdir(parents=True)
    (folder / "trail-000001.jsonl").write_bytes(b"".join(lines))
    note = sign_note(Checkpoint("harness-audit/test", tree.size, tree.root()).text(), [SIGNER])
    (folder / "trail.checkpoint").write_text(note)
    return folder


def verdict(paths: list[Path], jobs: int) -> tuple[Any, ...]:
    r = v.verify_trail(paths, V, jobs=jobs)
    return r.status, r.events, [p.as_dict() for p in r.problems], r.dropped, r.anchor, r.root


# --- item 1: one line limit, on every line, whatever the chunk --------------------------------


def _reference(data: bytes, max_line: int) -> list[bytes]:
    """Every line of ``data`` (the last one even without a newline), an over-long one as the
    marker the readers use."""
    parts = data.split(b"\n")
    last = parts.pop()
    out = [p if len(p) <= max_line else b"\x00%d" % len(p) for p in parts]
    if last:
        out.append(last if len(last) <= max_line else b"\x00%d" % len(last))
    return out


LINES = st.lists(st.integers(0, 90), min_size=0, max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES, st.booleans(), st.integers(1, 200), st.integers(0, 40))
def test_item1_chunks_and_windows_mark_every_over_long_line_at_any_cut(
    lengths: list[int], torn: bool, chunk: int, start_skip: int
) -> None:
    """Issue 23.1: the limit was applied only to the unfinished rest of a read chunk, so a long
    line inside a chunk passed whole. Both readers, at every chunk size: every line over the
    limit is a marker, every other line is itself."""
    import io
    import tempfile

    max_line = 30
    data = b"".join(bytes([97 + i % 26]) * n + b"\n" for i, n in enumerate(lengths))
    if torn:
        data += b"t" * (lengths[0] if lengths else 5)
    want = _reference(data, max_line)
    got = []
    for _, lines, tail in chunks(io.BytesIO(data), 0, len(data), chunk, max_line):
        got.extend(lines)
        if tail is not None:
            got.append(tail)
    assert got == want
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        got = []
        for buf, a, b, _, tail in windows(f, 0, len(data), chunk, max_line):
            got.extend(bytes(buf[a:b]).split(b"\n")[:-1])
            if tail is not None:
                got.append(tail)
    # windows hands the lines as they are; the scanner applies the limit to each line
    assert [x if len(x) <= max_line else b"\x00%d" % len(x) for x in got] == want


def _long_trail(tmp: Path, long_at: int, length: int) -> Path:
    events = [event(i) for i in range(8)]
    events[long_at] = {**events[long_at], "kind": "error", "message": "x" * length}
    for k in ("model", "input_tokens", "output_tokens", "cost_microusd", "input_digest"):
        events[long_at].pop(k, None)
    events[long_at] = {
        k: x
        for k, x in events[long_at].items()
        if k in ("ts", "run", "parent", "agent", "kind", "message")
    }
    lines, tree = sealed(events)
    return signed_folder(tmp, lines, tree)


@pytest.mark.parametrize("core", CORES)
def test_item1_a_2mib_event_fails_whatever_the_jobs(tmp_path: Path, core: str) -> None:
    """Issue 23.1, as found: a 2 MiB event inside the first 4 MiB chunk passed (VERIFIED with
    --jobs 2), across a chunk edge it failed. Now: FAILED, with the same report, every way."""
    t = _long_trail(tmp_path / "t", 2, 2 << 20)
    with _core.using(core):
        reports = [verdict([t], j) for j in (1, 2, 3)]
    assert reports[0][0] == "failed"
    assert any("longer than the 1,048,576-byte limit" in p["detail"] for p in reports[0][2])
    assert all(r == reports[0] for r in reports)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(200, 5000), st.sampled_from([1, 2, 3]), st.sampled_from(CORES))
def test_item1_the_verdict_never_depends_on_chunk_size_nor_jobs(
    tmp_path_factory: pytest.TempPathFactory, chunk: int, jobs: int, core: str
) -> None:
    """Issue 23.1, property: random chunk sizes (random cut points), --jobs and both cores
    give the report of one whole read, for a trail with lines just under, at and over the
    limit (a small limit, as the scanner's test of small chunks does)."""
    from harness_audit.trail import badline, scan

    tmp = tmp_path_factory.mktemp("t")
    events = [event(i) for i in range(30)]
    for i, want_len in ((3, 699), (9, 701), (10, 700), (17, 2000), (25, 1500)):
        events[i] = {**events[i], "x_note": ""}  # extra fields: the slow path's lines
        short = len(sealed(events[: i + 1])[0][i]) - 1
        events[i]["x_note"] = "y" * (want_len - short)  # the line is want_len bytes
    lines, tree = sealed(events)
    assert sorted(len(x) - 1 for x in lines)[-5:] == [699, 700, 701, 1500, 2000]
    t = signed_folder(tmp / "t", lines, tree)
    with pytest.MonkeyPatch.context() as mp:
        for module in (v, scan, badline):
            if hasattr(module, "MAX_LINE"):
                mp.setattr(module, "MAX_LINE", 700)
        for module in (v, scan):
            mp.setattr(module, "CHUNK", 1 << 22)
        with _core.using("python"):
            want = verdict([t], 1)
        for module in (v, scan):
            mp.setattr(module, "CHUNK", chunk)
        with _core.using(core):
            got = verdict([t], jobs)
    assert want[0] == "failed" and sum("limit" in p["detail"] for p in want[2]) == 3
    assert got == want


def test_item1_the_writer_and_seal_refuse_a_line_over_the_limit(tmp_path: Path) -> None:
    """Issue 23.1: `trail seal` and the writer wrote lines over the limit."""
    big = {**event(0), "kind": "error", "message": "x" * MAX_LINE}
    for k in ("model", "input_tokens", "output_tokens", "cost_microusd", "input_digest"):
        big.pop(k, None)
    with pytest.raises(ValueError, match="longer than the 1,048,576-byte limit"):
        seal_event(big, 0, "0" * 64)
    with TrailWriter(tmp_path / "w", "o", SIGNER) as w:
        w.append(event(0))
        with pytest.raises(TrailError, match="limit"):
            w.append(big)
        with pytest.raises(TrailError, match="limit"):
            w.put(b"{" + b" " * MAX_LINE + b"}", "0" * 64)
    assert v.verify_trail([tmp_path / "w"], V).status == "verified"
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps(event(0)) + "\n" + json.dumps(big) + "\n")
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text())
    r = invoke("trail", "seal", plain, "--key", key, "--origin", "o", "-o", tmp_path / "s.jsonl")
    assert r.exit_code == ExitCode.USAGE and f"{plain}:2:" in r.stderr and "limit" in r.stderr


# --- items 2 and 3: evidence by what verified, per line ---------------------------------------


def _judged(tmp: Path, trail: Trail, edit: Any = None) -> Any:
    from harness_audit.trust import TrustRoot

    (tmp / "k.pub").write_text(SIGNER.verifier.text() + "\n")
    path = tmp / "harness.yaml"
    import yaml

    path.write_text(yaml.safe_dump(manifest_dict(), sort_keys=False))
    p = load_manifest(path)
    folder = trail.write(tmp / "trails")
    if edit:
        seg = next(folder.glob("*.jsonl"))
        seg.write_bytes(edit(seg.read_bytes()))
    return judge_trails(p, [folder], trust=TrustRoot((str(tmp / "k.pub"),), "flag"))


def _silent_b() -> Trail:
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add("r", "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=1)
    t.add("r", "v", "model_call", model=CLAUDE, input_tokens=1, output_tokens=1, cost_microusd=1)
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    return t


def _forged_b(prev: str) -> bytes:
    body = {
        "v": 1,
        "seq": 1,  # claims a place inside the anchored tree
        "ts": "2026-01-01T00:00:09Z",
        "run": "r2",
        "span": "f.1",
        "parent": None,
        "agent": "b",
        "kind": "model_call",
        "model": GPT,
        "input_tokens": 1,
        "output_tokens": 1,
        "cost_microusd": 1,
        "prev": prev,
    }
    body["hash"] = hashlib.sha256(b"\x00" + canonicalize(body)).hexdigest()
    return canonicalize(body) + b"\n"


@pytest.mark.parametrize("junk", [0, 1001])
def test_item2_forged_events_past_the_problem_cap_are_not_anchored(
    tmp_path: Path, junk: int
) -> None:
    """Issue 23.2: 1,001 junk lines pushed the forged events' problems past the kept 1,000,
    so they were evidence, anchored by the seq they claim: the silent agent b passed
    has_audit_trail. Anchoring is by position in the signed tree: they are after it."""

    def edit(data: bytes) -> bytes:
        last = json.loads(data.splitlines()[-1])["hash"]
        return data + b"junk\n" * junk + _forged_b(last) + _forged_b("0" * 64)

    e = _judged(tmp_path, _silent_b(), edit)
    assert e.verify.status == "failed" and e.verify.anchor is not None
    b = e.controls.get(("b", "has_audit_trail"))
    assert b is not None and b.failed and not b.operated
    assert (
        b.reason
        == "none of its 2 event(s) is anchored by a trusted checkpoint, so they prove no pass"
    )


def _ungated_pay() -> Trail:
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add("r", "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=1)
    t.add("r", "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    return t


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hash", None),  # one hex digit flipped
        ("prev", None),
        ("hash", b'"\\ud800"'),  # text with a lone surrogate: the line no longer decodes
        ("hash", b"7"),  # not text: the leaf becomes the whole line's
        ("prev", b"null"),
        ("seq", b'"two"'),
    ],
)
def test_item3_a_damaged_link_field_hides_no_event(
    tmp_path: Path, field: str, value: bytes | None
) -> None:
    """Issue 23.3: one hex digit of the ungated payment's hash flipped: the checkpoint still
    anchors every event (a leaf omits the hash), but the event was dropped as evidence and
    the gate passed. It is evidence of what it says; the damage fails trail_is_immutable.
    Damage that makes the line undecodable by its link fields alone hides nothing either."""

    def edit(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        key = f'"{field}":'.encode()
        i = lines[2].index(key) + len(key)
        if value is None:
            i += 1
            flipped = b"0" if lines[2][i : i + 1] != b"0" else b"1"
            lines[2] = lines[2][:i] + flipped + lines[2][i + 1 :]
        else:
            j = lines[2].index(b",", i)
            lines[2] = lines[2][:i] + value + lines[2][j:]
        return b"".join(lines)

    e = _judged(tmp_path, _ungated_pay(), edit)
    assert e.verify.status == "failed"
    gate = e.controls[("a", "human_gate_for_destructive_ops")]
    assert gate.failed == 1 and gate.failures[0].line == 3
    assert e.controls[("a", "trail_is_immutable")].failed
    if field == "hash" and value != b"7":  # the leaf omits the hash: still anchored
        assert e.verify.anchor is not None and e.verify.anchor.size == 4
        assert gate.failures[0].anchored and gate.failures[0].seq == 2


# --- item 4: a checkpoint of the empty tree anchors nothing -----------------------------------


def test_item4_a_size_0_checkpoint_anchors_nothing(tmp_path: Path) -> None:
    """Issue 23.4: with only a checkpoint of size 0 (collect signs one when it starts),
    verify said "Anchored: seq 0--1" and exited 0 VERIFIED for any rewritten events."""
    t = tmp_path / "t"
    w = TrailWriter(t, "harness-audit/test", SIGNER, checkpoint_every=0)
    w.checkpoint()  # the empty tree, signed
    for i in range(3):
        w.append(event(i))
    w.abandon()  # no checkpoint after them
    r = v.verify_trail([t], V)
    assert r.anchor is None and r.status == "intact_unanchored" and not r.ok
    assert any(p.warning and "empty tree" in p.detail for p in r.problems)
    key = tmp_path / "k.pub"
    key.write_text(SIGNER.verifier.text() + "\n")
    out = invoke("verify", t, "--key", key)
    assert out.exit_code == ExitCode.FINDINGS and "seq 0--1" not in out.stdout
    assert "VERIFIED" not in out.stdout


# --- item 11: the cores agree on a lone surrogate in a link field ------------------------------


@pytest.mark.skipif(not _core.available(), reason="the compiled core is not built")
@pytest.mark.parametrize("field", ["hash", "prev"])
@pytest.mark.parametrize("value", ["\\ud800", "\\udfff" * 64, "\\u00e9" * 64, "\\u0041" * 64])
def test_item11_an_escape_in_a_link_field_never_crashes_the_compiled_core(
    tmp_path: Path, field: str, value: str
) -> None:
    """Issue 23.11: a lone-surrogate escape in a hash crashed the C core ("internal error:
    UnicodeEncodeError"); the pure core reported the line and went on."""
    lines, tree = sealed([event(i) for i in range(6)])
    text = lines[2].decode()
    start = text.index(f'"{field}":"') + len(field) + 4
    lines[2] = (text[:start] + value + text[start + 64 :]).encode()
    t = signed_folder(tmp_path / "t", lines, tree)
    for jobs in (1, 2):
        with _core.using("python"):
            want = verdict([t], jobs)
        with _core.using("c"):
            assert verdict([t], jobs) == want
    assert want[0] == "failed"


# --- item 12: a file cut under the verifier -----------------------------------------------------

_CUT = """
import os, sys
from harness_audit.trail import _core, scan
from harness_audit.errors import TrailError
scan.CHUNK = 1 << 16
path = sys.argv[1]
size = os.path.getsize(path)
slow = scan.slow_line
def cut(*args):  # the first line the fast path hands back: cut the file under the scan
    if os.path.getsize(path) > 1000:
        os.truncate(path, 1000)
    return slow(*args)
scan.slow_line = cut
with _core.using(sys.argv[2]):
    try:
        scan.scan_range(path, 0, size, 0, (), True)
    except TrailError as e:
        print("REPORTED", e)
        sys.exit(0)
print("NOT REPORTED")
"""


@pytest.mark.parametrize("core", CORES)
def test_item12_a_segment_cut_while_it_is_read_is_reported(tmp_path: Path, core: str) -> None:
    """Issue 23.12: truncating a segment while verify mapped it killed the process (SIGBUS);
    the pure core read on silently. Both report that the file changed under them."""
    lines, _ = sealed([event(i) for i in range(2000)])
    lines[5] = lines[5].replace(b'"seq":', b'"seq": ')  # not canonical: the slow path's
    seg = tmp_path / "trail-000001.jsonl"
    seg.write_bytes(b"".join(lines))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CUT), str(seg), core],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert "REPORTED" in r.stdout and "changed" in r.stdout, r.stdout


# --- item 13: seal refuses integers the verifier refuses ----------------------------------------


@pytest.mark.parametrize("n", [2**53, -(2**53), 2**64, 10**30])
def test_item13_seal_refuses_integers_beyond_2_53(tmp_path: Path, n: int) -> None:
    """Issue 23.13: `trail seal` turned integers above 2^53 into floats that verify then
    rejected; it refuses them, as the verifier does."""
    with pytest.raises(ValueError, match="2\\^53"):
        seal_event({**event(0), "x_big": n}, 0, "0" * 64)
    with pytest.raises(ValueError, match="2\\^53"):
        seal_event({**event(0), "x_deep": {"a": [1, n]}}, 0, "0" * 64)
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps(event(0)) + "\n" + json.dumps({**event(1), "x_big": n}) + "\n")
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text())
    out = tmp_path / "s.jsonl"
    r = invoke("trail", "seal", plain, "--key", key, "--origin", "o", "-o", out)
    assert r.exit_code == ExitCode.USAGE and f"{plain}:2:" in r.stderr and "2^53" in r.stderr
    assert not out.exists()


# --- item 15: a torn remnant longer than the limit ----------------------------------------------


@pytest.mark.parametrize("core", CORES)
def test_item15_an_over_long_torn_line_is_not_a_crash_remnant(tmp_path: Path, core: str) -> None:
    """Issue 23.15: a 10 GB sparse "torn line", longer than any line the writer writes,
    verified with exit 0 (a warning). It fails; the writer refuses to resume after it."""
    t = write_trail(tmp_path / "t", 5)
    seg = next(t.glob("*.jsonl"))
    size = seg.stat().st_size
    with seg.open("r+b") as f:
        f.truncate(size + MAX_LINE + 10)  # sparse: NUL bytes and no newline
    with _core.using(core):
        r = v.verify_trail([t], V)
    torn = [p for p in r.problems if p.kind == "unparseable_line"]
    assert r.status == "failed" and torn and not torn[0].warning
    assert "longer than" in torn[0].detail
    with pytest.raises(TrailError, match="longer than"):
        TrailWriter(t, "harness-audit/test", SIGNER)
    assert seg.stat().st_size == size + MAX_LINE + 10  # nothing cut, nothing moved aside
    assert not list(t.glob("*.torn*"))
