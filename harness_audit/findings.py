"""The finding: one thing wrong, where it is, and which rule says so."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITY_ORDER: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
FailOn = Literal["any", "at-risk", "audit-will-fail", "critical", "high", "medium", "low", "never"]
"""When a scan or report exits 1 (``--fail-on``; the command line names it here, without
importing the checks): any failed or unproven check, a band or worse, an unwaived finding of a
severity or higher, or never."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong: the rule and its severity, the message, where (file and line, and a trail
    event's seq and span), and whether a waiver or the baseline covers it."""

    rule: str
    severity: Severity
    message: str
    file: str
    line: int
    pipeline: str
    agent: str | None = None
    check: str | None = None
    subject: str = ""  # what the finding is about (a tool, a path), for a stable fingerprint
    seq: int | None = None  # for findings from a trail: the event's seq and span
    span: str | None = None
    waived: str | None = None  # the waiver's justification, owner and ticket, when waived
    baselined: bool = False  # present in the baseline: known, not new
    not_proven: bool = False  # a declared pass the trails do not prove (no exception seen)

    @property
    def suppressed(self) -> bool:
        """Waived or baselined: reported, but it neither fails the run nor counts in the effective
        score."""
        return self.waived is not None or self.baselined

    @property
    def fingerprint(self) -> str:
        """Stable across unrelated edits: rule, pipeline, agent and subject, never line numbers."""
        key = "\x1f".join(
            (self.rule, self.pipeline, self.agent or "", self.check or "", self.subject)
        )
        return hashlib.sha256(key.encode()).hexdigest()[:32]
