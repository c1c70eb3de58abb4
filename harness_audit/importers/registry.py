"""The registry: one module per source format behind one small typed interface.

A trace format module is a :class:`TraceFormat`: ``NAME``, ``DESCRIPTION``, ``sniff(probe)``
(what the file looks like, when it is that format) and ``read(path, mapping, stats, pipeline,
probe)`` yielding :class:`~harness_audit.trail.source.RawEvent`. A definition format module is a
:class:`DefinitionFormat`: ``NAME``, ``DESCRIPTION``, ``sniff(probe)`` and ``read(paths) ->
Draft``. A new format is one module plus its line in the one list of formats,
:mod:`~harness_audit.import_formats` (the ``--from`` choices and help text derive from it too);
a test fails when a format module is missing from that list or does not meet its protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from harness_audit import import_formats as catalog
from harness_audit.importers.base import ImportStats, Mapping
from harness_audit.importers.draft import Draft
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent


@runtime_checkable
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


@runtime_checkable
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


TRACE_MODULES: tuple[TraceFormat, ...] = tuple(
    cast(TraceFormat, import_module(catalog.module_name(name))) for name, _ in catalog.TRACES
)
DEFINITION_MODULES: tuple[DefinitionFormat, ...] = tuple(
    cast(DefinitionFormat, import_module(catalog.module_name(name)))
    for name, _ in catalog.DEFINITIONS
)
TRACE_FORMATS: dict[str, TraceFormat] = {m.NAME: m for m in TRACE_MODULES}
"""Trace format name -> its module."""
DEFINITION_FORMATS: dict[str, DefinitionFormat] = {m.NAME: m for m in DEFINITION_MODULES}
"""Definition format name -> its module."""

TRACE_CHOICES: tuple[str, ...] = catalog.TRACE_CHOICES
"""``trail import --from`` choices."""
DEFINITION_CHOICES: tuple[str, ...] = catalog.DEFINITION_CHOICES
"""``init --from`` choices."""


VISIBLE_HIDDEN = (".well-known", ".mcp.json")
"""Hidden names a folder's definitions live under: an A2A card at ``.well-known/agent.json``, a
Claude Code plugin's ``.mcp.json``."""


def source_files(paths: list[Path]) -> list[Path]:
    """Files named, with folders expanded to their files (sorted, hidden ones skipped but for
    :data:`VISIBLE_HIDDEN`)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(
                    x
                    for x in p.rglob("*")
                    if x.is_file()
                    and not any(
                        part.startswith(".") and part not in VISIBLE_HIDDEN
                        for part in x.relative_to(p).parts
                    )
                )
            )
        else:
            out.append(p)
    return out
