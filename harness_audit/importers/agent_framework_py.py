"""Microsoft Agent Framework Python, read with ``ast`` (never run): ``Agent(client=…,
name=…, instructions=…, tools=[…])`` (``ChatAgent(chat_client=…)`` of earlier releases) and
``<client>.as_agent(…)``/``.create_agent(…)``; the model from the client
(``OpenAIChatClient(model_id=…)``, ``FoundryChatClient(model=…)``), unknown with a note when the
environment or the caller chooses it; tools from ``tools=[…]``: ``@tool``/``@ai_function``
functions (``approval_mode="always_require"`` is a gate, ``"never_require"`` none), hosted tools
(code interpreter, web search, ``HostedMCPTool``), MCP servers (``MCPStdioTool``,
``MCPStreamableHTTPTool``: effect from rules/tool_effects.yaml when the server is well known,
else unknown), ``other.as_tool(…)`` (a spawn edge). Workflows: ``WorkflowBuilder`` edges
(``add_edge``, fan-out, fan-in, chains, switch cases; through executors that are no agent),
``SequentialBuilder`` (a chain), ``HandoffBuilder`` (``add_handoff``, else every participant to
every other), ``MagenticBuilder``/``GroupChatBuilder`` (the manager spawns the participants;
with no manager the next speaker is chosen at run time: edges not stated).
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness_audit.importers import tables
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    call_name,
    kwarg,
    listed_tools,
    literal,
    model_of,
    module_env,
    parse,
    resolve_name,
    source_text,
    static_list,
)

AGENT_CLASSES = ("Agent", "ChatAgent")
AGENT_FACTORIES = ("as_agent", "create_agent")
"""``client.as_agent(…)`` (``create_agent`` in earlier releases): an agent of that client."""
TOOL_DECORATORS = ("tool", "ai_function")
MODEL_KEYS = ("model", "model_id", "deployment_name", "model_deployment_name")
_USES = re.compile(
    r"\b[A-Za-z]*Agent\s*\(|\.(?:as|create)_agent\s*\(|\b(?:Workflow|Sequential|Handoff|"
    r"Magentic|GroupChat|Concurrent)Builder\b"
)
_IMPORTS_AF = re.compile(r"^\s*(?:from|import)\s+agent_framework\b", re.M)
BUILDERS = (
    "WorkflowBuilder",
    "SequentialBuilder",
    "ConcurrentBuilder",
    "HandoffBuilder",
    "MagenticBuilder",
    "GroupChatBuilder",
)
MCP_CLASSES = ("HostedMCPTool", "MCPStdioTool", "MCPStreamableHTTPTool", "MCPWebsocketTool")


def looks_like(probe: Probe) -> str | None:
    """What Agent Framework Python file the source is (None: not one)."""
    t = probe.text_head
    if probe.path.suffix == ".py" and _IMPORTS_AF.search(t) and _USES.search(t):
        return "a Microsoft Agent Framework Python module"
    return None


def _scope(tree: ast.Module, f: str) -> dict[str, ast.expr]:
    """Module-level names, then names bound inside functions (``client = …`` in ``main()``,
    ``async with MCPStdioTool(…) as mcp``) not bound at module level; a name bound to another
    name inside a function is not followed (no cycle can come from it)."""
    env = module_env(tree, f)
    for node in ast.walk(tree):
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            pairs.append((node.targets[0], node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs.append((node.target, node.value))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            pairs.append((node.optional_vars, node.context_expr))
        for tgt, value in pairs:
            if isinstance(tgt, ast.Name) and not isinstance(value, ast.Name):
                env.setdefault(tgt.id, value)
    return env


def _approval(node: ast.expr | None, env: dict[str, ast.expr]) -> tuple[bool | None, str]:
    """(gate, note) of an ``approval_mode=`` value."""
    if node is None:
        return None, "no approval_mode: the framework's default, never_require"
    v, _ = literal(node, env)
    if v == "always_require":
        return True, 'approval_mode="always_require"'
    if v == "never_require":
        return None, 'approval_mode="never_require": no approval before this tool'
    return None, (
        f"approval_mode={source_text(node)}: some tools or a value decided at run time, "
        "drafted as not required"
    )


@dataclass
class _File:
    f: str
    env: dict[str, ast.expr]
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    executors: set[str] = field(default_factory=set)  # the module's Executor subclasses
    methods: dict[tuple[str, str], ast.FunctionDef | ast.AsyncFunctionDef] = field(
        default_factory=dict
    )  # (class, method) of the module's classes
    var_agent: dict[str, str] = field(default_factory=dict)
    imported: set[str] = field(default_factory=set)  # names the module imports


@dataclass
class _Reader:
    d: Draft
    by_call: dict[int, str] = field(default_factory=dict)  # id(agent call) -> agent id
    by_executor: dict[str, str] = field(default_factory=dict)
    """Executor subclasses that are agents (of any module read): class name -> agent id."""

    def agent_of(self, node: ast.AST | None, fl: _File, depth: int = 0) -> str | None:
        """The agent an expression is: a name bound to one, an agent call, an
        ``AgentExecutor(agent)``, or a call of a module function that returns one."""
        if isinstance(node, ast.Name) and node.id in fl.var_agent:
            return fl.var_agent[node.id]
        if isinstance(node, ast.Name):
            node = resolve_name(node, fl.env)
        if not isinstance(node, ast.Call) or depth > 8:
            return None
        if id(node) in self.by_call:
            return self.by_call[id(node)]
        if call_name(node) == "AgentExecutor":
            inner = node.args[0] if node.args else kwarg(node, "agent")
            return self.agent_of(inner, fl, depth + 1)
        cls = node.func.id if isinstance(node.func, ast.Name) else None
        if cls in self.by_executor and (cls in fl.executors or cls in fl.imported):
            return self.by_executor[cls]  # Writer(): the agent the executor is
        fn = fl.funcs.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if fn is not None:  # create_writer(): def create_writer(): return Agent(...)
            ret = _return_of(fn)
            if ret is not None and not isinstance(ret, ast.Tuple):
                return self.agent_of(ret, fl, depth + 1)
        return None

    def agent(self, call: ast.Call, var: str | None, fl: _File, own: str | None = None) -> None:
        """The agent ``call`` makes, named by its ``name=``, else ``own`` (the executor that
        holds it), else its variable."""
        if id(call) in self.by_call:
            return
        name, _ = literal(kwarg(call, "name"), fl.env)
        aid = safe_id(name if isinstance(name, str) else (own or var or "agent"))
        if self.d.agent(aid) is not None:
            aid = safe_id(f"{aid}_{var}" if var and var != aid else f"{aid}_{call.lineno}")
        a = DraftAgent(aid, Where(fl.f, call.lineno))
        role, _ = literal(kwarg(call, "instructions") or kwarg(call, "description"), fl.env)
        a.role = role if isinstance(role, str) else None
        self.model(a, call, fl)
        self.d.agents.append(a)
        self.by_call[id(call)] = aid
        if var:
            fl.var_agent.setdefault(var, aid)

    def model(self, a: DraftAgent, call: ast.Call, fl: _File) -> None:
        """The model of the agent's client, else unknown with what chooses it."""
        f = fl.f
        own = next((kwarg(call, k) for k in MODEL_KEYS if kwarg(call, k) is not None), None)
        if isinstance(call.func, ast.Attribute) and call_name(call) in AGENT_FACTORIES:
            client: ast.expr | None = call.func.value
        else:
            client = kwarg(call, "client") or kwarg(call, "chat_client")
            if client is None and call.args:
                client = call.args[0]
        node = own if own is not None else client
        if node is None:
            a.model_note = (
                f"{call_name(call)}(...) states no client or model: unknown until declared"
            )
            a.model_where = Where(f, call.lineno)
            return
        made = resolve_name(node, fl.env)
        m, note, line = model_of(made, fl.env)
        if m:
            a.model, a.model_note, a.model_where = m, note, Where(f, line or call.lineno)
            return
        where = Where(f, getattr(made, "lineno", call.lineno))
        if isinstance(made, ast.Call) and own is None:
            cls = call_name(made) or "the client"
            key = next((k for k in MODEL_KEYS if kwarg(made, k) is not None), None)
            if key is not None:
                val = kwarg(made, key)
                assert val is not None
                _, n2 = literal(val, fl.env)
                note = (
                    f"{cls}({key}={source_text(val)}): "
                    f"{n2 or 'not a literal'}, the model is unknown until declared"
                )
            else:
                note = (
                    f"{cls}(...) states no model: the client reads it from its settings "
                    "(environment variables) at run time, unknown until declared"
                )
        elif not note:
            note = f"the model comes from {source_text(node)}, not stated in the files read"
        a.model_note, a.model_where = note, where

    def tools(self, a: DraftAgent, value: ast.expr, fl: _File, line: int) -> None:
        made = resolve_name(value, fl.env)
        if (isinstance(made, ast.Call) and _is_tool_call(made)) or (
            isinstance(value, ast.Name) and value.id in fl.funcs
        ):
            elts: list[ast.expr] = [value]  # tools=mcp: one tool, not a list
        else:
            elts = listed_tools(self.d, a, value, fl.env, Where(fl.f, line))
        for el in elts:
            self.tool(a, el, fl, getattr(el, "lineno", line))

    def tool(self, a: DraftAgent, el: ast.expr, fl: _File, line: int) -> None:
        f = fl.f
        if isinstance(el, ast.Name) and el.id in fl.funcs and el.id not in fl.env:
            a.tools.append(self.function_tool(fl.funcs[el.id], fl))
            return
        made = resolve_name(el, fl.env) if isinstance(el, ast.Name) else el
        if isinstance(made, ast.Name):  # imported from another module: followed by its name
            dt = DraftTool(made.id, Where(f, line), ref=made.id)
            known_effect(dt)
            a.tools.append(dt)
            return
        if isinstance(made, ast.Attribute) and isinstance(made.value, ast.Name):
            a.tools.append(self.method_tool(made, fl, line))  # plugin.get_ticket
            return
        if not isinstance(made, ast.Call):
            self.d.unseen_tools(a, f"a tool {source_text(el)}", Where(f, line))
            return
        cls = call_name(made) or ""
        line = made.lineno
        if cls == "as_tool" and isinstance(made.func, ast.Attribute):
            child = self.agent_of(made.func.value, fl)
            if child:
                a.spawns.setdefault(child, Where(f, line))
            else:
                self.d.unseen_agents(
                    a, f"{source_text(made.func.value)}.as_tool(...)", Where(f, line)
                )
            tn, _ = literal(kwarg(made, "name"), fl.env)
            dt = DraftTool(
                tn if isinstance(tn, str) else f"{child or 'agent'}_tool", Where(f, line)
            )
            self.gate(dt, kwarg(made, "approval_mode"), fl, line)
            a.tools.append(dt)
            return
        if cls in MCP_CLASSES or cls == "get_mcp_tool":
            a.tools.append(self.mcp(made, cls, fl))
            return
        dt = DraftTool(cls, Where(f, line))
        known_effect(dt, cls)
        if kwarg(made, "approval_mode") is not None:
            self.gate(dt, kwarg(made, "approval_mode"), fl, line)
        a.tools.append(dt)

    def function_tool(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, fl: _File) -> DraftTool:
        """A function listed as a tool: named by its decorator's ``name=`` or its own name,
        gated by the decorator's ``approval_mode``."""
        dec = next(
            (d for d in fn.decorator_list if call_name(d) in TOOL_DECORATORS),
            None,
        )
        call = dec if isinstance(dec, ast.Call) else None
        nm, _ = literal(kwarg(call, "name"), fl.env) if call else (None, "")
        dt = DraftTool(nm if isinstance(nm, str) else fn.name, Where(fl.f, fn.lineno))
        dt.ref = fn.name
        self.gate(dt, kwarg(call, "approval_mode") if call else None, fl, fn.lineno)
        return dt

    def method_tool(self, el: ast.Attribute, fl: _File, line: int) -> DraftTool:
        """``plugin.get_ticket`` of ``plugin = TicketingPlugin(…)``: the method, named by its
        own name, gated by its decorator when the class is the module's, followed by
        ``Class.method`` for its effect."""
        assert isinstance(el.value, ast.Name)
        obj = resolve_name(el.value, fl.env)
        cls = call_name(obj) if isinstance(obj, ast.Call) else None
        fn = fl.methods.get((cls or "", el.attr))
        if fn is not None:
            return self.function_tool(fn, fl)
        dt = DraftTool(el.attr, Where(fl.f, line), ref=f"{cls or el.value.id}.{el.attr}")
        known_effect(dt)
        return dt

    def mcp(self, call: ast.Call, cls: str, fl: _File) -> DraftTool:
        """An MCP server as one tool: named by ``name=``, its effect from the server's command
        or URL when rules/tool_effects.yaml knows it, else unknown."""
        nm, _ = literal(kwarg(call, "name"), fl.env)
        dt = DraftTool(
            safe_id(nm) if isinstance(nm, str) else safe_id(cls), Where(fl.f, call.lineno)
        )
        parts: list[str] = []
        for key in ("command", "url"):
            v, _ = literal(kwarg(call, key), fl.env)
            if isinstance(v, str):
                parts.append(v)
        args, _ = static_list(kwarg(call, "args"), fl.env)
        parts.extend(str(v) for v in (literal(x, fl.env)[0] for x in args) if isinstance(v, str))
        got = tables.known_mcp_effect(" ".join(parts)) if parts else None
        if got:
            dt.effect, src = got
            dt.effect_note = f"rules/tool_effects.yaml: {src}"
        self.gate(dt, kwarg(call, "approval_mode"), fl, call.lineno)
        return dt

    @staticmethod
    def gate(dt: DraftTool, node: ast.expr | None, fl: _File, line: int) -> None:
        gate, note = _approval(node, fl.env)
        dt.gate_note = note
        if gate:
            dt.gate, dt.gate_where = True, Where(fl.f, getattr(node, "lineno", line))


def _is_tool_call(call: ast.Call) -> bool:
    """A call that makes one tool (``MCPStdioTool(…)``, ``HostedWebSearchTool()``,
    ``client.get_code_interpreter_tool()``, ``agent.as_tool()``), not a list of them."""
    cls = call_name(call) or ""
    return (
        cls in MCP_CLASSES
        or cls == "as_tool"
        or cls.startswith("Hosted")
        or (cls.startswith("get_") and cls.endswith("_tool"))
    )


def _chain(call: ast.expr, env: dict[str, ast.expr]) -> ast.Call | None:
    """The builder call a method chain starts from (``HandoffBuilder(…)`` of
    ``HandoffBuilder(…).with_start_agent(x).add_handoff(…)``, through a name bound to it)."""
    node: ast.AST | None = call
    for _ in range(64):
        if isinstance(node, ast.Name):
            node = resolve_name(node, env)
        if not isinstance(node, ast.Call):
            return None
        if call_name(node) in BUILDERS:
            return node
        if not isinstance(node.func, ast.Attribute):
            return None
        node = node.func.value
    return None


@dataclass
class _Flow:
    """What one builder states: its kind, participants, manager, and executor edges (source
    text of each end, so executors that are no agent are nodes too)."""

    kind: str
    where: Where
    participants: list[ast.expr] = field(default_factory=list)
    manager: ast.expr | None = None
    edges: list[tuple[ast.expr, ast.expr, int]] = field(default_factory=list)
    handoffs: list[tuple[ast.expr, ast.expr, int]] = field(default_factory=list)
    unseen: list[tuple[str, int]] = field(default_factory=list)


def _elts(node: ast.expr | None, env: dict[str, ast.expr], flow: _Flow) -> list[ast.expr]:
    elts, unseen = static_list(node, env)
    flow.unseen.extend(unseen)
    return elts


def _method(flow: _Flow, call: ast.Call, env: dict[str, ast.expr]) -> None:
    """One builder method call's edges, participants or manager."""
    m = call_name(call)
    args, ln = call.args, call.lineno
    if m in ("participants", "add_agents"):
        flow.participants.extend(_elts(args[0], env, flow) if args else [])
        flow.participants.extend(k.value for k in call.keywords if k.arg)  # researcher=agent
    elif m in BUILDERS and kwarg(call, "participants") is not None:
        flow.participants.extend(_elts(kwarg(call, "participants"), env, flow))
    if m in BUILDERS or m in ("with_standard_manager", "with_manager", "with_orchestrator"):
        mgr = kwarg(call, "manager_agent") or kwarg(call, "orchestrator_agent")
        mgr = mgr or (kwarg(call, "agent") if m not in BUILDERS else None)
        flow.manager = mgr or flow.manager
    if m == "add_edge" and len(args) >= 2:
        flow.edges.append((args[0], args[1], ln))
    elif m == "add_fan_out_edges" and len(args) >= 2:
        flow.edges.extend((args[0], t, ln) for t in _elts(args[1], env, flow))
    elif m == "add_fan_in_edges" and len(args) >= 2:
        flow.edges.extend((s, args[1], ln) for s in _elts(args[0], env, flow))
    elif m == "add_chain" and args:
        xs = _elts(args[0], env, flow)
        flow.edges.extend((a, b, ln) for a, b in itertools.pairwise(xs))
    elif m in ("add_switch_case_edge_group", "add_multi_selection_edge_group") and len(args) >= 2:
        for t in _elts(args[1], env, flow):
            target = kwarg(t, "target") if isinstance(t, ast.Call) else t
            if isinstance(t, ast.Call) and target is None and t.args:
                target = t.args[-1]
            if target is not None:
                flow.edges.append((args[0], target, ln))
    elif m == "add_handoff" and len(args) >= 2:
        flow.handoffs.extend((args[0], t, ln) for t in _elts(args[1], env, flow))


def _key(node: ast.expr, r: _Reader, fl: _File) -> str:
    aid = r.agent_of(node, fl)
    made = resolve_name(node, fl.env) if isinstance(node, ast.Name) else node
    if (
        aid is None
        and isinstance(made, ast.Call)
        and isinstance(made.func, ast.Name)
        and made.func.id in fl.imported
        and (kwarg(made, "client") or kwarg(made, "chat_client")) is not None
    ):  # an executor of a module not read, given a chat client: it may call a model and act
        aid = r.d.unseen_agents(
            None,
            f"{made.func.id}(client=...), an executor from a module not read",
            Where(fl.f, made.lineno),
        ).id
    return f"agent:{aid}" if aid else f"node:{source_text(node)}"


def _flows(r: _Reader, fl: _File, tree: ast.Module) -> None:
    flows: dict[int, _Flow] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        root = _chain(node, fl.env)
        if root is None:
            continue
        flow = flows.setdefault(id(root), _Flow(call_name(root) or "", Where(fl.f, root.lineno)))
        if node is root or (
            isinstance(node.func, ast.Attribute) and _chain(node.func.value, fl.env) is root
        ):
            _method(flow, node, fl.env)
    for flow in flows.values():
        _apply(r, fl, flow)


def _apply(r: _Reader, fl: _File, flow: _Flow) -> None:
    d = r.d
    for src, ln in flow.unseen:
        d.unseen_edges(None, f"{flow.kind}: {src}", Where(fl.f, ln or flow.where.line))
    ps = [r.agent_of(p, fl) for p in flow.participants]
    for p, aid in zip(flow.participants, ps, strict=True):
        made = resolve_name(p, fl.env)
        if aid is None and not (isinstance(made, ast.Call) and call_name(made) in fl.executors):
            d.unseen_agents(None, f"{flow.kind} participant {source_text(p)}", flow.where)
    if flow.kind == "SequentialBuilder":  # a chain, also through executors that are no agent
        flow.edges.extend((x, y, flow.where.line) for x, y in itertools.pairwise(flow.participants))
    agents = [x for x in ps if x is not None]
    mgr = r.agent_of(flow.manager, fl) if flow.manager is not None else None
    if flow.kind == "HandoffBuilder":
        pairs: list[tuple[str | None, str | None, int]] = [
            (r.agent_of(s, fl), r.agent_of(t, fl), ln) for s, t, ln in flow.handoffs
        ]
        if not flow.handoffs:
            pairs = [(x, y, flow.where.line) for x in agents for y in agents if x != y]
        for frm, to, ln in pairs:
            if frm and to:
                _spawn(d, frm, to, Where(fl.f, ln))
    elif flow.kind in ("MagenticBuilder", "GroupChatBuilder"):
        if mgr:
            for y in agents:
                _spawn(d, mgr, y, flow.where)
        elif agents:
            d.unseen_edges(
                None,
                f"{flow.kind}: the next speaker among {', '.join(agents)} is chosen at run time",
                flow.where,
            )
    _graph(r, fl, flow)


def _graph(r: _Reader, fl: _File, flow: _Flow) -> None:
    """``WorkflowBuilder`` edges between agents, also through executors that are no agent
    (``writer -> to_reviewer -> reviewer``: the reviewer depends on the writer)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for a, b, ln in flow.edges:
        ka, kb = _key(a, r, fl), _key(b, r, fl)
        if ka != kb:
            out.setdefault(ka, []).append((kb, ln))
    for start in [k for k in out if k.startswith("agent:")]:
        seen, todo = {start}, list(out[start])
        while todo:
            k, ln = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            if k.startswith("agent:"):
                _depends(r.d, k[6:], start[6:], Where(fl.f, ln))
            else:
                todo.extend(out.get(k, []))


def _depends(d: Draft, child: str, parent: str, where: Where) -> None:
    a = d.agent(child)
    if a is not None and child != parent:
        a.depends_on.setdefault(parent, where)


def _spawn(d: Draft, parent: str, child: str, where: Where) -> None:
    a = d.agent(parent)
    if a is not None and child != parent:
        a.spawns.setdefault(child, where)


def _af_agents(tree: ast.Module) -> set[str]:
    """Agent classes the module imports from the framework (``ClaudeAgent``,
    ``GitHubCopilotAgent``, ``FoundryAgent``; not ``WorkflowAgent``, a workflow)."""
    out = set(AGENT_CLASSES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("agent_framework"):
            for al in node.names:
                if al.name.endswith("Agent") and al.name not in ("WorkflowAgent", "BaseAgent"):
                    out.add(al.asname or al.name)
    return out


def _is_agent_call(node: ast.Call, env: dict[str, ast.expr], classes: set[str]) -> bool:
    cls = call_name(node)
    if cls in classes and isinstance(node.func, ast.Name | ast.Attribute):
        client = kwarg(node, "client") or kwarg(node, "chat_client")
        made = resolve_name(client, env) if client is not None else None
        return not (isinstance(made, ast.Call) and _chain(made, env) is not None)
    if cls in AGENT_FACTORIES and isinstance(node.func, ast.Attribute):
        recv = node.func.value
        made = resolve_name(recv, env) if isinstance(recv, ast.Name) else recv
        # workflow.as_agent(): the workflow, not another agent
        return not (
            isinstance(made, ast.Call)
            and (call_name(made) == "build" or _chain(made, env) is not None)
        )
    return False


def read_modules(paths: list[Path]) -> Draft:
    """Agents, tools, gates and workflow edges from Agent Framework Python modules."""
    d = Draft("agent-framework", "agent-framework", list(paths))
    r = _Reader(d)
    files: list[tuple[ast.Module, _File]] = []
    for p in paths:
        tree = parse(p)
        f = str(p)
        funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for n in ast.walk(tree):  # a plain function is a tool too (never_require)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
                funcs.setdefault(n.name, n)
        fl = _File(f, _scope(tree, f), funcs)
        fl.methods = {
            (c.name, m.name): m
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef)
            for m in c.body
            if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        fl.executors = {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ClassDef)
            and any((call_name(b) or "").endswith("Executor") for b in n.bases)
        }
        fl.imported = {
            al.asname or al.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for al in n.names
        }
        files.append((tree, fl))
        bound = {id(v): t.id for t, v in _bindings(tree) if isinstance(t, ast.Name)}
        classes = _af_agents(tree)
        pending = _executor_agents(r, tree, fl, classes, bound)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not _is_agent_call(node, fl.env, classes):
                continue
            r.agent(node, bound.get(id(node)), fl)
            a = d.agent(r.by_call[id(node)])
            assert a is not None
            pending.append((a, node))
        _returned(tree, fl)
        for a, call in pending:
            tools = kwarg(call, "tools")
            if tools is not None:
                r.tools(a, tools, fl, call.lineno)
            _answered_by_code(a, call, fl)
        _run_tools(r, tree, fl)
    for tree, fl in files:
        _flows(r, fl, tree)
    return d.with_agents(
        paths,
        "no agent found: no Agent(...), ChatAgent(...) or <client>.as_agent(...)/"
        ".create_agent(...) call",
        "Agent Framework Python that builds an agent "
        "(Agent(client=..., name=..., instructions=..., tools=[...]))",
    )


CLIENT_CALLS = ("get_response", "get_streaming_response")
"""A chat client's own calls: an executor that makes them calls the model itself."""


def _executor_id(cls: ast.ClassDef, tree: ast.Module, fl: _File) -> str:
    """The id an executor class runs under: the one ``id=`` its constructions in the module
    state, else its ``__init__``'s default ``id``, else the literal it gives
    ``super().__init__(id=…)``, else its class name."""
    made = {
        literal(kwarg(n, "id"), fl.env)[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == cls.name
    }
    if len(made) == 1 and isinstance(next(iter(made)), str):
        return str(next(iter(made)))
    init = fl.methods.get((cls.name, "__init__"))
    if init is not None:
        args = init.args
        pos = args.posonlyargs + args.args
        named = [a.arg for a in pos[len(pos) - len(args.defaults) :]]
        defaults = dict(zip(named, args.defaults, strict=True))
        defaults.update(
            (a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d
        )
        v, _ = literal(defaults.get("id"), fl.env)
        if isinstance(v, str):
            return v
        for n in ast.walk(init):
            if isinstance(n, ast.Call) and call_name(n) == "__init__":
                v, _ = literal(kwarg(n, "id"), fl.env)
                if isinstance(v, str):
                    return v
    return cls.name


def _executor_agents(
    r: _Reader, tree: ast.Module, fl: _File, classes: set[str], bound: dict[int, str]
) -> list[tuple[DraftAgent, ast.Call]]:
    """The module's ``Executor`` subclasses that run a model: one that builds an agent
    (``self.agent = Agent(…)`` in ``__init__``) is that agent, named by the executor's id, so
    the workflow's edges between executors are edges between agents; one that calls a chat
    client itself (``self._client.get_response(…)``) is an agent of that client (its model
    from the client the module constructs it with, else unknown), its tools those it passes.
    Returns the agents made from an agent call, with that call (their tools read later)."""
    out: list[tuple[DraftAgent, ast.Call]] = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        if cls.name not in fl.executors:
            continue
        calls = [n for n in ast.walk(cls) if isinstance(n, ast.Call)]
        inner = [c for c in calls if _is_agent_call(c, fl.env, classes)]
        asks = [
            c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr in CLIENT_CALLS
        ]
        if not inner and not asks:
            continue
        own = _executor_id(cls, tree, fl)
        if inner:
            r.agent(inner[0], bound.get(id(inner[0])), fl, own=own)
            aid = r.by_call[id(inner[0])]
            a = r.d.agent(aid)
            assert a is not None
            out.append((a, inner[0]))
            r.by_executor.setdefault(cls.name, aid)
            continue
        aid = safe_id(own)
        if r.d.agent(aid) is not None:
            aid = safe_id(f"{aid}_{cls.lineno}")
        a = DraftAgent(aid, Where(fl.f, cls.lineno))
        r.d.agents.append(a)
        r.by_executor.setdefault(cls.name, aid)
        made = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == cls.name
            and (kwarg(n, "client") or kwarg(n, "chat_client")) is not None
        ]
        if len(made) == 1:
            r.model(a, made[0], fl)
        else:
            a.model_note = (
                f"the executor {cls.name} calls a chat client it is given at run time "
                f"({source_text(asks[0].func)}): the model is unknown until declared"
            )
            a.model_where = Where(fl.f, asks[0].lineno)
        for c in asks:
            opts = resolve_name(kwarg(c, "options"), fl.env)
            given = kwarg(c, "tools")
            if given is None and isinstance(opts, ast.Dict):
                given = next(
                    (
                        v
                        for k, v in zip(opts.keys, opts.values, strict=True)
                        if k is not None and literal(k)[0] == "tools"
                    ),
                    None,
                )
            if given is not None:
                r.tools(a, given, fl, c.lineno)
    return out


def _run_tools(r: _Reader, tree: ast.Module, fl: _File) -> None:
    """``agent.run(query, tools=[…])`` (and ``run_stream``): tools given for one run are the
    agent's tools too (each once)."""
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run", "run_stream")
        ):
            continue
        value = kwarg(node, "tools")
        aid = r.agent_of(node.func.value, fl) if value is not None else None
        a = r.d.agent(aid) if aid else None
        if a is None or value is None:
            continue
        before = len(a.tools)
        r.tools(a, value, fl, node.lineno)
        kept = a.tools[:before]
        names = {t.name for t in kept}
        for t in a.tools[before:]:
            if t.name not in names:
                kept.append(t)
                names.add(t.name)
        a.tools = kept


def _answered_by_code(a: DraftAgent, call: ast.Call, fl: _File) -> None:
    """``default_options={"on_function_approval": fn}``: the run asks that function, not a
    person, whether a tool that requires approval runs; no human gate until declared."""
    opts = resolve_name(kwarg(call, "default_options"), fl.env)
    if not isinstance(opts, ast.Dict):
        return
    for k, v in zip(opts.keys, opts.values, strict=True):
        if literal(k)[0] == "on_function_approval":
            for t in a.tools:
                if t.gate:
                    t.gate, t.gate_where = None, None
                    t.gate_note = (
                        f"approval is answered by code, on_function_approval={source_text(v)} "
                        f"at {Path(fl.f).name}:{v.lineno}, not by a pause for a person: "
                        "drafted as not required until declared"
                    )


def _return_of(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
    """The value the function's first ``return`` gives, or None."""
    return next(
        (n.value for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None),
        None,
    )


def _returned(tree: ast.Module, fl: _File) -> None:
    """Agents a function of the module returns, bound by its caller:
    ``triage, refund = create_agents(client)`` with ``return triage_agent, refund_agent``."""
    for target, value in _bindings(tree):
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
            continue
        fn = fl.funcs.get(value.func.id)
        ret = _return_of(fn) if fn is not None else None
        if ret is None:
            continue
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        vals = ret.elts if isinstance(ret, ast.Tuple) else [ret]
        if len(names) != len(vals):
            continue
        for n, v in zip(names, vals, strict=True):
            if isinstance(n, ast.Name) and isinstance(v, ast.Name) and v.id in fl.var_agent:
                fl.var_agent.setdefault(n.id, fl.var_agent[v.id])


def _bindings(tree: ast.Module) -> list[tuple[ast.expr, ast.expr]]:
    out: list[tuple[ast.expr, ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            out.append((node.targets[0], node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            out.append((node.target, node.value))
    return out
