"""MCP client configs (``mcpServers`` as in Claude Desktop/Cursor, VS Code ``servers``): one
agent for the client, one tool per server. A server's effect comes from its tools' annotations
when the config (or a cached ``tools/list`` beside it) gives them — ``readOnlyHint`` read,
``destructiveHint`` destructive, ``openWorldHint`` external; the most dangerous tool decides —
else from rules/tool_effects.yaml, else unknown (drafted destructive).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from harness_audit.importers import rules
from harness_audit.importers.base import fail, load_json
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, safe_id
from harness_audit.importers.probe import Probe

NAME = "mcp"
DESCRIPTION = "MCP client configs (mcpServers, VS Code servers)"
_RANK = {"read": 0, "write": 1, "external": 2, "destructive": 3}


def _servers(doc: Any) -> dict[str, Any] | None:
    if not isinstance(doc, dict):
        return None
    for key in ("mcpServers", "servers"):
        v = doc.get(key)
        if (
            isinstance(v, dict)
            and all(isinstance(s, dict) for s in v.values())
            and v
            and any(("command" in s or "url" in s or "type" in s) for s in v.values())
        ):
            return v
    mcp = doc.get("mcp")
    if isinstance(mcp, dict):
        return _servers(mcp)
    return None


def sniff(probe: Probe) -> str | None:
    """What MCP config the source is (None: not one)."""
    if _servers(probe.json) is not None:
        return "an MCP client config (mcpServers)"
    return None


def _annotated_effect(tools: Any) -> str | None:
    if not isinstance(tools, list):
        return None
    worst: str | None = None
    for t in tools:
        ann = t.get("annotations") if isinstance(t, dict) else None
        if not isinstance(ann, dict):
            return None  # one tool without annotations: the server's effect is not known
        if ann.get("readOnlyHint") is True:
            e = "read"
        elif ann.get("destructiveHint") is False:
            e = "external" if ann.get("openWorldHint") is not False else "write"
        else:
            e = "destructive"  # the MCP default of destructiveHint is true
        if worst is None or _RANK[e] > _RANK[worst]:
            worst = e
    return worst


def _line_of(raw: bytes, key: str) -> int:
    idx = raw.find(orjson.dumps(key))
    return raw[:idx].count(b"\n") + 1 if idx >= 0 else 1


def read(paths: list[Path]) -> Draft:
    """One client agent with one tool per configured server."""
    d = Draft(NAME, "mcp-client", list(paths))
    for p in paths:
        raw = p.read_bytes()[: 32 << 20]
        doc = load_json(p, raw)
        servers = _servers(doc)
        if servers is None:
            continue
        cached = None
        for sib in (p.with_name("tools.json"), p.with_name("tools-list.json")):
            if sib.is_file():
                cached = load_json(sib)
                break
        a = d.agent("mcp_client") or DraftAgent("mcp_client", Where(str(p), 1), role="MCP client")
        if a not in d.agents:
            d.agents.append(a)
        for sname, s in servers.items():
            t = DraftTool(safe_id(sname), Where(str(p), _line_of(raw, sname)))
            tools = s.get("tools") if isinstance(s.get("tools"), list) else None
            if tools is None and isinstance(cached, dict):
                c = cached.get(sname)
                tools = c.get("tools") if isinstance(c, dict) else c
            eff = _annotated_effect(tools)
            if eff:
                t.effect, t.effect_note = eff, "from the server's tool annotations"
            else:
                cmd = (
                    " ".join(
                        str(x)
                        for x in [s.get("command", ""), *(s.get("args") or [])]
                        if isinstance(x, str)
                    )
                    + " "
                    + str(s.get("url", ""))
                )
                got = rules.known_mcp_effect(cmd)
                if got:
                    t.effect, src = got
                    t.effect_note = f"rules/tool_effects.yaml: {src}"
            a.tools.append(t)
    if not d.agents:
        raise fail(
            str(paths[0]) if paths else "-",
            "no MCP servers in this config",
            expected='{"mcpServers": {name: {command|url}}}',
        )
    return d
