"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run with ``automationDetails``; every rule with help and a ``security-severity``; every
result with ``ruleId``, ``level``, a message, a location relative to the working directory
(``%SRCROOT%``) with ``region.startLine``, and ``partialFingerprints`` that survive unrelated
edits (rule + pipeline + agent + subject, never line numbers). A check not proven by the trails
is a result of its check's rule at level ``warning``, its message "<agent>: not proven: <why>"
and ``properties.outcome`` ``not_proven``. Waived findings carry an
external suppression with the justification; baselined ones ``baselineState: unchanged``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness_audit import __version__
from harness_audit.checks.assessment import Assessment
from harness_audit.checks.catalogue import FRAMEWORK_ORDER
from harness_audit.findings import Finding
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import json_text, uri

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def relative_uri(path: str) -> str:
    """``path`` relative to the working directory (``%SRCROOT%``) as a percent-encoded
    relative URI reference (SARIF 2.1.0 §3.10.2, RFC 3986 §4.2)."""
    p = Path(path)
    try:
        rel = os.path.relpath(p.resolve() if p.is_absolute() else p, Path.cwd())
    except ValueError:
        rel = str(p)
    return uri(Path(rel).as_posix())


def result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    """One finding as a SARIF result: level, location, fingerprint and properties, and its
    suppression or baseline state."""
    r: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        # not proven: a warning (no exception was seen; the pass was not shown), never a note
        "level": "warning" if f.not_proven else LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": relative_uri(f.file), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(1, f.line)},
                }
            }
        ],
        "partialFingerprints": {"harnessAudit/v1": f.fingerprint},
        "properties": {
            "pipeline": f.pipeline,
            "agent": f.agent,
            "check": f.check,
            "severity": f.severity,
            "outcome": "not_proven" if f.not_proven else ("fail" if f.check else "finding"),
        },
    }
    if f.seq is not None:
        r["properties"]["seq"], r["properties"]["span"] = f.seq, f.span
    if f.waived:
        r["suppressions"] = [{"kind": "external", "status": "accepted", "justification": f.waived}]
    r["baselineState"] = "unchanged" if f.baselined else "new"
    return r


def sarif_dict(a: Assessment) -> dict[str, Any]:
    """The SARIF log: one run whose driver lists every rule and whose results are every finding."""
    rules = list(a.rules.rules.values())
    index = {r.id: i for i, r in enumerate(rules)}
    driver_rules = []
    for r in rules:
        tags = ["compliance", "ai-agents", f"problem-{r.problem}"]
        tags += [c for fw in FRAMEWORK_ORDER for c in r.mappings.get(fw, ())]
        driver_rules.append(
            {
                "id": r.id,
                "name": (r.check or r.title).replace(" ", ""),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.title + (f" (check {r.check})" if r.check else "")},
                "help": {"text": r.remediation, "markdown": f"**{r.title}**\n\n{r.remediation}"},
                "defaultConfiguration": {"level": LEVEL[r.severity]},
                "properties": {
                    "tags": tags,
                    "security-severity": SECURITY_SEVERITY[r.severity],
                    "precision": "high",
                },
            }
        )
    names = ",".join(sorted(p.pipeline.name for p in a.pipelines))
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harness-audit",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://pypi.org/project/harness-audit/",
                        "rules": driver_rules,
                    }
                },
                "automationDetails": {"id": f"harness-audit/scan/{names}/"},
                # the trust root of each pipeline's trails (CLI.md): key, pinned, unanchored
                "properties": {
                    "basis": {p.pipeline.name: p.basis for p in a.pipelines},
                    "trails": {
                        p.pipeline.name: p.evidence.trust.as_dict()
                        for p in a.pipelines
                        if p.evidence is not None and p.evidence.trust is not None
                    },
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "columnKind": "utf16CodeUnits",
                "results": [result(f, index) for p in a.pipelines for f in p.findings],
            }
        ],
    }


class SarifRenderer(Renderer[Assessment]):
    """SARIF 2.1.0, for GitHub code scanning."""

    name = "sarif"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented SARIF JSON."""
        return json_text(sarif_dict(assessment))
