"""MCP client configs (``mcpServers`` as in Claude Desktop/Cursor/Gemini CLI, VS Code
``servers``, Zed ``context_servers``, Codex ``config.toml`` ``mcp_servers``, Continue's YAML
``mcpServers`` list): one agent for the client, one tool per server. A server's effect comes
from rules/tool_effects.yaml, else is unknown (drafted destructive). Its tools' annotations,
when the config (or a cached ``tools/list`` beside it) gives them — ``readOnlyHint`` read,
``destructiveHint`` destructive, ``openWorldHint`` external; the most dangerous tool decides —
are the server's own hints, which the MCP specification says a client must not rely on from a
server it does not trust: they are a proposed effect (a comment), the effect only when they say
destructive.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import orjson

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import tables
from harness_audit.importers.base import fail, load_json
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, safe_id
from harness_audit.importers.probe import Probe
from harness_audit.manifest.yamlsafe import parse_yaml

NAME = "mcp"
DESCRIPTION = "MCP client configs (mcpServers, VS Code servers, Zed, Codex, Continue)"
_RANK = {"read": 0, "write": 1, "external": 2, "destructive": 3}
ANNOTATIONS_SOURCE = (
    "hints the server gives of itself, which clients must not rely on from a server they do "
    "not trust: https://modelcontextprotocol.io/specification/2025-06-18/server/tools"
    "#tool-annotations; declare it to use it"
)


def _is_server(s: Any) -> bool:
    """A server entry: a command to start, or a URL to reach."""
    return isinstance(s, dict) and (
        isinstance(s.get("command"), str) or isinstance(s.get("url"), str)
    )


SERVER_KEYS = ("mcpServers", "servers", "context_servers", "mcp_servers")
"""Where a client config keeps its servers: ``mcpServers`` (Claude Desktop, Cursor, Gemini CLI,
Continue's YAML as a list), VS Code ``servers``, Zed ``context_servers`` (settings.json), Codex
``mcp_servers`` (config.toml)."""


def _entry(s: Any) -> Any:
    """A server entry in one shape: Zed's ``"command": {"path", "args", "env"}`` flattened to
    ``command`` and ``args``; anything else as it is."""
    if isinstance(s, dict) and isinstance(s.get("command"), dict):
        cmd = s["command"]
        return {**s, "command": cmd.get("path"), "args": cmd.get("args") or []}
    return s


def _server_map(v: Any) -> dict[str, Any] | None:
    """A map of server name to entry: a map as it is, or a list of entries each with its
    ``name`` (Continue's YAML)."""
    if isinstance(v, list) and v and all(isinstance(s, dict) and "name" in s for s in v):
        v = {str(s["name"]): s for s in v}
    if not isinstance(v, dict) or not v or not all(isinstance(s, dict) for s in v.values()):
        return None
    servers = {str(k): _entry(s) for k, s in v.items()}
    return (
        servers
        if any(("command" in s or "url" in s or "type" in s) for s in servers.values())
        else None
    )


def _servers(doc: Any) -> dict[str, Any] | None:
    """The server map of a config: one of :data:`SERVER_KEYS`, ``mcp.servers``, or a flat map
    of servers as a Claude Code plugin's ``.mcp.json`` is (every value a server)."""
    if not isinstance(doc, dict):
        return None
    for key in SERVER_KEYS:
        v = _server_map(doc.get(key))
        if v is not None:
            return v
    mcp = doc.get("mcp")
    if isinstance(mcp, dict):
        return _servers(mcp)
    if doc and all(_is_server(s) for s in doc.values()):
        return doc  # a flat map (a Claude Code plugin's .mcp.json)
    return None


FILESYSTEM_SERVERS = ("server-filesystem", "mcp-server-filesystem", "filesystem-mcp")
"""Packages of the filesystem MCP server, whose arguments after the package are the only
directories it may reach."""


def allowed_dirs(words: list[str]) -> list[str] | None:
    """The directories a filesystem MCP server may reach, from its command line (the
    arguments after its package), or None when the command is no filesystem server."""
    for i, w in enumerate(words):
        pkg = w.split("@", 2)[1] if w.startswith("@") and w.count("@") > 1 else w
        if any(pkg.endswith(x) or f"/{x}" in pkg for x in FILESYSTEM_SERVERS):
            return [x for x in words[i + 1 :] if not x.startswith("-")]
    return None


def scope_of(words: list[str], where: str) -> str:
    """What a server's command line states of its reach (empty when nothing)."""
    dirs = allowed_dirs(words)
    if dirs is None:
        return ""
    if not dirs:
        return (
            f"a filesystem server with no directory in its arguments ({where}): it takes "
            "its roots from the client at run time"
        )
    listed = ", ".join(repr(x) for x in dirs)
    return f"a filesystem server allowed only {listed} by its arguments ({where})"


def strip_jsonc(raw: bytes) -> bytes:
    """JSON with comments (VS Code ``mcp.json``) -> JSON: ``//`` and ``/* */`` comments and
    trailing commas outside strings are blanked; newlines are kept so lines still match."""
    out = bytearray()
    i, n, in_str = 0, len(raw), False
    while i < n:
        c = raw[i : i + 1]
        if in_str:
            out += c
            if c == b"\\" and i + 1 < n:
                out += raw[i + 1 : i + 2]
                i += 1
            elif c == b'"':
                in_str = False
        elif c == b'"':
            in_str = True
            out += c
        elif raw[i : i + 2] == b"//":
            while i < n and raw[i : i + 1] != b"\n":
                i += 1
            continue
        elif raw[i : i + 2] == b"/*":
            end = raw.find(b"*/", i + 2)
            end = n if end < 0 else end + 2
            out += b"\n" * raw[i:end].count(b"\n")
            i = end
            continue
        elif c in (b"}", b"]"):
            j = len(out) - 1
            while j >= 0 and bytes(out[j : j + 1]) in (b" ", b"\t", b"\r", b"\n"):
                j -= 1
            if j >= 0 and bytes(out[j : j + 1]) == b",":
                out[j : j + 1] = b" "
            out += c
        else:
            out += c
        i += 1
    return bytes(out)


def _load(p: Path, raw: bytes) -> Any:
    """The config document: JSON (with comments, as VS Code's), TOML (Codex's config.toml) or
    YAML (Continue's), each read as data with the house's bounds."""
    if p.suffix == ".toml":
        try:
            return tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise fail(str(p), f"not TOML: {e}", expected="a TOML MCP client config") from None
    if p.suffix in (".yaml", ".yml"):
        return parse_yaml(raw, str(p)).data
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return orjson.loads(strip_jsonc(raw))
    except orjson.JSONDecodeError:
        return load_json(p, raw)  # the error names the file and the line


def sniff(probe: Probe) -> str | None:
    """What MCP config the source is (None: not one)."""
    doc = probe.json
    suffix = probe.path.suffix
    if doc is None and suffix in (".yaml", ".yml"):
        doc = probe.yaml
    elif doc is None and suffix in (".json", ".jsonc", ".toml") and probe.path.is_file():
        try:
            doc = _load(probe.path, probe.path.read_bytes()[: 4 << 20])
        except (HarnessAuditError, OSError):
            doc = None
    servers = _servers(doc)
    if servers is not None:
        if isinstance(doc, dict) and servers is doc:
            return "an MCP server map (a Claude Code plugin .mcp.json)"
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
    """The line a server's name is first written on: as a JSON key (``"name"``), a TOML table
    (``[mcp_servers.name]``) or a YAML list entry (``name: Name``); else 1."""
    k = key.encode()
    for needle in (orjson.dumps(key), b"." + k + b"]", b"name: " + k):
        idx = raw.find(needle)
        if idx >= 0:
            return raw[:idx].count(b"\n") + 1
    return 1


def read(paths: list[Path]) -> Draft:
    """One client agent with one tool per configured server."""
    d = Draft(NAME, "mcp-client", list(paths))
    for p in paths:
        raw = p.read_bytes()[: 32 << 20]
        doc = _load(p, raw)
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
            words = [
                str(x) for x in [s.get("command", ""), *(s.get("args") or [])] if isinstance(x, str)
            ]
            t.stated_scope = scope_of(words, str(t.where))
            eff = _annotated_effect(tools)
            if eff:  # the server's own hints: proposed, never the effect (unless the worst)
                t.proposed = f"{eff}, from the server's tool annotations ({ANNOTATIONS_SOURCE})"
            if eff == "destructive":
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
                got = tables.known_mcp_effect(cmd)
                if got:
                    t.effect, src = got
                    t.effect_note = f"rules/tool_effects.yaml: {src}"
            a.tools.append(t)
    return d.with_agents(
        paths,
        "no MCP servers in this config",
        '{"mcpServers": {name: {command|url}}}',
    )
