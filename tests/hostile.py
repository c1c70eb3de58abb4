"""A pipeline written by an attacker: hostile text in every free-text field the manifest schema
allows, in the file and folder names, in a trail (run ids, spans, subjects, rationale,
resources, targets) and in a waivers file; then every renderer's output of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness_audit.audit import AuditRequest, run_audit
from harness_audit.checks import assess_pipeline
from harness_audit.evidence.replay import collect_run, replay
from harness_audit.evidence.trails import TrustRoot
from harness_audit.manifest import load_manifest
from harness_audit.report import GRAPH, REPLAY, SCAN, SLA, VERIFY
from harness_audit.report.base import RenderOptions
from harness_audit.report.sla_view import SlaResult
from harness_audit.sla import analyse, observe
from harness_audit.trail.reader import read_events
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter

from .trailkit import SIGNER

NAME = "hostile"
GPT = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o"}

# the reported attacks, and the pieces of every other one
ATTACKS = (
    "\x1b[2J\x1b[H\x1b[1;32m 100 audit-ready \x1b[0m",  # clear the screen, paint a verdict
    "[link=http://evil]click[/link] [bold]x[/bold] :warning:",  # rich markup and emoji codes
    "a`![x](http://e/x.png)`b",  # close a code span, add a remote image
    "s\r## Heading\r| x | y |",  # carriage returns: break the table, inject a heading
    '%%{init: {"themeCSS": "url(http://e)"}}%%',  # a Mermaid directive
    "c\x01\x08\x0b\x0c\x7f\x85\x9b[31m",  # C0, DEL, C1 (NEL, CSI)
    "\u202ebidi\u2066\u200b\u2028\u2029\ufeff\U000e0041",  # bidi, zero width, separators, tags
    "<img src=x onerror=alert(1)> &#27; &lt; \" ' \\ | # % ; { }",  # markup and entities
    "\ufffe\uffff",  # XML noncharacters
)
BAD_LINE = re.compile(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def safe_name(text: str) -> str:
    """``text`` as one file-name component (no slash or NUL, under 200 bytes)."""
    name = text.replace("/", "_").replace("\x00", "_") or "_"
    while len(name.encode("utf-8", "surrogatepass")) > 200:
        name = name[:-1]
    return name if name not in (".", "..") else "_" + name


@dataclass(frozen=True)
class Scenario:
    """Where the hostile inputs were written."""

    root: Path
    manifest: Path
    trails: Path
    waivers: Path
    key: Path
    run: str


def manifest_dict(h: str) -> dict[str, Any]:
    """Hostile text ``h`` in every free-text field of the schema."""
    model = {"provider": "openai", "family": "gpt-4o", "name": h}
    other = {"provider": "anthropic", "family": "claude", "name": h}  # ids: ASCII by schema
    return {
        "apiVersion": "harness-audit/v1",
        "kind": "Pipeline",
        "metadata": {"name": NAME, "owner": h, "description": h, "data_classes": [h]},
        "slo": {"target": 0.99},
        "budget": {"max_cost_usd_per_run": 1.0, "max_spawn_depth": 1, "enforced_by": "harness"},
        "trail": {
            "enabled": True,
            "integrity": "signed_checkpoints",
            "path": "t" + safe_name(h),
            "public_key": "k.pub",
            "retention_days": 2555,
        },
        "shared_dependencies": [{"name": h, "availability": 0.999, "used_by": ["a", "v"]}],
        "agents": [
            {
                "id": "a",
                "role": h,
                "model": model,
                "stage": {"reliability": 0.99},
                "access": {"enforced_at": "harness", "scopes": [h, "s:read"]},
                "tools": [
                    {
                        "name": h,
                        "effect": "destructive",
                        "scope": h,
                        "target": h,
                        "human_gate": {"required": True, "approvers": [h]},
                    },
                    {"name": "w" + h, "effect": "write", "scope": "x" + h},
                    {"name": "r", "effect": "read", "scope": "s:read"},
                ],
            },
            {
                "id": "v",
                "role": h,
                "model": other,
                "stage": {"reliability": 0.99},
                "verifies": ["a"],
                "access": {"enforced_at": "harness", "scopes": ["s:read"]},
            },
        ],
    }


def trail_events(h: str, run: str) -> list[dict[str, Any]]:
    """One run whose strings are ``h``: spans, subjects, rationale, resources, targets."""
    events: list[dict[str, Any]] = []

    def add(agent: str, kind: str, **f: Any) -> str:
        span = f"{h}.{len(events)}"
        events.append(
            {
                "ts": f"2026-01-01T00:00:{len(events):02d}Z",
                "run": run,
                "span": span,
                "parent": events[0]["span"] if events else None,
                "agent": agent,
                "kind": kind,
                **f,
            }
        )
        return span

    add("harness", "run_start", pipeline=h)
    add(
        "a",
        "model_call",
        model={"provider": h, "family": h, "name": h},
        input_tokens=1,
        output_tokens=1,
        cost_microusd=1000,
    )
    add("a", "data_access", resource=h, scope=h + "!", data_class=h, outcome="allowed")
    add("a", "tool_call", tool=h, effect="destructive", scope=h, outcome="ok", args_digest="a" * 64)
    add("v", "verification", target=h, verdict="pass", model=GPT)
    add("a", "decision", subject=h, outcome=h, rationale=h, evidence=[h])
    add("a", "approval", target=h, approver="human:" + h, verdict="approved", args_digest="b" * 64)
    add(h, "error", message=h)
    add("harness", "run_end", pipeline=h, outcome="ok")
    return events


def build(tmp: Path, h: str) -> Scenario:
    """Write the manifest, its trail and a waivers file, all under a folder named ``h``."""
    root = tmp / safe_name(h)
    root.mkdir(parents=True, exist_ok=True)
    (root / "k.pub").write_text(SIGNER.verifier.text() + "\n")
    m = manifest_dict(h)
    manifest = root / "harness.yaml"
    manifest.write_text(yaml.safe_dump(m, sort_keys=False, allow_unicode=False))
    run = "r" + h
    trails = root / m["trail"]["path"]
    with TrailWriter(trails, "harness-audit/hostile", SIGNER, checkpoint_every=0) as w:
        for e in trail_events(h, run):
            w.append(e)
    justification = "accepted because " + h
    waivers = root / "waivers.yaml"
    waivers.write_text(
        yaml.safe_dump(
            {
                "waivers": [
                    {
                        "rule": "HA-003",
                        "pipeline": NAME,
                        "agent": "*",
                        "justification": justification,
                        "owner": h,
                        "ticket": h,
                        "expires": "2099-12-31",
                    },
                    {
                        "rule": h,
                        "pipeline": h,
                        "agent": h,
                        "justification": justification,
                        "owner": h,
                        "ticket": h,
                        "expires": "2020-01-01",
                    },
                ]
            },
            allow_unicode=False,
        )
    )
    return Scenario(root, manifest, trails, waivers, root / "k.pub", run)


def scan_outputs(s: Scenario, formats: tuple[str, ...] = SCAN.names) -> dict[str, str]:
    """Every ``scan`` format of the hostile pipeline with its trail and waivers."""
    run = run_audit(
        AuditRequest(
            paths=(s.manifest,),
            trails=s.trails,
            trust=TrustRoot((str(s.key),), "flag"),
            waivers=s.waivers,
        )
    )
    return {f: SCAN.get(f).render(run.assessment, RenderOptions(width=100)) for f in formats}


def graph_outputs(s: Scenario, formats: tuple[str, ...] = GRAPH.names) -> dict[str, str]:
    """Every ``graph`` format (``--highlight risk``) of the hostile pipeline."""
    result = assess_pipeline(load_manifest(s.manifest))
    opts = RenderOptions(highlight_risk=True)
    return {f: GRAPH.get(f).render(result, opts) for f in formats}


def other_outputs(s: Scenario) -> dict[str, str]:
    """The terminal views of ``trail verify``, ``sla`` and ``replay``."""
    from harness_audit.trail.note import Verifier

    pipeline = load_manifest(s.manifest)
    report = verify_trail([s.trails], [Verifier.parse(SIGNER.verifier.text())])
    obs = observe(pipeline, (ev for _, _, ev in read_events([s.trails])))
    sla = SlaResult([analyse(pipeline, "equal", obs)])
    nodes = collect_run([s.trails], s.run)
    rep = replay([s.trails], s.run, pipeline, nodes)
    opts = RenderOptions(width=100)
    return {
        "verify": VERIFY.get("table").render(report, opts),
        "sla": SLA.get("table").render(sla, opts),
        "replay": REPLAY.get("table").render(rep, opts),
    }
