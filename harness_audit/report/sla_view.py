"""How ``sla`` reports: JSON (CLI.md) and a terminal table with a bar per stage."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness_audit._json import tool_info
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.charts import NINES, nines
from harness_audit.report.inert import console as make_console
from harness_audit.report.inert import json_text, terminal_block
from harness_audit.report.inert import terminal as tx
from harness_audit.sla import SlaReport
from harness_audit.sla.analysis import SlaResult

BAR = 12


def sla_dict(r: SlaReport) -> dict[str, Any]:
    """One pipeline's report as the object of CLI.md: target, compound, error budget and each stage
    with what the trails observed."""
    stages = []
    for s in r.stages:
        item: dict[str, Any] = {
            "agent": s.agent,
            "series": s.series,
            "declared": s.declared,
            "effective": s.effective,
            "required": s.required,
            "headroom": s.headroom,
            "failures_per_million_runs": s.failures_per_million,
            "budget_minutes_per_window": s.minutes_per_window,
            "fallback_of": s.fallback_of,
        }
        if s.observed:
            o = s.observed
            item["observed"] = {
                "attempts": o.attempts,
                "successes": o.successes,
                "rate": o.rate,
                "lower_bound_95": o.lower,
                "upper_bound_95": o.upper,
                "method": o.method,
                "verdict": o.verdict,
                "runs_needed": o.runs_needed,
            }
        stages.append(item)
    return {
        "tool": tool_info(),
        "pipeline": r.pipeline,
        "file": r.file,
        "target": r.target,
        "compound": r.compound,
        "meets_target": r.meets_target,
        "allocation": r.method,
        "window_days": r.window_days,
        "shared_dependencies_factor": r.shared_factor,
        "error_budget": {
            "per_year_hours": _round(r.error_budget_hours_per_year),
            "per_window_minutes": _round(r.error_budget_minutes_per_window),
        },
        "observed_runs": r.runs,
        "open_runs": r.open_runs,
        "stages": stages,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def sla_json(result: SlaResult | list[SlaReport]) -> str:
    """One pipeline's object (CLI.md), or a list of them; with ``--set``, each carries
    ``what_if``: the changes and the report before them."""
    if isinstance(result, list):
        result = SlaResult(result)
    items = []
    for i, r in enumerate(result.reports):
        d = sla_dict(r)
        if result.before is not None:
            d["what_if"] = {"changes": list(result.changes), "before": sla_dict(result.before[i])}
        items.append(d)
    return json_text(items[0] if len(items) == 1 else items)


def pct(x: float | None, digits: int = 3) -> str:
    """A fraction as a percentage with ``digits`` decimals; a dash for None."""
    return "—" if x is None else f"{x * 100:.{digits}f}%"


UNDECLARED = "undeclared"
"""How a value the manifest does not declare is shown: never as a number, a dash or ``None``."""


def declared_pct(x: float | None, digits: int = 3) -> str:
    """A declared fraction as a percentage; ``undeclared`` when the manifest leaves it out."""
    return UNDECLARED if x is None else pct(x, digits)


def compound_pct(r: SlaReport, digits: int = 3) -> str:
    """The compound as a percentage; when it cannot be computed, why (an undeclared stage)."""
    if r.compound is not None:
        return pct(r.compound, digits)
    missing = sum(1 for s in r.stages if s.series and s.declared is None)
    return f"unknown ({missing} stage reliability undeclared)" if missing else "unknown"


def verdict_text(r: SlaReport) -> str:
    """Whether the compound meets the target, or why that cannot be judged."""
    if r.meets_target is not None:
        return "meets the target" if r.meets_target else "misses the target"
    if r.target is None:
        return "cannot be judged: no slo.target declared"
    return "cannot be judged: the compound is unknown"


def _bar(effective: float | None, required: float | None, observed: float | None) -> Text:
    cells = [" "] * BAR
    fill = round(nines(effective) / NINES * BAR)
    for i in range(fill):
        cells[i] = "█"
    text = Text()
    req = min(BAR - 1, round(nines(required) / NINES * BAR)) if required else None
    obs = min(BAR - 1, round(nines(observed) / NINES * BAR)) if observed else None
    for i, c in enumerate(cells):
        if i == req:
            text.append("│", style="bold yellow")
        elif i == obs:
            text.append("◆", style="cyan")
        else:
            text.append(
                c, style="green" if effective and required and effective >= required else "red"
            )
    return text


def _what_if(
    console: Console, before: SlaReport, after: SlaReport, changes: tuple[str, ...]
) -> None:
    """Before and after ``--set``, side by side, for the pipeline and every stage."""

    def verdict(r: SlaReport) -> str:
        return "—" if r.meets_target is None else ("meets" if r.meets_target else "misses")

    console.print(Text.assemble(("what-if: ", "bold"), "; ".join(tx(c) for c in changes)))
    t = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (
        "",
        "eff. before",
        "eff. after",
        "req. before",
        "req. after",
        "±pp before",
        "±pp after",
    ):
        t.add_column(col, no_wrap=True)
    t.add_row(
        "compound",
        pct(before.compound),
        pct(after.compound),
        declared_pct(before.target),
        declared_pct(after.target),
        verdict(before),
        verdict(after),
    )
    old = {s.agent: s for s in before.stages}
    for s in after.stages:
        b = old.get(s.agent)
        if b is None:
            continue

        def pp(x: float | None) -> str:
            return "—" if x is None else f"{x * 100:+.3f}"

        t.add_row(
            tx(s.agent),
            pct(b.effective),
            pct(s.effective),
            pct(b.required),
            pct(s.required),
            pp(b.headroom),
            pp(s.headroom),
        )
    console.print(t)


def sla_text(result: SlaResult | list[SlaReport], color: bool = False, width: int = 120) -> str:
    """The terminal view: a table per pipeline (and the what-if, side by side)."""
    if isinstance(result, list):
        result = SlaResult(result)
    buf = io.StringIO()
    console = make_console(buf, color, width)
    for i, r in enumerate(result.reports):
        verdict = (
            ("meets" if r.meets_target else "MISSES")
            if r.meets_target is not None
            else verdict_text(r)
        )
        console.print(
            Text.assemble(
                ("pipeline ", "bold"),
                (tx(r.pipeline), "bold cyan"),
                f"  target {declared_pct(r.target, 3)}  compound {compound_pct(r)}  ",
                (verdict, "green" if r.meets_target else "bold red"),
            )
        )
        if r.target is not None:
            console.print(
                f"error budget: {r.error_budget_hours_per_year:.2f} h/year, "
                f"{r.error_budget_minutes_per_window:.1f} min per "
                f"{r.window_days:g}-day window; allocation: {r.method}"
                + (f"; shared dependencies {pct(r.shared_factor)}" if r.shared_factor < 1 else "")
            )
        t = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in (
            "stage",
            "decl.",
            "eff.",
            "req.",
            "±pp",
            "fail/1M",
            "min/win",
            "observed",
            "verdict",
            "nines",
        ):
            t.add_column(col, no_wrap=col not in ("stage", "observed", "verdict"))
        for s in r.stages:
            obs, verdict = "—", "—"
            if s.observed:
                o = s.observed
                obs = f"{o.successes}/{o.attempts} ≥{pct(o.lower, 2)}"
                verdict = o.verdict if not o.runs_needed else f"{o.runs_needed:,} more runs"
            name = tx(s.agent) if s.series else f"{tx(s.agent)} ↺ {tx(s.fallback_of)}"
            head = "—" if s.headroom is None else f"{s.headroom * 100:+.3f}"
            t.add_row(
                name,
                declared_pct(s.declared),
                pct(s.effective),
                pct(s.required),
                Text(head, style="green" if (s.headroom or 0) >= 0 else "red"),
                "—" if s.failures_per_million is None else f"{s.failures_per_million:,.0f}",
                "—" if s.minutes_per_window is None else f"{s.minutes_per_window:.1f}",
                obs,
                verdict,
                _bar(s.effective, s.required, s.observed.lower if s.observed else None),
            )
        console.print(t)
        console.print(
            Text(
                "decl. declared per attempt, eff. effective, req. required; ±pp "
                "headroom in percentage points; min/win failure budget per window; "
                "↺ fallback of; nines bar: █ effective "
                "(with retries, fallbacks, quorums), │ required, ◆ observed 95% lower "
                "bound. Retries are assumed independent: effective is an upper "
                "bound.",
                style="dim",
            )
        )
        if r.open_runs:
            console.print(f"{r.open_runs:,} run(s) never ended and were not judged")
        if result.before is not None:
            _what_if(console, result.before[i], r, result.changes)
        console.print()
    text = buf.getvalue()
    return text if color else terminal_block(text)


class SlaTextRenderer(Renderer[SlaResult]):
    """A table per pipeline with a bar per stage."""

    name = "table"

    def render(self, result: SlaResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Rich tables at the terminal's width."""
        return sla_text(result, options.color, options.width)


class SlaJsonRenderer(Renderer[SlaResult]):
    """The JSON shape of CLI.md."""

    name = "json"

    def render(self, result: SlaResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented JSON."""
        return sla_json(result)
