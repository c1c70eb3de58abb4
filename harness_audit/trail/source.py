"""Where trail events come from before they are sealed: one small interface.

A source (a plain JSONL file for ``trail seal``, an importer of a foreign trace format for
``trail import``, a receiver of OTLP spans for ``collect``) yields :class:`RawEvent` values:
a plain event as a mapping (no ``v``, ``seq``, ``prev`` or ``hash``: sealing adds them) and the
place in the source it came from, so that an error can name file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol


class RawEvent(NamedTuple):
    """One event to seal, with where it came from (file, 1-based line or record number).

    A named tuple: one is made per imported event, and a tuple is the cheapest object to make."""

    file: str
    line: int
    event: dict[str, Any]


class EventSource(Protocol):
    """Anything that yields events to seal, in trail order."""

    def events(self) -> Iterator[RawEvent]:
        """The events, in the order they are to be chained."""
        ...
