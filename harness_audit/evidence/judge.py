"""Judge each check on the events, in one streaming pass (EVIDENCE.md).

The judge keeps the pass and what the checks share (per-run state, findings beyond the
checklist, populations); what each check counts on which events is that check's own observed
side, in its module under ``checks/``, registered by event kind (see
:mod:`harness_audit.checks.registry`) and called from here.

State is kept per open run and dropped at ``run_end``; runs that never end are evicted past
``MAX_OPEN_RUNS`` and reported, so memory is bounded by open runs, not by the trail. Every
failure points at the event (file, line, seq, span) that proves it.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import TYPE_CHECKING, get_args

from msgspec import UNSET

from harness_audit.checks.checks import CHECKS
from harness_audit.checks.registry import REGISTRY, Observed
from harness_audit.evidence.model import (
    MAX_LOCATIONS,
    UNBINDABLE,
    Control,
    Evidence,
    Handler,
    Location,
    Observation,
    Population,
    RunState,
    VerifiedBy,
)
from harness_audit.evidence.outcomes import load_outcomes
from harness_audit.manifest.model import Model, Pipeline, Tool
from harness_audit.sla import Observer, SlaReport, analyse
from harness_audit.trail.events import (
    AnyEvent,
    Approval,
    DataAccess,
    Decision,
    Error,
    ModelCall,
    RunEnd,
    ToolCall,
    Verification,
    actor_of,
)
from harness_audit.trail.events import (
    Model as EventModel,
)

if TYPE_CHECKING:
    from harness_audit.evidence.population import PopulationSpool

_location = _verified = tuple.__new__  # a Location (VerifiedBy) from its fields, at once
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
MAX_ACTORS = 4096
"""Distinct ``agent`` strings whose actor the judge keeps (:meth:`Judge._actor`); past them,
an actor is worked out for each event, so memory does not grow with a hostile trail."""
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


STAND_IN = "stand-in:"
"""The actor of an event whose ``agent`` is a stand-in (``x_agent_from``, written by
``collect``): this prefix and the agent string, which no declared agent is, so the event is no
agent's evidence (see :meth:`Judge.feed`)."""
STAND_IN_WHY = (
    "it was written before the agent span above it arrived, so the agent that made it is not "
    "known and it is no evidence for any agent's checks"
)


MAX_MODELS = 1024
"""Distinct models whose :class:`Model` the judge keeps to hand out again (it is immutable);
past them, one is made per event."""


class Judge:
    """Judge each check on a stream of events, one pass (see the module doc).

    The checks' observed sides (:mod:`harness_audit.checks.registry`) are made once here and
    their handlers put, with the judge's own bookkeeping, in one tuple per event kind: an event
    costs one dict lookup by its type, then a call per handler."""

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
        self.operating: dict[tuple[str, str], tuple[Control, Population, bool]] = {}
        self.actors: dict[str, tuple[str, bool, bool]] = {}  # agent string -> _actor's answer
        self.stand_ins: dict[str, int] = {}  # declared agent -> events naming it as a stand-in
        self.models: dict[tuple[str, str, str], Model] = {}  # see _model_of
        self.shown_runs: set[str] = set()  # the runs of the controls' shown exceptions
        self.populations: dict[str, Population] = {}
        self.notes: dict[tuple[str, str | None, str], Observation] = {}
        self.subjects: dict[str, int] = {}  # rule -> distinct observations kept
        self.unanchored = 0
        self.finished = 0
        self.never_ended = 0  # runs evicted or still open at finish
        self.first_never_ended: str | None = None
        self.run_costs: list[int] = []
        self.first_ts: str | None = None
        self.last_ts: str | None = None
        self.observer = Observer(pipeline)
        self.sla: SlaReport | None = None  # with observed rates, once the pass is finished
        self.outcomes = load_outcomes()  # risk and approving words (rules/outcomes.yaml)
        self.tools: dict[tuple[str, str], Tool] = {
            (a.id, t.name): t for a in pipeline.agents for t in a.tools
        }
        observers = (REGISTRY[name].observer for name in CHECKS)  # in output order
        self.checks: tuple[Observed, ...] = tuple(o(self) for o in observers if o is not None)
        own: dict[type, Handler] = {
            ModelCall: self._on_model_call,
            ToolCall: self._on_tool_call,
            DataAccess: self._on_data_access,
            Decision: self._on_decision,
            Verification: self._on_verification,
            Approval: self._on_approval,
            Error: self._on_error,
            RunEnd: self._on_run_end,
        }
        handlers: dict[type, list[Handler]] = {
            kind: [own[kind]] if kind in own else [] for kind in get_args(AnyEvent)
        }
        for observed in self.checks:  # in registration order, after the judge's own
            for kind, handler in observed.handlers():
                handlers[kind].append(handler)
        self.dispatch: dict[type, tuple[Handler, ...]] = {
            kind: tuple(hs) for kind, hs in handlers.items()
        }

    # -- bookkeeping ----------------------------------------------------------------------------

    def control(self, agent: str, check: str) -> Control:
        """The control of ``check`` for ``agent`` (created empty)."""
        c = self.controls.get((agent, check))
        if c is None:  # made only when new: this runs for every control operating
            c = self.controls[agent, check] = Control(shown_runs=self.shown_runs)
        return c

    def operated(
        self, agent: str, check: str, where: Location, by: Location | None = None
    ) -> Control:
        """Count that the control of ``check`` operated at ``where``, and sample it; ``by`` is
        the event that evidences it (the approval or verification), for the population row.

        Every event of the control is in its population (and its CSV), anchored or not; an
        unanchored ``where`` is not counted as the control operating nor sampled: it may prove
        a failure (see :meth:`Control.fail`), never that the control operated."""
        entry = self.operating.get((agent, check))  # one lookup: this runs for most events
        if entry is None:
            entry = self._operating(agent, check)
        c, pop, spooled = entry
        if spooled:  # the work paper's controls
            self.spool.add(agent, check, where, self.ts, by)  # type: ignore[union-attr]
        pop.size += 1
        if not where.anchored:
            pop.unanchored += 1
            return c
        c.operated += 1
        if self.sample:  # reservoir sampling (Algorithm R) of the anchored: reproducible for a seed
            k = pop.size - pop.unanchored
            if len(pop.sample) < self.sample:
                pop.sample.append(where)
            else:
                j = self.rnd.randrange(k)
                if j < self.sample:
                    pop.sample[j] = where
        return c

    def _operating(self, agent: str, check: str) -> tuple[Control, Population, bool]:
        """The control of ``check`` for ``agent``, the population of ``check`` (each made when
        new, in that order) and whether its rows are written: kept for :meth:`operated`."""
        c = self.control(agent, check)
        pop = self.populations.get(check)
        if pop is None:
            pop = self.populations[check] = Population()
        entry = self.operating[agent, check] = (
            c,
            pop,
            self.spool is not None and agent in self.agents,
        )
        return entry

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
        is found. :attr:`Evidence.unanchored_events` counts them.

        An event whose ``agent`` is a stand-in (``x_agent_from``: ``collect`` wrote it before
        the agent span above it arrived) is judged as no declared agent's (:meth:`_stand_in`):
        no check of the agent it names counts it, so no pass rests on it.

        This runs for every event (issue 28, item 2): fields are read once into locals, the
        actor of an ``agent`` string is looked up rather than worked out again
        (:meth:`_actor`), and the SLA observer is given it."""
        run_id, span, parent = ev.run, ev.span, ev.parent
        where = _location(Location, (file, line, ev.seq, span, run_id, anchored))
        ts = self.ts = ev.ts
        runs = self.runs
        run = runs.get(run_id)
        if run is None:
            run = runs[run_id] = RunState(first=where)
            if len(runs) > MAX_OPEN_RUNS:
                old, _ = runs.popitem(last=False)
                self._never_ended(old)
                self.observer.forget(old)
        else:
            runs.move_to_end(run_id)
        if self.first_ts is None:
            self.first_ts = ts
        self.last_ts = ts
        known = self.actors.get(ev.agent)
        if known is None:
            known = self._actor(ev.agent)
        actor, declared, foreign = known
        if ev.x_agent_from is not UNSET:  # collect's stand-in: not an agent that was seen
            actor, declared, foreign = self._stand_in(actor, declared, where)
        if foreign:
            self.note(
                "HA-001",
                actor,
                f"events from {actor!r}, an agent the manifest does not declare",
                where,
                f"undeclared:{actor}",
            )
        spans = run.spans
        if parent is not None:
            if parent not in spans:
                self.note(
                    "HA-203",
                    actor if declared else None,
                    f"parent {parent!r} is not an earlier event of run {run_id!r}: the "
                    "causal chain is broken here",
                    where,
                    "dangling",
                )
            spans.add(span)
            depth = run.depth
            if parent in depth:
                depth[span] = depth[parent]  # a spawned agent's work is at its depth
        else:
            spans.add(span)
        try:
            handlers = self.dispatch[type(ev)]
        except KeyError:
            handlers = self._subclass(type(ev))
        for handle in handlers:  # the judge's own, then the checks'
            handle(ev, actor, run, where)
        if anchored:
            self.observer.see(ev, actor, declared)
        else:
            self.unanchored += 1
            if isinstance(ev, RunEnd):
                self.observer.forget(run_id)  # its end is not anchored: no success to count

    def _actor(self, agent: str) -> tuple[str, bool, bool]:
        """(actor, declared, foreign) of an event's ``agent`` string: who acted
        (:func:`actor_of`), whether the manifest declares it, and whether it is an agent the
        manifest does not know (HA-001: not declared, not the harness, not a person). Kept for
        the next event of the same ``agent``, for up to :data:`MAX_ACTORS` strings."""
        actor = actor_of(agent, self.agents)
        declared = actor in self.agents
        foreign = not declared and actor != "harness" and not actor.startswith("human:")
        known = (actor, declared, foreign)
        if len(self.actors) < MAX_ACTORS:
            self.actors[agent] = known
        return known

    def _stand_in(self, actor: str, declared: bool, where: Location) -> tuple[str, bool, bool]:
        """(actor, declared, foreign) of an event whose ``agent`` is a stand-in
        (``x_agent_from``): a :data:`STAND_IN` actor, no declared agent, so no check counts the
        event for the agent it names (its pass never rests on it, nor is a failure in it pinned
        on that agent); counted per declared agent it names (:attr:`stand_ins`, the reason
        its checks are not proven when they are all it has) and said once (HA-001)."""
        if declared:
            self.stand_ins[actor] = self.stand_ins.get(actor, 0) + 1
        self.note(
            "HA-001",
            actor if declared else None,
            f"events whose agent {actor!r} is a stand-in (x_agent_from): {STAND_IN_WHY}",
            where,
            f"stand-in:{actor}",
        )
        return STAND_IN + actor, False, False

    def _subclass(self, kind: type) -> tuple[Handler, ...]:
        """The handlers of the event kind that ``kind`` is a subclass of (kept for it)."""
        for base in kind.__mro__:
            if base in self.dispatch:
                handlers = self.dispatch[kind] = self.dispatch[base]
                return handlers
        raise TypeError(f"not an event kind: {kind.__name__}")

    # -- the judge's own bookkeeping, shared by the checks (run state) and its findings -----------

    def _on_model_call(self, ev: ModelCall, actor: str, run: RunState, where: Location) -> None:
        """The actor's model in the run, and the run's cost (the caps are the budget check's)."""
        run.models[actor] = self._model_of(ev.model)
        run.total += ev.cost_microusd

    def _model_of(self, m: EventModel) -> Model:
        """The manifest's :class:`Model` of an event's model, made once per distinct model."""
        key = (m.provider, m.family, m.name)
        model = self.models.get(key)
        if model is None:
            model = Model(m.provider, m.family, m.name)
            if len(self.models) < MAX_MODELS:
                self.models[key] = model
        return model

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
            run.denied.append((ev.resource, ev.data_class, ev.scope, "data_access"))
            return
        self._bypass(actor, run, ev.resource, ev.data_class, ev.scope, where)

    def _on_tool_call(self, ev: ToolCall, actor: str, run: RunState, where: Location) -> None:
        target = ev.target if isinstance(ev.target, str) else ev.tool
        if ev.outcome == "denied":
            run.denied.append((target, "", ev.scope, ev.tool))
            return
        if actor in self.agents and (actor, ev.tool) not in self.tools:
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
        self._bypass(actor, run, target, "", ev.scope, where)

    def _on_verification(
        self, ev: Verification, actor: str, run: RunState, where: Location
    ) -> None:
        """Keep the verdict for the call it targets. A model verifier has worked only if it
        made a model call of its own earlier in the run (a person is exempt); a pass is kept
        to judge the verifier's own later decisions (HA-208)."""
        m = ev.model
        model, human = (
            (None, m.startswith("human:")) if isinstance(m, str) else (self._model_of(m), False)
        )
        raw = getattr(ev, "args_digest", UNBINDABLE)  # TRAIL.md: optional, like an approval's
        digest = raw if isinstance(raw, str) else None
        agent = self.agents.get(actor)
        worked = human or bool(agent and agent.human) or actor in run.models
        run.verifications.setdefault(ev.target, []).append(
            _verified(
                VerifiedBy,
                (ev.stated_verdict, actor, model, human, digest, worked, where.anchored, where),
            )
        )
        if ev.verdict == "pass":
            run.passed.setdefault(actor, []).append((ev.target, len(run.subjects)))

    def _on_approval(self, ev: Approval, actor: str, run: RunState, where: Location) -> None:
        digest = ev.args_digest if isinstance(ev.args_digest, str) else None
        run.approvals.setdefault(ev.target, []).append((ev.verdict, ev.approver, digest, where))

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

    def _on_error(self, ev: Error, actor: str, run: RunState, where: Location) -> None:
        if ev.parent is None:
            self.note(
                "HA-204",
                actor if actor in self.agents else None,
                "an error with no parent: nothing says what caused it",
                where,
                "orphan",
            )

    def _on_run_end(self, ev: RunEnd, actor: str, run: RunState, where: Location) -> None:
        self.finished += 1
        self.run_costs.append(run.total)  # caps were judged as the costs accrued
        self.runs.pop(ev.run, None)

    def _never_ended(self, run: str) -> None:
        self.never_ended += 1
        if self.first_never_ended is None:
            self.first_never_ended = run

    def finish(self, files: list[str], events: int, skipped: int) -> Evidence:
        """Close the pass: runs that never ended, observed SLA rates, then each check's
        :meth:`~harness_audit.checks.registry.Observed.finish` (silent agents, stages)."""
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
        self.sla = analyse(self.p, "equal", self.observer.result())
        for agent, n in self.stand_ins.items():  # why the agent's checks are not proven
            for name in CHECKS:
                if REGISTRY[name].observer is not None:
                    self.control(agent, name).stand_ins = n
        for observed in self.checks:
            observed.finish()
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
            sla=self.sla,
            unanchored_events=self.unanchored,
        )
