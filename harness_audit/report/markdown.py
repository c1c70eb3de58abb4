"""Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY`` (kept under GitHub's
65,536-character limit). Manifest text is escaped so it cannot add links or markup."""

from __future__ import annotations

from harness_audit.checks.assessment import Assessment
from harness_audit.checks.checks import CHECKS
from harness_audit.evidence.outcomes import status_words
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import markdown, markdown_code

LIMIT = 60_000
ICON = {s: w.icon for s, w in status_words().items()}
BAND_ICON = {"audit-ready": "🟢", "at-risk": "🟡", "audit-will-fail": "🔴"}


def md(text: str) -> str:
    """Escape Markdown and HTML so agent text renders as text (:func:`.inert.markdown`)."""
    return markdown(text)


class MarkdownRenderer(Renderer[Assessment]):
    """Markdown for a pull-request comment or a step summary."""

    name = "markdown"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Per pipeline, the band, the agents × checks grid and the findings; then waivers needing
        attention; cut, with a note, past ``LIMIT`` characters."""
        out = ["## harness-audit", ""]
        for p in assessment.pipelines:
            out.append(
                f"### {BAND_ICON[p.band]} {markdown_code(p.pipeline.name)}: gap score "
                f"{p.score} "
                f"({p.band})"
            )
            out.append("")
            out.append(f"**Basis:** {markdown(p.basis)}")
            out.append("")
            if p.evidence is not None and p.evidence.trust is not None:
                out.append(f"Trail integrity: {markdown(p.evidence.trust.describe())}")
                out.append("")
            labels = [str(assessment.rules.for_check(c).label) for c in CHECKS]
            out.append("| agent | " + " | ".join(labels) + " | score |")
            out.append("|---|" + "---|" * len(labels) + "---|")
            for a in p.agents:
                cells = " | ".join(ICON[a.checks[c].status] for c in CHECKS)
                out.append(f"| {markdown_code(a.id)} | {cells} | {a.score} |")
            out.append("")
            out.append(", ".join(f"{w.icon} {w.word}" for w in status_words().values()))
            open_ = [f for f in p.findings if not f.suppressed and f.severity != "info"]
            quiet = [f for f in p.findings if f.suppressed]
            out.append("")
            out.append(
                f"<details><summary>{len(open_)} open finding(s)"
                + (f", {len(quiet)} waived or baselined" if quiet else "")
                + "</summary>\n"
            )
            out.append("| severity | rule | where | finding |")
            out.append("|---|---|---|---|")
            for f in open_ + quiet:
                mark = " *(waived)*" if f.waived else " *(baselined)*" if f.baselined else ""
                where = markdown_code(f"{f.file}:{f.line}") + (
                    f" seq {f.seq}" if f.seq is not None else ""
                )
                out.append(f"| {f.severity} | {f.rule} | {where} | {md(f.message)}{mark} |")
            out.append("\n</details>\n")
        expired = [w for w in assessment.waivers if w.state != "active"]
        if expired:
            out.append(
                "**Waivers needing attention:** "
                + "; ".join(
                    f"{w.state} waiver for {md(w.waiver.rule)} on {md(w.waiver.pipeline)} "
                    f"({md(w.waiver.ticket)})"
                    for w in expired
                )
            )
        text = "\n".join(out) + "\n"
        if len(text) > LIMIT:
            text = (
                text[:LIMIT].rsplit("\n", 1)[0] + "\n\n*(truncated: see the JSON or SARIF "
                "output for every finding)*\n"
            )
        return text
