"""AutoGen AgentChat component configs (``dump_component()`` JSON, as AutoGen Studio saves and
its galleries list them), read as data.

A component is ``{provider, component_type, config}``. An agent (``AssistantAgent`` and the
like) is one agent: ``name``, ``description``/``system_message`` as its role, the model from its
``model_client``'s ``config.model``; its tools from ``tools`` and ``workbench`` (a
``StaticWorkbench``'s tools by ``name``; an ``McpWorkbench`` one tool per server, its effect from
rules/tool_effects.yaml when the server is well known; a tool of unknown kind an ``unknown``
tool), every tool of unknown effect (destructive until declared); ``handoffs`` are spawns. A
``UserProxyAgent`` is a person. A ``CodeExecutorAgent`` runs code (a tool of unknown effect),
a ``MultimodalWebSurfer`` drives a browser (likewise). A team: ``RoundRobinGroupChat`` takes its
participants in order (each depends on the one before, round after round: each is bounded by
the team's ``max_turns`` or a ``MaxMessageTermination``, else the bound is asked for);
``SelectorGroupChat`` and ``MagenticOneGroupChat`` choose the next speaker with the team's own
model: drafted as an agent ``<team>_selector`` that spawns every participant; ``Swarm`` moves
by the participants' handoffs. An AutoGen Studio gallery (``components.teams``) is read team by
team (an id two teams share is suffixed). Nothing in a config is a human gate: AgentChat has
no approval before a tool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from harness_audit.importers import tables
from harness_audit.importers.base import as_dict, as_list, load_json, read_document
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, safe_id
from harness_audit.importers.probe import Probe

NAME = "autogen"
DESCRIPTION = "AutoGen AgentChat component configs (JSON)"
MAX_DEPTH = 32
"""Teams nested in teams deeper than this are read as placeholders."""
_SELECTING = ("SelectorGroupChat", "MagenticOneGroupChat")
_ACTS = {
    "CodeExecutorAgent": "code_executor",
    "MultimodalWebSurfer": "web_surfer",
    "FileSurfer": "file_surfer",
}
"""Agents that act by their kind (no tool list): the tool each is drafted with."""


def _kind(c: Any) -> str:
    return str(as_dict(c).get("provider", "")).rsplit(".", 1)[-1]


def _is_component(doc: Any) -> bool:
    d = as_dict(doc)
    return str(d.get("provider", "")).startswith("autogen") and d.get("component_type") in (
        "team",
        "agent",
    )


def _is_gallery(doc: Any) -> bool:
    comps = as_dict(as_dict(doc).get("components"))
    return isinstance(comps.get("teams"), list) and all(
        _is_component(t) for t in comps["teams"][:50]
    )


def sniff(probe: Probe) -> str | None:
    """What AutoGen document the source is (None: not one)."""
    if probe.first_char != "{":
        return None
    doc = probe.json
    if _is_component(doc):
        return f"an AutoGen AgentChat {as_dict(doc)['component_type']} component config"
    if _is_gallery(doc):
        return "an AutoGen Studio component gallery"
    return None


class _Reader:
    def __init__(self, d: Draft, f: str, raw: bytes) -> None:
        self.d, self.f, self.raw = d, f, raw

    def where(self, name: str) -> Where:
        """The line of the first ``"name": "<name>"`` in the file (1 when not found)."""
        idx = self.raw.find(b'"name": ' + orjson.dumps(name))
        return Where(self.f, self.raw[:idx].count(b"\n") + 1 if idx >= 0 else 1)

    def new_id(self, name: str) -> str:
        base = aid = safe_id(name)
        n = 2
        while self.d.agent(aid) is not None:
            aid, n = f"{base}_{n}", n + 1
        return aid

    def component(self, c: Any, depth: int = 0) -> list[str]:
        """The agents a participant is (a team: its own), drafted; their ids."""
        cfg = as_dict(as_dict(c).get("config"))
        ctype = as_dict(c).get("component_type")
        if ctype == "team" and depth < MAX_DEPTH:
            return self.team(c, depth)
        if ctype == "agent":
            return [self.agent(c)]
        what = f"a participant of kind {_kind(c) or '?'}"
        return [self.d.unseen_agents(None, what, self.where(str(cfg.get("name", "")))).id]

    def agent(self, c: Any) -> str:
        cfg = as_dict(as_dict(c).get("config"))
        kind = _kind(c)
        name = str(cfg.get("name") or kind or "agent")
        a = DraftAgent(self.new_id(name), self.where(name))
        role = cfg.get("description") or cfg.get("system_message")
        a.role = role if isinstance(role, str) and role.strip() else None
        self.d.agents.append(a)
        if kind == "UserProxyAgent":
            a.human = True
            return a.id
        self.model(a, cfg.get("model_client"))
        for t in as_list(cfg.get("tools")):
            self.tool(a, t)
        for wb in (
            as_list(cfg.get("workbench"))
            if isinstance(cfg.get("workbench"), list)
            else [cfg.get("workbench")]
        ):
            if wb is not None:
                self.workbench(a, wb)
        if kind in _ACTS:
            dt = DraftTool(_ACTS[kind], a.where)
            dt.effect_note = f"a {kind} acts by its kind: unknown: assumed destructive"
            a.tools.append(dt)
        for h in as_list(cfg.get("handoffs")):
            target = h if isinstance(h, str) else as_dict(as_dict(h).get("config")).get("target")
            target = target or as_dict(h).get("target")
            if isinstance(target, str) and target:
                a.spawns.setdefault(safe_id(target), a.where)
        return a.id

    def model(self, a: DraftAgent, client: Any) -> None:
        cfg = as_dict(as_dict(client).get("config"))
        m = cfg.get("model") or cfg.get("azure_deployment")
        if isinstance(m, str) and m:
            a.model, a.model_where = m, a.where
            return
        a.model_where = a.where
        a.model_note = (
            f"{_kind(client)} states no model: unknown until declared"
            if client
            else "no model_client: unknown until declared"
        )

    def tool(self, a: DraftAgent, t: Any) -> None:
        cfg = as_dict(as_dict(t).get("config"))
        name = cfg.get("name")
        if not isinstance(name, str) or not name:
            self.d.unseen_tools(a, f"a tool of kind {_kind(t) or '?'}", a.where)
            return
        dt = DraftTool(name, self.where(name))
        if "source_code" in cfg:
            dt.effect_note = "its code is in the config (source_code): unknown until declared"
        a.tools.append(dt)

    def workbench(self, a: DraftAgent, wb: Any) -> None:
        kind = _kind(wb)
        cfg = as_dict(as_dict(wb).get("config"))
        if kind == "StaticWorkbench":
            for t in as_list(cfg.get("tools")):
                self.tool(a, t)
            return
        if kind == "McpWorkbench":
            params = as_dict(as_dict(cfg.get("server_params")).get("config")) or as_dict(
                cfg.get("server_params")
            )
            parts = [str(params.get("command") or params.get("url") or "")]
            parts += [str(x) for x in as_list(params.get("args")) if isinstance(x, str)]
            cmd = " ".join(p for p in parts if p)
            dt = DraftTool(safe_id(f"mcp_{cmd.split()[-1]}") if cmd else "mcp_server", a.where)
            got = tables.known_mcp_effect(cmd) if cmd else None
            if got:
                dt.effect, src = got
                dt.effect_note = f"rules/tool_effects.yaml: {src}"
            a.tools.append(dt)
            return
        self.d.unseen_tools(a, f"a workbench of kind {kind or '?'}", a.where)

    def team(self, c: Any, depth: int) -> list[str]:
        cfg = as_dict(as_dict(c).get("config"))
        kind = _kind(c)
        groups = [self.component(p, depth + 1) for p in as_list(cfg.get("participants"))]
        ids = [i for g in groups for i in g]
        label = cfg.get("name") or as_dict(c).get("label")
        where = self.where(str(cfg["name"])) if cfg.get("name") else Where(self.f, 1)
        bound = _bound(cfg)
        if kind in _SELECTING:
            sel = DraftAgent(self.new_id(f"{label or kind}_selector"), where)
            sel.role = f"{kind}: chooses the next speaker with its own model"
            self.model(sel, cfg.get("model_client"))
            for i in ids:
                sel.spawns.setdefault(i, where)
            self.d.agents.append(sel)
            return [sel.id]
        if kind == "RoundRobinGroupChat":
            for prev, nxt in zip(groups, groups[1:] + groups[:1], strict=True):
                for child in nxt:
                    a = self.d.agent(child)
                    for p in prev:
                        if a is not None and p != child:
                            a.depends_on.setdefault(p, where)
            for i in ids:
                a = self.d.agent(i)
                if a is not None and bound is not None:
                    a.max_iterations, a.max_iterations_where = bound[0], where
                    a.max_iterations_note = bound[1]
        elif kind != "Swarm":
            self.d.unseen_edges(None, f"a team of kind {kind or '?'}", where)
        return ids


def _bound(cfg: dict[str, Any]) -> tuple[int, str] | None:
    """The turns a team's rounds are bounded by, and what says so (None: unbounded)."""
    turns = cfg.get("max_turns")
    if isinstance(turns, int) and not isinstance(turns, bool) and turns > 0:
        return turns, "the team's max_turns"
    found: list[int] = []
    todo = [cfg.get("termination_condition")]
    while todo and len(found) < 100:
        t = as_dict(todo.pop())
        tcfg = as_dict(t.get("config"))
        if _kind(t) == "MaxMessageTermination" and isinstance(tcfg.get("max_messages"), int):
            found.append(tcfg["max_messages"])
        elif _kind(t) == "OrTerminationCondition":  # any one ends it: the least bound holds
            todo.extend(as_list(tcfg.get("conditions")))
    return (min(found), "MaxMessageTermination(max_messages) of the team") if found else None


def read(paths: list[Path]) -> Draft:
    """Agents and teams of AutoGen component configs (a gallery: every team)."""
    d = Draft(NAME, NAME, list(paths))
    for p in paths:
        raw = read_document(p)
        doc = load_json(p, raw)
        r = _Reader(d, str(p), raw)
        if _is_component(doc):
            r.component(doc)
        elif _is_gallery(doc):
            for t in as_dict(doc["components"])["teams"]:
                r.component(t)
    return d.with_agents(
        paths,
        "no agent found in the AutoGen configs",
        'a team or agent component ({"provider": ..., "component_type": "team"})',
    )
