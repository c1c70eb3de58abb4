"""The data model of the evidence: where an event is, how a control operated, observations,
what the judge keeps of an open run, and the :class:`Evidence` of one pipeline's trails.

These types live below the modules that use them (the judge, the checks' observed sides, the
population spool, the trails' judgement), so none of those imports another for a type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from harness_audit.evidence.excerpts import RunEvents
from harness_audit.evidence.period import Coverage, ReviewPeriod, review_period
from harness_audit.manifest.model import Agent, Model, Pipeline, Tool
from harness_audit.sla import SlaReport
from harness_audit.trail.events import ToolCall
from harness_audit.trail.provenance import DEFAULT_SEALED_LATE_S
from harness_audit.trail.verify import VerifyReport
from harness_audit.trust import KeySource

MAX_LOCATIONS = 10_000
"""Failure locations kept per control (the count stays exact; ``Control.failures_dropped`` says
how many more were not kept), so the JSON holds every one in normal cases while memory stays
bounded (about 2 MB per control at the bound)."""
MAX_EXCEPTIONS_SHOWN = 20
"""Exception locations the HTML and PDF show per control (and excerpt from their runs);
findings.json holds every kept one."""
UNBINDABLE = ""  # a verification whose event type cannot carry args_digest: not judged on it


class Location(NamedTuple):
    """Where an event is: file, line, seq, span and run; ``anchored`` is False for an event
    that no trusted checkpoint covers (see :meth:`Judge.feed`).

    A named tuple, immutable as before: the judge makes one for every event, and a tuple is
    made in a fraction of a frozen dataclass's time (issue 28, item 2)."""

    file: str
    line: int
    seq: int
    span: str
    run: str
    anchored: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The location as in JSON output (``"unanchored": true`` only for such an event)."""
        out: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "seq": self.seq,
            "span": self.span,
            "run": self.run,
        }
        if not self.anchored:
            out["unanchored"] = True
        return out


@dataclass
class Control:
    """How one control (a check, for one agent) operated over the trails."""

    operated: int = 0
    failed: int = 0
    denied: int = 0  # attempts the harness refused: evidence that enforcement works
    reason: str | None = None
    unknown: int = 0  # events whose value the control depends on is unknown (a cost not stated)
    unknown_reason: str | None = None  # what is unknown, in words: the control is not proven
    stand_ins: int = 0  # events naming the agent only as a stand-in (x_agent_from): not its own
    failures: list[Location] = field(default_factory=list)  # the first MAX_LOCATIONS
    failures_dropped: int = 0  # failures with a location past MAX_LOCATIONS, not kept
    shown_runs: set[str] | None = field(default=None, repr=False, compare=False)
    """Where the judge collects the run of each shown exception (the first
    :data:`MAX_EXCEPTIONS_SHOWN`), for the pack's excerpts; shared by a judge's controls."""

    @property
    def stand_in_reason(self) -> str | None:
        """Why the control is not proven when the only events naming its agent name it as a
        stand-in (``x_agent_from``, see :meth:`Judge.feed`), in words; None otherwise (the one
        text of the assessment's reason, the findings and the pack's runtime table)."""
        if self.operated or not self.stand_ins:
            return None
        return (
            f"the trails name the agent only as a stand-in (x_agent_from), in "
            f"{self.stand_ins:,} event(s) written before the agent span above them arrived: "
            "who made them is not known, so they are no evidence for its checks"
        )

    @property
    def failures_located(self) -> int:
        """How many failures had a location: ``len(failures) + failures_dropped`` (renderers:
        "20 of N shown")."""
        return len(self.failures) + self.failures_dropped

    def fail(self, reason: str, where: Location | None) -> None:
        """Count a failure; keep the first reason and the first :data:`MAX_LOCATIONS`
        locations, counting the rest in ``failures_dropped``.

        A failure at an unanchored event is recorded (it proves the control did not operate)
        and says ``(unanchored)``; as such an event never counted as operated, it is counted
        here, so ``failed`` never exceeds ``operated``."""
        self.failed += 1
        if where is not None and not where.anchored:
            self.operated += 1
            reason += " (unanchored)"
        if self.reason is None:
            self.reason = reason
        if where is not None:
            if len(self.failures) < MAX_LOCATIONS:
                if self.shown_runs is not None and len(self.failures) < MAX_EXCEPTIONS_SHOWN:
                    self.shown_runs.add(where.run)
                self.failures.append(where)
            else:
                self.failures_dropped += 1


@dataclass
class Population:
    """Every event where a control operated, counted, with a reproducible random sample."""

    size: int = 0  # every event of the control, anchored or not (issue 22, item 3)
    sample: list[Location] = field(default_factory=list)  # drawn from the anchored ones
    unanchored: int = 0  # of ``size``: events no trusted checkpoint covers


@dataclass
class Observation:
    """A finding beyond the checklist: rule, message, where (first of ``count``)."""

    rule: str
    agent: str | None
    message: str
    where: Location | None
    subject: str
    count: int = 1
    folded: bool = False  # it stands for further subjects past MAX_SUBJECTS_PER_RULE


class VerifiedBy(NamedTuple):
    """A verification as the judge keeps it: verdict, verifier, its model, whether a person,
    the ``args_digest`` it is bound to (None: none; :data:`UNBINDABLE`: the event type cannot
    carry one), and whether the verifier had worked (a model call of its own earlier in the run;
    a person always has). A named tuple, like :class:`Location`: one is made for every
    verification event."""

    verdict: str
    verifier: str
    model: Model | None
    human: bool
    digest: str | None
    worked: bool = True
    anchored: bool = True  # an unanchored verification proves no pass
    where: Location | None = None  # the verification event (the work paper's evidencing row)


@dataclass
class RunState:
    """What the judge keeps of one open run: spans, models, cost, verifications, approvals and
    risky decisions. The judge keeps most of it; the fields marked "budget" are kept by the
    observed side of ``budget_cap_enforced``, which alone reads them."""

    spans: set[str] = field(default_factory=set)
    models: dict[str, Model] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)  # budget: each actor's cost so far
    total: int = 0  # the run's cost so far, every actor's
    capped: set[str] = field(default_factory=set)  # budget: agents that already failed a cap
    depth: dict[str, int] = field(default_factory=dict)  # span -> spawn depth (when > 0)
    agent_depth: dict[str, int] = field(default_factory=dict)  # budget: deepest spawn of each
    verifications: dict[str, list[VerifiedBy]] = field(default_factory=dict)
    approvals: dict[str, list[tuple[str, str, str | None, Location]]] = field(default_factory=dict)
    # target -> (verdict, approver, args_digest, where the approval is)
    risky: list[tuple[str, str, str]] = field(default_factory=list)  # (span, outcome, agent)
    subjects: dict[str, int] = field(default_factory=dict)  # subject -> order first decided
    passed: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # verifier -> (target, how many subjects were decided on when it passed it)
    denied: list[tuple[str, str, str, str]] = field(default_factory=list)
    first: Location | None = None


@dataclass
class Evidence:
    """The judgement of one pipeline's trails: every control, observation and population."""

    pipeline: str
    files: list[str]
    events: int
    skipped: int
    runs: int
    open_runs: int
    controls: dict[tuple[str, str], Control]
    observations: list[Observation]
    populations: dict[str, Population]
    run_costs: list[int]
    first_ts: str | None
    last_ts: str | None
    verify: VerifyReport | None = None  # the report of the same trails
    sla: SlaReport | None = None  # with observed rates
    trust: TrailTrust | None = None  # which key anchored the trails, and where it came from
    unanchored_events: int = 0  # events fed with anchored=False: they proved no pass
    coverage: Coverage | None = None  # the period of review and the trails' gaps in it
    excerpts: dict[str, RunEvents] | None = None  # the runs of shown exceptions (report only)
    digests: dict[str, tuple[int, str]] | None = None  # file: (bytes, SHA-256) (report only)

    def control(self, agent: str, check: str) -> Control:
        """The control of ``check`` for ``agent`` (created empty)."""
        return self.controls.setdefault((agent, check), Control())

    def review_period(self) -> ReviewPeriod:
        """The period of review (:func:`harness_audit.evidence.period.review_period`): the
        declared one, else the trails' span; the one period HA-207 and the work paper use."""
        cov = self.coverage
        return review_period(cov.period if cov else None, self.first_ts, self.last_ts)

    @property
    def period_days(self) -> float | None:
        """Days from the first event to the last (None without both)."""
        if not self.first_ts or not self.last_ts:
            return None
        import datetime as dt

        def parse(ts: str) -> dt.datetime:
            return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))

        try:
            return (parse(self.last_ts) - parse(self.first_ts)).total_seconds() / 86400
        except ValueError:
            return None

    def cost_summary(self) -> dict[str, float | int | None]:
        """Cost per finished run: count, p50, p95 and max in dollars."""
        costs = sorted(self.run_costs)
        if not costs:
            return {"runs": 0, "p50_usd": None, "p95_usd": None, "max_usd": None}

        def q(f: float) -> float:
            return costs[min(len(costs) - 1, int(f * len(costs)))] / 1e6

        return {
            "runs": len(costs),
            "p50_usd": q(0.5),
            "p95_usd": q(0.95),
            "max_usd": costs[-1] / 1e6,
        }


@dataclass(frozen=True, slots=True)
class TrailTrust:
    """How a pipeline's trails were anchored: the verify status, the key that anchored them,
    where that key came from, whether it was pinned, how many witnesses cosigned, and their
    provenance as the signed checkpoints say (issue 22): when the anchor was signed, how long
    after the last event it anchors, and whether a ``trail import`` sealed them."""

    status: str
    key_id: str | None  # "<name>+<hex key id>" of the anchoring key
    key_source: KeySource | None
    pinned: bool
    witnesses: int
    unanchored_events: int
    signed_at: str | None = None  # the anchor's signing time (None: not recorded)
    sealed_after_s: float | None = None  # signed this long after its last event (None: unknown)
    imported: bool = False  # a trusted checkpoint of the trail sealed a ``trail import``
    sealed_late_after_s: float = DEFAULT_SEALED_LATE_S  # longer is sealed after the fact
    provenance_reason: str | None = None  # why it proves what the source said, not when
    # what the object store shows of the trail's retention (s3:// only: a StoreRetention);
    # a local folder's retention is what the manifest declares, not proven
    retention: Any = None
    # events whose source stated no time (x_time): how long after them the trail was sealed
    # is not known, so it cannot be shown captured at the source (sealed_after_s is None)
    time_unstated: int = 0

    @property
    def sealed_after_the_fact(self) -> bool:
        """Imported, signed longer than the setting after the events it anchors, or holding
        events of unstated time: the trail proves what its source said, not when
        (``trail_is_immutable`` does not pass)."""
        late = self.sealed_after_s is not None and self.sealed_after_s > self.sealed_late_after_s
        return self.status == "verified" and (self.imported or late or self.time_unstated > 0)

    def describe(self) -> str:
        """One line for people: the status, which key anchored the trail and whether it was
        pinned, witnesses, how many events were judged unanchored, and its provenance."""
        if self.status == "verified":
            text = (
                f"verified with the pinned key {self.key_id} ({self.key_source})"
                if self.pinned
                else "verified with the manifest's own key (not pinned)"
            )
        elif self.status == "intact_unanchored":
            text = "intact, unanchored: no checkpoint signed by a trusted key"
        else:
            text = "failed: the trail does not verify"
        if self.witnesses:
            text += f"; cosigned by {self.witnesses} witness(es)"
        if self.unanchored_events:
            text += f"; {self.unanchored_events:,} event(s) judged unanchored (prove no pass)"
        if self.status == "verified":
            if self.sealed_after_the_fact:
                text += f"; {self.provenance_reason or 'sealed after the fact'}"
            elif self.signed_at is None:
                text += "; signing time not recorded"
            else:
                text += f"; captured at the source (signed {self.signed_at})"
        if self.retention is not None:
            text += f"; {self.retention.describe()}"
        return text

    def as_dict(self) -> dict[str, object]:
        """The scan JSON's per-pipeline ``trail`` object (CLI.md, Trust root)."""
        return {
            "status": self.status,
            "key_id": self.key_id,
            "key_source": self.key_source,
            "pinned": self.pinned,
            "witnesses": self.witnesses,
            "unanchored_events": self.unanchored_events,
            "signed_at": self.signed_at,
            "sealed_after_seconds": (
                None if self.sealed_after_s is None else round(self.sealed_after_s, 3)
            ),
            "sealed_late_after_seconds": self.sealed_late_after_s,
            "imported": self.imported,
            "sealed_after_the_fact": self.sealed_after_the_fact,
            **({"events_time_unknown": self.time_unstated} if self.time_unstated else {}),
            **({"retention": self.retention.as_dict()} if self.retention is not None else {}),
        }


Handler = Callable[[Any, str, RunState, Location], None]
"""What the judge calls for an event of a kind a check registered for: ``(event, actor, run,
where)`` (the event is of that kind)."""


class Judging(Protocol):
    """What a check's observed side sees of the judge (:class:`harness_audit.evidence.judge.Judge`)
    in its one pass: the pipeline, its agents and tools, the controls it counts, and after the
    pass the SLA report with observed rates."""

    p: Pipeline
    agents: dict[str, Agent]
    tools: dict[tuple[str, str], Tool]
    sla: SlaReport | None
    stand_ins: dict[str, int]  # declared agent -> events naming it only as a stand-in

    def control(self, agent: str, check: str) -> Control:
        """The control of ``check`` for ``agent`` (created empty)."""
        ...

    def operated(
        self, agent: str, check: str, where: Location, by: Location | None = None
    ) -> Control:
        """Count that the control of ``check`` operated at ``where`` (``by``: the event that
        evidences it, an approval or a verification), and sample it."""
        ...


def effect_of(ev: ToolCall, actor: str, tools: Mapping[tuple[str, str], Tool]) -> str:
    """The effect a tool call is judged by: the event's, or for ``unknown`` the manifest's
    for the actor's tool of that name, else ``destructive`` (IMPORT.md: undeclared, so possibly
    destructive)."""
    effect: str = ev.effect
    if effect == "unknown":
        tool = tools.get((actor, ev.tool))
        effect = tool.effect if tool is not None else "destructive"
    return effect
