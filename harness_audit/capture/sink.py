"""Sealing what arrives: spans -> events (:mod:`.stream`) -> the trail writer, durably.

:meth:`TrailSink.write` maps one batch and writes it with one fsync
(:meth:`~harness_audit.trail.writer.TrailWriter.write_many`): when it returns, every event of
the batch is on disk, so a receiver that acknowledges after it never loses an acknowledged
event. A checkpoint is signed every ``checkpoint_every`` events (by the writer), every
``checkpoint_seconds`` (on the next write or :meth:`TrailSink.tick`) and at :meth:`close`.
With ``acknowledge="uploaded"`` (a trail in object storage), :meth:`TrailSink.write` returns
only once the batch's segment is closed and uploaded (``If-None-Match: *``, the bucket's Object
Lock retention), with every segment before it: the unit acknowledged is the request.

A write that fails (disk full, I/O error) leaves the sink *broken*: the writer is abandoned
(its lock released, nothing more written through it), the segment is cut back to where it
ended before the batch (the refused request's partial lines are not a crash remnant: nothing
of them is kept, no ``.torn`` file is left, and the space is given back), and the next write
reopens the folder, which resumes the chain and rebuilds the mapper from the trail, so what is
in memory never runs ahead of what is written; until the reopen succeeds every write raises
:class:`Unavailable` (503). The writer never signs inside a batch (the sink signs between
batches), so a batch cut back was never under a signature. One sink per folder: the writer's
lock refuses a second one, in this process or another.

What was signed is tracked: :attr:`TrailSink.signed` is the tree size of the newest checkpoint
this sink's key signed over the folder (this run, or found when it opened), and
:meth:`TrailSink.close` signs a final one only when it can: on a full disk it says so rather than
announcing a checkpoint it never wrote. A checkpoint of the empty tree anchors nothing, so none
is ever signed: a receiver that stops before its first event leaves no checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness_audit.capture.stream import StreamMapper
from harness_audit.errors import TrailError
from harness_audit.importers.base import ImportStats, Mapping
from harness_audit.importers.spans import Span
from harness_audit.trail.note import Checkpoint, NoteError, Signer, verify_note
from harness_audit.trail.store import LocalStore, TrailStore
from harness_audit.trail.writer import TrailWriter


class Unavailable(Exception):
    """The trail cannot be written now (the reason is in the message); retry later."""


class InvalidBatch(Exception):
    """The batch maps to an event the trail refuses (nothing of it was written)."""


@dataclass
class Counters:
    """What a sink did: batches, spans and events written, checkpoints, failures."""

    batches: int = 0
    spans: int = 0
    events: int = 0
    checkpoints: int = 0
    write_failures: int = 0
    reopened: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict."""
        return {k: v for k, v in self.__dict__.items() if k != "started"}


class TrailSink:
    """Map and seal span batches into the trail folder ``folder`` (see the module doc)."""

    def __init__(
        self,
        folder: Path,
        origin: str,
        signer: Signer | None,
        *,
        mapping: Mapping | None = None,
        pipeline: str = "collected",
        checkpoint_every: int = 10_000,
        checkpoint_seconds: float = 30.0,
        segment_bytes: int = 64 << 20,
        shard: str | None = None,
        acknowledge: str = "local",
    ) -> None:
        self.folder = folder
        self.acknowledge = acknowledge  # "uploaded": each batch in the store before write returns
        self.shard = shard  # periods as shards (trail/shards.py): ``folder`` is the root
        self.origin = origin
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.segment_bytes = segment_bytes
        self.stats = ImportStats()
        self.mapper = StreamMapper(mapping, pipeline, self.stats)
        self.counters = Counters()
        self.lock = threading.Lock()
        self.writer: TrailWriter | None = None
        self.error: str | None = None
        self._last_checkpoint = time.monotonic()
        self._since_checkpoint = 0
        self._last_seq = 0
        self.signed: int | None = None
        """Tree size of the newest checkpoint signed by this sink's key (None: none)."""
        self.closed_signed = False
        """True once :meth:`close` signed the final checkpoint."""
        self._open()
        self.signed = self._found_signed()

    def _open(self) -> None:
        writer = TrailWriter(
            self.folder,
            self.origin,
            self.signer,
            checkpoint_every=0,  # never inside a batch: the sink signs between batches
            segment_bytes=self.segment_bytes,
            durable=False,
            shard=self.shard,
        )
        try:
            self.mapper.resume(_events(writer.store))
        except BaseException:
            writer.abandon()  # nothing was written: no checkpoint to sign
            raise
        self.writer = writer
        self.error = None

    def _found_signed(self) -> int | None:
        """The tree size of the folder's newest checkpoint when this sink's key signed it (a
        resumed trail), else None; the empty tree anchors nothing (None too)."""
        if self.signer is None or self.writer is None:
            return None
        path = Path(self.writer.folder) / f"{self.writer.prefix}.checkpoint"
        try:
            with path.open("rb") as f:
                data = f.read(64 << 10)
            note, _ = verify_note(data, [self.signer.verifier])
            size = Checkpoint.parse(note.text).size
        except (OSError, NoteError):
            return None
        return size if 0 < size <= self.writer.seq else None

    @property
    def seq(self) -> int:
        """Events in the trail so far."""
        return self.writer.seq if self.writer is not None else self._last_seq

    def write(self, spans: list[tuple[str, Span]]) -> int:
        """Map and write one batch; durable on return. Returns the events written."""
        with self.lock:
            writer = self._writer()
            if writer.roll():  # a new period's shard: nothing of it signed yet
                self.signed = None
            events = self.mapper.map_batch(spans)
            mark = writer.end(), writer.seq
            try:
                if events:
                    writer.write_many(events)
            except (TrailError, ValueError) as e:
                # sealed and validated before anything is written: nothing of the batch is
                # in the trail, but the mapper counted it: rebuild it from the trail
                self.mapper.resume(_events(writer.store))
                raise InvalidBatch(_reason(e)) from None
            except OSError as e:
                self._fail(e, mark)
                raise Unavailable(self.error or "cannot write the trail") from None
            if self.acknowledge == "uploaded":
                # the batch is durable locally; answered only once its segment (and every one
                # before it, a retried request's too) is an object in the store
                try:
                    writer.close_segment()
                except (OSError, TrailError) as e:
                    raise Unavailable(f"not uploaded yet: {_reason(e)}") from None
            self.counters.batches += 1
            self.counters.spans += len(spans)
            self.counters.events += len(events)
            self._since_checkpoint += len(events)
            due = self.checkpoint_every and self._since_checkpoint >= self.checkpoint_every
            if due or (
                self.checkpoint_seconds
                and time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
            ):
                try:  # the batch is durable: a checkpoint that fails does not refuse it
                    self._checkpoint()
                except OSError as e:
                    self._fail(e)
            return len(events)

    def _writer(self) -> TrailWriter:
        if self.writer is None:
            try:
                self._open()
                self.counters.reopened += 1
            except (OSError, TrailError) as e:
                self.error = f"cannot reopen the trail: {_reason(e)}"
                raise Unavailable(self.error) from None
        assert self.writer is not None
        return self.writer

    def _fail(self, e: OSError, mark: tuple[tuple[str, int], int] | None = None) -> None:
        """Abandon the writer after a failed write, and cut the segment back to ``mark`` (where
        the trail ended before the batch, and its size then); the next write reopens the
        folder."""
        self.counters.write_failures += 1
        self.error = f"cannot write the trail: {_reason(e)}"
        w, self.writer = self.writer, None
        if w is None:
            return
        self._last_seq = w.seq
        w.abandon()  # closing may fail flushing what the disk refused; it is dropped
        if mark is not None and self._cut_back(w.store, *mark[0]):
            self._last_seq = mark[1]

    def _cut_back(self, store: TrailStore, segment: str, length: int) -> bool:
        """Truncate ``segment`` to ``length`` and remove the segments after it (a batch that
        rotated): what a refused batch appended, flushed or not, goes, and its space with it.
        False when it cannot (the reopen then keeps a torn last line aside, as after a
        crash)."""
        if not isinstance(store, LocalStore):
            return False
        try:
            for later in store.segments():
                if later > segment:
                    os.unlink(later)
            fd = os.open(segment, os.O_WRONLY)
            try:
                os.ftruncate(fd, length)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            return False
        with contextlib.suppress(OSError):
            dfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return True

    def tick(self) -> None:
        """Sign a checkpoint when ``checkpoint_seconds`` have passed with events unsigned."""
        with self.lock:
            if (
                self.writer is not None
                and self.checkpoint_seconds
                and time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
            ):
                try:
                    self._checkpoint()
                except OSError as e:
                    self._fail(e)

    def checkpoint(self) -> None:
        """Fsync and sign a checkpoint now."""
        with self.lock:
            if self.writer is not None:
                try:
                    self._checkpoint()
                except OSError as e:
                    self._fail(e)
                    raise Unavailable(self.error or "cannot write the trail") from None

    def _checkpoint(self) -> None:
        """Sign a checkpoint of what was written since the last one (never of the empty
        tree: it anchors nothing)."""
        self._last_checkpoint = time.monotonic()
        w = self.writer
        if w is not None and self._since_checkpoint and w.seq > 0:
            self._signed_by(w)
        self._since_checkpoint = 0

    def _signed_by(self, w: TrailWriter) -> None:
        if w.checkpoint() is not None:
            self.counters.checkpoints += 1
            self.signed = w.seq

    def close(self) -> None:
        """Sign the final checkpoint and release the folder. A sink that cannot write (a
        full disk) first tries to reopen the folder; when it still cannot sign, nothing is
        announced: :attr:`signed` stays the last checkpoint signed and :attr:`error` says
        why. With no event in the trail nothing is signed (the empty tree anchors nothing)."""
        with self.lock:
            if self.writer is None and self.error is not None:
                with contextlib.suppress(OSError, TrailError):
                    self._open()
                    self.counters.reopened += 1
            w, self.writer = self.writer, None
            if w is None:
                return
            self._last_seq = w.seq
            if w.seq == 0:
                w.abandon()  # nothing to anchor: no checkpoint of the empty tree
                return
            try:
                if self.signed != w.seq:  # else the newest checkpoint is the final one
                    self._signed_by(w)
            except OSError as e:
                self.counters.write_failures += 1
                self.error = f"cannot sign the final checkpoint: {_reason(e)}"
                w.abandon()
                return
            w.abandon()  # signed and fsynced: close the segment and release the lock
            self.closed_signed = True

    def summary(self) -> dict[str, Any]:
        """Counters, events per kind, dropped records per reason, the trail's size."""
        return {
            **self.counters.as_dict(),
            "seq": self.seq,
            "signed": self.signed,
            "final_signed": self.closed_signed,
            "error": self.error,
            "kinds": dict(sorted(self.stats.events.items())),
            "dropped": dict(sorted(self.stats.dropped.items())),
            "runs_ended": self.stats.runs,
            "open_runs": len(self.mapper.open),
            "open_spans": self.mapper.open_spans,
            "flushed": dict(sorted(self.mapper.flushed.items())),
        }


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    if isinstance(e, TrailError):
        return "; ".join(d.message for d in e.diagnostics())
    return type(e).__name__


def _events(store: TrailStore) -> Iterator[dict[str, Any]]:
    """The events of the trail's segments, read through the writer's store (only their
    complete lines; the writer has cut a torn last line already)."""
    for seg in store.segments():
        with store.open_range(seg) as f:
            for raw in f:
                if raw.endswith(b"\n"):
                    try:
                        ev = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(ev, dict):
                        yield ev
