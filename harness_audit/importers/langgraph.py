"""LangGraph (Python, read with ``ast``): nodes added with ``add_node`` that call a model or bind
tools become agents; ``add_edge``/``add_conditional_edges`` (routing functions) become
``depends_on``; models from ``init_chat_model("openai:gpt-4.1")``/``ChatOpenAI(model=…)``; tools
from ``bind_tools([...])``/``ToolNode([...])``; ``interrupt()`` in a node before a tool is a gate.

The prebuilt agents are agents too: ``create_react_agent(model, tools, name=…)``
(``langgraph.prebuilt``; ``interrupt_before=["tools"]`` gates every tool) and LangChain 1's
``create_agent(model, tools, name=…)`` (a ``HumanInTheLoopMiddleware(interrupt_on={tool: True
| {...}})`` gates the tools it names); ``create_supervisor([agents], model=…,
supervisor_name=…)`` (``langgraph_supervisor``) is an agent its workers depend on. A prebuilt
agent added as a graph node takes the node's id.
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness_audit.importers.base import fail
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    CLIENT_PREFIX,
    call_name,
    custom_tools,
    kwarg,
    literal,
    model_of,
    module_env,
    parse,
    source_text,
    stated_tools,
    static_list,
    tool_names_in,
)

NAME = "langgraph"
DESCRIPTION = "LangGraph graphs (Python)"


PREBUILT = ("create_react_agent", "create_agent")
"""Calls that make one agent (a model and its tools): langgraph.prebuilt, langchain.agents."""


def sniff(probe: Probe) -> str | None:
    """What LangGraph file the source is (None: not one)."""
    t = probe.text_head
    if probe.path.suffix != ".py":
        return None
    if "langgraph" in t and ("StateGraph" in t or "add_node" in t):
        return "a LangGraph graph module (Python)"
    if ("langgraph" in t or "langchain" in t) and any(f"{c}(" in t for c in PREBUILT):
        return "a LangGraph prebuilt-agent module (Python)"
    return None


def _tools_arg(call: ast.Call, env: dict[str, ast.expr], at: int = 0) -> ast.expr | None:
    """The tool list of ``bind_tools(tools)``/``ToolNode(tools=…)`` (``at``: its position),
    a module name resolved."""
    node = call.args[at] if len(call.args) > at else kwarg(call, "tools")
    if isinstance(node, ast.Name) and node.id in env:
        node = env[node.id]
    if isinstance(node, ast.List):
        elts = [
            env[e.id] if isinstance(e, ast.Name) and isinstance(env.get(e.id), ast.Call) else e
            for e in node.elts
        ]
        return ast.copy_location(ast.List(elts=elts, ctx=ast.Load()), node)
    return node


_UNSEEN = "\x00unseen"
"""The class of a tool entry that stands for tools computed at run time (its name: the source)."""


def _tool_entries(
    node: ast.expr | None, env: dict[str, ast.expr], custom: dict[str, str]
) -> list[tuple[str, str, int]]:
    """:func:`tool_names_in` of what a list states, plus one ``(source, _UNSEEN, line)`` entry
    for each part computed at run time (issue 24, item 1)."""
    stated, unseen = stated_tools(node, env)
    line = getattr(node, "lineno", 0)
    return [*tool_names_in(stated, custom), *((src, _UNSEEN, ln or line) for src, ln in unseen)]


def _gated_tools(call: ast.Call, env: dict[str, ast.expr]) -> tuple[set[str] | None, str]:
    """The tools a prebuilt agent pauses for a person before (None: every tool), and why."""
    before = kwarg(call, "interrupt_before")
    if isinstance(before, ast.List | ast.Tuple) and "tools" in (literal(e)[0] for e in before.elts):
        return None, "interrupt_before=['tools']"
    names: set[str] = set()
    middleware = kwarg(call, "middleware")
    for m in middleware.elts if isinstance(middleware, ast.List | ast.Tuple) else []:
        if isinstance(m, ast.Call) and call_name(m) == "HumanInTheLoopMiddleware":
            on = kwarg(m, "interrupt_on") or (m.args[0] if m.args else None)
            if isinstance(on, ast.Dict):
                for k, v in zip(on.keys, on.values, strict=True):
                    key, _ = literal(k, env) if k is not None else (None, "")
                    value, _ = literal(v, env)
                    # True, or a policy of allowed decisions; a value only known at run time
                    # is no gate (fail closed: the draft asks for it to be declared)
                    if isinstance(key, str) and (value is True or isinstance(v, ast.Dict)):
                        names.add(key)
    return names, "HumanInTheLoopMiddleware(interrupt_on=...)"


def _prebuilt(
    tree: ast.Module, env: dict[str, ast.expr], custom: dict[str, str], f: str, d: Draft
) -> dict[str, DraftAgent]:
    """The agents of ``create_react_agent``/``create_agent`` and ``create_supervisor`` calls,
    by the variable they are assigned to."""
    by_var: dict[str, DraftAgent] = {}
    supervisors: list[tuple[ast.Call, DraftAgent]] = []

    def agent(
        call: ast.Call, aid: str, model: ast.expr | None, tools: ast.expr | None
    ) -> DraftAgent:
        base = unique = safe_id(aid)
        for n in range(2, 10_000):  # two prebuilt agents of one name: ids stay distinct
            if d.agent(unique) is None:
                break
            unique = f"{base}_{n}"
        a = DraftAgent(unique, Where(f, call.lineno))
        m, note, line = model_of(model, env)
        a.model, a.model_note, a.model_where = m, note, Where(f, line or call.lineno)
        gated, why = _gated_tools(call, env)
        stated, unseen = stated_tools(tools, env)  # issue 24, item 1: run-time lists
        for src, ln in unseen:
            d.unseen_tools(a, f"tools={src}", Where(f, ln or call.lineno))
        for tname, tcls, tline in tool_names_in(stated, custom):
            dt = DraftTool(tname, Where(f, tline))
            known_effect(dt, tcls)
            if gated is None or tname in gated:
                dt.gate, dt.gate_where, dt.gate_note = True, Where(f, call.lineno), why
            a.tools.append(dt)
        d.agents.append(a)
        return a

    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign | ast.AnnAssign) or not isinstance(node.value, ast.Call):
            continue
        call = node.value
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        var = target.id if isinstance(target, ast.Name) else None
        cn = call_name(call)
        if cn == "create_supervisor":
            name, _ = literal(kwarg(call, "supervisor_name"), env)
            aid = name if isinstance(name, str) else "supervisor"
            a = agent(call, aid, kwarg(call, "model"), kwarg(call, "tools"))
            supervisors.append((call, a))
        elif cn in PREBUILT:
            name, _ = literal(kwarg(call, "name"), env)
            aid = name if isinstance(name, str) else var or str(cn)
            model = call.args[0] if call.args else kwarg(call, "model")
            a = agent(call, aid, model, _tools_arg(call, env, at=1))
        else:
            continue
        if var:
            by_var[var] = a
    for call, sup in supervisors:  # after every agent: the workers may be assigned later
        workers = call.args[0] if call.args else kwarg(call, "agents")
        elts, unseen = static_list(workers, env)
        for src, ln in unseen:  # issue 24, item 1: agents built at run time
            d.unseen_agents(sup, f"agents={src}", Where(f, ln or call.lineno))
        for w in elts:
            if isinstance(w, ast.Name) and w.id in by_var and by_var[w.id] is not sup:
                by_var[w.id].depends_on.setdefault(sup.id, Where(f, call.lineno))
            elif not (isinstance(w, ast.Name) and w.id in by_var):
                d.unseen_agents(sup, f"agents: {source_text(w)}", Where(f, w.lineno))
    return by_var


def _route_targets(
    name: str, funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
) -> list[object]:
    """Where a routing function without a path map can go: ``tools_condition`` goes to
    ``tools``; a function of this module to the strings it returns or its ``Literal[…]``."""
    if name == "tools_condition":
        return ["tools"]
    fn = funcs.get(name)
    if fn is None:
        return []
    out: list[object] = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Return) and n.value is not None:
            v, _ = literal(n.value)
            out.append(v)
    if fn.returns is not None:
        for n in ast.walk(fn.returns):
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                out.append(n.value)
    return out


def _rename(d: Draft, a: DraftAgent, new: str) -> None:
    """Give a prebuilt agent its graph node's id, in every ``depends_on`` too."""
    if a.id == new or d.agent(new) is not None:
        return
    for other in d.agents:
        if a.id in other.depends_on:
            other.depends_on[new] = other.depends_on.pop(a.id)
    a.id = new


def read(paths: list[Path]) -> Draft:
    """Agents and edges from LangGraph modules."""
    d = Draft(NAME, "langgraph", list(paths))
    for p in paths:
        tree = parse(p)
        env = module_env(tree, str(p))
        custom = custom_tools(tree)
        f = str(p)
        funcs = {
            n.name: n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        tool_fns = {
            n
            for n, fn in funcs.items()
            if any(call_name(dec) == "tool" for dec in fn.decorator_list)
        }
        prebuilt = _prebuilt(tree, env, custom, f, d)
        interrupt_before: set[str] = set()
        gates_unseen: list[tuple[str, int]] = []  # issue 24, item 1: gates decided at run time
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and call_name(n) == "compile":
                ib = kwarg(n, "interrupt_before")
                if isinstance(ib, ast.List):
                    interrupt_before |= {
                        safe_id(v) for v in (literal(e)[0] for e in ib.elts) if isinstance(v, str)
                    }
                elif ib is not None and not (isinstance(ib, ast.Constant) and ib.value is None):
                    gates_unseen.append((f"interrupt_before={source_text(ib)}", n.lineno))
        models: dict[str, tuple[str, str, int]] = {}
        tools_of_var: dict[str, list[tuple[str, str, int]]] = {}
        for name, value in env.items():
            if isinstance(value, ast.Call):
                cn = call_name(value)
                if cn in CLIENT_PREFIX or cn == "init_chat_model":
                    m, note, line = model_of(value, env)
                    if m:
                        models[name] = (m, note, line)
                if cn == "bind_tools" and isinstance(value.func, ast.Attribute):
                    base = value.func.value
                    if isinstance(base, ast.Name) and base.id in models:
                        models[name] = models[base.id]
                    tools_of_var[name] = _tool_entries(_tools_arg(value, env), env, custom)
                if cn == "ToolNode":
                    tools_of_var[name] = _tool_entries(_tools_arg(value, env), env, custom)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "add_node" and node.args:
                first, _ = literal(node.args[0])
                target = node.args[1] if len(node.args) > 1 else node.args[0]
                nid = safe_id(first if isinstance(first, str) else ast.unparse(target))
                if isinstance(target, ast.Name) and target.id in prebuilt:
                    _rename(d, prebuilt[target.id], nid)  # the graph's edges name the node
                    continue
                fn = funcs.get(target.id) if isinstance(target, ast.Name) else None
                target_name = target.id if isinstance(target, ast.Name) else ""
                used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} if fn else set()
                if isinstance(target, ast.Name) and target.id in tools_of_var:
                    used.add(target.id)
                model = next((models[u] for u in used if u in models), None)
                tools = [t for u in used if u in tools_of_var for t in tools_of_var[u]]
                if isinstance(target, ast.Call) and call_name(target) == "ToolNode":
                    tools = _tool_entries(_tools_arg(target, env), env, custom)
                tools += [
                    (custom.get(u, u), u, fn.lineno)
                    for u in sorted(used & tool_fns)
                    if fn is not None and u != target_name
                ]
                if model is None and not tools:
                    continue
                a = d.agent(nid) or DraftAgent(nid, Where(f, node.lineno))
                if a not in d.agents:
                    d.agents.append(a)
                if model:
                    a.model, a.model_note, a.model_where = model[0], model[1], Where(f, model[2])
                interrupts = fn is not None and any(
                    isinstance(n, ast.Call) and call_name(n) == "interrupt" for n in ast.walk(fn)
                )
                before = nid in interrupt_before
                for tname, tcls, line in tools:
                    if tcls == _UNSEEN:
                        d.unseen_tools(a, f"tools={tname}", Where(f, line))
                        continue
                    dt = DraftTool(tname, Where(f, line))
                    known_effect(dt, tcls)
                    if interrupts:
                        dt.gate, dt.gate_note = True, "interrupt() in the node before the tool"
                    elif before:
                        dt.gate, dt.gate_note = True, f"compile(interrupt_before=[{nid!r}])"
                    a.tools.append(dt)
        for what, ln in gates_unseen:
            for ga in d.agents:
                if ga.where.file == f and ga.tools:
                    d.unseen_gates(ga, what, Where(f, ln))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("add_edge", "add_conditional_edges")
                and len(node.args) >= 2
            ):
                src, _ = literal(node.args[0])
                dsts: list[object] = []
                if node.func.attr == "add_edge":
                    v, _ = literal(node.args[1])
                    dsts = [v]
                else:
                    mp = node.args[2] if len(node.args) > 2 else None
                    if isinstance(mp, ast.Dict):
                        dsts = [literal(v)[0] for v in mp.values]
                    elif isinstance(mp, ast.List):
                        dsts = [literal(v)[0] for v in mp.elts]
                    elif isinstance(node.args[1], ast.Name):
                        dsts = _route_targets(node.args[1].id, funcs)
                for dst in dsts:
                    if isinstance(src, str) and isinstance(dst, str):
                        dst_agent = d.agent(safe_id(dst))
                        if dst_agent is not None and d.agent(safe_id(src)) is not None:
                            dst_agent.depends_on.setdefault(safe_id(src), Where(f, node.lineno))
    if not d.agents:
        raise fail(
            str(paths[0]) if paths else "-",
            "no graph node calls a model or binds tools, and no prebuilt agent",
            expected="StateGraph with add_node(...), or create_react_agent/create_agent",
        )
    return d
