"""Stream a trail's events for analysis (SLA observations, evidence): decoded, in order.

Lines that do not decode are counted and skipped; integrity is ``verify``'s job, and the
analyses say how many lines they could not use. Lines are read in bounded chunks, with the
verifier's line limit: a line longer than ``MAX_LINE`` is skipped without being held.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from harness_audit.errors import UNREADABLE, Diagnostic, TrailError, diagnosed, diagnostic_error
from harness_audit.trail import events as ev_mod
from harness_audit.trail.badline import MAX_LINE
from harness_audit.trail.canonical import MAX_SAFE_INTEGER
from harness_audit.trail.events import AnyEvent
from harness_audit.trail.scan import CHUNK
from harness_audit.trail.store import TrailStore, chunks, name_of, store_of, trail_files

NOT_AN_EVENT = "not a valid event ({error}); run `harness-audit verify` first"


@dataclass
class ReadStats:
    """What a read saw: the files in order, the events decoded and the lines skipped (of
    them, ``too_long``: longer than the verifier's line limit, never held in memory).

    ``leaf`` is where the line last yielded stands in the trail's Merkle tree: its index among
    every complete line of the trail's files in order (each one leaf, as the verifier counts
    them, whatever the line holds), or None for a torn last line (no leaf). An event is
    anchored by a checkpoint of size N exactly when its ``leaf`` is below N: its position,
    never the ``seq`` it claims."""

    files: list[str] = field(default_factory=list)
    events: int = 0
    skipped: int = 0
    too_long: int = 0
    leaf: int | None = None
    hash_files: bool = False  # hash each file's bytes as they are read (the pack's inputs)
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)  # file: (bytes, SHA-256)


class _Hashing:
    """A file read front to back that hashes what it reads (so the pack lists a trail's
    SHA-256 without reading it again)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.sha, self.size = f, hashlib.sha256(), 0
        self.name = getattr(f, "name", "trail")  # what an error names

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


def _lines(
    store: TrailStore, segment: str, stats: ReadStats
) -> Iterator[tuple[list[bytes], bytes | None]]:
    """The segment's lines without their newlines, a chunk at a time, and its torn last line
    (no newline) at the end, read through its store in bounded chunks: a line longer than
    ``MAX_LINE`` comes as the scanner's marker (a NUL byte and its length). With
    ``stats.hash_files`` the bytes read are hashed on the way."""
    with store.open_range(segment) as f:
        src = _Hashing(f) if stats.hash_files else f
        for _, lines, torn in chunks(src, 0, store.size(segment), CHUNK, MAX_LINE):
            yield lines, torn
        if isinstance(src, _Hashing):
            stats.digests[segment] = (src.size, src.sha.hexdigest())


def _too_long(line: bytes) -> int | None:
    return int(line[1:]) if line[:1] == b"\x00" and line[1:].isdigit() else None


def salvage(line: bytes, leaf: int | None) -> AnyEvent | None:
    """The event a line that does not decode says, its link fields aside: the line read as
    JSON with ``v``, ``prev`` and ``hash`` set to what sealing writes (``hash`` and ``prev``
    empty: they say nothing of what happened) and a ``seq`` that is not a valid one replaced by
    the line's leaf index; None when the rest is not a valid event either (the same decoder
    decides, so no text reaches the analyses that a valid event could not carry).

    So damage to the link fields alone (a ``hash`` that is not text, or holds a lone
    surrogate: the leaf leaves the hash out) never hides what an event says (issue 23,
    item 3); what it proves is its position's (anchored or not), as for any event."""
    if line[:1] == b"\x00":  # an over-long line's marker: never read
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    seq = obj.get("seq")
    if type(seq) is not int or not 0 <= seq <= MAX_SAFE_INTEGER:
        obj["seq"] = leaf or 0
    obj.update(v=1, prev="", hash="")
    try:
        text = json.dumps(obj).encode()
    except (ValueError, RecursionError):
        return None
    try:
        return ev_mod.decoder.decode(text)
    except ev_mod.DECODE_ERRORS:
        return None


def read_decoded(
    paths: Sequence[Path],
    stats: ReadStats | None = None,
    strict: bool = False,
    salvaged: bool = False,
) -> Iterator[tuple[str, int, bytes, AnyEvent]]:
    """(file, line number, line without its newline, typed event), in file and line order;
    ``stats.leaf`` says where each stands in the trail's Merkle tree (see :class:`ReadStats`).

    A line that does not decode, or is longer than the verifier's limit (``MAX_LINE``, never
    read whole), is counted and skipped, or with ``strict`` is an error naming file and line
    (for proofs, which need every leaf). With ``salvaged``, a line that does not decode only
    because of its link fields comes as the event it says (:func:`salvage`; the evidence
    judge's reading: a damaged hash hides no event)."""
    stats = stats if stats is not None else ReadStats()
    decode = ev_mod.decoder.decode
    errors = ev_mod.DECODE_ERRORS
    leaf = 0  # complete lines of the files before this line: its leaf index
    for f in trail_files(paths):
        name = name_of(f)
        stats.files.append(name)
        n = 0
        with diagnosed(name, UNREADABLE, catch=OSError):
            for lines, torn in _lines(store_of(name), name, stats):
                for line in lines:
                    n += 1
                    try:
                        ev = decode(line)
                    except errors as e:  # not ``diagnosed``: most lines of the loop are fine
                        rescued = salvage(line, leaf) if salvaged else None
                        if rescued is None:
                            leaf += 1
                            _skip(line, name, n, stats, strict, e)
                            continue
                        ev = rescued
                    stats.events += 1
                    stats.leaf = leaf
                    leaf += 1
                    yield name, n, line, ev
                if torn is not None:  # the torn last line: no leaf
                    n += 1
                    try:
                        ev = decode(torn)
                    except errors as e:
                        rescued = salvage(torn, None) if salvaged else None
                        if rescued is None:
                            _skip(torn, name, n, stats, strict, e)
                            continue
                        ev = rescued
                    stats.events += 1
                    stats.leaf = None
                    yield name, n, torn, ev


def _skip(line: bytes, name: str, n: int, stats: ReadStats, strict: bool, e: BaseException) -> None:
    """Count a line that does not decode, or with ``strict`` raise the error naming it."""
    length = _too_long(line)
    if strict:
        if length is not None:
            raise TrailError(
                Diagnostic(
                    name, f"line of {length:,} bytes is longer than the {MAX_LINE:,}-byte limit", n
                )
            ) from e
        raise diagnostic_error(name, NOT_AN_EVENT, n, cause=e) from e
    stats.skipped += 1
    stats.too_long += length is not None


def read_events(
    paths: Sequence[Path], stats: ReadStats | None = None, salvaged: bool = False
) -> Iterator[tuple[str, int, AnyEvent]]:
    """(file, line, typed event) for every event that decodes (with ``salvaged``, also those
    whose link fields alone are damaged: :func:`salvage`), in file and line order."""
    for name, n, _, ev in read_decoded(paths, stats, salvaged=salvaged):
        yield name, n, ev
