"""The agent graph (networkx) and the findings only a graph can show.

Nodes: ``agent:<id>``, ``tool:<agent>/<tool>``, ``scope:<name>``, ``human:<name>``.
Edges carry ``kind``: ``data_flow`` (dependency → dependent), ``spawn``, ``verifies``
(verifier → agent or tool), ``fallback``, ``uses`` (agent → tool), ``access`` (tool or agent →
scope) and ``approval`` (human → tool).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

import networkx as nx

from harness_audit.findings import Finding
from harness_audit.manifest.model import (
    DESTRUCTIVE_EFFECTS,
    WRITE_EFFECTS,
    Agent,
    Pipeline,
    Tool,
    independence,
)


def agent_node(agent_id: str) -> str:
    """An agent's node id: ``agent:<id>``."""
    return f"agent:{agent_id}"


def tool_node(agent_id: str, tool: str) -> str:
    """The node id of an agent's tool: ``tool:<agent>/<tool>``."""
    return f"tool:{agent_id}/{tool}"


def build_graph(pipeline: Pipeline) -> nx.MultiDiGraph:
    """The pipeline's agent graph: the nodes and ``kind``-labelled edges of the module docstring."""
    g = nx.MultiDiGraph(name=pipeline.name)
    for a in pipeline.agents:
        g.add_node(
            agent_node(a.id),
            kind="agent",
            label=a.id,
            model=a.model_label,
            untrusted_input=a.untrusted_input,
            human=a.human,
        )
    for a in pipeline.agents:
        me = agent_node(a.id)
        for dep in a.depends_on:
            g.add_edge(agent_node(dep), me, kind="data_flow")
        for child in a.spawns:
            g.add_edge(me, agent_node(child), kind="spawn")
        for target in a.verifies:
            g.add_edge(me, agent_node(target), kind="verifies")
        if a.stage:
            for f in a.stage.fallback:
                g.add_edge(me, agent_node(f), kind="fallback")
        for scope in a.access.scopes if a.access else ():
            g.add_node(f"scope:{scope}", kind="scope", label=scope)
            g.add_edge(me, f"scope:{scope}", kind="access")
        for t in a.tools:
            tn = tool_node(a.id, t.name)
            g.add_node(tn, kind="tool", label=t.name, effect=t.effect, agent=a.id)
            g.add_edge(me, tn, kind="uses")
            if t.scope:
                g.add_node(f"scope:{t.scope}", kind="scope", label=t.scope)
                g.add_edge(tn, f"scope:{t.scope}", kind="access")
            for v in t.verified_by:
                g.add_edge(agent_node(v), tn, kind="verifies")
            if t.human_gate.required:
                for person in t.human_gate.approvers or ("(unnamed approver)",):
                    g.add_node(f"human:{person}", kind="human", label=person)
                    g.add_edge(f"human:{person}", tn, kind="approval")
    return g


def tool_is_guarded(pipeline: Pipeline, agent: Agent, tool: Tool) -> bool:
    """A human gate, or at least one independent verifier, stands before the tool's effect."""
    if tool.human_gate.required:
        return True
    agents = pipeline.agent_map
    for v in tool.verified_by:
        ver = agents[v]
        kind = independence(agent.id, agent.model, agent.human, v, ver.model, ver.human)
        if kind in ("independent", "same_provider"):
            return True
    return False


def risk_paths(pipeline: Pipeline) -> Iterator[tuple[list[str], Agent, Tool]]:
    """Paths along data flow and spawn from an ``untrusted_input`` agent to an agent holding a
    destructive or external tool that has no gate or verifier, and no human agent on the way.

    One breadth-first pass from all untrusted agents at once: O(agents + edges).
    """
    agents = pipeline.agent_map
    nxt: dict[str, list[str]] = {a.id: list(a.spawns) for a in pipeline.agents}
    for a in pipeline.agents:
        for dep in a.depends_on:
            nxt[dep].append(a.id)
    parent: dict[str, str | None] = {}
    queue: deque[str] = deque()
    for a in pipeline.agents:
        if a.untrusted_input:
            parent[a.id] = None
            queue.append(a.id)
    while queue:
        cur = queue.popleft()
        if agents[cur].human and parent[cur] is not None:
            continue  # a person reads and passes on: the path is gated here
        for n in nxt[cur]:
            if n not in parent:
                parent[n] = cur
                queue.append(n)
    for agent_id in parent:
        agent = agents[agent_id]
        for tool in agent.tools:
            if tool.effect in DESTRUCTIVE_EFFECTS and not tool_is_guarded(pipeline, agent, tool):
                path = [agent_id]
                while (p := parent[path[-1]]) is not None:
                    path.append(p)
                yield path[::-1], agent, tool


def risk_elements(pipeline: Pipeline) -> tuple[set[str], set[tuple[str, str]]]:
    """The graph nodes and edges on any risk path (agents and the tool at the end)."""
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for path, agent, tool in risk_paths(pipeline):
        tn = tool_node(agent.id, tool.name)
        nodes.update([agent_node(a) for a in path] + [tn])
        edges.update((agent_node(a), agent_node(b)) for a, b in itertools.pairwise(path))
        edges.add((agent_node(agent.id), tn))
    return nodes, edges


def graph_findings(pipeline: Pipeline, severity: dict[str, Any]) -> list[Finding]:
    """HA-101 self-verification, HA-102 risk paths, HA-103 dead ends, HA-104 budget sum,
    HA-107 spawn depth. ``severity`` maps rule id to its severity."""
    out: list[Finding] = []

    def add(rule: str, agent: Agent | None, message: str, line: int, subject: str) -> None:
        out.append(
            Finding(
                rule,
                severity[rule],
                message,
                pipeline.file,
                line,
                pipeline.name,
                agent.id if agent else None,
                None,
                subject,
            )
        )

    for a in pipeline.agents:
        if a.id in a.verifies:
            add("HA-101", a, f"agent {a.id!r} lists itself in verifies", a.line, "verifies")
        for t in a.tools:
            if a.id in t.verified_by:
                add(
                    "HA-101",
                    a,
                    f"tool {t.name!r} of {a.id!r} is verified by {a.id!r} itself",
                    t.line,
                    f"tool:{t.name}",
                )
    for path, agent, tool in risk_paths(pipeline):
        route = " -> ".join(path)
        add(
            "HA-102",
            agent,
            f"untrusted input reaches {tool.effect} tool {tool.name!r} of {agent.id!r} along "
            f"{route} with no human gate, independent verifier or human agent on the way",
            tool.line,
            f"{path[0]}->{tool.name}",
        )
    _dead_ends(pipeline, add)
    cap = pipeline.budget.max_cost_usd_per_run if pipeline.budget else None
    if cap is not None:
        total = sum(a.budget.max_cost_usd_per_run or 0.0 for a in pipeline.agents if a.budget)
        if total > cap + 1e-12:
            add(
                "HA-104",
                None,
                f"agent caps add up to ${total:.4g} per run, above the pipeline cap ${cap:.4g}",
                pipeline.budget.line if pipeline.budget else 0,
                "budget",
            )
    _spawn_depth(pipeline, add)
    return out


def _dead_ends(pipeline: Pipeline, add: Any) -> None:
    consumed: set[str] = set()
    for a in pipeline.agents:
        consumed.update(a.depends_on)
        consumed.update(a.spawns)
        consumed.update(a.verifies)
        if a.stage:
            consumed.update(a.stage.fallback)
        for t in a.tools:
            consumed.update(t.verified_by)
    sinks = [
        a
        for a in pipeline.agents
        if a.id not in consumed and not any(t.effect in WRITE_EFFECTS for t in a.tools)
    ]
    # the one agent whose output is the pipeline's result is not a dead end
    producers = [a for a in pipeline.agents if a.id not in consumed]
    if len(producers) <= 1:
        return
    for a in sinks:
        add(
            "HA-103",
            a,
            f"nothing depends on {a.id!r}, it verifies nothing and writes nothing: its output goes "
            "nowhere the manifest shows",
            a.line,
            "sink",
        )


def _spawn_depth(pipeline: Pipeline, add: Any) -> None:
    """Longest spawn chain from each root spawner, over the condensation of the spawn graph
    (a bounded spawn cycle counts once), in O(agents + spawn edges), without recursion."""
    g = nx.DiGraph()
    g.add_nodes_from(a.id for a in pipeline.agents)
    g.add_edges_from((a.id, c) for a in pipeline.agents for c in a.spawns)
    dag = nx.condensation(g)
    depth: dict[int, int] = {}
    for n in reversed(list(nx.topological_sort(dag))):
        depth[n] = max((1 + depth[c] for c in dag.successors(n)), default=0)
    member = dag.graph["mapping"]
    spawned = {k for a in pipeline.agents for k in a.spawns}
    for a in pipeline.agents:
        if not a.spawns or a.id in spawned:
            continue
        limit = (
            a.budget.max_spawn_depth
            if a.budget and a.budget.max_spawn_depth is not None
            else pipeline.budget.max_spawn_depth
            if pipeline.budget
            else None
        )
        d = depth[member[a.id]]
        if limit is not None and d > limit:
            add(
                "HA-107",
                a,
                f"{a.id!r} starts a spawn chain {d} deep, but max_spawn_depth is {limit}",
                a.line,
                "spawn_depth",
            )
