"""Run the checks and rules over pipelines and score them: the :class:`Assessment`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from harness_audit.checks.catalogue import RuleBook, load_rulebook
from harness_audit.checks.checks import CHECK_FUNCTIONS, CHECKS, CheckResult, Context
from harness_audit.evidence.model import Control, Evidence
from harness_audit.evidence.outcomes import basis, period_words
from harness_audit.evidence.period import Gap, review_period, span_text
from harness_audit.findings import SEVERITY_ORDER, FailOn, Finding, Severity
from harness_audit.graph import graph_findings
from harness_audit.manifest.model import Agent, AiActClass, Pipeline
from harness_audit.sla import decompose

Band = Literal["audit-ready", "at-risk", "audit-will-fail"]
BANDS: tuple[Band, ...] = ("audit-ready", "at-risk", "audit-will-fail")
RETENTION_MINIMUM_DAYS = 183  # EU AI Act Art. 19 and 26(6): at least six months
RETENTION_MINIMUM_SOURCE = "EU AI Act Art. 19(1) and 26(6): at least six months"
"""Where the six months HA-207 asks for come from: the same for every manifest (a shorter
declared ``retention_days`` is HA-106, not a smaller ask)."""


def _covered_days(e: Evidence) -> float | None:
    """Days the trails cover inside the period of review: first to last event placed in it
    (the trails' span when no period is declared); None without events."""
    cov = e.coverage
    if cov is None:
        return review_period(None, e.first_ts, e.last_ts).days
    if cov.period is not None and cov.first is None:
        return 0.0  # a declared period no event falls in: the trails cover none of it
    return review_period(None, cov.first, cov.last).days


OPEN = frozenset({"fail", "not_proven"})
"""The statuses that count in the gap score: a fail, and a pass the evidence does not prove."""


def band(score: int) -> Band:
    """The band of a score (failed or unproven checks of the worst agent): ``audit-ready``
    only when every applicable check passes."""
    if score == 0:
        return "audit-ready"
    return "at-risk" if score < 4 else "audit-will-fail"


@dataclass(frozen=True, slots=True)
class AgentResult:
    """One agent's seven checks."""

    agent: Agent
    checks: dict[str, CheckResult]

    @property
    def id(self) -> str:
        """The agent's id."""
        return self.agent.id

    @property
    def score(self) -> int:
        """How many of its checks fail or are not proven (fail closed: an unproven pass is
        no pass)."""
        return sum(1 for r in self.checks.values() if r.status in OPEN)

    @property
    def band(self) -> Band:
        """The band of its score."""
        return band(self.score)


@dataclass(frozen=True)
class PipelineResult:
    """One pipeline: its agents' checks, every finding, the compound and the evidence."""

    pipeline: Pipeline
    agents: tuple[AgentResult, ...]
    findings: tuple[Finding, ...]
    compound: float | None
    evidence: Evidence | None = None

    @property
    def basis(self) -> str:
        """What the results rest on: a design review (no trails) or operating evidence, and
        for which period (the words of ``rules/outcomes.yaml``)."""
        return basis(self.evidence)

    @property
    def score(self) -> int:
        """The worst agent's count of failed or unproven checks."""
        return max((a.score for a in self.agents), default=0)

    @property
    def band(self) -> Band:
        """The band of the score."""
        return band(self.score)

    @property
    def effective_score(self) -> int:
        """The worst agent's count of failed checks that no waiver or baseline covers."""
        open_ = {(f.agent, f.check) for f in self.findings if f.check and not f.suppressed}
        return max(
            (
                sum(1 for c in CHECKS if a.checks[c].status in OPEN and (a.id, c) in open_)
                for a in self.agents
            ),
            default=0,
        )

    @property
    def failing_checks(self) -> list[str]:
        """The checks that fail for at least one agent, in checklist order."""
        return [c for c in CHECKS if any(a.checks[c].status == "fail" for a in self.agents)]

    @property
    def unproven_checks(self) -> list[str]:
        """The checks not proven for at least one agent (and failing for none), in checklist
        order."""
        failing = set(self.failing_checks)
        return [
            c
            for c in CHECKS
            if c not in failing and any(a.checks[c].status == "not_proven" for a in self.agents)
        ]


@dataclass(frozen=True)
class Assessment:
    """Every pipeline assessed, with the rule book and the waivers' states."""

    pipelines: tuple[PipelineResult, ...]
    rules: RuleBook
    waivers: tuple[Any, ...] = ()  # harness_audit.waivers.WaiverState, for reports

    @property
    def score(self) -> int:
        """The worst pipeline's score."""
        return max((p.score for p in self.pipelines), default=0)

    def fails(self, fail_on: FailOn) -> bool:
        """Whether the result is at or above the ``--fail-on`` threshold (CLI.md).

        ``any``: a failed or unproven check anywhere, or a finding of severity medium or
        higher. ``at-risk`` / ``audit-will-fail``: a pipeline in that band or worse.
        ``critical`` / ``high`` / ``medium`` / ``low``: an unwaived finding of that severity or
        higher (a failed or unproven check is a finding of its rule's severity), and only then.
        ``never``: no.
        """
        if fail_on == "never":
            return False
        findings = [f for p in self.pipelines for f in p.findings if not f.suppressed]
        if fail_on == "any":
            return any(
                f.check is not None or SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER["medium"]
                for f in findings
            )
        if fail_on in SEVERITY_ORDER:
            return any(SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[fail_on] for f in findings)
        return any(
            BANDS.index(band(p.effective_score)) >= BANDS.index(fail_on) for p in self.pipelines
        )


def _tally(control: Control) -> str:
    """How often a control failed, of how often it operated: "(3 of 61)", or "(3 times)"
    when the count of operations says nothing (none were observed)."""
    if 0 < control.failed <= control.operated:
        return f"({control.failed:,} of {control.operated:,})"
    return "" if control.failed == 1 else f"({control.failed:,} times)"


def _caveat(evidence: Evidence | None) -> str:
    """What an observed judgement rests on, when the trails did not verify."""
    status = evidence.verify.status if evidence and evidence.verify else None
    if status == "failed":
        return "; judged on a trail that did not verify"
    if status == "intact_unanchored":
        return "; judged on a trail no trusted checkpoint anchors"
    return ""


POPULATION_CHECKS = frozenset(
    {
        "access_enforced_at_harness",
        "budget_cap_enforced",
        "independent_verification",
        "human_gate_for_destructive_ops",
        "sla_decomposed_per_stage",
    }
)
"""The checks whose population is the agent's own events: an agent with none in the trails
operated no control there, so its declared pass is not proven."""


def _gaps(evidence: Evidence) -> list[Gap]:
    return evidence.coverage.gaps() if evidence.coverage is not None else []


def not_proven_why(check: str, control: Control | None, evidence: Evidence) -> list[str]:
    """Why the trails do not prove a declared pass of ``check`` (empty: they prove it): no
    event in its population, a trail that does not verify or that no trusted checkpoint
    anchors, an anchoring key that is not pinned, a coverage gap in the period, an unknown
    cost, events that name the agent only as a stand-in (README, "A green is earned")."""
    why = []
    stand_in = control.stand_in_reason if control is not None else None
    if stand_in is not None:
        why.append(stand_in)
    elif control is None or not control.operated:
        what = (
            "the trails hold no event"
            if check == "trail_is_immutable"
            else "no event of the agent in its population: the control never operated in the trails"
        )
        why.append(what)
    status = evidence.verify.status if evidence.verify is not None else None
    trust = evidence.trust
    if status is None:
        why.append("the trails were not verified")
    elif status == "failed":
        why.append("the trail does not verify")
    elif status == "intact_unanchored" or trust is None or trust.key_id is None:
        why.append("no checkpoint signed by a trusted key anchors the trail")
    elif not trust.pinned:
        why.append(
            f"the key anchoring the trail ({trust.key_id}) is the manifest's own, not pinned "
            "(give it with --key or trust.keys)"
        )
    gaps = _gaps(evidence)
    if gaps:
        longest = max(gaps, key=lambda g: g.hours)
        why.append(
            f"{len(gaps):,} coverage gap(s) in the period (the longest {longest.hours:,.1f} h, "
            f"{longest.start} to {longest.end})"
        )
    cov = evidence.coverage
    if cov is not None and cov.unstated:  # placed times are no evidence of coverage
        why.append(
            f"{cov.unstated:,} event(s) with no time their source stated (x_time): the trails "
            "cannot show the controls operated over the period"
        )
    if control is not None and control.unknown:
        why.append(f"{control.unknown:,} {control.unknown_reason or 'event(s) of unknown value'}")
    if check == "trail_is_immutable" and trust is not None and trust.sealed_after_the_fact:
        why.append(  # it proves what the source said, not when
            trust.provenance_reason
            or "sealed after the fact; the source format proves nothing before that"
        )
    return why


def proven_by(control: Control, evidence: Evidence) -> str:
    """What a pass rests on, for its reason: how often it operated, on which trail and key,
    over which period."""
    text = f"operated {control.operated:,} times, no failure"
    text += f", {control.denied:,} denied by the harness" if control.denied else ""
    if evidence.trust is not None and evidence.trust.key_id:
        text += f", on a trail anchored by the pinned key {evidence.trust.key_id}"
    if evidence.trust is not None and evidence.trust.sealed_after_the_fact:
        text += ", on imported evidence" if evidence.trust.imported else ", on evidence sealed late"
    span = period_words(evidence)
    return text + (f", {span}" if span else "")


def _merge(
    check: str, declared: CheckResult, control: Control | None, evidence: Evidence | None
) -> CheckResult:
    """A check fails when the declaration or the evidence fails; the reason says which, and
    on what the observation rests. Without trails the declaration stands (a design review);
    with trails a declared pass is ``pass`` only when the events prove it, else ``not_proven``
    with the reasons (:func:`not_proven_why`)."""
    caveat = _caveat(evidence)
    if evidence is None:
        return declared
    if control is None or not control.failed:
        if declared.status != "pass":
            return declared
        why = not_proven_why(check, control, evidence)
        if why:
            return replace(
                declared,
                status="not_proven",
                reason=f"{declared.reason}; not proven: " + "; ".join(why),
            )
        assert control is not None  # a control that never operated is not proven
        return replace(
            declared, reason=f"{declared.reason} (observed: {proven_by(control, evidence)})"
        )
    observed = f"observed: {control.reason} {_tally(control)}".rstrip() + caveat
    if declared.status == "fail":
        return replace(declared, reason=f"declared: {declared.reason}; {observed}")
    return replace(declared, status="fail", reason=observed)


def assess_pipeline(
    pipeline: Pipeline, rules: RuleBook | None = None, evidence: Evidence | None = None
) -> PipelineResult:
    """Judge the seven checks for every agent (declared, and observed when ``evidence`` is
    given), and collect every finding, graph and evidence findings included."""
    rules = rules or load_rulebook()
    ctx = Context(pipeline, decompose(pipeline))
    findings: list[Finding] = []
    agents = []
    for a in pipeline.agents:
        declared = {c: CHECK_FUNCTIONS[c](ctx, a) for c in CHECKS}
        results = {
            c: _merge(c, r, evidence.controls.get((a.id, c)) if evidence else None, evidence)
            for c, r in declared.items()
        }
        agents.append(AgentResult(a, results))
        for c, r in results.items():
            rule = rules.for_check(c)
            control = evidence.controls.get((a.id, c)) if evidence else None
            if declared[c].status == "fail":
                findings.append(
                    Finding(
                        rule.id,
                        rule.severity,
                        f"{a.id}: {declared[c].reason}",
                        pipeline.file,
                        r.line,
                        pipeline.name,
                        a.id,
                        c,
                        r.subject,
                    )
                )
            if r.status == "not_proven":
                findings.append(
                    Finding(
                        rule.id,
                        rule.severity,
                        f"{a.id}: not proven: {r.reason.partition('; not proven: ')[2]}",
                        pipeline.file,
                        r.line,
                        pipeline.name,
                        a.id,
                        c,
                        f"not_proven:{c}",
                        not_proven=True,
                    )
                )
            if control is not None and control.failed:
                where = control.failures[0] if control.failures else None
                findings.append(
                    Finding(
                        rule.id,
                        rule.severity,
                        f"{a.id}: observed: {control.reason} {_tally(control)}".rstrip()
                        + _caveat(evidence),
                        where.file if where else pipeline.file,
                        where.line if where else r.line,
                        pipeline.name,
                        a.id,
                        c,
                        f"observed:{c}",
                        where.seq if where else None,
                        where.span if where else None,
                    )
                )
            for rule_id, message in r.warnings:
                wr = rules.rules[rule_id]
                findings.append(
                    Finding(
                        rule_id,
                        "info" if wr.check else wr.severity,
                        f"{a.id}: {message}",
                        pipeline.file,
                        r.line,
                        pipeline.name,
                        a.id,
                        None,
                        f"{c}:{message}",
                    )
                )
    severities = {r.id: r.severity for r in rules.rules.values()}
    findings.extend(graph_findings(pipeline, severities))
    findings.extend(_pipeline_findings(pipeline, ctx, severities))
    if evidence is not None:
        findings.extend(_evidence_findings(pipeline, evidence, severities))
    findings.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], f.file, f.line, f.rule))
    return PipelineResult(pipeline, tuple(agents), tuple(findings), ctx.sla.compound, evidence)


def _evidence_findings(
    pipeline: Pipeline, evidence: Evidence, sev: dict[str, Severity]
) -> list[Finding]:
    out = []
    for o in evidence.observations:
        more = f" ({o.count:,} times)" if o.count > 1 else ""
        w = o.where
        out.append(
            Finding(
                o.rule,
                sev[o.rule],
                o.message + more,
                w.file if w else pipeline.file,
                w.line if w else pipeline.trail.line or 1,
                pipeline.name,
                o.agent,
                None,
                o.subject,
                w.seq if w else None,
                w.span if w else None,
            )
        )
    kept = evidence.trust.retention if evidence.trust is not None else None
    if kept is not None:  # a trail in object storage: the store's showing is judged
        for kind, message in kept.problems():
            out.append(
                Finding(
                    "HA-106",
                    sev["HA-106"],
                    f"retention as the store shows it: {message}",
                    kept.location,
                    1,
                    pipeline.name,
                    subject=f"retention:store:{kind}",
                )
            )
    review = evidence.review_period()
    days = _covered_days(evidence)
    if days is not None and days < RETENTION_MINIMUM_DAYS:
        out.append(
            Finding(
                "HA-207",
                sev["HA-207"],
                f"the trails cover {span_text(days)} of the period of review {review.text}; "
                f"an auditor will ask for at least {RETENTION_MINIMUM_DAYS} days "
                f"({RETENTION_MINIMUM_SOURCE})",
                evidence.files[0] if evidence.files else pipeline.file,
                1,
                pipeline.name,
                subject="period",
            )
        )
    return out


def _class_words(act: AiActClass | None) -> str:
    if act is None or act.risk_class == "unclassified":
        return "not classified"
    if act.risk_class == "high":
        return f"high-risk, Annex III point {act.annex_iii}"
    return f"declared {act.risk_class} risk"


def _pipeline_findings(pipeline: Pipeline, ctx: Context, sev: dict[str, Severity]) -> list[Finding]:
    out: list[Finding] = []
    t = pipeline.trail
    act = pipeline.compliance.eu_ai_act
    # Art. 19 and 26(6) bind high-risk systems alone: none for one declared limited or minimal
    bound = act is None or act.risk_class in ("high", "unclassified")
    short = t.retention_days is None or t.retention_days < RETENTION_MINIMUM_DAYS
    if t.enabled and bound and short:
        what = (
            "trail.retention_days is not declared"
            if t.retention_days is None
            else f"trail.retention_days is {t.retention_days}"
        )
        out.append(
            Finding(
                "HA-106",
                sev["HA-106"],
                f"{what}: automatically generated logs of a high-risk system must be kept at "
                f"least {RETENTION_MINIMUM_DAYS} days (EU AI Act Art. 19, 26(6); this system is "
                f"{_class_words(act)})",
                pipeline.file,
                t.line,
                pipeline.name,
                subject="retention",
            )
        )
    d = ctx.sla
    if d.compound is not None and d.target is not None and d.compound < d.target:
        out.append(
            Finding(
                "HA-108",
                sev["HA-108"],
                f"declared compound reliability {d.compound:.6f} misses the target "
                f"{d.target:g} ({len(d.series_stages)} series stages)",
                pipeline.file,
                pipeline.slo.line,
                pipeline.name,
                subject="slo",
            )
        )
    return out


def assess(
    pipelines: Sequence[Pipeline], evidence: dict[str, Evidence] | None = None
) -> Assessment:
    """Assess each pipeline; ``evidence`` maps pipeline names to what their trails showed."""
    rules = load_rulebook()
    ev = evidence or {}
    return Assessment(tuple(assess_pipeline(p, rules, ev.get(p.name)) for p in pipelines), rules)
