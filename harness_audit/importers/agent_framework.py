"""Microsoft Agent Framework declarative YAML: agents (``kind: Prompt``/``Agent``, ``model.id``,
``tools`` incl. MCP tools with ``allowedTools``; ``approvalMode: always_require`` is a gate) and
workflows (``kind: Workflow``: the order of ``InvokeAzureAgent``-style actions is
``depends_on``). A workflow's own tool calls (``InvokeMcpTool``, ``InvokeFunctionTool``: no
model decides them) are the tools of an agent named for the workflow, ``<name>_actions``;
``requireApproval: true`` is their gate, ``false`` says there is none, a PowerFx expression is
decided at run time.
"""

from __future__ import annotations

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
) -> None:
    if isinstance(node, dict):
        agent = node.get("agent")
        if isinstance(agent, dict) and isinstance(agent.get("name"), str):
            out.append((agent["name"], path))
        elif isinstance(agent, str) and str(node.get("kind", "")).startswith("Invoke"):
            out.append((agent, path))
        elif node.get("kind") in TOOL_ACTIONS:
            tools.append((node, path))
        for k, v in node.items():
            _walk_actions(v, out, tools, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _walk_actions(v, out, tools, (*path, i))


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
            _walk_actions(y, found, tool_actions, ())
            if tool_actions:
                wf = y.get("name") if isinstance(y.get("name"), str) else p.stem
                m0 = doc.mark(tool_actions[0][1])
                own = DraftAgent(safe_id(f"{wf}_actions"), Where(f, m0.line if m0 else 1))
                own.role = "the workflow's own tool calls (no model decides them)"
                d.agents.append(own)
                for action, path in tool_actions:
                    tm = doc.mark(path)
                    own.tools.append(_action_tool(action, Where(f, tm.line if tm else 1)))
            prev: str | None = None
            for name, path in found:
                aid = safe_id(name)
                m = doc.mark(path)
                a = d.agent(aid) or DraftAgent(aid, Where(f, m.line if m else 1))
                if a not in d.agents:
                    d.agents.append(a)
                if prev and prev != aid:
                    a.depends_on.setdefault(prev, Where(f, m.line if m else 1))
                prev = aid
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
                if norm in ("alwaysrequire", "always"):
                    dt.gate, dt.gate_note = True, f"approvalMode: {mode_text}"
                elif n in always:
                    dt.gate, dt.gate_note = True, "approvalMode alwaysRequireApprovalTools"
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
