"""Stream a trail's events for analysis (SLA observations, evidence): decoded, in order.

Lines that do not decode are counted and skipped; integrity is ``verify``'s job, and the
analyses say how many lines they could not use. Lines are read in bounded chunks, with the
verifier's line limit: a line longer than ``MAX_LINE`` is skipped without being held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from harness_audit.errors import UNREADABLE, Diagnostic, TrailError, diagnosed, diagnostic_error
from harness_audit.trail import events as ev_mod
from harness_audit.trail.badline import MAX_LINE
from harness_audit.trail.events import AnyEvent
from harness_audit.trail.scan import CHUNK
from harness_audit.trail.store import TrailStore, chunks, store_of, trail_files

NOT_AN_EVENT = "not a valid event ({error}); run `harness-audit verify` first"


@dataclass
class ReadStats:
    """What a read saw: the files in order, the events decoded and the lines skipped (of
    them, ``too_long``: longer than the verifier's line limit, never held in memory)."""

    files: list[str] = field(default_factory=list)
    events: int = 0
    skipped: int = 0
    too_long: int = 0
    hash_files: bool = False  # hash each file's bytes as they are read (the pack's inputs)
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)  # file: (bytes, SHA-256)


class _Hashing:
    """A file read front to back that hashes what it reads (so the pack lists a trail's
    SHA-256 without reading it again)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.sha, self.size = f, hashlib.sha256(), 0

    def seek(self, pos: int) -> int:
        """Only the start: a hash is of the whole file."""
        if pos != 0:
            raise ValueError("a hashed read starts at the beginning")
        return self.f.seek(0)

    def read(self, n: int) -> bytes:
        """Read and hash."""
        data = self.f.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _lines(store: TrailStore, segment: str, stats: ReadStats) -> Iterator[bytes]:
    """The segment's lines without their newlines, in order, read through its store in bounded
    chunks: a line longer than ``MAX_LINE`` comes as the scanner's marker (a NUL byte and its
    length). With ``stats.hash_files`` the bytes read are hashed on the way."""
    with store.open_range(segment) as f:
        src = _Hashing(f) if stats.hash_files else f
        for _, lines, torn in chunks(src, 0, store.size(segment), CHUNK, MAX_LINE):
            yield from lines
            if torn is not None:
                yield torn
        if isinstance(src, _Hashing):
            stats.digests[segment] = (src.size, src.sha.hexdigest())


def _too_long(line: bytes) -> int | None:
    return int(line[1:]) if line[:1] == b"\x00" and line[1:].isdigit() else None


def read_decoded(
    paths: Sequence[Path], stats: ReadStats | None = None, strict: bool = False
) -> Iterator[tuple[str, int, bytes, AnyEvent]]:
    """(file, line number, line without its newline, typed event), in file and line order.

    A line that does not decode, or is longer than the verifier's limit (``MAX_LINE``, never
    read whole), is counted and skipped, or with ``strict`` is an error naming file and line
    (for proofs, which need every leaf)."""
    stats = stats if stats is not None else ReadStats()
    decode = ev_mod.decoder.decode
    errors = ev_mod.DECODE_ERRORS
    for f in trail_files(paths):
        stats.files.append(str(f))
        name = str(f)
        with diagnosed(name, UNREADABLE, catch=OSError):
            lines = _lines(store_of(name), name, stats)
            for n, line in enumerate(lines, 1):
                try:
                    ev = decode(line)
                except errors as e:  # not ``diagnosed``: most lines of the loop are fine
                    length = _too_long(line)
                    if strict:
                        if length is not None:
                            raise TrailError(
                                Diagnostic(
                                    name,
                                    f"line of {length:,} bytes is "
                                    f"longer than the {MAX_LINE:,}-byte "
                                    "limit",
                                    n,
                                )
                            ) from e
                        raise diagnostic_error(name, NOT_AN_EVENT, n, cause=e) from e
                    stats.skipped += 1
                    stats.too_long += length is not None
                    continue
                stats.events += 1
                yield name, n, line, ev


def read_events(
    paths: Sequence[Path], stats: ReadStats | None = None
) -> Iterator[tuple[str, int, AnyEvent]]:
    """(file, line, typed event) for every event that decodes, in file and line order."""
    for name, n, _, ev in read_decoded(paths, stats):
        yield name, n, ev
