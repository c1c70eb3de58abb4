"""The digest of what a source read actually read (``import.json``'s ``sha256``).

A source's SHA-256 taken before it is read describes another file when the file changes in
between (it grows, it is replaced). So the digest is taken of the bytes as they are read, by the
reading itself: while a :class:`ReadLog` is active (``with ReadLog() as log:``), every source
opened through :func:`~harness_audit.importers.base.open_binary` is digested as its stored bytes
(a gzip file's compressed bytes) pass, and a read that reaches the end of the file records its
digest in ``log.digests[path]`` (the last whole read of a path wins: the one whose bytes were
imported). A read that stops early (detection's head) records nothing.

Plain Python (not compiled): :class:`HashingRaw` is an ``io.RawIOBase``.
"""

from __future__ import annotations

import hashlib
import io
from types import TracebackType
from typing import BinaryIO

_ACTIVE: list[ReadLog] = []


class ReadLog:
    """The digests of the sources read whole while it is active (a context manager)."""

    def __init__(self) -> None:
        self.digests: dict[str, str] = {}

    def __enter__(self) -> ReadLog:
        _ACTIVE.append(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _ACTIVE.remove(self)


def active() -> ReadLog | None:
    """The innermost active :class:`ReadLog`, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


class HashingRaw(io.RawIOBase):
    """A raw stream over ``f`` that digests every byte read and, at the end of the file,
    records the digest for ``name`` in ``log``."""

    def __init__(self, f: BinaryIO, log: ReadLog, name: str) -> None:
        super().__init__()
        self._f, self._log, self._name = f, log, name
        self._hash = hashlib.sha256()
        self._ended = False

    def readable(self) -> bool:
        """Always: a source is read."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer``, digesting what came; at the end, record the digest."""
        view = memoryview(buffer)
        n = self._f.readinto(view)  # type: ignore[attr-defined]
        if n:
            self._hash.update(view[:n])
        elif not self._ended:
            self._ended = True
            self._log.digests[self._name] = self._hash.hexdigest()
        return int(n or 0)

    def close(self) -> None:
        """Close the file underneath."""
        if not self.closed:
            self._f.close()
        super().close()

    def fileno(self) -> int:
        """The file's descriptor (for ``fstat``)."""
        return self._f.fileno()
