"""The rule catalogue: the rules, control frameworks, problems, controls and sampling table
loaded (and validated) from the data under ``rules/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from harness_audit._resources import load_rules
from harness_audit.errors import Diagnostic, RuleError
from harness_audit.findings import SEVERITY_ORDER, Severity

FRAMEWORK_ORDER = (
    "soc2",
    "eu_ai_act",
    "nist_ai_rmf",
    "iso_42001",
    "owasp_llm",
    "owasp_agentic",
    "owasp_agentic_top10",
    "aiuc_1",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: what it asks, its severity, the controls it maps to and how to fix a failure.

    A rule of a check (``check`` set) also names the check's column labels in reports."""

    id: str
    title: str
    problem: int
    severity: Severity
    mappings: dict[str, tuple[str, ...]]
    remediation: str
    check: str | None = None
    label: str | None = None  # the check's column in Markdown reports
    short_label: str | None = None  # its column in the terminal grid

    @property
    def controls(self) -> list[str]:
        """Every mapped control identifier, framework by framework."""
        return [c for fw in FRAMEWORK_ORDER for c in self.mappings.get(fw, ())]


@dataclass(frozen=True, slots=True)
class Framework:
    """A control framework: its name, version and controls (id to title), and dated facts."""

    id: str
    name: str
    version: str
    controls: dict[str, str]
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StructuralProblem:
    """One of the seven structural problems the rules address (``rules/problems.yaml``)."""

    number: int
    title: str  # lower case, as it reads inside a sentence
    why: str


@dataclass(frozen=True)
class RuleBook:
    """Every rule by id, the control frameworks, and the seven problems by number."""

    rules: dict[str, Rule]
    frameworks: dict[str, Framework]
    problems: dict[int, StructuralProblem] = field(default_factory=dict)

    def for_check(self, check: str) -> Rule:
        """The rule of a check; KeyError if none."""
        for r in self.rules.values():
            if r.check == check:
                return r
        raise KeyError(check)


_REQUIRED = ("id", "title", "problem", "severity", "mappings", "remediation")


@cache
def load_rulebook() -> RuleBook:
    """The rule book under ``rules/``, validated; RuleError if it does not load."""
    fw_data = load_rules("frameworks.yaml")["frameworks"]
    frameworks = {
        k: Framework(k, v["name"], str(v["version"]), dict(v["controls"]), dict(v.get("facts", {})))
        for k, v in fw_data.items()
    }
    rules: dict[str, Rule] = {}
    for name in ("checks.yaml", "graph.yaml", "evidence.yaml"):
        for raw in load_rules(name)["rules"]:
            missing = [k for k in _REQUIRED if k not in raw]
            if missing:
                raise RuleError(
                    Diagnostic(f"rules/{name}", f"rule {raw.get('id')} lacks {missing}")
                )
            for fw, ids in raw["mappings"].items():
                unknown = [
                    c for c in ids if fw not in frameworks or c not in frameworks[fw].controls
                ]
                if unknown:
                    raise RuleError(
                        Diagnostic(
                            f"rules/{name}", f"rule {raw['id']} maps to unknown {fw} {unknown}"
                        )
                    )
            if raw["severity"] not in SEVERITY_ORDER:
                raise RuleError(
                    Diagnostic(
                        f"rules/{name}", f"rule {raw['id']} has severity {raw['severity']!r}"
                    )
                )
            if raw.get("check") and not (raw.get("label") and raw.get("short_label")):
                raise RuleError(
                    Diagnostic(
                        f"rules/{name}", f"rule {raw['id']} of a check lacks label or short_label"
                    )
                )
            rules[raw["id"]] = Rule(
                raw["id"],
                raw["title"],
                int(raw["problem"]),
                cast("Severity", raw["severity"]),
                {k: tuple(v) for k, v in raw["mappings"].items()},
                " ".join(str(raw["remediation"]).split()),
                raw.get("check"),
                raw.get("label"),
                raw.get("short_label"),
            )
    problems = {
        int(p["number"]): StructuralProblem(
            int(p["number"]), str(p["title"]), " ".join(str(p["why"]).split())
        )
        for p in load_rules("problems.yaml")["problems"]
    }
    return RuleBook(rules, frameworks, problems)


@cache
def load_controls() -> dict[str, dict[str, Any]]:
    """Each check read as a control (``rules/controls.yaml``): objective, population in words,
    frequency, nature, type and the tests performed; RuleError if a check lacks one."""
    from harness_audit.checks.checks import CHECKS

    data = load_rules("controls.yaml")["controls"]
    need = ("objective", "population", "frequency", "nature", "type", "tests")
    for check in CHECKS:
        entry = data.get(check)
        if not isinstance(entry, dict) or any(k not in entry for k in need):
            raise RuleError(Diagnostic("rules/controls.yaml", f"{check} lacks one of {need}"))
    return {k: dict(v) for k, v in data.items()}


@cache
def load_sampling() -> dict[str, Any]:
    """The sample-size table (``rules/sampling.yaml``): its source, the automated size, and the
    manual sizes by frequency."""
    data = load_rules("sampling.yaml")
    if not {"source", "automated", "manual"} <= set(data):
        raise RuleError(Diagnostic("rules/sampling.yaml", "needs source, automated and manual"))
    return data
