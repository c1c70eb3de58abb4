"""Format detection from content (``--from auto``), near misses named, and
:func:`describe_foreign` for the commands that are given a foreign file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness_audit.import_formats import DEFINITIONS, TRACES, names
from harness_audit.importers import crewai, langfuse, swe_agent
from harness_audit.importers.base import fail
from harness_audit.importers.probe import Probe
from harness_audit.importers.registry import DEFINITION_FORMATS, TRACE_FORMATS, source_files


@dataclass
class Detected:
    """The format a source was detected as, and what it looks like."""

    path: Path
    format: str
    looks_like: str


def _keys(d: dict[str, Any]) -> str:
    return ", ".join(list(map(str, d))[:5])


Want = Literal["trace", "definition"]

# Python (and other source) frameworks `init` does not read: (import pattern, what it is).
# Checked only after every reader's sniff said no, so a framework that gains a reader is read.
_FOREIGN_CODE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pat, re.M), what)
    for pat, what in (
        (
            r"^\s*(from|import)\s+(autogen_agentchat|autogen_core|autogen_ext|autogen|ag2)\b",
            "an AutoGen (AG2) module",
        ),
        (r"^\s*(from|import)\s+semantic_kernel\b", "a Semantic Kernel module"),
        (
            r"^\s*(from|import)\s+agent_framework\b",
            "a Microsoft Agent Framework Python module that builds no agent (init reads "
            "Agent(...), ChatAgent(...) and <client>.as_agent(...) calls)",
        ),
        (r"^\s*(from|import)\s+smolagents\b", "a smolagents module"),
        (r"^\s*(from|import)\s+llama_index\b", "a LlamaIndex module"),
        (r"^\s*(from|import)\s+pydantic_ai\b", "a Pydantic AI module"),
        (r"^\s*(from|import)\s+haystack\b", "a Haystack module"),
        (r"^\s*(from|import)\s+dspy\b", "a DSPy module"),
        (
            r"^\s*(from|import)\s+(agno|phi)\.",
            "an Agno (phidata) module that builds no Agent or Team",
        ),
        (r"^\s*(from|import)\s+camel\b", "a CAMEL module"),
        (r"^\s*(from|import)\s+metagpt\b", "a MetaGPT module"),
        (r"^\s*(from|import)\s+(letta|letta_client)\b", "a Letta module"),
        (r"^\s*(from|import)\s+strands\b", "a Strands Agents module"),
        (r"^\s*(from|import)\s+(swarm)\b", "an OpenAI Swarm module"),
        (
            r"^\s*(from|import)\s+langchain(_core|_community)?\.agents\b",
            "a LangChain agents module (AgentExecutor, no LangGraph graph)",
        ),
        (r"^\s*(from|import)\s+(crewai)\b", "a CrewAI module that builds no agent, task or crew"),
        (r"^\s*(from|import)\s+agents\b", "an OpenAI Agents SDK module that builds no Agent"),
        (r"^\s*(from|import)\s+(langgraph)\b", "a LangGraph module with no graph init reads"),
        (r"""["']@mastra/core""", "a Mastra module (TypeScript)"),
        (r"""["']@openai/agents""", "an OpenAI Agents SDK module (TypeScript)"),
        (r"""["']@langchain/langgraph""", "a LangGraph.js module (TypeScript)"),
        (r"""["']@voltagent/""", "a VoltAgent module (TypeScript)"),
        (r"""from\s+["']ai["']""", "a Vercel AI SDK module (TypeScript)"),
        (r"^\s*using\s+Microsoft\.SemanticKernel\b", "a Semantic Kernel module (C#)"),
        (r"^\s*using\s+(AutoGen|Microsoft\.AutoGen)\b", "an AutoGen module (C#)"),
        (
            r"^\s*using\s+Microsoft\.(Agents|Extensions\.AI)\b",
            "a Microsoft Agent Framework module (C#)",
        ),
    )
)
_CODE_SUFFIXES = {
    ".py": "Python",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cs": "C#",
    ".java": "Java",
    ".go": "Go",
}
_IMPORTS = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)


_NOT_IMPORTED = (
    "a Gemini CLI saved chat",
    "a list of chat messages",
    "a chat history",
    "a Langfuse API trace list",
)
"""What :func:`_identify` names that holds no run to import (its nearest says what does)."""


def _chat_history(j: Any) -> tuple[str, str, str] | None:
    """(what, family, nearest) for a bare chat history, which states no run, time or usage: a
    Gemini CLI saved chat (``/chat save``: Gemini API ``Content`` objects, alone or under
    ``history``), or a list of chat messages (``role`` and ``content``)."""
    items = j.get("history") if isinstance(j, dict) else j
    if not isinstance(items, list) or not items:
        return None
    head = [m for m in items[:20] if isinstance(m, dict)]
    if len(head) < min(len(items), 20):
        return None
    if all(m.get("role") in ("user", "model") and isinstance(m.get("parts"), list) for m in head):
        return (
            "a Gemini CLI saved chat (a checkpoint: Gemini API history with no times or usage)",
            "trace",
            "gemini-cli (import the session's chat recording, "
            "~/.gemini/tmp/<project hash>/chats/session-*.json)",
        )
    if not all(isinstance(m.get("role"), str) and "content" in m for m in head):
        return None
    saved = (
        "the file the agent saved its run in (a mini-swe-agent *.traj.json, a Codex rollout, "
        "a Claude Code or Gemini CLI session), or its OTLP export"
    )
    if isinstance(j, list):
        return (
            "a list of chat messages (role and content) with no run, time or usage",
            "trace",
            saved,
        )
    if "trajectory" in j or "messages" in j:
        return None  # a reader's own shape, not a bare history
    return (
        "a chat history (role and content, under history) with no trajectory, run, time or usage",
        "trace",
        f"swe-agent (the whole .traj SWE-agent wrote, its trajectory and info), or {saved}",
    )


def _foreign_code(probe: Probe) -> str | None:
    """What a source file of a framework `init` does not read is, or None."""
    lang = _CODE_SUFFIXES.get(probe.path.suffix.lower())
    if lang is None:
        return None
    t = probe.text_head
    for pat, what in _FOREIGN_CODE:
        if pat.search(t):
            return what if "(" in what.split("module", 1)[-1] else f"{what} ({lang})"
    if lang == "Python":
        mods = sorted({(m1 or m2).split(".")[0] for m1, m2 in _IMPORTS.findall(t)} - {"__future__"})
        imports = f" (it imports {', '.join(mods[:6])})" if mods else ""
        return f"a Python module that uses none of the agent frameworks init reads{imports}"
    return f"a {lang} source file, which init does not read (it reads Python, YAML and JSON)"


def _foreign_document(j: Any, y: Any, probe: Probe) -> tuple[str, str] | None:
    """(what, family) of a JSON or YAML document of a tool or format harness-audit does not
    read, or None."""
    doc = j if j is not None else y
    if probe.path.suffix.lower() == ".prompty":
        return "a Prompty file (a prompt with its model settings, no agents)", "definition"
    if not isinstance(doc, dict):
        return None
    if str(doc.get("provider", "")).startswith("autogen"):
        return "an AutoGen AgentChat component config", "definition"
    if isinstance(doc.get("components"), dict) and isinstance(doc["components"].get("teams"), list):
        return "an AutoGen Studio component gallery", "definition"
    if doc.get("object") == "assistant" and "instructions" in doc:
        return "an OpenAI Assistants API assistant object", "definition"
    if str(doc.get("type", "")).endswith("_agent") and ("instructions" in doc or "model" in doc):
        return "a Semantic Kernel declarative agent spec", "definition"
    if str(doc.get("class", "")) in ("CodeAgent", "ToolCallingAgent", "MultiStepAgent"):
        return "a smolagents saved agent (agent.json)", "definition"
    if doc.get("kind") == "app" and isinstance(doc.get("app"), dict):
        return "a Dify app DSL export", "definition"
    data = doc.get("data")
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "edges" in data:
        return "a Langflow flow export", "definition"
    if isinstance(doc.get("nodes"), list) and isinstance(doc.get("connections"), dict):
        return "an n8n workflow export", "definition"
    if isinstance(doc.get("nodes"), list) and isinstance(doc.get("edges"), list):
        return "a Flowise (or other node-graph) flow export", "definition"
    res = doc.get("Resources")
    if isinstance(res, dict) and any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::Bedrock::Agent")
        for r in res.values()
    ):
        return "an AWS CloudFormation template with Bedrock agents", "definition"
    return None


def _nearest(family: str, want: Want, nearest: str) -> str:
    """The nearest format of the kind asked for: never a trace format for a definition nor the
    reverse."""
    if family in ("own", want):
        return nearest
    if family == "trace":  # a definition was asked for
        return (
            "none: this is a trace, not agent definitions; import it with `harness-audit "
            f"trail import` (traces: {names(TRACES)})"
        )
    if family == "definition":  # a trace was asked for
        return (
            "none: these are agent definitions, not a trace; `harness-audit init` drafts a "
            f"manifest from the ones it reads ({names(DEFINITIONS)})"
        )
    return nearest


def looks_like(probe: Probe, want: Want = "trace") -> tuple[str, str]:
    """(what a file that no importer accepts looks like, the nearest supported format of the
    kind ``want``ed: a trace format for ``trail import``, a definition format for ``init``;
    never one of the other kind)."""
    what, family, nearest = _identify(probe, want)
    return what, _nearest(family, want, nearest)


def _not_read(what: str) -> str:
    """The nearest definition format of a framework ``init`` does not read: none, said so."""
    return (
        f"none: init does not read {what}; declare its agents in a manifest by hand "
        f"(init reads: {names(DEFINITIONS)})"
    )


def _identify(probe: Probe, want: Want) -> tuple[str, str, str]:
    """(what, family: trace | definition | own | unknown, nearest format of that family)."""
    if probe.gzip and probe.head[:2] == b"\x1f\x8b":
        return "a gzip file that does not decompress", "trace", "otlp (gzip JSON Lines)"
    code = _foreign_code(probe)
    if code is not None:
        return (
            code,
            "definition",
            _not_read(code)
            if "none of" not in code
            else (f"{names(DEFINITIONS)} (a module that builds agents with one of them)"),
        )
    j = probe.json
    first = probe.first_line_json
    if isinstance(first, dict) and {"v", "seq", "prev", "hash"} <= set(first):
        return "a harness-audit trail (already sealed)", "own", "none: use `harness-audit verify`"
    if isinstance(first, dict) and {"kind", "run", "agent"} <= set(first):
        return (
            "plain harness-audit trail events (unsealed)",
            "own",
            "none: use `harness-audit trail seal`",
        )
    if (
        isinstance(j, dict)
        and isinstance(j.get("data"), list)
        and j["data"]
        and isinstance(j["data"][0], dict)
        and "traceID" in j["data"][0]
    ):
        return "a Jaeger JSON export", "trace", "otlp (export OTLP instead of Jaeger JSON)"
    if (
        isinstance(j, list)
        and j
        and isinstance(j[0], dict)
        and "traceId" in j[0]
        and "id" in j[0]
        and "spanId" not in j[0]
    ):
        return "a Zipkin v2 JSON span array", "trace", "otlp (export OTLP instead of Zipkin)"
    if isinstance(j, dict) and ("resourceSpans" in j):
        return "an OTLP document without spans", "trace", "otlp"
    if langfuse.is_trace_list(j):
        return (
            "a Langfuse API trace list (its observations named by id only)",
            "trace",
            "langfuse (each trace whole: GET /api/public/traces/{id}, or the UI's export)",
        )
    if isinstance(j, dict) and isinstance(j.get("observations"), list):
        return "Langfuse observations without their trace", "trace", "langfuse"
    y = probe.yaml if j is None and first is None else None
    foreign = _foreign_document(j, y, probe)
    if foreign is not None:
        return foreign[0], foreign[1], _not_read(foreign[0])
    if (isinstance(j, dict) and "apiVersion" in j) or (
        isinstance(y, dict) and y.get("kind") == "Pipeline"
    ):
        return "a harness-audit manifest", "own", "none: use `harness-audit scan`"
    chat = _chat_history(j)
    if chat is not None:
        return chat
    if isinstance(j, dict):
        return (
            f"a JSON object with keys {_keys(j)}",
            "unknown",
            "otlp, langfuse or langsmith" if want == "trace" else f"{_json_definitions()}",
        )
    if isinstance(j, list):
        return "a JSON array of other records", "trace", "otlp (a JSON array of span records)"
    if isinstance(first, dict):
        return f"JSON Lines of objects with keys {_keys(first)}", "trace", "otlp (JSON Lines)"
    if b"\x00" in probe.head[:4096]:
        return (
            "binary data",
            "unknown",
            "otlp (OTLP/JSON, not protobuf)"
            if want == "trace"
            else f"{names(DEFINITIONS)} (definitions are YAML, JSON or Python text)",
        )
    if isinstance(y, dict):
        return (
            f"a YAML document with keys {_keys(y)}",
            "definition",
            "crewai, adk or agent-framework (YAML definitions)",
        )
    return (
        "text that is no known trace or definition format",
        "unknown",
        "otlp (JSON or JSON Lines)"
        if want == "trace"
        else f"{names(DEFINITIONS)} (YAML, JSON or Python)",
    )


def identify(path: Path, want: Want) -> tuple[str, str, str, str] | None:
    """(what, family, nearest format, shape) of a file :func:`describe_foreign` does not name,
    for a refusal that still names what it looks like (issue 25, item 6); shape is ``json``
    (JSON or JSON Lines), ``manifest`` (a JSON object with a manifest's keys) or ``text``;
    None when it cannot be read."""
    try:
        probe = Probe.of(path)
    except Exception:
        return None
    what, family, nearest = _identify(probe, want)
    j = probe.json
    if isinstance(j, dict) and {"apiVersion", "kind", "metadata", "agents"} & set(j):
        shape = "manifest"
    elif j is not None or probe.first_line_json is not None:
        shape = "json"
    else:
        shape = "text"
    return what, family, nearest, shape


def _json_definitions() -> str:
    return f"{names(DEFINITIONS)} (an MCP config or agent card is JSON)"


def trace(path: Path, fmt: str = "auto", probe: Probe | None = None) -> Detected:
    """Detect (or confirm) the trace format of ``path``."""
    probe = probe or Probe.of(path)
    found: list[tuple[str, str]] = []
    for name, f in TRACE_FORMATS.items():
        what = f.sniff(probe)
        if what:
            found.append((name, what))
    if fmt != "auto":
        if fmt not in TRACE_FORMATS:
            raise fail(
                str(path),
                f"unknown trace format {fmt!r}",
                expected=", ".join(["auto", *TRACE_FORMATS]),
            )
        for name, what in found:
            if name == fmt:
                return Detected(path, name, what)
        if not found and probe.unparsed:  # --from is not overridden by what detection read:
            # the reader reads it under the same bounds and says what it is or is not
            return Detected(path, fmt, f"a document read as {fmt} ({probe.unparsed})")
    if found and fmt == "auto":
        return Detected(path, found[0][0], found[0][1])
    if not found and probe.bounded:
        raise fail(
            str(path),
            f"too large to read whole: {probe.unparsed}",
            expected="a smaller document, or JSON Lines (read a record at a time)",
        )
    for d in DEFINITION_FORMATS.values():
        what = d.sniff(probe)
        if what:
            raise fail(
                str(path),
                f"looks like {what}: agent definitions, not a trace",
                expected="a trace; draft a manifest from it with `harness-audit init`",
            )
    if found:
        raise fail(
            str(path),
            f"looks like {found[0][1]}, not {fmt}",
            expected=f"--from {found[0][0]} (or --from auto)",
        )
    what, nearest = looks_like(probe, "trace")
    raise fail(
        str(path),
        f"no supported trace format: looks like {what}",
        expected=f"nearest supported format: {nearest}",
    )


def definition(paths: list[Path], fmt: str = "auto") -> tuple[str, list[Path]]:
    """Detect (or confirm) the definition format of the sources; (format, files)."""
    return definition_groups(paths, fmt)[0]


def definition_groups(paths: list[Path], fmt: str = "auto") -> list[tuple[str, list[Path]]]:
    """The definition formats of the sources, each with its files: the main one first (the
    one most files are in); with ``auto``, every other format found too (a project whose
    agents are built with two frameworks is drafted whole, never one framework's half)."""
    files = source_files(paths)
    if not files:
        raise fail("-", "no definition files given", expected="framework definition files")
    hits: dict[str, list[Path]] = {}
    kinds: dict[Path, str] = {}
    for p in files:
        probe = Probe.of(p)
        for name, f in DEFINITION_FORMATS.items():
            what = f.sniff(probe)
            if what:
                hits.setdefault(name, []).append(p)
                kinds[p] = what
                break
    if fmt != "auto":
        if fmt not in DEFINITION_FORMATS:
            raise fail(
                str(files[0]),
                f"unknown definition format {fmt!r}",
                expected=", ".join(["auto", *DEFINITION_FORMATS]),
            )
        if fmt in hits:
            return [(fmt, hits[fmt])]
        got = next(iter(hits), None)
        what = kinds[hits[got][0]] if got else _what_for_init(Probe.of(files[0]))
        raise fail(
            str(files[0]),
            f"looks like {what}, not {fmt}",
            expected=f"--from {got}" if got else f"{fmt} definitions",
        )
    if not hits:
        what, nearest = _refusal_for_init(files)
        raise fail(
            str(files[0]),
            f"no supported definition format: looks like {what}",
            expected=f"nearest supported format: {nearest}",
        )
    name = max(hits, key=lambda n: len(hits[n]))
    if name == "crewai":
        agents = [p for p in hits[name] if kinds[p] == "a CrewAI agents.yaml"]
        tasks = [p for p in hits[name] if kinds[p] == "a CrewAI tasks.yaml"]
        code = [p for p in hits[name] if kinds[p].endswith("(Python)")]
        if agents and not tasks and not code:
            raise fail(
                str(agents[0]),
                "looks like a CrewAI agents.yaml without tasks.yaml",
                expected="nearest supported format: crewai (give agents.yaml with its "
                "tasks.yaml and crew.py, or --from crewai to draft from agents.yaml "
                "alone)",
            )
    return [(name, hits[name])] + [(n, fs) for n, fs in hits.items() if n != name]


def _what_for_init(probe: Probe) -> str:
    """What a file given to ``init`` is: a trace format by name when it is one."""
    for f in TRACE_FORMATS.values():
        what = f.sniff(probe)
        if what:
            return f"{what} (a trace)"
    return looks_like(probe, "definition")[0]


def _refusal_for_init(files: list[Path]) -> tuple[str, str]:
    """(what the files given to ``init`` look like, the nearest definition format): a trace is
    named as one and sent to ``trail import``; the first file that looks like anything is
    named (a folder's README is passed over for its code)."""
    best: tuple[str, str] | None = None
    for p in files[:200]:
        probe = Probe.of(p)
        for f in TRACE_FORMATS.values():
            what = f.sniff(probe)
            if what:
                return what, _nearest("trace", "definition", "")
        what, family, nearest = _identify(probe, "definition")
        if family in ("definition", "trace", "own"):
            return what, _nearest(family, "definition", nearest)
        best = best or (what, _nearest(family, "definition", nearest))
    return best or ("nothing", names(DEFINITIONS))


def describe_foreign(path: Path) -> str | None:
    """One line: what a foreign file is and the command that converts it; None if not foreign."""
    try:
        probe = Probe.of(path)
    except Exception:
        return None
    prefix = "a gzip file: " if probe.gzip else ""
    for name, f in TRACE_FORMATS.items():
        what = f.sniff(probe)
        if what:
            return (
                f"{path} is {prefix}{what}, not a harness-audit trail; convert it with "
                f"`harness-audit trail import {path} --from {name} --key KEY "
                "--origin ORIGIN -o DIR`"
            )
    if swe_agent.is_config(probe):
        return (
            f"{path} is a SWE-agent run config; import it beside its .traj with "
            "`harness-audit trail import`"
        )
    for name, d in DEFINITION_FORMATS.items():
        what = d.sniff(probe)
        if what:
            return (
                f"{path} is {what}, not a harness-audit manifest; draft one with "
                f"`harness-audit init {path.parent if name == crewai.NAME else path} "
                f"--from {name}`"
            )
    if probe.gzip:
        return f"{path} is a gzip file; harness-audit reads trails and manifests uncompressed"
    what, family, nearest = _identify(probe, "trace")
    if what.startswith(_NOT_IMPORTED):  # named by what it lacks, with the file that has it
        return f"{path} is {what}, which harness-audit does not import; use {nearest}"
    if what.startswith(("a Jaeger", "a Zipkin")) or (
        family == "definition" and "none of" not in what and "YAML document" not in what
    ):
        return f"{path} is {what}, which harness-audit does not import"
    return None
