"""Renderers: one module per output format, each behind :class:`~.base.Renderer`.

Modules are imported only when their format is asked for, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness_audit.report.base import Renderer

# format name -> "module:Class"
SCAN_FORMATS: dict[str, str] = {
    "table": "harness_audit.report.terminal:TableRenderer",
    "json": "harness_audit.report.json_format:JsonRenderer",
    "sarif": "harness_audit.report.sarif:SarifRenderer",
    "junit": "harness_audit.report.junit:JunitRenderer",
    "markdown": "harness_audit.report.markdown:MarkdownRenderer",
    "oscal": "harness_audit.report.oscal:OscalRenderer",
    "csv": "harness_audit.report.csv_format:CsvRenderer",
}


def get_renderer(fmt: str) -> Renderer:
    target = SCAN_FORMATS[fmt]
    module, _, cls = target.partition(":")
    renderer: Renderer = getattr(importlib.import_module(module), cls)()
    return renderer


__all__ = ["SCAN_FORMATS", "get_renderer"]
