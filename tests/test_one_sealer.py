"""Issue 21, move 2: one sealer. ``trail seal``, ``trail import`` and ``collect`` (and so the
OTel exporter, which writes through ``collect``'s sink) all seal through the same step of the
same writer (:meth:`TrailWriter.seal` / :meth:`TrailWriter.put`, or for a batch
:meth:`TrailWriter.seal_many` / :meth:`TrailWriter.put_many`), and for the same events they
write the same bytes, whatever the layout (one file, or a folder of segments)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_audit.capture import TrailSink, decode
from harness_audit.trail.sealer import seal_events, seal_file
from harness_audit.trail.source import RawEvent
from harness_audit.trail.writer import Sealed, TrailWriter

from .test_collect import pb_request
from .trailkit import SIGNER, event

ORIGIN = "harness-audit/one-sealer"


def tree_head(checkpoint: Path) -> list[str]:
    """A checkpoint's origin, size and root: the same for the same bytes sealed. Its signing
    time (``harness-audit-signed``, to the second) and so its signature differ when two
    sealings fall in different seconds, as they did on a loaded machine."""
    lines = checkpoint.read_text().splitlines()
    assert lines[3].startswith("harness-audit-signed "), lines
    return lines[:3]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every line appended through :meth:`TrailWriter.put` or :meth:`TrailWriter.put_many`
    (the writer's one step, for one event or a batch; the writer is not compiled, so the
    patch is seen by every caller)."""
    lines: list[bytes] = []
    real, real_many = TrailWriter.put, TrailWriter.put_many

    def put(self: TrailWriter, line: bytes, digest: str) -> None:
        lines.append(line)
        real(self, line, digest)

    def put_many(self: TrailWriter, batch: Sealed) -> None:
        lines.extend(batch.lines)
        real_many(self, batch)

    monkeypatch.setattr(TrailWriter, "put", put)
    monkeypatch.setattr(TrailWriter, "put_many", put_many)
    return lines


def test_seal_import_and_collect_share_the_sealer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _spy(monkeypatch)
    events = [event(i) for i in range(1, 8)]
    src = tmp_path / "plain.jsonl"
    src.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in events))

    count, _ = seal_file(src, tmp_path / "sealed.jsonl", SIGNER, ORIGIN)  # trail seal
    assert count == 7 and len(lines) == 7
    sealed = (tmp_path / "sealed.jsonl").read_bytes()
    assert sealed == b"".join(x + b"\n" for x in lines)

    lines.clear()  # trail import (in this process: a forked child's calls are not seen)
    raws = (RawEvent("plain.jsonl", i, e) for i, e in enumerate(events, 1))
    seal_events(raws, tmp_path / "imported", ORIGIN, SIGNER, jobs=1)
    assert len(lines) == 7
    assert (tmp_path / "imported" / "trail-000001.jsonl").read_bytes() == sealed
    assert tree_head(tmp_path / "imported" / "trail.checkpoint") == tree_head(
        tmp_path / "sealed.jsonl.checkpoint"
    )

    lines.clear()  # collect (and the OTel exporter, which writes through the same sink)
    sink = TrailSink(tmp_path / "collected", ORIGIN, SIGNER, checkpoint_seconds=0)
    written = sink.write(decode(pb_request(1, 2)[0], "application/x-protobuf"))
    sink.close()
    assert written > 0 and len(lines) == written
    segment = (tmp_path / "collected" / "trail-000001.jsonl").read_bytes()
    assert segment == b"".join(x + b"\n" for x in lines)


def test_the_layouts_differ_only_in_where_the_bytes_go(tmp_path: Path) -> None:
    """Two processes or one, a folder or one file, a receiver's batches: the same bytes."""
    events = [event(i) for i in range(40)]
    src = tmp_path / "plain.jsonl"
    src.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in events))
    seal_file(src, tmp_path / "one.jsonl", SIGNER, ORIGIN)
    for jobs in (1, 2):
        raws = (RawEvent("plain.jsonl", i, e) for i, e in enumerate(events, 1))
        seal_events(raws, tmp_path / f"j{jobs}", ORIGIN, SIGNER, jobs=jobs)
    with TrailWriter(tmp_path / "batches", ORIGIN, SIGNER, checkpoint_every=0) as w:
        w.append_many(events[:25])
        w.append_many(events[25:])
    want = (tmp_path / "one.jsonl").read_bytes()
    note = tree_head(tmp_path / "one.jsonl.checkpoint")
    for folder in ("j1", "j2", "batches"):
        assert (tmp_path / folder / "trail-000001.jsonl").read_bytes() == want
        assert tree_head(tmp_path / folder / "trail.checkpoint") == note
