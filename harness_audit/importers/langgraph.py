"""LangGraph (Python, read with ``ast``): the nodes of each graph (``StateGraph`` builders, by
variable or chained) that call a model, bind tools, hold a ``ToolNode`` or pause for a person
become agents; ``add_edge``/``add_conditional_edges`` (path maps, routing functions and their
``Literal[…]``), ``add_sequence`` and ``Command(goto=…)`` returned by a node become
``depends_on`` (through nodes that are not agents). Each graph's nodes are its own: two graphs
in one file never merge a node (a name both use is prefixed with its graph's); a compiled graph
added as a node of another stands for the nodes it starts with.

Models from ``init_chat_model("openai:gpt-4.1")``/``ChatOpenAI(model=…)`` and what is derived
from them (``.bind_tools``, ``.with_structured_output``); a model chosen at run time
(``init_chat_model(configurable_fields=…)``, a model built inside the node from its config,
``load_chat_model(cfg.model).bind_tools(...)``) drafts as an agent whose model is unknown (a
TODO with its line), never as "no model". Tools from ``bind_tools([...])``/``ToolNode([...])``;
a tool list the source computes at run time is an ``unknown`` tool (assumed destructive).

Gates are read as facts with their line: ``compile(interrupt_before=[node])``; ``interrupt()``
in the node that runs the tool; ``interrupt()`` in a handler node before the tools it names
(``if call["name"] in ["send", …]``) — with no such list, no gate until declared;
``interrupt()`` inside a tool's own function. ``recursion_limit`` (``invoke(…,
{"recursion_limit": N})``, ``with_config(recursion_limit=N)``) bounds each node of its graph to
N steps a run, and is drafted as ``max_iterations`` saying what it does not bound.

The prebuilt agents are agents too: ``create_react_agent(model, tools, name=…)``
(``langgraph.prebuilt``; ``interrupt_before=["tools"]`` gates every tool) and LangChain 1's
``create_agent(model, tools, name=…)`` (a ``HumanInTheLoopMiddleware(interrupt_on={tool: True
| {...}})`` gates the tools it names); ``create_supervisor([agents], model=…,
supervisor_name=…)`` (``langgraph_supervisor``, compiled or not) is an agent its workers depend
on. A prebuilt agent added as a graph node takes the node's id.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness_audit.importers import tables
from harness_audit.importers.base import as_dict, load_json, read_document
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.effects import propose_reached, resolve_function
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    CLIENT_PREFIX,
    MAX_PY_BYTES,
    Env,
    call_name,
    custom_tools,
    imports,
    kwarg,
    literal,
    model_of,
    module_env,
    module_file,
    parse,
    resolve_name,
    source_text,
    stated_tools,
    static_list,
    tool_names_in,
)

NAME = "langgraph"
DESCRIPTION = "LangGraph graphs (Python, langgraph.json)"


PREBUILT = ("create_react_agent", "create_agent")
"""Calls that make one agent (a model and its tools): langgraph.prebuilt, langchain.agents."""

_BUILDER = frozenset(
    (
        "add_node",
        "add_edge",
        "add_conditional_edges",
        "add_sequence",
        "set_entry_point",
        "set_finish_point",
    )
)
"""``StateGraph`` methods that return the builder (chains of them are one graph)."""

_START, _END = "__start__", "__end__"

UNSEEN = "\x00unseen"
"""The class of a tool entry that stands for tools computed at run time (its name: the
source text), drafted with ``Draft.unseen_tools`` (issue 24, item 1)."""

_Tool = tuple[str, str, int, str]
"""(tool name, class or function name, line, note) of one tool of a list."""

_Model = tuple[str | None, str, int]
"""(model string or None when chosen at run time, note, line)."""


def sniff(probe: Probe) -> str | None:
    """What LangGraph file the source is (None: not one)."""
    if probe.path.suffix == ".json":
        return "a LangGraph platform config (langgraph.json)" if _is_config(probe.json) else None
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
        elts = [_unwrapped(e, env) for e in elts]
        return ast.copy_location(ast.List(elts=elts, ctx=ast.Load()), node)
    return node


def _unwrapped(el: ast.expr, env: dict[str, ast.expr]) -> ast.expr:
    """``add_human_in_the_loop(book_hotel)`` (a module function that wraps a tool behind
    ``interrupt()``) as the tool it wraps, ``book_hotel``; gated by :func:`_tool_interrupts`."""
    wrappers: dict[str, int] = getattr(env, "wrappers", {})
    if (
        isinstance(el, ast.Call)
        and isinstance(el.func, ast.Name)
        and el.func.id in wrappers
        and el.args
        and isinstance(el.args[0], ast.Name | ast.Attribute)
    ):
        return el.args[0]
    return el


def hitl_wrappers(tree: ast.Module) -> dict[str, int]:
    """Module functions (not tools themselves) that define an inner function calling
    ``interrupt()`` and return it: tool wrappers such as LangGraph's documented
    ``add_human_in_the_loop(tool)``; name -> the interrupt's line."""
    out: dict[str, int] = {}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or any(
            call_name(x) == "tool" for x in fn.decorator_list
        ):
            continue
        inner = [
            n
            for n in ast.walk(fn)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n is not fn
        ]
        lines = [x for x in (_interrupt_line(n) for n in inner) if x is not None]
        if lines:
            out[fn.name] = min(lines)
    return out


def _short(node: ast.AST) -> str:
    """The source text of an expression, one line, at most 60 characters."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _tool_list(
    node: ast.expr | None, env: dict[str, ast.expr], custom: dict[str, str], f: str, line: int
) -> list[_Tool]:
    """The tools of a ``tools`` value: a list by name (module names followed, ``[*NAMED]``
    too); a call that selects tools by literal names (``get_tools(["a", "b"])``) those names;
    each part computed at run time one :data:`UNSEEN` entry (its source text and line), which
    the caller drafts with ``Draft.unseen_tools`` (fail closed)."""
    if node is None:
        return []
    at = getattr(node, "lineno", line)
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
        names = [literal(e)[0] for e in node.args[0].elts]
        if names and all(isinstance(n, str) for n in names):
            why = f"selected by name through {_short(node.func)}(...) at {Path(f).name}:{at}"
            return [(str(n), str(n), at, why) for n in names]
    stated, unseen = stated_tools(node, env)
    out: list[_Tool] = [(n, c, ln, "") for n, c, ln, _ in tool_names_in(stated, custom)]
    out += [(src, UNSEEN, ln or at, "") for src, ln in unseen]
    return out


def _gated_tools(call: ast.Call, env: dict[str, ast.expr]) -> tuple[set[str] | None, str, int]:
    """The tools a prebuilt agent pauses for a person before (None: every tool), why, and
    the line that says so."""
    before = kwarg(call, "interrupt_before")
    if isinstance(before, ast.List | ast.Tuple) and "tools" in (literal(e)[0] for e in before.elts):
        return None, "interrupt_before=['tools']", before.lineno
    names: set[str] = set()
    line = call.lineno
    middleware = kwarg(call, "middleware")
    if isinstance(middleware, ast.Name) and middleware.id in env:
        middleware = env[middleware.id]
    for m in middleware.elts if isinstance(middleware, ast.List | ast.Tuple) else []:
        if isinstance(m, ast.Name) and isinstance(env.get(m.id), ast.Call):
            m = env[m.id]
        if isinstance(m, ast.Call) and call_name(m) == "HumanInTheLoopMiddleware":
            line = m.lineno
            on = kwarg(m, "interrupt_on") or (m.args[0] if m.args else None)
            if isinstance(on, ast.Name) and on.id in env:
                on = env[on.id]
            if isinstance(on, ast.Dict):
                for k, v in zip(on.keys, on.values, strict=True):
                    key, _ = literal(k, env) if k is not None else (None, "")
                    value, _ = literal(v, env)
                    # True, or a policy of allowed decisions; a value only known at run time
                    # is no gate (fail closed: the draft asks for it to be declared)
                    if isinstance(key, str) and (value is True or isinstance(v, ast.Dict)):
                        names.add(key)
    return names, "HumanInTheLoopMiddleware(interrupt_on=...)", line


def _chain_root(node: ast.AST) -> ast.AST:
    """The start of a builder chain: ``StateGraph(S).add_node(a).add_edge(…)`` gives the
    ``StateGraph(S)`` call, ``g.add_node(a)`` gives ``g``; ``x.compile()`` gives ``x``'s."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (node.func.attr in _BUILDER or node.func.attr == "compile")
    ):
        node = node.func.value
    return node


@dataclass
class _Graph:
    """One ``StateGraph`` of a file: its nodes, edges and gates."""

    key: str
    line: int
    nodes: dict[str, tuple[ast.expr, int]] = field(default_factory=dict)
    edges: list[tuple[str, str, int]] = field(default_factory=list)
    interrupt_before: dict[str, int] = field(default_factory=dict)
    gates_unseen: list[tuple[str, int]] = field(default_factory=list)
    """``compile(interrupt_before=<computed>)``: (source text, line), not a gate until
    declared."""
    ids: dict[str, str] = field(default_factory=dict)
    """node name -> drafted agent id (nodes that are agents)."""
    nodes_unseen: list[tuple[str, int]] = field(default_factory=list)
    """``add_node(name, node)`` whose node the code computes at run time (a loop's variables,
    an element of a list): (source text, line), a placeholder agent until declared."""


def _graph_key(root: ast.AST, names: dict[int, str]) -> str | None:
    """The graph a chain starts at: its variable, or the variable its ``StateGraph(...)`` is
    assigned to, else ``graph_at_LINE``."""
    if isinstance(root, ast.Name):
        return root.id
    if isinstance(root, ast.Call) and call_name(root) == "StateGraph":
        return names.get(id(root), f"graph_at_{root.lineno}")
    return None


def _node_name(v: ast.AST | None) -> str | None:
    """A node name: a string, ``START``/``END``, or a function added by itself."""
    if isinstance(v, ast.Name) and v.id in ("START", "END"):
        return _START if v.id == "START" else _END
    got, _ = literal(v)
    return got if isinstance(got, str) else None


def _strings(node: ast.AST | None) -> list[str]:
    """Node names in a goto value or an annotation: strings, ``END``, ``Send("x", …)``."""
    out: list[str] = []
    if node is None:
        return out
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
        elif isinstance(n, ast.Name) and n.id == "END":
            out.append(_END)
    return out


def _goto_targets(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, int]]:
    """Where a node sends the run with ``Command(goto=…)`` (a string, a list, or a local name
    assigned strings) or its ``-> Command[Literal[…]]`` annotation; with the line."""
    local: dict[str, list[str]] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    got = _node_name(n.value)
                    if got is not None:
                        local.setdefault(t.id, []).append(got)
    out: list[tuple[str, int]] = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Call) and call_name(n) == "Command":
            goto = kwarg(n, "goto")
            if isinstance(goto, ast.Name) and goto.id in local:
                out.extend((s, n.lineno) for s in local[goto.id])
            elif goto is not None:
                out.extend((s, n.lineno) for s in _strings(goto))
    if fn.returns is not None and "Command" in ast.unparse(fn.returns):
        out.extend((s, fn.lineno) for s in _strings(fn.returns))
    return out


def _route_targets(
    name: str, funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
) -> list[object]:
    """Where a routing function without a path map can go: ``tools_condition`` goes to
    ``tools``; a function of this module to the strings it returns (``Send("x", …)`` too) or
    its ``Literal[…]``."""
    if name == "tools_condition":
        return ["tools"]
    fn = funcs.get(name)
    if fn is None:
        return []
    out: list[object] = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Return) and n.value is not None:
            v = _node_name(n.value)
            out.append(v)
            if v is None:
                for s in ast.walk(n.value):
                    if isinstance(s, ast.Call) and call_name(s) == "Send" and s.args:
                        out.append(_node_name(s.args[0]))
    if fn.returns is not None:
        for n in ast.walk(fn.returns):
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                out.append(n.value)
    return out


def _assigned(tree: ast.Module) -> dict[int, str]:
    """id(call) -> the variable the chain it starts is assigned to (``x = StateGraph(S)…``,
    ``app = create_supervisor(...).compile()``)."""
    out: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name):
                root = _chain_root(node.value)
                out.setdefault(id(root), target.id)
                out.setdefault(id(node.value), target.id)
    return out


def _model_expr(
    node: ast.AST | None, models: dict[str, _Model], env: dict[str, ast.expr], f: str
) -> _Model | None:
    """The model of an expression, or None when it is not one: a model client call, a name
    holding one, or a method called on one (``llm.bind_tools(…)``, ``.with_structured_output``).
    A client without a literal model, or ``init_chat_model(configurable_fields=…)``, is a model
    chosen at run time (None with a note)."""
    for _ in range(20):
        if isinstance(node, ast.Name):
            return models.get(node.id)
        if not isinstance(node, ast.Call):
            return None
        cn = call_name(node)
        if cn in CLIENT_PREFIX or cn in ("init_chat_model", "load_chat_model"):
            m, note, line = model_of(node, env) if cn != "load_chat_model" else (None, "", 0)
            line = line or node.lineno
            if m:
                return m, note, line
            if kwarg(node, "configurable_fields") is not None:
                why = "init_chat_model(configurable_fields=...)"
            else:
                why = _short(node)
            return None, f"model chosen at run time: {why} at {Path(f).name}:{line}", line
        if isinstance(node.func, ast.Attribute):
            node = node.func.value
            continue
        return None
    return None


def _run_time_model(call: ast.Call, f: str) -> _Model:
    """A model whose client is not read (``.bind_tools`` on a project function's result)."""
    base = call.func.value if isinstance(call.func, ast.Attribute) else call.func
    return (
        None,
        f"model chosen at run time: {_short(base)} at {Path(f).name}:{call.lineno}",
        (call.lineno),
    )


def _hitl_names(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, env: dict[str, ast.expr]
) -> tuple[set[str], int] | None:
    """The tool names a handler node tests before its ``interrupt()`` (``if name in [...]`` or
    ``not in``, a literal or a name assigned one), and the line of the list; None when none."""
    local: dict[str, ast.expr] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    local[t.id] = n.value
    for n in ast.walk(fn):
        if not isinstance(n, ast.Compare):
            continue
        for op, right in zip(n.ops, n.comparators, strict=True):
            if not isinstance(op, ast.In | ast.NotIn):
                continue
            seq: ast.expr | None = right
            if isinstance(right, ast.Name):
                seq = local.get(right.id) or env.get(right.id)
            if isinstance(seq, ast.List | ast.Tuple | ast.Set) and seq.elts:
                names = [literal(e)[0] for e in seq.elts]
                if all(isinstance(x, str) for x in names):
                    return {str(x) for x in names}, seq.lineno
    return None


def _interrupt_line(fn: ast.AST | None) -> int | None:
    """The line of the first ``interrupt(...)`` call in a function, None when it has none."""
    if fn is None:
        return None
    lines = [
        n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call) and call_name(n) == "interrupt"
    ]
    return min(lines) if lines else None


OWN_INTERRUPT = "interrupt() in the tool's own function, before it acts"


def _tool_interrupts(tree: ast.Module) -> dict[str, int]:
    """Tool functions (``@tool``) of the file that call ``interrupt()``, and tools wrapped by
    a :func:`hitl_wrappers` function (``add_human_in_the_loop(book_hotel)``): name -> the
    interrupt's line."""
    out: dict[str, int] = {}
    wrappers = hitl_wrappers(tree)
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in wrappers
            and call.args
        ):
            arg = call.args[0]
            name = arg.id if isinstance(arg, ast.Name) else getattr(arg, "attr", None)
            if isinstance(name, str):
                out.setdefault(name, wrappers[call.func.id])
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            call_name(x) == "tool" for x in fn.decorator_list
        ):
            line = _interrupt_line(fn)
            if line is not None:
                out[fn.name] = line
    return out


def _recursion_limits(tree: ast.Module, env: dict[str, ast.expr]) -> list[tuple[int, int, str]]:
    """(limit, line, variable of the graph or prebuilt agent it is given to, or "") of each
    ``recursion_limit`` in the file (a config dict entry or a keyword)."""
    out: list[tuple[int, int, str]] = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        found: tuple[int, int] | None = None
        k = kwarg(call, "recursion_limit")
        v, _ = literal(k, env)
        if isinstance(v, int) and not isinstance(v, bool) and k is not None:
            found = (v, k.lineno)
        for arg in [*call.args, *(kw.value for kw in call.keywords)]:
            if isinstance(arg, ast.Name) and isinstance(env.get(arg.id), ast.Dict):
                arg = env[arg.id]
            if isinstance(arg, ast.Dict):
                for dk, dv in zip(arg.keys, arg.values, strict=True):
                    key, _ = literal(dk, env) if dk is not None else (None, "")
                    val, _ = literal(dv, env)
                    if key == "recursion_limit" and isinstance(val, int):
                        found = (val, dv.lineno)
        if found is None:
            continue
        base = call.func.value if isinstance(call.func, ast.Attribute) else None
        var = base.id if isinstance(base, ast.Name) else ""
        out.append((found[0], found[1], var))
    return out


def _unique(d: Draft, aid: str) -> str:
    """``aid``, or ``aid_2``… when an agent of that id is drafted already."""
    base = unique = safe_id(aid)
    for n in range(2, 10_000):
        if d.agent(unique) is None:
            break
        unique = f"{base}_{n}"
    return unique


def _prebuilt(
    tree: ast.Module,
    env: dict[str, ast.expr],
    custom: dict[str, str],
    f: str,
    d: Draft,
    names: dict[int, str],
) -> dict[str, DraftAgent]:
    """The agents of ``create_react_agent``/``create_agent`` and ``create_supervisor`` calls,
    by the variable they are assigned to (compiled or not)."""
    by_var: dict[str, DraftAgent] = {}
    supervisors: list[tuple[ast.Call, DraftAgent]] = []
    prebuilt: list[tuple[ast.Call, DraftAgent]] = []
    own_gates = _tool_interrupts(tree)

    def agent(
        call: ast.Call, aid: str, model: ast.expr | None, tools: ast.expr | None
    ) -> DraftAgent:
        a = DraftAgent(_unique(d, aid), Where(f, call.lineno))
        m, note, line = model_of(model, env)
        a.model, a.model_note, a.model_where = m, note, Where(f, line or call.lineno)
        if m is None and model is not None:
            a.notes.append(f"model chosen at run time: {_short(model)} at {Path(f).name}:{line}")
        gated, why, gline = _gated_tools(call, env)
        for tname, tcls, tline, tnote in _tool_list(tools, env, custom, f, call.lineno):
            if tcls == UNSEEN:
                d.unseen_tools(a, f"tools={tname}", Where(f, tline))
                continue
            dt = DraftTool(tname, Where(f, tline))
            known_effect(dt, tcls)
            if tcls in own_gates:
                dt.gate, dt.gate_where = True, Where(f, own_gates[tcls])
                dt.gate_note = OWN_INTERRUPT
            elif gated is None or tname in gated:
                dt.gate, dt.gate_where, dt.gate_note = True, Where(f, gline), why
            elif tnote:
                dt.gate_note = f"{tnote}; the source has no human approval before it"
            a.tools.append(dt)
        d.agents.append(a)
        return a

    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        cn = call_name(call)
        var = names.get(id(call))
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
            prebuilt.append((call, a))
        else:
            continue
        if var:
            by_var[var] = a
    for call, a in prebuilt:  # after every agent: a swarm's handoffs name later ones
        _handoff_tools(d, _tools_arg(call, env, at=1), a, env, f, swarm=True)
    for call, sup in supervisors:  # after every agent: the workers may be assigned later
        _handoff_tools(d, kwarg(call, "tools"), sup, env, f)
        workers = call.args[0] if call.args else kwarg(call, "agents")
        elts, unseen = static_list(workers, env)
        for src, ln in unseen:  # agents built at run time: a placeholder (issue 24, item 1)
            d.unseen_agents(sup, f"agents={src}", Where(f, ln or call.lineno))
        for w in elts:
            if isinstance(w, ast.Name) and w.id in by_var and by_var[w.id] is not sup:
                by_var[w.id].depends_on.setdefault(sup.id, Where(f, call.lineno))
            elif not (isinstance(w, ast.Name) and w.id in by_var):
                d.unseen_agents(sup, f"agents: {source_text(w)}", Where(f, w.lineno))
    return by_var


_HANDOFF_BUILDERS = ("create_handoff_tool", "create_forward_message_tool")


def _handoff_tools(
    d: Draft,
    tools_node: ast.expr | None,
    sup: DraftAgent,
    env: dict[str, ast.expr],
    f: str,
    swarm: bool = False,
) -> None:
    """A supervisor's ``tools=[create_handoff_tool(agent_name="writer", …)]`` are handoffs
    (the worker named depends on the supervisor), not tools with an effect of their own;
    ``create_forward_message_tool`` passes a worker's answer on. In a swarm (``swarm``: a
    prebuilt agent's own tools, ``langgraph_swarm``), a handoff passes control to the agent
    named: a spawn, as an Agents SDK handoff is. A handoff tool may be named by a module
    variable. A handoff to an agent the files do not define is to an unknown agent (fail
    closed)."""
    if not isinstance(tools_node, ast.List | ast.Tuple):
        return
    found = False
    for item in tools_node.elts:
        el = resolve_name(item, env) if isinstance(item, ast.Name) else item
        if not (isinstance(el, ast.Call) and call_name(el) in _HANDOFF_BUILDERS):
            continue
        found = True
        if call_name(el) != "create_handoff_tool":
            continue
        target, _ = literal(kwarg(el, "agent_name") or (el.args[0] if el.args else None), env)
        worker = d.agent(safe_id(target)) if isinstance(target, str) else None
        where = Where(f, getattr(item, "lineno", el.lineno))
        if worker is not None and worker is not sup:
            if swarm:
                sup.spawns.setdefault(worker.id, where)
            else:
                worker.depends_on.setdefault(sup.id, where)
        else:
            d.unseen_agents(sup, f"handoff to {_short(el)}", where)
    if found:
        sup.tools = [t for t in sup.tools if t.name not in _HANDOFF_BUILDERS]


def _rename(d: Draft, a: DraftAgent, new: str) -> None:
    """Give a prebuilt agent its graph node's id, in every ``depends_on`` too."""
    if a.id == new or d.agent(new) is not None:
        return
    for other in d.agents:
        if a.id in other.depends_on:
            other.depends_on[new] = other.depends_on.pop(a.id)
    a.id = new


def _graphs(tree: ast.Module, names: dict[int, str]) -> dict[str, _Graph]:
    """Every graph of the file with its nodes, edges and ``interrupt_before`` nodes."""
    graphs: dict[str, _Graph] = {}
    stated = {  # names the module binds itself: a node given by one of them is read
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    stated |= set(module_env(tree)) | set(imports(tree))
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        attr = call.func.attr
        if attr not in _BUILDER and attr != "compile":
            continue
        root = _chain_root(call.func.value)
        if (
            attr == "compile"
            and not (isinstance(root, ast.Call) and call_name(root) == "StateGraph")
            and not (isinstance(root, ast.Name) and root.id in graphs)
        ):
            continue
        key = _graph_key(root, names)
        if key is None:
            continue
        g = graphs.setdefault(key, _Graph(key, getattr(root, "lineno", call.lineno)))
        if attr == "add_node" and call.args:
            first = _node_name(call.args[0])
            target = call.args[1] if len(call.args) > 1 else call.args[0]
            nid = first if first is not None else _short(target)
            if isinstance(call.args[0], ast.Name) and len(call.args) == 1:
                nid = call.args[0].id
            if first is None and not (isinstance(target, ast.Name) and target.id in stated):
                g.nodes_unseen.append((source_text(call)[:100], call.lineno))
                continue  # a loop's variable or a computed node: what it runs is unknown
            g.nodes.setdefault(nid, (target, call.lineno))
        elif attr == "add_sequence" and call.args and isinstance(call.args[0], ast.List):
            prev = None
            for el in call.args[0].elts:
                sid = el.id if isinstance(el, ast.Name) else _node_name(el)
                if sid is None:
                    continue
                g.nodes.setdefault(sid, (el, call.lineno))
                if prev is not None:
                    g.edges.append((prev, sid, call.lineno))
                prev = sid
        elif attr in ("set_entry_point", "set_finish_point") and call.args:
            end = _node_name(call.args[0])
            if end is not None:
                pair = (_START, end) if attr == "set_entry_point" else (end, _END)
                g.edges.append((*pair, call.lineno))
        elif attr == "compile":
            ib = kwarg(call, "interrupt_before")
            if isinstance(ib, ast.List | ast.Tuple):
                for e in ib.elts:
                    v = _node_name(e)
                    if v is not None:
                        g.interrupt_before[v] = ib.lineno
            elif ib is not None and not (isinstance(ib, ast.Constant) and ib.value is None):
                g.gates_unseen.append((f"interrupt_before={source_text(ib)}", call.lineno))
    return graphs


def _edges(
    tree: ast.Module,
    graphs: dict[str, _Graph],
    names: dict[int, str],
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
) -> None:
    """``add_edge``/``add_conditional_edges`` of each graph, and ``Command(goto=…)`` of its
    node functions."""
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("add_edge", "add_conditional_edges")
            and len(node.args) >= 2
        ):
            continue
        key = _graph_key(_chain_root(node.func.value), names)
        g = graphs.get(key or "")
        if g is None:
            continue
        srcs: list[str | None]
        if isinstance(node.args[0], ast.List):  # add_edge([a, b], c): waits for both
            srcs = [_node_name(e) for e in node.args[0].elts]
        else:
            srcs = [_node_name(node.args[0])]
        dsts: list[object] = []
        if node.func.attr == "add_edge":
            dsts = [_node_name(node.args[1])]
        else:
            mp = node.args[2] if len(node.args) > 2 else kwarg(node, "path_map")
            if isinstance(mp, ast.Dict):
                dsts = [_node_name(v) for v in mp.values]
            elif isinstance(mp, ast.List):
                dsts = [_node_name(v) for v in mp.elts]
            elif isinstance(node.args[1], ast.Name):
                dsts = _route_targets(node.args[1].id, funcs)
        for src in srcs:
            for dst in dsts:
                if isinstance(src, str) and isinstance(dst, str):
                    g.edges.append((src, dst, node.lineno))
    for g in graphs.values():
        for nid, (target, _) in list(g.nodes.items()):
            fn = funcs.get(target.id) if isinstance(target, ast.Name) else None
            if fn is not None:
                g.edges.extend((nid, dst, line) for dst, line in _goto_targets(fn))


def _upstream(g: _Graph, nid: str, entries: dict[str, list[str]]) -> dict[str, int]:
    """The agent nodes a node waits for: its predecessors, through nodes that are not agents
    (a compiled subgraph node stands for the agents it starts with); with the edge's line."""
    preds: dict[str, list[tuple[str, int]]] = {}
    for s, t, line in g.edges:
        preds.setdefault(t, []).append((s, line))
    out: dict[str, int] = {}
    stack = list(preds.get(nid, []))
    seen: set[str] = set()
    while stack:
        s, line = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        if s in g.ids:
            out.setdefault(g.ids[s], line)
        elif s in entries:  # a subgraph: its agents ran before
            for aid in entries[s]:
                out.setdefault(aid, line)
        else:
            stack.extend(preds.get(s, []))
    return out


def _is_config(doc: Any) -> bool:
    """A LangGraph platform config: ``graphs`` mapping names to ``path.py:attribute``."""
    graphs = doc.get("graphs") if isinstance(doc, dict) else None
    return (
        isinstance(graphs, dict)
        and bool(graphs)
        and all(isinstance(v, str) and ".py:" in v for v in graphs.values())
    )


def _config(p: Path, d: Draft, modules: list[Path]) -> None:
    """The graphs a ``langgraph.json`` deploys: each entry's module (relative to the config,
    within its folder) is read, once, with the modules given; an entry whose module is not in
    the project is a placeholder agent (fail closed), with the config's line."""
    raw = read_document(p, MAX_PY_BYTES)
    doc = load_json(p, raw)
    root = p.parent.resolve()
    for gname, entry in as_dict(as_dict(doc).get("graphs")).items():
        rel = str(entry).rsplit(":", 1)[0]
        idx = raw.find(orjson.dumps(str(gname)))
        where = Where(str(p), raw[: max(idx, 0)].count(b"\n") + 1)
        target = (p.parent / rel).resolve()
        try:
            inside = target.is_relative_to(root) and target.is_file()
        except OSError:
            inside = False
        if inside:
            if target not in {m.resolve() for m in modules}:
                modules.append(target)
                d.sources.append(target)
            continue
        d.unseen_agents(None, f"graph {gname!r}: {entry} is not in the files read", where)


def read(paths: list[Path]) -> Draft:
    """Agents and edges from LangGraph modules (and the modules a ``langgraph.json`` names)."""
    d = Draft(NAME, "langgraph", list(paths))
    modules = [p for p in paths if p.suffix != ".json"]
    for p in paths:
        if p.suffix == ".json":
            _config(p, d, modules)
    parents = [str(p.resolve().parent) for p in modules]
    project = Path(os.path.commonpath(parents)) if parents else None
    mods: dict[Path, _Mod] = {}
    for p in modules:
        _read_file(p, d, project, mods)
    return d.with_agents(
        paths,
        "no graph node calls a model, binds tools, holds a ToolNode or pauses for a "
        "person, and no prebuilt agent",
        "StateGraph with add_node(...), or create_react_agent/create_agent",
    )


@dataclass
class _Mod:
    """What one module states beside its graphs: its names, tools, gates, models."""

    f: str
    tree: ast.Module
    env: Env
    custom: dict[str, str]
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    tool_fns: set[str]
    own_gates: dict[str, int]
    models: dict[str, _Model] = field(default_factory=dict)
    tools_of_var: dict[str, list[_Tool]] = field(default_factory=dict)


def _module(p: Path, mods: dict[Path, _Mod], tree: ast.Module | None = None) -> _Mod:
    """The module at ``p`` read once (``mods`` keeps it): a graph's own file, or the file a
    node's function is imported from."""
    key = p.resolve()
    if key in mods:
        return mods[key]
    tree = tree or parse(p)
    f = str(p)
    env = module_env(tree, f)
    env.wrappers = hitl_wrappers(tree)
    custom = custom_tools(tree)
    funcs = {
        n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    tool_fns = {
        n for n, fn in funcs.items() if any(call_name(x) == "tool" for x in fn.decorator_list)
    }
    m = _Mod(f, tree, env, custom, funcs, tool_fns, _tool_interrupts(tree))
    for var, value in env.items():  # in order: a name derived from a model is read after it
        if not isinstance(value, ast.Call):
            continue
        got = _model_expr(value, m.models, env, f)
        if got is not None:
            m.models[var] = got
        cn = call_name(value)
        if cn == "bind_tools" and isinstance(value.func, ast.Attribute):
            if got is None:
                m.models[var] = _run_time_model(value, f)
            m.tools_of_var[var] = _tool_list(_tools_arg(value, env), env, custom, f, value.lineno)
        if cn == "ToolNode":
            m.tools_of_var[var] = _tool_list(_tools_arg(value, env), env, custom, f, value.lineno)
    mods[key] = m
    return m


def _node_function(
    target: ast.AST, here: _Mod, project: Path | None, mods: dict[Path, _Mod]
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, _Mod, str]:
    """A node's function and the module that states it: this module's own, else the one it
    is imported from (``from agent.nodes import triage``; ``nodes.triage``), followed within
    the project. The third value names a function imported from a module not read ("" when
    none is): its node may call a model or act, unseen."""
    if isinstance(target, ast.Name) and target.id in here.funcs:
        return here.funcs[target.id], here, ""
    if not isinstance(target, ast.Name | ast.Attribute):
        return None, here, ""
    ref = ast.unparse(target)
    head = ref.split(".", 1)[0]
    if head in here.env or head in here.funcs or head not in imports(here.tree):
        return None, here, ""
    hit = resolve_function(Path(here.f), ref, project)
    if hit is None:
        return None, here, ref
    return hit[1], _module(hit[0], mods), ""


_TOOL_RUNS = ("invoke", "ainvoke", "run", "arun", "batch", "abatch")


def _tool_run(call: ast.Call, mod: _Mod) -> ast.Call | None:
    """``ShellTool()`` of ``shell.invoke(...)`` where ``shell`` is a module variable built from a
    tool class the project defines or rules/tool_effects.yaml names (``ShellTool()``): the
    node runs the tool itself, with no model choosing it. None for any other call."""
    func = call.func
    if not (
        isinstance(func, ast.Attribute)
        and func.attr in _TOOL_RUNS
        and isinstance(func.value, ast.Name)
        and func.value.id not in mod.models
    ):
        return None
    made = resolve_name(func.value, mod.env)
    cls = call_name(made) if isinstance(made, ast.Call) else None
    if isinstance(made, ast.Call) and cls and (cls in mod.custom or tables.known_tool_effect(cls)):
        return made
    return None


def _gate(
    dt: DraftTool, tcls: str, mod: _Mod, interrupt_at: int | None, before: Where | None, nid: str
) -> None:
    """A node's tool gated by the tool's own ``interrupt()``, one in the node before it, or
    the graph's ``compile(interrupt_before=[node])``, in that order; else left ungated."""
    if tcls and tcls in mod.own_gates:
        dt.gate, dt.gate_where = True, Where(mod.f, mod.own_gates[tcls])
        dt.gate_note = OWN_INTERRUPT
    elif interrupt_at is not None:
        dt.gate, dt.gate_where = True, Where(mod.f, interrupt_at)
        dt.gate_note = "interrupt() in the node before the tool"
    elif before is not None:
        dt.gate, dt.gate_where = True, before
        dt.gate_note = f"compile(interrupt_before=[{nid!r}])"


def _tools_in(
    node: ast.expr | None,
    mod: _Mod,
    project: Path | None,
    mods: dict[Path, _Mod],
    line: int,
    d: Draft,
) -> list[_Tool]:
    """:func:`_tool_list` of a ``tools`` value in ``mod``; a list the module imports from
    another module of the project (``from agent.tools import TOOLS``) is that module's list,
    its tools named as it states them (each placed at ``line``, the use, and said listed
    there), not tools computed at run time."""
    if (
        isinstance(node, ast.Name)
        and node.id not in mod.env
        and node.id not in mod.funcs
        and (imp := imports(mod.tree).get(node.id)) is not None
        and imp[2] is not None
        and (target := module_file(Path(mod.f), imp[0], imp[1], project)) is not None
    ):
        other = _module(target, mods)
        value = other.env.get(imp[2])
        if isinstance(value, ast.List | ast.Tuple):
            if target.resolve() not in {x.resolve() for x in d.sources}:
                d.sources.append(target)  # its tools are drawn from it (and its code read)
            at = f"listed as {imp[2]} in {Path(other.f).name}:{value.lineno}"
            return [
                (n, c, line if c != UNSEEN else ln, at if c != UNSEEN else why)
                for n, c, ln, why in _tool_list(value, other.env, other.custom, other.f, line)
            ]
    return _tool_list(node, mod.env, mod.custom, mod.f, line)


def _read_file(p: Path, d: Draft, project: Path | None, mods: dict[Path, _Mod]) -> None:
    """The agents of one module into ``d``."""
    tree = parse(p)
    here = _module(p, mods, tree)
    env, custom, funcs, f = here.env, here.custom, here.funcs, here.f
    name = Path(f).name
    names = _assigned(tree)
    prebuilt = _prebuilt(tree, env, custom, f, d, names)
    tools_of_var = here.tools_of_var
    graphs = _graphs(tree, names)
    _edges(tree, graphs, names, funcs)
    compiled: dict[str, str] = {}  # variable of a compiled graph -> its graph
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "compile"
            and id(call) in names
        ):
            key = _graph_key(_chain_root(call.func.value), names)
            if key is not None and key in graphs:
                compiled[names[id(call)]] = key
    counts: dict[str, int] = {}
    for g in graphs.values():
        for nid in g.nodes:
            counts[nid] = counts.get(nid, 0) + 1
    if len(graphs) > 1:
        listed = ", ".join(f"{g.key} ({name}:{g.line})" for g in graphs.values())
        d.notes.append(
            f"{name} builds {len(graphs)} graphs: {listed}; each node is its own graph's "
            "(a name two graphs use is prefixed with its graph's)"
        )
    handlers: list[tuple[_Graph, str, ast.FunctionDef | ast.AsyncFunctionDef, int, str]] = []
    for g in graphs.values():
        for nid, (target, line) in g.nodes.items():
            aid = safe_id(nid if counts[nid] == 1 else f"{g.key}_{nid}")
            if isinstance(target, ast.Name) and target.id in prebuilt:
                _rename(d, prebuilt[target.id], aid)  # the graph's edges name the node
                g.ids[nid] = prebuilt[target.id].id
                continue
            if isinstance(target, ast.Name) and target.id in compiled:
                continue  # a subgraph: stands for its entry agents
            fn, mod, unread = _node_function(target, here, project, mods)
            if unread:  # its function is in a module not read: it may call a model, or act
                d.unseen_agents(
                    None,
                    f"graph {g.key!r}: node {nid!r} runs {unread}, imported from a module not read",
                    Where(f, line),
                )
                continue
            mf = mod.f
            target_name = target.id if isinstance(target, ast.Name) else ""
            used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} if fn else set()
            if isinstance(target, ast.Name) and target.id in tools_of_var:
                used.add(target.id)
            model = next((mod.models[u] for u in sorted(used) if u in mod.models), None)
            tools = [t for u in sorted(used) if u in mod.tools_of_var for t in mod.tools_of_var[u]]
            if isinstance(target, ast.Call) and call_name(target) == "ToolNode":
                tools = _tools_in(_tools_arg(target, env), here, project, mods, target.lineno, d)
            if fn is not None:
                menv, mcustom = mod.env, mod.custom
                for n in ast.walk(fn):  # a model built or tools bound inside the node
                    if not isinstance(n, ast.Call):
                        continue
                    if call_name(n) == "bind_tools" and isinstance(n.func, ast.Attribute):
                        m = _model_expr(n.func.value, mod.models, menv, mf)
                        if model is None or model[0] is None:
                            model = m if m is not None else _run_time_model(n, mf)
                        tools += _tools_in(_tools_arg(n, menv), mod, project, mods, n.lineno, d)
                    elif (run := _tool_run(n, mod)) is not None:  # run by the node itself
                        tools += _tool_list(ast.List([run]), menv, mcustom, mf, n.lineno)
                    elif model is None and call_name(n) in (
                        *CLIENT_PREFIX,
                        "init_chat_model",
                        "load_chat_model",
                    ):
                        model = _model_expr(n, mod.models, menv, mf)
                tools += [
                    (mcustom.get(u, u), u, fn.lineno, "")
                    for u in sorted(used & mod.tool_fns)
                    if u != target_name
                ]
            interrupt_at = _interrupt_line(fn)
            # a node that calls no model but acts (sends mail through a helper, deletes a
            # file): a step holding a tool for that action, its effect unknown until declared
            acts = propose_reached(fn, mf, project) if fn and model is None and not tools else None
            if model is None and not tools and interrupt_at is None and acts is None:
                continue
            a = d.agent(aid)
            if a is not None and a.where.file != f:  # another module's node: never merged
                aid = _unique(d, safe_id(f"{Path(f).stem}_{aid}"))
                a = None
            a = a or DraftAgent(aid, Where(f, line))
            if a not in d.agents:
                d.agents.append(a)
            g.ids[nid] = a.id
            if acts is None and model is None and not tools and fn and interrupt_at is not None:
                a.human = True
                a.role = f"a person answers interrupt() at {Path(mf).name}:{interrupt_at}"
                handlers.append((g, nid, fn, interrupt_at, mf))
                continue
            if model is not None:
                a.model, a.model_note, a.model_where = model[0], model[1], Where(mf, model[2])
                if model[0] is None:
                    a.notes.append(model[1])
                    d.notes.append(f"{a.id}: {model[1]}")
            before = g.interrupt_before.get(nid)
            if acts is not None and fn is not None:
                a.role = f"calls no model; its own code acts (proposed: {acts.split(',')[0]})"
                dt = DraftTool(nid, Where(mf, fn.lineno), proposed=acts)
                dt.effect_note = f"graph node {nid!r} calls no model: its own code acts"
                _gate(
                    dt, "", mod, interrupt_at, Where(f, before) if before is not None else None, nid
                )
                a.tools.append(dt)
            seen_tools: set[str] = set()
            for tname, tcls, tline, tnote in tools:
                if tcls == UNSEEN:
                    d.unseen_tools(a, f"tools={tname}", Where(mf, tline))
                    continue
                if tname in seen_tools:
                    continue
                seen_tools.add(tname)
                dt = DraftTool(tname, Where(mf, tline))
                known_effect(dt, tcls)
                _gate(
                    dt,
                    tcls,
                    mod,
                    interrupt_at,
                    Where(f, before) if before is not None else None,
                    nid,
                )
                if dt.gate is None and tnote:
                    dt.gate_note = f"{tnote}; the source has no human approval before it"
                a.tools.append(dt)
    _gate_by_handlers(d, handlers, env)
    for g in graphs.values():  # nodes computed at run time: placeholders (issue 24, item 1)
        for what, ln in g.nodes_unseen:
            d.unseen_agents(
                None, f"graph {g.key!r}: {what}, a node computed at run time", Where(f, ln)
            )
    for g in graphs.values():  # gates decided at run time (issue 24, item 1)
        for what, ln in g.gates_unseen:
            for gid in g.ids.values():
                ga = d.agent(gid)
                if ga is not None and ga.tools:
                    d.unseen_gates(ga, what, Where(f, ln))
    entries: dict[str, list[str]] = {}  # a subgraph node -> the agents it starts with
    for g in graphs.values():
        for nid, (target, _) in g.nodes.items():
            if isinstance(target, ast.Name) and target.id in compiled:
                inner = graphs[compiled[target.id]]
                starts = [t for s, t, _ in inner.edges if s == _START]
                entries[nid] = [inner.ids[t] for t in starts if t in inner.ids]
    for g in graphs.values():
        for nid, aid in g.ids.items():
            node_agent = d.agent(aid)
            if node_agent is None:
                continue
            for src, line in _upstream(g, nid, entries).items():
                # itself: a loop through nodes that are not agents (its bound is asked for)
                node_agent.depends_on.setdefault(src, Where(f, line))
        for nid in g.nodes:  # into a subgraph: its entry agents wait
            if nid in entries:
                for src, line in _upstream(g, nid, entries).items():
                    for aid in entries[nid]:
                        ea = d.agent(aid)
                        if ea is not None and src != aid:
                            ea.depends_on.setdefault(src, Where(f, line))
    _invoked_graphs(d, graphs, funcs, compiled, prebuilt, entries, f)
    _bound_by_recursion_limit(d, tree, env, graphs, compiled, prebuilt, name)


_RUN_METHODS = ("invoke", "ainvoke", "stream", "astream", "batch", "abatch", "astream_events")


def _invoked_graphs(
    d: Draft,
    graphs: dict[str, _Graph],
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
    compiled: dict[str, str],
    prebuilt: dict[str, DraftAgent],
    entries: dict[str, list[str]],
    f: str,
) -> None:
    """A node function that runs a compiled graph or a prebuilt agent itself
    (``worker_graph.ainvoke(…)``, once per tool call of a lead: open_deep_research's
    supervisor) spawns that graph's entry agents: the node's own agent does, or, when the node
    is no agent (it only runs what a model chose), the agents upstream of it."""
    for g in graphs.values():
        for nid, (target, _) in g.nodes.items():
            fn = funcs.get(target.id) if isinstance(target, ast.Name) else None
            if fn is None:
                continue
            for n in ast.walk(fn):
                if not (
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute)
                    and n.func.attr in _RUN_METHODS
                    and isinstance(n.func.value, ast.Name)
                ):
                    continue
                var = n.func.value.id
                if var in compiled and compiled[var] in graphs:
                    inner = graphs[compiled[var]]
                    starts = [
                        inner.ids[t] for s, t, _ in inner.edges if s == _START and t in inner.ids
                    ]
                elif var in prebuilt:
                    starts = [prebuilt[var].id]
                else:
                    continue
                spawners = [g.ids[nid]] if nid in g.ids else list(_upstream(g, nid, entries))
                for sp in spawners:
                    a = d.agent(sp)
                    for st in starts:
                        if a is not None and st != sp:
                            a.spawns.setdefault(st, Where(f, n.lineno))


def _gate_by_handlers(
    d: Draft,
    handlers: list[tuple[_Graph, str, ast.FunctionDef | ast.AsyncFunctionDef, int, str]],
    env: dict[str, ast.expr],
) -> None:
    """``interrupt()`` in a handler node gates the tools of its graph it names before it; a
    handler that names none gates nothing until declared (it says so on each tool). Lines are
    the handler's own file's (a node's function may be imported from another module)."""
    for g, nid, fn, at, file in handlers:
        name = Path(file).name
        listed = _hitl_names(fn, env)
        for aid in g.ids.values():
            a = d.agent(aid)
            for t in a.tools if a is not None else []:
                if t.gate:
                    continue
                if listed is not None and t.name in listed[0]:
                    t.gate, t.gate_where = True, Where(file, at)
                    t.gate_note = (
                        f"interrupt() in node {nid!r} before the tools listed at {name}:{listed[1]}"
                    )
                elif listed is None:
                    t.gate_note = (
                        f"interrupt() at {name}:{at} in node {nid!r}: which tools it stops "
                        "before is decided at run time, not a gate until declared"
                    )
                else:
                    t.gate_note = (
                        f"not in the list node {nid!r} pauses for ({name}:{listed[1]}): runs "
                        "without a person"
                    )


def _bound_by_recursion_limit(
    d: Draft,
    tree: ast.Module,
    env: dict[str, ast.expr],
    graphs: dict[str, _Graph],
    compiled: dict[str, str],
    prebuilt: dict[str, DraftAgent],
    name: str,
) -> None:
    """``recursion_limit`` N given to a graph (or a prebuilt agent) bounds each of its agents
    to N steps a run: drafted as ``max_iterations`` with its line and what it does not bound.
    A limit whose graph the file does not say (several graphs) bounds nothing."""
    for limit, line, var in _recursion_limits(tree, env):
        targets: list[DraftAgent] = []
        if var in compiled:
            g = graphs[compiled[var]]
            targets = [a for a in (d.agent(x) for x in g.ids.values()) if a is not None]
        elif var in prebuilt:
            targets = [prebuilt[var]]
        elif len(graphs) + len(prebuilt) == 1:
            targets = [a for a in d.agents if not a.human]
        else:
            d.notes.append(
                f"recursion_limit={limit} at {name}:{line}: its graph is not stated here, "
                "so it bounds no drafted agent until declared"
            )
            continue
        for a in targets:
            if a.human or a.max_iterations is not None:
                continue
            a.max_iterations, a.max_iterations_where = limit, Where(a.where.file, line)
            a.max_iterations_note = (
                f"recursion_limit={limit}: at most {limit} graph steps a run; it does not "
                "bound tokens, cost, time, or the tool calls of one step"
            )
