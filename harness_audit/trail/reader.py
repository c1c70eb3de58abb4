"""Stream a trail's events for analysis (SLA observations, evidence): decoded, in order.

Lines that do not decode are counted and skipped; integrity is ``verify``'s job, and the
analyses say how many lines they could not use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness_audit.errors import diagnostic_error
from harness_audit.trail import events as ev_mod
from harness_audit.trail.events import AnyEvent
from harness_audit.trail.verify import trail_files

NOT_AN_EVENT = "not a valid event ({error}); run `harness-audit verify` first"


@dataclass
class ReadStats:
    """What a read saw: the files in order, the events decoded and the lines skipped."""

    files: list[str] = field(default_factory=list)
    events: int = 0
    skipped: int = 0


def read_decoded(paths: Sequence[Path], stats: ReadStats | None = None, strict: bool = False
                 ) -> Iterator[tuple[str, int, bytes, AnyEvent]]:
    """(file, line number, line without its newline, typed event), in file and line order.

    A line that does not decode is counted and skipped, or with ``strict`` is an error naming
    file and line (for proofs, which need every leaf)."""
    stats = stats if stats is not None else ReadStats()
    decode = ev_mod.decoder.decode
    errors = ev_mod.DECODE_ERRORS
    for f in trail_files(paths):
        stats.files.append(str(f))
        name = str(f)
        with f.open("rb") as handle:
            for n, raw in enumerate(handle, 1):
                line = raw.rstrip(b"\n")
                try:
                    ev = decode(line)
                except errors as e:  # not ``diagnosed``: most lines of the loop are fine
                    if strict:
                        raise diagnostic_error(name, NOT_AN_EVENT, n, cause=e) from e
                    stats.skipped += 1
                    continue
                stats.events += 1
                yield name, n, line, ev


def read_events(paths: Sequence[Path], stats: ReadStats | None = None
                ) -> Iterator[tuple[str, int, AnyEvent]]:
    """(file, line, typed event) for every event that decodes, in file and line order."""
    for name, n, _, ev in read_decoded(paths, stats):
        yield name, n, ev
