"""Each row of EVIDENCE.md, judged on trails: operated (pass) and not (fail, at the right seq)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.checks import assess_pipeline
from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.evidence import judge
from harness_audit.evidence.trails import judge_trails
from harness_audit.manifest import load_manifest
from harness_audit.trail.writer import TrailWriter
from harness_audit.trust import TrustRoot

from .conftest import SAMPLES
from .trailkit import OTHER, SIGNER

GPT = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o"}
CLAUDE = {"provider": "anthropic", "family": "claude", "name": "claude-sonnet-4"}


def manifest_dict() -> dict[str, Any]:
    return {
        "apiVersion": "harness-audit/v1",
        "kind": "Pipeline",
        "metadata": {"name": "ev"},
        "slo": {"target": 0.9},
        "budget": {"max_cost_usd_per_run": 0.01, "max_spawn_depth": 1, "enforced_by": "harness"},
        "trail": {
            "enabled": True,
            "integrity": "signed_checkpoints",
            "public_key": "k.pub",
            "retention_days": 2555,
        },
        "agents": [
            {
                "id": "a",
                "model": GPT,
                "stage": {"reliability": 0.99},
                "access": {"enforced_at": "harness", "scopes": ["s:read", "db:write"]},
                "budget": {"max_cost_usd_per_run": 0.005, "enforced_by": "harness"},
                "spawns": ["b"],
                "tools": [
                    {"name": "read", "effect": "read", "scope": "s:read"},
                    {
                        "name": "pay",
                        "effect": "destructive",
                        "scope": "db:write",
                        "verified_by": ["v"],
                        "human_gate": {"required": True, "approvers": ["cfo"]},
                    },
                ],
            },
            {
                "id": "b",
                "model": GPT,
                "stage": {"reliability": 0.99},
                "access": {"enforced_at": "harness", "scopes": ["s:read"]},
            },
            {
                "id": "v",
                "model": CLAUDE,
                "stage": {"reliability": 0.99},
                "verifies": ["a"],
                "access": {"enforced_at": "harness", "scopes": ["s:read"]},
            },
        ],
    }


class Trail:
    """Builds runs event by event; spans are r<run>.<n>, so tests can name targets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.n: dict[str, int] = {}

    def add(self, run: str, agent: str, kind: str, parent: str | None = "", **f: Any) -> str:
        self.n[run] = self.n.get(run, 0) + 1
        span = f"{run}.{self.n[run]}"
        if parent == "":
            parent = f"{run}.1" if self.n[run] > 1 else None
        self.events.append(
            {
                "ts": f"2026-01-01T00:00:{len(self.events) % 60:02d}Z",
                "run": run,
                "span": span,
                "parent": parent,
                "agent": agent,
                "kind": kind,
                **f,
            }
        )
        return span

    def next_span(self, run: str, ahead: int = 1) -> str:
        return f"{run}.{self.n.get(run, 0) + ahead}"

    def clean_run(self, run: str) -> None:
        self.add(run, "harness", "run_start", None, pipeline="ev")
        for agent, model in (("a", GPT), ("b", GPT), ("v", CLAUDE)):
            self.add(
                run,
                agent,
                "model_call",
                model=model,
                input_tokens=1,
                output_tokens=1,
                cost_microusd=1000,
            )
        self.add(
            run,
            "a",
            "data_access",
            resource="r1",
            scope="s:read",
            data_class="pii",
            outcome="allowed",
        )
        call = self.next_span(run, 4)
        self.add(
            run,
            "v",
            "verification",
            target=call,
            verdict="pass",
            model=CLAUDE,
            args_digest="a" * 64,
        )  # bound to the exact call it verifies
        req = self.add(
            run, "a", "approval_request", target=call, approver="human:cfo", args_digest="a" * 64
        )
        self.add(
            run,
            "human:cfo",
            "approval",
            req,
            target=call,
            approver="human:cfo",
            verdict="approved",
            args_digest="a" * 64,
        )
        self.add(
            run,
            "a",
            "tool_call",
            tool="pay",
            effect="destructive",
            scope="db:write",
            outcome="ok",
            args_digest="a" * 64,
        )
        self.add(run, "harness", "run_end", pipeline="ev", outcome="ok")

    def write(self, folder: Path) -> Path:
        # signed as its writer would have, a second after its last event (issue 22)
        last = max(
            (dt.datetime.fromisoformat(e["ts"]) for e in self.events if "ts" in e),
            default=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        signed = last + dt.timedelta(seconds=1)
        with TrailWriter(
            folder, "harness-audit/ev", SIGNER, checkpoint_every=0, clock=lambda: signed
        ) as w:
            for e in self.events:
                w.append(e)
        return folder


@pytest.fixture
def setup(tmp_path: Path, write_manifest):  # type: ignore[no-untyped-def]
    (tmp_path / "k.pub").write_text(SIGNER.verifier.text() + "\n")

    def run(trail: Trail, change: Any = None) -> Any:
        m = manifest_dict()
        if change:
            change(m)
        path = write_manifest(m, "harness.yaml")
        p = load_manifest(path)
        folder = trail.write(tmp_path / "trails")
        return p, judge_trails(p, [folder])

    return run


def control(e: Any, agent: str, check: str) -> Any:
    return e.controls.get((agent, check))


def seq_of(e: Any, span: str) -> int:
    for c in e.controls.values():
        for loc in c.failures:
            if loc.span == span:
                return loc.seq
    raise AssertionError(span)


def test_clean_trail_passes_every_check(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 22: a clean trail proves every check only with the key pinned; the manifest's
    own key leaves every declared pass not proven (it was a pass before)."""
    t = Trail()
    for r in range(3):
        t.clean_run(f"r{r}")
    p, e = setup(t)
    assert e.verify.status == "verified" and e.runs == 3
    assert not [k for k, c in e.controls.items() if c.failed]
    unpinned = assess_pipeline(p, evidence=e)
    gate = unpinned.agents[0].checks["human_gate_for_destructive_ops"]
    assert gate.status == "not_proven" and "not pinned" in gate.reason
    assert unpinned.band != "audit-ready"
    e = judge_trails(p, [tmp_path / "trails"], trust=TrustRoot((str(tmp_path / "k.pub"),), "flag"))
    result = assess_pipeline(p, evidence=e)
    a = result.agents[0]
    assert {c: r.status for c, r in a.checks.items()} == dict.fromkeys(a.checks, "pass")
    reason = a.checks["human_gate_for_destructive_ops"].reason
    assert "observed: operated 3 times, no failure, on a trail anchored by the pinned key" in reason
    assert "harness-audit/test+" in reason and "(the trails' own span)" in reason
    assert result.agents[0].score == 0
    # b and v have no event of their own for access: not proven, and they count in the score
    b = result.agents[1].checks["access_enforced_at_harness"]
    assert b.status == "not_proven" and "no event of the agent in its population" in b.reason
    assert result.score > 0 and result.band == "at-risk"
    nps = [f for f in result.findings if f.not_proven]
    assert nps and all(f.message.split(": ", 1)[1].startswith("not proven: ") for f in nps)


def test_no_trails_is_a_design_review_and_stays_as_declared(setup) -> None:  # type: ignore[no-untyped-def]
    """Without trails the declaration stands, and the result says it is a design review."""
    p, _ = setup(Trail())
    result = assess_pipeline(p)
    assert result.score == 0 and result.band == "audit-ready"
    assert result.basis.startswith("design review: what the manifest declares")
    assert not any(f.not_proven for f in result.findings)


def test_unknown_cost_leaves_the_budget_not_proven(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A model call with no cost stated (unknown, not $0) proves no cap."""
    t = Trail()
    t.clean_run("r0")
    t.add("r1", "harness", "run_start", None, pipeline="ev")
    t.add("r1", "a", "model_call", model=GPT, input_tokens=0, output_tokens=0, cost_microusd=0)
    t.add("r1", "harness", "run_end", pipeline="ev", outcome="ok")
    p, _ = setup(t)
    e = judge_trails(p, [tmp_path / "trails"], trust=TrustRoot((str(tmp_path / "k.pub"),), "flag"))
    r = assess_pipeline(p, evidence=e).agents[0].checks["budget_cap_enforced"]
    assert r.status == "not_proven" and "1 model call(s) record no cost" in r.reason


def test_estimated_cost_leaves_the_budget_not_proven(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 25, item 3: a cost an import estimated (``x_cost_estimated``, a price table) is
    no amount the source stated: the cap is not proven on it, and it says so."""
    t = Trail()
    t.clean_run("r0")
    t.add("r1", "harness", "run_start", None, pipeline="ev")
    t.add(
        "r1",
        "a",
        "model_call",
        model=GPT,
        input_tokens=10,
        output_tokens=5,
        cost_microusd=700,
        x_cost_estimated=True,
        x_cost_source="rules/prices.yaml",
    )
    t.add("r1", "harness", "run_end", pipeline="ev", outcome="ok")
    p, _ = setup(t)
    e = judge_trails(p, [tmp_path / "trails"], trust=TrustRoot((str(tmp_path / "k.pub"),), "flag"))
    r = assess_pipeline(p, evidence=e).agents[0].checks["budget_cap_enforced"]
    assert r.status == "not_proven" and "cost is an estimate" in r.reason


def test_cost_marked_unknown_leaves_the_budget_not_proven(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The import's marker is read, whatever placeholder amount the event carries."""
    t = Trail()
    t.clean_run("r0")
    t.add("r1", "harness", "run_start", None, pipeline="ev")
    t.add(
        "r1",
        "a",
        "model_call",
        model=GPT,
        input_tokens=1,
        output_tokens=1,
        cost_microusd=3,
        x_cost="unknown",
    )
    t.add("r1", "harness", "run_end", pipeline="ev", outcome="ok")
    p, _ = setup(t)
    e = judge_trails(p, [tmp_path / "trails"], trust=TrustRoot((str(tmp_path / "k.pub"),), "flag"))
    r = assess_pipeline(p, evidence=e).agents[0].checks["budget_cap_enforced"]
    assert r.status == "not_proven" and "1 model call(s) record no cost" in r.reason


def test_unanchored_trail_proves_no_pass(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.clean_run("r0")
    p, _ = setup(t)
    other = tmp_path / "other.pub"
    other.write_text(OTHER.verifier.text() + "\n")  # pinned, but it signed no checkpoint
    e = judge_trails(p, [tmp_path / "trails"], trust=TrustRoot((str(other),), "flag"))
    assert e.verify.status != "verified"
    statuses = {r.status for a in assess_pipeline(p, evidence=e).agents for r in a.checks.values()}
    assert "pass" not in statuses


def test_a_coverage_gap_leaves_a_pass_not_proven(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from harness_audit.evidence.period import parse_period

    t = Trail()
    t.clean_run("r0")
    p, _ = setup(t)
    trust = TrustRoot((str(tmp_path / "k.pub"),), "flag")
    e = judge_trails(
        p, [tmp_path / "trails"], trust=trust, period=parse_period("2026-01-01..2026-01-31")
    )
    r = assess_pipeline(p, evidence=e).agents[0].checks["human_gate_for_destructive_ops"]
    assert r.status == "not_proven" and "coverage gap(s) in the period" in r.reason


def test_silent_agent_and_undeclared_agent(setup) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add("r", "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=1)
    t.add("r", "ghost", "error", message="who am I")
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    _, e = setup(t)
    assert "silent agent" in control(e, "b", "has_audit_trail").reason
    assert control(e, "a", "has_audit_trail").failed == 0
    assert any(o.rule == "HA-001" and o.where.seq == 2 for o in e.observations)


def test_trail_that_does_not_verify(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.clean_run("r")
    p, _ = setup(t)
    seg = next((tmp_path / "trails").glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes().replace(b'"resource":"r1"', b'"resource":"r2"'))
    e = judge_trails(p, [tmp_path / "trails"])
    assert "modified_event" in control(e, "a", "trail_is_immutable").reason


def test_unanchored_trail_fails_when_signed_checkpoints_are_declared(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.clean_run("r")
    p, _ = setup(t)
    (tmp_path / "trails" / "trail.checkpoint").unlink()
    for kept in (tmp_path / "trails" / "checkpoints").glob("*"):  # the writer's history
        kept.unlink()
    e = judge_trails(p, [tmp_path / "trails"])
    assert "no checkpoint signed" in control(e, "a", "trail_is_immutable").reason


def test_access_outside_scope_and_denied_attempts(setup) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add(
        "r", "b", "data_access", resource="x", scope="s:read", data_class="pii", outcome="allowed"
    )
    t.add(
        "r", "b", "data_access", resource="y", scope="db:write", data_class="pii", outcome="denied"
    )
    bad = t.add(
        "r",
        "b",
        "data_access",
        resource="z",
        scope="secrets:read",
        data_class="pii",
        outcome="allowed",
    )
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    _, e = setup(t)
    c = control(e, "b", "access_enforced_at_harness")
    assert (c.operated, c.failed, c.denied) == (3, 1, 1) and seq_of(e, bad) == 3


def test_guardrail_bypass(setup) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add(
        "r",
        "a",
        "data_access",
        resource="vault",
        scope="db:write",
        data_class="secret",
        outcome="denied",
    )
    t.add(
        "r",
        "a",
        "data_access",
        resource="vault",
        scope="s:read",
        data_class="secret",
        outcome="allowed",
    )
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    _, e = setup(t)
    [o] = [o for o in e.observations if o.rule == "HA-202"]
    assert o.where.seq == 2


def test_budget_caps_and_spawn_depth(setup) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    over = t.add(
        "r", "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=6000
    )
    t.add("r", "b", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=9000)
    deep = t.add("r", "a", "spawn", child="b", depth=2)
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    _, e = setup(t)
    a = control(e, "a", "budget_cap_enforced")
    # the cap failure points at the call whose cost crossed it, not at run_end (issue 12)
    assert a.failed == 2 and {x.span for x in a.failures} == {deep, over}
    assert "above its cap" in " ".join([a.reason or ""]) or "deeper" in (a.reason or "")
    assert "pipeline cap" in control(e, "b", "budget_cap_enforced").reason


def verify_case(
    setup,
    verifier: str,
    model: dict[str, str] | str,
    after: bool = False,  # type: ignore[no-untyped-def]
) -> Any:
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add("r", "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=1)
    if not isinstance(model, str):  # a model verifier works before its verdict (issue 12.13)
        t.add(
            "r",
            verifier,
            "model_call",
            model=model,
            input_tokens=1,
            output_tokens=1,
            cost_microusd=1,
        )
    call = t.next_span("r", 1 if after else 3)
    if not after:
        t.add("r", verifier, "verification", target=call, verdict="pass", model=model)
        req = t.add("r", "a", "approval_request", target=call, approver="human:cfo")
    t.add("r", "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    if after:
        t.add("r", verifier, "verification", target=call, verdict="pass", model=model)
    else:
        _ = req
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    return setup(t)[1]


def test_verification_by_an_independent_model_passes(setup) -> None:  # type: ignore[no-untyped-def]
    assert control(verify_case(setup, "v", CLAUDE), "a", "independent_verification").failed == 0


def test_verification_by_a_human_passes(setup) -> None:  # type: ignore[no-untyped-def]
    e = verify_case(setup, "human:qa", "human:qa")
    assert control(e, "a", "independent_verification").failed == 0


def test_same_family_verification_fails(setup) -> None:  # type: ignore[no-untyped-def]
    e = verify_case(setup, "b", GPT)
    assert "not independent" in control(e, "a", "independent_verification").reason


def test_verification_after_the_write_fails(setup) -> None:  # type: ignore[no-untyped-def]
    e = verify_case(setup, "v", CLAUDE, after=True)
    c = control(e, "a", "independent_verification")
    assert c.failed == 1 and c.failures[0].seq == 3


def gate_case(setup, approver: str, digest: str | None, call_digest: str | None) -> Any:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    call = t.next_span("r", 3)
    t.add("r", "v", "verification", target=call, verdict="pass", model=CLAUDE)
    extra = {"args_digest": digest} if digest else {}
    t.add("r", approver, "approval", target=call, approver=approver, verdict="approved", **extra)
    extra = {"args_digest": call_digest} if call_digest else {}
    t.add(
        "r",
        "a",
        "tool_call",
        tool="pay",
        effect="destructive",
        scope="db:write",
        outcome="ok",
        **extra,
    )
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    return control(setup(t)[1], "a", "human_gate_for_destructive_ops")


def test_gate_passes_with_a_matching_human_approval(setup) -> None:  # type: ignore[no-untyped-def]
    assert gate_case(setup, "human:cfo", "c" * 64, "c" * 64).failed == 0


def test_gate_fails_for_self_approval(setup) -> None:  # type: ignore[no-untyped-def]
    assert "not a person" in gate_case(setup, "a", None, None).reason


def test_gate_fails_when_the_approval_was_for_other_arguments(setup) -> None:  # type: ignore[no-untyped-def]
    c = gate_case(setup, "human:cfo", "c" * 64, "d" * 64)
    assert "args_digest differs" in c.reason and c.failures[0].seq == 3


def test_gate_fails_with_no_approval(setup) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    t.add("r", "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    c = control(setup(t)[1], "a", "human_gate_for_destructive_ops")
    assert "no approval" in c.reason and c.failures[0].seq == 1


def test_observed_sla_misses(setup) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    for r in range(40):
        run = f"r{r}"
        t.add(run, "harness", "run_start", None, pipeline="ev")
        t.add(run, "a", "model_call", model=GPT, input_tokens=1, output_tokens=1, cost_microusd=1)
        if r % 2:
            t.add(run, "b", "error", message="timeout")
        t.add(run, "harness", "run_end", pipeline="ev", outcome="error" if r % 2 else "ok")
    _, e = setup(t)
    assert "misses the required" in control(e, "b", "sla_decomposed_per_stage").reason


@pytest.mark.parametrize(("cite", "found"), [(False, True), (True, False)])
def test_state_amnesia_with_and_without_the_evidence_link(setup, cite: bool, found: bool) -> None:  # type: ignore[no-untyped-def]
    t = Trail()
    t.add("r", "harness", "run_start", None, pipeline="ev")
    flag = t.add("r", "a", "decision", subject="loan", outcome="flag_high_risk")
    approve = t.add(
        "r", "b", "decision", subject="loan", outcome="approve", evidence=[flag] if cite else []
    )
    t.add("r", "harness", "run_end", pipeline="ev", outcome="ok")
    _, e = setup(t)
    hits = [o for o in e.observations if o.rule == "HA-201"]
    assert bool(hits) is found
    if found:
        assert hits[0].where.span == approve and hits[0].where.seq == 2


def test_dangling_links_orphan_errors_and_open_runs(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(judge, "MAX_OPEN_RUNS", 2)
    t = Trail()
    for r in range(4):
        t.add(f"open{r}", "harness", "run_start", None, pipeline="ev")
    t.add("x", "a", "error", None, message="boom")
    t.add(
        "x",
        "a",
        "model_call",
        "nowhere",
        model=GPT,
        input_tokens=1,
        output_tokens=1,
        cost_microusd=1,
    )
    _, e = setup(t)
    rules = {o.rule: o for o in e.observations}
    assert rules["HA-204"].where.seq == 4 and rules["HA-203"].where.seq == 5
    assert e.open_runs == 5 and "5 run(s) never ended" in rules["HA-205"].message


def test_sampling_is_reproducible(tmp_path: Path) -> None:
    p = load_manifest(SAMPLES / "support-refunds" / "harness.yaml")
    trails = [SAMPLES / "support-refunds" / "trails"]
    a = judge_trails(p, trails, sample=5, seed=42).populations
    b = judge_trails(p, trails, sample=5, seed=42).populations
    c = judge_trails(p, trails, sample=5, seed=7).populations
    assert a == b and a != c
    assert a["human_gate_for_destructive_ops"].size > 30
    assert len(a["access_enforced_at_harness"].sample) == 5


def test_scan_with_trails_json_and_failure_locations() -> None:
    r = CliRunner().invoke(
        app, ["scan", str(SAMPLES / "loan-assessment"), "-f", "json", "--sample", "2"]
    )
    assert r.exit_code == ExitCode.FINDINGS
    p = json.loads(r.stdout)["pipelines"][0]
    assert p["evidence"]["runs"] == 34 and p["evidence"]["runs_never_ended"] == 1
    assert p["evidence"]["cost_per_run"]["max_usd"] == pytest.approx(0.6)
    amnesia = [f for f in p["findings"] if f["rule"] == "HA-201"]
    assert amnesia and amnesia[0]["seq"] is not None and amnesia[0]["file"].endswith(".jsonl")
    check = p["agents"][0]["checks"]["access_enforced_at_harness"]
    assert check["reason"].startswith("declared:") and "observed:" in check["reason"]
    assert check["evidence"]["failures"][0]["seq"] == 522
    no = CliRunner().invoke(
        app, ["scan", str(SAMPLES / "loan-assessment"), "-f", "json", "--no-trails"]
    )
    assert "evidence" not in json.loads(no.stdout)["pipelines"][0]


def test_replay_nested_spawns() -> None:
    r = CliRunner().invoke(
        app,
        [
            "replay",
            str(SAMPLES / "research-crew" / "trails"),
            "--run",
            "market-research-deep-spawn",
            "-f",
            "json",
            "--allow-unanchored",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)

    def depth(node: dict[str, Any]) -> int:
        return 1 + max((depth(c) for c in node["children"]), default=0)

    assert data["events"] == 10 and max(depth(n) for n in data["tree"]) >= 6
    assert {f.get("rule") or f.get("check") for f in data["findings"]} >= {
        "budget_cap_enforced",
        "HA-001",
        "HA-206",
    }


def test_replay_export_round_trip_and_tampering(tmp_path: Path) -> None:
    out = tmp_path / "disclosure"
    trail = SAMPLES / "support-refunds" / "trails"
    key = str(SAMPLES / "support-refunds" / "keys" / "trail.pub")
    r = CliRunner().invoke(
        app,
        ["replay", str(trail), "--run", "support-refunds-0003", "--export", str(out), "--key", key],
    )
    assert r.exit_code == 0, r.output
    ok = CliRunner().invoke(app, ["trail", "verify-proof", str(out / "proofs.json"), "--key", key])
    assert ok.exit_code == 0 and ok.stdout.count("OK:") == 1 + len(
        (out / "support-refunds-0003.jsonl").read_text().splitlines()
    )
    proofs = json.loads((out / "proofs.json").read_text())
    before = proofs[2]["event"]
    proofs[2]["event"] = before.replace('"agent":"', '"agent":"x', 1)
    assert proofs[2]["event"] != before
    (out / "proofs.json").write_text(json.dumps(proofs))
    bad = CliRunner().invoke(app, ["trail", "verify-proof", str(out / "proofs.json"), "--key", key])
    assert bad.exit_code == ExitCode.FINDINGS and "FAILED" in bad.stdout


def test_replay_verified_finds_the_manifest_and_exports_only_a_verified_run(
    tmp_path: Path,
) -> None:
    from harness_audit.evidence.replay import export_verified, replay_verified
    from harness_audit.trust import TrustRoot

    trail = [SAMPLES / "support-refunds" / "trails"]
    key = str(SAMPLES / "support-refunds" / "keys" / "trail.pub")
    r = replay_verified(trail, "support-refunds-0003", TrustRoot((key,)))
    assert r.integrity.ok and r.judged and r.pipeline == "support-refunds"
    unanchored = replay_verified(trail, "support-refunds-0003", TrustRoot())
    assert not unanchored.integrity.ok
    assert export_verified(trail, unanchored, tmp_path / "no", None) is None
    assert not (tmp_path / "no").exists()
    assert export_verified(trail, r, tmp_path / "yes", None) == len(r.nodes)


@pytest.mark.parametrize("given", ["folder", "proofs.json", "events file"])
def test_an_edited_export_fails_verify_proof(tmp_path: Path, given: str) -> None:
    """Editing the events file the auditor reads fails, even with every proof intact."""
    out = tmp_path / "disclosure"
    trail = SAMPLES / "loan-assessment-hardened" / "trails"
    key = str(SAMPLES / "loan-assessment-hardened" / "keys" / "trail.pub")
    r = CliRunner().invoke(
        app,
        [
            "replay",
            str(trail),
            "--run",
            "loan-assessment-hardened-0002",
            "--export",
            str(out),
            "--key",
            key,
        ],
    )
    assert r.exit_code == 0, r.output
    [events] = out.glob("*.jsonl")
    target = {"folder": out, "proofs.json": out / "proofs.json", "events file": events}[given]
    assert (
        CliRunner().invoke(app, ["trail", "verify-proof", str(target), "--key", key]).exit_code == 0
    )
    text = events.read_text()
    assert '"outcome":"approve"' in text
    events.write_text(text.replace('"outcome":"approve"', '"outcome":"reject"', 1))
    bad = CliRunner().invoke(app, ["trail", "verify-proof", str(target), "--key", key])
    assert bad.exit_code == ExitCode.FINDINGS and "not proven" in bad.stdout
    events.write_text("\n".join(text.splitlines()[1:]) + "\n")  # an event removed
    gone = CliRunner().invoke(app, ["trail", "verify-proof", str(target), "--key", key])
    assert gone.exit_code == ExitCode.FINDINGS and "not in" in gone.stdout


def test_replay_verifies_the_trail_it_reads(tmp_path: Path) -> None:
    """An edited trail is not presented as fact: integrity failed, exit 1, nothing exported."""
    trail = tmp_path / "trails"
    shutil.copytree(SAMPLES / "loan-assessment-hardened" / "trails", trail)
    key = str(SAMPLES / "loan-assessment-hardened" / "keys" / "trail.pub")
    run = "loan-assessment-hardened-0002"
    args = [
        "replay",
        str(trail),
        "--run",
        run,
        "--key",
        key,
        "--manifest",
        str(SAMPLES / "loan-assessment-hardened" / "harness.yaml"),
    ]
    ok = CliRunner().invoke(app, [*args, "-f", "json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["integrity"]["status"] == "verified"
    [seg] = trail.glob("*.jsonl")
    text = seg.read_text()
    seg.write_text(text.replace('"outcome":"approve"', '"outcome":"reject"', 1))
    bad = CliRunner().invoke(app, [*args, "-f", "json", "--export", str(tmp_path / "x")])
    assert bad.exit_code == ExitCode.FINDINGS
    assert json.loads(bad.stdout)["integrity"]["status"] == "failed"
    assert not (tmp_path / "x").exists() and "not exported" in bad.stderr


def test_replay_without_a_manifest_says_findings_were_not_judged(tmp_path: Path) -> None:
    trail = tmp_path / "t"
    shutil.copytree(SAMPLES / "support-refunds" / "trails", trail)
    r = CliRunner().invoke(
        app,
        [
            "replay",
            str(trail),
            "--run",
            "support-refunds-0003",
            "-f",
            "json",
            "--key",
            str(SAMPLES / "support-refunds" / "keys" / "trail.pub"),
        ],
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["findings_judged"] is False


def test_replay_of_an_unknown_run_exits_2() -> None:
    r = CliRunner().invoke(
        app, ["replay", str(SAMPLES / "support-refunds" / "trails"), "--run", "nope"]
    )
    assert r.exit_code == ExitCode.USAGE and "no events of run" in r.stderr


# --- issue 22, item 2: provenance on the evidence side ---------------------------------------


def _late_setup(tmp_path: Path, write_manifest: Any, signed: dt.datetime) -> tuple[Any, Any]:
    (tmp_path / "k.pub").write_text(SIGNER.verifier.text() + "\n")
    p = load_manifest(write_manifest(manifest_dict(), "harness.yaml"))
    t = Trail()
    for r in range(2):
        t.clean_run(f"r{r}")
    folder = tmp_path / "trails"
    with TrailWriter(folder, "harness-audit/ev", SIGNER, clock=lambda: signed) as w:
        for ev in t.events:
            w.append(ev)
    return p, folder


def test_a_backfill_signed_long_after_its_events_does_not_pass_immutability(
    tmp_path: Path, write_manifest: Any
) -> None:
    p, folder = _late_setup(tmp_path, write_manifest, dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    e = judge_trails(p, [folder])
    t = e.trust
    assert t.status == "verified" and t.signed_at == "2026-12-07T00:00:00Z"
    assert t.sealed_after_s is not None and t.sealed_after_s > 300 * 86400
    assert not t.imported and t.sealed_after_the_fact
    c = control(e, "a", "trail_is_immutable")
    want = (
        "sealed on 2026-12-07 by its writer, 339 days after its last event; the source format "
        "proves nothing before that"
    )
    assert not c.failed  # not an exception seen in the trail: not proven (issue 22)
    r = assess_pipeline(p, evidence=e).agents[0].checks["trail_is_immutable"]
    assert r.status == "not_proven" and want in r.reason
    assert want in t.describe() and t.as_dict()["sealed_after_the_fact"] is True
    # the same trail under a setting of a year: captured
    e = judge_trails(p, [folder], sealed_late_after_s=400 * 86400)
    assert not e.trust.sealed_after_the_fact
    r = assess_pipeline(p, evidence=e).agents[0].checks["trail_is_immutable"]
    assert "sealed on" not in r.reason


def test_a_trail_imported_today_does_not_prove_immutability(
    tmp_path: Path, write_manifest: Any
) -> None:
    from harness_audit.trail.provenance import import_line
    from harness_audit.trail.sealer import seal_events
    from harness_audit.trail.source import RawEvent

    (tmp_path / "k.pub").write_text(SIGNER.verifier.text() + "\n")
    p = load_manifest(write_manifest(manifest_dict(), "harness.yaml"))
    t = Trail()
    t.clean_run("r0")
    folder = tmp_path / "trails"
    seal_events(
        (RawEvent("src.json", n, ev) for n, ev in enumerate(t.events, 1)),
        folder,
        "harness-audit/ev",
        SIGNER,
        extensions=lambda: [import_line(["ab" * 32])],
    )
    e = judge_trails(p, [folder])
    assert e.trust.imported and e.trust.sealed_after_the_fact
    assert not control(e, "a", "trail_is_immutable").failed
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"sealed on {today} by `trail import`" in e.trust.describe()
    result = assess_pipeline(p, evidence=e)
    checked = result.agents[0].checks
    assert checked["trail_is_immutable"].status == "not_proven"
    reason = checked["trail_is_immutable"].reason
    assert f"sealed on {today} by `trail import`" in reason
    assert "the source format proves nothing before that" in reason


def test_signed_checkpoint_times_close_coverage_gaps(tmp_path: Path, write_manifest: Any) -> None:
    """A quiet pipeline whose writer kept signing is covered (history checkpoints too)."""
    (tmp_path / "k.pub").write_text(SIGNER.verifier.text() + "\n")
    p = load_manifest(write_manifest(manifest_dict(), "harness.yaml"))
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    now = [day]

    def write(folder: Path, resign: bool) -> Path:
        with TrailWriter(folder, "harness-audit/ev", SIGNER, clock=lambda: now[0]) as w:
            t = Trail()
            t.clean_run("r0")
            for ev in t.events:
                w.append(ev)
            for hours in (18, 36):  # quiet, but the writer signs the same tree again
                now[0] = day + dt.timedelta(hours=hours)
                if resign:
                    w.checkpoint()
            later = Trail()
            later.clean_run("r1")
            for ev in later.events:
                w.append({**ev, "ts": ev["ts"].replace("2026-01-01", "2026-01-03")})
            now[0] = day + dt.timedelta(days=2, minutes=5)
        return folder

    quiet = judge_trails(p, [write(tmp_path / "quiet", resign=False)])
    assert [o.rule for o in quiet.observations if o.rule == "HA-209"] == ["HA-209"]
    now[0] = day
    signing = judge_trails(p, [write(tmp_path / "signing", resign=True)])
    assert not [o for o in signing.observations if o.rule == "HA-209"]
    assert not signing.trust.sealed_after_the_fact


def test_the_sealed_late_setting_is_read_from_config_and_flag(
    tmp_path: Path, write_manifest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    p, folder = _late_setup(tmp_path, write_manifest, dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    monkeypatch.chdir(tmp_path)

    def trail_of(*extra: str) -> dict[str, Any]:
        args = ["scan", p.file, "--trails", str(folder), "-f", "json", *extra]
        res = CliRunner().invoke(app, args)
        assert res.exit_code in (0, 1), res.output
        trail: dict[str, Any] = json.loads(res.output)["pipelines"][0]["trail"]
        return trail

    assert trail_of()["sealed_late_after_seconds"] == 86400
    assert trail_of()["sealed_after_the_fact"] is True
    (tmp_path / "pyproject.toml").write_text('[tool.harness-audit]\nsealed-late-after = "400d"\n')
    assert trail_of()["sealed_after_the_fact"] is False
    assert trail_of("--sealed-late-after", "2d")["sealed_after_the_fact"] is True
    (tmp_path / "pyproject.toml").write_text('[tool.harness-audit]\nsealed-late-after = "soon"\n')
    res = CliRunner().invoke(app, ["scan", p.file, "--trails", str(folder)])
    assert res.exit_code == ExitCode.USAGE and "not a duration" in res.output
