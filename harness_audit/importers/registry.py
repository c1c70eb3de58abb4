"""The registry: one module per source format behind one small typed interface.

A trace format module is a :class:`TraceFormat`: ``NAME``, ``DESCRIPTION``, ``sniff(probe)``
(what the file looks like, when it is that format) and ``read(path, mapping, stats, pipeline,
probe)`` yielding :class:`~harness_audit.trail.source.RawEvent`. A definition format module is a
:class:`DefinitionFormat`: ``NAME``, ``DESCRIPTION``, ``sniff(probe)`` and ``read(paths) ->
Draft``. A new format is one module plus its entry in :data:`TRACE_MODULES` or
:data:`DEFINITION_MODULES` (mypy checks the module against the protocol there; a test fails
when a format module is missing from the registry).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from harness_audit.importers import (
    adk,
    agent_framework,
    anthropic_sessions,
    crewai,
    langfuse,
    langgraph,
    langsmith,
    mcp,
    openai_agents,
    openhands,
    otlp,
    swe_agent,
)
from harness_audit.importers.base import ImportStats, Mapping
from harness_audit.importers.draft import Draft
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent


class TraceFormat(Protocol):
    """A trace format module (``trail import --from NAME``)."""

    NAME: str
    DESCRIPTION: str

    def sniff(self, probe: Probe) -> str | None:
        """What the file looks like when it is this format (``a Langfuse trace export``), or
        None."""
        ...

    def read(
        self,
        path: Path,
        mapping: Mapping,
        stats: ImportStats,
        pipeline: str,
        probe: Probe | None = None,
    ) -> Iterator[RawEvent]:
        """The file's events in trail order, counting into ``stats``; ``probe`` when the
        caller already has one for ``path``."""
        ...


class DefinitionFormat(Protocol):
    """A definition format module (``init --from NAME``)."""

    NAME: str
    DESCRIPTION: str

    def sniff(self, probe: Probe) -> str | None:
        """What the file looks like when it is this format, or None."""
        ...

    def read(self, paths: list[Path]) -> Draft:
        """The draft manifest of the definition files (fails closed; see ``draft``)."""
        ...


TRACE_MODULES: tuple[TraceFormat, ...] = (
    otlp,
    langfuse,
    langsmith,
    anthropic_sessions,
    openhands,
    swe_agent,
)
DEFINITION_MODULES: tuple[DefinitionFormat, ...] = (
    crewai,
    adk,
    agent_framework,
    openai_agents,
    langgraph,
    mcp,
)
TRACE_FORMATS: dict[str, TraceFormat] = {m.NAME: m for m in TRACE_MODULES}
"""Trace format name -> its module."""
DEFINITION_FORMATS: dict[str, DefinitionFormat] = {m.NAME: m for m in DEFINITION_MODULES}
"""Definition format name -> its module."""

TRACE_CHOICES: tuple[str, ...] = ("auto", *TRACE_FORMATS)
"""``trail import --from`` choices."""
DEFINITION_CHOICES: tuple[str, ...] = ("auto", *DEFINITION_FORMATS)
"""``init --from`` choices."""


def source_files(paths: list[Path]) -> list[Path]:
    """Files named, with folders expanded to their files (sorted, hidden ones skipped)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(
                    x
                    for x in p.rglob("*")
                    if x.is_file()
                    and not any(part.startswith(".") for part in x.relative_to(p).parts)
                )
            )
        else:
            out.append(p)
    return out
