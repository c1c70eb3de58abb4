"""JSON output shared by every renderer: indented, UTF-8, via orjson."""

from __future__ import annotations

from typing import Any

import orjson

from harness_audit import __version__


def dumps(data: Any) -> str:
    """Indented JSON; orjson, as the standard library's encoder is the slow part of a large scan
    (bench/README.md, Scan)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def tool_info() -> dict[str, str]:
    """The ``tool`` object of the JSON outputs: harness-audit's name and version."""
    return {"name": "harness-audit", "version": __version__}
