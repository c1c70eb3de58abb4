"""The terminal view of ``replay``: the run as a causal tree."""

from __future__ import annotations

import io

from rich.text import Text
from rich.tree import Tree

from harness_audit.evidence.replay import (
    Node,
    Replay,
    Replays,
    RunList,
    RunRow,
    event_summary,
    replay_dict,
)
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import console as make_console
from harness_audit.report.inert import json_text, terminal_block
from harness_audit.report.inert import terminal as tx

KIND_STYLE = {
    "decision": "bold magenta",
    "tool_call": "cyan",
    "data_access": "blue",
    "verification": "green",
    "approval": "green",
    "approval_request": "green",
    "error": "bold red",
    "model_call": "white",
    "spawn": "yellow",
    "budget_check": "yellow",
    "run_start": "dim",
    "run_end": "dim",
}


def _label(n: Node) -> Text:
    ev = n.event
    t = Text.assemble(
        (tx(f"{ev.ts[:10]} {ev.ts[11:23]}"), "dim"),
        " ",
        (tx(ev.agent), "bold"),
        " ",
        (tx(ev.kind), KIND_STYLE.get(ev.kind, "")),
        " ",
        tx(event_summary(ev)),
        (f"  [{tx(ev.span)}, seq {ev.seq}]", "dim"),
    )
    for gate in n.gates:  # the verifications and approvals of this act
        t.append(f"\n  ↳ {tx(gate)}", style="red" if "AFTER" in gate else "green")
    if n.findings:
        t.append("  ⚠ " + ", ".join(tx(x) for x in sorted(set(n.findings))), style="bold red")
    return t


def _grow(tree: Tree, n: Node) -> None:
    branch = tree.add(_label(n))
    for c in n.children:
        _grow(branch, c)


def replay_text(r: Replay, color: bool = False, width: int = 120) -> str:
    """The run as a rich tree of its events (time, agent, kind, summary, span and seq, flags), then
    the findings that touch it."""
    buf = io.StringIO()
    console = make_console(buf, color, width)
    v = r.integrity
    if v is not None and v.status != "verified":
        first = next((p for p in v.problems if not p.warning), None)
        banner = (
            f"INTEGRITY FAILED: the trail does not verify ({tx(first.kind)} at "
            f"{tx(first.file)}:{first.line}); what follows is not evidence"
            if v.status == "failed" and first
            else "INTEGRITY FAILED: the trail does not verify; what follows is not evidence"
            if v.status == "failed"
            else "NOT ANCHORED: no checkpoint signed by a trusted key covers this trail (give "
            "--key); its events could have been rewritten"
        )
        console.print(Text(banner, style="bold red"))
    root = Tree(
        Text.assemble(
            ("run ", "bold"),
            (tx(r.run), "bold cyan"),
            f"  pipeline {tx(r.pipeline)}  {len(r.nodes)} events  "
            f"cost ${r.cost_microusd / 1e6:.4f}",
        )
    )
    for n in r.roots:
        _grow(root, n)
    console.print(root)
    if r.findings:
        console.print(Text("findings touching this run:", style="bold"))
        for f in r.findings:
            rule = f.get("rule") or f.get("check")
            where = (
                tx(f"{f.get('file')}:{f.get('line')} seq {f.get('seq')}") if f.get("file") else ""
            )
            console.print(
                Text.assemble(
                    ("  ⚠ ", "bold red"),
                    (tx(rule), "bold"),
                    " ",
                    tx(f"{f.get('agent') or ''}: {f.get('message')}") + "  ",
                    (where, "blue"),
                )
            )
    elif not r.judged:
        console.print(
            Text(
                "findings were not judged: no manifest was found or given (--manifest)",
                style="yellow",
            )
        )
    else:
        console.print(Text("no findings touch this run", style="green"))
    text = buf.getvalue()
    return text if color else terminal_block(text)


ReplayResult = Replay | Replays | RunList
"""What ``replay`` shows: one run, the runs that decided a subject, or the list of runs."""


def _banner(v: object) -> str:
    status = getattr(v, "status", None)
    if status is None or status == "verified":
        return ""
    return (
        "INTEGRITY FAILED: the trail does not verify; what follows is not evidence\n"
        if status == "failed"
        else "NOT ANCHORED: no checkpoint signed by a trusted key covers this trail (give "
        "--key); its events could have been rewritten\n"
    )


class ReplayTextRenderer(Renderer[ReplayResult]):
    """The run as a causal tree (each run of a subject in turn), or the list of runs."""

    name = "table"

    def render(self, result: ReplayResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """A rich tree (or table) at the terminal's width."""
        if isinstance(result, RunList):
            return tx(_banner(result.integrity)) + runs_text(
                result.rows, options.color, options.width
            )
        if isinstance(result, Replays):
            return "\n".join(replay_text(r, options.color, options.width) for r in result.items)
        return replay_text(result, options.color, options.width)


class ReplayJsonRenderer(Renderer[ReplayResult]):
    """The run as JSON (a subject's runs as a list; the list of runs with its integrity)."""

    name = "json"

    def render(self, result: ReplayResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented JSON."""
        if isinstance(result, RunList):
            v = result.integrity
            return json_text(
                {
                    "integrity": None if v is None else v.status,
                    "runs": [r.as_dict() for r in result.rows],
                }
            )
        if isinstance(result, Replays):
            return json_text(
                {"subject": result.subject, "runs": [replay_dict(r) for r in result.items]}
            )
        return json_text(replay_dict(result))


def runs_text(rows: list[RunRow], color: bool = False, width: int = 120) -> str:
    """``replay --list``: one line per run (id, time, decided subjects, outcome, cost)."""
    from rich.table import Table

    buf = io.StringIO()
    console = make_console(buf, color, width)
    table = Table(box=None, show_edge=False)
    for col in ("run", "time", "decided", "outcome", "cost", "events"):
        table.add_column(col, justify="right" if col in ("cost", "events") else "left")
    for r in rows:
        by: dict[str, list[str]] = {}
        for subj, outcome in r.decisions:  # each subject once, its outcomes in order
            seen = by.setdefault(subj, [])
            if not seen or seen[-1] != outcome:
                seen.append(outcome)
        decided = "; ".join(tx(f"{k}: {' → '.join(v)}") for k, v in by.items()) or "—"
        table.add_row(
            tx(r.run),
            tx(r.first_ts),
            decided,
            tx(r.outcome) if r.outcome is not None else "never ended",
            f"${r.cost_microusd / 1e6:.4f}",
            f"{r.events:,}",
        )
    console.print(table)
    console.print(f"{len(rows):,} run(s)")
    text = buf.getvalue()
    return text if color else terminal_block(text)
