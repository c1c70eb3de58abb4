"""``init --from-trail DIR``: a draft manifest from what a trail shows ran (issue 25, item 5).

The agents that acted, the models their calls name, the tools they called with the effects the
events carry, the spawn and verification edges, and the approvals seen: drafted through the same
:class:`~harness_audit.importers.draft.Draft` as every definition source, so it fails closed the
same way. A tool whose effect no event states (``unknown``) drafts as ``destructive`` with a
TODO; a tool is drafted as gated only when every call of it seen was approved by a person
before it ran; no budget, SLO, trail integrity, access or scope is claimed (the trail shows none
of them). Only what ran is drafted: an agent or tool that did not run in the trail is not in it,
and the draft says so in ``x-import.unknown``. An agent named by events that ``collect`` marks
as a stand-in (``x_agent_from``) is drafted with a TODO saying so: it may be only the service's
name.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness_audit.errors import Diagnostic, UsageError
from harness_audit.importers import draft as dr
from harness_audit.importers.base import EFFECTS

# the order of severity of effects, for a tool seen with more than one: the worst is drafted
_SEVERITY = {"read": 0, "write": 1, "external": 2, "destructive": 3}


@dataclass
class _Tool:
    where: dr.Where
    effects: Counter[str] = field(default_factory=Counter)
    spans: list[str] = field(default_factory=list)


def draft_from_trail(folder: Path) -> dr.Draft:
    """The :class:`Draft` of what the trail at ``folder`` (a trail folder or segment files)
    shows: refuses (exit 2) a folder with no trail segment or no event."""
    from msgspec import UNSET

    from harness_audit.trail.events import (
        HUMAN_PREFIX,
        Approval,
        ModelCall,
        RunEnd,
        RunStart,
        Spawn,
        ToolCall,
        Verification,
    )
    from harness_audit.trail.reader import ReadStats, read_events
    from harness_audit.trail.store import trail_files

    files = trail_files([folder])
    if not files:
        raise UsageError(
            Diagnostic(
                str(folder),
                "no trail segment (*.jsonl) to draft from",
                expected="a trail folder, e.g. one written by `harness-audit trail import`",
            )
        )
    stats = ReadStats()
    agents: dict[str, dr.DraftAgent] = {}
    models: dict[str, Counter[tuple[str, str, str]]] = {}
    tools: dict[str, dict[str, _Tool]] = {}
    span_agent: dict[str, str] = {}
    approved: set[str] = set()
    pipelines: Counter[str] = Counter()
    spawns: list[tuple[str, str, dr.Where]] = []
    verifies: list[tuple[str, str, dr.Where]] = []
    names: dict[str, str] = {}  # trail agent name -> drafted id
    acted: Counter[str] = Counter()  # trail agent name -> its events
    stand_in: Counter[str] = Counter()  # of them, naming it only as a stand-in (x_agent_from)
    approvers: set[str] = set()

    def agent(name: str, where: dr.Where) -> dr.DraftAgent:
        a = agents.get(name)
        if a is None:
            aid = dr.safe_id(name)
            taken = {x.id for x in agents.values()}
            base, n = aid, 2
            while aid in taken:
                aid, n = f"{base}_{n}", n + 1
            names[name] = aid
            a = agents[name] = dr.DraftAgent(aid, where)
        return a

    for file, line, ev in read_events(files, stats):
        where = dr.Where(file, line)
        if isinstance(ev, RunStart):
            pipelines[ev.pipeline] += 1
        if isinstance(ev, (RunStart, RunEnd)):  # the run's own bounds: no agent acting
            continue
        if ev.agent.startswith(HUMAN_PREFIX):
            if isinstance(ev, Approval) and ev.verdict == "approved":
                approved.add(ev.target)
            continue
        a = agent(ev.agent, where)
        acted[ev.agent] += 1
        if ev.x_agent_from is not UNSET:
            stand_in[ev.agent] += 1
        span_agent.setdefault(ev.span, ev.agent)
        if isinstance(ev, ModelCall):
            m = ev.model
            models.setdefault(ev.agent, Counter())[(m.provider, m.family, m.name)] += 1
            if a.model_where is None:
                a.model_where = where
        elif isinstance(ev, ToolCall):
            t = tools.setdefault(ev.agent, {}).setdefault(ev.tool, _Tool(where))
            t.effects[ev.effect] += 1
            t.spans.append(ev.span)
        elif isinstance(ev, Spawn):
            agent(ev.child, where)
            spawns.append((ev.agent, ev.child, where))
        elif isinstance(ev, Approval):
            if ev.approver.startswith(HUMAN_PREFIX) and ev.verdict == "approved":
                approved.add(ev.target)
                approvers.add(ev.approver)
        elif isinstance(ev, Verification):
            verifies.append((ev.agent, ev.target, where))
    if stats.events == 0:
        raise UsageError(
            Diagnostic(
                str(folder),
                "the trail has no event that decodes: nothing to draft from",
                expected="a trail with events; `harness-audit verify` says what is wrong",
            )
        )
    name = pipelines.most_common(1)[0][0] if pipelines else folder.name
    d = dr.Draft("trail", name, _sources(folder, files))
    d.agents = list(agents.values())
    for trail_name, a in agents.items():
        if stand_in[trail_name]:
            a.notes.append(
                f"TODO: a stand-in, not an agent seen: {stand_in[trail_name]} of its "
                f"{acted[trail_name]} event(s) carry x_agent_from (collect wrote them before "
                "the agent span above them arrived, naming the service or the trace's root): "
                "they may be another agent's, and what is drafted from them with them"
            )
        if names[trail_name] != trail_name:
            a.notes.append(
                f"the trail names this agent {trail_name!r}: map it with `trail import --map` "
                f"(agents: {{{trail_name!r}: {a.id!r}}}) so its events count for this id"
            )
        seen = models.get(trail_name)
        if seen:
            (provider, family, model), n = seen.most_common(1)[0]
            a.model = model
            a.model_note = f"seen in {n} model call(s) of the trail"
            if provider != "unknown" and family != "unknown":
                a.model_stated = (provider, family)
            if len(seen) > 1:
                a.model_note += f"; {len(seen)} models seen: {', '.join(x[2] for x in seen)}"
        for tname, t in tools.get(trail_name, {}).items():
            a.tools.append(_draft_tool(tname, t, approved))
    for parent, child, where in spawns:
        agents[parent].spawns.setdefault(names[child], where)
    for verifier, target, where in verifies:
        of = span_agent.get(target)
        if of is not None and of != verifier:
            agents[verifier].verifies.setdefault(names[of], where)
    d.unknown = [
        "agents, tools and edges that did not run in this trail (only what ran is drafted)",
        "every tool's effect not stated by an event (drafted destructive)",
        "max_iterations of every agent",
    ]
    d.notes.append(
        f"drafted from the trail {folder} ({stats.events} events in {len(files)} segment(s)): "
        "what ran, not what is declared; review before relying on a scan of it"
    )
    if stats.skipped:
        d.notes.append(f"{stats.skipped} line(s) of the trail did not decode and were not read")
    if approvers:
        d.notes.append(f"approvers seen: {', '.join(sorted(approvers))}")
    return d


def _draft_tool(name: str, t: _Tool, approved: set[str]) -> dr.DraftTool:
    tool = dr.DraftTool(name, t.where)
    stated = {e: n for e, n in t.effects.items() if e in EFFECTS}
    calls = sum(t.effects.values())
    if stated and "unknown" not in t.effects:
        worst = max(stated, key=lambda e: _SEVERITY[e])
        tool.effect = worst
        tool.effect_note = f"seen in the trail as {worst} ({calls} call(s))"
        if len(stated) > 1:
            tool.effect_note += f"; effects seen: {', '.join(sorted(stated))} (the worst kept)"
    else:  # fails closed: destructive with a TODO, unless rules/tool_effects.yaml knows it
        dr.known_effect(tool)
    gated = sum(1 for s in t.spans if s in approved)
    if calls and gated == calls:
        tool.gate = True
        tool.gate_note = f"seen: each of its {calls} call(s) approved by a person"
    elif gated:
        tool.gate_note = f"{gated} of its {calls} call(s) seen approved by a person, not every one"
    else:
        tool.gate_note = f"none of its {calls} call(s) in the trail was approved by a person"
    return tool


def _sources(folder: Path, files: list[Path]) -> list[Path]:
    """The files the draft was made from: the trail's segments and its import.json."""
    out = [f for f in files if f.is_file()]
    summary = folder / "import.json"
    if summary.is_file():
        out.append(summary)
    return out


def source_formats(folder: Path) -> list[str]:
    """The formats ``import.json`` says the trail was imported from (empty for a trail of our
    own, or when it is absent or unreadable)."""
    try:
        data = json.loads((folder / "import.json").read_text(encoding="utf-8"))
        return sorted({str(s.get("format")) for s in data.get("sources", [])})
    except (OSError, ValueError, AttributeError, TypeError):
        return []
