"""Issue 12.4: the writer keeps every checkpoint it signs, and verify checks every kept one."""

from __future__ import annotations

from pathlib import Path

from harness_audit.trail.checkpoints import HISTORY, history_name
from harness_audit.trail.note import Checkpoint, sign_note
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter

from .trailkit import SIGNER, event, write_trail

V = [SIGNER.verifier]


def errors(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.kind for p in report.problems if not p.warning]


def test_every_signed_checkpoint_is_kept(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 35, checkpoint_every=10)
    kept = sorted(p.name for p in (t / HISTORY).iterdir())
    assert kept == [history_name(n) for n in (10, 20, 30, 35)]
    assert history_name(1000) == "00000000000000001000.checkpoint"
    assert (t / "trail.checkpoint").read_bytes() == (t / HISTORY / history_name(35)).read_bytes()
    r = verify_trail([t], V)
    assert r.status == "verified" and r.anchor and r.anchor.size == 35
    assert (r.checkpoints_valid, r.checkpoints_found) == (4, 4)  # the newest counted once


def test_closing_twice_at_one_size_keeps_one_file(tmp_path: Path) -> None:
    """The same checkpoint signed again in the same second is kept once. (The writer's clock
    is fixed here: with the wall clock this failed whenever a second fell between the two
    signatures, and then two files are right: see the next test.)"""
    import datetime as dt

    at = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC)
    t = tmp_path / "t"
    with TrailWriter(t, "harness-audit/test", SIGNER, checkpoint_every=5, clock=lambda: at) as w:
        for i in range(5):
            w.append(event(i))
        w.checkpoint()
    assert [p.name for p in (t / HISTORY).iterdir()] == [history_name(5)]


def test_the_same_tree_signed_later_is_kept_beside_and_is_no_fork(tmp_path: Path) -> None:
    """Signed again a second later, the same tree is kept as a second file (a later
    signature of an unchanged tree: the writer was alive, which closes coverage gaps) and
    the trail still verifies: the same root at one size is not a fork."""
    import datetime as dt

    times = iter(dt.datetime(2026, 12, 7, 12, 0, s, tzinfo=dt.UTC) for s in range(60))
    t = tmp_path / "t"
    with TrailWriter(
        t, "harness-audit/test", SIGNER, checkpoint_every=5, clock=lambda: next(times)
    ) as w:
        for i in range(5):
            w.append(event(i))
        w.checkpoint()
    kept = sorted(p.name for p in (t / HISTORY).iterdir())
    assert len(kept) >= 2 and kept == sorted(history_name(5, n) for n in range(len(kept)))
    assert verify_trail([t], V).status == "verified"


def test_a_rollback_and_rewrite_is_shown_later(tmp_path: Path) -> None:
    """Old code: the rewritten trail's one checkpoint file was overwritten and it verified."""
    t = write_trail(tmp_path / "t", 20, checkpoint_every=10)
    seg = sorted(t.glob("*.jsonl"))[0]
    seg.write_bytes(b"".join(seg.read_bytes().splitlines(keepends=True)[:15]))
    with TrailWriter(t, "harness-audit/test", SIGNER, checkpoint_every=0) as w:
        for i in range(15, 20):
            e = event(i)
            e["agent"] = "someone_else"
            w.append(e)
    assert (t / HISTORY / history_name(20, 1)).is_file()  # the old one was not overwritten
    r = verify_trail([t], V)
    assert r.status == "failed" and "checkpoint_fork" in errors(r)
    assert r.checkpoints_found == 3 and r.checkpoints_valid == 2


def test_an_older_checkpoint_the_newer_does_not_extend_is_a_fork(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 20, checkpoint_every=0)
    (t / HISTORY).mkdir(exist_ok=True)
    old = sign_note(Checkpoint("harness-audit/test", 10, b"\x05" * 32).text(), [SIGNER])
    (t / HISTORY / history_name(10)).write_text(old)
    r = verify_trail([t], V)
    assert errors(r) == ["checkpoint_fork"] and r.problems[0].seq == 9
    assert "does not extend" in r.problems[0].detail
    assert (r.checkpoints_valid, r.checkpoints_found) == (1, 2)


def test_every_kept_checkpoint_is_checked_against_the_tree(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 20, checkpoint_every=0)
    (t / "trail.checkpoint").unlink()
    for f in (t / HISTORY).iterdir():
        f.unlink()
    bad = sign_note(Checkpoint("harness-audit/test", 10, b"\x05" * 32).text(), [SIGNER])
    (t / HISTORY / history_name(10)).write_text(bad)
    r = verify_trail([t], V)
    assert errors(r) == ["root_mismatch"] and r.status == "failed"


def test_truncation_below_many_kept_checkpoints_is_one_problem(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 40, checkpoint_every=5)
    seg = sorted(t.glob("*.jsonl"))[0]
    seg.write_bytes(b"".join(seg.read_bytes().splitlines(keepends=True)[:12]))
    r = verify_trail([t], V)
    assert errors(r) == ["truncated_tail"] and r.anchor and r.anchor.size == 10
    assert "40 events" in r.problems[0].detail


def test_without_a_key_one_warning_for_the_history(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 30, checkpoint_every=10)
    r = verify_trail([t], [])
    assert [p.kind for p in r.problems] == ["no_trusted_signature"]
    assert r.status == "intact_unanchored"
