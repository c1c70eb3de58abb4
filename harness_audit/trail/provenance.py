"""Provenance, signed: when a checkpoint was signed, and whether it sealed an import.

Two C2SP tlog-checkpoint extension lines (after the root hash line, in the signed note text, so
under every signature; non-empty, and ignored by a verifier that does not know them, as C2SP
tlog-checkpoint §"Note text" asks):

``harness-audit-signed 2026-12-07T13:00:00Z``
    the time the writer signed the checkpoint (RFC 3339 UTC, to the second). Written on every
    checkpoint the writer signs (:class:`~harness_audit.trail.writer.TrailWriter`, so
    ``trail seal``, ``trail import``, ``collect`` and the OTel exporter alike).
``harness-audit-import sources=2 sha256=<hex> sha256=<hex>``
    the checkpoint sealed a ``trail import``: how many source files, and the SHA-256 of each,
    in the order read (more than :data:`MAX_LISTED` sources: ``sha256-list=<hex>``, the SHA-256
    of the sources' hex digests, each followed by a newline, in that order, which import.json
    lists).

A checkpoint without them (written before they existed) verifies as before; its signing time
is then unknown. A line of ours that does not parse is ignored like any unknown line.

:class:`Provenance` is what ``verify`` says of a trail from them: captured at the source or
sealed after the fact (an import, or signed more than the threshold after the last event it
anchors), when, which key anchors it, pinned or not, witnessed or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_SEALED_LATE_S",
    "IMPORT_KEYWORD",
    "MAX_LISTED",
    "SIGNED_KEYWORD",
    "ImportMark",
    "Provenance",
    "Stamp",
    "import_line",
    "read_stamp",
    "signed_line",
    "span_text",
]

SIGNED_KEYWORD = "harness-audit-signed"
IMPORT_KEYWORD = "harness-audit-import"
MAX_LISTED = 256
"""Sources whose digests the import line lists one by one; past this, one digest of the list
(a note stays far below the verifier's 1 MiB limit)."""
SHOWN = 5
"""Source digests a person's summary shows (the JSON has all)."""
DEFAULT_SEALED_LATE_S = 24 * 3600.0
"""Signed more than this after the last event it anchors: sealed after the fact (24 h)."""

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_HEX = re.compile(r"[0-9a-f]{64}")

Capture = Literal["captured", "sealed_after_the_fact", "unknown", "unanchored"]


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_line(at: dt.datetime) -> str:
    """The extension line of the signing time: ``harness-audit-signed <RFC 3339 UTC>``."""
    return f"{SIGNED_KEYWORD} {_iso(at)}"


def import_line(digests: Sequence[str]) -> str:
    """The extension line of an import of sources with these SHA-256 hex digests, in order."""
    for d in digests:
        if not _HEX.fullmatch(d):
            raise ValueError("a source digest is not 64 lowercase hex digits")
    if len(digests) <= MAX_LISTED:
        listed = "".join(f" sha256={d}" for d in digests)
        return f"{IMPORT_KEYWORD} sources={len(digests)}{listed}"
    return f"{IMPORT_KEYWORD} sources={len(digests)} sha256-list={list_digest(digests)}"


def list_digest(digests: Sequence[str]) -> str:
    """The SHA-256 of the sources' hex digests, each followed by a newline, in order."""
    return hashlib.sha256("".join(f"{d}\n" for d in digests).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ImportMark:
    """A ``harness-audit-import`` line: how many sources, and their digests (or the digest of
    their list, past :data:`MAX_LISTED`)."""

    sources: int
    digests: tuple[str, ...] = ()
    list_digest: str | None = None

    def as_dict(self) -> dict[str, object]:
        """As JSON."""
        return {
            "sources": self.sources,
            "sha256": list(self.digests),
            "sha256_list": self.list_digest,
        }


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a checkpoint's extension lines of ours say: when it was signed, and the import."""

    signed_at: str | None = None
    imported: ImportMark | None = None


def _import_mark(words: list[str]) -> ImportMark | None:
    if not words or not words[0].startswith("sources="):
        return None
    count = words[0][len("sources=") :]
    if not re.fullmatch(r"0|[1-9][0-9]{0,9}", count):
        return None
    n = int(count)
    rest = words[1:]
    if len(rest) == 1 and rest[0].startswith("sha256-list="):
        d = rest[0][len("sha256-list=") :]
        return ImportMark(n, (), d) if _HEX.fullmatch(d) and n > MAX_LISTED else None
    digests = tuple(w[len("sha256=") :] for w in rest if w.startswith("sha256="))
    if len(digests) != len(rest) or len(digests) != n or not all(map(_HEX.fullmatch, digests)):
        return None
    return ImportMark(n, digests)


def read_stamp(extensions: Iterable[str]) -> Stamp:
    """Our lines among a checkpoint's extension lines (the first of each kind that parses);
    every other line is ignored (C2SP tlog-checkpoint: extension lines are opaque)."""
    signed: str | None = None
    mark: ImportMark | None = None
    for line in extensions:
        keyword, _, rest = line.partition(" ")
        if keyword == SIGNED_KEYWORD and signed is None and _TIME.fullmatch(rest):
            try:
                dt.datetime.fromisoformat(rest.replace("Z", "+00:00"))
            except ValueError:
                continue
            signed = rest
        elif keyword == IMPORT_KEYWORD and mark is None:
            mark = _import_mark(rest.split(" "))
    return Stamp(signed, mark)


def span_text(seconds: float) -> str:
    """A duration for people: ``339 days``, ``31 hours``, ``12 minutes``, ``5 seconds``."""
    s = abs(seconds)
    if s >= 2 * 86400:
        n, unit = s / 86400, "day"
    elif s >= 2 * 3600:
        n, unit = s / 3600, "hour"
    elif s >= 120:
        n, unit = s / 60, "minute"
    else:
        n, unit = s, "second"
    whole = int(n)
    return f"{whole:,} {unit}{'' if whole == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a trail's anchor comes from, as the signed checkpoints say.

    ``signed_at``: the earliest signing time of a trusted checkpoint of the anchor's size;
    ``last_event_ts``: the ``ts`` of the last event it anchors; ``sealed_after_s``: the
    longest wait, among the anchor, the oldest timed trusted checkpoint and the import's,
    between an event and the signature over it (None when no checkpoint records its time).
    ``imported``: a trusted checkpoint that matches the trail sealed a ``trail import``.
    ``checkpoint_times``: the signing times of every trusted checkpoint that matches the trail
    and is not an import's (each shows the writer was signing then: coverage)."""

    anchored: bool = False
    signed_at: str | None = None
    last_event_ts: str | None = None
    sealed_after_s: float | None = None
    sealed_late_after_s: float = DEFAULT_SEALED_LATE_S
    imported: ImportMark | None = None
    key: str | None = None  # "<name>+<hex key id>" of the anchoring key
    key_source: str | None = None  # "flag", "config", "manifest"
    pinned: bool = False
    witnesses: tuple[str, ...] = ()  # names of the witnesses whose cosignatures hold
    checkpoint_times: tuple[str, ...] = field(default=())

    @property
    def late(self) -> bool:
        """Signed more than the threshold after the events it anchors."""
        return self.sealed_after_s is not None and self.sealed_after_s > self.sealed_late_after_s

    @property
    def capture(self) -> Capture:
        """``captured`` at the source, ``sealed_after_the_fact`` (an import, or late),
        ``unknown`` (the anchor records no signing time) or ``unanchored``."""
        if not self.anchored:
            return "unanchored"
        if self.imported is not None or self.late:
            return "sealed_after_the_fact"
        if self.sealed_after_s is None:
            return "unknown"
        return "captured"

    def sealed_after_fact_reason(self) -> str | None:
        """Why the trail proves what its source said but not when (None when it does not)."""
        if self.capture != "sealed_after_the_fact":
            return None
        how = "by `trail import`" if self.imported is not None else "by its writer"
        if self.signed_at is None or self.sealed_after_s is None:
            return (
                f"sealed after the fact {how} (signing time not recorded); the source format "
                "proves nothing before that"
            )
        return (
            f"sealed on {self.signed_at[:10]} {how}, {span_text(self.sealed_after_s)} after its "
            "last event; the source format proves nothing before that"
        )

    def _when(self) -> str:
        if not self.anchored:
            return "not anchored by a trusted checkpoint"
        cap = self.capture
        if cap == "captured":
            assert self.sealed_after_s is not None
            return (
                f"captured at the source: signed {self.signed_at}, "
                f"{span_text(self.sealed_after_s)} after its last event"
            )
        if cap == "unknown":
            return "signing time not recorded (a checkpoint older than the signed-time line)"
        return self.sealed_after_fact_reason() or "sealed after the fact"

    def _key(self) -> str:
        pin = f"pinned ({self.key_source})" if self.pinned else "not pinned"
        seen = f"witnessed by {', '.join(self.witnesses)}" if self.witnesses else "not witnessed"
        return f"{self.key or '?'}, {pin}, {seen}"

    def _sources(self) -> str | None:
        m = self.imported
        if m is None:
            return None
        if m.digests:
            shown = ", ".join(f"sha256:{d}" for d in m.digests[:SHOWN])
            more = f" and {m.sources - SHOWN} more (JSON lists all)" if m.sources > SHOWN else ""
            return f"{m.sources} source(s): {shown}{more}"
        return f"{m.sources} sources: sha256 of their digests' list {m.list_digest}"

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) for people: provenance, the anchoring key, the import's sources."""
        out = [("Provenance", self._when())]
        if self.anchored:
            out.append(("Anchoring key", self._key()))
        sources = self._sources()
        if sources:
            out.append(("Imported from", sources))
        return out

    def describe(self) -> str:
        """One line for people: captured or sealed after the fact, when, key, pinned, witnesses."""
        text = self._when()
        if self.anchored:
            text += f"; key {self._key()}"
        if self.imported is not None:
            text += f"; imported from {self.imported.sources} source(s)"
        return text

    def as_dict(self) -> dict[str, object]:
        """As JSON (``verify -f json``'s ``provenance``)."""
        return {
            "capture": self.capture,
            "signed_at": self.signed_at,
            "last_event_ts": self.last_event_ts,
            "sealed_after_seconds": (
                None if self.sealed_after_s is None else round(self.sealed_after_s, 3)
            ),
            "sealed_late_after_seconds": self.sealed_late_after_s,
            "imported": self.imported.as_dict() if self.imported else None,
            "key": self.key,
            "key_source": self.key_source,
            "pinned": self.pinned,
            "witnessed": bool(self.witnesses),
            "witnesses": list(self.witnesses),
            "reason": self.sealed_after_fact_reason(),
        }
