"""What verification finds: one :class:`Problem` per damaged place, of a named kind (CLI.md),
and what one scanned range yields (:class:`RangeResult`, filled through a :class:`Reporter`).

The types the scanner, the slow path (``badline``), the Merkle pieces and the compiled core all
need live here, below them, so that none of those modules imports another upward for a type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MODIFIED = "the event's hash does not match its content"
"""The detail of a ``modified_event``: the same words from every verifier path."""

ProblemKind = Literal[
    "unparseable_line",
    "invalid_event",
    "non_canonical",
    "modified_event",
    "broken_link",
    "sequence_gap",
    "truncated_tail",
    "root_mismatch",
    "checkpoint_fork",
    "rollback",
    "bad_signature",
    "no_trusted_signature",
    "unanchored_tail",
    "witness_quorum",
    "missing_shard",
    "shard_order",
    "shard_link",
    "shard_key",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a trail: its kind, where (file, line, seq) and what; a warning alone
    does not fail verification."""

    kind: ProblemKind
    file: str
    line: int | None
    seq: int | None
    detail: str
    warning: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The problem as in ``verify --format json``."""
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "seq": self.seq,
            "detail": self.detail,
            "severity": "warning" if self.warning else "error",
        }


@dataclass(slots=True)
class RangeResult:
    """What one range yields: its chain ends, its leaves as subtrees, its problems."""

    file: str
    start: int
    end: int
    start_index: int | None
    lines: int = 0
    events: int = 0
    first_seq: int | None = None
    first_prev: str | None = None
    first_line: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    pieces: list[tuple[int, int, bytes]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dropped: int = 0
    seq_ok: bool = True  # every event's seq was its position (so a seq hint is sound)


class Reporter:
    """Collects a range's problems, keeping the first ``cap`` and counting the rest."""

    __slots__ = ("cap", "path", "problems", "res")

    def __init__(self, res: RangeResult, cap: int) -> None:
        self.res, self.path, self.problems, self.cap = res, res.file, res.problems, cap

    def __call__(
        self, kind: ProblemKind, detail: str, seq: int | None, line: int, warning: bool = False
    ) -> None:
        if len(self.problems) < self.cap:
            self.problems.append(Problem(kind, self.path, line, seq, detail, warning))
        else:
            self.res.dropped += 1
