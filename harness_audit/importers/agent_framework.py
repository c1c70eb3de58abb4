"""Microsoft Agent Framework declarative YAML (its Python: :mod:`agent_framework_py`): agents
(``kind: Prompt``/``Agent``, ``model.id``,
``tools`` incl. MCP tools with ``allowedTools``; ``approvalMode: always_require`` is a gate) and
workflows (``kind: Workflow``: ``depends_on`` is what the actions' dispatch states, the agents
that may have run last before each one through the ``ConditionGroup`` branches, ``GotoAction``
targets and ``End…`` actions; a goto to a target that is computed or absent is an edge not
stated, named with its line). A workflow's own tool calls (``InvokeMcpTool``,
``InvokeFunctionTool``: no model decides them) are the tools of an agent named for the
workflow, ``<name>_actions``; ``requireApproval: true`` is their gate, ``false`` says there is
none, a PowerFx expression is decided at run time.

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

from harness_audit.importers import agent_framework_py
from harness_audit.importers.base import ImportFormatError
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.manifest.yamlsafe import load_yaml

NAME = "agent-framework"
DESCRIPTION = "Microsoft Agent Framework agents and workflows (declarative YAML or Python)"


KINDS = (
    "Prompt", "Agent", "Workflow", "AdaptiveDialog", "OnConversationStart", "GotoAction",
    "ConditionGroup", "InvokeAzureAgent", "InvokeMcpTool", "InvokeFunctionTool",
    "HttpRequestAction", "EndWorkflow", "EndConversation", "EndDialog", "CancelAllDialogs",
    "CancelDialog", "Foreach", "RepeatUntil", "SetVariable",
)  # fmt: skip
"""The action and document kinds the reader compares, in the case the samples write them:
the runtime reads a kind whatever its case (``kind: WORKFLOW``, ``kind: setvariable``)."""
_CANON = {k.lower(): k for k in KINDS}


def _canon(node: Any) -> Any:
    """``node`` with every ``kind`` it holds in the case of :data:`KINDS` (in place; the YAML
    loader bounds the nesting, as for :func:`_walk_actions`)."""
    if isinstance(node, dict):
        kind = node.get("kind")
        if isinstance(kind, str) and kind.lower() in _CANON:
            node["kind"] = _CANON[kind.lower()]
        for v in node.values():
            _canon(v)
    elif isinstance(node, list):
        for v in node:
            _canon(v)
    return node


def _is_af(y: Any) -> bool:
    kind = y.get("kind") if isinstance(y, dict) else None
    return (
        isinstance(y, dict)
        and isinstance(kind, str)
        and _CANON.get(kind.lower()) in ("Prompt", "Agent", "Workflow", "AdaptiveDialog")
        and ("instructions" in y or "model" in y or "trigger" in y or "actions" in y)
    )


def sniff(probe: Probe) -> str | None:
    """What Agent Framework file the source is (None: not one)."""
    if probe.path.suffix in (".yaml", ".yml") and _is_af(probe.yaml):
        return "a Microsoft Agent Framework declarative file"
    return agent_framework_py.looks_like(probe)


TOOL_ACTIONS: dict[str, str | None] = {
    "InvokeMcpTool": "toolName",
    "InvokeFunctionTool": "functionName",
    "HttpRequestAction": None,
}
"""Workflow actions that call a tool themselves, and the field that names the tool (None: the
action, by its id: an HTTP request the workflow makes to a URL it states or computes)."""


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
        elif isinstance(agent, str) and str(node.get("kind", "")).lower().startswith("invoke"):
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
    field = TOOL_ACTIONS[str(action["kind"])]
    named = action.get(field) if field is not None else None
    literal = isinstance(named, str) and not named.startswith("=")
    name = named if literal else str(action.get("id") or action["kind"])
    dt = DraftTool(str(name), where)
    known_effect(dt, str(action.get("serverLabel") or ""))
    if field is None:
        url = str(action.get("url") or "?")[:120]
        dt.effect_note = (
            f"{action['kind']}: an HTTP {str(action.get('method') or 'GET')[:10]} request the "
            f"workflow makes itself, to {url}"
            + (" (computed at run time)" if url.startswith("=") else "")
        )
    elif not literal:
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


END_ACTIONS = ("EndWorkflow", "EndConversation", "EndDialog", "CancelAllDialogs", "CancelDialog")
"""Actions after which the workflow runs nothing more."""

LOOP_ACTIONS = ("Foreach", "ForEach", "RepeatUntil")
"""Actions whose ``actions`` may run again after they end (a loop over their body)."""

MAX_FLOW_NODES = 20_000
"""At most this many actions are followed in one workflow's dispatch; past it the edges are
unknown."""


class _Flow:
    """A workflow's actions as a control-flow graph: each action a node with the actions that
    may run next (the next one in its list, a ``ConditionGroup``'s branches and its fall-through,
    a ``GotoAction``'s target, nothing after an ``End…`` action), and the agents an action
    invokes. ``depends_on`` is then what the dispatch states: the agents that may have run last
    before each agent, on some path (a fixed point over the graph)."""

    def __init__(self, d: Draft, doc: Any, f: str, agents_of: Any) -> None:
        self.d, self.doc, self.f, self.agents_of = d, doc, f, agents_of
        self.succ: list[list[int]] = []
        self.ids: list[list[str]] = []
        self.where: list[Where] = []
        self.labels: dict[str, int] = {}
        self.gotos: list[tuple[int, Any, tuple[Any, ...]]] = []
        self.too_big = False

    def at(self, path: tuple[Any, ...]) -> Where:
        m = self.doc.mark(path)
        return Where(self.f, m.line if m else 1)

    def node(self, path: tuple[Any, ...]) -> int:
        self.succ.append([])
        self.ids.append([])
        self.where.append(self.at(path))
        return len(self.succ) - 1

    def block(self, actions: Any, path: tuple[Any, ...], cont: int | None) -> int | None:
        """The entry of a list of actions that goes on to ``cont`` after its last."""
        if not isinstance(actions, list):
            return cont
        nxt = cont
        for i in range(len(actions) - 1, -1, -1):
            nxt = self.action(actions[i], (*path, i), nxt)
        return nxt

    def action(self, a: Any, path: tuple[Any, ...], cont: int | None) -> int | None:
        if not isinstance(a, dict):
            return cont
        if len(self.succ) >= MAX_FLOW_NODES:
            self.too_big = True
            return cont
        n = self.node(path)
        if isinstance(a.get("id"), str):
            self.labels.setdefault(a["id"], n)
        kind = str(a.get("kind") or "")
        named = self.agents_of(a, path)
        if named:
            self.ids[n] = named
            loop = (
                a.get("input", {}).get("externalLoop") if isinstance(a.get("input"), dict) else None
            )
            if isinstance(loop, dict):  # the agent runs again, with a person's input, while …
                when = " ".join(str(loop.get("when", "")).split())
                at = self.at((*path, "input", "externalLoop"))
                for aid in named:
                    ag = self.d.agent(aid)
                    if ag is not None:
                        ag.depends_on.setdefault(aid, at)
                        ag.notes.append(
                            f"externalLoop at {at}: runs again with the user's input while "
                            f"{when or 'a condition'} holds; that condition is no bound"
                        )
        if kind == "GotoAction":
            self.gotos.append((n, a.get("actionId"), path))
            return n
        if kind in END_ACTIONS:
            return n
        branches: list[int | None] = []
        if kind == "ConditionGroup":
            for i, c in enumerate(a.get("conditions") or []):
                if isinstance(c, dict):
                    branches.append(
                        self.block(c.get("actions"), (*path, "conditions", i, "actions"), cont)
                    )
            if "elseActions" in a:
                branches.append(self.block(a.get("elseActions"), (*path, "elseActions"), cont))
            else:
                branches.append(cont)  # no condition holds: the next action
        elif kind in LOOP_ACTIONS:
            branches.append(self.block(a.get("actions"), (*path, "actions"), n))
            branches.append(cont)
        else:  # any other action holding actions: they may run, then the next action
            for k, v in a.items():
                if (
                    k != "conditions"
                    and isinstance(v, list)
                    and any(isinstance(x, dict) and "kind" in x for x in v)
                ):
                    branches.append(self.block(v, (*path, k), cont))
            branches.append(cont)
        self.succ[n] = [b for b in dict.fromkeys(branches) if b is not None]
        return n

    def resolve_gotos(self) -> None:
        for n, target, path in self.gotos:
            if isinstance(target, str) and target in self.labels:
                self.succ[n] = [self.labels[target]]
            else:
                self.d.unseen_edges(
                    None,
                    f"GotoAction to {target!r}, which names no action of the workflow",
                    self.at(path),
                )
                self.d.unknown.append(f"where the GotoAction at {self.at(path)} goes")

    def edges(self, entry: int | None) -> None:
        """``depends_on`` from the agents that may have run last before each agent."""
        if entry is None:
            return
        start = "\x00start"
        last: list[dict[str, None]] = [{} for _ in self.succ]
        last[entry] = {start: None}
        todo = [entry]
        while todo:
            n = todo.pop()
            out = dict.fromkeys(self.ids[n]) if self.ids[n] else last[n]
            for s in self.succ[n]:
                grown = [x for x in out if x not in last[s]]
                if grown:
                    last[s].update(dict.fromkeys(grown))
                    todo.append(s)
        for n, ids in enumerate(self.ids):
            for aid in ids:
                a = self.d.agent(aid)
                if a is None:
                    continue
                for p in last[n]:
                    if p != start:  # itself: a loop back to it (its bound is asked for)
                        a.depends_on.setdefault(p, self.where[n])


def _workflow(
    d: Draft, doc: Any, f: str, y: dict[str, Any], flow: list[tuple[str, str, tuple[Any, ...]]]
) -> None:
    """A workflow's agents, its PowerFx dispatches, its edges as the actions dispatch them
    (conditions, ``GotoAction``, ``End…``: :class:`_Flow`) and its ``maxTurns``."""

    def line(path: tuple[Any, ...]) -> int:
        m = doc.mark(path)
        return m.line if m else 1

    sets: dict[str, list[str]] = {}
    for kind, text, _ in flow:
        if kind == "set":
            var, _, value = text.partition("\x00")
            sets.setdefault(var, []).append(value)
    mine: list[str] = []
    done: dict[tuple[Any, ...], list[str]] = {}

    def agents_of(action: dict[str, Any], path: tuple[Any, ...]) -> list[str]:
        """The agent ids an action invokes (drafted here, once), none for other actions."""
        if path not in done:
            done[path] = invoked(action, path)
        return done[path]

    def invoked(action: dict[str, Any], path: tuple[Any, ...]) -> list[str]:
        agent = action.get("agent")
        name: str | None = None
        if isinstance(agent, dict) and isinstance(agent.get("name"), str):
            name = agent["name"]
        elif isinstance(agent, str) and str(action.get("kind", "")).lower().startswith("invoke"):
            name = agent
        if name is None:
            return []
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
            if aid not in mine:
                mine.append(aid)
        return ids

    for kind, _, path in flow:  # drafted in document order
        if kind == "agent":
            node: Any = y
            for k in path:
                node = node[k]
            agents_of(node, path)
    g = _Flow(d, doc, f, agents_of)
    trigger = y.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("actions"), list):
        root: tuple[Any, ...] = ("trigger", "actions")
        actions = trigger["actions"]
    else:
        root, actions = ("actions",), y.get("actions")
    entry = g.block(actions, root, None)
    g.resolve_gotos()
    if g.too_big:
        d.unseen_edges(None, f"more than {MAX_FLOW_NODES} actions", Where(f, 1))
        d.unknown.append(f"the edges of the workflow {Path(f).name} past {MAX_FLOW_NODES} actions")
    g.edges(entry)
    reached = {p for p in done if p[: len(root)] == root}
    for path, ids in done.items():  # agents invoked outside the trigger's actions
        if path not in reached:
            for aid in ids:
                a = d.agent(aid)
                d.unseen_edges(
                    a, "an agent invoked outside the workflow's actions", Where(f, line(path))
                )
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
    """Agents (and workflow order) from declarative YAML files, or from Python modules
    (:mod:`~harness_audit.importers.agent_framework_py`), or both (the Python's agents taken
    in; a module with none is said in the draft's unread list)."""
    py = [p for p in paths if p.suffix == ".py"]
    if py and len(py) == len(paths):
        return agent_framework_py.read_modules(paths)
    code: Draft | None = None
    unread = ""
    if py:  # a declarative sample's main.py beside its YAML: the agents its workflow invokes
        try:
            code = agent_framework_py.read_modules(py)
        except ImportFormatError as e:
            unread = f"{', '.join(str(f) for f in py[:3])}: {e}"
    d = _read_yaml([p for p in paths if p.suffix != ".py"], code)
    if code is not None:
        d.absorb(code)
    if unread:
        d.unseen.append(unread)
    return d


def _define(a: DraftAgent, code: Draft | None) -> bool:
    """Fill an agent a workflow invokes by name from the Python that builds it (its model,
    role, tools and edges), taking it out of ``code``; False when the Python has none."""
    src = code.agent(a.id) if code is not None else None
    if code is None or src is None:
        return False
    a.role = a.role or src.role
    a.model, a.model_note, a.model_where = src.model, src.model_note, src.model_where
    a.tools += src.tools
    for k, w in src.spawns.items():
        a.spawns.setdefault(k, w)
    for k, w in src.depends_on.items():
        a.depends_on.setdefault(k, w)
    a.notes.append(f"defined in {Path(src.where.file).name}:{src.where.line}")
    code.agents.remove(src)
    return True


def _read_yaml(paths: list[Path], code: Draft | None = None) -> Draft:
    """Agents (and workflow order) from declarative YAML files; an agent a workflow invokes
    by name is filled from ``code`` (the Python beside it) when that builds it."""
    d = Draft(NAME, "agent-framework", list(paths))
    defined: set[str] = set()  # agents whose own definition (kind: Prompt) is read
    for p in paths:
        doc = load_yaml(p)
        y = _canon(doc.data)
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
                defined.add(own.id)
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
        defined.add(aid)
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
    for a in d.agents:  # invoked by name: its tools are in its own definition, not read
        if a.id not in defined and not a.placeholder and not a.human and not _define(a, code):
            d.unseen_tools(
                a,
                "a workflow invokes the agent by name; its model and tools are in its own "
                "definition (a Foundry agent or a kind: Prompt file), which was not given",
                a.where,
            )
    return d.with_agents(
        paths,
        "no Agent Framework agents found",
        "kind: Prompt/Agent/Workflow YAML",
    )
