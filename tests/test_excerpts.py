"""The pack's excerpts come from the judging pass: the runs of shown exceptions are kept as the
pass reads them, and ``report`` reads each trail once for judgement, never a third time."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from harness_audit.errors import ExitCode
from harness_audit.evidence import excerpts
from harness_audit.evidence.excerpts import RunExcerpts
from harness_audit.evidence.model import MAX_EXCEPTIONS_SHOWN, Control, Location
from harness_audit.trail import events as ev_mod
from harness_audit.trail.store import trail_files

from .conftest import SAMPLES
from .test_pack import build


def event(seq: int, run: str, kind: str = "error", **f: Any) -> Any:
    raw = {
        "v": 1,
        "seq": seq,
        "ts": "2026-01-01T00:00:00Z",
        "run": run,
        "span": f"{run}.{seq}",
        "parent": None,
        "agent": "a",
        "kind": kind,
        "prev": "0" * 64,
        "hash": "0" * 64,
        **({"message": "m"} if kind == "error" else {}),
        **({"pipeline": "p", "outcome": "ok"} if kind == "run_end" else {}),
        **f,
    }
    return ev_mod.decoder.decode(msgspec.json.encode(raw))


def test_only_the_runs_of_shown_exceptions_are_kept_whole() -> None:
    shown: set[str] = set()
    rec = RunExcerpts(shown, max_open=10)
    seq = 0
    for run in ("r1", "r2", "r1", "r2", "r3"):
        rec.feed("t.jsonl", seq + 1, event(seq, run))
        seq += 1
    shown.add("r2")  # a control failed at an event of r2, before r2 ends
    for run in ("r1", "r2", "r3"):
        rec.feed("t.jsonl", seq + 1, event(seq, run, "run_end"))
        seq += 1
    kept = rec.finish()
    assert list(kept) == ["r2"]
    assert [ev.seq for _, _, ev in kept["r2"].events] == [1, 3, 6]
    assert kept["r2"].count == 3 and not kept["r2"].too_long


def test_a_run_that_goes_on_after_its_end_keeps_its_earlier_events() -> None:
    rec = RunExcerpts({"r"}, max_open=10)
    rec.feed("t.jsonl", 1, event(0, "r"))
    rec.feed("t.jsonl", 2, event(1, "r", "run_end"))
    rec.feed("t.jsonl", 3, event(2, "r"))
    kept = rec.finish()
    assert [ev.seq for _, _, ev in kept["r"].events] == [0, 1, 2]


def test_open_runs_are_bounded_oldest_closed_first() -> None:
    rec = RunExcerpts({"r0"}, max_open=2)
    for i in range(4):
        rec.feed("t.jsonl", i + 1, event(i, f"r{i}"))
    assert list(rec.open) == ["r2", "r3"]
    assert list(rec.kept) == ["r0"]


def test_a_run_past_the_bound_is_counted_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excerpts, "MAX_RUN_EVENTS", 3)
    rec = RunExcerpts({"r"}, max_open=10)
    for i in range(5):
        rec.feed("t.jsonl", i + 1, event(i, "r"))
    run = rec.finish()["r"]
    assert run.count == 5 and run.events == [] and run.too_long


def test_a_control_names_the_runs_of_its_shown_exceptions_only() -> None:
    shown: set[str] = set()
    c = Control(shown_runs=shown)
    for i in range(MAX_EXCEPTIONS_SHOWN + 5):
        c.fail("x", Location("t.jsonl", i + 1, i, f"s{i}", f"r{i}"))
    c.fail("no location", None)
    assert shown == {f"r{i}" for i in range(MAX_EXCEPTIONS_SHOWN)}
    assert Control(shown_runs=shown) == Control()  # the shared set is not part of the value


def test_report_reads_each_trail_once_for_judgement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier reads the bytes once (its own scan), the judge once (``read_decoded``);
    the pack's excerpts come from the judge's pass, so ``read_decoded`` (which ``read_events``
    reads through) runs once per trail."""
    from harness_audit.evidence import trails
    from harness_audit.report import pack
    from harness_audit.trail import reader

    calls: list[list[Path]] = []
    real = reader.read_decoded

    def counting(paths: list[Path], *a: Any, **k: Any) -> Any:
        calls.append(list(paths))
        return real(paths, *a, **k)

    hashed: list[str] = []
    real_input = pack.file_input

    def hashing(kind: str, path: Path) -> Any:
        hashed.append(kind)
        return real_input(kind, path)

    monkeypatch.setattr(pack, "file_input", hashing)
    monkeypatch.setattr(reader, "read_decoded", counting)
    monkeypatch.setattr(trails, "read_decoded", counting)
    r = build(tmp_path / "pack", str(SAMPLES), "--no-pdf", monkeypatch=monkeypatch)
    assert r.exit_code == ExitCode.FINDINGS, r.output
    html = (tmp_path / "pack" / "evidence.html").read_text()
    assert 'id="replay-' in html  # the excerpts are there
    judged = [str(p) for c in calls for p in c]
    assert calls and len(judged) == len(set(judged))  # no trail read twice
    assert "trail" not in hashed and "manifest" in hashed  # trails hashed as they were judged
    for f in trail_files([Path(x) for x in judged]):  # and the inputs list what they hold
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        assert digest in html
