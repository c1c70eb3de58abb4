"""Rules and control catalogues, loaded from the data under ``rules/``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from harness_audit._resources import data_dir
from harness_audit.errors import Diagnostic, HarnessAuditError, RuleError
from harness_audit.manifest.yamlsafe import load_yaml

FRAMEWORK_ORDER = ("soc2", "eu_ai_act", "nist_ai_rmf", "iso_42001", "owasp_llm", "owasp_agentic")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    problem: int
    severity: str
    mappings: dict[str, tuple[str, ...]]
    remediation: str
    check: str | None = None

    @property
    def controls(self) -> list[str]:
        """Every mapped control identifier, framework by framework."""
        return [c for fw in FRAMEWORK_ORDER for c in self.mappings.get(fw, ())]


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    name: str
    version: str
    controls: dict[str, str]
    facts: dict[str, Any]


@dataclass(frozen=True)
class RuleBook:
    rules: dict[str, Rule]
    frameworks: dict[str, Framework]

    def for_check(self, check: str) -> Rule:
        for r in self.rules.values():
            if r.check == check:
                return r
        raise KeyError(check)


_REQUIRED = ("id", "title", "problem", "severity", "mappings", "remediation")


def _load(name: str) -> dict[str, Any]:
    path = data_dir("rules") / name
    try:
        data = load_yaml(path, display=f"rules/{name}").data
    except HarnessAuditError as e:
        raise RuleError(e.diagnostics()) from e
    if not isinstance(data, dict):
        raise RuleError(Diagnostic(f"rules/{name}", "not a mapping"))
    return data


@cache
def load_rulebook() -> RuleBook:
    fw_data = _load("frameworks.yaml")["frameworks"]
    frameworks = {
        k: Framework(k, v["name"], str(v["version"]), dict(v["controls"]), dict(v.get("facts", {})))
        for k, v in fw_data.items()
    }
    rules: dict[str, Rule] = {}
    for name in ("checks.yaml", "graph.yaml", "evidence.yaml"):
        for raw in _load(name)["rules"]:
            missing = [k for k in _REQUIRED if k not in raw]
            if missing:
                raise RuleError(Diagnostic(f"rules/{name}",
                                           f"rule {raw.get('id')} lacks {missing}"))
            for fw, ids in raw["mappings"].items():
                unknown = [c for c in ids if fw not in frameworks
                           or c not in frameworks[fw].controls]
                if unknown:
                    raise RuleError(Diagnostic(f"rules/{name}",
                                               f"rule {raw['id']} maps to unknown {fw} {unknown}"))
            rules[raw["id"]] = Rule(raw["id"], raw["title"], int(raw["problem"]), raw["severity"],
                                    {k: tuple(v) for k, v in raw["mappings"].items()},
                                    " ".join(str(raw["remediation"]).split()), raw.get("check"))
    return RuleBook(rules, frameworks)
