"""OpenAI Agents SDK (Python, read with ``ast``): ``Agent(name=…, instructions=…, model=…,
tools=[…], handoffs=[…])``; tools from ``tools=[…]``, ``@function_tool``/``@tool`` functions and
``agent.clone(tools=…)``; ``handoffs`` are spawns; ``other.as_tool(…)`` makes the wrapped agent
a tool of the caller (a spawn edge); ``needs_approval=True`` is a gate, a callable a conditional
gate (drafted as not required, with a comment).
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness_audit.importers import tables
from harness_audit.importers.base import fail
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    call_name,
    custom_tools,
    kwarg,
    literal,
    model_of,
    module_env,
    parse,
)

NAME = "openai-agents"
DESCRIPTION = "OpenAI Agents SDK definitions (Python)"


def sniff(probe: Probe) -> str | None:
    """What Agents SDK file the source is (None: not one)."""
    t = probe.text_head
    if (
        probe.path.suffix == ".py"
        and ("from agents import" in t or "import agents" in t)
        and "Agent(" in t
    ):
        return "an OpenAI Agents SDK module (Python)"
    return None


def _gates(tree: ast.Module) -> dict[str, tuple[bool | None, int]]:
    out: dict[str, tuple[bool | None, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and call_name(dec) in ("function_tool", "tool"):
                    na = kwarg(dec, "needs_approval")
                    if na is not None:
                        v, _ = literal(na)
                        out[node.name] = (v if isinstance(v, bool) else None, dec.lineno)
    return out


def _hosted_mcp(el: ast.Call, f: str, line: int) -> DraftTool:
    """A ``HostedMCPTool(tool_config={…})``: named by its server label, gated when
    ``require_approval`` is ``"always"``, effect from the server URL when well known."""
    cfg = kwarg(el, "tool_config") or (el.args[0] if el.args else None)
    conf: dict[str, object] = {}
    if isinstance(cfg, ast.Dict):
        for k, v in zip(cfg.keys, cfg.values, strict=True):
            key, _ = literal(k)
            if isinstance(key, str):
                conf[key] = literal(v)[0] if not isinstance(v, ast.Dict) else v
    label = conf.get("server_label")
    dt = DraftTool(safe_id(label) if isinstance(label, str) else "hosted_mcp", Where(f, line))
    url = conf.get("server_url")
    got = tables.known_mcp_effect(url) if isinstance(url, str) else None
    if got:
        dt.effect, src = got
        dt.effect_note = f"rules/tool_effects.yaml: {src}"
    ra = conf.get("require_approval")
    if ra == "always":
        dt.gate, dt.gate_where, dt.gate_note = True, Where(f, line), "require_approval: always"
    elif ra is not None:
        dt.gate_note = "require_approval is not 'always': drafted as not required"
    return dt


def read(paths: list[Path]) -> Draft:
    """Agents, tools, handoffs from Agents SDK modules."""
    d = Draft(NAME, "openai-agents", list(paths))
    var_agent: dict[str, str] = {}
    pending: list[
        tuple[
            DraftAgent,
            ast.Call,
            str,
            dict[str, ast.expr],
            dict[str, str],
            dict[str, tuple[bool | None, int]],
        ]
    ] = []
    for p in paths:
        tree = parse(p)
        env = module_env(tree, str(p))
        custom = custom_tools(tree)
        gates = _gates(tree)
        f = str(p)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            call = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            var = targets[0].id if targets and isinstance(targets[0], ast.Name) else None
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "clone"
                and isinstance(call.func.value, ast.Name)
            ):
                base = var_agent.get(call.func.value.id)
                if base and var:
                    var_agent[var] = safe_id(var)
                    a = DraftAgent(safe_id(var), Where(f, call.lineno))
                    src = d.agent(base)
                    if src:
                        a.model, a.role = src.model, src.role
                    d.agents.append(a)
                    pending.append((a, call, f, env, custom, gates))
                continue
            if not (isinstance(call, ast.Call) and call_name(call) == "Agent"):
                continue
            name, _ = literal(kwarg(call, "name") or (call.args[0] if call.args else None), env)
            aid = safe_id(name if isinstance(name, str) else (var or "agent"))
            a = DraftAgent(aid, Where(f, call.lineno))
            instr, _ = literal(kwarg(call, "instructions"), env)
            a.role = instr if isinstance(instr, str) else None
            m, note, line = model_of(kwarg(call, "model"), env)
            if m:
                a.model, a.model_note, a.model_where = m, note, Where(f, line or call.lineno)
            elif note:
                a.model_note = note
            d.agents.append(a)
            if var:
                var_agent[var] = aid
            pending.append((a, call, f, env, custom, gates))
    for a, call, f, _env, custom, gates in pending:
        tools = kwarg(call, "tools")
        if isinstance(tools, ast.List):
            for el in tools.elts:
                line = getattr(el, "lineno", call.lineno)
                if (
                    isinstance(el, ast.Call)
                    and isinstance(el.func, ast.Attribute)
                    and el.func.attr == "as_tool"
                    and isinstance(el.func.value, ast.Name)
                ):
                    child = var_agent.get(el.func.value.id)
                    tn, _ = literal(kwarg(el, "tool_name"))
                    if child:
                        a.spawns.setdefault(child, Where(f, line))
                    dt = DraftTool(
                        tn if isinstance(tn, str) else f"{child or 'agent'}_tool", Where(f, line)
                    )
                    dt.effect_note = ""
                    a.tools.append(dt)
                    continue
                if isinstance(el, ast.Call) and call_name(el) == "HostedMCPTool":
                    a.tools.append(_hosted_mcp(el, f, line))
                    continue
                cls = (
                    call_name(el)
                    if isinstance(el, ast.Call)
                    else (el.id if isinstance(el, ast.Name) else None)
                )
                if cls is None:
                    continue
                dt = DraftTool(custom.get(cls, cls), Where(f, line))
                known_effect(dt, cls)
                g = gates.get(cls)
                if g is not None:
                    if g[0] is True:
                        dt.gate, dt.gate_where, dt.gate_note = (
                            True,
                            Where(f, g[1]),
                            "needs_approval=True",
                        )
                    else:
                        dt.gate_note = (
                            "needs_approval is a callable: a conditional gate, "
                            "drafted as not required"
                        )
                a.tools.append(dt)
        hand = kwarg(call, "handoffs")
        if isinstance(hand, ast.List):
            for el in hand.elts:
                target: ast.expr | None = el
                if isinstance(el, ast.Call) and call_name(el) == "handoff":
                    target = el.args[0] if el.args else kwarg(el, "agent")
                if isinstance(target, ast.Name) and target.id in var_agent:
                    a.spawns.setdefault(var_agent[target.id], Where(f, el.lineno))
    if not d.agents:
        raise fail(
            str(paths[0]) if paths else "-",
            "no Agent(...) definitions found",
            expected="Agents SDK Python with Agent(name=..., ...)",
        )
    return d
