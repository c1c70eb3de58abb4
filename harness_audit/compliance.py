"""What a report is scoped to, and what applies (``rules/criteria.yaml``; issue 22).

- The Trust Services categories in scope: ``report --tsc``, else the manifest's
  ``compliance.tsc``, else Security. Criteria outside the scope are not listed.
- The review of the SOC 2 mappings an auditor would question: each struck or kept with the
  criterion's own words.
- The EU AI Act by classification: the high-risk articles apply to high-risk systems alone,
  the provider's obligations to providers and the deployer's to deployers; a system not
  classified gets "applies if high-risk".

Nothing here grades a criterion: a tool cannot pass one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from harness_audit._resources import load_rules
from harness_audit.errors import Diagnostic, RuleError, UsageError
from harness_audit.manifest.model import AiActClass, Pipeline

TSC_CATEGORIES = ("security", "availability", "processing_integrity", "confidentiality", "privacy")
"""The five Trust Services categories, in the AICPA's order."""

Applies = Literal["applies", "applies if high-risk", "does not apply"]


@dataclass(frozen=True, slots=True)
class Review:
    """One reviewed mapping of a rule to a criterion: struck or kept, the criterion's words,
    and why."""

    criterion: str
    rule: str
    decision: Literal["struck", "kept"]
    words: str
    reason: str


@dataclass(frozen=True, slots=True)
class TscScope:
    """The Trust Services categories a pipeline's report covers, and where that came from."""

    categories: tuple[str, ...]
    source: Literal["--tsc", "manifest", "default"]

    @property
    def text(self) -> str:
        """The categories by name, with their source (the cover's words)."""
        names = ", ".join(category_name(c) for c in self.categories)
        said = {
            "--tsc": "as given by --tsc",
            "manifest": "as the manifest declares (compliance.tsc)",
            "default": "the default: no compliance.tsc declared",
        }[self.source]
        return f"{names} ({said})"

    def covers(self, criterion: str) -> bool:
        """Whether a criterion (CC6.1, A1.1, PI1.3) is in one of the categories in scope."""
        return tsc_category(criterion) in self.categories


@dataclass(frozen=True, slots=True)
class Applicability:
    """Whether an EU AI Act article applies to the system as classified, and why."""

    state: Applies
    why: str


@cache
def criteria() -> dict[str, Any]:
    """``rules/criteria.yaml``, checked against the rule book: every reviewed rule exists and
    maps (kept) or no longer maps (struck) its criterion, and every EU AI Act article a rule
    maps to falls in an article range; RuleError if not."""
    from harness_audit.checks.catalogue import load_rulebook

    data = load_rules("criteria.yaml")
    book = load_rulebook()
    where = "rules/criteria.yaml"
    cats = data["tsc"]["categories"]
    if tuple(cats) != TSC_CATEGORIES:
        raise RuleError(Diagnostic(where, f"tsc.categories must be {TSC_CATEGORIES}"))
    for r in data["tsc"]["review"]:
        rule = book.rules.get(r["rule"])
        if rule is None:
            raise RuleError(Diagnostic(where, f"review names unknown rule {r['rule']}"))
        mapped = r["criterion"] in rule.mappings.get("soc2", ())
        if mapped != (r["decision"] == "kept") or not str(r.get("words", "")).strip():
            raise RuleError(
                Diagnostic(
                    where,
                    f"{r['rule']} {r['criterion']} is {r['decision']} but the rule "
                    f"{'maps' if mapped else 'does not map'} it, or the criterion's words are "
                    "missing",
                )
            )
    for rule in book.rules.values():
        for c in rule.mappings.get("soc2", ()):
            if tsc_category(c, data) is None:
                raise RuleError(Diagnostic(where, f"{rule.id} maps {c}, in no TSC category"))
        for c in rule.mappings.get("eu_ai_act", ()):
            if _range(c, data) is None:
                raise RuleError(
                    Diagnostic(where, f"{rule.id} maps {c}, which no eu_ai_act article range has")
                )
    return data


def tsc_category(criterion: str, data: dict[str, Any] | None = None) -> str | None:
    """The category of a criterion by its prefix (CC: security, A: availability, ...)."""
    m = re.match(r"([A-Z]+)\d", criterion)
    if not m:
        return None
    cats = (data or criteria())["tsc"]["categories"]
    return next((k for k, v in cats.items() if v["prefix"] == m.group(1)), None)


def category_name(category: str) -> str:
    """A category's name as the AICPA writes it (``processing_integrity``: Processing
    Integrity)."""
    return str(criteria()["tsc"]["categories"][category]["name"])


def parse_tsc(text: str) -> tuple[str, ...]:
    """``--tsc security,availability`` as categories; UsageError naming an unknown one."""
    words = [w.strip().lower().replace("-", "_").replace(" ", "_") for w in text.split(",")]
    words = [w for w in words if w]
    bad = [w for w in words if w not in TSC_CATEGORIES]
    if bad or not words:
        raise UsageError(
            Diagnostic(
                "--tsc",
                f"unknown Trust Services category {bad[0]!r}" if bad else "no category given",
                expected="a comma-separated list of " + ", ".join(TSC_CATEGORIES),
            )
        )
    return tuple(c for c in TSC_CATEGORIES if c in words)


def tsc_scope(pipeline: Pipeline, given: Sequence[str] | None = None) -> TscScope:
    """The categories a pipeline's report covers: ``given`` (``--tsc``), else the manifest's
    ``compliance.tsc``, else the default (Security)."""
    if given:
        return TscScope(tuple(c for c in TSC_CATEGORIES if c in given), "--tsc")
    if pipeline.compliance.tsc:
        return TscScope(
            tuple(c for c in TSC_CATEGORIES if c in pipeline.compliance.tsc), "manifest"
        )
    return TscScope(tuple(criteria()["tsc"]["default"]), "default")


def reviews() -> list[Review]:
    """The reviewed mappings, in the file's order."""
    return [
        Review(
            str(r["criterion"]),
            str(r["rule"]),
            r["decision"],
            " ".join(str(r["words"]).split()),
            " ".join(str(r["reason"]).split()),
        )
        for r in criteria()["tsc"]["review"]
    ]


# --- EU AI Act --------------------------------------------------------------------------------


def article(control: str) -> int | None:
    """The article number of a mapped control: ``Art. 9(2)(d)`` is 9."""
    m = re.match(r"Art\.\s*(\d+)", control)
    return int(m.group(1)) if m else None


def _range(control: str, data: dict[str, Any] | None = None) -> dict[str, Any] | None:
    n = article(control)
    if n is None:
        return None
    for r in (data or criteria())["eu_ai_act"]["articles"]:
        if int(r["from"]) <= n <= int(r["to"]):
            return dict(r)
    return None


def classification_text(cls: AiActClass | None) -> str:
    """The system's EU AI Act class as the cover says it."""
    if cls is None:
        return "not classified (no compliance.eu_ai_act declared)"
    if cls.risk_class == "unclassified":
        return "not classified (declared unclassified)"
    name = criteria()["eu_ai_act"]["risk_classes"][cls.risk_class]
    point = f", Annex III point {cls.annex_iii}" if cls.annex_iii else ""
    roles = " and ".join(cls.roles) if cls.roles else "role not declared"
    return f"{name}{point}; {roles}"


def applicability(control: str, cls: AiActClass | None) -> Applicability:
    """Whether an article the rules map to applies to the system as classified (see the module
    doc): never "applies" to a system that is not declared high-risk."""
    r = _range(control)
    if r is None:  # the loader refuses such a mapping; kept total for safety
        return Applicability("applies if high-risk", "an article outside the known ranges")
    who = str(r["who"])
    roles = tuple(r["roles"])
    only = "" if set(roles) >= {"provider", "deployer"} else f" (to its {roles[0]} only)"
    if cls is None or cls.risk_class == "unclassified":
        return Applicability("applies if high-risk", f"{who}{only}; the system is not classified")
    if cls.risk_class != "high":
        name = criteria()["eu_ai_act"]["risk_classes"][cls.risk_class]
        return Applicability("does not apply", f"{who}; the system is declared {name}")
    if not set(cls.roles) & set(roles):
        return Applicability(
            "does not apply", f"{who}; the manifest declares you its {' and '.join(cls.roles)}"
        )
    return Applicability("applies", who)
