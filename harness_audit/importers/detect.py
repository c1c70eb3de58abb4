"""Format detection from content (``--from auto``), near misses named, and
:func:`describe_foreign` for the commands that are given a foreign file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_audit.import_formats import DEFINITIONS, names
from harness_audit.importers import crewai, swe_agent
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


def looks_like(probe: Probe) -> tuple[str, str]:
    """(what a file that no importer accepts looks like, the nearest supported format)."""
    if probe.gzip and probe.head[:2] == b"\x1f\x8b":
        return "a gzip file that does not decompress", "otlp (gzip JSON Lines)"
    j = probe.json
    first = probe.first_line_json
    if isinstance(first, dict) and {"v", "seq", "prev", "hash"} <= set(first):
        return "a harness-audit trail (already sealed)", "none: use `harness-audit verify`"
    if isinstance(first, dict) and {"kind", "run", "agent"} <= set(first):
        return "plain harness-audit trail events (unsealed)", "none: use `harness-audit trail seal`"
    if (
        isinstance(j, dict)
        and isinstance(j.get("data"), list)
        and j["data"]
        and isinstance(j["data"][0], dict)
        and "traceID" in j["data"][0]
    ):
        return "a Jaeger JSON export", "otlp (export OTLP instead of Jaeger JSON)"
    if (
        isinstance(j, list)
        and j
        and isinstance(j[0], dict)
        and "traceId" in j[0]
        and "id" in j[0]
        and "spanId" not in j[0]
    ):
        return "a Zipkin v2 JSON span array", "otlp (export OTLP instead of Zipkin)"
    if isinstance(j, dict) and ("resourceSpans" in j):
        return "an OTLP document without spans", "otlp"
    if isinstance(j, dict) and isinstance(j.get("observations"), list):
        return "Langfuse observations without their trace", "langfuse"
    if isinstance(j, dict) and str(j.get("provider", "")).startswith("autogen"):
        return (
            "an AutoGen AgentChat component config",
            f"none yet (definitions: {names(DEFINITIONS)})",
        )
    if (
        isinstance(j, dict)
        and isinstance(j.get("components"), dict)
        and isinstance(j["components"].get("teams"), list)
    ):
        return (
            "an AutoGen Studio component gallery",
            f"none yet (definitions: {names(DEFINITIONS)})",
        )
    if (isinstance(j, dict) and "apiVersion" in j) or (
        isinstance(probe.yaml, dict) and probe.yaml.get("kind") == "Pipeline"
    ):
        return "a harness-audit manifest", "none: use `harness-audit scan`"
    if isinstance(j, dict):
        return f"a JSON object with keys {_keys(j)}", "otlp, langfuse or langsmith"
    if isinstance(j, list):
        return "a JSON array of other records", "otlp (a JSON array of span records)"
    if isinstance(first, dict):
        return f"JSON Lines of objects with keys {_keys(first)}", "otlp (JSON Lines)"
    if b"\x00" in probe.head[:4096]:
        return "binary data", "otlp (OTLP/JSON, not protobuf)"
    y = probe.yaml
    if isinstance(y, dict):
        return f"a YAML document with keys {_keys(y)}", "crewai or adk"
    return "text that is no known trace or definition format", "otlp"


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
    what, nearest = looks_like(probe)
    raise fail(
        str(path),
        f"no supported trace format: looks like {what}",
        expected=f"nearest supported format: {nearest}",
    )


def definition(paths: list[Path], fmt: str = "auto") -> tuple[str, list[Path]]:
    """Detect (or confirm) the definition format of the sources; (format, files)."""
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
            return fmt, hits[fmt]
        got = next(iter(hits), None)
        what = kinds[hits[got][0]] if got else looks_like(Probe.of(files[0]))[0]
        raise fail(
            str(files[0]),
            f"looks like {what}, not {fmt}",
            expected=f"--from {got}" if got else f"{fmt} definitions",
        )
    if not hits:
        what, nearest = looks_like(Probe.of(files[0]))
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
    return name, hits[name]


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
    what, _ = looks_like(probe)
    if what.startswith(("a Jaeger", "a Zipkin", "an AutoGen")):
        return f"{path} is {what}, which harness-audit does not import"
    return None
