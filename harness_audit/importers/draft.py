"""Draft agents (from any definition format) -> the draft manifest's YAML text, failing closed.

Every field the source cannot say is written with the value that fails its check and a
``# TODO: declare …`` comment saying why; every derived field has a ``# from FILE:LINE``
comment; the ``x-import`` block lists the sources with SHA-256 and what was left unknown. A tool
whose effect is unknown drafts as ``destructive`` and ungated, so the human-gate check fails
until someone declares it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness_audit.importers import tables
from harness_audit.importers.base import EFFECTS, fail, sha256_file

UNKNOWN_EFFECT_NOTE = "unknown: assumed destructive until declared"


@dataclass
class Where:
    """The source place of a fact."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{Path(self.file).name}:{self.line}"


@dataclass
class DraftTool:
    """A tool of a drafted agent."""

    name: str
    where: Where
    effect: str | None = None
    effect_note: str = ""
    gate: bool | None = None
    gate_where: Where | None = None
    gate_note: str = ""
    stated_scope: str = ""
    """What the source states of the tool's reach (an MCP filesystem server's allowed
    directories, with their line): said in the scope TODO, not declared (issue 24)."""
    proposed: str = ""
    """An effect proposed from the tool's own code (``external (requests.post at x.py:12)``):
    a comment beside the fail-closed effect until a person declares it (issue 24, item 4)."""
    ref: str = ""
    """The dotted name the source gives the tool's function (``notes.jot_down``,
    ``pkg.tools.fn``), followed through the module's imports to its definition to propose
    its effect (:mod:`~harness_audit.importers.effects`)."""
    known_as: str = ""
    """The name by which rules/tool_effects.yaml gave the effect (:func:`known_effect`): a
    well-known tool's, which the project's own function of that name is not
    (:func:`~harness_audit.importers.effects.propose_all` takes the effect back)."""
    unseen: str = ""
    """Set on the ``unknown`` tool that stands for tools the source computes at run time: what
    the reader could not see, with its file and line."""


@dataclass
class DraftAgent:
    """An agent as a definition source says it."""

    id: str
    where: Where
    role: str | None = None
    model: str | None = None
    model_where: Where | None = None
    model_note: str = ""
    model_stated: tuple[str, str] | None = None
    """The model's (provider, family) as the source states them (a trail's events), used when
    rules/models.yaml does not know the name."""
    human: bool = False
    tools: list[DraftTool] = field(default_factory=list)
    depends_on: dict[str, Where] = field(default_factory=dict)
    spawns: dict[str, Where] = field(default_factory=dict)
    verifies: dict[str, Where] = field(default_factory=dict)
    max_iterations: int | None = None
    max_iterations_where: Where | None = None
    max_iterations_note: str = ""
    notes: list[str] = field(default_factory=list)
    placeholder: bool = False
    """Stands for agents the source computes at run time (:meth:`Draft.unseen_agents`)."""


@dataclass
class Draft:
    """What a definition source says about a pipeline."""

    format: str
    name: str
    sources: list[Path]
    agents: list[DraftAgent] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)
    """What the reader could not read (computed at run time), each ``FILE:LINE: what``; written
    in ``x-import.notes`` and printed by ``init``."""

    def with_agents(self, paths: Sequence[Path], found: str, expected: str) -> Draft:
        """This draft, once it has an agent; else the reader's refusal of its first file:
        ``found`` says what was not found, ``expected`` what would have been read."""
        if not self.agents:
            raise fail(str(paths[0]) if paths else "-", found, expected=expected)
        return self

    def agent(self, aid: str) -> DraftAgent | None:
        """The drafted agent with this id."""
        for a in self.agents:
            if a.id == aid:
                return a
        return None

    def rename(self, renamed: dict[str, str]) -> None:
        """Give agents new ids (old id -> new), in every edge too."""
        for a in self.agents:
            a.id = renamed.get(a.id, a.id)
            for edges in (a.depends_on, a.spawns, a.verifies):
                for old in [k for k in edges if k in renamed]:
                    edges[renamed[old]] = edges.pop(old)

    def absorb(self, sub: Draft) -> None:
        """Take another framework's draft of the same project in (a LangGraph agent beside
        an ADK one): its agents (an id this draft has already is prefixed with the other
        framework's name, in its edges too), sources, unknowns and notes."""
        taken = {a.id for a in self.agents}
        renamed = {a.id: safe_id(f"{sub.format}_{a.id}") for a in sub.agents if a.id in taken}
        sub.rename(renamed)
        for old, new in renamed.items():
            self.notes.append(f"{sub.format} agent {old!r} drafted as {new!r}: another has its id")
        self.agents += sub.agents
        self.sources += [p for p in sub.sources if p not in self.sources]
        for mine, theirs in (
            (self.unknown, sub.unknown),
            (self.notes, sub.notes),
            (self.unseen, sub.unseen),
        ):
            mine += [x for x in theirs if x not in mine]

    # -- fail closed on the unseen (issue 24, item 1) ----------------------------------------
    # A list the source computes at run time (tools, agents, edges, gates) is drafted as an
    # explicit unknown, so that no check passes or is n/a because the reader could not see it.

    def _saw_not(self, where: Where, text: str) -> None:
        line = f"{where.file}:{where.line}: {text}"
        if line not in self.unseen:
            self.unseen.append(line)

    def unseen_tools(
        self, agent: DraftAgent, what: str, where: Where, note: bool = True
    ) -> DraftTool:
        """``agent`` has tools the source computes at run time (``what``, e.g.
        ``tools=await client.get_tools()``): an ``unknown`` tool, assumed destructive and
        ungated until declared."""
        taken = {t.name for t in agent.tools}
        name, n = "unknown", 2
        while name in taken:
            name, n = f"unknown_{n}", n + 1
        at = f"{Path(where.file).name}:{where.line}"
        tool = DraftTool(
            name,
            where,
            unseen=f"tools loaded at run time at {at} ({what})",
            gate_note=f"tools loaded at run time at {at}: not a gate until declared",
        )
        agent.tools.append(tool)
        if note:
            self._saw_not(
                where,
                f"agent {agent.id!r}: tools computed at run time ({what}); drafted as the "
                f"tool {name!r}, assumed destructive and ungated until declared",
            )
        return tool

    def unseen_agents(self, agent: DraftAgent | None, what: str, where: Where) -> DraftAgent:
        """Agents the source computes at run time (``what``, e.g.
        ``create_supervisor(agents=build_agents())``): one placeholder agent standing for them
        (no model, an ``unknown`` tool assumed destructive), spawned by ``agent`` when given."""
        aid = safe_id(f"unknown_agents_{Path(where.file).stem}_{where.line}")
        ph = self.agent(aid)
        if ph is None:
            ph = DraftAgent(
                aid,
                where,
                role=f"agents computed at run time ({what}): unknown until declared",
                placeholder=True,
            )
            self.agents.append(ph)
            self.unseen_tools(ph, what, where, note=False)
        if agent is not None:
            agent.spawns.setdefault(aid, where)
        self._saw_not(
            where,
            f"agents not stated in the files read ({what})"
            + (f", spawned by {agent.id!r}" if agent is not None else "")
            + f"; drafted as the placeholder agent {aid!r} (no model, an unknown tool)",
        )
        return ph

    def unseen_gates(self, agent: DraftAgent, what: str, where: Where) -> None:
        """Gates the source decides at run time (``what``, e.g.
        ``compile(interrupt_before=gates)``): no tool of ``agent`` is drafted as gated by them."""
        at = f"{Path(where.file).name}:{where.line}"
        for t in agent.tools:
            if not t.gate:
                t.gate_note = (
                    f"gate decided at run time at {at} ({what}): not a gate until declared"
                )
        self._saw_not(
            where,
            f"agent {agent.id!r}: gates decided at run time ({what}); not a gate until declared",
        )

    def unseen_edges(self, agent: DraftAgent | None, what: str, where: Where) -> None:
        """Edges the source computes at run time (``what``): listed as unread."""
        self._saw_not(
            where,
            (f"agent {agent.id!r}: " if agent is not None else "")
            + f"edges computed at run time ({what}); not drafted until declared",
        )


def safe_id(name: str) -> str:
    """A manifest-valid agent id from any name."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip()).strip("_.-") or "agent"
    if not s[0].isalpha():
        s = "a_" + s
    return s[:128]


def escape(text: str) -> str:
    """The one escaping of every source text that reaches the draft, in a quoted value or a
    comment: printable ASCII and printable non-ASCII stay as they are; a quote and a backslash,
    every line break (``\\n``, ``\\r``, NEL, U+2028/9), every control and format character
    (bidi overrides included) and everything else not printable become YAML double-quoted
    escapes (``\\xXX``, ``\\uXXXX``, ``\\UXXXXXXXX``). So no source text ends a comment, a
    quoted value or a line, and a quoted value loads as the text it came from. A lone surrogate
    (possible in a Python string literal, not in YAML nor UTF-8) becomes U+FFFD."""
    out: list[str] = []
    for ch in text:
        o = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0x20 <= o < 0x7F or (o >= 0xA0 and ch.isprintable()):
            out.append(ch)
        elif 0xD800 <= o < 0xE000:
            out.append("\ufffd")
        elif o <= 0xFF:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _q(value: str) -> str:
    """A YAML double-quoted scalar that loads as ``value`` (see :func:`escape`)."""
    return f'"{escape(value)}"'


def _one_line(text: str) -> str:
    """Whitespace runs made one space, at most 300 characters (roles, notes)."""
    return " ".join(text.split())[:300]


def _line(indent: int, code: str, comment: str = "") -> str:
    """One line of the draft: ``code`` (YAML whose every source text is already :func:`_q`) and
    a ``#`` comment, whose whole text (source names and notes included) goes through
    :func:`escape` here, so nothing in it can end it."""
    pad = " " * indent
    if not comment:
        return pad + code
    text = "# " + escape(_one_line(comment))
    return f"{pad}{code}  {text}" if code else pad + text


def render(d: Draft, name: str | None = None) -> str:
    """The draft manifest as YAML text (loads with ``harness_audit.manifest.load_manifest``).

    Every source text reaches it as a :func:`_q` value or in a :func:`_line` comment (both
    :func:`escape`), so no source text changes the parsed draft beyond its own value."""
    ids = {a.id for a in d.agents}
    lines: list[str] = [
        _line(
            0,
            "",
            f"Draft manifest from {'a trail' if d.format == 'trail' else d.format + ' definitions'}"
            ", made by `harness-audit init`.",
        ),
        "# Fails closed: what the source does not say is written with the value that fails its",
        "# check and a TODO. Review every TODO before relying on a scan of this file.",
        "apiVersion: harness-audit/v1",
        "kind: Pipeline",
        "metadata:",
        f"  name: {_q(safe_id(name or d.name))}",
        "slo: {}  # TODO: declare slo.target: the source states no end-to-end success target",
        "budget:  # TODO: declare a harness-enforced cost cap: no framework states one in dollars",
        "  enforced_by: none",
        "trail:  # TODO: declare the trail: the source says nothing of an audit trail or its "
        "integrity",
        "  enabled: false",
        "  integrity: none",
        "agents:",
    ]
    cycle_members = _cycle_members(d)
    for a in d.agents:
        lines.append(_line(2, f"- id: {_q(a.id)}", f"from {a.where}"))
        if a.role:
            lines.append(_line(4, f"role: {_q(_one_line(a.role))}", f"from {a.where}"))
        if a.human:
            lines.append(_line(4, "model: human", f"from {a.where}"))
        elif a.model:
            info = tables.resolve_model(a.model)
            where = f"from {a.model_where or a.where}"
            note = f"; {a.model_note}" if a.model_note else ""
            if info.known or a.model_stated:
                provider, family, mname = (
                    (info.provider, info.family, info.name)
                    if info.known
                    else (*(a.model_stated or ("", "")), a.model)
                )
                lines.append(
                    _line(
                        4,
                        f"model: {{provider: {_q(provider)}, family: "
                        f"{_q(family)}, name: {_q(mname)}}}",
                        where + note,
                    )
                )
            else:
                lines.append(
                    _line(
                        4,
                        "",
                        f"TODO: declare model provider and family: {a.model!r} is "
                        "not in rules/models.yaml",
                    )
                )
                lines.append(
                    _line(
                        4,
                        f'model: {{provider: "unknown", family: "unknown", name: {_q(a.model)}}}',
                        where + note,
                    )
                )
        elif a.model_note:  # the source names it, but as something computed at run time
            at = f" at {a.model_where}" if a.model_where else ""
            lines.append(_line(4, "", f"TODO: declare model: set at run time{at} ({a.model_note})"))
        else:
            lines.append(
                "    # TODO: declare model: the source does not say which model "
                "(framework default or set at run time)"
            )
        for key, edges in (
            ("depends_on", a.depends_on),
            ("spawns", a.spawns),
            ("verifies", a.verifies),
        ):
            targets = [t for t in edges if t in ids and t != a.id]
            if targets:
                lines.append(f"    {key}:")
                for tgt in targets:
                    lines.append(_line(6, f"- {_q(tgt)}", f"from {edges[tgt]}"))
        if a.max_iterations is not None:
            lines.append(
                _line(
                    4,
                    f"max_iterations: {int(a.max_iterations)}",
                    f"from {a.max_iterations_where or a.where}"
                    + (f"; {a.max_iterations_note}" if a.max_iterations_note else ""),
                )
            )
        elif a.id in cycle_members:
            lines.append(
                "    max_iterations: 1  # TODO: declare the bound of this cycle: the "
                "source states none (1 keeps the draft loadable)"
            )
        if not a.human:
            lines.append(
                "    untrusted_input: true  # TODO: declare: assumed to read outside "
                "text until declared"
            )
            lines.append(
                "    stage: {}  # TODO: declare stage.reliability: the source states no reliability"
            )
            lines.append(
                "    access:  # TODO: declare where access is enforced and the scopes "
                "it needs: no framework states them"
            )
            lines.append("      enforced_at: none")
            lines.append("      scopes: []")
        if a.tools:
            lines.append("    tools:")
        for tool in a.tools:
            lines.append(_line(6, f"- name: {_q(tool.name)}", f"from {tool.where}"))
            if tool.unseen:
                lines.append(_line(8, "effect: destructive", f"TODO: declare: {tool.unseen}"))
            elif tool.effect in EFFECTS:
                lines.append(_line(8, f"effect: {tool.effect}", tool.effect_note))
            else:  # what the source says of the tool (an HTTP request's URL) goes with it
                lines.append(
                    _line(
                        8,
                        "effect: destructive",
                        f"TODO: declare the effect: {UNKNOWN_EFFECT_NOTE}"
                        + (f" ({tool.effect_note})" if tool.effect_note else ""),
                    )
                )
            if tool.proposed:
                lines.append(_line(8, "", f"proposed effect: {tool.proposed}"))
            if tool.stated_scope:
                lines.append(
                    _line(8, "", f"TODO: declare scope: the source states {tool.stated_scope}")
                )
            else:
                lines.append(
                    "        # TODO: declare scope: the source does not say which scope "
                    "the tool needs (unscoped)"
                )
            if tool.gate:
                lines.append(
                    _line(
                        8,
                        "human_gate: {required: true}",
                        f"from {tool.gate_where or tool.where}"
                        + (f"; {tool.gate_note}" if tool.gate_note else ""),
                    )
                )
            else:
                why = tool.gate_note or "the source has no human approval before this tool"
                lines.append(_line(8, "human_gate: {required: false}", f"TODO: declare: {why}"))
        for n in a.notes:
            lines.append(_line(4, "", f"note: {n}"))
    lines.append("x-import:")
    lines.append(f"  format: {_q(d.format)}")
    lines.append("  sources:")
    for p in d.sources:
        lines.append(f"    - {{file: {_q(str(p))}, sha256: {_q(sha256_file(p))}}}")
    unknown = [
        *d.unknown,
        "slo.target and every stage.reliability",
        "cost caps (budget)",
        "trail and its integrity",
        "access enforcement and scopes",
        "tool scopes",
        "untrusted input",
    ]
    lines.append("  unknown:")
    for u in unknown:
        lines.append(f"    - {_q(_one_line(u))}")
    notes = [*(f"could not read: {u}" for u in d.unseen), *d.notes]
    if notes:
        lines.append("  notes:")
        for n in notes:
            lines.append(f"    - {_q(' '.join(n.split())[:600])}")
    return "\n".join(lines) + "\n"


def _cycle_members(d: Draft) -> set[str]:
    ids = {a.id for a in d.agents}
    # an agent that runs again after itself (a loop through steps that are not agents) is in a
    # cycle of its own: its depends_on names it (never rendered as an edge)
    out: set[str] = {a.id for a in d.agents if a.id in a.depends_on or a.id in a.spawns}
    for key in ("depends_on", "spawns"):
        graph = {a.id: [t for t in getattr(a, key) if t in ids and t != a.id] for a in d.agents}
        for start in graph:
            stack, seen = list(graph[start]), set()
            while stack:
                n = stack.pop()
                if n == start:
                    out.add(start)
                    break
                if n in seen:
                    continue
                seen.add(n)
                stack.extend(graph.get(n, []))
    return out


def known_effect(tool: DraftTool, *names: str) -> None:
    """Set a tool's effect from rules/tool_effects.yaml when one of ``names`` is well known."""
    for n in (tool.name, *names):
        got = tables.known_tool_effect(n)
        if got:
            tool.effect, src = got
            tool.effect_note = f"rules/tool_effects.yaml ({n}): {src}"
            tool.known_as = n
            return
