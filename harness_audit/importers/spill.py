"""Events of a session-shaped run, held until its end to be written in time order, in bounded
memory: past :data:`SPILL_EVENTS` events held in all, each run's events are sorted and written
to a private temporary file, and a run's end merges its sorted pieces (``heapq.merge``).

A session reader (one run per session, its events ordered by time at its end) adds each event
with its sort key (time, then the reader's order); the events come back in the order a stable
sort of everything added would give (ties in the key keep the order added), so the output is
the same whether anything was spilled or not (the differential tests force spills with a bound
of a few events). An event is final when added: what the reader learns later about an event is
applied as it comes back (:meth:`Sorted.drain` gives each event's number for that).

The file lives in a directory only this user can read (``mkdtemp``), opened without a name
where the system allows it, and the directory is removed when the reader ends, however it ends
(:meth:`Spool.close`, from the reader's ``with``). Pieces are written as ``marshal`` chunks
(exact for every value an event holds: big integers, floats, key order), ``pickle`` for a
chunk holding a value marshal does not write, as the sealing process's hand-over does.
"""

from __future__ import annotations

import heapq
import marshal
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any

SPILL_EVENTS = 20_000
"""Events held in memory by the runs of one reader, in all, before they are written out."""
CHUNK = 512
"""Events a chunk of a spilled piece holds (what one piece keeps in memory while merging)."""

Item = tuple[int, int, int, int, dict[str, Any]]
"""(time key, order key, number added, source line, event)."""


class Spool:
    """The temporary file the runs of one reader spill to, and the bound they share."""

    def __init__(self, bound: int | None = None) -> None:
        self.bound = max(1, SPILL_EVENTS if bound is None else bound)
        self.held = 0
        self.runs: list[Sorted] = []
        self.spills = 0
        self._dir: str | None = None
        self._file: IO[bytes] | None = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def sorted(self) -> Sorted:
        """A new run's events, held under this spool's bound."""
        run = Sorted(self)
        self.runs.append(run)
        return run

    def _write(self, data: bytes) -> tuple[int, int]:
        if self._file is None:
            self._dir = tempfile.mkdtemp(prefix="harness-audit-spill-")
            self._file = tempfile.TemporaryFile(dir=self._dir)  # noqa: SIM115 - close() does
        f = self._file
        at = f.seek(0, 2)
        f.write(data)
        return at, len(data)

    def _read(self, at: int, size: int) -> list[Item]:
        assert self._file is not None
        self._file.seek(at)
        data = self._file.read(size)
        # (only ever what _pack wrote, in this process's own file)
        if data[:1] == b"m":
            got: list[Item] = marshal.loads(data[1:])  # noqa: S302
            return got
        got = pickle.loads(data[1:])  # noqa: S301
        return got

    def spill(self) -> None:
        """Write every run's held events out, each run's as one sorted piece."""
        self.spills += 1
        for run in self.runs:
            run._spill()
        self.held = 0

    def close(self) -> None:
        """Close and remove the temporary file and its directory (nothing when none was made)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.runs.clear()


class Sorted:
    """One run's events in sort order, held in memory up to the spool's bound."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.items: list[Item] = []
        self.pieces: list[list[tuple[int, int]]] = []
        self.added = 0

    def __len__(self) -> int:
        return self.added

    def add(self, key: int, order: int, line: int, ev: dict[str, Any]) -> int:
        """Add an event (final: it may be written out at once) with its sort key; its number."""
        n = self.added
        self.added = n + 1
        self.items.append((key, order, n, line, ev))
        sp = self.spool
        sp.held += 1
        if sp.held >= sp.bound:
            sp.spill()
        return n

    def _spill(self) -> None:
        if not self.items:
            return
        self.items.sort()  # (the number added is unique: events are never compared)
        piece = []
        for i in range(0, len(self.items), CHUNK):
            piece.append(self.spool._write(_pack(self.items[i : i + CHUNK])))
        self.pieces.append(piece)
        self.items = []

    def _piece(self, chunks: list[tuple[int, int]]) -> Iterator[Item]:
        for at, size in chunks:
            yield from self.spool._read(at, size)

    def drain(self) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(number added, line, event) of every event, in sort order; the run is then empty."""
        items, self.items = self.items, []
        self.spool.held -= len(items)
        items.sort()
        pieces, self.pieces = self.pieces, []
        merged = heapq.merge(items, *(self._piece(p) for p in pieces)) if pieces else items
        for _, _, n, line, ev in merged:
            yield n, line, ev


def _pack(items: list[Item]) -> bytes:
    """A chunk as bytes: marshal, else pickle; a one-byte tag says which."""
    try:
        return b"m" + marshal.dumps(items)
    except ValueError:  # a value marshal does not write (a subclass of a plain type)
        return b"p" + pickle.dumps(items, pickle.HIGHEST_PROTOCOL)
