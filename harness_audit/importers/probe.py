"""What a source file looks like, read once and cheaply, for detection (``--from auto``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from harness_audit.importers.base import (
    is_gzip,
    iter_lines,
    json_loads,
    read_document,
    read_head,
)

SNIFF_WHOLE_BYTES = 16 << 20
"""Documents up to this size are parsed whole for detection; larger ones by their first line."""


@dataclass
class Probe:
    """A source's first bytes, and its JSON/YAML parse when small enough."""

    path: Path
    head: bytes = b""
    gzip: bool = False
    size: int = 0
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, path: Path) -> Probe:
        """Probe ``path`` (reads at most 64 KiB for the head)."""
        p = cls(path)
        p.gzip = is_gzip(path)
        try:
            p.size = path.stat().st_size
        except OSError:
            p.size = 0
        p.head = read_head(path)
        return p

    @property
    def text_head(self) -> str:
        """The head as text (invalid UTF-8 replaced)."""
        return self.head.decode("utf-8", "replace").lstrip("\ufeff")

    @cached_property
    def first_char(self) -> str:
        """The first non-blank character."""
        stripped = self.text_head.lstrip()
        return stripped[:1]

    @cached_property
    def json(self) -> Any:
        """The whole document parsed as JSON, or None (not JSON, or too large to sniff whole)."""
        if self.first_char not in ("{", "["):
            return None
        if self.size > SNIFF_WHOLE_BYTES and not self.gzip:
            return None
        try:
            return json_loads(read_document(self.path, SNIFF_WHOLE_BYTES * 4))
        except Exception:
            return None

    @cached_property
    def first_line_json(self) -> Any:
        """The first line parsed as JSON (for JSON Lines), or None."""
        line = self.head.split(b"\n", 1)[0]
        if len(line) == len(self.head) and len(self.head) >= 64 << 10:
            return None  # the first line did not fit in the head
        try:
            return json_loads(line)
        except (orjson.JSONDecodeError, ValueError):
            return None

    @cached_property
    def first_record(self) -> Any:
        """The first JSON Lines record read whole (bounded), for records larger than the head."""
        if self.first_line_json is not None or self.first_char != "{":
            return self.first_line_json
        try:
            for _, raw in iter_lines(self.path):
                return json_loads(raw)
        except Exception:
            return None
        return None

    @cached_property
    def is_jsonl(self) -> bool:
        """True when the first two non-blank lines each parse as JSON (and the whole does not)."""
        lines = [x for x in self.head.split(b"\n") if x.strip()]
        if len(lines) < 2:
            return False
        try:
            orjson.loads(lines[0])
            if len(self.head) < 64 << 10 or len(lines) > 2:
                orjson.loads(lines[1])
        except orjson.JSONDecodeError:
            return False
        return self.json is None

    @cached_property
    def yaml(self) -> Any:
        """The document parsed as YAML (safely), or None."""
        if self.gzip or self.size > SNIFF_WHOLE_BYTES:
            return None
        from harness_audit.errors import HarnessAuditError
        from harness_audit.manifest.yamlsafe import load_yaml

        try:
            return load_yaml(self.path).data
        except HarnessAuditError:
            return None
