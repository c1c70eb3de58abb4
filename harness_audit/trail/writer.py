"""The trail writer a harness embeds: append events, get a tamper-evident trail.

Each ``append`` fills ``v``, ``seq``, ``prev``, ``hash`` (and ``ts``, ``span`` when missing),
writes the event as one RFC 8785 line, rotates to a new segment past ``segment_bytes``, and
every ``checkpoint_every`` events (and on ``close``) fsyncs the segment and signs a C2SP
checkpoint, whose extension line ``harness-audit-signed <time>`` says when (under the
signature; :mod:`~harness_audit.trail.provenance`): every one is kept in
``checkpoints/<tree size, 20 digits>.checkpoint`` (never overwritten, so a later fork or
rollback can be shown), and the newest is also ``<prefix>.checkpoint``, both written
atomically. After a crash, opening the same folder
resumes: a torn last line is moved aside to ``<segment>.torn`` (kept for forensics) and the
chain continues (a second torn line goes to ``.torn.1``, and so on).

Durability and exclusion: ``append`` returns once the event is fsynced (``append_many`` once
per batch; ``durable=False`` and :meth:`TrailWriter.flush` for callers that batch themselves),
and the writer holds ``<folder>/.lock`` so a second writer on the folder is refused.

Periods as shards: with ``shard="month"`` or ``"quarter"`` the folder is the root of a sharded
trail, one trail folder per period of the writer's clock, and the writer rolls to the next at
the first event (or batch) of a new period (:meth:`TrailWriter.roll`;
:mod:`~harness_audit.trail.shards` has the layout and the chain).

Every byte goes through a :class:`~harness_audit.trail.store.TrailStore` (the local folder,
:class:`~harness_audit.trail.store.LocalStore`, unless one is given): segments, append, sync,
lock, the newest checkpoint and its history. The sealing of one event is
:meth:`TrailWriter.seal` then :meth:`TrailWriter.put` (:meth:`~TrailWriter.append`), of a batch
:meth:`TrailWriter.seal_many` then :meth:`TrailWriter.put_many`
(:meth:`~TrailWriter.append_many`, and the streaming sealer of ``trail seal``, ``trail import``
and ``collect``'s sink, :mod:`~harness_audit.trail.sealer`): the same step, one event or many
(:func:`~harness_audit.trail.seal.seal_many`: the compiled core seals in bulk the events its
verify loop takes, :func:`~harness_audit.trail.seal.seal_event` each other one, the same bytes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import msgspec

from harness_audit.errors import Diagnostic, TrailError, diagnosed
from harness_audit.trail import _core
from harness_audit.trail import events as ev_mod
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note
from harness_audit.trail.provenance import signed_line
from harness_audit.trail.seal import seal_event, seal_many, too_long
from harness_audit.trail.store import TrailStore, chunks, open_store

__all__ = ["Sealed", "TrailWriter", "now_ts"]

ZERO = ev_mod.ZERO_HASH
CHUNK = 1 << 20  # bytes a resume reads at a time
MAX_SEGMENTS = 999_999  # segment names count in six digits


def _lines(f: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """Each line of a segment (without its newline) and whether it is the torn last one, read
    bounded (:func:`~harness_audit.trail.store.chunks`: a line over the limit comes as its
    marker, a NUL byte and its length)."""
    for _, lines, torn in chunks(f, 0, size, CHUNK, ev_mod.MAX_LINE):
        for line in lines:
            yield line, False
        if torn is not None:
            yield torn, True


def _join(root: Path, name: str) -> Path:
    """``root / name``, for a local folder or an ``s3:/`` location alike."""
    return Path(f"{str(root).rstrip('/')}/{name}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now_ts() -> str:
    """The current time as a trail ``ts`` (RFC 3339 UTC, milliseconds)."""
    t = dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class Sealed(NamedTuple):
    """Events sealed and not yet written (:meth:`TrailWriter.seal_many`)."""

    lines: list[bytes]
    """Their lines, without the newline."""
    leaves: bytes
    """Their hashes, 32 bytes each, concatenated."""
    last: str
    """The hash of the last (the ``prev`` of the next event)."""
    error: ValueError | None
    """Why the event after the last does not seal (None: every event sealed)."""
    scanner: Any
    """The compiled core's Merkle subtrees of the leaves (None without the core)."""
    at: int
    """The tree size the subtrees start at."""


class TrailWriter:
    """Append-only writer for a trail folder of segments ``<prefix>-NNNNNN.jsonl``.

    Durable by default: :meth:`append` returns only when its event is written, flushed and
    fsynced, so an event whose ``append`` returned survives ``kill -9`` (and a power cut).
    For throughput, :meth:`append_many` seals a batch, writes it and fsyncs once before it
    returns (a receiver's batch is durable when acknowledged); ``durable=False`` leaves
    :meth:`append` buffered until :meth:`flush`, a checkpoint or :meth:`close`.

    The writer holds ``<folder>/.lock`` (``flock``) for its life: a second writer on the same
    folder, in this process or another, is refused with a :class:`TrailError`.
    """

    def __init__(
        self,
        folder: Path,
        origin: str,
        signer: Signer | None = None,
        *,
        prefix: str = "trail",
        checkpoint_every: int = 1000,
        segment_bytes: int = 64 << 20,
        durable: bool = True,
        stamp: bool = True,
        store: TrailStore | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        shard: str | None = None,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix):
            raise TrailError(Diagnostic(prefix, "segment prefix must be letters, digits, _.-"))
        self.signer = signer
        self.prefix = prefix
        self.checkpoint_every = checkpoint_every
        self.segment_bytes = segment_bytes
        self.durable = durable
        self.stamp = stamp  # fill a missing ``ts`` with the time of writing
        self.clock = clock or _now  # the signing time of each checkpoint (its extension line)
        self.extensions: tuple[str, ...] = ()  # more extension lines (``trail import``'s)
        # periods as shards (trail/shards.py): ``folder`` is the root, each period a trail
        self.shard = shard
        self.root = folder
        self.base_origin = origin
        self.period: str | None = None
        self._link: str | None = None  # the shard's line naming the previous shard's final one
        if shard is not None:
            folder, origin = self._first_shard(folder, origin, shard, store)
            store = None
        self.folder = folder
        self.origin = origin
        self.store: TrailStore = store if store is not None else open_store(folder, prefix)
        self.tree = CompactTree()
        self.prev = ZERO
        self.seq = 0
        self.last_checkpoint: str | None = None
        self._since_checkpoint = 0
        self._dirty = False  # written but not yet fsynced
        self.store.create()
        self._segment_no = 0
        self._file: BinaryIO | None = None
        self._at = 0  # the segment's length: tell() on an append-mode file flushes it
        self._take()

    def _first_shard(
        self, root: Path, origin: str, shard: str, store: TrailStore | None
    ) -> tuple[Path, str]:
        """The shard a writer opens: the newest one of a local root (resumed; the clock's
        period rolls it at the next event), else the clock's period."""
        from harness_audit.trail import shards as sh
        from harness_audit.trail.store import url_of

        sh.check_period(shard)
        if self.signer is None:
            raise TrailError(
                Diagnostic(str(root), "a sharded trail needs a signing key: each link is signed")
            )
        local = url_of(root) is None
        if local and root.is_dir() and any(p.suffix == ".jsonl" for p in root.iterdir()):
            raise TrailError(
                Diagnostic(
                    str(root),
                    "holds an unsharded trail (segments of its own): shard into a new folder",
                )
            )
        found = sh.shard_folders(root) if local else []
        if found:  # resumed (a torn line repaired); the next event rolls it when it is over
            period = found[-1].name
            if len(found) > 1:
                with contextlib.suppress(OSError):
                    data = (found[-2] / f"{self.prefix}.checkpoint").read_bytes()
                    self._link = sh.link_of_note(data)
        else:
            period = sh.period_of(self.clock(), shard)
        self.period = period
        return _join(root, period), sh.shard_origin(origin, period)

    def roll(self) -> bool:
        """Roll to the clock's period when it is past the shard's (a sharded writer; between
        batches): sign the shard's final checkpoint, then open the next shard, whose
        checkpoints name that final one. True when it rolled."""
        if self.shard is None or self.period is None:
            return False
        from harness_audit.trail import shards as sh

        period = sh.period_of(self.clock(), self.shard)
        if period <= self.period:
            return False
        if self.seq:
            final = self._final() or self.checkpoint()
            assert final is not None  # a sharded writer has a signer
            self._link = sh.link_of_note(final.encode("utf-8"))
            self.abandon()  # signed and fsynced: close the segment, release the lock
        else:  # nothing in this shard: it never was (the link stays the one before)
            self.abandon()
            self._drop_empty()
        self.folder = _join(self.root, period)
        self.origin = sh.shard_origin(self.base_origin, period)
        self.period = period
        self.store = open_store(self.folder, self.prefix)
        self.tree = CompactTree()
        self.prev, self.seq, self._since_checkpoint, self._dirty = ZERO, 0, 0, False
        self._segment_no, self._file, self._at = 0, None, 0
        self.last_checkpoint = None  # the new shard's own, once it signs one
        self.store.create()
        self._take()
        return True

    def _take(self) -> None:
        """Lock the store and resume what it holds (released again if resuming fails)."""
        self.store.lock()
        self._locked = True
        try:
            self._resume()
        except BaseException:
            self._release()
            raise

    def _final(self) -> str | None:
        """The shard's newest checkpoint when it covers every event already (signed before a
        restart, or just now): the final one, not signed again (by a key that may not be the
        one that signed the shard)."""
        from harness_audit.trail.note import NoteError, parse_note
        from harness_audit.trail.store import LocalStore

        text = self.last_checkpoint
        if text is None and isinstance(self.store, LocalStore):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = (self.folder / f"{self.prefix}.checkpoint").read_text("utf-8")
        if text is None:
            return None
        try:
            cp = Checkpoint.parse(parse_note(text.encode("utf-8")).text)
        except NoteError:
            return None
        return text if cp.size == self.seq and cp.root == self.tree.root() else None

    def _drop_empty(self) -> None:
        """Remove the files of a shard that holds no event (an empty segment, the lock)."""
        from harness_audit.trail.store import LocalStore

        store = self.store
        if isinstance(store, LocalStore):
            for seg in store.segments():
                with contextlib.suppress(OSError):
                    if os.path.getsize(seg) == 0:
                        os.unlink(seg)
            store.remove_lock()
            with contextlib.suppress(OSError):
                store.folder.rmdir()
        else:
            store.discard()

    def _release(self) -> None:
        if self._locked:
            self.store.unlock()
            self._locked = False

    # -- resume ------------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        """The folder's segment files, in order."""
        return [Path(s) for s in self.store.segments()]

    def _resume(self) -> None:
        segs = self.store.segments()
        for seg in segs:
            self._replay(seg, last=seg == segs[-1])
        if segs:
            self._segment_no = int(Path(segs[-1]).stem.rsplit("-", 1)[1])
            self._file = self.store.open_append(segs[-1])
            self._at = self._file.seek(0, os.SEEK_END)
        else:
            self._open_next()

    def _replay(self, seg: str, last: bool) -> None:
        good = 0
        with self.store.open_range(seg) as f:
            for line, torn in _lines(f, self.store.size(seg)):
                if torn:
                    if not last:
                        raise TrailError(
                            Diagnostic(
                                seg,
                                "torn line inside the trail, not at its end",
                                expected="a complete trail",
                            )
                        )
                    if line[:1] == b"\x00":  # no write of this writer was ever that long
                        raise TrailError(
                            Diagnostic(
                                seg,
                                f"cannot resume: the torn last line ({int(line[1:]):,} bytes) "
                                f"is longer than the {ev_mod.MAX_LINE:,}-byte limit of a "
                                "trail line, so not what a cut-off write leaves; run "
                                "`harness-audit verify`",
                            )
                        )
                    self.store.cut(seg, good, line)
                    break
                if line[:1] == b"\x00":
                    raise TrailError(
                        Diagnostic(
                            seg,
                            f"cannot resume: event {self.seq} is a line of {int(line[1:]):,} "
                            f"bytes, longer than the {ev_mod.MAX_LINE:,}-byte limit; run "
                            "`harness-audit verify`",
                        )
                    )
                good += len(line) + 1
                with diagnosed(
                    seg,
                    "cannot resume: {error}",
                    catch=(msgspec.ValidationError, msgspec.DecodeError),
                ):
                    ev = ev_mod.decoder.decode(line)
                problem = ev_mod.pattern_problem(ev)  # sealing takes prev and hash as hex
                if problem:
                    raise TrailError(Diagnostic(seg, f"cannot resume: seq {ev.seq}: {problem}"))
                if ev.seq != self.seq or ev.prev != self.prev:
                    raise TrailError(
                        Diagnostic(
                            seg,
                            f"cannot resume: the chain breaks at "
                            f"seq {ev.seq}; run `harness-audit verify`",
                        )
                    )
                self.tree.push(bytes.fromhex(ev.hash))
                self.prev, self.seq = ev.hash, self.seq + 1

    # -- writing -----------------------------------------------------------------------------

    def _open_next(self) -> None:
        if self._file:
            self._sync()
            self._file.close()
        self._segment_no += 1
        # a new segment's name survives a crash (the store makes it durable)
        self._file = self.store.open_append(self.store.segment(self._segment_no))
        self._at = self._file.seek(0, os.SEEK_END)

    def seal(self, event: dict[str, Any]) -> tuple[bytes, str]:
        """The next event sealed (``ts`` filled when missing and ``stamp`` is on): its
        canonical line without the newline, and its hash; nothing is written. A
        :class:`ValueError` says why an event does not seal."""
        if self.shard is not None:
            self.roll()
        if self.stamp and "ts" not in event:
            event = {**event, "ts": now_ts()}
        return seal_event(event, self.seq, self.prev)

    def _seal(self, event: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
        if "ts" not in event and self.stamp:
            event = {**event, "ts": now_ts()}
        with diagnosed(str(self.folder), f"event {seq}: {{error}}", catch=ValueError):
            return seal_event(event, seq, prev)

    def put(self, line: bytes, digest: str) -> None:
        """Append a line :meth:`seal` made (rotating the segment past ``segment_bytes``, and
        signing a checkpoint every ``checkpoint_every`` events); durable only at the next
        :meth:`flush`, checkpoint or :meth:`close`."""
        self._put(line, bytes.fromhex(digest), digest)

    def _put(self, line: bytes, leaf: bytes, digest: str) -> None:
        file = self._file
        if file is None:
            raise TrailError(Diagnostic(str(self.folder), "the trail writer is closed"))
        if len(line) > ev_mod.MAX_LINE:  # a line no verifier would read (issue 23, item 1)
            raise TrailError(
                Diagnostic(str(self.folder), f"event {self.seq}: {too_long(len(line))}")
            )
        if self._at and self._at + len(line) + 1 > self.segment_bytes:
            self._open_next()
            file = self._file
            assert file is not None
        self._at += file.write(line + b"\n")
        self._dirty = True
        self.tree.push(leaf)
        self.prev, self.seq = digest, self.seq + 1
        self._since_checkpoint += 1
        if self.checkpoint_every and self._since_checkpoint >= self.checkpoint_every:
            self.checkpoint()

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Write one event; return it as written (with v, seq, prev, hash, ts, span).

        Durable (written, flushed, fsynced) when this returns, unless ``durable=False``."""
        written: dict[str, Any] = msgspec.json.decode(self.write(event))
        return written

    def write(self, event: dict[str, Any]) -> bytes:
        """Write one event as :meth:`append` does; return its line (without the newline)."""
        if self.shard is not None:
            self.roll()
        line, digest = self._seal(event, self.seq, self.prev)
        self.put(line, digest)
        if self.durable:
            self.flush()
        return line

    def append_many(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write a batch of events with one fsync; return them as written.

        Every event is sealed and validated first, so an invalid one writes nothing of the
        batch; when this returns, the whole batch is durable (whatever ``durable`` says)."""
        return [msgspec.json.decode(line) for line in self.write_many(events)]

    def write_many(self, events: Iterable[dict[str, Any]]) -> list[bytes]:
        """:meth:`append_many` without reading the events back: their lines (without the
        newline), for a caller that does not need them as dicts (``collect``'s sink: decoding
        every line again cost about a microsecond an event)."""
        if self.shard is not None:
            self.roll()  # a batch is never split across shards
        batch = self.seal_many(events if isinstance(events, list) else list(events))
        if batch.error is not None:
            seq = self.seq + len(batch.lines)
            with diagnosed(str(self.folder), f"event {seq}: {{error}}", catch=ValueError):
                raise batch.error
        self.put_many(batch)
        self.flush()
        return batch.lines

    def seal_many(self, events: list[dict[str, Any]]) -> Sealed:
        """The next events sealed in order (``ts`` filled where missing when ``stamp`` is on),
        up to the first that does not seal (its :class:`ValueError` in the result); nothing
        is written: :meth:`put_many` appends them. The compiled core seals what its verify
        loop takes, :func:`~harness_audit.trail.seal.seal_event` the rest (the same bytes)."""
        c = _core.core()
        scanner = c.Scanner(self.tree.size, ()) if c is not None else None
        stamp = now_ts if self.stamp else None
        lines, leaves, last, error = seal_many(events, self.seq, self.prev, stamp, scanner)
        return Sealed(lines, leaves, last, error, scanner, self.tree.size)

    def put_many(self, batch: Sealed) -> None:
        """Append the lines :meth:`seal_many` made, as :meth:`put` each would; in one write,
        their subtrees pushed whole, when no segment rotates and no checkpoint falls within."""
        lines, leaves = batch.lines, batch.leaves
        n = len(lines)
        if not n:
            return
        file = self._file
        total = sum(map(len, lines)) + n
        due = self.checkpoint_every and self._since_checkpoint + n >= self.checkpoint_every
        if (
            file is None
            or due
            or self._at + total > self.segment_bytes
            or batch.scanner is None
            or batch.at != self.tree.size
        ):
            for i, line in enumerate(lines):
                leaf = leaves[32 * i : 32 * i + 32]
                self._put(line, leaf, leaf.hex())
            return
        lines.append(b"")
        self._at += file.write(b"\n".join(lines))
        del lines[-1]
        self._dirty = True
        for _, height, digest in batch.scanner.pieces():
            self.tree.push(digest, height)
        self.prev, self.seq = batch.last, self.seq + n
        self._since_checkpoint += n

    def flush(self) -> None:
        """Make every event appended so far durable: flush and fsync the segment."""
        if self._file is not None and self._dirty:
            self._sync()

    def _sync(self) -> None:
        assert self._file is not None
        self.store.sync(self._file)
        self._dirty = False

    def checkpoint(self, cosigners: Sequence[Signer] = (), lines: Sequence[str] = ()) -> str | None:
        """Fsync, then sign a checkpoint of the tree so far: kept in the store's history
        (``checkpoints/``, one file per tree size, never overwritten) and published as the
        newest (``<prefix>.checkpoint``), both atomically; return its text. ``cosigners`` sign
        it too and ``lines`` are more extension lines (a key handover: ``trail rotate-key``)."""
        self._sync()
        self._since_checkpoint = 0
        if self.signer is None:
            return None
        # C2SP tlog-checkpoint extension lines, under the signature: when it was signed
        # (and, for an import, what it sealed); see trail/provenance.py
        link = (self._link,) if self._link else ()  # a shard's: the previous shard's final
        ext = (signed_line(self.clock()), *self.extensions, *link, *lines)
        text = sign_note(
            Checkpoint(self.origin, self.tree.size, self.tree.root(), ext).text(),
            [self.signer, *cosigners],
        )
        data = text.encode("utf-8")
        self.store.link_checkpoint(data, self.tree.size)
        self.store.publish_checkpoint(data)
        self.last_checkpoint = text
        return text

    def close_segment(self) -> None:
        """Close the segment being written when it holds anything, and upload every closed
        segment not uploaded yet (and the checkpoints they cover) where the store uploads
        (object storage); when this returns, every event appended so far is in the store.
        ``collect --acknowledge uploaded`` calls it before each answer."""
        if self._at:
            if self._segment_no >= MAX_SEGMENTS:
                raise TrailError(
                    Diagnostic(
                        str(self.folder),
                        f"the trail has {MAX_SEGMENTS:,} segments, as many as their names "
                        "count: write into a new trail (or shard it by period, --shard)",
                    )
                )
            self._open_next()
        upload = getattr(self.store, "upload_closed", None)
        if upload is not None:
            upload()

    def end(self) -> tuple[str, int]:
        """Where the trail ends now: the segment being written and its length in bytes (what
        was appended, flushed or not). A caller that marks the end before a batch can cut a
        batch that failed back to it (``collect``'s sink, :mod:`harness_audit.capture.sink`)."""
        return self.store.segment(self._segment_no), self._at

    def abandon(self) -> None:
        """Stop without a checkpoint: close the segment (what it cannot flush is dropped) and
        release the lock; nothing more is written through this writer. For a receiver whose
        write failed: it reopens the folder, which resumes the chain."""
        f, self._file = self._file, None
        if f is not None:
            with contextlib.suppress(OSError):
                f.close()
        self._release()

    def close(self) -> None:
        """Write the last checkpoint, close the segment and release the folder's lock (a
        shard that holds no event is removed instead: it never was)."""
        if self.shard is not None and self.seq == 0 and self._file is not None:
            self.abandon()
            self._drop_empty()
            return
        try:
            if self._file:
                self.checkpoint()
                self._file.close()
                self._file = None
        finally:
            self._release()

    def __enter__(self) -> TrailWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
