"""Google ADK agents written in Python (read with ``ast``, never run): part of ``--from adk``.

``Agent``/``LlmAgent`` (``name``, ``model`` — a string or ``LiteLlm(model=…)`` —, ``description``,
``tools``, ``sub_agents``), ``SequentialAgent`` (each sub-agent depends on the one before),
``ParallelAgent``, ``LoopAgent`` (``max_iterations`` bounds its sub-agents' rounds; without it the
loop is a cycle whose bound the draft asks for). Tools: functions by name, ``AgentTool(agent=x)``
(a spawn), ``FunctionTool(func=f, require_confirmation=True)`` (a human gate with its line; a
callable is a conditional gate, drafted as not required), ``MCPToolset(connection_params=…,
tool_filter=[…])`` (one tool per filtered name, or one for the server, its effect from
rules/tool_effects.yaml when the server is well known), and anything the source computes at run
time as an ``unknown`` tool (assumed destructive). ``before_tool_callback`` is a code check
before every tool, said on each tool and never drafted as a person's approval;
``RunConfig(max_llm_calls=N)`` bounds model calls a run (all agents together) and is drafted as
``max_iterations`` saying what it does not bound.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import tables
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.mcp import scope_of
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    MAX_PACKAGE_DEPTH,
    call_name,
    imports,
    kwarg,
    literal,
    model_of,
    module_env,
    module_file,
    parse,
)

AGENT_CLASSES = ("Agent", "LlmAgent", "SequentialAgent", "ParallelAgent", "LoopAgent")
"""ADK agent classes (``google.adk.agents``)."""

_MCP = ("MCPToolset", "McpToolset")


def looks_like(probe: Probe) -> str | None:
    """What ADK Python module the source is (None: not one)."""
    t = probe.text_head
    if probe.path.suffix != ".py" or "google.adk" not in t:
        return None
    if any(f"{c}(" in t for c in AGENT_CLASSES):
        return "a Google ADK agent module (Python)"
    return None


def _short(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(node: ast.AST | None, env: dict[str, ast.expr]) -> ast.AST | None:
    """A module-level name followed to its value (a few hops)."""
    for _ in range(8):
        if isinstance(node, ast.Name) and node.id in env:
            node = env[node.id]
        else:
            break
    return node


def _mcp_command(call: ast.Call, env: dict[str, ast.expr]) -> str:
    """The command line or URL an MCP toolset connects to, as far as the source states it."""
    parts: list[str] = []
    for n in ast.walk(call):
        if isinstance(n, ast.keyword) and n.arg in ("command", "url"):
            v, _ = literal(_resolve(n.value, env), env)
            if isinstance(v, str):
                parts.append(v)
        elif isinstance(n, ast.keyword) and n.arg == "args":
            lst = _resolve(n.value, env)
            if isinstance(lst, ast.List | ast.Tuple):
                for e in lst.elts:
                    v, _ = literal(e, env)
                    if isinstance(v, str):
                        parts.append(v)
    return " ".join(parts)


def _server_name(cmd: str) -> str:
    """A tool name for a toolset without a filter: its server package or host."""
    from harness_audit.importers.adk import _mcp_name

    return _mcp_name(cmd) if cmd else "mcp_toolset"


class _Reader:
    """The agents of one module into a draft."""

    def __init__(self, p: Path, d: Draft, modules: dict[Path, _Reader], project: Path) -> None:
        self.p, self.d, self.f = p, d, str(p)
        self.tree = parse(p)
        self.env = module_env(self.tree, self.f)
        self.by_var: dict[str, DraftAgent] = {}
        self.calls: list[tuple[ast.Call, DraftAgent]] = []
        self.modules, self.project = modules, project
        self.imports = imports(self.tree)
        self.envs: dict[Path, dict[str, ast.expr]] = {}
        self.factories: dict[str, ast.Call] = {}
        """Module functions that return an agent they make: name -> that agent's call."""

    def where(self, node: ast.AST) -> Where:
        return Where(self.f, getattr(node, "lineno", 1))

    def note(self, a: DraftAgent, text: str) -> None:
        a.notes.append(text)
        self.d.notes.append(f"{a.id}: {text}")

    def run(self) -> None:
        """Both passes (a module read alone)."""
        self.find()
        self.read()

    def read(self) -> None:
        """Second pass: each agent's model, tools and sub-agents (other modules' agents are
        drafted by then)."""
        for call, a in self.calls:
            self.agent(call, a)
        self.run_config()

    def find(self) -> None:
        """First pass: the module's agents, by the variable each is assigned to."""
        names: dict[int, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                t = node.targets[0]
                if isinstance(t, ast.Name):
                    names[id(node.value)] = t.id
        for fn in self.tree.body:  # a factory: def make(x): return Agent(...)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for ret in ast.walk(fn):
                    if (
                        isinstance(ret, ast.Return)
                        and isinstance(ret.value, ast.Call)
                        and call_name(ret.value) in AGENT_CLASSES
                    ):
                        names.setdefault(id(ret.value), fn.name)
                        self.factories.setdefault(fn.name, ret.value)
        for call in ast.walk(self.tree):
            if isinstance(call, ast.Call) and call_name(call) in AGENT_CLASSES:
                nm, _ = literal(*self.value(kwarg(call, "name")))
                var = names.get(id(call))
                aid = nm if isinstance(nm, str) else var or str(call_name(call))
                base = unique = safe_id(aid)
                for n in range(2, 10_000):
                    if self.d.agent(unique) is None:
                        break
                    unique = f"{base}_{n}"
                a = DraftAgent(unique, self.where(call))
                self.d.agents.append(a)
                named = kwarg(call, "name")
                if not isinstance(nm, str) and named is not None:
                    self.note(
                        a,
                        f"its name is computed at run time ({_short(named)} at "
                        f"{self.where(call)}): drafted as {unique!r}",
                    )
                if var:
                    self.by_var[var] = a
                self.calls.append((call, a))

    def value(self, node: ast.expr | None) -> tuple[ast.expr | None, dict[str, ast.expr]]:
        """A constant imported from another module of the project (``constants.MODEL`` after
        ``from .shared import constants``, or ``MODEL`` after ``from .config import MODEL``):
        its value and that module's names; else ``node`` and this module's."""
        mod: tuple[str, int] | None = None
        name = ""
        if isinstance(node, ast.Name) and node.id not in self.env and node.id in self.imports:
            module, level, imported = self.imports[node.id]
            if imported is not None:
                mod, name = (module, level), imported
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in self.imports
        ):
            module, level, imported = self.imports[node.value.id]
            full = f"{module}.{imported}" if imported and module else (imported or module)
            mod, name = (full, level), node.attr
        if mod is None:
            return node, self.env
        target = module_file(self.p, mod[0], mod[1], self.project)
        if target is None:
            return node, self.env
        key = target.resolve()
        if key not in self.envs:
            try:
                self.envs[key] = module_env(parse(target), str(target))
            except HarnessAuditError:  # a module that does not parse: not followed
                self.envs[key] = module_env(ast.Module(body=[], type_ignores=[]), str(target))
        env = self.envs[key]
        if name not in env:
            return node, self.env
        if key not in {x.resolve() for x in self.d.sources}:
            self.d.sources.append(target)  # a fact drawn from it: in the provenance hashes
        return env[name], env

    def agent_of(self, node: ast.AST | None) -> DraftAgent | None:
        """The drafted agent a sub-agent or AgentTool argument names."""
        if isinstance(node, ast.Name) and node.id in self.by_var:
            return self.by_var[node.id]
        if isinstance(node, ast.Call):
            made = self.factories.get(node.func.id) if isinstance(node.func, ast.Name) else None
            for c, a in self.calls:
                if c is node or c is made:
                    return a
        return self.imported(node)

    def imported(self, node: ast.AST | None) -> DraftAgent | None:
        """An agent another module read in this draft defines, named through this module's
        imports (``from pkg.sub_agents.booking.agent import booking_agent``, or
        ``from pkg.sub_agents import booking`` then ``booking.booking_agent``)."""
        if isinstance(node, ast.Name) and node.id in self.imports:
            module, level, name = self.imports[node.id]
            if name is None:
                return None
            hit = self.agent_in(module, level, name)
            if hit is None:  # from pkg import module: not an agent
                return None
            return hit
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in self.imports
        ):
            module, level, name = self.imports[node.value.id]
            full = f"{module}.{name}" if name and module else (name or module)
            return self.agent_in(full, level, node.attr)
        return None

    def agent_in(
        self, module: str, level: int, var: str, importer: Path | None = None, depth: int = 0
    ) -> DraftAgent | None:
        """The agent ``var`` of ``module`` imported from ``importer`` (this module): defined
        in a module read, or re-exported by one that makes no agent (a package's
        ``__init__.py`` saying ``from .agent import root_agent as booking_agent``), followed
        through at most :data:`MAX_PACKAGE_DEPTH` such modules."""
        target = module_file(importer or self.p, module, level, self.project)
        if target is None:
            return None
        other = self.modules.get(target.resolve())
        if other is self:
            return None
        if other is not None:
            return other.by_var.get(var) or other.imported(ast.Name(id=var))
        if depth >= MAX_PACKAGE_DEPTH:
            return None
        try:
            hit = imports(parse(target)).get(var)
        except HarnessAuditError:  # a module that does not parse: not followed
            return None
        if hit is None or hit[2] is None:
            return None
        found = self.agent_in(hit[0], hit[1], hit[2], target, depth + 1)
        if found is not None and target.resolve() not in {x.resolve() for x in self.d.sources}:
            self.d.sources.append(target)  # the name was followed through it: in the hashes
        return found

    def agent(self, call: ast.Call, a: DraftAgent) -> None:
        cls = call_name(call)
        desc, _ = literal(*self.value(kwarg(call, "description")))
        if isinstance(desc, str) and desc:
            a.role = desc
        if cls in ("SequentialAgent", "ParallelAgent", "LoopAgent") and not a.role:
            a.role = f"{cls}: runs its sub-agents; calls no model itself"
        if cls in ("Agent", "LlmAgent"):
            mnode = kwarg(call, "model")
            mval, menv = self.value(mnode)
            m, note, line = model_of(mval, menv)
            if m:
                mf = str(getattr(menv, "file", "")) if mval is not mnode else self.f
                a.model, a.model_note = m, note
                a.model_where = Where(mf or self.f, line or call.lineno)
            elif mnode is not None:
                self.note(a, f"model chosen at run time: {_short(mnode)} at {self.where(mnode)}")
            else:
                self.note(a, "no model stated: ADK takes the parent agent's model")
        cb = kwarg(call, "before_tool_callback")
        self.tools(call, a, cb)
        subs = kwarg(call, "sub_agents")
        subs_r = _resolve(subs, self.env)
        order: list[DraftAgent] = []
        if isinstance(subs_r, ast.List | ast.Tuple):
            for s in subs_r.elts:
                child = self.agent_of(s)
                if child is None:  # fail closed: an agent that may do anything
                    self.note(a, f"a sub-agent not read: {_short(s)} at {self.where(s)}")
                    self.d.unknown.append(f"sub-agent {_short(s)} of {a.id}")
                    self.d.unseen_agents(a, f"sub-agent {_short(s)}", self.where(s))
                    continue
                a.spawns.setdefault(child.id, self.where(s))
                order.append(child)
        elif (
            isinstance(subs_r, ast.ListComp | ast.GeneratorExp)
            and (child := self.agent_of(subs_r.elt)) is not None
        ):  # [make(r) for r in REGIONS]: how many is computed, each is the factory's agent
            a.spawns.setdefault(child.id, self.where(subs_r))
            self.note(
                a,
                f"sub-agents built at run time: {_short(subs_r)} at {self.where(subs_r)}, each "
                f"made as {child.id!r} ({child.where}): drafted once, their number unknown",
            )
        elif subs is not None:
            self.note(a, f"sub-agents built at run time: {_short(subs)} at {self.where(subs)}")
            self.d.unknown.append(f"the sub-agents of {a.id} (built at run time)")
            self.d.unseen_agents(a, f"sub_agents={_short(subs)}", self.where(subs))
        if cls == "SequentialAgent" or cls == "LoopAgent":
            for prev, nxt in itertools.pairwise(order):
                nxt.depends_on.setdefault(prev.id, Where(self.f, call.lineno))
        if cls == "LoopAgent":
            mi = kwarg(call, "max_iterations")
            v, _ = literal(mi, self.env)
            if isinstance(v, int) and not isinstance(v, bool) and mi is not None:
                for child in [a, *order]:
                    if child.max_iterations is None:
                        child.max_iterations = v
                        child.max_iterations_where = self.where(mi)
                        child.max_iterations_note = (
                            f"LoopAgent max_iterations={v}: at most {v} rounds of the loop; it "
                            "does not bound tokens, cost, time or the model calls of a round"
                        )
            else:
                self.note(
                    a,
                    "LoopAgent without max_iterations: it loops until a sub-agent escalates "
                    f"(no bound stated) at {self.where(call)}",
                )
            if len(order) > 1:  # the loop: the first runs again after the last
                order[0].depends_on.setdefault(order[-1].id, Where(self.f, call.lineno))

    def tools(self, call: ast.Call, a: DraftAgent, cb: ast.expr | None) -> None:
        cb_note = (
            f"before_tool_callback={_short(cb)} at {self.where(cb)} is a code check before "
            "every tool, not a person's approval"
            if cb is not None
            else ""
        )
        ex = kwarg(call, "code_executor")
        if ex is not None and not (isinstance(ex, ast.Constant) and ex.value is None):
            # the agent runs the code the model writes: a tool, by its executor's class
            made = _resolve(ex, self.env)
            cls = call_name(made) if isinstance(made, ast.Call) else None
            t = DraftTool(cls or "code_executor", self.where(ex))
            self.add(a, t, cb_note, *([cls] if cls else []))
            if t.effect is None:
                t.effect_note = f"code_executor={_short(ex)}: runs the code the model writes"
        node = kwarg(call, "tools")
        if node is None:
            return
        lst = _resolve(node, self.env)
        if not isinstance(lst, ast.List | ast.Tuple):
            self.unknown(a, node, cb_note)
            return
        for el in lst.elts:
            self.tool(a, el, cb_note)

    def unknown(self, a: DraftAgent, node: ast.AST, cb_note: str) -> None:
        """Tools computed at run time: the shared fail-closed unknown tool (issue 24, item 1)."""
        t = self.d.unseen_tools(a, f"tools: {_short(node)}", self.where(node))
        if cb_note:
            t.gate_note = f"{t.gate_note}; {cb_note}"

    def add(self, a: DraftAgent, t: DraftTool, cb_note: str, *names: str) -> None:
        if any(x.name == t.name for x in a.tools):
            return  # one tool of a name (either branch of a choice may be it)
        known_effect(t, *names)
        if cb_note and not t.gate:
            t.gate_note = cb_note
        a.tools.append(t)

    def tool(self, a: DraftAgent, el: ast.expr, cb_note: str) -> None:
        if isinstance(el, ast.Starred):
            self.unknown(a, el, cb_note)
            return
        if isinstance(el, ast.IfExp):  # chosen at run time: either may be the tool
            self.note(a, f"a tool chosen at run time: {_short(el)} at {self.where(el)}")
            self.tool(a, el.body, cb_note)
            self.tool(a, el.orelse, cb_note)
            return
        node = el
        if isinstance(el, ast.Name) and isinstance(self.env.get(el.id), ast.Call):
            node = self.env[el.id]
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            t = DraftTool(name, self.where(el))
            t.ref = ast.unparse(node)
            self.add(a, t, cb_note)
            return
        if not isinstance(node, ast.Call):
            self.unknown(a, el, cb_note)
            return
        cls = call_name(node) or ""
        if cls == "AgentTool":
            target = kwarg(node, "agent") or (node.args[0] if node.args else None)
            child = self.agent_of(target)
            if child is None:  # fail closed: an agent that may do anything
                self.d.unseen_agents(a, f"AgentTool({_short(target or el)})", self.where(el))
                return
            a.spawns.setdefault(child.id, self.where(el))
            self.add(a, DraftTool(child.id, self.where(el)), cb_note)
            return
        if cls in ("FunctionTool", "LongRunningFunctionTool"):
            fn = kwarg(node, "func") or (node.args[0] if node.args else None)
            if not isinstance(fn, ast.Name | ast.Attribute):
                self.unknown(a, el, cb_note)
                return
            name = fn.id if isinstance(fn, ast.Name) else fn.attr
            t = DraftTool(name, self.where(el))
            t.ref = ast.unparse(fn)
            rc = kwarg(node, "require_confirmation")
            v, _ = literal(rc, self.env)
            if v is True and rc is not None:
                t.gate, t.gate_where = True, self.where(rc)
                t.gate_note = f"{cls}(require_confirmation=True)"
            elif rc is not None and not isinstance(rc, ast.Constant):
                t.gate_note = (
                    f"require_confirmation={_short(rc)} is decided at run time: a conditional "
                    "gate, not a gate until declared"
                )
            self.add(a, t, cb_note)
            return
        if cls in _MCP:
            cmd = _mcp_command(node, self.env)
            filt = _resolve(kwarg(node, "tool_filter"), self.env)
            if isinstance(filt, ast.List | ast.Tuple) and filt.elts:
                names = [literal(e, self.env)[0] for e in filt.elts]
                if all(isinstance(n, str) for n in names):
                    for n in names:
                        self.add(a, self.mcp_tool(str(n), el, cmd, node), cb_note)
                    return
            elif filt is not None:
                self.unknown(a, el, cb_note)
                return
            self.add(a, self.mcp_tool(_server_name(cmd), el, cmd, node), cb_note)
            return
        # a tool class (google_search, VertexAiSearchTool(...)) or a builder of tools
        t = DraftTool(cls, self.where(el))
        known_effect(t)
        if t.effect is None and cls[:1].islower():
            self.unknown(a, el, cb_note)  # a function call that returns tools
            return
        self.add(a, t, cb_note)

    def mcp_tool(self, name: str, el: ast.AST, cmd: str, toolset: ast.AST) -> DraftTool:
        t = DraftTool(safe_id(name), self.where(el))
        t.stated_scope = scope_of(cmd.split(), str(self.where(toolset)))
        got = tables.known_mcp_effect(cmd) if cmd else None
        if got:
            t.effect, src = got
            t.effect_note = f"rules/tool_effects.yaml: {src}"
        return t

    def run_config(self) -> None:
        for call in ast.walk(self.tree):
            if not (isinstance(call, ast.Call) and call_name(call) == "RunConfig"):
                continue
            k = kwarg(call, "max_llm_calls")
            v, _ = literal(k, self.env)
            if not isinstance(v, int) or isinstance(v, bool) or k is None or v <= 0:
                continue
            for _, a in self.calls:
                if a.max_iterations is None:
                    a.max_iterations, a.max_iterations_where = v, self.where(k)
                    a.max_iterations_note = (
                        f"RunConfig(max_llm_calls={v}): at most {v} model calls a run, all "
                        "agents together; it does not bound tokens, cost, time or tool calls"
                    )


def read_modules(paths: list[Path], d: Draft, project: Path) -> None:
    """The ADK agents of Python modules into ``d``: every module's agents first, then each
    agent's sub-agents and ``AgentTool`` agents, followed through the imports into the other
    modules read (the ADK samples define each sub-agent in a package of its own)."""
    modules: dict[Path, _Reader] = {}
    for p in paths:
        modules[p.resolve()] = _Reader(p, d, modules, project)
    for r in modules.values():
        r.find()
    for r in modules.values():
        r.read()
