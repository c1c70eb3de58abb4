"""Seal a stream of events into a new trail folder, optionally in a second process.

``trail import`` reads and maps a source, then seals every event (canonical form, validation,
hash chain, Merkle tree, write). With ``jobs=2`` the sealing runs in a forked child process
while this one goes on reading, the events handed over in batches through a private pipe
(marshalled, or pickled when a batch holds what marshal does not write; either only ever reads
what the other half of this module wrote); with ``jobs=1`` (or where ``fork`` is not
available) both run here. Either way the trail is the same, byte for byte: one
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
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness_audit.errors import Diagnostic, HarnessAuditError, TrailError
from harness_audit.trail.note import Signer
from harness_audit.trail.source import RawEvent

BATCH = 2_000
"""Events per hand-over to the sealing process (and between two flushes of the segment)."""


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
    events: Iterable[RawEvent], folder: Path, origin: str, signer: Signer, jobs: int = 1
) -> int:
    """Seal ``events`` into the trail folder ``folder`` (new or empty) and sign its checkpoint;
    return how many were sealed. ``jobs=2`` seals in a second process (see the module doc)."""
    if jobs > 1 and _can_fork():
        return _in_child(events, folder, origin, signer)
    with _Sealer(folder, origin, signer) as sealer:
        for raw in events:
            sealer.seal(raw.file, raw.line, raw.event)
        return sealer.count


class _Sealer:
    """One writer for the whole stream: errors name the source record, fsync every batch."""

    def __init__(self, folder: Path, origin: str, signer: Signer) -> None:
        from harness_audit.trail.writer import TrailWriter

        self.writer = TrailWriter(folder, origin, signer, checkpoint_every=0, durable=False)
        self.count = 0

    def seal(self, file: str, line: int, event: dict[str, Any]) -> None:
        try:
            self.writer.write(event)
        except HarnessAuditError as e:  # sealing refused it: name the source record
            raise TrailError(
                Diagnostic(file, f"record cannot be sealed: {e.diagnostics()[0].message}", line)
            ) from e
        self.count += 1
        if self.count % BATCH == 0:
            self.writer.flush()

    def __enter__(self) -> _Sealer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.close()
        (self.writer.folder / ".lock").unlink(missing_ok=True)  # no writer any more


def _in_child(events: Iterable[RawEvent], folder: Path, origin: str, signer: Signer) -> int:
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=True)
    child = ctx.Process(target=_child, args=(theirs, folder, origin, signer), daemon=True)
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
        _send(ours, b"")  # the end: seal what is left, sign, report
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


def _child(conn: Connection, folder: Path, origin: str, signer: Signer) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and stops this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _Sealer(folder, origin, signer) as sealer:
            while data := conn.recv_bytes():
                for file, line, event in _unpack(data):
                    sealer.seal(file, line, event)
        report: tuple[str, Any] = ("ok", sealer.count)
    except EOFError:  # the parent stopped (its own error): nobody to report to
        return
    except HarnessAuditError as e:
        report = ("error", e.diagnostics())
    except Exception as e:  # reported to the parent, which raises it
        report = ("error", [Diagnostic(str(folder), f"sealing failed: {type(e).__name__}: {e}")])
    try:
        conn.send_bytes(pickle.dumps(report))
    except OSError:  # the parent has gone
        pass
    finally:
        conn.close()


__all__ = ["BATCH", "default_jobs", "seal_events"]
