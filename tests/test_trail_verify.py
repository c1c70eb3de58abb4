"""Trail verification: every kind of damage, at the right place; parallel equals serial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.trail.note import Checkpoint, parse_note, sign_note
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter
from harness_audit.trust import TrustRoot

from .trailkit import OTHER, SIGNER, event, write_trail

V = [SIGNER.verifier]


def segment(folder: Path) -> Path:
    return sorted(folder.glob("*.jsonl"))[0]


def kinds(report) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return [(p.kind, p.seq) for p in report.problems if not p.warning]


def test_clean_trail_verifies(tmp_path: Path) -> None:
    r = verify_trail([write_trail(tmp_path / "t", 50)], V)
    assert r.status == "verified" and r.events == 50 and not r.problems
    assert r.anchor and r.anchor.size == 50 and r.checkpoints_valid == 1


def test_without_a_key_the_trail_is_only_intact(tmp_path: Path) -> None:
    r = verify_trail([write_trail(tmp_path / "t", 5)], [])
    assert r.status == "intact_unanchored" and not r.ok
    assert r.problems[0].kind == "no_trusted_signature" and r.problems[0].warning


def test_segments_rotate_and_verify_as_one_chain(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 200, segment_bytes=8000)
    assert len(list(t.glob("*.jsonl"))) > 3
    r = verify_trail([t], V)
    assert r.status == "verified" and r.events == 200


def test_parallel_equals_serial(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 3000, checkpoint_every=1000, segment_bytes=300_000)
    a, b = verify_trail([t], V, jobs=1), verify_trail([t], V, jobs=3)
    assert (
        (a.root, a.events, a.status) == (b.root, b.events, b.status) == (a.root, 3000, "verified")
    )


def lines_of(folder: Path) -> list[bytes]:
    return segment(folder).read_bytes().splitlines(keepends=True)


def rewrite(folder: Path, lines: list[bytes]) -> None:
    segment(folder).write_bytes(b"".join(lines))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trail(tmp_path_factory.mktemp("pristine") / "t", 24)


def copy(pristine: Path, tmp: Path) -> Path:
    dest = tmp / "t"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(pristine, dest)
    return dest


CASES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@CASES
@given(st.integers(0, 23))
def test_edit_is_found_at_its_seq(pristine: Path, tmp_path: Path, k: int) -> None:
    t = copy(pristine, tmp_path)
    lines = lines_of(t)
    lines[k] = lines[k].replace(b'"agent":"credit_risk"', b'"agent":"credit_rusk"')
    rewrite(t, lines)
    r = verify_trail([t], V)
    assert ("modified_event", k) in kinds(r)
    assert r.problems[0].line == k + 1 and r.status == "failed"


@CASES
@given(st.integers(0, 22))
def test_deletion_is_found_at_the_next_seq(pristine: Path, tmp_path: Path, k: int) -> None:
    t = copy(pristine, tmp_path)
    lines = lines_of(t)
    del lines[k]
    rewrite(t, lines)
    found = kinds(verify_trail([t], V))
    assert ("broken_link", k + 1) in found and ("sequence_gap", k + 1) in found


@CASES
@given(st.integers(1, 23))
def test_insertion_is_found(pristine: Path, tmp_path: Path, k: int) -> None:
    t = copy(pristine, tmp_path)
    lines = lines_of(t)
    lines.insert(k, lines[k - 1])  # a replayed event
    rewrite(t, lines)
    found = kinds(verify_trail([t], V))
    assert ("sequence_gap", k - 1) in found or ("broken_link", k - 1) in found


@CASES
@given(st.integers(0, 22))
def test_swap_is_found(pristine: Path, tmp_path: Path, k: int) -> None:
    t = copy(pristine, tmp_path)
    lines = lines_of(t)
    lines[k], lines[k + 1] = lines[k + 1], lines[k]
    rewrite(t, lines)
    found = kinds(verify_trail([t], V))
    assert ("sequence_gap", k + 1) in found


@CASES
@given(st.integers(1, 23))
def test_truncation_is_found_against_the_checkpoint(pristine: Path, tmp_path: Path, k: int) -> None:
    t = copy(pristine, tmp_path)
    rewrite(t, lines_of(t)[:k])
    r = verify_trail([t], V)
    assert ("truncated_tail", k) in kinds(r) and r.status == "failed"


def test_rewritten_history_is_a_root_mismatch(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 10)
    cp = t / "trail.checkpoint"
    saved = cp.read_bytes()
    shutil.rmtree(t)
    # an attacker rewrites event 3 and recomputes every hash after it, but cannot re-sign
    with TrailWriter(t, "harness-audit/test", None, checkpoint_every=0) as w:
        for i in range(10):
            e = event(i)
            if i == 3:
                e["agent"] = "someone_else"
            w.append(e)
    cp.write_bytes(saved)
    r = verify_trail([t], V)
    assert kinds(r) == [("root_mismatch", 9)]


def test_checkpoint_fork_and_rollback(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 10)
    good = (t / "trail.checkpoint").read_bytes()
    fake = sign_note(Checkpoint("harness-audit/test", 10, b"\x07" * 32).text(), [SIGNER])
    forked = tmp_path / "fork.checkpoint"
    forked.write_text(fake)
    found = kinds(verify_trail([t], TrustRoot(tuple(V), checkpoints=(forked,))))
    assert ("checkpoint_fork", 9) in found
    later = tmp_path / "later.checkpoint"
    later.write_text(sign_note(Checkpoint("harness-audit/test", 20, b"\x01" * 32).text(), [SIGNER]))
    assert [k for k, _ in kinds(verify_trail([t], TrustRoot(tuple(V), trusted_state=later)))] == [
        "rollback"
    ]
    older = tmp_path / "older.checkpoint"
    older.write_bytes(good)
    assert verify_trail([t], TrustRoot(tuple(V), trusted_state=older)).status == "verified"


def test_checkpoint_signed_by_an_unknown_key(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 5, signer=OTHER)
    r = verify_trail([t], V)
    assert [k for k, _ in kinds(r)] == ["no_trusted_signature"]


def test_bad_signature(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 5)
    cp = t / "trail.checkpoint"
    note = parse_note(cp.read_bytes())
    body = Checkpoint.parse(note.text)
    cp.write_text(cp.read_text().replace(str(body.size), str(body.size + 1), 1))
    assert [k for k, _ in kinds(verify_trail([t], V))] == ["bad_signature"]


def test_unanchored_tail_is_a_warning(tmp_path: Path) -> None:
    t = tmp_path / "t"
    w = TrailWriter(t, "harness-audit/test", SIGNER, checkpoint_every=10)
    for i in range(13):
        w.append(event(i))
    w._file.flush()  # simulate a crash: no close, no final checkpoint
    r = verify_trail([t], V)
    assert r.status == "verified" and r.anchor and r.anchor.size == 10
    assert [(p.kind, p.warning) for p in r.problems] == [("unanchored_tail", True)]


def test_torn_last_line_and_resume(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 6)
    seg = segment(t)
    seg.write_bytes(seg.read_bytes() + b'{"agent":"credit_ri')
    r = verify_trail([t], V)
    assert r.status == "verified"
    assert any(p.kind == "unparseable_line" and "torn" in p.detail for p in r.problems)
    with TrailWriter(t, "harness-audit/test", SIGNER) as w:  # resumes after the torn line
        w.append(event(6))
    assert (t / (seg.name + ".torn")).exists()
    r = verify_trail([t], V)
    assert r.status == "verified" and r.events == 7 and not r.problems


@pytest.mark.parametrize(
    ("garbage", "kind"),
    [
        (b"\x00\x01\x02binary\xff\n", "unparseable_line"),
        (b"not json\n", "unparseable_line"),
        (b"[1,2,3]\n", "invalid_event"),
        (b'{"kind":"error"}\n', "invalid_event"),
    ],
)
def test_garbage_lines(tmp_path: Path, garbage: bytes, kind: str) -> None:
    t = write_trail(tmp_path / "t", 4)
    lines = lines_of(t)
    lines.insert(2, garbage)
    rewrite(t, lines)
    r = verify_trail([t], V)
    assert r.problems[0].kind == kind and r.problems[0].line == 3


def mutate_event(tmp_path: Path, k: int, fn) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    t = write_trail(tmp_path / "t", 4)
    lines = lines_of(t)
    lines[k] = fn(lines[k].rstrip(b"\n")) + b"\n"
    rewrite(t, lines)
    return kinds(verify_trail([t], V))


def test_whitespace_is_non_canonical_but_not_modified(tmp_path: Path) -> None:
    found = mutate_event(tmp_path, 1, lambda b: b.replace(b'","', b'", "', 1))
    assert found == [("non_canonical", 1)]


def test_key_order_is_non_canonical(tmp_path: Path) -> None:
    def reorder(b: bytes) -> bytes:
        obj = json.loads(b)
        return json.dumps(
            dict(reversed(list(obj.items()))), separators=(",", ":"), ensure_ascii=False
        ).encode()

    assert mutate_event(tmp_path, 2, reorder) == [("non_canonical", 2)]


def test_duplicate_keys_are_non_canonical(tmp_path: Path) -> None:
    found = mutate_event(tmp_path, 1, lambda b: b[:-1] + b',"v":1}')
    assert ("non_canonical", 1) in found


def test_nan_is_non_canonical(tmp_path: Path) -> None:
    found = mutate_event(
        tmp_path, 0, lambda b: b.replace(b'"input_tokens":100', b'"input_tokens":NaN')
    )
    assert found[0][0] in ("non_canonical", "invalid_event")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"cost_microusd":1500', b'"cost_microusd":1500.5'),
        (b'"cost_microusd":1500', b'"cost_microusd":1.5e3'),
        (b'"cost_microusd":1500', b'"cost_microusd":99999999999999999999'),
        (b'"input_digest":"', b'"input_digest":"Z'),
        (b'"ts":"2026', b'"ts":"20260'),
    ],
)
def test_invalid_values(tmp_path: Path, old: bytes, new: bytes) -> None:
    found = mutate_event(tmp_path, 0, lambda b: b.replace(old, new))
    assert ("invalid_event", 0) in found


def test_invalid_utf8(tmp_path: Path) -> None:
    found = mutate_event(tmp_path, 3, lambda b: b.replace(b"\xc3\xa9", b"\xc3\x28"))
    assert found[0][0] == "unparseable_line"


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.jsonl"
    f.write_bytes(b"")
    r = verify_trail([f], V)
    assert r.events == 0 and r.status == "intact_unanchored"


def test_huge_single_line_is_bounded(tmp_path: Path) -> None:
    f = tmp_path / "huge.jsonl"
    with f.open("wb") as out:
        out.write(b'{"x":"')
        for _ in range(24):
            out.write(b"A" * (1 << 20))
        out.write(b'"}\n')
    r = verify_trail([f], V)
    assert r.problems[0].kind == "unparseable_line" and "longer than" in r.problems[0].detail


def test_garbage_file_problems_are_capped(tmp_path: Path) -> None:
    f = tmp_path / "noise.jsonl"
    f.write_bytes(b"x\n" * 5000)
    r = verify_trail([f], V)
    assert len(r.problems) <= 1001 and r.dropped > 0 and r.status == "failed"
