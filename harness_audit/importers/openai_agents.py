"""OpenAI Agents SDK (Python, read with ``ast``): ``Agent(name=…, instructions=…, model=…,
tools=[…], handoffs=[…])`` and ``Agent[Context](…)``; tools from ``tools=[…]``,
``@function_tool``/``@tool`` functions (``from agents.decorators import tool`` too) and
``agent.clone(tools=…)``; ``handoffs`` are spawns, also when assigned after construction
(``x.handoffs = […]``, ``x.handoffs.append(…)``, ``.extend(…)``, ``handoff(agent=…)``);
``other.as_tool(…)`` makes the wrapped agent a tool of the caller (a spawn edge);
``needs_approval=True`` is a gate, a callable a conditional gate (drafted as not required, with a
comment); ``Runner.run(agent, …, max_turns=N)`` bounds the turns of a run that starts there
(every agent it hands off to), not its cost.

What the module computes at run time (``tools=get_tools()``, ``mcp_servers=[…]`` whose tools are
listed by the server when it runs, ``handoffs=build()``, an agent imported from a file not given)
is drafted as an explicit unknown (:meth:`~harness_audit.importers.draft.Draft.unseen_tools`,
:meth:`~harness_audit.importers.draft.Draft.unseen_agents`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness_audit.importers import tables
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    call_name,
    custom_tools,
    imports,
    kwarg,
    listed_tools,
    literal,
    model_of,
    module_env,
    module_file,
    parse,
    resolve_name,
    source_text,
    static_list,
)

NAME = "openai-agents"
DESCRIPTION = "OpenAI Agents SDK definitions (Python)"

DEFAULT_MAX_TURNS_SOURCE = "https://openai.github.io/openai-agents-python/running_agents/"
AGENT_CLASSES = ("Agent", "SandboxAgent", "RealtimeAgent")
"""The SDK's agent classes: ``agents.Agent``, ``agents.sandbox.SandboxAgent`` (an agent with
a sandboxed workspace and shell), ``agents.realtime.RealtimeAgent`` (voice sessions), all with
``name``, ``instructions``, ``tools`` and ``handoffs``."""
_AGENT_CALL = re.compile(r"\b(?:Sandbox|Realtime)?Agent\s*(\[[^\]\n]*\])?\s*\(")
_USES_AGENTS = re.compile(
    r"\.as_tool\(|\.clone\(|\bRunner\.run(_sync|_streamed)?\(|^@(function_tool|tool)\b", re.M
)
"""A module that builds no agent but wires them (agents as tools, clones, runs with max_turns)
or defines their tools (``@function_tool``, with its ``needs_approval``)."""
_RUNS = ("run", "run_sync", "run_streamed")
_WRAPS = ("function_tool", "tool", "as_tool")
"""Calls that wrap a function or an agent as a tool: the name they are assigned to is read
by what they wrap, not as a tool class."""


def sniff(probe: Probe) -> str | None:
    """What Agents SDK file the source is (None: not one)."""
    t = probe.text_head
    if (
        probe.path.suffix == ".py"
        and ("from agents import" in t or "from agents." in t or "import agents" in t)
        and (_AGENT_CALL.search(t) or _USES_AGENTS.search(t))
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
    decider = kwarg(el, "on_approval_request")
    if ra == "always" and decider is not None:
        dt.gate_note = _decided_by_code("on_approval_request", decider, f)
    elif ra == "always":
        dt.gate, dt.gate_where, dt.gate_note = True, Where(f, line), "require_approval: always"
    elif ra is not None:
        dt.gate_note = "require_approval is not 'always': drafted as not required"
    return dt


def _decided_by_code(key: str, fn: ast.expr, f: str) -> str:
    """The gate note of an approval a function answers (``on_approval=``,
    ``on_approval_request=``): the run asks that function, not a person, so it is no human
    gate until declared (it may approve by itself: an environment flag, a rule)."""
    return (
        f"approval is answered by code, {key}={source_text(fn)} at {Path(f).name}:"
        f"{fn.lineno}, not by a pause for a person: drafted as not required until declared"
    )


@dataclass
class _File:
    """What one module says beside its agents."""

    f: str
    env: dict[str, ast.expr]
    custom: dict[str, str]
    gates: dict[str, tuple[bool | None, Where]]
    as_tools: dict[str, ast.Call] = field(default_factory=dict)  # var = other.as_tool(...)
    aliases: dict[str, str] = field(default_factory=dict)  # imported as -> name in a file read


@dataclass
class _Reader:
    d: Draft
    var_agent: dict[str, str] = field(default_factory=dict)
    imported: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (file, line)

    def agent_of(self, node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Name):
            return self.var_agent.get(node.id)
        return None

    def tools(self, a: DraftAgent, value: ast.expr, fl: _File, line: int, key: str) -> None:
        for el in listed_tools(self.d, a, value, fl.env, Where(fl.f, line), key):
            self.tool(a, el, fl, getattr(el, "lineno", line))

    def tool(self, a: DraftAgent, el: ast.expr, fl: _File, line: int) -> None:
        f = fl.f
        if isinstance(el, ast.Name) and el.id in fl.as_tools:
            el = fl.as_tools[el.id]
            line = el.lineno
        if (
            isinstance(el, ast.Call)
            and isinstance(el.func, ast.Attribute)
            and el.func.attr == "as_tool"
        ):
            child = self.agent_of(el.func.value)
            tn, _ = literal(kwarg(el, "tool_name"), fl.env)
            wrapped = source_text(el.func.value)
            if child:
                a.spawns.setdefault(child, Where(f, line))
            else:
                self.unknown_agent(a, f"{wrapped}.as_tool(...)", el.func.value, Where(f, line))
            dt = DraftTool(
                tn if isinstance(tn, str) else f"{child or safe_id(wrapped)}_tool", Where(f, line)
            )
            na = kwarg(el, "needs_approval")
            if na is not None:
                self.gate(dt, literal(na, fl.env)[0], Where(f, line))
            a.tools.append(dt)
            return
        if isinstance(el, ast.Name) and el.id not in fl.custom:  # web = WebSearchTool()
            made = resolve_name(el, fl.env)
            if isinstance(made, ast.Call) and call_name(made) not in (None, *_WRAPS):
                el = made
        if isinstance(el, ast.Call) and call_name(el) == "HostedMCPTool":
            a.tools.append(_hosted_mcp(el, f, line))
            return
        cls = (
            call_name(el)
            if isinstance(el, ast.Call)
            else (el.id if isinstance(el, ast.Name) else None)
        )
        if cls is None:
            self.d.unseen_tools(a, f"a tool {source_text(el)}", Where(f, line))
            return
        if isinstance(el, ast.Name) and cls not in fl.env:  # imported under another name
            cls = fl.aliases.get(cls, cls)
        dt = DraftTool(fl.custom.get(cls, cls), Where(f, line))
        known_effect(dt, cls)
        g = fl.gates.get(cls)
        if g is not None:
            self.gate(dt, g[0], g[1])
        na = kwarg(el, "needs_approval") if isinstance(el, ast.Call) else None
        if na is not None:  # ShellTool(..., needs_approval=True) written in the list
            self.gate(dt, literal(na, fl.env)[0], Where(f, getattr(na, "lineno", line)))
        decider = kwarg(el, "on_approval") if isinstance(el, ast.Call) else None
        if decider is not None and dt.gate:
            dt.gate, dt.gate_where = None, None
            dt.gate_note = _decided_by_code("on_approval", decider, f)
        a.tools.append(dt)

    @staticmethod
    def gate(dt: DraftTool, value: object, where: Where) -> None:
        if value is True:
            dt.gate, dt.gate_where, dt.gate_note = True, where, "needs_approval=True"
        elif value is not False:
            dt.gate_note = (
                "needs_approval is a callable: a conditional gate decided at run time, "
                "drafted as not required"
            )

    def unknown_agent(self, a: DraftAgent, what: str, node: ast.AST, where: Where) -> None:
        name = node.id if isinstance(node, ast.Name) else None
        if name and name in self.imported:
            f, ln = self.imported[name]
            what = f"{what}: {name} is imported at {Path(f).name}:{ln} from a file not given"
        self.d.unseen_agents(a, what, where)

    def handoffs(self, a: DraftAgent, value: ast.expr, fl: _File, line: int) -> None:
        elts, unseen = static_list(value, fl.env)
        for src, ln in unseen:
            self.d.unseen_agents(a, f"handoffs: {src}", Where(fl.f, ln or line))
        for el in elts:
            self.handoff(a, el, fl, getattr(el, "lineno", line))

    def handoff(self, a: DraftAgent, el: ast.expr, fl: _File, line: int) -> None:
        target: ast.expr | None = el
        if isinstance(el, ast.Call) and call_name(el) in ("handoff", "realtime_handoff"):
            target = el.args[0] if el.args else kwarg(el, "agent")
        child = self.agent_of(target)
        if child:
            a.spawns.setdefault(child, Where(fl.f, line))
        else:
            self.unknown_agent(
                a, f"handoff to {source_text(target or el)}", target or el, Where(fl.f, line)
            )


def _imports(tree: ast.Module, f: str) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != "agents":
            for al in node.names:
                out[al.asname or al.name] = (f, node.lineno)
    return out


def _aliases(tree: ast.Module, p: Path, given: set[Path]) -> dict[str, str]:
    """``from .helpers import triage as router``: alias -> the name in the module it names,
    when that module is one of the files read (else the name is another library's)."""
    out: dict[str, str] = {}
    for alias, (module, level, name) in imports(tree).items():
        if name is not None and name != alias:
            target = module_file(p, module, level)
            if target is not None and target.resolve() in given:
                out[alias] = name
    return out


def read(paths: list[Path]) -> Draft:
    """Agents, tools, handoffs from Agents SDK modules."""
    d = Draft(NAME, "openai-agents", list(paths))
    r = _Reader(d)
    given = {p.resolve() for p in paths}
    aliases: dict[str, str] = {}
    pending: list[tuple[DraftAgent, ast.Call, _File]] = []
    later: list[tuple[str, str, ast.expr, int, _File]] = []  # (var, attr, value, line, file)
    runs: list[tuple[ast.Call, _File]] = []
    files: list[tuple[ast.Module, _File]] = []
    all_custom: dict[str, str] = {}  # tools and gates defined in one module, used in another
    all_gates: dict[str, tuple[bool | None, Where]] = {}
    for p in paths:
        tree = parse(p)
        f = str(p)
        fl = _File(
            f,
            module_env(tree, f),
            custom_tools(tree),
            {k: (v, Where(f, ln)) for k, (v, ln) in _gates(tree).items()},
        )
        r.imported.update(_imports(tree, f))
        fl.aliases = _aliases(tree, p, given)
        aliases.update(fl.aliases)
        files.append((tree, fl))
        all_custom.update(fl.custom)
        all_gates.update(fl.gates)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                if (
                    isinstance(fn, ast.Attribute)
                    and fn.attr in _RUNS
                    and isinstance(fn.value, ast.Name)
                    and fn.value.id == "Runner"
                ):
                    runs.append((node, fl))
                # x.handoffs.append(h) / x.handoffs.extend([...]) / x.tools.append(t)
                if (
                    isinstance(fn, ast.Attribute)
                    and fn.attr in ("append", "extend", "insert")
                    and isinstance(fn.value, ast.Attribute)
                    and fn.value.attr in ("handoffs", "tools")
                    and isinstance(fn.value.value, ast.Name)
                    and node.args
                ):
                    arg = node.args[-1]
                    value: ast.expr = arg if fn.attr == "extend" else ast.List([arg], ast.Load())
                    ast.copy_location(value, arg)
                    later.append((fn.value.value.id, fn.value.attr, value, node.lineno, fl))
            returned = (  # def build_agent(): return SandboxAgent(...)
                isinstance(node, ast.Return)
                and isinstance(node.value, ast.Call)
                and call_name(node.value) in AGENT_CLASSES
            )
            if not returned and (
                not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None
            ):
                continue
            assert isinstance(node, ast.Return | ast.Assign | ast.AnnAssign)
            call = node.value
            if call is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            tgt = targets[0] if targets else None
            if (
                isinstance(tgt, ast.Attribute)
                and tgt.attr in ("handoffs", "tools")
                and isinstance(tgt.value, ast.Name)
            ):  # x.handoffs = [...] after construction
                later.append((tgt.value.id, tgt.attr, call, node.lineno, fl))
                continue
            var = tgt.id if isinstance(tgt, ast.Name) else None
            if (
                var
                and isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "as_tool"
            ):
                fl.as_tools[var] = call
                continue
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "clone"
                and isinstance(call.func.value, ast.Name)
            ):
                base = r.var_agent.get(call.func.value.id)
                if base and var:
                    r.var_agent[var] = safe_id(var)
                    a = DraftAgent(safe_id(var), Where(f, call.lineno))
                    base_agent = d.agent(base)
                    if base_agent:
                        a.model, a.role, a.model_where = (
                            base_agent.model,
                            base_agent.role,
                            base_agent.model_where,
                        )
                    d.agents.append(a)
                    pending.append((a, call, fl))
                continue
            if not (isinstance(call, ast.Call) and call_name(call) in AGENT_CLASSES):
                continue
            name, _ = literal(kwarg(call, "name") or (call.args[0] if call.args else None), fl.env)
            aid = safe_id(name if isinstance(name, str) else (var or "agent"))
            if d.agent(aid) is not None and var and r.var_agent.get(var) != aid:
                aid = safe_id(f"{aid}_{var}")
            a = d.agent(aid) or DraftAgent(aid, Where(f, call.lineno))
            instr, _ = literal(kwarg(call, "instructions"), fl.env)
            if instr is None:
                hd, _ = literal(kwarg(call, "handoff_description"), fl.env)
                instr = hd
            a.role = instr if isinstance(instr, str) else a.role
            m, note, line = model_of(kwarg(call, "model"), fl.env)
            if m:
                a.model, a.model_note, a.model_where = m, note, Where(f, line or call.lineno)
            elif note:
                a.model_note, a.model_where = note, Where(f, line or call.lineno)
            if a not in d.agents:
                d.agents.append(a)
            if var:
                r.var_agent[var] = aid
            pending.append((a, call, fl))
    for _tree, fl in files:
        fl.custom = {**all_custom, **fl.custom}
        fl.gates = {**all_gates, **fl.gates}
    for alias, name in aliases.items():  # an agent imported under another name
        if name in r.var_agent and alias not in r.var_agent:
            r.var_agent[alias] = r.var_agent[name]
    for a, call, fl in pending:
        tools = kwarg(call, "tools")
        if tools is not None:
            r.tools(a, tools, fl, call.lineno, "tools")
        if call_name(call) == "SandboxAgent":
            _capabilities(r, a, call, fl)
        mcp = kwarg(call, "mcp_servers")
        if mcp is not None:
            elts, unseen = static_list(mcp, fl.env)
            for el in elts or [mcp]:
                r.d.unseen_tools(
                    a,
                    f"mcp_servers: {source_text(el)} lists its tools when it runs",
                    Where(fl.f, getattr(el, "lineno", call.lineno)),
                )
            for src, ln in unseen if elts else []:
                r.d.unseen_tools(a, f"mcp_servers: {src}", Where(fl.f, ln or call.lineno))
        hand = kwarg(call, "handoffs")
        if hand is not None:
            r.handoffs(a, hand, fl, call.lineno)
    for lvar, lattr, lvalue, lline, lfl in later:
        target = r.var_agent.get(lvar)
        a2 = d.agent(target) if target else None
        if a2 is None:
            continue
        if lattr == "handoffs":
            r.handoffs(a2, lvalue, lfl, lline)
        else:
            r.tools(a2, lvalue, lfl, lline, "tools")
    _run_agents(r, runs)
    _max_turns(r, runs)
    return d.with_agents(
        paths,
        "no Agent(...) definitions found",
        "Agents SDK Python with Agent(name=..., ...)",
    )


def _capabilities(r: _Reader, a: DraftAgent, call: ast.Call, fl: _File) -> None:
    """A ``SandboxAgent``'s capabilities are tools the model calls (``Shell()`` runs commands,
    ``Filesystem()`` patches files, a project's own capability its own tools): each drafted by
    its class, of unknown effect; with no ``capabilities=``, the SDK's defaults
    (rules/tool_effects.yaml ``sandbox_default_capabilities``), never none."""
    caps = kwarg(call, "capabilities")
    if caps is not None:
        r.tools(a, caps, fl, call.lineno, "capabilities")
        return
    default = tables.tool_effects_table()["sandbox_default_capabilities"]
    for name in default["names"]:
        a.tools.append(
            DraftTool(
                str(name),
                Where(fl.f, call.lineno),
                effect_note=f"SandboxAgent states no capabilities=: the SDK's default "
                f"({default['source']})",
            )
        )


def _run_agents(r: _Reader, runs: list[tuple[ast.Call, _File]]) -> None:
    """An agent the code runs itself (``Runner.run(planner_agent, …)``: an orchestrator such as
    the SDK's financial research manager) that is imported from a file not given is an agent of
    the pipeline the reader did not see: a placeholder (fail closed), with the run's line."""
    for call, fl in runs:
        start = call.args[0] if call.args else kwarg(call, "starting_agent")
        if (
            isinstance(start, ast.Name)
            and r.agent_of(start) is None
            and start.id in r.imported
            and start.id not in fl.env
        ):
            f, ln = r.imported[start.id]
            r.d.unseen_agents(
                None,
                f"Runner.{ast.unparse(call.func).rsplit('.', 1)[-1]}({start.id}): {start.id} is "
                f"imported at {Path(f).name}:{ln} from a file not given",
                Where(fl.f, call.lineno),
            )


def _max_turns(r: _Reader, runs: list[tuple[ast.Call, _File]]) -> None:
    """``Runner.run(agent, …, max_turns=N)``: a bound on the turns of a run that starts at
    ``agent``, so on every agent it can hand off to; not a bound on cost or on what a tool does."""
    d = r.d
    for call, fl in runs:
        start = r.agent_of(call.args[0] if call.args else kwarg(call, "starting_agent"))
        node = kwarg(call, "max_turns")
        if not start or node is None:
            continue
        n, _ = literal(node, fl.env)
        where = Where(fl.f, call.lineno)
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
            d.notes.append(
                f"{fl.f}:{call.lineno}: max_turns={source_text(node)} is set at run time: "
                "not drafted as a bound"
            )
            continue
        seen, todo = set(), [start]
        while todo:
            aid = todo.pop()
            if aid in seen:
                continue
            seen.add(aid)
            a = d.agent(aid)
            if a is None:
                continue
            if a.max_iterations is None or a.max_iterations > n:
                a.max_iterations, a.max_iterations_where = n, where
                a.max_iterations_note = (
                    f"max_turns of the run that starts at {start!r}: bounds its turns "
                    "(model calls across every handoff), not its cost nor what a tool does"
                )
            todo.extend(a.spawns)
