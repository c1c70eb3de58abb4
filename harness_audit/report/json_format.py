"""``--format json`` for ``scan``: the stable shape of CLI.md, plus extra keys."""

from __future__ import annotations

from typing import Any

from harness_audit._json import tool_info
from harness_audit.checks.assessment import Assessment, PipelineResult
from harness_audit.checks.catalogue import FRAMEWORK_ORDER, Rule, RuleBook
from harness_audit.checks.checks import CHECKS
from harness_audit.evidence.model import Evidence
from harness_audit.findings import Finding
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import json_text


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding as the JSON shows it, with its fingerprint and its waived and baselined state."""
    return {
        "rule": f.rule,
        "check": f.check,
        "agent": f.agent,
        "severity": f.severity,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "seq": f.seq,
        "span": f.span,
        "fingerprint": f.fingerprint,
        "waived": f.waived,
        "baselined": f.baselined,
        "not_proven": f.not_proven,
    }


def pipeline_dict(p: PipelineResult, rules: RuleBook) -> dict[str, Any]:
    """One pipeline's result: score and band, each agent's checks with their controls (and evidence,
    from trails), and the findings."""
    agents = []
    by_check = {c: rules.for_check(c) for c in CHECKS}
    controls = {c: r.controls for c, r in by_check.items()}
    for a in p.agents:
        checks: dict[str, dict[str, Any]] = {}
        for c, r in a.checks.items():
            checks[c] = {
                "status": r.status,
                "reason": r.reason,
                "controls": controls[c],
                "rule": by_check[c].id,
                "line": r.line,
                "warnings": [m for _, m in r.warnings],
            }
            control = p.evidence.controls.get((a.id, c)) if p.evidence else None
            if control is not None:
                checks[c]["evidence"] = {
                    "operated": control.operated,
                    "failed": control.failed,
                    "denied": control.denied,
                    "failures": [x.as_dict() for x in control.failures],
                    # every located failure is listed, up to the bound
                    "failures_not_listed": control.failures_dropped,
                }
                if control.stand_ins:  # events naming the agent only as a stand-in
                    checks[c]["evidence"]["stand_in_events"] = control.stand_ins
        agents.append(
            {
                "id": a.id,
                "score": a.score,
                "band": a.band,
                "line": a.agent.line,
                "model": a.agent.model_label,
                "checks": checks,
            }
        )
    out: dict[str, Any] = {
        "name": p.pipeline.name,
        "file": p.pipeline.file,
        "sha256": p.pipeline.sha256,
        "score": p.score,
        "band": p.band,
        "failing_checks": p.failing_checks,
        "unproven_checks": p.unproven_checks,
        "basis": p.basis,
        "compound_reliability": p.compound,
        "slo_target": p.pipeline.slo.target,
        "agents": agents,
        "findings": [finding_dict(f) for f in p.findings],
        # CLI.md, Trust root: which key anchored the trails and where it came from
        "trail": p.evidence.trust.as_dict() if p.evidence and p.evidence.trust else None,
    }
    if p.evidence is not None:
        out["evidence"] = evidence_dict(p.evidence)
    return out


def _review(e: Evidence) -> dict[str, Any]:
    """The period of review the findings were judged over, and where it came from."""
    r = e.review_period()
    days = None if r.days is None else round(r.days, 3)
    return {"from": r.start, "to": r.end, "days": days, "source": r.source}


def evidence_dict(e: Evidence) -> dict[str, Any]:
    """What the trails showed: coverage, integrity, cost, and the populations per control."""
    v = e.verify
    return {
        "trails": e.files,
        "events": e.events,
        "lines_not_decoded": e.skipped,
        "runs": e.runs,
        "runs_never_ended": e.open_runs,
        "period": {
            "first": e.first_ts,
            "last": e.last_ts,
            "days": None if e.period_days is None else round(e.period_days, 3),
            "review": _review(e),
        },
        "integrity": None
        if v is None
        else {
            "status": v.status,
            "events": v.events,
            "anchor": {"origin": v.anchor.origin, "size": v.anchor.size, "key": v.anchor.key}
            if v.anchor
            else None,
            "problems": len(v.problems),
        },
        "cost_per_run": e.cost_summary(),
        "populations": {
            check: {"size": pop.size, "sample": [x.as_dict() for x in pop.sample]}
            for check, pop in sorted(e.populations.items())
        },
    }


def rule_dict(rule: Rule, rules: RuleBook) -> dict[str, Any]:
    """A rule as the JSON shows it: title, check, problem, severity, controls by framework name and
    version, and the fix."""
    return {
        "title": rule.title,
        "check": rule.check,
        "problem": rule.problem,
        "severity": rule.severity,
        "mappings": {
            rules.frameworks[fw].name + " " + rules.frameworks[fw].version: list(rule.mappings[fw])
            for fw in FRAMEWORK_ORDER
            if fw in rule.mappings
        },
        "remediation": rule.remediation,
    }


def scan_dict(assessment: Assessment) -> dict[str, Any]:
    """The whole document: tool, score, waivers, pipelines, and the rules that the findings and
    checks cite."""
    used = {f.rule for p in assessment.pipelines for f in p.findings}
    used |= {r.id for r in assessment.rules.rules.values() if r.check}
    return {
        "tool": tool_info(),
        "score": assessment.score,
        "waivers": [
            {
                "rule": w.waiver.rule,
                "pipeline": w.waiver.pipeline,
                "agent": w.waiver.agent,
                "justification": w.waiver.justification,
                "owner": w.waiver.owner,
                "ticket": w.waiver.ticket,
                "expires": w.waiver.expires.isoformat(),
                "state": w.state,
                "matched": w.matched,
            }
            for w in assessment.waivers
        ],
        "pipelines": [pipeline_dict(p, assessment.rules) for p in assessment.pipelines],
        "rules": {
            i: rule_dict(r, assessment.rules)
            for i, r in assessment.rules.rules.items()
            if i in used
        },
    }


class JsonRenderer(Renderer[Assessment]):
    """The stable JSON of CLI.md."""

    name = "json"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented JSON."""
        return json_text(scan_dict(assessment))
