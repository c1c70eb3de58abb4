"""``harness-audit graph``: the agent graph as Mermaid, DOT, SVG or node-link JSON.

Every form is deterministic (same manifest, same bytes): nodes and edges in manifest order,
ids derived from the manifest. Colour is each agent's band and each tool's status; ``risk``
marks the paths from an agent with ``untrusted_input`` to a destructive or external tool with
no gate or verifier on them.
"""

from __future__ import annotations

from typing import Any

from harness_audit.checks.assessment import PipelineResult
from harness_audit.graph import build_graph, risk_elements
from harness_audit.report.base import DEFAULT_OPTIONS, Renderer, RenderOptions
from harness_audit.report.graphviz import tool_status
from harness_audit.report.inert import json_text, mermaid

MERMAID_CLASSES = {
    "band-audit-ready": "fill:#d9f2e3,stroke:#1e7b45,color:#111",
    "band-at-risk": "fill:#fff1c7,stroke:#9a6b00,color:#111",
    "band-audit-will-fail": "fill:#f9d3d0,stroke:#b3261e,color:#111",
    "tool-ok": "fill:#e8f0fe,stroke:#5b7bb5,color:#111",
    "tool-read": "fill:#f4f4f4,stroke:#999,color:#111",
    "tool-unverified_write": "fill:#ffe0b2,stroke:#c77700,color:#111",
    "tool-ungated_destructive": "fill:#f9d3d0,stroke:#b3261e,color:#111",
    "scope": "fill:#fff,stroke:#bbb,color:#666",
    "human": "fill:#d9f2e3,stroke:#1e7b45,color:#111",
}
ARROW = {
    "data_flow": "-->",
    "spawn": "==>|spawns|",
    "verifies": "-.->|verifies|",
    "fallback": "-.->|fallback|",
    "uses": "-->",
    "access": "-.-",
    "approval": "==>|approves|",
}


def annotated_graph(result: PipelineResult, highlight_risk: bool = False) -> Any:
    """The networkx graph of ``graph.build_graph`` with each node's and edge's status."""
    g = build_graph(result.pipeline)
    bands = {a.id: a for a in result.agents}
    agents = result.pipeline.agent_map
    for _node, data in g.nodes(data=True):
        if data["kind"] == "agent":
            a = bands[data["label"]]
            data["status"] = a.band
            data["score"] = a.score
            model = agents[a.id].model
            data["family"] = model.family if model else ("human" if agents[a.id].human else None)
        elif data["kind"] == "tool":
            agent = agents[data["agent"]]
            tool = next(t for t in agent.tools if t.name == data["label"])
            data["status"] = tool_status(result, agent, tool)
        else:
            data["status"] = "n/a"
    if highlight_risk:
        nodes, edges = risk_elements(result.pipeline)
        for n in nodes:
            g.nodes[n]["risk"] = True
        for u, v, d in g.edges(data=True):
            d["risk"] = (u, v) in edges
    return g


def to_json(result: PipelineResult, highlight_risk: bool = False) -> str:
    """The annotated graph as node-link JSON, with the pipeline's name, score and band."""
    import networkx as nx

    data = nx.node_link_data(annotated_graph(result, highlight_risk), edges="links")
    data["graph"] = {"name": result.pipeline.name, "score": result.score, "band": result.band}
    return json_text(data)


def _mermaid_text(text: str) -> str:
    """A Mermaid label: markup, comment and directive characters as entity codes
    (:func:`.inert.mermaid`)."""
    return mermaid(text)


def to_mermaid(result: PipelineResult, highlight_risk: bool = False) -> str:
    """A Mermaid flowchart: agents coloured by band, tools by status, a legend, and risk edges in
    red when highlighted."""
    g = annotated_graph(result, highlight_risk)
    ids = {n: f"n{i}" for i, n in enumerate(g.nodes)}
    lines = [
        "flowchart LR",
        f"  %% {mermaid(result.pipeline.name)}: gap score {result.score} ({result.band})",
    ]
    for n, d in g.nodes(data=True):
        kind, label = d["kind"], _mermaid_text(d["label"])
        if kind == "agent":
            text = f"{label}<br/>{_mermaid_text(str(d['model']))}"
            if d.get("untrusted_input"):
                text += "<br/>reads untrusted input"
            shape = f'(["{text}"])' if d.get("human") else f'("{text}")'
            cls = f"band-{d['status']}"
        elif kind == "tool":
            shape, cls = f'(["{label}<br/>{d["effect"]}"])', f"tool-{d['status']}"
        elif kind == "scope":
            shape, cls = f'[/"{label}"/]', "scope"
        else:
            shape, cls = f'(("person: {label}"))', "human"
        lines.append(f"  {ids[n]}{shape}:::{cls}")
    risky = []
    for i, (u, v, d) in enumerate(g.edges(data=True)):
        lines.append(f"  {ids[u]} {ARROW[d['kind']]} {ids[v]}")
        if d.get("risk"):
            risky.append(str(i))
    lines.append("  subgraph legend[Legend]")
    lines.append('    l1("agent: audit-ready"):::band-audit-ready')
    lines.append('    l2("agent: at-risk"):::band-at-risk')
    lines.append('    l3("agent: audit-will-fail"):::band-audit-will-fail')
    lines.append('    l4(["tool: destructive, no human gate"]):::tool-ungated_destructive')
    lines.append('    l5(["tool: write, no independent verifier"]):::tool-unverified_write')
    lines.append('    l6(["tool: guarded write"]):::tool-ok')
    lines.append("  end")
    for name, style in MERMAID_CLASSES.items():
        lines.append(f"  classDef {name} {style}")
    if risky:
        lines.append(f"  linkStyle {','.join(risky)} stroke:#b3261e,stroke-width:3px")
    return "\n".join(lines) + "\n"


class MermaidRenderer(Renderer[PipelineResult]):
    """Mermaid: renders in GitHub and GitLab."""

    name = "mermaid"

    def render(self, result: PipelineResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """A Mermaid flowchart."""
        return to_mermaid(result, options.highlight_risk)


class GraphJsonRenderer(Renderer[PipelineResult]):
    """The annotated graph as node-link JSON."""

    name = "json"

    def render(self, result: PipelineResult, options: RenderOptions = DEFAULT_OPTIONS) -> str:
        """Indented node-link JSON."""
        return to_json(result, options.highlight_risk)
