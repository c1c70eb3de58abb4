"""The sealing process: the one streaming sealer of ``trail seal``, ``trail import`` and
``collect`` (and the OTel exporter, through ``collect``'s sink), optionally in a second process.

Every path seals the same way: a :class:`~harness_audit.trail.writer.TrailWriter` over a
:class:`~harness_audit.trail.store.TrailStore` seals each event (:meth:`TrailWriter.seal`,
canonical form, validation, hash chain) and appends it (:meth:`TrailWriter.put`, Merkle tree,
write), streaming: memory holds a batch, never the trail. :func:`seal_events` takes any
:class:`~harness_audit.trail.source.EventSource`'s events: ``trail import`` into a new folder
(:class:`~harness_audit.trail.store.LocalStore`: segments, ``trail.checkpoint`` and the
``checkpoints/`` history), ``trail seal`` (:func:`seal`) into one file and its
``.checkpoint`` (:class:`~harness_audit.trail.store.FileStore`, both appearing only when every
event sealed, no ``ts`` filled in). ``collect``'s sink appends acknowledged batches through the
same writer (:meth:`TrailWriter.append_many`, durable per batch).

``trail import`` reads and maps a source, then seals every event (canonical form, validation,
hash chain, Merkle tree, write). With ``jobs=2`` the sealing runs in a forked child process
while this one goes on reading, the events handed over in batches through a private pipe
(marshalled, or pickled when a batch holds what marshal does not write; either only ever reads
what the other half of this module wrote); with ``jobs=1`` (or where ``fork`` is not
available) both run here. Either way the trail is the same, byte for byte (but for the
checkpoint's signing time, its ``harness-audit-signed`` line): one
:class:`~harness_audit.trail.writer.TrailWriter` seals the events in the order given.

An event that does not seal is a :class:`~harness_audit.errors.TrailError` naming the source
file and line it came from; the child is stopped and waited for before any error goes on, so
nothing writes to the folder after :func:`seal_events` returns or raises. After an error the
folder holds the part sealed before it (``trail import`` builds in a temporary folder and
discards it).
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness_audit.errors import Diagnostic, HarnessAuditError, TrailError
from harness_audit.trail.note import Signer
from harness_audit.trail.source import EventSource, RawEvent
from harness_audit.trail.store import FileStore, LocalStore, TrailStore, open_store

BATCH = 2_000
END = b"e"
"""The tag of the last hand-over: the closing checkpoint's extension lines (marshalled)."""
"""Events per hand-over to the sealing process (and between two flushes of the segment)."""

IMPORTED = "record cannot be sealed: event {seq}: {error}"
"""How ``trail import`` names an event that does not seal (with its source file and line)."""
SEALED = "{error}"
"""How ``trail seal`` names a line that does not seal (with its file and line)."""


def default_jobs() -> int:
    """2 where a second CPU and ``fork`` are there to seal beside the reading, else 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return 2 if cpus > 1 and _can_fork() else 1


def _can_fork() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def seal_events(
    events: Iterable[RawEvent],
    folder: Path | TrailStore,
    origin: str,
    signer: Signer,
    jobs: int = 1,
    *,
    stamp: bool = True,
    wording: str = IMPORTED,
    extensions: Callable[[], Sequence[str]] | None = None,
    discard: Path | None = None,
    shard: str | None = None,
) -> int:
    """Seal ``events`` into a new trail (a folder, new or empty, or a store) and sign its
    checkpoint; return how many were sealed. ``jobs=2`` seals in a second process (see the
    module doc); ``stamp`` fills a missing ``ts``; ``wording`` is the message of an event that
    does not seal (``{seq}``, ``{error}``), named by its source file and line.

    ``extensions`` gives, once every event has been read, more checkpoint extension lines
    for the closing checkpoint (``trail import``'s import line, with its sources' digests,
    known only once they are read); the signing time is always one.

    ``discard``: a folder being built (``trail import``'s hidden one) that the sealing process
    removes if this process dies before the end (``kill -9``): then nobody else can, and the
    sealing process, which learns of it by the end of the pipe (and, on Linux, a parent-death
    signal), stops rather than living on beside it.

    ``shard`` (``month``, ``quarter``): ``folder`` is the root of a sharded trail, one shard
    folder per period of the writer's clock (:mod:`~harness_audit.trail.shards`)."""
    store = open_store(folder) if isinstance(folder, Path) else folder
    if jobs > 1 and _can_fork():
        return _in_child(events, store, origin, signer, stamp, wording, extensions, discard, shard)
    with _Sealer(store, origin, signer, stamp, wording, shard) as sealer:
        try:
            batch: list[tuple[str, int, dict[str, Any]]] = []
            try:
                for raw in events:
                    batch.append((raw.file, raw.line, raw.event))
                    if len(batch) == BATCH:
                        sealer.seal_batch(batch)
                        batch = []
            except Exception:  # the reading's error: an earlier event's own comes first
                sealer.seal_batch(batch)
                raise
            sealer.seal_batch(batch)
        finally:  # also what an unfinished, resumable folder is signed with
            if extensions is not None:
                sealer.writer.extensions = tuple(extensions())
        return sealer.count


def seal(source: EventSource, out: Path, signer: Signer, origin: str) -> tuple[int, str]:
    """``trail seal``: chain and sign every event of ``source``; return (events, checkpoint
    note). Writes ``out`` and ``out.checkpoint``; both appear only when every event sealed. An
    event that does not seal is a :class:`TrailError` naming the source file and line."""
    store = FileStore(out)
    count = seal_events(source.events(), store, origin, signer, stamp=False, wording=SEALED)
    assert store.note is not None
    return count, store.note


def seal_file(source: Path, out: Path, signer: Signer, origin: str) -> tuple[int, str]:
    """``trail seal``: chain and sign a plain JSONL file of events; return (events, checkpoint).

    Writes ``out`` and ``out.checkpoint``; both appear only when every line sealed.
    """
    from harness_audit.trail.seal import JsonlSource

    return seal(JsonlSource(source), out, signer, origin)


class _Sealer:
    """One writer for the whole stream: errors name the source record, fsync every batch."""

    def __init__(
        self,
        store: TrailStore,
        origin: str,
        signer: Signer,
        stamp: bool,
        wording: str,
        shard: str | None = None,
    ) -> None:
        from harness_audit.trail.writer import TrailWriter

        self.wording = wording
        folder = Path(store.segment(1)).parent
        self.writer = TrailWriter(
            folder,
            origin,
            signer,
            checkpoint_every=0,
            durable=False,
            stamp=stamp,
            store=None if shard else store,  # a sharded writer opens each shard's store
            shard=shard,
        )
        self.store = self.writer.store
        self.count = 0

    def seal_batch(self, batch: list[tuple[str, int, dict[str, Any]]]) -> None:
        """Seal and append a batch of events (their source file and line for an error), in
        bulk (:meth:`TrailWriter.seal_many`), then flush every :data:`BATCH` events; the
        events before one that does not seal are appended before its error is raised."""
        writer = self.writer
        if writer.shard is not None:  # a sharded writer rolls at each event: one at a time
            for file, line, event in batch:
                self.seal(file, line, event)
            return
        sealed = writer.seal_many([event for _, _, event in batch])
        writer.put_many(sealed)
        before = self.count
        self.count += len(sealed.lines)
        if sealed.error is not None:
            file, line, _ = batch[len(sealed.lines)]
            text = self.wording.format(seq=writer.seq, error=sealed.error)
            raise TrailError(Diagnostic(file, text, line)) from sealed.error
        if self.count // BATCH != before // BATCH:
            writer.flush()

    def seal(self, file: str, line: int, event: dict[str, Any]) -> None:
        """Seal and append one event (its source file and line for an error)."""
        writer = self.writer
        try:
            sealed, digest = writer.seal(event)
        except ValueError as e:  # sealing refused it: name the source record
            text = self.wording.format(seq=writer.seq, error=e)
            raise TrailError(Diagnostic(file, text, line)) from e
        writer.put(sealed, digest)
        self.count += 1
        if self.count % BATCH == 0:
            writer.flush()

    def __enter__(self) -> _Sealer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        store = self.writer.store  # a sharded writer's: the shard it ends in
        if kind is None or store.resumable:
            self.writer.close()  # an unfinished folder keeps what was sealed, signed
        else:  # a trail that appears whole or not at all: nothing of it
            self.writer.abandon()
            store.discard()
        if isinstance(store, LocalStore):
            store.remove_lock()  # no writer any more


def _in_child(
    events: Iterable[RawEvent],
    store: TrailStore,
    origin: str,
    signer: Signer,
    stamp: bool,
    wording: str,
    extensions: Callable[[], Sequence[str]] | None = None,
    discard: Path | None = None,
    shard: str | None = None,
) -> int:
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=True)
    child = ctx.Process(
        target=_child,
        args=(theirs, ours, os.getpid(), discard, store, origin, signer, stamp, wording, shard),
        daemon=True,
    )
    # forked before the first event is asked for, so before the reading side does anything
    child.start()
    theirs.close()
    try:
        batch: list[tuple[str, int, dict[str, Any]]] = []
        for raw in events:
            batch.append((raw.file, raw.line, raw.event))
            if len(batch) == BATCH:
                _hand_over(ours, batch)
                batch = []
        if batch:
            _hand_over(ours, batch)
        lines = list(extensions()) if extensions is not None else []
        # the end, with the closing checkpoint's extension lines: seal what is left, sign, report
        _send(ours, END + marshal.dumps(lines))
        return _answer(ours)
    finally:
        ours.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _hand_over(conn: Connection, batch: list[tuple[str, int, dict[str, Any]]]) -> None:
    if conn.poll():  # the child refused an event and stopped: say so now
        _answer(conn)
    _send(conn, _pack(batch))


def _pack(batch: list[tuple[str, int, dict[str, Any]]]) -> bytes:
    """A batch as bytes: marshal (exact for the plain values events hold, and the fastest both
    ways), else pickle; a one-byte tag says which."""
    try:
        return b"m" + marshal.dumps(batch)
    except ValueError:  # a value marshal does not write: pickle does
        return b"p" + pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes) -> list[tuple[str, int, dict[str, Any]]]:
    # both only ever read what _pack wrote in the parent
    if data[:1] == b"m":
        batch: list[tuple[str, int, dict[str, Any]]] = marshal.loads(data[1:])  # noqa: S302
        return batch
    batch = pickle.loads(data[1:])  # noqa: S301
    return batch


def _send(conn: Connection, data: bytes) -> None:
    try:
        conn.send_bytes(data)
    except OSError:  # the child has gone (it stopped on an error it may have sent)
        _answer(conn)


def _answer(conn: Connection) -> int:
    """The child's report: the count, or the error it stopped on (raised here)."""
    try:
        kind, value = pickle.loads(conn.recv_bytes())  # noqa: S301 - our own child's
    except (EOFError, OSError) as e:
        raise TrailError(
            Diagnostic("trail import", "the sealing process ended without a report")
        ) from e
    if kind == "error":
        raise TrailError(value)
    count: int = value
    return count


class _Orphaned(BaseException):
    """The reading process died (``kill -9``): nobody will read a report or use the folder."""


def _die_with(parent: int) -> None:
    """Be told when ``parent`` dies: on Linux a SIGTERM (``PR_SET_PDEATHSIG``), which, the
    parent gone, stops the sealing wherever it is; elsewhere the end of the pipe does."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl: the pipe's end still tells
            pass

    def on_term(signum: int, frame: object) -> None:
        if os.getppid() != parent:
            raise _Orphaned
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's terminate(): as before
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    if os.getppid() != parent:  # it died before the signal was asked for
        raise _Orphaned


def _child(
    conn: Connection,
    parent_end: Connection,
    parent: int,
    discard: Path | None,
    store: TrailStore,
    origin: str,
    signer: Signer,
    stamp: bool,
    wording: str,
    shard: str | None = None,
) -> None:
    # forked with both ends of the pipe: the parent's end closed here, so that the parent's
    # death (whose end then closes too) is the end of the pipe for this process
    parent_end.close()
    # Ctrl-C reaches the whole process group: the parent handles it and stops this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _die_with(parent)
        with _Sealer(store, origin, signer, stamp, wording, shard) as sealer:
            while (data := conn.recv_bytes())[:1] != END:
                sealer.seal_batch(_unpack(data))
            lines: list[str] = marshal.loads(data[1:])  # noqa: S302 - the parent's, see _in_child
            sealer.writer.extensions = tuple(lines)
        report: tuple[str, Any] = ("ok", sealer.count)
    except (EOFError, _Orphaned):  # the parent stopped (its own error) or died: nobody to
        # report to, and the folder it was building is of no use: remove it, as it would have
        _abandon(discard)
        return
    except HarnessAuditError as e:
        report = ("error", e.diagnostics())
    except Exception as e:  # reported to the parent, which raises it
        where = str(Path(store.segment(1)).parent)
        report = ("error", [Diagnostic(where, f"sealing failed: {type(e).__name__}: {e}")])
    try:
        conn.send_bytes(pickle.dumps(report))
    except OSError:  # the parent has gone
        _abandon(discard)
    finally:
        conn.close()


def _abandon(folder: Path | None) -> None:
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["BATCH", "IMPORTED", "SEALED", "default_jobs", "seal", "seal_events", "seal_file"]
