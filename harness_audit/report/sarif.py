"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run; every rule with help and a ``security-severity``; every result with ``ruleId``,
``level``, a message, a location with ``region.startLine``, and ``partialFingerprints`` that
survive unrelated edits (rule + pipeline + agent + subject, never line numbers). A check not
proven by the trails is a result of its check's rule at level ``warning``, its message
"<agent>: not proven: <why>" and ``properties.outcome`` ``not_proven``. Waived findings carry an
external suppression with the justification; baselined ones ``baselineState: unchanged``.

Within GitHub code scanning's documented limits (:data:`LIMITS`, from "SARIF results exceed
one or more limits", docs.github.com): one run; at most :data:`MAX_TAGS` tags per rule (the
framework mappings are rule properties, not tags); one location per result; no thread flows;
at most :data:`MAX_RESULTS` results, the most severe first, the rest counted in the run's
properties and a tool notification (the exit code still judges every finding); messages cut
to :data:`MAX_MESSAGE` characters. No ``automationDetails``: the upload's ``category`` (the
Action's input) names the analysis, so it does not change when a pipeline is added or renamed.
A location is relative to the working directory (``%SRCROOT%``); a file outside it is given
relative to its own folder under a base id declared in ``originalUriBaseIds``
(``OUTSIDE1``, …), never with ``../``.
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
LIMITS = {"runs": 20, "results": 25_000, "rules": 25_000, "tags": 20, "locations": 1_000}
"""GitHub code scanning's hard limits per SARIF file: an upload above any is rejected."""
MAX_TAGS = 10
"""Tags per rule: GitHub keeps only the first 10 (its hard limit is 20)."""
MAX_RESULTS = 5_000
"""Results per run: GitHub stores the top 5,000 by severity (it rejects more than 25,000)."""
MAX_MESSAGE = 2_000
"""Characters of a result's message (the file stays well under the 10 MB upload limit)."""
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


class Locations:
    """Where a finding's file is, as SARIF says it: relative to the working directory
    (``%SRCROOT%``), or, outside it, relative to its own folder under a base id of its own
    (``OUTSIDE1``, …; :meth:`bases` declares them for ``originalUriBaseIds``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outside: dict[str, str] = {}  # folder (absolute) -> base id

    def artifact(self, path: str) -> dict[str, str]:
        """The ``artifactLocation`` of ``path`` (a percent-encoded relative URI reference,
        SARIF 2.1.0 §3.4.3, RFC 3986 §4.2)."""
        p = Path(os.path.abspath(path))
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            base = self.outside.setdefault(str(p.parent), f"OUTSIDE{len(self.outside) + 1}")
            return {"uri": uri(p.name), "uriBaseId": base}
        return {"uri": uri(rel.as_posix()), "uriBaseId": "%SRCROOT%"}

    def bases(self) -> dict[str, dict[str, str]]:
        """``originalUriBaseIds``: the working directory and every outside folder, as file
        URIs ending in ``/``."""
        out = {"%SRCROOT%": {"uri": self.root.as_uri() + "/"}}
        for folder, base in self.outside.items():
            out[base] = {"uri": Path(folder).as_uri().rstrip("/") + "/"}
        return out


def _message(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def result(f: Finding, index: dict[str, int], where: Locations) -> dict[str, Any]:
    """One finding as a SARIF result: level, location, fingerprint and properties, and its
    suppression or baseline state."""
    r: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        # not proven: a warning (no exception was seen; the pass was not shown), never a note
        "level": "warning" if f.not_proven else LEVEL[f.severity],
        "message": {"text": _message(f.message)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": where.artifact(f.file),
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
        tags = ["security", "compliance", "ai-agents", f"problem-{r.problem}"]
        driver_rules.append(
            {
                "id": r.id,
                "name": (r.check or r.title).replace(" ", ""),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.title + (f" (check {r.check})" if r.check else "")},
                "help": {"text": r.remediation, "markdown": f"**{r.title}**\n\n{r.remediation}"},
                "defaultConfiguration": {"level": LEVEL[r.severity]},
                "properties": {
                    "tags": tags[:MAX_TAGS],
                    "security-severity": SECURITY_SEVERITY[r.severity],
                    "precision": "high",
                    "frameworks": {
                        fw: list(r.mappings[fw]) for fw in FRAMEWORK_ORDER if r.mappings.get(fw)
                    },
                },
            }
        )
    findings = [f for p in a.pipelines for f in p.findings]
    ranked = sorted(range(len(findings)), key=lambda i: SEVERITY_RANK[findings[i].severity])
    kept = sorted(ranked[:MAX_RESULTS])  # the most severe, in their own order
    where = Locations(Path.cwd())
    results = [result(findings[i], index, where) for i in kept]
    omitted = len(findings) - len(kept)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "harness-audit",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": "https://pypi.org/project/harness-audit/",
                "rules": driver_rules,
            }
        },
        # the trust root of each pipeline's trails (CLI.md): key, pinned, unanchored
        "properties": {
            "basis": {p.pipeline.name: p.basis for p in a.pipelines},
            "trails": {
                p.pipeline.name: p.evidence.trust.as_dict()
                for p in a.pipelines
                if p.evidence is not None and p.evidence.trust is not None
            },
            "results": {"total": len(findings), "included": len(kept), "omitted": omitted},
        },
        "originalUriBaseIds": where.bases(),
        "columnKind": "utf16CodeUnits",
        "results": results,
    }
    if omitted:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "warning",
                        "message": {
                            "text": f"{omitted:,} of {len(findings):,} results left out (code "
                            f"scanning keeps {MAX_RESULTS:,}), the least severe first; "
                            "`--format json` has every one"
                        },
                    }
                ],
            }
        ]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


class SarifRenderer(Renderer[Assessment]):
    """SARIF 2.1.0, for GitHub code scanning."""

    name = "sarif"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented SARIF JSON."""
        return json_text(sarif_dict(assessment))
