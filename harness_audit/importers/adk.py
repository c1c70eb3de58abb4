"""Google ADK agents: agent config YAML (``agent_class``, ``name``, ``model``, ``instruction``,
``sub_agents`` config files, ``tools`` incl. MCP toolsets with ``tool_filter``) and Python
modules (:mod:`~harness_audit.importers.adk_python`). ``sub_agents`` are spawns;
``require_confirmation`` on a tool is a human gate.

A ``config_path`` sub-agent (``sub_agents`` or ``AgentTool``) is followed: confined to the
project (the folder of the files given; a path that leaves it, or a file that is not there or
not an ADK config, drafts an unknown agent saying why, never nothing), at most
:data:`MAX_CONFIGS` files, and every file read is in the draft's provenance hashes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness_audit.importers import adk_python, tables
from harness_audit.importers.base import as_dict
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, known_effect, safe_id
from harness_audit.importers.mcp import scope_of
from harness_audit.importers.probe import Probe
from harness_audit.manifest.yamlsafe import YamlDocument, load_yaml

NAME = "adk"
DESCRIPTION = "Google ADK agents (config YAML, Python)"

MAX_CONFIGS = 500
"""At most this many agent config files are read from one draft (sub-agent files included)."""


def _is_adk(y: Any) -> bool:
    return (
        isinstance(y, dict)
        and isinstance(y.get("name"), str)
        and ("agent_class" in y or ("instruction" in y and "model" in y) or "sub_agents" in y)
    )


def sniff(probe: Probe) -> str | None:
    """What ADK file the source is (None: not ADK)."""
    if probe.path.suffix in (".yaml", ".yml") and _is_adk(probe.yaml):
        return "a Google ADK agent config"
    return adk_python.looks_like(probe)


def _line(doc: YamlDocument, *path: Any) -> int:
    m = doc.mark(tuple(path))
    return m.line if m else 1


_MCP_TOOLSETS = ("MCPToolset", "McpToolset")
_MCP_PARAMS = (
    "stdio_server_params",
    "stdio_connection_params",
    "sse_connection_params",
    "streamable_http_connection_params",
    "connection_params",
)


def _mcp_command(args: dict[str, Any]) -> str:
    """The command line or URL of an ADK MCP toolset's connection params."""
    for key in _MCP_PARAMS:
        cp = as_dict(args.get(key))
        if not cp:
            continue
        sp = as_dict(cp.get("server_params")) or cp
        if isinstance(sp.get("url"), str):
            return str(sp["url"])
        parts = [sp.get("command"), *(sp.get("args") or [])]
        return " ".join(str(x) for x in parts if isinstance(x, str))
    return ""


def _mcp_name(cmd: str) -> str:
    """A tool name for an MCP toolset without ``tool_filter``: its server package or host."""
    words = cmd.split()
    if len(words) == 1 and "://" in words[0]:
        return words[0].split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    pkgs = [w for w in words[1:] if not w.startswith("-")]
    if not pkgs:
        return "mcp_toolset"
    pkg = pkgs[0]
    if pkg.startswith("@") and "/" in pkg:
        pkg = pkg.split("/", 1)[1]
    return Path(pkg.split("@", 1)[0]).stem or "mcp_toolset"


def _unread(d: Draft, cname: str, where: Where, why: str) -> None:
    """A sub-agent whose config is not read: drafted as an unknown agent (its model a TODO, an
    ``unknown`` tool assumed destructive) saying why, so no check passes for want of it."""
    if d.agent(cname) is not None:
        return
    stub = DraftAgent(cname, where, placeholder=True)
    stub.notes.append(why)
    d.agents.append(stub)
    d.unseen_tools(stub, f"the tools of a sub-agent not read: {why}", where, note=False)
    d.unknown.append(f"sub-agent {cname}: {why}")
    d.notes.append(f"{cname}: {why} ({where})")


def _agent_ref(
    p: Path, ref: Any, d: Draft, root: Path, where: Where
) -> tuple[str, Path | None] | None:
    """(agent id, config file to read or None) of a ``{config_path: …}`` or ``{code: …}``;
    a config outside ``root``, missing or not an ADK config is drafted unknown here (None
    file)."""
    if not isinstance(ref, dict):
        return None
    cp = ref.get("config_path")
    if isinstance(cp, str):
        child = p.parent / cp
        cname = safe_id(Path(cp).stem)
        try:
            inside = child.resolve().is_relative_to(root)
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            _unread(d, cname, where, f"config_path {cp!r} leaves the project: not read")
            return cname, None
        try:
            cy = load_yaml(child).data
        except Exception:
            _unread(d, cname, where, f"config_path {cp!r} could not be read")
            return cname, None
        if not _is_adk(cy):
            _unread(d, cname, where, f"config_path {cp!r} is not an ADK agent config")
            return cname, None
        return safe_id(cy["name"]), child
    code = ref.get("code")
    if isinstance(code, str) and code:
        return safe_id(code.rsplit(".", 1)[-1]), None
    return None


def _loop(
    doc: YamlDocument,
    f: str,
    y: dict[str, Any],
    a: DraftAgent,
    order: list[str],
    deps: list[tuple[str, str, Where]],
    bounds: list[tuple[list[str], int, Where, str]],
) -> None:
    """A ``LoopAgent`` config: its sub-agents run in order, again and again (the first after
    the last: a cycle); ``max_iterations`` bounds the rounds, said with what it does not bound;
    without it the loop runs until a sub-agent escalates and the draft asks for its bound."""
    where = Where(f, _line(doc, "agent_class"))
    if order:
        deps.append((order[0], order[-1], where))  # one sub-agent: a loop on itself
    n = y.get("max_iterations")
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        bounds.append(
            (
                [a.id, *order],
                n,
                Where(f, _line(doc, "max_iterations")),
                f"LoopAgent max_iterations={n}: at most {n} rounds of the loop; it does not "
                "bound tokens, cost, time or the model calls of a round",
            )
        )
    else:
        a.notes.append(
            f"LoopAgent without max_iterations at {where}: it loops until a sub-agent "
            "escalates (no bound stated)"
        )


def _root(paths: list[Path]) -> Path:
    """The project the sources are in: the deepest folder holding every one of them."""
    parents = [str(p.resolve().parent) for p in paths] or ["."]
    return Path(os.path.commonpath(parents))


def read(paths: list[Path]) -> Draft:
    """Agents from ADK config files (sub-agent files are read when given or beside) and ADK
    Python modules."""
    d = Draft(NAME, "adk", list(paths))
    root = _root(paths)
    adk_python.read_modules([p for p in paths if p.suffix == ".py"], d, root)
    todo = [p for p in paths if p.suffix != ".py"]
    done: set[Path] = set()
    pending_deps: list[tuple[str, str, Where]] = []
    bounds: list[tuple[list[str], int, Where, str]] = []
    while todo:
        p = todo.pop(0)
        rp = p.resolve()
        if rp in done or not p.is_file():
            continue
        if len(done) >= MAX_CONFIGS:
            d.notes.append(f"more than {MAX_CONFIGS} agent config files: {p} and later not read")
            d.unknown.append(f"agent configs past the first {MAX_CONFIGS}")
            break
        done.add(rp)
        if rp not in {x.resolve() for x in d.sources}:
            d.sources.append(p)  # a sub-agent file read is in the provenance hashes
        doc = load_yaml(p)
        y = doc.data
        if not _is_adk(y):
            continue
        f = str(p)
        aid = safe_id(y["name"])
        a = d.agent(aid) or DraftAgent(aid, Where(f, _line(doc, "name")))
        if a not in d.agents:
            d.agents.append(a)
        a.role = str(y.get("description") or "") or None
        if isinstance(y.get("model"), str):
            a.model, a.model_where = y["model"], Where(f, _line(doc, "model"))
        for i, t in enumerate(y.get("tools") or []):
            name = t.get("name") if isinstance(t, dict) else t
            if not isinstance(name, str):
                continue
            where = Where(f, _line(doc, "tools", i))
            args: dict[str, Any] = as_dict(t.get("args")) if isinstance(t, dict) else {}
            short = name.rsplit(".", 1)[-1]
            if short == "AgentTool":
                child_ref = _agent_ref(p, args.get("agent"), d, root, where)
                if child_ref is not None:
                    cname, child = child_ref
                    if child is not None:
                        todo.append(child)
                    a.spawns.setdefault(cname, where)
                    a.tools.append(DraftTool(cname, where))
                    continue
            gated = (isinstance(t, dict) and t.get("require_confirmation") is True) or args.get(
                "require_confirmation"
            ) is True
            conditional = (
                isinstance(args.get("require_confirmation"), str)
                and args.get("require_confirmation") != "false"
            )
            filt = args.get("tool_filter")
            mcp_cmd = _mcp_command(args) if short in _MCP_TOOLSETS else None
            if isinstance(filt, list) and filt:
                names = [str(x) for x in filt]
            elif short in _MCP_TOOLSETS:
                names = [_mcp_name(mcp_cmd or "")]
            elif short in ("FunctionTool", "LongRunningFunctionTool") and isinstance(
                args.get("func"), str
            ):
                names = [str(args["func"]).rsplit(".", 1)[-1]]
            else:
                names = [short]
            func = args.get("func")
            fn_ref = (
                str(func)
                if short in ("FunctionTool", "LongRunningFunctionTool") and isinstance(func, str)
                else name
                if "." in name and short not in _MCP_TOOLSETS
                else ""
            )
            for n in names:
                dt = DraftTool(safe_id(n), where)
                dt.ref = fn_ref
                known_effect(dt)
                if mcp_cmd:
                    dt.stated_scope = scope_of(mcp_cmd.split(), str(where))
                if dt.effect is None and mcp_cmd:
                    got = tables.known_mcp_effect(mcp_cmd)
                    if got:
                        dt.effect, src = got
                        dt.effect_note = f"rules/tool_effects.yaml: {src}"
                if gated:
                    dt.gate, dt.gate_note = True, "require_confirmation: true"
                elif conditional:
                    dt.gate_note = (
                        "require_confirmation is a callable: a conditional gate, "
                        "drafted as not required"
                    )
                a.tools.append(dt)
        prev: str | None = None
        cls = str(y.get("agent_class", "")).rsplit(".", 1)[-1]
        sequential = cls in ("SequentialAgent", "LoopAgent")
        order: list[str] = []
        for i, s in enumerate(y.get("sub_agents") or []):
            where = Where(f, _line(doc, "sub_agents", i))
            ref = _agent_ref(p, s, d, root, where)
            if ref is None:
                continue
            cname, child = ref
            if child is not None:
                todo.append(child)
            elif d.agent(cname) is not None:
                pass
            else:  # code: a Python agent not among the files read: fail closed
                _unread(d, cname, where, f"defined in Python code ({s.get('code')!s}), not read")
            a.spawns.setdefault(cname, where)
            if sequential and prev is not None:
                pending_deps.append((cname, prev, where))
            prev = cname
            order.append(cname)
        if cls == "LoopAgent":
            _loop(doc, f, y, a, order, pending_deps, bounds)
        for key in ("disallow_transfer_to_parent", "disallow_transfer_to_peers"):
            if y.get(key) is True:
                a.notes.append(f"{key}: true")
    for child_id, dep, where in pending_deps:
        ca = d.agent(child_id)
        if ca is not None:
            ca.depends_on.setdefault(dep, where)
    for ids, rounds, at, why in bounds:
        for aid in ids:
            ba = d.agent(aid)
            if ba is not None and ba.max_iterations is None:
                ba.max_iterations, ba.max_iterations_where, ba.max_iterations_note = rounds, at, why
    return d.with_agents(
        paths,
        "no ADK agent config found",
        "YAML with name, model, instruction",
    )
