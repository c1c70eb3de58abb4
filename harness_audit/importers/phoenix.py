"""Compiled by mypyc: the last paragraph says what that means here.

Arize Phoenix span exports: the spans Phoenix serves and its clients save, one span a record.

Three shapes of one span are read (each a JSON array, ``{"data": [...]}`` as the REST API pages
them, or JSON Lines):

- the REST ``Span`` (``GET /v1/projects/{project}/spans``): ``context: {trace_id, span_id}``,
  ``span_kind`` (OpenInference: ``LLM``, ``TOOL``, ``AGENT``, ``CHAIN`` …), ``parent_id``,
  ``start_time``/``end_time`` (ISO 8601), ``status_code`` (``OK``/``ERROR``/``UNSET``),
  ``attributes`` (a flat map of OpenInference names: ``llm.model_name``,
  ``llm.token_count.prompt``, ``tool.name`` …) and ``events``;
- the spans dataframe written as records (``get_spans_dataframe().to_json(orient="records")``):
  the same fields with the nested ones flattened into column names (``context.span_id``,
  ``attributes.llm.model_name``), times as ISO text or epoch milliseconds;
- the OTLP-style span of ``/spans/otlpv1`` in snake case (``trace_id``, ``span_id``,
  ``parent_span_id``, ``start_time_unix_nano``).

Phoenix puts the OpenInference kind in ``span_kind`` beside the attributes, not among them:
read as plain OTLP, no span had a kind and the import was an empty trail that verified (issue
25). Each record is made the span it is (its kind as ``openinference.span.kind``) and read as
the OTLP reader reads spans: one run per trace id, the same attribute tables, the same bounds.

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import otlp
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    check_values,
    epoch_ns,
    fail,
    iter_lines,
    parse_line,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "phoenix"
DESCRIPTION = "Arize Phoenix span exports (REST spans, spans dataframe records)"
_EXPECTED = 'Phoenix spans: [{"context": {"trace_id", "span_id"}, "span_kind", ...}]'


_epoch_ns = epoch_ns


def is_phoenix_span(obj: Any) -> bool:
    """True for one Phoenix span record in any of the three shapes."""
    if not isinstance(obj, dict) or "span_kind" not in obj:
        return False
    ctx = obj.get("context")
    if isinstance(ctx, dict):
        return "span_id" in ctx
    return "context.span_id" in obj or "span_id" in obj


def span_of(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as the OTLP reader reads a span: ids, times, status, and the attributes with
    the OpenInference kind among them."""
    got = rec.get("context")
    ctx: dict[str, Any] = got if isinstance(got, dict) else {}
    attrs: dict[str, Any] = {}
    raw = rec.get("attributes")
    if isinstance(raw, dict | list):
        attrs.update(otlp.attributes(raw))
    for key, value in rec.items():  # the dataframe's flattened columns
        if key.startswith("attributes.") and value is not None:
            attrs[key[len("attributes.") :]] = value
    kind = rec.get("span_kind")
    if isinstance(kind, str) and kind and "openinference.span.kind" not in attrs:
        attrs["openinference.span.kind"] = kind
    status = rec.get("status")
    if not isinstance(status, dict):
        status = {"code": rec.get("status_code"), "message": rec.get("status_message")}
    return {
        "trace_id": ctx.get("trace_id", rec.get("context.trace_id", rec.get("trace_id"))),
        "span_id": ctx.get("span_id", rec.get("context.span_id", rec.get("span_id"))),
        "parent_id": rec.get("parent_id", rec.get("parent_span_id")),
        "name": rec.get("name"),
        "start_time": _epoch_ns(rec.get("start_time", rec.get("start_time_unix_nano"))),
        "end_time": _epoch_ns(rec.get("end_time", rec.get("end_time_unix_nano"))),
        "status": status,
        "attributes": attrs,
        "events": rec.get("events") if isinstance(rec.get("events"), list) else None,
    }


def _records(doc: Any) -> list[Any] | None:
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        doc = doc["data"]
    return doc if isinstance(doc, list) else None


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every trace in a Phoenix span export, one run per trace id."""
    name = str(path)
    probe = probe or Probe.of(path)
    grouper = otlp.Grouper(name, mapping, stats, pipeline)
    if probe.is_jsonl:
        for n, raw in iter_lines(path):
            check_values(name, raw, n)
            yield from _take(grouper, parse_line(name, n, raw), n, stats)
    else:
        recs = _records(probe.document())
        if recs is None:
            raise fail(name, "no Phoenix spans in this document", 1, _EXPECTED)
        for rec in recs:
            yield from _take(grouper, rec, 1, stats)
    yield from grouper.finish()


def _take(grouper: otlp.Grouper, rec: Any, line: int, stats: ImportStats) -> list[RawEvent]:
    stats.records += 1
    if not isinstance(rec, dict):
        stats.drop("record is not a span object")
        return []
    return grouper.take(otlp.span_record(span_of(rec), line))


def sniff(probe: Probe) -> str | None:
    """What Phoenix shape the source is (None: not Phoenix)."""
    recs = _records(probe.json)
    if recs and is_phoenix_span(recs[0]):
        return "an Arize Phoenix span export (span_kind, OpenInference attributes)"
    if probe.json is None and is_phoenix_span(probe.first_line_json):
        return "JSON Lines of Arize Phoenix spans (span_kind, OpenInference attributes)"
    return None
