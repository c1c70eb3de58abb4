"""The agent graph as Graphviz DOT, and as SVG through Graphviz's ``dot``.

Graphviz is the field's layout engine; its layouts are deterministic for the same input, so
the same manifest gives the same bytes. Labels are quoted DOT strings (never HTML-like labels),
so manifest text cannot inject markup: Graphviz escapes it in the SVG it writes.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from harness_audit.checks.assessment import PipelineResult
from harness_audit.errors import Diagnostic, UsageError
from harness_audit.graph import agent_node, risk_elements, tool_is_guarded, tool_node
from harness_audit.manifest.model import DESTRUCTIVE_EFFECTS, WRITE_EFFECTS, Agent, Tool
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.inert import dot

BAND_FILL = {"audit-ready": "#d9f2e3", "at-risk": "#fff1c7", "audit-will-fail": "#f9d3d0"}
BAND_LINE = {"audit-ready": "#1e7b45", "at-risk": "#9a6b00", "audit-will-fail": "#b3261e"}
LARGE_GRAPH = 60
MAX_LAYOUT_NODES = 800  # beyond this Graphviz is not asked to lay the graph out (bounded work)
DOT_SECONDS = 60  # wall and CPU time `dot` may take
DOT_MEMORY = 2 << 30  # address space `dot` may use (unbounded it can take all: bench/README.md)
TOOL_FILL = {
    "ungated_destructive": "#f9d3d0",
    "unverified_write": "#ffe0b2",
    "ok": "#e8f0fe",
    "read": "#f4f4f4",
}
EDGE_STYLE = {
    "data_flow": 'color="#444444"',
    "spawn": 'color="#6a3d9a" style=bold arrowhead=diamond',
    "verifies": 'color="#1e7b45" style=dashed label="verifies" fontcolor="#1e7b45"',
    "fallback": 'color="#777777" style=dashed label="fallback"',
    "uses": 'color="#999999" arrowsize=0.6',
    "access": 'color="#bbbbbb" style=dotted arrowsize=0.5',
    "approval": 'color="#1e7b45" style=bold label="approves" fontcolor="#1e7b45"',
}


def q(text: str) -> str:
    """A DOT double-quoted string (:func:`.inert.dot`): controls visible, no entities,
    backslashes and quotes escaped, newlines as \\n."""
    return dot(text)


def tool_status(result: PipelineResult, agent: Agent, tool: Tool) -> str:
    """ok, unverified_write, ungated_destructive, or read."""
    if tool.effect in DESTRUCTIVE_EFFECTS and not tool.human_gate.required:
        return "ungated_destructive"
    if tool.effect in WRITE_EFFECTS and not tool_is_guarded(result.pipeline, agent, tool):
        return "unverified_write"
    return "ok" if tool.effect in WRITE_EFFECTS else "read"


def to_dot(result: PipelineResult, highlight_risk: bool = False) -> str:
    """DOT source: agents coloured by band, tools by status, scopes, approvers and a legend; risk
    paths in red when highlighted."""
    p = result.pipeline
    bands = {a.id: a.band for a in result.agents}
    risky_nodes, risky_edges = risk_elements(p) if highlight_risk else (set(), set())
    risky_tools = {n for n in risky_nodes if n.startswith("tool:")}
    size = len(p.agents) + sum(len(a.tools) for a in p.agents)
    # dot's crossing minimisation is superlinear: past LARGE_GRAPH nodes, bound it (what a
    # dense 200-agent pipeline takes either way: bench/README.md, Agent graph)
    bounded = " mclimit=0.1 nslimit=1" if size > LARGE_GRAPH else ""
    lines = [
        f"digraph {q(p.name)} {{",
        '  graph [rankdir=LR fontname="DejaVu Sans" fontsize=11 nodesep=0.35 ranksep=0.6 '
        f"label={q(p.name + ' — agent graph')} labelloc=t{bounded}];",
        '  node [fontname="DejaVu Sans" fontsize=10];',
        '  edge [fontname="DejaVu Sans" fontsize=8];',
    ]
    humans: set[str] = set()
    scopes: set[str] = set()
    for a in p.agents:
        band = bands.get(a.id, "at-risk")
        label = f"{a.id}\n{a.model_label}" + (
            "\nreads untrusted input" if a.untrusted_input else ""
        )
        shape = "house" if a.human else "box"
        lines.append(
            f'  {q(agent_node(a.id))} [label={q(label)} shape={shape} style="filled,'
            f'rounded" fillcolor="{BAND_FILL[band]}" color="{BAND_LINE[band]}" '
            f"penwidth=1.6 tooltip={q(band)}];"
        )
        for t in a.tools:
            status = tool_status(result, a, t)
            tn = tool_node(a.id, t.name)
            pen = ' penwidth=2.5 color="#b3261e"' if tn in risky_tools else ""
            tlabel = q(f"{t.name}\n({t.effect})")
            lines.append(
                f"  {q(tn)} [label={tlabel} shape=ellipse "
                f'style=filled fillcolor="{TOOL_FILL[status]}" tooltip={q(status)}'
                f"{pen}];"
            )
            if t.scope:
                scopes.add(t.scope)
            if t.human_gate.required:
                humans.update(t.human_gate.approvers or ("(unnamed approver)",))
    for s in sorted(scopes):
        lines.append(
            f"  {q('scope:' + s)} [label={q(s)} shape=note fontsize=8 "
            'color="#bbbbbb" fontcolor="#666666"];'
        )
    for h in sorted(humans):
        lines.append(
            f"  {q('human:' + h)} [label={q('person: ' + h)} shape=oval "
            'style="filled" fillcolor="#d9f2e3" color="#1e7b45"];'
        )
    for a in p.agents:
        me = agent_node(a.id)
        edges = [(agent_node(d), me, "data_flow") for d in a.depends_on]
        edges += [(me, agent_node(c), "spawn") for c in a.spawns]
        edges += [(me, agent_node(v), "verifies") for v in a.verifies]
        edges += [(me, agent_node(f), "fallback") for f in (a.stage.fallback if a.stage else ())]
        for t in a.tools:
            tn = tool_node(a.id, t.name)
            edges.append((me, tn, "uses"))
            if t.scope:
                edges.append((tn, "scope:" + t.scope, "access"))
            for v in t.verified_by:
                edges.append((agent_node(v), tn, "verifies"))
            if t.human_gate.required:
                for h in t.human_gate.approvers or ("(unnamed approver)",):
                    edges.append(("human:" + h, tn, "approval"))
        for src, dst, kind in edges:
            extra = ' color="#b3261e" penwidth=2.5' if (src, dst) in risky_edges else ""
            lines.append(f"  {q(src)} -> {q(dst)} [{EDGE_STYLE[kind]}{extra}];")
    lines += LEGEND
    lines.append("}")
    return "\n".join(lines) + "\n"


LEGEND = [
    "  subgraph cluster_legend {",
    '    label="Legend" fontsize=9 color="#cccccc" style=rounded;',
    "    node [fontsize=8 width=0.1 height=0.1];",
    '    "legend:ready" [label="agent: audit-ready" shape=box style="filled,rounded" '
    f'fillcolor="{BAND_FILL["audit-ready"]}" color="{BAND_LINE["audit-ready"]}"];',
    '    "legend:risk" [label="agent: at-risk" shape=box style="filled,rounded" '
    f'fillcolor="{BAND_FILL["at-risk"]}" color="{BAND_LINE["at-risk"]}"];',
    '    "legend:fail" [label="agent: audit-will-fail" shape=box style="filled,rounded" '
    f'fillcolor="{BAND_FILL["audit-will-fail"]}" color="{BAND_LINE["audit-will-fail"]}"];',
    '    "legend:ungated" [label="tool: destructive, no human gate" shape=ellipse '
    f'style=filled fillcolor="{TOOL_FILL["ungated_destructive"]}"];',
    '    "legend:unverified" [label="tool: write, no independent verifier" shape=ellipse '
    f'style=filled fillcolor="{TOOL_FILL["unverified_write"]}"];',
    '    "legend:person" [label="person (approver)" shape=oval style=filled '
    'fillcolor="#d9f2e3" color="#1e7b45"];',
    '    "legend:ready" -> "legend:risk" -> "legend:fail" [style=invis];',
    '    "legend:ungated" -> "legend:unverified" -> "legend:person" [style=invis];',
    "  }",
]


def dot_available() -> bool:
    """Whether Graphviz ``dot`` is on the PATH."""
    return shutil.which("dot") is not None


def limit_child() -> None:
    """In the child before ``dot`` starts: bound its memory and CPU time (setrlimit)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (DOT_MEMORY, DOT_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (DOT_SECONDS, DOT_SECONDS))


def layout_nodes(dot_text: str) -> int:
    """How many nodes a DOT text of :func:`to_dot` declares (one ``[label=`` line each)."""
    return dot_text.count(" [label=")


def dot_svg(dot: str) -> str:
    """Lay the graph out with Graphviz ``dot`` (Debian package graphviz), bounded: a graph of
    more than ``MAX_LAYOUT_NODES`` nodes is refused with the alternatives, and ``dot`` runs under
    a memory and time limit."""
    nodes = layout_nodes(dot)
    if nodes > MAX_LAYOUT_NODES:
        raise UsageError(
            Diagnostic(
                "graphviz",
                f"the graph has {nodes:,} nodes, more than the "
                f"{MAX_LAYOUT_NODES:,} laid out as SVG",
                expected="--format mermaid, dot or json, which draw any size",
            )
        )
    exe = shutil.which("dot")
    if exe is None:
        raise UsageError(
            Diagnostic(
                "graphviz",
                "the `dot` program is not installed",
                expected="Graphviz (Debian: apt-get install graphviz); "
                "mermaid, dot and json formats work without it",
            )
        )
    try:
        done = subprocess.run(
            [exe, "-Tsvg"],
            input=dot.encode(),
            capture_output=True,
            timeout=DOT_SECONDS,
            check=False,
            preexec_fn=limit_child,
        )
    except subprocess.TimeoutExpired as e:
        raise UsageError(
            Diagnostic(
                "graphviz",
                f"dot took more than {DOT_SECONDS} s to lay the graph out",
                expected="--format mermaid or json",
            )
        ) from e
    if done.returncode != 0:
        why = (
            "ran out of its memory or time limit"
            if done.returncode < 0 or not done.stderr
            else "failed"
        )
        raise UsageError(
            Diagnostic(
                "graphviz",
                f"dot {why} (exit {done.returncode})",
                expected="--format mermaid or json",
            )
        )
    svg = done.stdout.decode("utf-8")
    svg = svg[svg.index("<svg") :]  # drop the XML prolog, DOCTYPE and generator comment
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)


class DotRenderer(Renderer[PipelineResult]):
    """Graphviz DOT source."""

    name = "dot"

    def render(self, result: PipelineResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The DOT text."""
        return to_dot(result, options.highlight_risk)


class SvgRenderer(Renderer[PipelineResult]):
    """A standalone SVG laid out by Graphviz."""

    name = "svg"

    def render(self, result: PipelineResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """The SVG document."""
        return dot_svg(to_dot(result, options.highlight_risk))
