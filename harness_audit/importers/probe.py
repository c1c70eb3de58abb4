"""What a source file looks like, read once and cheaply, for detection (``--from auto``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from harness_audit.errors import HarnessAuditError
from harness_audit.importers.base import (
    MAX_DOCUMENT_BYTES,
    BoundError,
    check_values,
    is_gzip,
    iter_lines,
    json_loads,
    load_json,
    read_head,
)


@dataclass
class Probe:
    """A source's first bytes, and its JSON/YAML parse when it is one document.

    Detection and reading share one parse under one set of bounds: a whole JSON document is
    read and parsed at most once (:func:`~harness_audit.importers.base.load_json`: at most
    ``MAX_DOCUMENT_BYTES`` of text, decompressed or not, and ``MAX_DOCUMENT_VALUES`` values),
    here; the reader of the detected format takes that parse (:meth:`take_json`) instead of
    parsing again. A document the bounds refuse is ``unparsed`` (why), so that ``--from``
    leaves the reader to say so rather than detection calling it no format (and ``bounded``
    when a bound refused it, not its syntax)."""

    path: Path
    head: bytes = b""
    gzip: bool = False
    size: int = 0
    unparsed: str = ""
    bounded: bool = False
    yaml_sha256: str = ""
    deviations: list[str] = field(default_factory=list)
    """Envelopes and small deviations its reader accepted (IMPORT.md): named in import.json."""
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
        """The whole document parsed as JSON, or None (not JSON, JSON Lines, or refused by the
        bounds: :attr:`unparsed` says why). Parsed once; :meth:`take_json` hands it over."""
        if self.first_char not in ("{", "[") or self.is_jsonl:
            return None
        if not self.gzip and self.size > MAX_DOCUMENT_BYTES:
            self.unparsed = f"is {self.size:,} bytes, more than the {MAX_DOCUMENT_BYTES:,} a "
            self.unparsed += "whole document may be"
            self.bounded = True
            return None
        try:
            return load_json(self.path)
        except BoundError as e:
            self.unparsed, self.bounded = e.diagnostics()[0].message, True
        except HarnessAuditError as e:
            self.unparsed = e.diagnostics()[0].message
        return None

    def take_json(self) -> Any:
        """The parse of :attr:`json`, handed over: the probe keeps no reference to it, so the
        document is in memory once, for as long as its reader holds it."""
        doc = self.json
        self.release()
        return doc

    def document(self) -> Any:
        """The whole document for its reader: the parse detection made, handed over
        (:meth:`take_json`), else read and parsed now (an error names the file and the bound
        or the line)."""
        doc = self.take_json()
        return doc if doc is not None else load_json(self.path)

    def release(self, keep_json: bool = False) -> None:
        """Forget what was parsed whole (a later :attr:`json` or :attr:`first_record` reads
        and parses again): the document (unless ``keep_json``, for its reader) and the first
        JSON Lines record, which may be as large as a record may be."""
        if not keep_json:
            self.__dict__.pop("json", None)
        self.__dict__.pop("first_record", None)

    @cached_property
    def first_line_json(self) -> Any:
        """The first non-blank line parsed as JSON (for JSON Lines), or None. Blank lines
        before it are a deviation JSON Lines readers accept (:attr:`leading_blank`)."""
        head = self.head.lstrip(b" \t\r\n")
        line = head.split(b"\n", 1)[0]
        if len(line) == len(head) and len(self.head) >= 64 << 10:
            return None  # the first line did not fit in the head
        try:
            return json_loads(line)
        except (orjson.JSONDecodeError, ValueError):
            return None

    @property
    def leading_blank(self) -> bool:
        """True when the source starts with a blank line (before its first record)."""
        return self.head[:1] in (b"\n", b"\r") or self.head.split(b"\n", 1)[0].isspace()

    @cached_property
    def first_record(self) -> Any:
        """The first JSON Lines record read whole (bounded), for records larger than the head."""
        if self.first_line_json is not None or self.first_char != "{":
            return self.first_line_json
        try:
            for _, raw in iter_lines(self.path):
                check_values(str(self.path), raw, 1)
                return json_loads(raw)
        except Exception:
            return None
        return None

    @cached_property
    def is_jsonl(self) -> bool:
        """True when the first two non-blank lines are each a whole JSON value (the second may
        be cut by the end of the head): JSON Lines, never one document (two values are no JSON
        text), told from the head alone, without parsing the whole."""
        lines = [x for x in self.head.split(b"\n") if x.strip()]
        if len(lines) < 2:
            return False
        try:
            orjson.loads(lines[0])
            if len(self.head) < 64 << 10 or len(lines) > 2:
                orjson.loads(lines[1])
        except orjson.JSONDecodeError:
            return False
        return True

    @cached_property
    def yaml(self) -> Any:
        """The document parsed as YAML (safely), or None."""
        if self.gzip:
            return None
        from harness_audit.manifest.yamlsafe import load_yaml

        try:
            doc = load_yaml(self.path)
        except HarnessAuditError:
            return None
        self.yaml_sha256 = doc.sha256  # of the bytes parsed: the digest of what was read
        return doc.data
