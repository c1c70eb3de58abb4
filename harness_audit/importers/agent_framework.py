"""Microsoft Agent Framework declarative YAML: agents (``kind: Prompt``/``Agent``, ``model.id``,
``tools`` incl. MCP tools with ``allowedTools``; ``approvalMode: always_require`` is a gate) and
workflows (``kind: Workflow``: the order of ``InvokeAzureAgent``-style actions is
``depends_on``). A workflow's own tool calls (``InvokeMcpTool``, ``InvokeFunctionTool``: no
model decides them) are the tools of an agent named for the workflow, ``<name>_actions``;
``requireApproval: true`` is their gate, ``false`` says there is none, a PowerFx expression is
decided at run time.

An agent named by a PowerFx expression (``agent: {name: =First(Local.NextSpeaker).name}``) is no
agent of that name: the ``Local`` variables it reads are followed through the workflow's
``SetVariable`` actions (bounded) to the agent names they list (``name: "WeatherAgent"``), each
drafted as an agent the dispatch may reach, with both lines; when none is listed, one unknown
agent stands for the dispatch (fail closed). ``GotoAction`` back to an earlier action is a loop
(a cycle in ``depends_on``); the workflow's ``maxTurns`` bounds it and every agent of it, with its
line and what it does not bound.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness_audit.importers.base import fail
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.manifest.yamlsafe import load_yaml

NAME = "agent-framework"
DESCRIPTION = "Microsoft Agent Framework declarative agents and workflows"


def _is_af(y: Any) -> bool:
    return (
        isinstance(y, dict)
        and y.get("kind") in ("Prompt", "Agent", "Workflow", "AdaptiveDialog")
        and ("instructions" in y or "model" in y or "trigger" in y or "actions" in y)
    )


def sniff(probe: Probe) -> str | None:
    """What Agent Framework file the source is (None: not one)."""
    if probe.path.suffix in (".yaml", ".yml") and _is_af(probe.yaml):
        return "a Microsoft Agent Framework declarative file"
    return None


TOOL_ACTIONS = {"InvokeMcpTool": "toolName", "InvokeFunctionTool": "functionName"}
"""Workflow actions that call a tool themselves, and the field that names the tool."""


def _walk_actions(
    node: Any,
    out: list[tuple[str, tuple[Any, ...]]],
    tools: list[tuple[dict[str, Any], tuple[Any, ...]]],
    path: tuple[Any, ...],
    flow: list[tuple[str, str, tuple[Any, ...]]] | None = None,
) -> None:
    """Agents invoked, tool actions, and (``flow``) every action id, agent and goto in
    document order."""
    if isinstance(node, dict):
        if flow is not None:
            if isinstance(node.get("id"), str):
                flow.append(("id", node["id"], path))
            if node.get("kind") == "GotoAction" and isinstance(node.get("actionId"), str):
                flow.append(("goto", node["actionId"], path))
            var, value = node.get("variable"), node.get("value")
            if isinstance(var, str) and isinstance(value, str):
                flow.append(("set", f"{var}\x00{value}", path))
        agent = node.get("agent")
        named: str | None = None
        if isinstance(agent, dict) and isinstance(agent.get("name"), str):
            named = agent["name"]
        elif isinstance(agent, str) and str(node.get("kind", "")).startswith("Invoke"):
            named = agent
        elif node.get("kind") in TOOL_ACTIONS:
            tools.append((node, path))
        if named is not None:
            out.append((named, path))
            if flow is not None:
                flow.append(("agent", named, path))
        for k, v in node.items():
            _walk_actions(v, out, tools, (*path, k), flow)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _walk_actions(v, out, tools, (*path, i), flow)


MAX_VARIABLE_HOPS = 16
"""At most this many ``Local`` variables are followed from one PowerFx agent name."""

_LOCAL = re.compile(r"\b(Local\.[A-Za-z_][A-Za-z0-9_]*)")
_NAMED = re.compile(r"\bname\s*:\s*\"([^\"]{1,128})\"")


def dispatch_targets(expr: str, sets: dict[str, list[str]]) -> list[str]:
    """The agent names a PowerFx agent-name expression may take: the ``name: "X"`` entries of
    the ``Local`` variables it reads, followed through their ``SetVariable`` values."""
    todo: list[str] = _LOCAL.findall(expr)
    seen: set[str] = set()
    names: list[str] = []
    while todo and len(seen) < MAX_VARIABLE_HOPS:
        var = todo.pop(0)
        if var in seen:
            continue
        seen.add(var)
        for value in sets.get(var, []):
            for n in _NAMED.findall(value):
                if n not in names:
                    names.append(n)
            todo.extend(_LOCAL.findall(value))
    return names


def _action_tool(action: dict[str, Any], where: Where) -> DraftTool:
    """The tool a workflow action calls, with what its ``requireApproval`` says."""
    named = action.get(TOOL_ACTIONS[str(action["kind"])])
    literal = isinstance(named, str) and not named.startswith("=")
    name = named if literal else str(action.get("id") or action["kind"])
    dt = DraftTool(str(name), where)
    known_effect(dt, str(action.get("serverLabel") or ""))
    if not literal:
        dt.effect_note = f"the tool is named at run time ({named!r})"
    approval = action.get("requireApproval")
    if approval is True:
        dt.gate, dt.gate_note = True, "requireApproval: true"
    elif approval is False:
        dt.gate, dt.gate_note = False, "requireApproval: false"
    elif isinstance(approval, str):
        dt.gate_note = f"requireApproval {approval!r} is decided at run time"
    return dt


def _names(mode: Any, key: str) -> set[str]:
    """The tool names listed under ``key`` of an ``approvalMode: {kind: specify, …}``."""
    v = mode.get(key) if isinstance(mode, dict) else None
    return {str(x) for x in v} if isinstance(v, list) else set()


def _workflow(
    d: Draft, doc: Any, f: str, y: dict[str, Any], flow: list[tuple[str, str, tuple[Any, ...]]]
) -> None:
    """A workflow's agents in order (``depends_on``), its PowerFx dispatches, its
    ``GotoAction`` loops and its ``maxTurns``."""

    def line(path: tuple[Any, ...]) -> int:
        m = doc.mark(path)
        return m.line if m else 1

    sets: dict[str, list[str]] = {}
    for kind, text, _ in flow:
        if kind == "set":
            var, _, value = text.partition("\x00")
            sets.setdefault(var, []).append(value)
    mine: list[str] = []
    prev: list[str] = []
    heads: list[tuple[int, list[str]]] = []  # (flow index, the agents an action there starts)
    for i, (kind, name, path) in enumerate(flow):
        if kind != "agent":
            continue
        at = Where(f, line(path))
        if name.startswith("="):
            targets = dispatch_targets(name, sets)
            why = f"dispatched at run time by the PowerFx expression {name!r} ({at})"
            if targets:
                ids = [safe_id(t) for t in targets]
                for t in ids:
                    a = d.agent(t) or DraftAgent(t, at)
                    if a not in d.agents:
                        a.notes.append(f"{why}: one of {', '.join(targets)}")
                        d.agents.append(a)
                d.notes.append(f"{why}: its variables list {', '.join(targets)}")
            else:
                sid = safe_id(f"dispatched_at_{at.line}")
                a = d.agent(sid) or DraftAgent(sid, at)
                if a not in d.agents:
                    a.notes.append(f"{why}: which agent is not stated")
                    a.placeholder = True
                    d.unseen_tools(a, f"the tools of an agent {why}", at, note=False)
                    d.agents.append(a)
                ids = [sid]
                d.unknown.append(f"the agent {why}")
                d.notes.append(f"{why}: no agent name found; drafted as {sid}")
        else:
            ids = [safe_id(name)]
            a = d.agent(ids[0]) or DraftAgent(ids[0], at)
            if a not in d.agents:
                d.agents.append(a)
        for aid in ids:
            a2 = d.agent(aid)
            for p in prev:
                if a2 is not None and p != aid:
                    a2.depends_on.setdefault(p, at)
            if aid not in mine:
                mine.append(aid)
        heads.append((i, ids))
        prev = ids
    ids_at = {name: i for i, (kind, name, _) in enumerate(flow) if kind == "id"}
    for i, (kind, target, path) in enumerate(flow):
        if kind != "goto" or ids_at.get(target, i) >= i:
            continue
        head = next((ids for j, ids in heads if j >= ids_at[target]), None)
        tail = next((ids for j, ids in reversed(heads) if j < i), None)
        if head and tail:  # the run goes back: the loop's first agents run after its last
            for h in head:
                ha = d.agent(h)
                for t in tail:
                    if ha is not None and t != h:
                        ha.depends_on.setdefault(t, Where(f, line(path)))
    turns = y.get("maxTurns")
    if isinstance(turns, int) and not isinstance(turns, bool) and turns > 0:
        where = Where(f, line(("maxTurns",)))
        for aid in mine:
            bounded = d.agent(aid)
            if bounded is not None and bounded.max_iterations is None:
                bounded.max_iterations, bounded.max_iterations_where = turns, where
                bounded.max_iterations_note = (
                    f"the workflow's maxTurns={turns}: at most {turns} turns a run; it does not "
                    "bound tokens, cost, time or one agent's tool calls"
                )


def read(paths: list[Path]) -> Draft:
    """Agents (and workflow order) from declarative YAML files."""
    d = Draft(NAME, "agent-framework", list(paths))
    for p in paths:
        doc = load_yaml(p)
        y = doc.data
        if not _is_af(y):
            continue
        f = str(p)
        if y.get("kind") in ("Workflow", "AdaptiveDialog"):
            found: list[tuple[str, tuple[Any, ...]]] = []
            tool_actions: list[tuple[dict[str, Any], tuple[Any, ...]]] = []
            flow: list[tuple[str, str, tuple[Any, ...]]] = []
            _walk_actions(y, found, tool_actions, (), flow)
            if tool_actions:
                wf = y.get("name") if isinstance(y.get("name"), str) else p.stem
                m0 = doc.mark(tool_actions[0][1])
                own = DraftAgent(safe_id(f"{wf}_actions"), Where(f, m0.line if m0 else 1))
                own.role = "the workflow's own tool calls (no model decides them)"
                d.agents.append(own)
                for action, path in tool_actions:
                    tm = doc.mark(path)
                    own.tools.append(_action_tool(action, Where(f, tm.line if tm else 1)))
            _workflow(d, doc, f, y, flow)
            continue
        name = y.get("name") if isinstance(y.get("name"), str) else p.stem
        m = doc.mark(("name",))
        aid = safe_id(name)
        a = d.agent(aid) or DraftAgent(aid, Where(f, m.line if m else 1))
        if a not in d.agents:
            d.agents.append(a)
        a.role = str(y.get("description") or "") or None
        model = y.get("model")
        mid = model.get("id") if isinstance(model, dict) else model
        if isinstance(mid, str) and mid.startswith("="):
            a.model_note = f"model id {mid!r} is a PowerFx expression resolved at run time"
        elif isinstance(mid, str):
            mm = doc.mark(("model",))
            a.model, a.model_where = mid, Where(f, mm.line if mm else 1)
        for i, t in enumerate(y.get("tools") or []):
            if not isinstance(t, dict):
                continue
            tm = doc.mark(("tools", i))
            where = Where(f, tm.line if tm else 1)
            allowed = t.get("allowedTools")
            kind = str(t.get("kind") or "tool")
            names = (
                [str(x) for x in allowed]
                if isinstance(allowed, list) and allowed
                else [str(t.get("name") or t.get("serverName") or t.get("serverLabel") or kind)]
            )
            mode = t.get("approvalMode", t.get("requireApproval"))
            mode_text = (
                mode
                if isinstance(mode, str)
                else (mode.get("kind") if isinstance(mode, dict) else None)
            )
            always = _names(mode, "alwaysRequireApprovalTools")
            for n in names:
                dt = DraftTool(n, where)
                known_effect(dt, kind)
                norm = mode_text.lower().replace("_", "") if isinstance(mode_text, str) else None
                gm = doc.key_mark(("tools", i, "approvalMode"))
                gate_at = Where(f, gm.line) if gm else where
                if norm in ("alwaysrequire", "always"):
                    dt.gate, dt.gate_note = True, f"approvalMode: {mode_text}"
                    dt.gate_where = gate_at
                elif n in always:
                    dt.gate, dt.gate_note = True, "approvalMode alwaysRequireApprovalTools"
                    dt.gate_where = gate_at
                elif mode_text is not None:
                    dt.gate_note = f"approvalMode {mode_text!r} does not always require approval"
                a.tools.append(dt)
    if not d.agents:
        raise fail(
            str(paths[0]) if paths else "-",
            "no Agent Framework agents found",
            expected="kind: Prompt/Agent/Workflow YAML",
        )
    return d
