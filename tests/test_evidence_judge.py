"""The judge fed event by event (no trail files): fail closed on what the events cannot prove."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec import UNSET, UnsetType

from harness_audit.evidence import judge, model
from harness_audit.evidence.judge import Evidence, Judge
from harness_audit.manifest import load_manifest
from harness_audit.manifest.model import Pipeline
from harness_audit.trail import events as ev_mod

from .test_evidence import CLAUDE, GPT, manifest_dict


class Feed:
    """Builds events for one judge: spans are <run>.<n>; ``parent=""`` is the run's root."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.judge = Judge(pipeline)
        self.seq = 0
        self.n: dict[str, int] = {}

    def next_span(self, run: str, ahead: int = 1) -> str:
        return f"{run}.{self.n.get(run, 0) + ahead}"

    def add(
        self,
        run: str,
        agent: str,
        kind: str,
        parent: str | None = "",
        anchored: bool = True,
        event: type[Any] | None = None,
        **f: Any,
    ) -> str:
        self.n[run] = self.n.get(run, 0) + 1
        span = f"{run}.{self.n[run]}"
        if parent == "":
            parent = f"{run}.1" if self.n[run] > 1 else None
        raw = {
            "v": 1,
            "seq": self.seq,
            "ts": f"2026-01-01T00:00:{self.seq % 60:02d}Z",
            "run": run,
            "span": span,
            "parent": parent,
            "agent": agent,
            "kind": kind,
            "prev": "0" * 64,
            "hash": "0" * 64,
            **f,
        }
        data = msgspec.json.encode(raw)
        e = msgspec.json.decode(data, type=event) if event else ev_mod.decoder.decode(data)
        self.judge.feed("t.jsonl", self.seq + 1, e, anchored=anchored)
        self.seq += 1
        return span

    def model_call(
        self, run: str, agent: str, cost: int = 1, model: dict[str, str] = GPT, **kw: Any
    ) -> str:
        return self.add(
            run,
            agent,
            "model_call",
            model=model,
            input_tokens=1,
            output_tokens=1,
            cost_microusd=cost,
            **kw,
        )

    def start(self, run: str, **kw: Any) -> str:
        return self.add(run, "harness", "run_start", None, pipeline="ev", **kw)

    def end(self, run: str, **kw: Any) -> str:
        return self.add(run, "harness", "run_end", pipeline="ev", outcome="ok", **kw)

    def finish(self) -> Evidence:
        return self.judge.finish(["t.jsonl"], self.seq, 0)


@pytest.fixture
def feed(write_manifest: Callable[..., Path]) -> Callable[..., Feed]:
    def make(change: Callable[[dict[str, Any]], None] | None = None) -> Feed:
        m = manifest_dict()
        if change:
            change(m)
        return Feed(load_manifest(write_manifest(m, "harness.yaml")))

    return make


# -- anchored=False: proves a failure, never a pass ---------------------------------------------


def test_unanchored_events_never_make_an_agent_seen_nor_operate(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r", anchored=False)
    f.model_call("r", "a", anchored=False)
    f.add(
        "r",
        "a",
        "data_access",
        resource="x",
        scope="s:read",
        data_class="pii",
        outcome="allowed",
        anchored=False,
    )
    f.end("r", anchored=False)
    e = f.finish()
    assert e.unanchored_events == 4
    trail = e.controls[("a", "has_audit_trail")]
    assert trail.failed == 1 and "anchored" in (trail.reason or "")
    access = e.controls[("a", "access_enforced_at_harness")]
    assert (access.operated, access.failed) == (0, 0)
    # issue 22, item 3 (changed on purpose): the population lists every event of the control,
    # unanchored ones counted as such; they never count as the control operating
    pop = e.populations["access_enforced_at_harness"]
    assert (pop.size, pop.unanchored, pop.sample) == (1, 1, [])


def test_unanchored_events_still_prove_failures(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "a")
    bad = f.add(
        "r",
        "b",
        "data_access",
        resource="z",
        scope="secrets:read",
        data_class="pii",
        outcome="allowed",
        anchored=False,
    )
    f.add("r", "ghost", "error", message="who", anchored=False)
    f.end("r")
    e = f.finish()
    c = e.controls[("b", "access_enforced_at_harness")]
    assert (c.operated, c.failed) == (1, 1)
    assert c.reason is not None and c.reason.endswith("(unanchored)")
    assert c.failures[0].span == bad and not c.failures[0].anchored
    assert c.failures[0].as_dict()["unanchored"] is True
    [o] = [o for o in e.observations if o.rule == "HA-001"]
    assert "(unanchored)" in o.message
    assert e.unanchored_events == 2
    assert e.controls[("a", "has_audit_trail")].failed == 0  # an anchored event made it seen


def test_anchored_is_the_default(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "a")
    f.end("r")
    e = f.finish()
    assert e.unanchored_events == 0
    assert e.controls[("a", "has_audit_trail")].operated == 1
    assert "unanchored" not in judge.Location("f", 1, 0, "s", "r").as_dict()


# -- budgets judged as costs accrue (issue 12 item 7) --------------------------------------------


def test_a_runaway_run_that_never_ends_fails_its_cap_at_the_crossing_call(
    feed: Callable[..., Feed],
) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "a", cost=3000)
    cross = f.model_call("r", "a", cost=3000)  # a's cap is 5000
    for _ in range(5):
        f.model_call("r", "a", cost=10_000_000)  # $50 more, and no run_end
    e = f.finish()
    c = e.controls[("a", "budget_cap_enforced")]
    assert (c.operated, c.failed) == (1, 1)  # once per run: the first crossing
    assert [x.span for x in c.failures] == [cross]
    assert c.reason is not None and "above its cap" in c.reason
    assert e.open_runs == 1


def test_an_evicted_run_is_judged_on_its_costs(
    feed: Callable[..., Feed], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(judge, "MAX_OPEN_RUNS", 1)
    f = feed()
    f.start("r1")
    cross = f.model_call("r1", "b", cost=20_000)  # b is under the pipeline cap (10000)
    f.start("r2")  # evicts r1
    f.model_call("r2", "b", cost=1)
    f.end("r2")
    e = f.finish()
    c = e.controls[("b", "budget_cap_enforced")]
    assert (c.operated, c.failed) == (2, 1) and c.failures[0].span == cross
    assert c.reason is not None and "pipeline cap" in c.reason


def test_the_pipeline_cap_fails_each_covered_agent_once_at_the_crossing(
    feed: Callable[..., Feed],
) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "b", cost=6000)
    cross = f.model_call("r", "v", cost=6000, model=CLAUDE)  # 12000 > 10000
    f.model_call("r", "b", cost=6000)
    late = f.model_call("r", "ghost", cost=1)  # not declared: no control of its own
    f.end("r")
    e = f.finish()
    for agent in ("b", "v"):
        c = e.controls[(agent, "budget_cap_enforced")]
        assert (c.operated, c.failed) == (1, 1) and c.failures[0].span == cross
    assert ("ghost", "budget_cap_enforced") not in e.controls and late
    assert e.run_costs == [18_001]


def test_under_the_cap_passes(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "a", cost=5000)  # exactly the cap
    f.end("r")
    c = f.finish().controls[("a", "budget_cap_enforced")]
    assert (c.operated, c.failed) == (1, 0)


def test_a_self_spawning_agent_is_judged_by_the_depth_of_its_spawn_chain(
    feed: Callable[..., Feed],
) -> None:
    f = feed()  # max_spawn_depth 1
    f.start("r")
    m = f.model_call("r", "a")
    s1 = f.add("r", "a", "spawn", m, child="a", depth=1)
    m2 = f.model_call("r", "a", parent=s1)
    s2 = f.add("r", "a", "spawn", m2, child="a", depth=1)  # says 1: the chain says 2
    m3 = f.model_call("r", "a", parent=s2)
    s3 = f.add("r", "a", "spawn", m3, child="a", depth=1)
    f.end("r")
    c = f.finish().controls[("a", "budget_cap_enforced")]
    assert [x.span for x in c.failures] == [s2, s3]
    assert c.reason is not None and "by the spawn chain 2; the event says 1" in c.reason


def test_siblings_spawned_from_one_agent_are_not_deeper(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    m = f.model_call("r", "a")
    for _ in range(3):
        s = f.add("r", "a", "spawn", m, child="a", depth=1)
        f.model_call("r", "a", parent=s)
    f.end("r")
    assert f.finish().controls[("a", "budget_cap_enforced")].failed == 0


def test_a_cut_spawn_chain_falls_back_to_the_agent_depth(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    f.add("r", "a", "spawn", None, child="a", depth=1)
    bad = f.add("r", "a", "spawn", "elsewhere", child="a", depth=1)  # a is at depth 1 here
    f.end("r")
    c = f.finish().controls[("a", "budget_cap_enforced")]
    assert [x.span for x in c.failures] == [bad]


def test_an_event_deeper_than_its_chain_still_fails(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    m = f.model_call("r", "a")
    deep = f.add("r", "a", "spawn", m, child="b", depth=5)
    f.end("r")
    c = f.finish().controls[("a", "budget_cap_enforced")]
    assert [x.span for x in c.failures] == [deep] and "depth 5" in (c.reason or "")


# -- approvals and verifications bound to the manifest and to the action (item 8) -----------------


class DigestVerification(ev_mod.Verification, tag="verification"):
    """A verification carrying ``args_digest`` (TRAIL.md allows it; the struct may not yet)."""

    args_digest: str | UnsetType = UNSET


def gate(f: Feed, approver: str) -> None:
    f.start("r")
    call = f.next_span("r", 3)
    f.add("r", "v", "verification", target=call, verdict="pass", model=CLAUDE)
    f.add("r", approver, "approval", target=call, approver=approver, verdict="approved")
    f.add("r", "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    f.end("r")


def test_an_approver_the_manifest_does_not_list_fails_the_gate(feed: Callable[..., Feed]) -> None:
    f = feed()  # pay: human_gate.approvers [cfo]
    gate(f, "human:mallory")
    c = f.finish().controls[("a", "human_gate_for_destructive_ops")]
    assert c.failed == 1 and c.failures[0].seq == 3
    assert "'human:mallory', who is not among the tool's approvers (cfo)" in (c.reason or "")


def test_a_listed_approver_passes_the_gate(feed: Callable[..., Feed]) -> None:
    f = feed()
    gate(f, "human:cfo")
    c = f.finish().controls[("a", "human_gate_for_destructive_ops")]
    assert (c.operated, c.failed) == (1, 0)


def test_any_person_passes_when_the_manifest_lists_no_approvers(feed: Callable[..., Feed]) -> None:
    def unlisted(m: dict[str, Any]) -> None:
        m["agents"][0]["tools"][1]["human_gate"] = {"required": True}

    f = feed(unlisted)
    gate(f, "human:mallory")
    assert f.finish().controls[("a", "human_gate_for_destructive_ops")].failed == 0


@pytest.mark.parametrize(
    ("vdigest", "cdigest", "expect"),
    [
        ("c" * 64, "c" * 64, None),
        (None, None, None),
        ("c" * 64, None, None),  # the call is not bound: nothing to compare
        ("c" * 64, "d" * 64, "verified other arguments (args_digest differs)"),
        (None, "d" * 64, "with no args_digest while the call has one"),
    ],
)
def test_a_verification_counts_only_for_the_arguments_it_verified(
    feed: Callable[..., Feed], vdigest: str | None, cdigest: str | None, expect: str | None
) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "v", model=CLAUDE)
    call = f.next_span("r", 3)
    extra = {"args_digest": vdigest} if vdigest else {}
    f.add(
        "r",
        "v",
        "verification",
        target=call,
        verdict="pass",
        model=CLAUDE,
        event=DigestVerification,
        **extra,
    )
    f.add("r", "human:cfo", "approval", target=call, approver="human:cfo", verdict="approved")
    extra = {"args_digest": cdigest} if cdigest else {}
    f.add(
        "r",
        "a",
        "tool_call",
        tool="pay",
        effect="destructive",
        scope="db:write",
        outcome="ok",
        **extra,
    )
    f.end("r")
    c = f.finish().controls[("a", "independent_verification")]
    if expect is None:
        assert (c.operated, c.failed) == (1, 0)
    else:
        assert c.failed == 1 and expect in (c.reason or "") and c.failures[0].span == call
        if vdigest is None:
            assert "fail closed" in (c.reason or "")


# -- a verification with no work behind it (item 13) ---------------------------------------------


def verified_write(
    f: Feed,
    verifier: str,
    model: dict[str, str] | str,
    worked: bool,
    run: str = "r",
    start: bool = True,
) -> str:
    if start:
        f.start(run)
    f.model_call(run, "a")
    if worked and not isinstance(model, str):
        f.model_call(run, verifier, model=model)
    call = f.next_span(run, 3)
    f.add(run, verifier, "verification", target=call, verdict="pass", model=model)
    f.add(run, "human:cfo", "approval", target=call, approver="human:cfo", verdict="approved")
    f.add(run, "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    return call


def test_a_model_verifier_that_made_no_model_call_before_does_not_count(
    feed: Callable[..., Feed],
) -> None:
    f = feed()
    call = verified_write(f, "v", CLAUDE, worked=False)
    f.model_call("r", "v", model=CLAUDE)  # its work after the verdict does not help
    f.end("r")
    c = f.finish().controls[("a", "independent_verification")]
    assert c.failed == 1 and c.failures[0].span == call
    assert "before making any model call of its own" in (c.reason or "")


@pytest.mark.parametrize(("verifier", "model"), [("v", CLAUDE), ("human:qa", "human:qa")])
def test_a_verifier_that_worked_or_a_person_counts(
    feed: Callable[..., Feed], verifier: str, model: dict[str, str] | str
) -> None:
    f = feed()
    verified_write(f, verifier, model, worked=True)
    f.end("r")
    c = f.finish().controls[("a", "independent_verification")]
    assert (c.operated, c.failed) == (1, 0)


@pytest.mark.parametrize(
    ("subject", "outcome", "found"),
    [
        ("loan-1", "refer", True),  # the subject decided on in the run when it passed
        ("loan-1", "approve", False),
        ("loan-2", "refer", False),  # another subject, new since the verification
    ],
)
def test_a_verifier_deciding_a_risk_after_its_pass_is_a_contradiction(
    feed: Callable[..., Feed], subject: str, outcome: str, found: bool
) -> None:
    f = feed()
    f.start("r")
    f.add("r", "b", "decision", subject="loan-1", outcome="approve")
    f.model_call("r", "a")
    f.model_call("r", "v", model=CLAUDE)
    call = f.next_span("r", 3)
    f.add("r", "v", "verification", target=call, verdict="pass", model=CLAUDE)
    f.add("r", "human:cfo", "approval", target=call, approver="human:cfo", verdict="approved")
    f.add("r", "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    said = f.add("r", "v", "decision", subject=subject, outcome=outcome)
    f.end("r")
    hits = [o for o in f.finish().observations if o.rule == "HA-208"]
    assert bool(hits) is found
    if found:
        assert hits[0].where.span == said and hits[0].agent == "v"
        assert "contradicts its verification" in hits[0].message


def test_a_contradiction_with_no_subject_known_or_citing_the_call(
    feed: Callable[..., Feed],
) -> None:
    f = feed()
    call = verified_write(f, "v", CLAUDE, worked=True)
    f.add("r", "v", "decision", subject="anything", outcome="decline")  # none known: the run's
    f.end("r")
    f.start("s")
    f.add("s", "b", "decision", subject="loan-1", outcome="approve")
    call2 = verified_write(f, "v", CLAUDE, worked=True, run="s", start=False)
    f.add("s", "v", "decision", subject="other", outcome="flag_fraud", evidence=[call2])
    f.end("s")
    hits = {o.subject for o in f.finish().observations if o.rule == "HA-208"}
    assert hits == {f"self-contradiction:r:{call}", f"self-contradiction:s:{call2}"}


def test_the_hardened_sample_reviewer_works_before_it_verifies() -> None:
    from harness_audit.evidence.trails import judge_trails
    from harness_audit.trail.reader import read_events

    from .conftest import SAMPLES

    folder = SAMPLES / "loan-assessment-hardened"
    runs: dict[str, list[Any]] = {}
    for _, _, e in read_events([folder / "trails"]):
        runs.setdefault(e.run, []).append(e)
    checked = 0
    for events in runs.values():
        done: set[str] = set()
        for e in events:
            if e.agent == "independent_reviewer":
                if e.kind == "model_call":
                    done.add("call")
                elif e.kind == "tool_call" and e.tool == "read_decision_draft":
                    done.add("read")
                elif e.kind == "verification":
                    assert done == {"call", "read"}, e
                    checked += 1
                elif e.kind == "decision":
                    assert done and e.outcome == "approve"  # it passed: it stands by it
    assert checked >= 60
    p = load_manifest(folder / "harness.yaml")
    e = judge_trails(p, [folder / "trails"])
    assert not [o for o in e.observations if o.rule in ("HA-201", "HA-208")]
    assert not [k for k, c in e.controls.items() if c.failed]


# -- failure locations: many kept, the rest counted (issue 12 "Also") ---------------------------


def out_of_scope(f: Feed, n: int) -> None:
    f.start("r")
    for i in range(n):
        f.add(
            "r",
            "b",
            "data_access",
            resource=f"z{i}",
            scope="secrets:read",
            data_class="pii",
            outcome="allowed",
        )
    f.end("r")


def test_every_failure_location_is_kept_well_past_twenty(feed: Callable[..., Feed]) -> None:
    f = feed()
    out_of_scope(f, 25)
    c = f.finish().controls[("b", "access_enforced_at_harness")]
    assert c.failed == 25 and len(c.failures) == 25 and c.failures_dropped == 0
    assert judge.MAX_LOCATIONS >= 10_000


def test_locations_past_the_bound_are_counted_not_kept(
    feed: Callable[..., Feed], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "MAX_LOCATIONS", 30)
    f = feed()
    out_of_scope(f, 100)
    c = f.finish().controls[("b", "access_enforced_at_harness")]
    assert c.failed == 100 and len(c.failures) == 30 and c.failures_dropped == 70
    assert c.failures_located == 100 and c.failures[-1].span == "r.31"


# -- observations are aggregated past a bound of subjects per rule (issue 13.7) ------------------


def test_200k_distinct_unknown_agents_give_bounded_observations_and_memory(
    feed: Callable[..., Feed],
) -> None:
    import tracemalloc

    f = feed()
    j = f.judge
    n, per_run = 200_000, 100

    def stream(start: int, stop: int) -> None:
        for i in range(start, stop):
            run = f"r{i // per_run}"
            j.feed(
                "t.jsonl",
                i + 1,
                ev_mod.Error(
                    v=1,
                    seq=i,
                    ts="2026-01-01T00:00:00Z",
                    run=run,
                    span=f"{run}.{i}",
                    parent=None if i % per_run == 0 else f"{run}.{i - i % per_run}",
                    agent=f"ghost-{i}",
                    prev="0" * 64,
                    hash="0" * 64,
                    message="x",
                ),
            )
            if i % per_run == per_run - 1:
                j.feed(
                    "t.jsonl",
                    i + 1,
                    ev_mod.RunEnd(
                        v=1,
                        seq=i,
                        ts="2026-01-01T00:00:00Z",
                        run=run,
                        span=f"{run}.end",
                        parent=None,
                        agent="harness",
                        prev="0" * 64,
                        hash="0" * 64,
                        pipeline="ev",
                        outcome="ok",
                    ),
                )

    stream(0, 20_000)  # warm up: every bound reached
    tracemalloc.start()
    stream(20_000, 50_000)  # traced: 30k events, each from a new agent
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stream(50_000, n)
    e = f.finish()
    ghosts = [o for o in e.observations if o.rule == "HA-001"]
    assert len(ghosts) == judge.MAX_SUBJECTS_PER_RULE + 1 and len(e.observations) < 110
    [folded] = [o for o in ghosts if o.folded]
    assert folded.count == n - judge.MAX_SUBJECTS_PER_RULE
    assert "more undeclared agents past the first 100" in folded.message
    assert folded.where is not None and folded.where.seq == judge.MAX_SUBJECTS_PER_RULE
    assert sum(o.count for o in ghosts) == n  # every event still counted
    assert peak < 2_000_000  # no growth per agent (an observation each would be ~15 MB)


def test_repeats_of_a_kept_subject_are_counted_on_it(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    for _ in range(3):
        f.add("r", "ghost", "error", message="x")
    f.end("r")
    [o] = [o for o in f.finish().observations if o.rule == "HA-001"]
    assert o.count == 3 and not o.folded


def test_an_unanchored_verification_or_approval_proves_no_pass(feed: Callable[..., Feed]) -> None:
    f = feed()
    f.start("r")
    f.model_call("r", "a")
    f.model_call("r", "v", model=CLAUDE)
    call = f.next_span("r", 3)
    f.add("r", "v", "verification", target=call, verdict="pass", model=CLAUDE, anchored=False)
    f.add(
        "r",
        "human:cfo",
        "approval",
        target=call,
        approver="human:cfo",
        verdict="approved",
        anchored=False,
    )
    f.add("r", "a", "tool_call", tool="pay", effect="destructive", scope="db:write", outcome="ok")
    f.end("r")
    e = f.finish()
    v = e.controls[("a", "independent_verification")]
    g = e.controls[("a", "human_gate_for_destructive_ops")]
    assert v.failed == 1 and "not anchored by a trusted checkpoint" in (v.reason or "")
    assert g.failed == 1 and "not anchored by a trusted checkpoint" in (g.reason or "")
