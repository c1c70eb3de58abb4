"""The trail writer a harness embeds: append events, get a tamper-evident trail.

Each ``append`` fills ``v``, ``seq``, ``prev``, ``hash`` (and ``ts``, ``span`` when missing),
writes the event as one RFC 8785 line, rotates to a new segment past ``segment_bytes``, and
every ``checkpoint_every`` events (and on ``close``) fsyncs the segment and writes a signed
C2SP checkpoint beside it, atomically. After a crash, opening the same folder resumes: a torn
last line is moved aside to ``<segment>.torn`` (kept for forensics) and the chain continues.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import msgspec

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail import events as ev_mod
from harness_audit.trail.canonical import CanonicalizationError, canonicalize
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, Signer, sign_note

ZERO = ev_mod.ZERO_HASH


def now_ts() -> str:
    t = dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def seal_event(event: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
    """Complete one event (v, seq, prev, span when missing), validate it, hash it.

    Returns the canonical line (without newline) and its hash. Raises ValueError with a
    reason a person can act on.
    """
    body = {k: v for k, v in event.items() if k != "hash"}
    body["v"] = 1
    body["seq"] = seq
    body["prev"] = prev
    body.setdefault("span", f"s{seq}")
    try:
        unsigned = canonicalize(body)
    except CanonicalizationError as e:
        raise ValueError(str(e)) from e
    digest = hashlib.sha256(b"\x00" + unsigned).hexdigest()
    body["hash"] = digest
    line = canonicalize(body)
    try:
        ev = ev_mod.decoder.decode(line)
    except msgspec.ValidationError as e:
        raise ValueError(f"not a valid trail event: {e}") from e
    problem = ev_mod.pattern_problem(ev)
    if problem:
        raise ValueError(problem)
    _no_floats(body, "$")
    return line, digest


def _no_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise ValueError(f"{where} is the number {value!r}; trail numbers are integers only "
                         "(money in cost_microusd, ratios in basis points)")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_floats(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_floats(v, f"{where}[{i}]")


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
                try:
                    ev = ev_mod.decoder.decode(line)
                except (msgspec.ValidationError, msgspec.DecodeError) as e:
                    raise TrailError(Diagnostic(str(seg), f"cannot resume: {e}")) from e
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
        try:
            line, digest = seal_event(event, self.seq, self.prev)
        except ValueError as e:
            raise TrailError(Diagnostic(str(self.folder), f"event {self.seq}: {e}")) from e
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
        """Fsync, then write ``<prefix>.checkpoint`` (signed) atomically; return its text."""
        self._sync()
        self._since_checkpoint = 0
        if self.signer is None:
            return None
        text = sign_note(Checkpoint(self.origin, self.tree.size, self.tree.root()).text(),
                         [self.signer])
        target = self.folder / f"{self.prefix}.checkpoint"
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        return text

    def close(self) -> None:
        if self._file:
            self.checkpoint()
            self._file.close()
            self._file = None

    def __enter__(self) -> TrailWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def seal_file(source: Path, out: Path, signer: Signer, origin: str) -> tuple[int, str]:
    """``trail seal``: chain and sign a plain JSONL file of events; return (events, checkpoint).

    Writes ``out`` and ``out.checkpoint``; both appear only when every line sealed.
    """
    import json

    from harness_audit._fs import write_atomic

    tree = CompactTree()
    prev = ZERO
    lines: list[bytes] = []
    try:
        handle = source.open("rb")
    except OSError as e:
        raise TrailError(Diagnostic(str(source), f"cannot be read: {e.strerror}")) from e
    with handle:
        for n, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                event = json.loads(raw, parse_constant=_reject_constant)
            except (ValueError, UnicodeDecodeError) as e:
                raise TrailError(Diagnostic(str(source), f"not JSON: {e}", n,
                                            expected="one JSON object a line")) from e
            if not isinstance(event, dict):
                raise TrailError(Diagnostic(str(source), "not a JSON object", n))
            try:
                line, digest = seal_event(event, len(lines), prev)
            except ValueError as e:
                raise TrailError(Diagnostic(str(source), str(e), n)) from e
            lines.append(line)
            tree.push(bytes.fromhex(digest))
            prev = digest
    note = sign_note(Checkpoint(origin, tree.size, tree.root()).text(), [signer])
    write_atomic(out, b"".join(x + b"\n" for x in lines))
    write_atomic(out.with_name(out.name + ".checkpoint"), note)
    return len(lines), note


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")
