"""CrewAI crews: ``agents.yaml`` + ``tasks.yaml`` (+ ``crew.py`` read with ``ast``), and
declarative flows (``schema: crewai.flow/v1``, inline crews and agents).

Agents are the YAML keys and the ``@agent`` methods (keys that disagree and orphans are
reported); the model is ``llm:`` or ``Agent(llm=…)``/``LLM(model=…)``; tools are
``Agent(tools=[…])`` (the tool classes' ``name``). Edges: a task's ``agent`` and ``context``
(the context tasks' agents feed this one); ``Process.sequential`` (the default) chains the tasks'
agents in order; ``allow_delegation: true`` spawns the crew's other agents; a
``Process.hierarchical`` manager spawns all. ``Task(human_input=True)`` is a human review of the
output: a human verifier of that agent, not a gate before a tool (CrewAI asks for the feedback
on the final answer, after the tools ran), said in the draft's notes and on each of the agent's
tools with its line. ``allow_delegation`` computed at run time, or set in a crew.py that was not
given, is drafted as delegating (fail closed), and without crew.py each agent holds an
``unknown`` tool. ``max_iter`` is an iteration bound (``max_iterations``), not a cost cap.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from harness_audit.importers.base import as_dict, as_list, fail
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.importers.pyast import (
    call_name,
    custom_tools,
    kwarg,
    literal,
    local_env,
    model_of,
    module_env,
    parse,
    resolve_name,
    source_text,
    stated_tools,
    tool_names_in,
)
from harness_audit.manifest.yamlsafe import YamlDocument, load_yaml

NAME = "crewai"
DESCRIPTION = "CrewAI crews (agents.yaml + tasks.yaml + crew.py) and declarative flows"

DEFAULT_MAX_ITER_SOURCE = "https://docs.crewai.com/en/concepts/agents (max_iter default 20)"


AGENT_KEYS = ("role", "goal", "backstory")
TASK_KEYS = ("description", "expected_output")


def _entries(data: Any, keys: tuple[str, ...]) -> list[str]:
    """The top-level keys of a crew YAML whose mapping states one of ``keys``: the agents
    (or tasks). Another mapping beside them (``x-defaults: &defaults {llm: …}``, merged into
    the agents with ``<<: *defaults``) is a template CrewAI never looks up by name."""
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        return []
    return [k for k, v in data.items() if any(x in v for x in keys)]


def _is_agents_yaml(data: Any) -> bool:
    return bool(_entries(data, AGENT_KEYS)) and not _entries(data, TASK_KEYS)


def _is_tasks_yaml(data: Any) -> bool:
    return bool(_entries(data, TASK_KEYS)) and not _entries(data, AGENT_KEYS)


def _templates(doc: YamlDocument, keys: tuple[str, ...], d: Draft) -> set[str]:
    """Top-level keys of ``doc`` that are no agent or task (:func:`_entries`), each noted."""
    entries = set(_entries(doc.data, keys))
    skipped = {k for k in doc.data if k not in entries}
    for k in sorted(skipped, key=str):
        mk = doc.key_mark((k,))
        d.notes.append(
            f"{Path(doc.file).name}:{mk.line if mk else 1}: {k!r} states none of "
            f"{', '.join(keys)}: a template for the others (YAML anchors), not drafted"
        )
    return skipped


def _is_flow(data: Any) -> bool:
    return isinstance(data, dict) and str(data.get("schema", "")).startswith("crewai.flow/")


def _is_crew_py(probe: Probe) -> bool:
    t = probe.text_head
    return probe.path.suffix == ".py" and (
        "crewai" in t and any(k in t for k in ("Agent(", "@agent", "Crew(", "Task("))
    )


def sniff(probe: Probe) -> str | None:
    """What CrewAI file the source is (None: not CrewAI)."""
    if probe.path.suffix in (".yaml", ".yml"):
        y = probe.yaml
        if _is_flow(y):
            return "a CrewAI declarative flow (crewai.flow/v1)"
        if _is_agents_yaml(y):
            return "a CrewAI agents.yaml"
        if _is_tasks_yaml(y):
            return "a CrewAI tasks.yaml"
    if _is_crew_py(probe):
        return "a CrewAI crew module (Python)"
    return None


class _Crew:
    def __init__(self, d: Draft) -> None:
        self.d = d
        self.tasks: list[tuple[str, str | None, list[str], Where, bool]] = []
        # (task id, agent id, context task ids, where, human_input)
        self.process = "sequential"
        self.delegating: dict[str, Where] = {}
        self.delegation_stated: set[str] = set()
        """Agents whose ``allow_delegation`` the YAML states (true or false)."""
        self.manager: str | None = None
        self.task_params: dict[str, tuple[int, str]] = {}
        """Task factory methods (``def review(self, agent, …): return Task(agent=agent, …)``):
        method -> the position and name of the parameter that gives the task its agent."""
        self.tool_agents: dict[str, tuple[str, Where]] = {}
        """A tool function that builds its own agent (``@tool`` scraping a page and summing it
        up with an ``Agent``): the function's name -> that agent and its line."""
        self.runs: list[tuple[ast.expr, dict[str, ast.expr], str]] = []
        """``Crew(tasks=[…])`` lists: the list, the names in scope where it is, its file."""

    def agent(self, aid: str, where: Where) -> DraftAgent:
        a = self.d.agent(aid)
        if a is None:
            a = DraftAgent(aid, where)
            self.d.agents.append(a)
        return a


def _crew_folder(p: Path) -> Path:
    """The folder of the crew a file belongs to: a YAML file's, or the one above its
    ``config/`` folder (``crews/x/config/agents.yaml`` and ``crews/x/x_crew.py`` are crew x)."""
    here = p.resolve().parent
    return here.parent if here.name.lower() in ("config", "configs") else here


def read(paths: list[Path]) -> Draft:
    """Draft agents from CrewAI sources (files of one or more crews; flows). The files of
    each crew folder are read as one crew (its own tasks, process and delegation); an agent
    key that two crews both define is two agents (each id prefixed by its crew's name), not
    one agent whose tasks run in both."""
    groups: dict[Path, list[Path]] = {}
    for p in paths:
        groups.setdefault(_crew_folder(p), []).append(p)
    if sum(1 for ps in groups.values() if any(_agents_yaml(p) for p in ps)) <= 1:
        return _read(paths)  # one crew (its YAML and its code may sit in other folders)
    found = [(ps, _read(ps, empty=True)) for ps in groups.values()]
    crews = [ps for ps, sub in found if sub.agents]  # a flow's main.py alone holds none
    if len(crews) <= 1:
        return _read(paths)
    drafts = [sub for _, sub in found if sub.agents]
    count: dict[str, int] = {}
    for sub in drafts:
        for a in sub.agents:
            count[a.id] = count.get(a.id, 0) + 1
    d = Draft(NAME, safe_id(_crew_name(paths, common=True)), list(paths))
    for ps, sub in zip(crews, drafts, strict=True):
        crew = safe_id(_crew_name(ps))
        renamed = {a.id: safe_id(f"{crew}_{a.id}") for a in sub.agents if count[a.id] > 1}
        sub.rename(renamed)
        for old, new in renamed.items():
            d.notes.append(
                f"agent {old!r} of crew {crew!r} drafted as {new!r}: another crew has one"
            )
        d.absorb(sub)  # its ids are this crew's now: none is another's
    return d


def _agents_yaml(p: Path) -> bool:
    kind = sniff(Probe.of(p))
    return kind is not None and not kind.endswith("(Python)") and _is_agents_yaml(load_yaml(p).data)


def _read(paths: list[Path], empty: bool = False) -> Draft:
    """One crew's files (or files of crews that share one folder) into a draft; with
    ``empty``, a draft of no agents rather than the error that none were found."""
    agents_docs: list[YamlDocument] = []
    tasks_docs: list[YamlDocument] = []
    pys: list[Path] = []
    flows: list[YamlDocument] = []
    for p in paths:
        probe = Probe.of(p)
        kind = sniff(probe)
        if kind is None:
            continue
        if kind.endswith("(Python)"):
            pys.append(p)
            continue
        doc = load_yaml(p)
        if _is_flow(doc.data):
            flows.append(doc)
        elif _is_agents_yaml(doc.data):
            agents_docs.append(doc)
        else:
            tasks_docs.append(doc)
    name = safe_id(_crew_name(paths))
    d = Draft(NAME, name, list(paths))
    crew = _Crew(d)
    templates = {id(doc): _templates(doc, AGENT_KEYS, d) for doc in agents_docs}
    templates |= {id(doc): _templates(doc, TASK_KEYS, d) for doc in tasks_docs}
    for doc in agents_docs:
        for key, v in doc.data.items():
            if key in templates[id(doc)]:
                continue
            mk = doc.key_mark((key,))
            a = crew.agent(safe_id(key), Where(doc.file, mk.line if mk else 1))
            a.role = str(v.get("role") or "").strip().strip('"') or None
            _yaml_agent_fields(doc, key, v, a, crew)
    yaml_keys = {safe_id(k) for doc in agents_docs for k in doc.data if k not in templates[id(doc)]}
    code_agents: dict[str, str] = {}  # method -> config key
    for p in pys:
        _read_py(p, crew, code_agents)
    for doc in tasks_docs:
        _yaml_tasks(doc, crew, templates[id(doc)])
    for doc in flows:
        _flow(doc, crew)
    _factory_tasks(crew)
    if code_agents:
        for method, key in code_agents.items():
            if key and key != method:
                d.notes.append(f"agent method {method!r} reads YAML key {key!r}")
        missing = {k for k in code_agents.values() if k} - yaml_keys
        for k in sorted(missing):
            d.unknown.append(
                f"the code asks for agent config {k!r}, which the YAML does not define"
            )
        orphans = yaml_keys - set(code_agents.values()) - set(code_agents)
        named = {t[1] for t in crew.tasks}
        for k in sorted(orphans):
            orphan = d.agent(k)
            if k in named or orphan is None:
                d.notes.append(f"YAML agent {k!r} is not created by the code (orphan)")
                continue
            d.agents.remove(orphan)  # configuration no code builds: not an agent of this crew
            d.notes.append(
                f"YAML agent {k!r} ({orphan.where}) is not created by the code and no task names "
                "it: configuration only, not drafted as an agent"
            )
    elif agents_docs and not pys:
        d.unknown.append(
            "crew.py was not given: models, tools, delegation and task agents set "
            "in code are unknown"
        )
        _code_not_given(crew)
    _merge_configs(crew, code_agents)
    _edges(crew)
    if not d.agents and not empty:
        raise fail(
            str(paths[0]) if paths else "-",
            "no CrewAI agents found",
            expected="agents.yaml (with tasks.yaml) or a crew module",
        )
    return d


def _code_not_given(crew: _Crew) -> None:
    """YAML without the crew's Python: the tools and delegation the code sets are not seen,
    so each agent holds an ``unknown`` tool (assumed destructive) and, unless its YAML states
    ``allow_delegation``, may delegate to every coworker (fail closed, issue 24 item 1)."""
    for a in crew.d.agents:
        if a.human or a.placeholder:
            continue
        crew.d.unseen_tools(a, "tools set in crew.py, which was not given", a.where)
        if a.id not in crew.delegation_stated and a.id not in crew.delegating:
            crew.delegating[a.id] = a.where
            a.notes.append(
                "allow_delegation is set in crew.py, which was not given: drafted as "
                "delegating to every coworker until declared"
            )


def _yaml_agent_fields(
    doc: YamlDocument, key: str, v: dict[str, Any], a: DraftAgent, crew: _Crew
) -> None:
    if isinstance(v.get("llm"), str):
        a.model = v["llm"]
        mk = doc.mark((key, "llm"))
        a.model_where = Where(doc.file, mk.line if mk else a.where.line)
    if isinstance(v.get("allow_delegation"), bool):
        crew.delegation_stated.add(a.id)
    if v.get("allow_delegation") is True:
        mk = doc.mark((key, "allow_delegation"))
        crew.delegating[a.id] = Where(doc.file, mk.line if mk else a.where.line)
    if isinstance(v.get("max_execution_time"), int | float):
        mk = doc.mark((key, "max_execution_time"))
        a.notes.append(
            f"max_execution_time={v['max_execution_time']}s at "
            f"{Where(doc.file, mk.line if mk else a.where.line)}: bounds the agent's run "
            "time, not its iterations, spawns or cost"
        )
    if isinstance(v.get("max_iter"), int) and v["max_iter"] >= 1:
        mk = doc.mark((key, "max_iter"))
        a.max_iterations = v["max_iter"]
        a.max_iterations_where = Where(doc.file, mk.line if mk else a.where.line)
        a.max_iterations_note = "max_iter is an iteration bound, not a cost cap"
    tools = v.get("tools")
    if isinstance(tools, list):
        for i, t in enumerate(tools):
            if isinstance(t, str):
                mk = doc.mark((key, "tools", i))
                dt = DraftTool(t, Where(doc.file, mk.line if mk else a.where.line))
                known_effect(dt)
                a.tools.append(dt)


def _yaml_tasks(doc: YamlDocument, crew: _Crew, skip: set[str] | None = None) -> None:
    for key, v in doc.data.items():
        if skip and key in skip:
            continue
        mk = doc.key_mark((key,))
        where = Where(doc.file, mk.line if mk else 1)
        if any(t[0] == key for t in crew.tasks):
            # the code defined it: take the YAML's agent/context only where the code had none
            idx = next(i for i, t in enumerate(crew.tasks) if t[0] == key)
            tid, agent, ctx, w, human = crew.tasks[idx]
            if agent is None and isinstance(v.get("agent"), str):
                agent = safe_id(v["agent"])
            if not ctx and isinstance(v.get("context"), list):
                ctx = [str(c) for c in v["context"]]
            crew.tasks[idx] = (tid, agent, ctx, w, human or v.get("human_input") is True)
            continue
        agent = safe_id(v["agent"]) if isinstance(v.get("agent"), str) else None
        ctx = [str(c) for c in v["context"]] if isinstance(v.get("context"), list) else []
        crew.tasks.append((key, agent, ctx, where, v.get("human_input") is True))
        if agent is None:
            crew.d.unknown.append(f"task {key!r} names no agent (set in crew.py?)")


def _flow(doc: YamlDocument, crew: _Crew) -> None:
    methods = doc.data.get("methods")
    if not isinstance(methods, dict):
        return
    prev_agents: list[str] = []
    for mname, m in methods.items():
        do = m.get("do") if isinstance(m, dict) else None
        if not isinstance(do, dict):
            continue
        with_ = as_dict(do.get("with"))
        path = ("methods", mname, "do", "with")
        made: list[str] = []
        if do.get("call") == "crew":
            agents = as_dict(with_.get("agents"))
            for akey, av in agents.items():
                mk = doc.key_mark((*path, "agents", akey))
                a = crew.agent(safe_id(akey), Where(doc.file, mk.line if mk else 1))
                if isinstance(av, dict):
                    a.role = str(av.get("role") or "") or None
                    _yaml_agent_fields(doc, akey, av, a, crew)
                made.append(a.id)
            tasks = as_list(with_.get("tasks"))
            for i, t in enumerate(tasks):
                if isinstance(t, dict):
                    mk = doc.mark((*path, "tasks", i))
                    crew.tasks.append(
                        (
                            str(t.get("name") or f"{mname}_{i}"),
                            safe_id(t["agent"]) if isinstance(t.get("agent"), str) else None,
                            [str(c) for c in t.get("context") or [] if isinstance(c, str)],
                            Where(doc.file, mk.line if mk else 1),
                            t.get("human_input") is True,
                        )
                    )
        elif do.get("call") == "agent":
            mk = doc.key_mark(("methods", mname))
            a = crew.agent(safe_id(mname), Where(doc.file, mk.line if mk else 1))
            a.role = str(with_.get("role") or "") or None
            made.append(a.id)
        elif do.get("call") == "tool":
            crew.d.notes.append(
                f"flow step {mname!r} calls a tool directly "
                f"({str(with_.get('ref') or do.get('ref') or '?')[:80]}), "
                "outside any agent"
            )
        if made and isinstance(m, dict) and m.get("listen") is not None and prev_agents:
            mk = doc.mark(("methods", mname, "listen"))
            for aid in made:
                a2 = crew.d.agent(aid)
                if a2:
                    for p in prev_agents:
                        a2.depends_on.setdefault(p, Where(doc.file, mk.line if mk else 1))
        if made:
            prev_agents = made


GENERIC_FOLDERS = frozenset({"config", "configs", "src", "crew", "crews", "agents", "tasks", ""})
"""Folders that name no crew (``src/my_crew/config/agents.yaml`` is the crew ``my_crew``)."""


def _crew_name(paths: list[Path], common: bool = False) -> str:
    """The crew's name: the first folder above its files that is not a generic one (with
    ``common``, above all of them: the project of several crews)."""
    if not paths:
        return "crew"
    first = paths[0].resolve()
    if common:
        first = Path(os.path.commonpath([p.resolve() for p in paths])) / "_"
    for parent in first.parents:
        if parent.name.lower() not in GENERIC_FOLDERS:
            return parent.name
    return "crew"


def _class_attrs(tree: ast.Module) -> dict[ast.AST, dict[str, ast.expr]]:
    """Each method -> the attributes of its class: class-level ``llm = LLM(...)`` and
    ``self.x = ...`` in any method (so ``llm=self.llm`` reads the model the class states)."""
    out: dict[ast.AST, dict[str, ast.expr]] = {}
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        attrs: dict[str, ast.expr] = {}
        for stmt in cls.body:
            if isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        attrs[t.id] = stmt.value
            elif (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.value is not None
            ):
                attrs[stmt.target.id] = stmt.value
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for st in ast.walk(fn):
                    if isinstance(st, ast.Assign):
                        for t in st.targets:
                            if (
                                isinstance(t, ast.Attribute)
                                and isinstance(t.value, ast.Name)
                                and t.value.id == "self"
                            ):
                                attrs.setdefault(t.attr, st.value)
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                out[fn] = attrs
    return out


def _self_attr(node: ast.expr | None, attrs: dict[str, ast.expr]) -> ast.expr | None:
    """``self.x`` as the value its class states for ``x`` (else ``node``)."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and node.attr in attrs
    ):
        return attrs[node.attr]
    return node


_Fn = ast.FunctionDef | ast.AsyncFunctionDef


def _scopes(tree: ast.Module) -> list[tuple[ast.AST, list[ast.Call]]]:
    """The module's own statements (outside its functions and classes: a script's
    ``researcher = Agent(...)``) and each function, sync or async, with the calls in it."""
    top = [
        c
        for stmt in tree.body
        if not isinstance(stmt, _Fn | ast.ClassDef)
        for c in ast.walk(stmt)
        if isinstance(c, ast.Call)
    ]
    out: list[tuple[ast.AST, list[ast.Call]]] = [(tree, top)]
    for node in ast.walk(tree):
        if isinstance(node, _Fn):
            out.append((node, [c for c in ast.walk(node) if isinstance(c, ast.Call)]))
    return out


def _named(
    call: ast.Call,
    kind: str,
    key: str | None,
    fname: str,
    made: dict[str, int],
    assigned: dict[int, str],
) -> str:
    """A factory method's one agent (or task) is the method's; several in one scope, or one
    at module level, are each their variable's (else their config key's, else their line's)."""
    if fname and made[kind] == 1 and not fname.startswith("__"):  # __init__ names no agent
        return fname
    return assigned.get(id(call)) or key or f"{fname or kind.lower()}_{call.lineno}"


def _assigned_names(tree: ast.Module) -> dict[int, str]:
    """A call assigned to a name (``writer = Agent(...)``, ``self.writer = Agent(...)``):
    the call's id -> the name."""
    out: dict[int, str] = {}
    for st in ast.walk(tree):
        targets = st.targets if isinstance(st, ast.Assign) else []
        if isinstance(st, ast.AnnAssign):
            targets = [st.target]
        value = st.value if isinstance(st, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Call) and len(targets) == 1:
            t = targets[0]
            if isinstance(t, ast.Name):
                out[id(value)] = t.id
            elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                out[id(value)] = t.attr
    return out


def _read_py(path: Path, crew: _Crew, code_agents: dict[str, str]) -> None:
    tree = parse(path)
    env = module_env(tree, str(path))
    custom = custom_tools(tree)
    file = str(path)
    task_defs: dict[str, tuple[str, str | None, list[str], Where, bool]] = {}
    class_attrs = _class_attrs(tree)
    assigned = _assigned_names(tree)
    for node, calls in _scopes(tree):
        fname = node.name if isinstance(node, _Fn) else ""
        attrs = class_attrs.get(node, {})
        decos = (
            {call_name(d) or "" for d in node.decorator_list} if isinstance(node, _Fn) else set()
        )
        local = local_env(node, env) if isinstance(node, _Fn) else env
        made = {k: sum(1 for c in calls if call_name(c) == k) for k in ("Agent", "Task")}
        alias: dict[str, str] = {}  # a variable the scope's agent is assigned to -> its id
        in_tool = isinstance(node, _Fn) and (
            "tool" in decos or node.name in ("_run", "_arun")
        )  # a tool that makes its own agent and task: the agent that calls it spawns them
        for call in calls:
            cls = call_name(call)
            if cls == "Agent":
                key = _config_key(call, "agents_config")
                aid = safe_id(_named(call, "Agent", key, fname, made, assigned))
                if id(call) in assigned:
                    alias[assigned[id(call)]] = aid
                if in_tool:
                    crew.tool_agents.setdefault(fname, (aid, Where(file, call.lineno)))
                one = fname and made["Agent"] == 1 and not fname.startswith("__")
                a = crew.agent(aid, Where(file, node.lineno if one else call.lineno))  # type: ignore[attr-defined]
                code_agents[aid] = key or ""
                role, _ = literal(kwarg(call, "role"), env)
                if isinstance(role, str):
                    a.role = role
                m, note, line = model_of(_self_attr(kwarg(call, "llm"), attrs), local)
                if m:
                    a.model, a.model_note = m, note
                    a.model_where = Where(file, line or call.lineno)
                elif note:
                    a.model_note = note
                tools_node = kwarg(call, "tools")
                stated, unseen = stated_tools(_self_attr(tools_node, attrs), local)
                for src, ln in unseen:
                    crew.d.unseen_tools(a, f"tools={src}", Where(file, ln or call.lineno))
                for tname, tcls, line, ref in tool_names_in(stated, custom, local):
                    if any(t.name == tname for t in a.tools):
                        continue
                    dt = DraftTool(tname, Where(file, line), ref=ref)
                    known_effect(dt, tcls)
                    a.tools.append(dt)
                deleg_node = kwarg(call, "allow_delegation")
                deleg, _ = literal(deleg_node, env)
                if deleg_node is not None:
                    crew.delegation_stated.add(aid)
                if deleg is True:
                    crew.delegating[aid] = Where(file, call.lineno)
                elif deleg_node is not None and not isinstance(deleg, bool):
                    crew.delegating[aid] = Where(file, deleg_node.lineno)  # fail closed
                    a.notes.append(
                        f"allow_delegation={ast.unparse(deleg_node)} is decided at run time "
                        f"({path.name}:{deleg_node.lineno}): drafted as delegating to every "
                        "coworker until declared"
                    )
                mi, _ = literal(kwarg(call, "max_iter"), env)
                if isinstance(mi, int) and mi >= 1:
                    a.max_iterations, a.max_iterations_where = mi, Where(file, call.lineno)
                    a.max_iterations_note = "max_iter is an iteration bound, not a cost cap"
                _time_bound(a, kwarg(call, "max_execution_time"), env, Where(file, call.lineno))
            elif cls == "Task":
                tname = _named(
                    call, "Task", _config_key(call, "tasks_config"), fname, made, assigned
                )
                key = _config_key(call, "tasks_config") or tname
                agent_node = kwarg(call, "agent")
                agent = None
                if isinstance(agent_node, ast.Call) and isinstance(agent_node.func, ast.Attribute):
                    agent = safe_id(agent_node.func.attr)
                elif isinstance(agent_node, ast.Name | ast.Attribute):
                    agent = safe_id(
                        alias.get(agent_node.id, agent_node.id)
                        if isinstance(agent_node, ast.Name)
                        else agent_node.attr
                    )
                params = (
                    [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
                    if isinstance(node, _Fn)
                    else []
                )
                if isinstance(agent_node, ast.Name) and agent_node.id in params:
                    crew.task_params[fname] = (params.index(agent_node.id), agent_node.id)
                ctx_node = kwarg(call, "context")
                ctx: list[str] = []
                if isinstance(ctx_node, ast.List):
                    for c in ctx_node.elts:
                        fn = c.func if isinstance(c, ast.Call) else c
                        if isinstance(fn, ast.Attribute):
                            ctx.append(fn.attr)
                        elif isinstance(fn, ast.Name):
                            ctx.append(fn.id)
                human, _ = literal(kwarg(call, "human_input"), env)
                if in_tool:
                    continue
                if tname in task_defs:
                    crew.d.notes.append(
                        f"task method {tname!r} is defined twice in "
                        f"{path.name}; the later definition shadows the first"
                    )
                task_defs[tname] = (
                    key if "task" in decos else tname,
                    agent,
                    ctx,
                    Where(file, call.lineno),
                    human is True,
                )
            elif cls == "Crew":
                members = kwarg(call, "agents")
                if _computed_list(members):
                    assert members is not None
                    crew.d.unseen_agents(
                        None,
                        f"Crew(agents={' '.join(ast.unparse(members).split())[:60]})",
                        Where(file, members.lineno),
                    )  # every delegating agent and the manager may reach them (fail closed)
                proc = kwarg(call, "process")
                if isinstance(proc, ast.Attribute) and proc.attr == "hierarchical":
                    crew.process = "hierarchical"
                    mgr = kwarg(call, "manager_agent")
                    if isinstance(mgr, ast.Call) and isinstance(mgr.func, ast.Attribute):
                        crew.manager = safe_id(mgr.func.attr)
                    else:
                        mgr_agent = crew.agent("manager", Where(file, call.lineno))
                        mm, note, line = model_of(kwarg(call, "manager_llm"), env)
                        if mm:
                            mgr_agent.model, mgr_agent.model_note = mm, note
                            mgr_agent.model_where = Where(file, line or call.lineno)
                        mgr_agent.role = "CrewAI hierarchical manager"
                        crew.manager = "manager"
    crew.tasks.extend(task_defs.values())
    _crew_runs(tree, env, file, crew)


def _crew_runs(tree: ast.Module, env: dict[str, ast.expr], file: str, crew: _Crew) -> None:
    """Each ``Crew(tasks=[…])`` with the names in scope where it is made (its function's, over
    the module's), for the tasks that factories make (:func:`_factory_tasks`)."""
    scopes: list[tuple[ast.AST, dict[str, ast.expr]]] = [(tree, env)]
    scopes += [
        (f, local_env(f, env))  # type: ignore[arg-type]
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    seen: set[int] = set()
    for scope, names in reversed(scopes):  # the innermost function first
        for call in ast.walk(scope):
            if isinstance(call, ast.Call) and call_name(call) == "Crew" and id(call) not in seen:
                seen.add(id(call))
                tasks = kwarg(call, "tasks")
                if tasks is not None:
                    crew.runs.append((tasks, names, file))


def _factory_tasks(crew: _Crew) -> None:
    """Tasks made by factory methods and listed in a ``Crew(tasks=[…])`` (the classic layout:
    ``t = tasks.review(editor, …)`` with ``editor = agents.editor()``): each listed task is done
    by the agent passed to it, in the list's order (the crew's sequence). A task the reader
    cannot follow to an agent breaks the chain rather than link its neighbours."""
    for node, names, file in crew.runs:
        lst = resolve_name(node, names)
        if not isinstance(lst, ast.List | ast.Tuple):
            continue
        seq: list[tuple[str, str | None, list[str], Where, bool]] = []
        for el in lst.elts:
            made = resolve_name(el, names)
            where = Where(file, getattr(el, "lineno", 1))
            fn = made.func if isinstance(made, ast.Call) else None
            if not (isinstance(made, ast.Call) and isinstance(fn, ast.Attribute)):
                seq.append((source_text(el), None, [], where, False))
                continue
            hit = crew.task_params.get(fn.attr)
            arg = None
            if hit is not None:
                idx, pname = hit
                arg = made.args[idx] if idx < len(made.args) else kwarg(made, pname)
            who = resolve_name(arg, names) if arg is not None else None
            if isinstance(who, ast.Call):
                who = who.func
            aid = (
                safe_id(who.attr)
                if isinstance(who, ast.Attribute)
                else (safe_id(who.id) if isinstance(who, ast.Name) else None)
            )
            seq.append((fn.attr, aid if aid and crew.d.agent(aid) else None, [], where, False))
        if not any(t[1] for t in seq):
            continue
        made_here = {t[0] for t in seq if t[1]}
        crew.tasks[:] = [  # the factory's own definition names no agent of the crew
            t
            for t in crew.tasks
            if not (t[0] in made_here and (t[1] is None or crew.d.agent(t[1]) is None))
        ]
        crew.tasks += seq
        crew.tasks.append(("", None, [], seq[-1][3], False))  # the next crew starts afresh


def _computed_list(node: ast.expr | None) -> bool:
    """A crew's agent list the code computes at run time (a call, a sum, a comprehension, an
    unpacked element), not ``self.agents`` or a list of agents by name."""
    if node is None or isinstance(node, ast.Name | ast.Attribute):
        return False
    if isinstance(node, ast.List | ast.Tuple):
        return any(
            isinstance(e, ast.Starred)
            or not (
                isinstance(e, ast.Name | ast.Attribute)
                or (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute | ast.Name))
            )
            for e in node.elts
        )
    return True


def _config_key(call: ast.Call, attr: str) -> str | None:
    cfg = kwarg(call, "config")
    if (
        isinstance(cfg, ast.Subscript)
        and (
            (isinstance(cfg.value, ast.Attribute) and cfg.value.attr == attr)
            or (isinstance(cfg.value, ast.Name) and cfg.value.id == attr)
        )
        and isinstance(cfg.slice, ast.Constant)
    ):
        return str(cfg.slice.value)
    return None


def _edges(crew: _Crew) -> None:
    d = crew.d
    task_agent = {t[0]: t[1] for t in crew.tasks}
    prev: str | None = None
    for _tid, agent, ctx, where, human in crew.tasks:
        if agent is None or d.agent(agent) is None:
            prev = None if agent is None else prev
            continue
        a = d.agent(agent)
        assert a is not None
        if ctx:
            for c in ctx:
                src = task_agent.get(c)
                if src and src != agent:
                    a.depends_on.setdefault(src, where)
        elif crew.process == "sequential" and prev and prev != agent:
            a.depends_on.setdefault(prev, where)
        if human:
            hid = f"human_review_{agent}"[:128]
            h = d.agent(hid) or DraftAgent(
                hid,
                where,
                role="human review of the task output (Task human_input=True)",
                human=True,
            )
            if h not in d.agents:
                d.agents.append(h)
            h.verifies.setdefault(agent, where)
            why = (
                f"Task human_input=True at {where}: a person reviews the task's final answer "
                "after its tools ran, so it stays a reviewer (verifies), not a gate before a "
                "destructive tool"
            )
            if why not in a.notes:
                a.notes.append(why)
                d.notes.append(f"{agent}: {why}")
                for t in a.tools:
                    if not t.gate:
                        t.gate_note = f"{t.gate_note}; {why}" if t.gate_note else why
        prev = agent
    for a in d.agents:  # an agent whose tool runs an agent of its own spawns it
        for t in a.tools:
            inner = crew.tool_agents.get(t.ref.rsplit(".", 1)[-1] or t.name)
            if inner is not None and inner[0] != a.id:
                a.spawns.setdefault(inner[0], inner[1])
    ids = [a.id for a in d.agents if not a.human]
    for aid, where in crew.delegating.items():
        a = d.agent(aid)
        if a:
            for other in ids:
                if other != aid:
                    a.spawns.setdefault(other, where)
    if crew.process == "hierarchical" and crew.manager:
        m = d.agent(crew.manager)
        if m:
            for other in ids:
                if other != m.id:
                    m.spawns.setdefault(other, m.where)
    for aid in crew.delegating:
        a = d.agent(aid)
        if a and a.max_iterations is None:
            a.max_iterations = 20
            a.max_iterations_note = (
                f"CrewAI's default max_iter, not stated in the source ({DEFAULT_MAX_ITER_SOURCE})"
            )


def _time_bound(
    a: DraftAgent, node: ast.AST | None, env: dict[str, ast.expr], where: Where
) -> None:
    """``max_execution_time``: a note with its line (a time bound, not an iteration or cost
    bound; the manifest has no field for it)."""
    if node is None:
        return
    v, _ = literal(node, env)
    if isinstance(v, int | float) and not isinstance(v, bool):
        a.notes.append(
            f"max_execution_time={v}s at {where}: bounds the agent's run time, not its "
            "iterations, spawns or cost"
        )


def _merge_configs(crew: _Crew, code_agents: dict[str, str]) -> None:
    """An ``@agent`` method that builds its agent from a YAML entry of another name
    (``def financial_agent(self): return Agent(config=self.agents_config["financial_analyst"])``)
    is that agent: the YAML entry is its configuration, not a second agent. Its role, model,
    tools and bound are the method's agent's where the code states none; tasks and delegation
    that name the YAML key name the (first) method."""
    d = crew.d
    by_key: dict[str, list[str]] = {}
    for method, key in code_agents.items():
        if key and safe_id(key) != method:
            by_key.setdefault(safe_id(key), []).append(method)
    for key, methods in by_key.items():
        ya = d.agent(key)
        if ya is None or key in code_agents:
            continue  # no such YAML entry, or a method of that name builds it too
        for mid in methods:
            ma = d.agent(mid)
            if ma is None:
                continue
            ma.role = ma.role or ya.role
            if not ma.model and ya.model:
                ma.model, ma.model_where, ma.model_note = ya.model, ya.model_where, ya.model_note
            if ma.max_iterations is None and ya.max_iterations is not None:
                ma.max_iterations = ya.max_iterations
                ma.max_iterations_where = ya.max_iterations_where
                ma.max_iterations_note = ya.max_iterations_note
            names = {t.name for t in ma.tools}
            ma.tools.extend(t for t in ya.tools if t.name not in names)
            ma.notes.extend(n for n in ya.notes if n not in ma.notes)
        d.agents.remove(ya)
        first = methods[0]
        crew.tasks = [
            (t, first if agent == key else agent, ctx, w, h) for t, agent, ctx, w, h in crew.tasks
        ]
        if key in crew.delegating:
            crew.delegating.setdefault(first, crew.delegating.pop(key))
        if crew.manager == key:
            crew.manager = first
        d.notes.append(
            f"YAML agent {key!r} ({ya.where}) is the configuration of the code's agent "
            + ", ".join(repr(m) for m in methods)
            + ": drafted as that agent, not a second one"
        )
