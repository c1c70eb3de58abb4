"""One page per pipeline that a CISO reads (issue 22, item 7): six questions, each answered
yes, no, not proven or not applicable, with the reason (the evidence it rests on) and a link
into the detail of the pack.

Every answer is read off the judgement the pack already carries (each agent's check results,
the findings, the SLA report of the same trails); nothing is judged again, and nothing is
answered more kindly than the detail: a question is ``no`` when any agent's check fails or a
finding contradicts it, ``not proven`` when any is not proven (or the result is a design review,
or the SLA report cannot show the target is met), ``yes`` only when every applicable agent's
check passed on the trails, and ``n/a`` when no agent has what it asks about.

The pages come first in the pack's HTML and PDF (after the cover) and stand alone as
``summary.html`` and ``summary.pdf`` in the pack; ``report --summary-only`` writes the PDF alone,
for filing. Nothing here prints; every string from a manifest or trail stays text (the template
escapes it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness_audit.evidence.outcomes import period_words, status_words
from harness_audit.evidence.period import review_period, span_text
from harness_audit.evidence.population import control_key
from harness_audit.report.workpaper import control_anchor

if TYPE_CHECKING:
    from markupsafe import Markup

    from harness_audit.audit import AuditRequest, AuditRun
    from harness_audit.checks.assessment import AgentResult, Assessment, PipelineResult
    from harness_audit.checks.registry import CheckResult
    from harness_audit.evidence.model import Evidence
    from harness_audit.findings import Finding
    from harness_audit.sla import SlaReport

Answer = Literal["yes", "no", "not_proven", "n/a"]
ANSWER_WORDS: dict[str, str] = {
    "yes": "yes",
    "no": "no",
    "not_proven": "not proven",
    "n/a": "not applicable",
}
"""How each answer is written on the page."""

MAX_TEXT = 160
"""Characters of one check's or finding's reason quoted on the page: the page is one page; the
detail it links to holds the whole text."""
MAX_REASON = 460
"""Characters of one answer's whole reason, at most (six of them fit one A4 page)."""
MAX_NAMES = 3
"""Agents named in one reason before "and N more"."""
MAX_NAME = 60
"""Characters of a pipeline's name shown on the page."""
MAX_AGENT = 32
"""Characters of an agent's name shown on the page."""


@dataclass(frozen=True, slots=True)
class Question:
    """One question a CISO asks of a pipeline: the checks whose results answer it, the rules
    whose findings answer ``no`` besides them, and the section of the pack that holds the detail
    when no agent's entry does."""

    key: str
    text: str
    checks: tuple[str, ...]
    rules: tuple[str, ...]
    section: str
    section_title: str
    proves: str  # what a yes says was shown, before the counts
    counted: tuple[str, ...]  # what the events of each check's population are, for a yes
    short_of_yes: tuple[str, ...] = ()  # warnings of a passing check that leave it unproven


QUESTIONS: tuple[Question, ...] = (
    Question(
        "recorded",
        "Is every decision recorded and tamper-evident?",
        ("has_audit_trail", "trail_is_immutable"),
        (),
        "integrity",
        "Trail integrity",
        "every agent's events are in the trail, hash-chained and verified",
        ("events of the agents", "trail events chained and anchored"),
    ),
    Question(
        "access",
        "Is access outside scope enforced and shown?",
        ("access_enforced_at_harness",),
        ("HA-202", "HA-206"),  # a guardrail routed around; a tool the manifest does not declare
        "runtime",
        "Runtime evidence",
        "the harness enforces every agent's scopes and no call or access outside them went through",
        ("calls and data accesses",),
    ),
    Question(
        "verified",
        "Are writes independently verified before they happen?",
        ("independent_verification",),
        ("HA-101", "HA-208"),  # a verifier verifying itself; a pass it then decided against
        "workpaper",
        "Controls tested",
        "every write, destructive or external call was passed by an independent verifier "
        "before it ran",
        ("write, destructive or external calls",),
    ),
    Question(
        "gated",
        "Are destructive actions gated by a listed human?",
        ("human_gate_for_destructive_ops",),
        ("HA-102",),  # untrusted input reaching a destructive or external tool with no gate
        "workpaper",
        "Controls tested",
        "every destructive or external call was approved by a person the manifest lists "
        "before it ran",
        ("destructive or external calls",),
        ("HA-006",),  # no approvers named: any person's approval passes, so no human is listed
    ),
    Question(
        "costs",
        "Are costs capped?",
        ("budget_cap_enforced",),
        (),
        "runtime",
        "Runtime evidence",
        "every run stayed within the caps the harness enforces",
        ("capped model calls, spawns and blocked budget checks",),
    ),
    Question(
        "slo",
        "Does the compound reliability meet the SLO?",
        ("sla_decomposed_per_stage",),
        ("HA-108",),  # the declared compound misses the target
        "sla",
        "SLA decomposition",
        "the declared compound meets the target and every stage's observed rate shows its share",
        ("stage attempts",),
    ),
)
"""The six questions, in the order of the page."""


@dataclass(frozen=True, slots=True)
class Link:
    """A link into the detail of the pack: the id of its target in ``evidence.html`` and what
    it is, in words (the filed PDF keeps the words)."""

    anchor: str
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One question answered: the answer, why (naming the evidence), and where the detail is."""

    question: Question
    answer: Answer
    reason: str
    links: tuple[Link, ...]

    @property
    def word(self) -> str:
        """The answer as the page writes it."""
        return ANSWER_WORDS[self.answer]


@dataclass(frozen=True)
class Page:
    """One pipeline's page: its name, gap score, band and basis, what its trails are, and the
    six replies."""

    pipeline: str
    score: int
    band: str
    basis: str
    trail: str
    replies: tuple[Reply, ...]


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (the detail holds it whole)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _names(names: Sequence[str]) -> str:
    shown = [clip(n, MAX_AGENT) for n in names[:MAX_NAMES]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _entry(pipeline: str, agent: str, check: str) -> Link:
    return Link(
        control_anchor(pipeline, control_key(agent, check)),
        f"{clip(agent, MAX_AGENT)}: {check.replace('_', ' ')}",
    )


def trail_text(e: Evidence | None) -> str:
    """What the pipeline's trails are, in one sentence: since when they record, how they are
    anchored and whether captured at the source or sealed after the fact, and how much of the
    period of review they cover."""
    if e is None:
        return "no trail was given: what the agents did is not shown (a design review)"
    cov = e.coverage
    first = cov.first if cov is not None and cov.first else e.first_ts
    last = cov.last if cov is not None and cov.last else e.last_ts
    since = f"recorded from {first} to {last}" if first else "no event in the period"
    trust = e.trust.describe() if e.trust is not None else "not verified"
    review = e.review_period()
    covered = (
        review_period(None, cov.first, cov.last).days
        if cov is not None and cov.first
        else (0.0 if cov is not None and cov.period is not None else e.period_days)
    )
    share = (
        f"covers {span_text(covered)} of the period of review"
        + (f"'s {span_text(review.days)}" if review.days is not None else "")
        if covered is not None
        else f"period of review {review.text}"
    )
    gaps = cov.gaps() if cov is not None else []
    if gaps:
        longest = max(gaps, key=lambda g: g.hours)
        share += f", with {len(gaps):,} coverage gap(s) (the longest {longest.hours:,.1f} h)"
    return f"{since}; {trust}; {share}"


def _evidence_words(e: Evidence, with_period: bool = True) -> str:
    """What a yes rests on: the trail's anchoring key and the period."""
    key = (
        f"a trail anchored by the pinned key {e.trust.key_id}"
        if e.trust is not None and e.trust.key_id
        else "the trail"
    )
    span = period_words(e) if with_period else ""
    return key + (f", {span}" if span else "")


def _where(file: str, line: int, seq: int | None) -> str:
    """An event or manifest line, by the file's name (the detail gives its path)."""
    return f"{Path(file).name}:{line}" + (f" seq {seq}" if seq is not None else "")


def _tail(r: CheckResult) -> str:
    return r.reason.partition("; not proven: ")[2] or r.reason


def _waived(p: PipelineResult, q: Question) -> list[Finding]:
    return [
        f for f in p.findings if f.waived is not None and (f.check in q.checks or f.rule in q.rules)
    ]


def _no(p: PipelineResult, q: Question, fails: list[tuple[AgentResult, str, CheckResult]]) -> Reply:
    name = p.pipeline.name
    parts: list[str] = []
    links: list[Link] = []
    if fails:
        a, check, r = fails[0]
        ctl = p.evidence.controls.get((a.id, check)) if p.evidence else None
        where = ctl.failures[0] if ctl and ctl.failures else None
        at = f" (at {_where(where.file, where.line, where.seq)})" if where else ""
        parts.append(f"{clip(a.id, MAX_AGENT)}: {clip(r.reason)}{at}")
        others = sorted({x.id for x, _, _ in fails[1:]} - {a.id})
        if others:
            parts.append(f"also failing for {_names(others)}")
        links.append(_entry(name, a.id, check))
    related = [f for f in p.findings if f.rule in q.rules and f.severity != "info"]
    if related:
        f = related[0]
        more = f" (and {len(related) - 1:,} more)" if len(related) > 1 else ""
        parts.append(f"{f.rule}: {clip(f.message, 120)} ({_where(f.file, f.line, f.seq)}){more}")
        links.append(Link("findings", "Findings"))
    waived = _waived(p, q)
    note = (
        f"; {len(waived):,} of these finding(s) waived: a waiver accepts the risk, it does not "
        "remove it"
        if waived
        else ""
    )
    return Reply(q, "no", clip("; ".join(parts), MAX_REASON - len(note)) + note, tuple(links))


def _not_proven(
    p: PipelineResult, q: Question, open_: list[tuple[AgentResult, str, CheckResult]]
) -> Reply:
    name = p.pipeline.name
    groups: dict[str, list[str]] = {}
    first: dict[str, tuple[str, str]] = {}
    for a, check, r in open_:
        why = _tail(r)
        if a.id not in groups.setdefault(why, []):
            groups[why].append(a.id)
        first.setdefault(why, (a.id, check))
    ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    parts = [f"{_names(agents)}: {clip(why)}" for why, agents in ranked[:2]]
    if len(ranked) > 2:
        parts.append(f"{len(ranked) - 2:,} other reason(s) in the detail")
    links = tuple(_entry(name, *first[why]) for why, _ in ranked[:2])
    return Reply(q, "not_proven", clip("; ".join(parts), MAX_REASON), links)


def _design_review(
    p: PipelineResult, q: Question, passes: list[tuple[AgentResult, str, CheckResult]]
) -> Reply:
    a, check, r = passes[0]
    agents = sorted({x.id for x, _, _ in passes})
    return Reply(
        q,
        "not_proven",
        f"design review: the manifest declares it for {_names(agents)} "
        f"({clip(r.reason, 120)}), but no trail shows that it operated; give the trails "
        "(trail.path or --trails) and pin their key to answer it",
        (_entry(p.pipeline.name, a.id, check),),
    )


def _slo_unshown(p: PipelineResult, sla: SlaReport | None) -> Reply | None:
    """``not proven`` when the SLA report of the same trails cannot show a stage reaches the
    rate the target requires of it (an observed rate with too few attempts), else None."""
    if sla is None or p.evidence is None:
        return None
    short = [s for s in sla.stages if s.observed is not None and s.observed.verdict != "meets"]
    if not short:
        return None
    s = short[0]
    o = s.observed
    assert o is not None
    needed = f"; {o.runs_needed:,} more runs would show it" if o.runs_needed else ""
    others = [x.agent for x in short[1:]]
    also = f"; the same for {_names(others)}" if others else ""
    compound = (
        f"the declared compound {sla.compound:.6f} meets the target {sla.target:g}, but "
        if sla.compound is not None and sla.target is not None and sla.meets_target
        else ""
    )
    required = f"{s.required:.6f}" if s.required is not None else "its share"
    return Reply(
        QUESTIONS[-1],
        "not_proven",
        clip(
            f"{compound}{clip(s.agent, MAX_AGENT)}'s observed {o.successes:,}/{o.attempts:,} "
            f"successes (95% lower bound {o.lower:.4f}) cannot show the required {required}: "
            f"{o.verdict}{needed}{also}",
            MAX_REASON,
        ),
        (Link("sla", "SLA decomposition"),),
    )


def _yes(
    p: PipelineResult,
    q: Question,
    passes: list[tuple[AgentResult, str, CheckResult]],
    sla: SlaReport | None,
) -> Reply:
    e = p.evidence
    assert e is not None
    agents = len({a.id for a, _, _ in passes})
    counts = []
    denied = 0
    for check, noun in zip(q.checks, q.counted, strict=True):
        ctls = [x for x in (e.controls.get((a.id, c)) for a, c, _ in passes if c == check) if x]
        # the trail's events are every agent's population of trail_is_immutable: count them once
        ops = [x.operated for x in ctls]
        counts.append(
            f"{max(ops, default=0) if check == 'trail_is_immutable' else sum(ops):,} {noun}"
        )
        denied += sum(x.denied for x in ctls)
    lead = q.proves
    if q.key == "slo" and sla is not None and sla.compound is not None and sla.target is not None:
        lead = f"the declared compound {sla.compound:.6f} meets the target {sla.target:g}"
    who = "the 1 agent" if agents == 1 else f"all {agents:,} agents"
    refused = (
        f", {denied:,} attempt(s) refused by the harness, shown in the trail" if denied else ""
    )
    a, check, _ = passes[0]
    return Reply(
        q,
        "yes",
        f"{lead}, for {who} it applies to: {' and '.join(counts)}, no exception{refused}; "
        f"on {_evidence_words(e, with_period=q.key != 'recorded')}",
        (_entry(p.pipeline.name, a.id, check), Link(q.section, q.section_title)),
    )


def provenance_words(e: Evidence | None) -> str:
    """Since when the trails record, and whether they were captured at the source or sealed
    after the fact (the anchor's signed time), for the first question."""
    if e is None:
        return "no trail"
    cov = e.coverage
    first = cov.first if cov is not None and cov.first else e.first_ts
    since = f"recorded since {first}" if first else "no event recorded in the period"
    t = e.trust
    if t is None or t.status != "verified":
        return f"{since}, on a trail no trusted key anchors: when it was sealed is not shown"
    if t.sealed_after_the_fact:
        return f"{since}; {clip(t.provenance_reason or 'sealed after the fact', 200)}"
    if t.signed_at is None:
        return f"{since}; the anchor's signing time is not recorded"
    return f"{since}; captured at the source (anchor signed {t.signed_at})"


def _with_provenance(r: Reply, e: Evidence | None) -> Reply:
    if e is None:
        return r
    since = clip(provenance_words(e), 160)
    text = clip(r.reason, MAX_REASON - len(since) - 2) + "; " + since
    return Reply(r.question, r.answer, text, r.links)


def _answer(p: PipelineResult, q: Question, sla: SlaReport | None) -> Reply:
    results = [(a, c, a.checks[c]) for a in p.agents for c in q.checks]
    fails = [x for x in results if x[2].status == "fail"]
    related = [f for f in p.findings if f.rule in q.rules and f.severity != "info"]
    if fails or related:
        return _no(p, q, fails)
    open_ = [x for x in results if x[2].status == "not_proven"]
    if open_:
        return _not_proven(p, q, open_)
    passes = [x for x in results if x[2].status == "pass"]
    if not passes:
        why = sorted({r.reason for _, _, r in results})
        return Reply(
            q,
            "n/a",
            "; ".join(f"for every agent: {clip(w)}" for w in why[:2])
            or "the pipeline has no agent",
            (),
        )
    if p.evidence is None:
        return _design_review(p, q, passes)
    short = [(a, c, m) for a, c, r in passes for rule, m in r.warnings if rule in q.short_of_yes]
    if short:
        a, check, message = short[0]
        also = sorted({x.id for x, _, _ in short[1:]} - {a.id})
        return Reply(
            q,
            "not_proven",
            clip(
                f"{clip(a.id, MAX_AGENT)}: {clip(message)}: the manifest lists no person to "
                "check the approvals against, so anyone's approval passed"
                + (f"; the same for {_names(also)}" if also else ""),
                MAX_REASON,
            ),
            (_entry(p.pipeline.name, a.id, check),),
        )
    if q.key == "slo":
        unshown = _slo_unshown(p, sla)
        if unshown is not None:
            return unshown
    return _yes(p, q, passes, sla)


def answer(p: PipelineResult, q: Question, sla: SlaReport | None = None) -> Reply:
    """The reply to ``q`` for pipeline ``p``, read off its judged checks and findings (see
    the module doc); ``sla`` is the SLA report the pack shows for it. The first question's
    reason also says since when the trails record, captured at the source or sealed after
    the fact."""
    reply = _answer(p, q, sla)
    return _with_provenance(reply, p.evidence) if q.key == "recorded" else reply


def pages(assessment: Assessment, slas: dict[str, SlaReport] | None = None) -> list[Page]:
    """One page per pipeline of the assessment; ``slas`` are the SLA reports the pack shows
    (by pipeline name; the trails' own where judged)."""
    slas = slas or {}
    out = []
    for p in assessment.pipelines:
        sla = slas.get(p.pipeline.name)
        if sla is None and p.evidence is not None:
            sla = p.evidence.sla
        out.append(
            Page(
                clip(p.pipeline.name, MAX_NAME),
                p.score,
                p.band,
                p.basis,
                trail_text(p.evidence),
                tuple(answer(p, q, sla) for q in QUESTIONS),
            )
        )
    return out


def _env() -> Any:
    import jinja2

    from harness_audit._resources import data_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_pages(summary: list[Page], detail: str = "") -> Markup:
    """The pages as HTML to put first in ``evidence.html`` (``detail`` empty: its links stay in
    the document) or in ``summary.html`` (``detail="evidence.html"``)."""
    from markupsafe import Markup

    html = (
        _env()
        .get_template("summary-pages.html.j2")
        .render(
            pages=summary,
            detail=detail,
            statuses=status_words(),
            questions=QUESTIONS,
        )
    )
    return Markup(html)  # noqa: S704 - rendered with autoescape: every string in it is escaped


def stylesheet() -> str:
    """The pack's stylesheet: ``evidence.css`` and the summary's ``summary.css`` (one
    stylesheet, so one hash in each document's Content-Security-Policy)."""
    from harness_audit._resources import data_dir

    folder = data_dir("templates")
    return "".join(
        (folder / name).read_text(encoding="utf-8") for name in ("evidence.css", "summary.css")
    )


def render_html(summary: list[Page], when: dt.datetime) -> str:
    """``summary.html``: the pages alone, a self-contained document like ``evidence.html`` (the
    same stylesheet and Content-Security-Policy), its links into ``evidence.html`` beside it."""
    from markupsafe import Markup

    from harness_audit import __version__
    from harness_audit.report.pack import csp_for

    css = stylesheet()
    return str(
        _env()
        .get_template("summary.html.j2")
        .render(
            css=Markup(css),  # noqa: S704 - our own file
            csp=csp_for(css),
            version=__version__,
            generated=when.strftime("%Y-%m-%d %H:%M:%S UTC"),
            names=[clip(p.pipeline, MAX_NAME) for p in summary],
            body=render_pages(summary, "evidence.html"),
        )
    )


def summary_files(
    assessment: Assessment, slas: dict[str, SlaReport], when: dt.datetime
) -> tuple[Markup, str]:
    """The pages for ``evidence.html``, and ``summary.html`` of the pack (its PDF is rendered
    from it, beside evidence.pdf: :func:`~harness_audit.report.pack.render_pdfs`)."""
    summary = pages(assessment, slas)
    return render_pages(summary), render_html(summary, when)


def sla_reports(run: AuditRun) -> dict[str, SlaReport]:
    """Each pipeline's SLA report as the pack shows it: its trails' (with observed rates) where
    judged, else the manifest's."""
    from harness_audit.sla import analyse

    out = {}
    for p in run.pipelines:
        judged = run.trails[p.name].evidence.sla if p.name in run.trails else None
        out[p.name] = judged or analyse(p)
    return out


def write_summary(request: AuditRequest, path: Path) -> tuple[AuditRun, bytes]:
    """``harness-audit report --summary-only``: run the audit and write the summary pages alone
    as a PDF at ``path`` (whole or not at all; never over an input of the run, nor over a
    folder). Returns the run and the PDF."""
    from harness_audit._fs import write_atomic
    from harness_audit.audit import run_audit
    from harness_audit.errors import Diagnostic, UsageError
    from harness_audit.report.pack import generated_at, render_pdf

    if path.is_dir():
        raise UsageError(
            Diagnostic(
                str(path),
                "is a folder; with --summary-only, --output names the PDF file to write",
                expected="report PATH... --summary-only -o summary.pdf",
            )
        )
    run = run_audit(request)
    run.refuse_overwriting([path])
    pdf = render_pdf(render_html(pages(run.assessment, sla_reports(run)), generated_at()))
    write_atomic(path, pdf)
    return run, pdf
