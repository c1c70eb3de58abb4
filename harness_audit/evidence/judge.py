"""Judge each check on the events, in one streaming pass (EVIDENCE.md).

State is kept per open run and dropped at ``run_end``; runs that never end are evicted past
``MAX_OPEN_RUNS`` and reported, so memory is bounded by open runs, not by the trail. Every
failure points at the event (file, line, seq, span) that proves it.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import TYPE_CHECKING, assert_never

from harness_audit.evidence.model import (
    MAX_LOCATIONS,
    UNBINDABLE,
    Control,
    Evidence,
    Location,
    Observation,
    Population,
    RunState,
    VerifiedBy,
)
from harness_audit.evidence.outcomes import load_outcomes
from harness_audit.manifest.model import (
    DESTRUCTIVE_EFFECTS,
    WRITE_EFFECTS,
    Agent,
    Model,
    Pipeline,
    Tool,
    independence,
)
from harness_audit.sla import Observer, analyse
from harness_audit.trail.events import (
    AnyEvent,
    Approval,
    ApprovalRequest,
    BudgetCheck,
    DataAccess,
    Decision,
    Error,
    ModelCall,
    RunEnd,
    RunStart,
    Spawn,
    ToolCall,
    Verification,
    actor_of,
)
from harness_audit.trail.events import (
    Model as EventModel,
)

if TYPE_CHECKING:
    from harness_audit.evidence.population import PopulationSpool

__all__ = [
    "MAX_LOCATIONS",
    "MAX_OPEN_RUNS",
    "MAX_SUBJECTS_PER_RULE",
    "UNBINDABLE",
    "Control",
    "Evidence",
    "Judge",
    "Location",
    "Observation",
    "Population",
    "RunState",
    "VerifiedBy",
]

MAX_OPEN_RUNS = 50_000
MAX_SUBJECTS_PER_RULE = 100
"""Distinct (agent, subject) observations kept per rule; further ones are folded into one
observation of the rule that counts them, so memory does not grow with the trail."""
FOLDED_NOUNS = {
    "HA-001": "undeclared agents",
    "HA-201": "uncited risk decisions",
    "HA-202": "routed-around guardrails",
    "HA-203": "dangling links",
    "HA-206": "undeclared tools",
    "HA-208": "self-contradicting verifications",
}


def _model(m: EventModel | str | None) -> tuple[Model | None, bool]:
    """(model, human) from an event's model field."""
    if isinstance(m, str):
        return None, m.startswith("human:")
    if m is None:
        return None, False
    return Model(m.provider, m.family, m.name), False


class Judge:
    """Judge each check on a stream of events, one pass (see the module doc)."""

    def __init__(
        self,
        pipeline: Pipeline,
        sample: int = 0,
        seed: int = 0,
        spool: PopulationSpool | None = None,
    ) -> None:
        self.p = pipeline
        self.spool, self.ts = spool, ""  # every population row, with the event's time
        self.agents = pipeline.agent_map
        self.runs: OrderedDict[str, RunState] = OrderedDict()
        self.sample, self.rnd = sample, random.Random(seed)  # noqa: S311 - a reproducible audit sample, not a secret
        self.controls: dict[tuple[str, str], Control] = {}
        self.populations: dict[str, Population] = {}
        self.notes: dict[tuple[str, str | None, str], Observation] = {}
        self.subjects: dict[str, int] = {}  # rule -> distinct observations kept
        self.seen: set[str] = set()
        self.unanchored = 0
        self.seen_unanchored: dict[str, int] = {}  # agent -> its events no checkpoint anchors
        self.finished = 0
        self.never_ended = 0  # runs evicted or still open at finish
        self.first_never_ended: str | None = None
        self.run_costs: list[int] = []
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self.observer = Observer(pipeline)
        self.outcomes = load_outcomes()  # risk and approving words (rules/outcomes.yaml)
        self.limits = {a.id: self._spawn_limit(a) for a in pipeline.agents}
        self.tools: dict[tuple[str, str], Tool] = {
            (a.id, t.name): t for a in pipeline.agents for t in a.tools
        }
        self.caps = {
            a.id: round(a.budget.max_cost_usd_per_run * 1e6)
            for a in pipeline.agents
            if a.budget and a.budget.max_cost_usd_per_run is not None
        }
        cap = pipeline.budget.max_cost_usd_per_run if pipeline.budget else None
        self.pipeline_cap = round(cap * 1e6) if cap is not None else None

    # -- bookkeeping ----------------------------------------------------------------------------

    def _spawn_limit(self, a: Agent) -> int | None:
        for b in (a.budget, self.p.budget):
            if b is not None and b.max_spawn_depth is not None:
                return b.max_spawn_depth
        return None

    def control(self, agent: str, check: str) -> Control:
        """The control of ``check`` for ``agent`` (created empty)."""
        return self.controls.setdefault((agent, check), Control())

    def operated(self, agent: str, check: str, where: Location) -> Control:
        """Count that the control of ``check`` operated at ``where``, and sample it.

        An unanchored ``where`` is neither counted nor sampled: it may prove a failure (see
        :meth:`Control.fail`), never that the control operated."""
        c = self.control(agent, check)
        if not where.anchored:
            return c
        c.operated += 1
        if self.spool is not None:
            self.spool.add(agent, check, where, self.ts)
        pop = self.populations.setdefault(check, Population())
        pop.size += 1
        if self.sample:  # reservoir sampling (Algorithm R): reproducible for a seed
            if len(pop.sample) < self.sample:
                pop.sample.append(where)
            else:
                j = self.rnd.randrange(pop.size)
                if j < self.sample:
                    pop.sample[j] = where
        return c

    def note(
        self, rule: str, agent: str | None, message: str, where: Location | None, subject: str
    ) -> None:
        """Record an observation; the same (rule, agent, subject) is counted, not repeated.

        Past :data:`MAX_SUBJECTS_PER_RULE` distinct ones for a rule, further subjects are
        folded into one observation of the rule (its ``count`` is of the events folded, its
        ``where`` the first of them): memory is bounded by rules, not by the trail."""
        key = (rule, agent, subject)
        seen = self.notes.get(key)
        if seen is not None:
            seen.count += 1
            return
        if where is not None and not where.anchored:
            message += " (unanchored)"
        if self.subjects.get(rule, 0) < MAX_SUBJECTS_PER_RULE:
            self.subjects[rule] = self.subjects.get(rule, 0) + 1
            self.notes[key] = Observation(rule, agent, message, where, subject)
            return
        fold = (rule, None, f"{rule}:folded")
        if fold in self.notes:
            self.notes[fold].count += 1
        else:
            noun = FOLDED_NOUNS.get(rule, "subjects")
            self.notes[fold] = Observation(
                rule,
                None,
                f"and more {noun} past the first {MAX_SUBJECTS_PER_RULE:,} of this "
                f"rule, folded into this finding to bound memory (the first: {message})",
                where,
                fold[2],
                folded=True,
            )

    # -- the pass -------------------------------------------------------------------------------

    def feed(self, file: str, line: int, ev: AnyEvent, anchored: bool = True) -> None:
        """Judge one event (``file`` and ``line`` say where it is, for the findings).

        ``anchored=False`` says no trusted checkpoint covers the event (it comes after the
        newest one): such an event may prove a failure but never a pass. It never makes its
        agent seen (``has_audit_trail``), never counts as a control operating, is not sampled
        nor fed to the observed SLA, and the failures and observations it proves say
        ``(unanchored)`` (and their locations carry ``anchored=False``). Run state (costs,
        verifications, approvals, decisions) still builds from it, so a failure it proves
        is found. :attr:`Evidence.unanchored_events` counts them."""
        where = Location(file, line, ev.seq, ev.span, ev.run, anchored)
        self.ts = ev.ts
        if not anchored:
            self.unanchored += 1
        run = self.runs.get(ev.run)
        if run is None:
            run = self.runs[ev.run] = RunState(first=where)
            if len(self.runs) > MAX_OPEN_RUNS:
                old, _ = self.runs.popitem(last=False)
                self._never_ended(old)
                self.observer.forget(old)
        else:
            self.runs.move_to_end(ev.run)
        if self.first_ts is None:
            self.first_ts = ev.ts
        self.last_ts = ev.ts
        actor = actor_of(ev.agent, self.agents)
        if actor in self.agents:
            if anchored:
                self.seen.add(actor)
                self.operated(actor, "has_audit_trail", where)
            else:
                self.seen_unanchored[actor] = self.seen_unanchored.get(actor, 0) + 1
        elif actor != "harness" and not actor.startswith("human:"):
            self.note(
                "HA-001",
                actor,
                f"events from {actor!r}, an agent the manifest does not declare",
                where,
                f"undeclared:{actor}",
            )
        if ev.parent is not None and ev.parent not in run.spans:
            self.note(
                "HA-203",
                actor if actor in self.agents else None,
                f"parent {ev.parent!r} is not an earlier event of run {ev.run!r}: the "
                "causal chain is broken here",
                where,
                "dangling",
            )
        run.spans.add(ev.span)
        if ev.parent is not None and ev.parent in run.depth:
            run.depth[ev.span] = run.depth[ev.parent]  # a spawned agent's work is at its depth
        match ev:  # the most frequent kinds first: each case is an isinstance check
            case ModelCall():
                self._on_model_call(ev, actor, run, where)
            case ToolCall():
                self._on_tool_call(ev, actor, run, where)
            case DataAccess():
                self._on_data_access(ev, actor, run, where)
            case Decision():
                self._on_decision(ev, actor, run, where)
            case Verification():
                self._on_verification(ev, actor, run, anchored)
            case Approval():
                self._on_approval(ev, run, anchored)
            case Spawn():
                self._on_spawn(ev, actor, run, where)
            case BudgetCheck():
                self._on_budget_check(ev, actor, where)
            case Error():
                self._on_error(ev, actor, where)
            case RunEnd():
                self._on_run_end(ev, run, where)
            case RunStart() | ApprovalRequest():
                pass  # nothing to judge on their own
            case _:
                assert_never(ev)
        if anchored:
            self.observer.feed(ev)
        elif isinstance(ev, RunEnd):
            self.observer.forget(ev.run)  # its end is not anchored: no success to count

    def _on_model_call(self, ev: ModelCall, actor: str, run: RunState, where: Location) -> None:
        """Caps are judged as costs accrue: the call that crosses a cap is the failure (once
        per agent and run), so a run that never ends is judged too."""
        run.models[actor] = Model(ev.model.provider, ev.model.family, ev.model.name)
        first = actor not in run.cost
        spent = run.cost[actor] = run.cost.get(actor, 0) + ev.cost_microusd
        run.total += ev.cost_microusd
        own = self.caps.get(actor)
        pcap = self.pipeline_cap
        if first and actor in self.agents and (own is not None or pcap is not None):
            self.operated(actor, "budget_cap_enforced", where)
        if own is not None and spent > own and actor not in run.capped:
            run.capped.add(actor)
            self.control(actor, "budget_cap_enforced").fail(
                f"run {ev.run!r} spent ${spent / 1e6:.4f} on {actor!r} by this call, above its "
                f"cap ${own / 1e6:g}",
                where,
            )
        if pcap is not None and run.total > pcap:
            for agent_id in run.cost:  # every agent the pipeline cap covers, in the run so far
                if (
                    agent_id in self.agents
                    and agent_id not in self.caps
                    and agent_id not in run.capped
                ):
                    run.capped.add(agent_id)
                    self.control(agent_id, "budget_cap_enforced").fail(
                        f"run {ev.run!r} spent ${run.total / 1e6:.4f} in all by this call, above "
                        f"the pipeline cap ${pcap / 1e6:g}",
                        where,
                    )

    def _scope_check(self, actor: str, scope: str, what: str, where: Location) -> None:
        agent = self.agents.get(actor)
        if agent is None:
            return
        c = self.operated(actor, "access_enforced_at_harness", where)
        scopes = agent.access.scopes if agent.access else ()
        if scope not in scopes:
            c.fail(
                f"{what} used scope {scope!r}, outside the declared scopes "
                f"({', '.join(scopes) or 'none'})",
                where,
            )

    def _bypass(
        self, actor: str, run: RunState, resource: str, data_class: str, scope: str, where: Location
    ) -> None:
        for r, dc, sc, _ in run.denied:
            if (r == resource or (dc and dc == data_class)) and sc != scope:
                self.note(
                    "HA-202",
                    actor,
                    f"{actor!r} reached {resource!r} through scope "
                    f"{scope!r} after the harness denied it through {sc!r}: the "
                    "guardrail was routed around",
                    where,
                    f"bypass:{resource}",
                )
                return

    def _on_data_access(self, ev: DataAccess, actor: str, run: RunState, where: Location) -> None:
        if ev.outcome == "denied":
            self.operated(actor, "access_enforced_at_harness", where).denied += 1
            run.denied.append((ev.resource, ev.data_class, ev.scope, "data_access"))
            return
        self._scope_check(actor, ev.scope, f"data access to {ev.resource!r}", where)
        self._bypass(actor, run, ev.resource, ev.data_class, ev.scope, where)

    def _on_tool_call(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        agent = self.agents.get(actor)
        target = ev.target if isinstance(ev.target, str) else ev.tool
        if ev.outcome == "denied":
            self.operated(actor, "access_enforced_at_harness", where).denied += 1
            run.denied.append((target, "", ev.scope, ev.tool))
            return
        declared = {t.name: t for t in agent.tools} if agent is not None else {}
        effect: str = ev.effect
        if effect == "unknown":  # IMPORT.md: undeclared, so possibly destructive
            tool = declared.get(ev.tool)
            effect = tool.effect if tool is not None else "destructive"
        if agent is not None and ev.tool not in declared:
            unknown = (
                " (its effect is unknown: judged as possibly destructive)"
                if ev.effect == "unknown"
                else ""
            )
            self.note(
                "HA-206",
                actor,
                f"{actor!r} called tool {ev.tool!r}, which the manifest "
                f"does not declare for it{unknown}",
                where,
                f"tool:{ev.tool}",
            )
        if ev.outcome != "ok":
            return
        self._scope_check(actor, ev.scope, f"tool {ev.tool!r}", where)
        self._bypass(actor, run, target, "", ev.scope, where)
        if effect in WRITE_EFFECTS:
            self._verified(ev, actor, run, where)
        if effect in DESTRUCTIVE_EFFECTS:
            self._gated(ev, actor, run, where)

    def _verified(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        """A passing verification counts only when bound to the call's ``args_digest`` (when
        the call has one, a verification without it does not count: fail closed), and only
        from a verifier independent of the actor."""
        c = self.operated(actor, "independent_verification", where)
        checks = run.verifications.get(ev.span, [])
        passes = [x for x in checks if x.verdict == "pass"]
        if not passes:
            c.fail(
                f"{ev.effect} call {ev.tool!r} ran with no passing verification of it before", where
            )
            return
        digest = ev.args_digest if isinstance(ev.args_digest, str) else None
        reasons = []
        bound = []
        for x in passes:
            if not x.anchored:
                reasons.append(
                    f"{x.verifier}'s pass is not anchored by a trusted checkpoint: "
                    "it proves no pass"
                )
            elif not x.worked:
                reasons.append(
                    f"{x.verifier} passed it before making any model call of its "
                    "own in the run: a verification with no work behind it does not "
                    "count"
                )
            elif digest is None or x.digest in (digest, UNBINDABLE):
                bound.append(x)
            elif x.digest is None:
                reasons.append(
                    f"{x.verifier} verified it with no args_digest while the call "
                    "has one: not bound to this exact action, so it does not count "
                    "(fail closed)"
                )
            else:
                reasons.append(f"{x.verifier} verified other arguments (args_digest differs)")
        if not bound:
            c.fail(f"{ev.effect} call {ev.tool!r}: " + "; ".join(reasons), where)
            return
        agent = self.agents.get(actor)
        own = run.models.get(actor) or (agent.model if agent else None)
        human = bool(agent and agent.human)
        for x in bound:
            kind = independence(actor, own, human, x.verifier, x.model, x.human)
            if kind in ("independent", "same_provider"):
                return
        who = ", ".join(
            f"{x.verifier} ({x.model.label if x.model else 'human' if x.human else '?'})"
            for x in bound
        )
        c.fail(
            f"{ev.effect} call {ev.tool!r} was verified only by {who}: not independent of "
            f"{actor} ({own.label if own else 'unknown model'})",
            where,
        )

    def _gated(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        c = self.operated(actor, "human_gate_for_destructive_ops", where)
        approvals = [a for a in run.approvals.get(ev.span, []) if a[0] == "approved"]
        if not approvals:
            c.fail(f"{ev.effect} call {ev.tool!r} ran with no approval of it before", where)
            return
        digest = ev.args_digest if isinstance(ev.args_digest, str) else None
        tool = self.tools.get((actor, ev.tool))
        listed = tool.human_gate.approvers if tool else ()
        reasons = []
        for _, approver, adigest, anchored in approvals:
            if not anchored:
                reasons.append(
                    f"the approval by {approver!r} is not anchored by a trusted "
                    "checkpoint: it proves no pass"
                )
            elif not approver.startswith("human:") or approver[6:] == actor:
                reasons.append(f"approved by {approver!r}, not a person other than the agent")
            elif listed and approver[6:] not in listed and approver not in listed:
                reasons.append(
                    f"approved by {approver!r}, who is not among the tool's "
                    f"approvers ({', '.join(listed)})"
                )
            elif digest and adigest and adigest != digest:
                reasons.append(
                    f"{approver} approved other arguments (args_digest differs): an "
                    "approval is for one exact action"
                )
            else:
                return
        c.fail(f"{ev.effect} call {ev.tool!r}: " + "; ".join(reasons), where)

    def _on_verification(self, ev: Verification, actor: str, run: RunState, anchored: bool) -> None:
        """Keep the verdict for the call it targets. A model verifier has worked only if it
        made a model call of its own earlier in the run (a person is exempt); a pass is kept
        to judge the verifier's own later decisions (HA-208)."""
        model, human = _model(ev.model)
        raw = getattr(ev, "args_digest", UNBINDABLE)  # TRAIL.md: optional, like an approval's
        digest = raw if isinstance(raw, str) else None
        agent = self.agents.get(actor)
        worked = human or bool(agent and agent.human) or actor in run.models
        run.verifications.setdefault(ev.target, []).append(
            VerifiedBy(ev.verdict, actor, model, human, digest, worked, anchored)
        )
        if ev.verdict == "pass":
            run.passed.setdefault(actor, []).append((ev.target, len(run.subjects)))

    def _on_approval(self, ev: Approval, run: RunState, anchored: bool) -> None:
        digest = ev.args_digest if isinstance(ev.args_digest, str) else None
        run.approvals.setdefault(ev.target, []).append((ev.verdict, ev.approver, digest, anchored))

    def _on_spawn(self, ev: Spawn, actor: str, run: RunState, where: Location) -> None:
        """Depth is judged on the spawn chain too, not only on the event's ``depth``: the
        spawner's depth is its span's (inherited from parent to child from the spawn that
        started it), or, when its chain is cut, the deepest spawn of that agent in the run; a
        self-spawning agent a -> a -> a goes one deeper at each spawn."""
        if ev.parent is not None and ev.parent in run.spans:
            base = run.depth.get(ev.parent, 0)
        else:
            base = run.agent_depth.get(actor, 0)
        derived = base + 1
        depth = max(ev.depth, derived)
        run.depth[ev.span] = depth
        run.agent_depth[ev.child] = max(run.agent_depth.get(ev.child, 0), depth)
        if actor not in self.agents:
            return
        c = self.operated(actor, "budget_cap_enforced", where)
        limit = self.limits.get(actor)
        if limit is not None and depth > limit:
            said = (
                ""
                if derived == ev.depth
                else (f" (by the spawn chain {derived}; the event says {ev.depth})")
            )
            c.fail(
                f"spawned {ev.child!r} at depth {depth}{said}, deeper than max_spawn_depth {limit}",
                where,
            )

    def _on_budget_check(self, ev: BudgetCheck, actor: str, where: Location) -> None:
        if actor in self.agents and ev.outcome == "blocked":
            self.operated(actor, "budget_cap_enforced", where).denied += 1

    def _on_decision(self, ev: Decision, actor: str, run: RunState, where: Location) -> None:
        kind = self.outcomes.kind(ev.outcome)
        if kind == "risk":
            run.risky.append((ev.span, ev.outcome, actor))
            self._self_contradiction(ev, actor, run, where)
        elif kind == "approving":
            cited = set(ev.evidence) if isinstance(ev.evidence, list) else set()
            for span, flagged, who in run.risky:
                if span not in cited:
                    self.note(
                        "HA-201",
                        actor,
                        f"{actor!r} decided {ev.outcome!r} after {who!r} "
                        f"decided {flagged!r} ({span}) in the same run, without citing "
                        "it as evidence",
                        where,
                        f"amnesia:{where.run}:{span}",
                    )
                    break
        run.subjects.setdefault(ev.subject, len(run.subjects))

    def _self_contradiction(self, ev: Decision, actor: str, run: RunState, where: Location) -> None:
        """HA-208: a verifier passed a call, then decided a risk outcome on the same subject in
        the same run. Same subject: the decision is about the verified span or cites it, or
        its subject had been decided on in the run when the verifier passed the call (or none
        had: then the run's only subject is assumed)."""
        cited = set(ev.evidence) if isinstance(ev.evidence, list) else set()
        for target, known in run.passed.get(actor, ()):
            if (
                ev.subject == target
                or target in cited
                or not known
                or run.subjects.get(ev.subject, known) < known
            ):
                self.note(
                    "HA-208",
                    actor if actor in self.agents else None,
                    f"{actor!r} passed its verification of {target} and then decided "
                    f"{ev.outcome!r} on {ev.subject!r} in the same run: its own decision "
                    "contradicts its verification",
                    where,
                    f"self-contradiction:{where.run}:{target}",
                )

    def _on_error(self, ev: Error, actor: str, where: Location) -> None:
        if ev.parent is None:
            self.note(
                "HA-204",
                actor if actor in self.agents else None,
                "an error with no parent: nothing says what caused it",
                where,
                "orphan",
            )

    def _on_run_end(self, ev: RunEnd, run: RunState, where: Location) -> None:
        self.finished += 1
        self.run_costs.append(run.total)  # caps were judged as the costs accrued
        self.runs.pop(ev.run, None)

    def _never_ended(self, run: str) -> None:
        self.never_ended += 1
        if self.first_never_ended is None:
            self.first_never_ended = run

    def finish(self, files: list[str], events: int, skipped: int) -> Evidence:
        """Close the pass: runs that never ended, silent agents, observed SLA rates."""
        for run_id in self.runs:
            self._never_ended(run_id)
        if self.never_ended:
            self.note(
                "HA-205",
                None,
                f"{self.never_ended:,} run(s) never ended (first: "
                f"{self.first_never_ended!r}); their costs were judged as they accrued, "
                "their other controls could not be judged to the end",
                None,
                "open-runs",
            )
        for a in self.p.agents:
            if a.in_trail and a.id not in self.seen:
                n = self.seen_unanchored.get(a.id, 0)
                self.control(a.id, "has_audit_trail").fail(
                    f"none of its {n:,} event(s) is anchored by a trusted checkpoint, so they "
                    "prove no pass"
                    if n
                    else "no event at all from this agent in the trails (a silent agent)",
                    None,
                )
        obs = self.observer.result()
        sla = analyse(self.p, "equal", obs)
        for st in sla.stages:
            if st.observed is None:
                continue
            c = self.control(st.agent, "sla_decomposed_per_stage")
            c.operated += st.observed.attempts
            if st.observed.verdict == "misses":
                c.fail(
                    f"observed {st.observed.successes}/{st.observed.attempts} successes "
                    f"(95% upper bound {st.observed.upper:.4f}) misses the required "
                    f"{st.required:.6f}",
                    None,
                )
        return Evidence(
            self.p.name,
            files,
            events,
            skipped,
            self.finished,
            self.never_ended,
            self.controls,
            list(self.notes.values()),
            self.populations,
            self.run_costs,
            self.first_ts,
            self.last_ts,
            sla=sla,
            unanchored_events=self.unanchored,
        )
