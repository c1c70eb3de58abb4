"""What verification finds: one :class:`Problem` per damaged place, of a named kind (CLI.md)."""

from __future__ import annotations

from dataclasses import dataclass
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
