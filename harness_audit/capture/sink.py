"""Sealing what arrives: spans -> events (:mod:`.stream`) -> the trail writer, durably.

:meth:`TrailSink.write` maps one batch and writes it with one fsync
(:meth:`~harness_audit.trail.writer.TrailWriter.append_many`): when it returns, every event of
the batch is on disk, so a receiver that acknowledges after it never loses an acknowledged
event. A checkpoint is signed every ``checkpoint_every`` events (by the writer), every
``checkpoint_seconds`` (on the next write or :meth:`TrailSink.tick`) and at :meth:`close`.

A write that fails (disk full, I/O error) leaves the sink *broken*: the writer is abandoned
(its lock released, nothing more written through it) and the next write reopens the folder,
which resumes the chain (a torn last line is kept aside and cut, as the writer does) and
rebuilds the mapper from the trail, so what is in memory never runs ahead of what is written;
until the reopen succeeds every write raises :class:`Unavailable` (503). One sink per folder:
the writer's lock refuses a second one, in this process or another.
"""

from __future__ import annotations

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
from harness_audit.trail.note import Signer
from harness_audit.trail.store import TrailStore
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
    ) -> None:
        self.folder = folder
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
        self._open()

    def _open(self) -> None:
        writer = TrailWriter(
            self.folder,
            self.origin,
            self.signer,
            checkpoint_every=self.checkpoint_every,
            segment_bytes=self.segment_bytes,
            durable=False,
        )
        try:
            self.mapper.resume(_events(writer.store))
        except BaseException:
            writer.close()
            raise
        self.writer = writer
        self.error = None

    @property
    def seq(self) -> int:
        """Events in the trail so far."""
        return self.writer.seq if self.writer is not None else self._last_seq

    def write(self, spans: list[tuple[str, Span]]) -> int:
        """Map and write one batch; durable on return. Returns the events written."""
        with self.lock:
            writer = self._writer()
            events = self.mapper.map_batch(spans)
            try:
                if events:
                    writer.append_many(events)
            except (TrailError, ValueError) as e:
                # sealed and validated before anything is written: nothing of the batch is
                # in the trail, but the mapper counted it: rebuild it from the trail
                self.mapper.resume(_events(writer.store))
                raise InvalidBatch(_reason(e)) from None
            except OSError as e:
                self._fail(e)
                raise Unavailable(self.error or "cannot write the trail") from None
            self.counters.batches += 1
            self.counters.spans += len(spans)
            self.counters.events += len(events)
            self._since_checkpoint += len(events)
            if (
                self.checkpoint_seconds
                and time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
            ):
                self._checkpoint()
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

    def _fail(self, e: OSError) -> None:
        """Abandon the writer after a failed write; the next write reopens the folder."""
        self.counters.write_failures += 1
        self.error = f"cannot write the trail: {_reason(e)}"
        w, self.writer = self.writer, None
        if w is None:
            return
        self._last_seq = w.seq
        w.abandon()  # closing may fail flushing what the disk refused; it is dropped

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
        self._last_checkpoint = time.monotonic()
        if self.writer is not None and (self._since_checkpoint or self.writer.seq == 0):
            self.writer.checkpoint()
            self.counters.checkpoints += 1
        self._since_checkpoint = 0

    def close(self) -> None:
        """Sign the final checkpoint and release the folder."""
        with self.lock:
            w, self.writer = self.writer, None
            if w is not None:
                self._last_seq = w.seq
                w.close()
                self.counters.checkpoints += 1

    def summary(self) -> dict[str, Any]:
        """Counters, events per kind, dropped records per reason, the trail's size."""
        return {
            **self.counters.as_dict(),
            "seq": self.seq,
            "kinds": dict(sorted(self.stats.events.items())),
            "dropped": dict(sorted(self.stats.dropped.items())),
            "runs_ended": self.stats.runs,
            "open_runs": len(self.mapper.open),
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
