"""Which decision outcomes are risk and which approve, the words and symbols of a check's
status, and what a result rests on (a design review or operating evidence): data in
``rules/outcomes.yaml``, the one place these words live."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from harness_audit._resources import load_rules
from harness_audit.errors import Diagnostic, RuleError

if TYPE_CHECKING:
    from harness_audit.evidence.model import Evidence

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


@dataclass(frozen=True, slots=True)
class StatusWords:
    """How every output names a check's status: the word, a terminal symbol, a Markdown icon."""

    word: str
    symbol: str
    icon: str


STATUSES = ("pass", "fail", "not_proven", "n/a")


@cache
def status_words() -> dict[str, StatusWords]:
    """Each status (:data:`STATUSES`) with its word and symbols, from ``rules/outcomes.yaml``;
    RuleError when one is missing."""
    data = load_rules("outcomes.yaml").get("statuses")
    out = {}
    for status in STATUSES:
        entry = data.get(status) if isinstance(data, dict) else None
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry[k] for k in ("word", "symbol", "icon")
        ):
            raise RuleError(
                Diagnostic("rules/outcomes.yaml", f"statuses.{status} needs word, symbol and icon")
            )
        out[status] = StatusWords(entry["word"], entry["symbol"], entry["icon"])
    return out


def _basis(key: str) -> str:
    data = load_rules("outcomes.yaml").get("basis")
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise RuleError(Diagnostic("rules/outcomes.yaml", f"basis.{key} must be a sentence"))
    return value


def period_words(evidence: Evidence | None) -> str:
    """The period a judgement covers: "the period FROM..TO (declared)" or "from FIRST to LAST
    (the trails' own span)"; empty when no event is dated."""
    if evidence is None:
        return ""
    cov = evidence.coverage
    if cov is not None and cov.period is not None:
        return f"over the declared period {cov.period.text}"
    if evidence.first_ts and evidence.last_ts:
        return f"from {evidence.first_ts} to {evidence.last_ts} (the trails' own span)"
    return ""


def basis(evidence: Evidence | None) -> str:
    """What a pipeline's results rest on, in one sentence for every output: a design review
    (no trails) or operating evidence, and for which period."""
    if evidence is None:
        return _basis("design_review")
    span = period_words(evidence)
    return _basis("operating_evidence") + (f", {span}" if span else "")
