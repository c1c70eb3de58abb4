"""Agno (formerly phidata) agents, teams and workflows, read with ``ast`` (never run).

``Agent(name=…, role=…, model=…, tools=[…])``: the model from a model class's ``id=``
(``OpenAIChat(id="gpt-4o")``, ``Claude(id=…)``, ``Gemini(id=…)``) or a ``"provider:model"``
string, unknown with a note when the environment or the caller chooses it; tools from
``tools=[…]``: the module's functions (``@tool(requires_confirmation=True)`` and ``@approval``
(``type="required"``, its default) are human gates, ``@approval(type="audit")`` only records;
``requires_user_input`` asks a person for values and ``external_execution`` hands the call to
the application: neither is an approval), toolkits by their class (``DuckDuckGoTools()``; a
toolkit's ``requires_confirmation_tools=[…]`` gates only those of its tools, so the toolkit is
drafted ungated with a note), MCP servers (``MCPTools(command=…)``/``url=…``: effect from
rules/tool_effects.yaml when the server is well known), and anything computed at run time as an
``unknown`` tool (destructive until declared). ``Team(members=[…])`` is an agent (its leader,
with the team's model and tools) that spawns each member; a member computed at run time, or
imported from a module not read, is a placeholder agent. ``Workflow(steps=[…])`` runs its steps
in order (``Step(agent=…)``/``Step(team=…)``, agents and teams listed directly, ``Parallel(…)``
steps side by side): each step's agents depend on the step before.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from harness_audit.importers import tables
from harness_audit.importers.agent_framework_py import _scope
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    call_name,
    kwarg,
    listed_tools,
    literal,
    parse,
    resolve_name,
    source_text,
    static_list,
)

NAME = "agno"
DESCRIPTION = "Agno agents, teams and workflows (Python)"
_IMPORTS = re.compile(r"^\s*(?:from|import)\s+agno\.", re.M)
_USES = re.compile(r"\b(?:Agent|Team|Workflow)\s*\(")
STEP_WRAPPERS = ("Step", "Parallel", "Loop", "Condition", "Router", "Steps")
MCP_CLASSES = ("MCPTools", "MultiMCPTools")


def sniff(probe: Probe) -> str | None:
    """What Agno file the source is (None: not one)."""
    t = probe.text_head
    if probe.path.suffix == ".py" and _IMPORTS.search(t) and _USES.search(t):
        return "an Agno module (Python)"
    return None


class _Reader:
    """The agents, teams and workflows of the modules read, into one draft."""

    def __init__(self, d: Draft) -> None:
        self.d = d
        self.by_var: dict[str, str] = {}  # variable (of any module read) -> agent id
        self.by_call: dict[int, str] = {}

    def agent_of(self, node: ast.AST | None, env: dict[str, ast.expr]) -> str | None:
        """The agent a name (bound in the module, else imported from another module read) or
        an ``Agent(...)``/``Team(...)`` call is."""
        if isinstance(node, ast.Name) and node.id not in env:
            return self.by_var.get(node.id)
        made = resolve_name(node, env) if isinstance(node, ast.Name) else node
        return self.by_call.get(id(made)) if made is not None else None

    def make(self, call: ast.Call, var: str | None, f: str, env: dict[str, ast.expr]) -> None:
        name, _ = literal(kwarg(call, "name"), env)
        base = safe_id(name if isinstance(name, str) else var or (call_name(call) or "agent"))
        aid, n = base, 2
        while self.d.agent(aid) is not None:
            aid, n = f"{base}_{n}", n + 1
        a = DraftAgent(aid, Where(f, call.lineno))
        for key in ("role", "description", "instructions"):
            v, _ = literal(kwarg(call, key), env)
            if isinstance(v, str):
                a.role = v
                break
        self.model(a, call, f, env)
        self.d.agents.append(a)
        self.by_call[id(call)] = aid
        if var:
            self.by_var.setdefault(var, aid)

    @staticmethod
    def model(a: DraftAgent, call: ast.Call, f: str, env: dict[str, ast.expr]) -> None:
        node = kwarg(call, "model")
        if node is None:
            a.model_note = f"{call_name(call)}(...) states no model: Agno's default, unknown"
            a.model_where = Where(f, call.lineno)
            return
        made = resolve_name(node, env)
        value, note = literal(made, env)
        where = Where(f, getattr(made, "lineno", call.lineno))
        if isinstance(made, ast.Call):
            value, note = literal(kwarg(made, "id") or kwarg(made, "model"), env)
            if not isinstance(value, str) and not note:
                note = f"{call_name(made)}(...) states no literal id"
        if isinstance(value, str):
            if ":" in value and tables.resolve_model(value).provider == "unknown":
                value = value.split(":", 1)[1]  # Agno's "provider:model" string
            a.model, a.model_note, a.model_where = value, note, where
            return
        a.model_note = (
            f"the model comes from {source_text(node)}"
            + (f" ({note})" if note else "")
            + ": unknown until declared"
        )
        a.model_where = where

    def tools(
        self,
        a: DraftAgent,
        call: ast.Call,
        f: str,
        env: dict[str, ast.expr],
        funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
    ) -> None:
        value = kwarg(call, "tools")
        if value is None:
            return
        for el in listed_tools(self.d, a, value, env, Where(f, call.lineno)):
            line = getattr(el, "lineno", call.lineno)
            if isinstance(el, ast.Name) and el.id in funcs and el.id not in env:
                a.tools.append(self.function(funcs[el.id], f, env))
                continue
            made = resolve_name(el, env) if isinstance(el, ast.Name) else el
            if isinstance(made, ast.Name):  # imported: its own name, effect unknown
                dt = DraftTool(made.id, Where(f, line), ref=made.id)
                known_effect(dt)
                a.tools.append(dt)
            elif isinstance(made, ast.Call) and call_name(made) in MCP_CLASSES:
                a.tools.append(self.mcp(made, f, env))
            elif isinstance(made, ast.Call) and call_name(made):
                a.tools.append(self.toolkit(made, f, env))
            else:
                self.d.unseen_tools(a, f"a tool {source_text(el)}", Where(f, line))

    @staticmethod
    def function(
        fn: ast.FunctionDef | ast.AsyncFunctionDef, f: str, env: dict[str, ast.expr]
    ) -> DraftTool:
        """A module function listed as a tool, named by ``@tool(name=…)`` or its own name."""
        dec = next(
            (d for d in fn.decorator_list if isinstance(d, ast.Call) and call_name(d) == "tool"),
            None,
        )
        nm, _ = literal(kwarg(dec, "name"), env) if dec else (None, "")
        dt = DraftTool(nm if isinstance(nm, str) else fn.name, Where(f, fn.lineno), ref=fn.name)
        held = next((d for d in fn.decorator_list if call_name(d) == "approval"), None)
        kind = literal(kwarg(held, "type"), env)[0] if isinstance(held, ast.Call) else None
        if held is not None and kind in (None, "required"):  # blocks until resolved
            dt.gate, dt.gate_where = True, Where(f, held.lineno)
            dt.gate_note = "@approval: the run pauses until a person resolves the approval"
            return dt
        if dec is None:
            return dt
        said = kwarg(dec, "requires_confirmation")
        asks, _ = literal(said, env)
        if asks is True:
            dt.gate, dt.gate_where = True, Where(f, dec.lineno)
            dt.gate_note = "@tool(requires_confirmation=True): the run pauses for a person"
        elif said is not None:
            dt.gate_note = (
                f"requires_confirmation={source_text(said)}: "
                "not a literal True, drafted as not required"
            )
        for key, what in (
            ("requires_user_input", "asks a person for values, which is no approval"),
            ("external_execution", "is run by the application, not the agent: no approval"),
        ):
            v, _ = literal(kwarg(dec, key), env)
            if v is True and not dt.gate:
                dt.gate_note = f"@tool({key}=True) {what}"
        return dt

    @staticmethod
    def toolkit(call: ast.Call, f: str, env: dict[str, ast.expr]) -> DraftTool:
        """A toolkit (``ShellTools()``) as one tool by its class, effect from
        rules/tool_effects.yaml when well known, else unknown."""
        cls = call_name(call) or "toolkit"
        dt = DraftTool(cls, Where(f, call.lineno))
        known_effect(dt, cls)
        some = kwarg(call, "requires_confirmation_tools")
        if some is not None:
            dt.gate_note = (
                f"requires_confirmation_tools={source_text(some)} gates only those of the "
                "toolkit's tools: drafted as not required until each is declared"
            )
        return dt

    @staticmethod
    def mcp(call: ast.Call, f: str, env: dict[str, ast.expr]) -> DraftTool:
        """An MCP server as one tool, its effect from the server's command or URL when
        rules/tool_effects.yaml knows it, else unknown."""
        parts: list[str] = []
        for key in ("command", "url"):
            v, _ = literal(kwarg(call, key), env)
            if isinstance(v, str):
                parts.append(v)
        servers, _ = static_list(kwarg(call, "commands") or kwarg(call, "urls"), env)
        parts += [v for v in (literal(x, env)[0] for x in servers) if isinstance(v, str)]
        got = tables.known_mcp_effect(" ".join(parts)) if parts else None
        tail = parts[0].split()[-1] if parts else ""
        dt = DraftTool(safe_id(f"mcp_{tail}") if tail else "mcp_server", Where(f, call.lineno))
        if got:
            dt.effect, src = got
            dt.effect_note = f"rules/tool_effects.yaml: {src}"
        return dt

    def members(self, a: DraftAgent, call: ast.Call, f: str, env: dict[str, ast.expr]) -> None:
        """A team's members: each a spawn of the team's leader."""
        value = kwarg(call, "members")
        elts, unseen = static_list(value, env)
        for src, ln in unseen:
            self.d.unseen_agents(a, f"members={src}", Where(f, ln or call.lineno))
        for el in elts:
            child = self.agent_of(el, env)
            if child is None:
                self.d.unseen_agents(
                    a, f"team member {source_text(el)}", Where(f, getattr(el, "lineno", 0))
                )
            elif child != a.id:
                a.spawns.setdefault(child, Where(f, getattr(el, "lineno", call.lineno)))

    def steps(self, call: ast.Call, f: str, env: dict[str, ast.expr]) -> None:
        """A workflow's steps in order: each step's agents depend on the step before's."""
        value = kwarg(call, "steps")
        elts, unseen = static_list(value, env)
        where = Where(f, call.lineno)
        for src, ln in unseen:
            self.d.unseen_edges(None, f"Workflow steps={src}", Where(f, ln or call.lineno))
        before: list[str] = []
        for el in elts:
            now = self.step_agents(el, env)
            for aid in now:
                a = self.d.agent(aid)
                for prev in before:
                    if a is not None and prev != aid:
                        a.depends_on.setdefault(prev, Where(f, getattr(el, "lineno", where.line)))
            before = now or before

    def step_agents(self, el: ast.AST, env: dict[str, ast.expr], depth: int = 0) -> list[str]:
        """The agents one step runs (a ``Parallel``'s: all of its steps')."""
        aid = self.agent_of(el, env)
        if aid is not None or depth > 8:
            return [aid] if aid else []
        made = resolve_name(el, env) if isinstance(el, ast.Name) else el
        if not isinstance(made, ast.Call) or call_name(made) not in STEP_WRAPPERS:
            return []
        out: list[str] = []
        for key in ("agent", "team"):
            got = self.agent_of(kwarg(made, key), env)
            if got:
                out.append(got)
        inner, _ = static_list(kwarg(made, "steps"), env)
        for x in [*made.args, *inner]:
            out += self.step_agents(x, env, depth + 1)
        return out


def read(paths: list[Path]) -> Draft:
    """Agents, teams (their members spawned) and workflows (their steps in order) from Agno
    modules."""
    d = Draft(NAME, NAME, list(paths))
    r = _Reader(d)
    files: list[tuple[str, ast.Module, dict[str, ast.expr]]] = []
    found: list[tuple[ast.Call, str, str, dict[str, ast.expr]]] = []
    for p in paths:
        tree = parse(p)
        f = str(p)
        env = _scope(tree, f)
        files.append((f, tree, env))
        bound = {
            id(n.value): n.targets[0].id
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and call_name(node) in ("Agent", "Team"):
                r.make(node, bound.get(id(node)), f, env)
                found.append((node, call_name(node) or "", f, env))
    d.with_agents(
        paths,
        "no agent found: no Agent(...) or Team(...) call",
        "Agno code that builds an agent (Agent(name=..., model=..., tools=[...]))",
    )
    funcs_of = {
        f: {
            n.name: n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for f, tree, _ in files
    }
    for call, kind, f, env in found:
        a = d.agent(r.by_call[id(call)])
        assert a is not None
        r.tools(a, call, f, env, funcs_of[f])
        if kind == "Team":
            r.members(a, call, f, env)
    for f, tree, env in files:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and call_name(node) == "Workflow":
                r.steps(node, f, env)
    return d
