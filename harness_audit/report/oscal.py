"""OSCAL 1.1.3 assessment-results, for GRC tools.

One result per pipeline; an observation per finding (with the file, line and seq that prove
it) and one per check of each agent (the clean ones too), each naming in ``criterion`` props the
criteria it bears on. No criterion is graded: OSCAL's findings carry a ``satisfied`` or
``not-satisfied`` state, which is the assessor's conclusion, not a tool's, so none is written.
Trust Services criteria outside the manifest's categories (``compliance.tsc``, default Security)
are not named. A check the trails do not prove carries the check-result ``not_proven`` (and
its findings the ``outcome`` prop ``not-proven``); observations of a design review (no trails)
have the method ``EXAMINE``, of operating evidence ``TEST``. The document carries, as base64
back-matter resources, a small catalogue of the criteria the rules use (SOC 2 has no official
machine-readable catalogue; identifiers are facts, the titles our own words) and the
assessment-plan stub it imports. UUIDs are version 5, derived from the content, so the same
inputs give the same document.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from harness_audit import __version__
from harness_audit.checks.assessment import Assessment
from harness_audit.checks.catalogue import FRAMEWORK_ORDER, RuleBook
from harness_audit.compliance import TscScope, tsc_scope
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import json_text

OSCAL_VERSION = "1.1.3"
NS = uuid.UUID("6b1c1f2e-6f63-5a2a-9d8e-6861726e6573")  # harness-audit's namespace


def uid(*parts: str) -> str:
    """A version 5 UUID in harness-audit's namespace: the same parts give the same UUID."""
    return str(uuid.uuid5(NS, "\x1f".join(parts)))


def control_token(framework: str, control: str) -> str:
    """An OSCAL token for a control: letters, digits, '.', '-', '_' only."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", control).strip("-").lower()
    return f"{framework.replace('_', '-')}-{slug}"


def _now() -> str:
    from harness_audit.report.pack import generated_at

    return generated_at().strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(title: str, when: str) -> dict[str, Any]:
    return {
        "title": title,
        "last-modified": when,
        "version": __version__,
        "oscal-version": OSCAL_VERSION,
    }


def catalog(rules: RuleBook, when: str) -> dict[str, Any]:
    """The criteria catalogue: per framework, the controls some rule maps to, with their titles."""
    groups = []
    for fw_id in FRAMEWORK_ORDER:
        fw = rules.frameworks[fw_id]
        used = {c for r in rules.rules.values() for c in r.mappings.get(fw_id, ())}
        controls = [
            {"id": control_token(fw_id, c), "title": f"{c}: {fw.controls[c]}"}
            for c in fw.controls
            if c in used
        ]
        groups.append(
            {
                "id": fw_id.replace("_", "-"),
                "title": f"{fw.name} ({fw.version})",
                "controls": controls,
            }
        )
    return {
        "catalog": {
            "uuid": uid("catalog", __version__),
            "metadata": _metadata("harness-audit criteria catalogue", when),
            "groups": groups,
        }
    }


def plan(catalog_ref: str, when: str) -> dict[str, Any]:
    """The assessment-plan stub the results import; it points at the catalogue, as no system
    security plan is assessed."""
    return {
        "assessment-plan": {
            "uuid": uid("plan", __version__),
            "metadata": _metadata("harness-audit automated assessment plan", when),
            "import-ssp": {
                "href": catalog_ref,
                "remarks": "No system security plan is assessed: the pipeline manifests "
                "and trails stand in for it.",
            },
            "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        }
    }


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value, "ns": "https://harness-audit.dev/ns/oscal"}


def _resource(key: str, title: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(data, sort_keys=True).encode()
    return {
        "uuid": uid("resource", key),
        "title": title,
        "base64": {
            "filename": name,
            "media-type": "application/json",
            "value": base64.b64encode(raw).decode(),
        },
    }


def oscal_dict(a: Assessment) -> dict[str, Any]:
    """The assessment-results document: a result per pipeline (observations and a finding per
    control), with the plan and catalogue as back-matter."""
    when = _now()
    cat = catalog(a.rules, when)
    cat_res = _resource("catalog", "Criteria catalogue", "catalog.json", cat)
    plan_res = _resource(
        "plan", "Assessment plan", "assessment-plan.json", plan(f"#{cat_res['uuid']}", when)
    )
    results = []
    for p in a.pipelines:
        name = p.pipeline.name
        scope = tsc_scope(p.pipeline)

        def criteria_of(rule_id: str, scope: TscScope = scope) -> list[str]:
            rule = a.rules.rules[rule_id]
            return [
                control_token(fw, c)
                for fw in FRAMEWORK_ORDER
                for c in rule.mappings.get(fw, ())
                if fw != "soc2" or scope.covers(c)
            ]

        observations = []
        # OSCAL methods: a design review examines the manifest; trails test the operation
        method = "EXAMINE" if p.evidence is None else "TEST"
        for f in p.findings:
            obs_id = uid("observation", f.fingerprint)
            where = f"{f.file}:{f.line}" + (f" seq {f.seq}" if f.seq is not None else "")
            state = "waived" if f.waived else "baselined" if f.baselined else "open"
            observations.append(
                {
                    "uuid": obs_id,
                    "title": f"{f.rule}: {a.rules.rules[f.rule].title}",
                    "description": f.message,
                    "props": [
                        _prop("severity", f.severity),
                        _prop("state", state),
                        _prop(
                            "outcome",
                            "not-proven" if f.not_proven else ("fail" if f.check else "finding"),
                        ),
                        *(_prop("criterion", c) for c in criteria_of(f.rule)),
                    ],
                    "methods": [method],
                    "types": ["finding"],
                    "collected": when,
                    "relevant-evidence": [{"description": where}],
                    **({"remarks": f"Waived: {f.waived}"} if f.waived else {}),
                }
            )
        for agent in p.agents:  # every control tested, the clean ones too
            for check, r in agent.checks.items():
                rule_id = a.rules.for_check(check).id
                observations.append(
                    {
                        "uuid": uid("control", name, agent.id, check),
                        "title": f"{agent.id}: {check}",
                        "description": f"{r.status}: {r.reason}" if r.reason else r.status,
                        "props": [
                            _prop("check-result", r.status),
                            _prop("rule", rule_id),
                            *(_prop("criterion", c) for c in criteria_of(rule_id)),
                        ],
                        "methods": [method],
                        "types": ["control-objective"],
                        "collected": when,
                        "relevant-evidence": [
                            {"description": f"{p.pipeline.file} (agent {agent.id})"}
                        ],
                    }
                )
        reviewed = sorted(
            {c for r in a.rules.rules.values() for c in criteria_of(r.id) if r.mappings}
        )
        result: dict[str, Any] = {
            "uuid": uid("result", name),
            "title": f"harness-audit scan of {name}",
            "description": (
                f"Gap score {p.score} ({p.band}) over {len(p.agents)} agents. The observations "
                "are the checks of each agent and the findings, each naming the criteria it "
                "bears on; no criterion is graded (a tool cannot pass one): the assessor "
                f"concludes. Trust Services categories in scope: {scope.text}. "
                f"Basis: {p.basis}."
            ),
            "start": when,
            "reviewed-controls": {
                "control-selections": [{"include-controls": [{"control-id": t} for t in reviewed]}]
            },
            "observations": observations,
        }
        results.append(result)
    return {
        "assessment-results": {
            "uuid": uid("results", *sorted(p.pipeline.name for p in a.pipelines), when),
            "metadata": _metadata("harness-audit assessment results", when),
            "import-ap": {"href": f"#{plan_res['uuid']}"},
            "results": results,
            "back-matter": {"resources": [plan_res, cat_res]},
        }
    }


class OscalRenderer(Renderer[Assessment]):
    """OSCAL assessment-results, for GRC tools."""

    name = "oscal"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented OSCAL JSON."""
        return json_text(oscal_dict(assessment))
