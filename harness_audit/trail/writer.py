"""The trail writer a harness embeds: append events, get a tamper-evident trail.

Each ``append`` fills ``v``, ``seq``, ``prev``, ``hash`` (and ``ts``, ``span`` when missing),
writes the event as one RFC 8785 line, rotates to a new segment past ``segment_bytes``, and
every ``checkpoint_every`` events (and on ``close``) fsyncs the segment and signs a C2SP
checkpoint: every one is kept in ``checkpoints/<tree size, 20 digits>.checkpoint`` (never
overwritten, so a later fork or rollback can be shown), and the newest is also
``<prefix>.checkpoint``, both written atomically. After a crash, opening the same folder
resumes: a torn last line is moved aside to ``<segment>.torn`` (kept for forensics) and the
chain continues.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from harness_audit.errors import Diagnostic, TrailError, diagnosed
from harness_audit.trail import events as ev_mod
from harness_audit.trail.checkpoints import HISTORY, history_name
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note
from harness_audit.trail.seal import seal_event, seal_file

__all__ = ["TrailWriter", "now_ts", "seal_event", "seal_file"]  # the sealing lives in trail.seal

ZERO = ev_mod.ZERO_HASH


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new name in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_ts() -> str:
    """The current time as a trail ``ts`` (RFC 3339 UTC, milliseconds)."""
    t = dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class TrailWriter:
    """Append-only writer for a trail folder of segments ``<prefix>-NNNNNN.jsonl``."""

    def __init__(self, folder: Path, origin: str, signer: Signer | None = None, *,
                 prefix: str = "trail", checkpoint_every: int = 1000,
                 segment_bytes: int = 64 << 20) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix):
            raise TrailError(Diagnostic(prefix, "segment prefix must be letters, digits, _.-"))
        self.folder = folder
        self.origin = origin
        self.signer = signer
        self.prefix = prefix
        self.checkpoint_every = checkpoint_every
        self.segment_bytes = segment_bytes
        self.tree = CompactTree()
        self.prev = ZERO
        self.seq = 0
        self._since_checkpoint = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._segment_no = 0
        self._file: Any = None
        self._resume()

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
        else:
            self._open_next()

    def _replay(self, seg: Path, last: bool) -> None:
        good = 0
        with seg.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    if not last:
                        raise TrailError(Diagnostic(str(seg), "torn line inside the trail, not "
                                                    "at its end", expected="a complete trail"))
                    torn = seg.with_name(seg.name + ".torn")
                    torn.write_bytes(raw)
                    with seg.open("r+b") as w:
                        w.truncate(good)
                    break
                good += len(raw)
                line = raw[:-1]
                with diagnosed(str(seg), "cannot resume: {error}",
                               catch=(msgspec.ValidationError, msgspec.DecodeError)):
                    ev = ev_mod.decoder.decode(line)
                if ev.seq != self.seq or ev.prev != self.prev:
                    raise TrailError(Diagnostic(str(seg), f"cannot resume: the chain breaks at "
                                                f"seq {ev.seq}; run `harness-audit verify`"))
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

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Write one event; return it as written (with v, seq, prev, hash, ts, span)."""
        event = dict(event)
        event.setdefault("ts", now_ts())
        with diagnosed(str(self.folder), f"event {self.seq}: {{error}}", catch=ValueError):
            line, digest = seal_event(event, self.seq, self.prev)
        if self._file.tell() and self._file.tell() + len(line) + 1 > self.segment_bytes:
            self._open_next()
        self._file.write(line + b"\n")
        self.tree.push(bytes.fromhex(digest))
        self.prev, self.seq = digest, self.seq + 1
        self._since_checkpoint += 1
        if self.checkpoint_every and self._since_checkpoint >= self.checkpoint_every:
            self.checkpoint()
        written: dict[str, Any] = msgspec.json.decode(line)
        return written

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def checkpoint(self) -> str | None:
        """Fsync, then sign a checkpoint of the tree so far: kept in ``checkpoints/`` (one file
        per tree size, never overwritten) and written as ``<prefix>.checkpoint`` (the newest),
        both atomically; return its text."""
        self._sync()
        self._since_checkpoint = 0
        if self.signer is None:
            return None
        text = sign_note(Checkpoint(self.origin, self.tree.size, self.tree.root()).text(),
                         [self.signer])
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
        """Write the last checkpoint and close the segment."""
        if self._file:
            self.checkpoint()
            self._file.close()
            self._file = None

    def __enter__(self) -> TrailWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
