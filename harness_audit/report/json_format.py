"""``--format json`` for ``scan``: the stable shape of CLI.md, plus extra keys."""

from __future__ import annotations

import json
from typing import Any

from harness_audit import __version__
from harness_audit.checks.assessment import Assessment, PipelineResult
from harness_audit.checks.rules import FRAMEWORK_ORDER, RuleBook
from harness_audit.findings import Finding
from harness_audit.report.base import Renderer, RenderOptions


def tool_info() -> dict[str, str]:
    return {"name": "harness-audit", "version": __version__}


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "check": f.check, "agent": f.agent, "severity": f.severity,
            "message": f.message, "file": f.file, "line": f.line,
            "fingerprint": f.fingerprint}


def pipeline_dict(p: PipelineResult, rules: RuleBook) -> dict[str, Any]:
    agents = []
    for a in p.agents:
        checks = {}
        for c, r in a.checks.items():
            rule = rules.for_check(c)
            checks[c] = {
                "status": r.status,
                "reason": r.reason,
                "controls": rule.controls,
                "rule": rule.id,
                "line": r.line,
                "warnings": [m for _, m in r.warnings],
                "mappings": {fw: list(rule.mappings[fw]) for fw in FRAMEWORK_ORDER
                             if fw in rule.mappings},
            }
        agents.append({"id": a.id, "score": a.score, "band": a.band, "line": a.agent.line,
                       "model": a.agent.model_label, "checks": checks})
    return {
        "name": p.pipeline.name,
        "file": p.pipeline.file,
        "sha256": p.pipeline.sha256,
        "score": p.score,
        "band": p.band,
        "failing_checks": p.failing_checks,
        "compound_reliability": p.compound,
        "slo_target": p.pipeline.slo.target,
        "agents": agents,
        "findings": [finding_dict(f) for f in p.findings],
    }


def scan_dict(assessment: Assessment) -> dict[str, Any]:
    return {
        "tool": tool_info(),
        "score": assessment.score,
        "pipelines": [pipeline_dict(p, assessment.rules) for p in assessment.pipelines],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class JsonRenderer(Renderer):
    name = "json"

    def render(self, assessment: Assessment, options: RenderOptions = RenderOptions()) -> str:
        return dumps(scan_dict(assessment))
