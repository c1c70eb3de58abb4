"""The trail writer a harness embeds: append events, get a tamper-evident trail.

Each ``append`` fills ``v``, ``seq``, ``prev``, ``hash`` (and ``ts``, ``span`` when missing),
writes the event as one RFC 8785 line, rotates to a new segment past ``segment_bytes``, and
every ``checkpoint_every`` events (and on ``close``) fsyncs the segment and signs a C2SP
checkpoint: every one is kept in ``checkpoints/<tree size, 20 digits>.checkpoint`` (never
overwritten, so a later fork or rollback can be shown), and the newest is also
``<prefix>.checkpoint``, both written atomically. After a crash, opening the same folder
resumes: a torn last line is moved aside to ``<segment>.torn`` (kept for forensics) and the
chain continues (a second torn line goes to ``.torn.1``, and so on).

Durability and exclusion: ``append`` returns once the event is fsynced (``append_many`` once
per batch; ``durable=False`` and :meth:`TrailWriter.flush` for callers that batch themselves),
and the writer holds ``<folder>/.lock`` so a second writer on the folder is refused.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from harness_audit.errors import Diagnostic, TrailError, diagnosed
from harness_audit.trail import events as ev_mod
from harness_audit.trail.checkpoints import HISTORY, history_name
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note
from harness_audit.trail.seal import seal_event

__all__ = ["TrailWriter", "now_ts"]

ZERO = ev_mod.ZERO_HASH


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new name in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _datasync(fd: int) -> None:
    """fdatasync where there is one (the data and the size, not the times), else fsync."""
    getattr(os, "fdatasync", os.fsync)(fd)


LOCK_NAME = ".lock"


def _lock(folder: Path) -> int:
    """Take ``<folder>/.lock`` (an exclusive ``flock``, never waiting); return its descriptor."""
    import fcntl

    path = folder / LOCK_NAME
    with diagnosed(str(path), "cannot open the trail lock: {strerror}", catch=OSError):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        raise TrailError(
            Diagnostic(
                str(folder),
                "another trail writer holds this folder "
                f"(its lock {LOCK_NAME} is taken); one writer per trail "
                "folder",
            )
        ) from e
    return fd


def _keep_torn(seg: Path, raw: bytes) -> Path:
    """Keep a torn last line for forensics: ``<segment>.torn``, or ``.torn.1``, ``.torn.2``,
    ... when one is kept already (never overwritten)."""
    for n in itertools.count():
        path = seg.with_name(seg.name + (".torn" if n == 0 else f".torn.{n}"))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(seg.parent)
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def now_ts() -> str:
    """The current time as a trail ``ts`` (RFC 3339 UTC, milliseconds)."""
    t = dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


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
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix):
            raise TrailError(Diagnostic(prefix, "segment prefix must be letters, digits, _.-"))
        self.folder = folder
        self.origin = origin
        self.signer = signer
        self.prefix = prefix
        self.checkpoint_every = checkpoint_every
        self.segment_bytes = segment_bytes
        self.durable = durable
        self.tree = CompactTree()
        self.prev = ZERO
        self.seq = 0
        self._since_checkpoint = 0
        self._dirty = False  # written but not yet fsynced
        with diagnosed(str(folder), "cannot create the trail folder: {strerror}", catch=OSError):
            folder.mkdir(parents=True, exist_ok=True)
        self._segment_no = 0
        self._file: Any = None
        self._at = 0  # the segment's length: tell() on an append-mode file flushes it
        self._lock: int | None = _lock(folder)
        try:
            self._resume()
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    # -- resume ------------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        """The folder's segment files, in order."""
        pat = re.compile(re.escape(self.prefix) + r"-(\d{6})\.jsonl")
        return sorted(p for p in self.folder.iterdir() if pat.fullmatch(p.name))

    def _resume(self) -> None:
        segs = self.segments()
        for seg in segs:
            self._replay(seg, last=seg == segs[-1])
        if segs:
            self._segment_no = int(segs[-1].stem.rsplit("-", 1)[1])
            self._file = segs[-1].open("ab")
            self._at = self._file.seek(0, os.SEEK_END)
        else:
            self._open_next()

    def _replay(self, seg: Path, last: bool) -> None:
        good = 0
        with seg.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    if not last:
                        raise TrailError(
                            Diagnostic(
                                str(seg),
                                "torn line inside the trail, not at its end",
                                expected="a complete trail",
                            )
                        )
                    _keep_torn(seg, raw)
                    with seg.open("r+b") as w:
                        w.truncate(good)
                        os.fsync(w.fileno())
                    break
                good += len(raw)
                line = raw[:-1]
                with diagnosed(
                    str(seg),
                    "cannot resume: {error}",
                    catch=(msgspec.ValidationError, msgspec.DecodeError),
                ):
                    ev = ev_mod.decoder.decode(line)
                problem = ev_mod.pattern_problem(ev)  # sealing takes prev and hash as hex
                if problem:
                    raise TrailError(
                        Diagnostic(str(seg), f"cannot resume: seq {ev.seq}: {problem}")
                    )
                if ev.seq != self.seq or ev.prev != self.prev:
                    raise TrailError(
                        Diagnostic(
                            str(seg),
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
        path = self.folder / f"{self.prefix}-{self._segment_no:06d}.jsonl"
        self._file = path.open("ab")
        self._at = self._file.seek(0, os.SEEK_END)
        _fsync_dir(self.folder)  # the new segment's name survives a crash

    def _seal(self, event: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
        if "ts" not in event:
            event = {**event, "ts": now_ts()}
        with diagnosed(str(self.folder), f"event {seq}: {{error}}", catch=ValueError):
            return seal_event(event, seq, prev)

    def _write(self, line: bytes, digest: str) -> None:
        if self._file is None:
            raise TrailError(Diagnostic(str(self.folder), "the trail writer is closed"))
        if self._at and self._at + len(line) + 1 > self.segment_bytes:
            self._open_next()
        self._at += self._file.write(line + b"\n")
        self._dirty = True
        self.tree.push(bytes.fromhex(digest))
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
        line, digest = self._seal(event, self.seq, self.prev)
        self._write(line, digest)
        if self.durable:
            self.flush()
        return line

    def append_many(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write a batch of events with one fsync; return them as written.

        Every event is sealed and validated first, so an invalid one writes nothing of the
        batch; when this returns, the whole batch is durable (whatever ``durable`` says)."""
        sealed: list[tuple[bytes, str]] = []
        seq, prev = self.seq, self.prev
        for event in events:
            line, digest = self._seal(event, seq, prev)
            sealed.append((line, digest))
            seq, prev = seq + 1, digest
        for line, digest in sealed:
            self._write(line, digest)
        self.flush()
        return [msgspec.json.decode(line) for line, _ in sealed]

    def flush(self) -> None:
        """Make every event appended so far durable: flush and fsync the segment."""
        if self._file is not None and self._dirty:
            self._sync()

    def _sync(self) -> None:
        self._file.flush()
        _datasync(self._file.fileno())
        self._dirty = False

    def checkpoint(self) -> str | None:
        """Fsync, then sign a checkpoint of the tree so far: kept in ``checkpoints/`` (one file
        per tree size, never overwritten) and written as ``<prefix>.checkpoint`` (the newest),
        both atomically; return its text."""
        self._sync()
        self._since_checkpoint = 0
        if self.signer is None:
            return None
        text = sign_note(
            Checkpoint(self.origin, self.tree.size, self.tree.root()).text(), [self.signer]
        )
        data = text.encode("utf-8")
        self._keep(data, self.tree.size)
        target = self.folder / f"{self.prefix}.checkpoint"
        tmp = self._write_temp(self.folder, target.name, data)
        os.replace(tmp, target)
        _fsync_dir(self.folder)
        return text

    def _write_temp(self, folder: Path, name: str, data: bytes) -> Path:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        try:
            os.fchmod(fd, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def _keep(self, data: bytes, size: int) -> None:
        """Add the checkpoint to the history: ``checkpoints/<size>.checkpoint``, created by a
        hard link so that an existing file is never replaced. The same checkpoint again is
        kept once; another root for a kept size (the trail was cut back and rewritten) goes to
        ``<size>.1.checkpoint``, ``.2``, ..., so the fork stays visible."""
        folder = self.folder / HISTORY
        folder.mkdir(exist_ok=True)
        tmp = self._write_temp(folder, "new", data)
        try:
            for n in itertools.count():
                final = folder / history_name(size, n)
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    if final.is_file() and final.read_bytes() == data:
                        return
                    continue
                break
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(folder)

    def close(self) -> None:
        """Write the last checkpoint, close the segment and release the folder's lock."""
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
