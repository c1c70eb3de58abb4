"""The registry: one module per source format behind one small interface, loaded from the
one list of formats (:mod:`~harness_audit.import_formats`).

A trace format module has ``NAME``, ``DESCRIPTION``, ``sniff(probe) -> str | None`` (what the
file looks like, when it is that format) and ``read(path, mapping, stats, pipeline, probe)``
yielding :class:`~harness_audit.trail.source.RawEvent`. A definition format module has
``NAME``, ``DESCRIPTION``, ``sniff(probe)`` and ``read(paths) -> Draft``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from harness_audit import import_formats as catalog


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


TRACE_MODULES: tuple[ModuleType, ...] = tuple(
    import_module(catalog.module_name(name)) for name, _ in catalog.TRACES
)
DEFINITION_MODULES: tuple[ModuleType, ...] = tuple(
    import_module(catalog.module_name(name)) for name, _ in catalog.DEFINITIONS
)
TRACE_FORMATS: dict[str, Format] = {m.NAME: _fmt(m) for m in TRACE_MODULES}
DEFINITION_FORMATS: dict[str, Format] = {m.NAME: _fmt(m) for m in DEFINITION_MODULES}

TRACE_CHOICES: tuple[str, ...] = catalog.TRACE_CHOICES
"""``trail import --from`` choices."""
DEFINITION_CHOICES: tuple[str, ...] = catalog.DEFINITION_CHOICES
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
