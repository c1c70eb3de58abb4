"""The person-at-a-terminal view of ``scan``: an agents × checks grid, then the findings."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from harness_audit.checks.assessment import Assessment, PipelineResult
from harness_audit.checks.catalogue import RuleBook
from harness_audit.checks.checks import CHECKS
from harness_audit.evidence.outcomes import status_words
from harness_audit.findings import Finding
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import console as make_console
from harness_audit.report.inert import terminal as tx
from harness_audit.report.inert import terminal_block

STYLE = {"pass": "green", "fail": "bold red", "not_proven": "bold yellow", "n/a": "dim"}
MARK = {s: (w.symbol, STYLE[s]) for s, w in status_words().items()}
BAND_STYLE = {"audit-ready": "bold green", "at-risk": "bold yellow", "audit-will-fail": "bold red"}
SEV_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def _band(score: int, band: str) -> Text:
    return Text(f"{score} {band}", style=BAND_STYLE[band])


def _grid(p: PipelineResult, rules: RuleBook) -> Table:
    t = Table(show_lines=False, header_style="bold", expand=False, pad_edge=False)
    t.add_column("agent", no_wrap=True)
    short = {c: str(rules.for_check(c).short_label) for c in CHECKS}
    for c in CHECKS:
        t.add_column(short[c], justify="center", no_wrap=True)
    t.add_column("gap score", no_wrap=True, min_width=17)
    for a in p.agents:
        cells = [
            Text(MARK[a.checks[c].status][0], style=MARK[a.checks[c].status][1]) for c in CHECKS
        ]
        t.add_row(Text(tx(a.id)), *cells, _band(a.score, a.band))
    t.caption = (
        "  ".join(f"{w.symbol} {w.word}" for w in status_words().values())
        + "   "
        + "  ".join(f"{short[c]}={c}" for c in CHECKS)
    )
    return t


def _findings(p: PipelineResult, rules: RuleBook) -> Group:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in p.findings:
        by_rule[f.rule].append(f)
    if not p.findings:
        return Group(Text("No findings.", style="green"))
    parts: list[Text | Table] = []
    for rule_id, items in by_rule.items():
        rule = rules.rules[rule_id]
        sev = items[0].severity
        parts.append(
            Text.assemble(
                (f"{sev.upper():<8} ", SEV_STYLE[sev]), (rule_id, "bold"), " ", tx(rule.title)
            )
        )
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="blue")
        grid.add_column()
        for f in items:
            where = (
                f"line {f.line}"
                if f.file == p.pipeline.file
                else f"{tx(Path(f.file).name)}:{f.line}"
                + (f" seq {f.seq}" if f.seq is not None else "")
            )
            note = (
                " (waived: " + tx(f.waived) + ")"
                if f.waived
                else " (in the baseline)"
                if f.baselined
                else ""
            )
            grid.add_row(
                Text(f"  {where}"), Text(tx(f.message) + note, style="dim" if f.suppressed else "")
            )
        grid.add_row(Text("  fix", style="dim"), Text(tx(rule.remediation), style="dim"))
        parts.append(grid)
    return Group(*parts)


class TableRenderer(Renderer[Assessment]):
    """The terminal view of ``scan``."""

    name = "table"

    def render(self, assessment: Assessment, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Per pipeline, its gap score, trails, agents × checks grid and findings by rule; then the
        worst band."""
        buf = io.StringIO()
        console = make_console(buf, options.color, options.width)
        for p in assessment.pipelines:
            title = Text.assemble(
                ("pipeline ", "bold"),
                (tx(p.pipeline.name), "bold cyan"),
                "  gap score ",
                _band(p.score, p.band),
            )
            console.print(title)
            console.print(Text.assemble("file: ", (tx(p.pipeline.file), "blue")))
            console.print(
                Text.assemble(
                    "basis: ", (tx(p.basis), "bold" if p.evidence is not None else "yellow")
                )
            )
            if p.evidence is not None:
                e = p.evidence
                status = e.verify.status if e.verify is not None else "not verified"
                pinned = e.trust is not None and e.trust.pinned
                console.print(
                    Text.assemble(
                        "trails: ",
                        (
                            ", ".join(tx(f) for f in e.files[:2])
                            + (" …" if len(e.files) > 2 else ""),
                            "blue",
                        ),
                        f"  {e.events:,} events, {e.runs + e.open_runs:,} runs"
                        + (f" ({e.open_runs:,} never ended)" if e.open_runs else "")
                        + ", integrity ",
                        (
                            e.trust.describe() if e.trust else status,
                            "green" if status == "verified" and pinned else "yellow",
                        ),
                    )
                )
            console.print(_grid(p, assessment.rules))
            failing = ", ".join(p.failing_checks) or "none"
            console.print(Text.assemble("failing anywhere: ", (failing, "bold")))
            if p.unproven_checks:
                console.print(
                    Text.assemble(
                        "not proven (and failing nowhere): ",
                        (", ".join(p.unproven_checks), "bold yellow"),
                    )
                )
            console.print(_findings(p, assessment.rules))
            console.print()
        worst = max(
            (p.band for p in assessment.pipelines),
            key=("audit-ready", "at-risk", "audit-will-fail").index,
            default="audit-ready",
        )
        console.print(
            Text.assemble(
                f"{len(assessment.pipelines)} pipeline(s) scanned; worst band ",
                (worst, BAND_STYLE[worst]),
                f"; {sum(len(p.findings) for p in assessment.pipelines)} finding(s)",
            )
        )
        text = buf.getvalue()
        return text if options.color else terminal_block(text)
