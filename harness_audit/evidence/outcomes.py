"""Which decision outcomes are risk and which approve: data in ``rules/outcomes.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from harness_audit._resources import load_rules
from harness_audit.errors import Diagnostic, RuleError

OutcomeKind = Literal["risk", "approving", "other"]


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The risk words, risk prefixes and approving prefixes (lower case)."""

    risk_words: frozenset[str]
    risk_prefixes: tuple[str, ...]
    approving_prefixes: tuple[str, ...]

    def kind(self, outcome: str) -> OutcomeKind:
        """Whether ``outcome`` is a risk outcome, an approving one, or neither (risk first)."""
        word = outcome.lower()
        if word in self.risk_words or word.startswith(self.risk_prefixes):
            return "risk"
        if word.startswith(self.approving_prefixes):
            return "approving"
        return "other"


def _words(data: dict[str, Any], section: str, key: str) -> tuple[str, ...]:
    value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
    if not isinstance(value, list) or not value or not all(isinstance(w, str) and w for w in value):
        raise RuleError(
            Diagnostic("rules/outcomes.yaml", f"{section}.{key} must be a list of words")
        )
    return tuple(w.lower() for w in value)


@cache
def load_outcomes() -> Outcomes:
    """The outcome words under ``rules/outcomes.yaml``, loaded once; RuleError if malformed."""
    data = load_rules("outcomes.yaml")
    return Outcomes(
        frozenset(_words(data, "risk", "words")),
        _words(data, "risk", "prefixes"),
        _words(data, "approving", "prefixes"),
    )
