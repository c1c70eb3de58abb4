"""The registry: one module per source format behind one small interface.

A trace format module has ``NAME``, ``DESCRIPTION``, ``sniff(probe) -> str | None`` (what the
file looks like, when it is that format) and ``read(path, mapping, stats, pipeline, probe)``
yielding :class:`~harness_audit.trail.source.RawEvent`. A definition format module has
``NAME``, ``DESCRIPTION``, ``sniff(probe)`` and ``read(paths) -> Draft``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

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


@dataclass(frozen=True)
class Format:
    """One registered format."""

    name: str
    description: str
    module: ModuleType

    @property
    def sniff(self) -> Callable[[Any], str | None]:
        """The module's detector."""
        fn: Callable[[Any], str | None] = self.module.sniff
        return fn

    def read(self, *args: Any, **kwargs: Any) -> Iterator[Any] | Any:
        """The module's reader."""
        return self.module.read(*args, **kwargs)


def _fmt(m: ModuleType) -> Format:
    return Format(m.NAME, m.DESCRIPTION, m)


TRACE_MODULES: tuple[ModuleType, ...] = (
    otlp,
    langfuse,
    langsmith,
    anthropic_sessions,
    openhands,
    swe_agent,
)
DEFINITION_MODULES: tuple[ModuleType, ...] = (
    crewai,
    adk,
    agent_framework,
    openai_agents,
    langgraph,
    mcp,
)
TRACE_FORMATS: dict[str, Format] = {m.NAME: _fmt(m) for m in TRACE_MODULES}
DEFINITION_FORMATS: dict[str, Format] = {m.NAME: _fmt(m) for m in DEFINITION_MODULES}

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
