"""OTLP/JSON traces; compiled by mypyc (see the last paragraph).

``ExportTraceServiceRequest`` documents or JSON Lines of them (the collector's file exporter),
JSON Lines or arrays of span records (OTLP span JSON, or SDK span dumps with
``context``/``parent`` and flat attribute maps), optionally gzip.

Streaming: JSON Lines are read one line at a time (orjson); spans are grouped per trace in a
bounded buffer. A trace is flushed as a run once its root span has arrived and no span of it has
come for ``QUIET_SPANS`` spans, or when more than ``MAX_OPEN_TRACES`` traces (or
``MAX_BUFFERED_SPANS`` spans) are open, oldest first; a span arriving for a trace already flushed
is counted as dropped ("late"), never silently merged into another run. Memory is bounded by
the buffer, not by the file.

Compiled by mypyc (``setup.py``'s ``MYPYC``), so four rules bite here: an ``except … as e``
name holds one exception type per function (a second handler of another type binding ``e``
raises TypeError when compiled); no msgspec ``Struct`` is defined here (those stay Python
classes elsewhere); monkeypatching a name here is invisible to compiled callers, which call
it directly (patch at the caller or test through the entry point); in an editable install
the built ``.so`` shadows this file, so rebuild after an edit (``pip install -e .``) or
install with ``HARNESS_AUDIT_BUILD_EXT=0``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from harness_audit.importers import otlp_shape
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    check_values,
    fail,
    hex_id,
    iter_lines,
    json_loads,
    parse_line,
    text,
    ts_to_ns,
)
from harness_audit.importers.probe import Probe
from harness_audit.importers.spans import (
    Span,
    Trace,
    assemble,
    evaluation_from_event,
    fill,
)
from harness_audit.trail.source import RawEvent

NAME = "otlp"
DESCRIPTION = "OpenTelemetry traces as OTLP/JSON (documents or JSON Lines, optionally gzip)"

QUIET_SPANS = 2_000
MAX_OPEN_TRACES = 5_000
MAX_BUFFERED_SPANS = 200_000
MAX_FLUSHED_IDS = 200_000


# -- the common shape, decoded typed -----------------------------------------------------------
# A JSON Lines record in exactly the OTLP/JSON shape (the proto's field names, nothing else) is
# decoded by msgspec into the structs of otlp_shape, without a dict per attribute; a record that
# is not (another field, another type, not JSON) goes the general way below, which also names the
# error. Both end in make_span; a differential test keeps the two readings equal.

_decode_request = otlp_shape.decode_request
_decode_envelope = otlp_shape.decode_envelope


def _value(v: otlp_shape.Value | None) -> Any:
    """What :func:`any_value` makes of the same AnyValue as a dict."""
    if v is None:
        return None
    if v.stringValue is not msgspec.UNSET:
        return v.stringValue
    if v.boolValue is not msgspec.UNSET:
        return v.boolValue
    if v.doubleValue is not msgspec.UNSET:
        return v.doubleValue
    if v.intValue is not msgspec.UNSET:
        return any_value({"intValue": v.intValue})
    if v.arrayValue is not msgspec.UNSET:
        return any_value({"arrayValue": v.arrayValue})
    if v.kvlistValue is not msgspec.UNSET:
        return any_value({"kvlistValue": v.kvlistValue})
    return None


def _struct_attributes(kvs: list[otlp_shape.KeyValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs[:10_000]:
        if isinstance(kv.key, str):
            out[kv.key] = _value(kv.value)
    return out


def _struct_span(
    s: otlp_shape.SpanJson, line: int, resource: dict[str, Any]
) -> tuple[str, Span] | None:
    """:func:`span_record` of the same span as a dict."""
    trace_id = _id(s.traceId, 32)
    span_id = _id(s.spanId, 16)
    if not trace_id or not span_id:
        return None
    parent = _parent_id(s.parentSpanId)
    start = ts_to_ns(s.startTimeUnixNano) or 0
    end = ts_to_ns(s.endTimeUnixNano) or start
    events = [
        (e.name, _struct_attributes(e.attributes), ts_to_ns(e.timeUnixNano))
        for e in s.events[:1000]
    ]
    span = make_span(
        span_id,
        parent,
        s.name,
        start,
        end,
        line,
        _status(s.status),
        _struct_attributes(s.attributes),
        resource,
        events,
    )
    return trace_id, span


def _feed_request(
    grouper: Grouper, req: otlp_shape.Request, line: int, stats: ImportStats
) -> Iterator[RawEvent]:
    """:func:`_feed` of a request decoded typed."""
    for rs in req.resourceSpans:
        res = rs.resource
        attrs = attributes(res.get("attributes")) if isinstance(res, dict) else {}
        for ss in rs.scopeSpans:
            for s in ss.spans:
                stats.records += 1
                ready = grouper.take(_struct_span(s, line, attrs))
                if ready:
                    yield from ready


def any_value(v: Any, depth: int = 0) -> Any:
    """An OTLP ``AnyValue`` as a plain value (int values from their decimal text)."""
    if not isinstance(v, dict) or depth > 8:
        return v
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        iv = v["intValue"]
        try:
            return int(iv)
        except (TypeError, ValueError):
            return None
    if "arrayValue" in v:
        vals = as_dict(v["arrayValue"]).get("values") or []
        return [any_value(x, depth + 1) for x in vals[:1000]] if isinstance(vals, list) else None
    if "kvlistValue" in v:
        return attributes(as_dict(v["kvlistValue"]).get("values"), depth + 1)
    return None


def attributes(raw: Any, depth: int = 0) -> dict[str, Any]:
    """OTLP ``[{key, value}]`` attributes or a flat map, as a flat dict."""
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    out: dict[str, Any] = {}
    if isinstance(raw, list):
        for kv in raw[:10_000]:
            if isinstance(kv, dict):
                key = kv.get("key")
                if isinstance(key, str):
                    v = kv.get("value")
                    # the common case first: a string value (what any_value returns for it)
                    if type(v) is dict and "stringValue" in v:
                        out[key] = v["stringValue"]
                    else:
                        out[key] = any_value(v, depth)
    return out


_HEX = re.compile(r"[0-9a-fA-F]+")


def _id(value: Any, width: int) -> str | None:
    if type(value) is str and len(value) == width and _HEX.fullmatch(value):
        return value.lower()  # the common case: what hex_id makes of it
    if (
        isinstance(value, str)
        and len(value) in (12, 24)
        and not all(c in "0123456789abcdefABCDEF" for c in value)
    ):
        try:  # protobuf JSON mapping: base64 bytes
            return base64.b64decode(value, validate=True).hex()
        except (binascii.Error, ValueError):
            return None
    return hex_id(value, width)


def _parent_id(raw: Any) -> str | None:
    """A parent span id; none when absent, empty or all zeros (a root, as OTLP writes it)."""
    parent = _id(raw, 16) if raw not in (None, "", 0) else None
    return None if parent is None or parent.count("0") == len(parent) else parent


def _status(raw: Any) -> str:
    if not isinstance(raw, dict):
        return "unset"
    code = raw.get("code", raw.get("status_code"))
    if isinstance(code, str):
        c = code.lower()
        if "error" in c:
            return "error"
        if c.endswith("ok"):
            return "ok"
        return "unset"
    if code == 2:
        return "error"
    if code == 1:
        return "ok"
    return "unset"


def _field(rec: dict[str, Any], camel: str, snake: str, ctx: Any) -> Any:
    """``rec[camel]``, else ``rec[snake]``, else the SDK dump's ``context[snake]``."""
    if camel in rec:
        return rec[camel]
    if snake in rec:
        return rec[snake]
    return ctx.get(snake) if isinstance(ctx, dict) else None


def span_record(
    rec: dict[str, Any], line: int, resource: dict[str, Any] | None = None
) -> tuple[str, Span] | None:
    """(trace id, span) from one OTLP span JSON or SDK span dump; None when it is not a span."""
    ctx = rec.get("context")
    trace_id = _id(_field(rec, "traceId", "trace_id", ctx), 32)
    span_id = _id(_field(rec, "spanId", "span_id", ctx), 16)
    if not trace_id or not span_id:
        return None
    parent_raw = rec.get("parentSpanId", rec.get("parent_span_id", rec.get("parent_id")))
    if parent_raw is None and isinstance(rec.get("parent"), dict):
        parent_raw = rec["parent"].get("span_id")
    parent = _parent_id(parent_raw)
    start = ts_to_ns(rec.get("startTimeUnixNano", rec.get("start_time"))) or 0
    end = ts_to_ns(rec.get("endTimeUnixNano", rec.get("end_time"))) or start
    events: list[tuple[Any, dict[str, Any], int | None]] = []
    raw_events = rec.get("events")
    if isinstance(raw_events, list) and raw_events:
        for e in raw_events[:1000]:
            if isinstance(e, dict):
                events.append(
                    (
                        e.get("name"),
                        attributes(e.get("attributes")),
                        ts_to_ns(e.get("timeUnixNano", e.get("timestamp"))),
                    )
                )
            else:
                events.append((None, {}, None))
    span = make_span(
        span_id,
        parent,
        rec.get("name"),
        start,
        end,
        line,
        _status(rec.get("status")),
        attributes(rec.get("attributes")),
        resource,
        events,
    )
    return trace_id, span


def make_span(
    span_id: str,
    parent: str | None,
    name: Any,
    start: int,
    end: int,
    line: int,
    status: str,
    attrs: dict[str, Any],
    resource: dict[str, Any] | None,
    events: list[tuple[Any, dict[str, Any], int | None]],
) -> Span:
    """One normalised :class:`Span` from its decoded parts (ids as hex, times in ns, flat
    attributes, span events as (name, attributes, time)): the one span reading of the OTLP
    JSON importer, the protobuf receiver and the in-process exporter."""
    span = Span(
        span_id, parent, text(name, 300) or "span", start, max(end, start), line, status=status
    )
    if resource and "service.name" in resource:
        attrs.setdefault("service.name", resource["service.name"])
    m = fill(span, attrs)
    for i, (ename, ea, ets) in enumerate(events[:1000]):
        if ename == "gen_ai.evaluation.result":
            span.evaluations.append(
                evaluation_from_event(f"{span_id}:eval{i}", ea, ets or span.end, span_id)
            )
    if span.kind == "agent" and span.agent_name is None:
        span.agent_name = text(m.get("service_name"), 200)
    span.attr_agent = span.agent_name or text(m.get("agent_name"), 200)
    span.service = text(m.get("service_name"), 200)
    return span


ENVELOPE_REQUEST = "OTLP request wrapped in an envelope ({timestamp, project_id, data}): unwrapped"
ENVELOPE_AGENTCORE = "AWS AgentCore span record ({timestamp, raw_otel_json}): unwrapped"


def _is_request(obj: Any) -> bool:
    return isinstance(obj, dict) and ("resourceSpans" in obj or "resource_spans" in obj)


def unwrap(obj: Any, seen: set[str] | None = None) -> Any:
    """The OTLP payload of an envelope, else ``obj``; the envelope's name goes into ``seen``.

    Two envelopes are read (IMPORT.md: small deviations accepted where the payload is a
    supported format, each named in ``import.json``): a request wrapped as ``{"timestamp",
    "project_id", "data": {"resourceSpans": ...}}`` (one a line, as collectors store them), and
    an AWS AgentCore span record ``{"timestamp", "raw_otel_json": <one span>}`` (CloudWatch
    ``aws/spans``; the span's attributes a flat map, its resource beside it)."""
    if not isinstance(obj, dict):
        return obj
    data = obj.get("data")
    if _is_request(data) and "resourceSpans" not in obj:
        if seen is not None:
            seen.add(ENVELOPE_REQUEST)
        return data
    raw = obj.get("raw_otel_json")
    if isinstance(raw, str):  # CloudWatch may keep the span as JSON text
        try:
            data_ = raw.encode()
            check_values("raw_otel_json", data_, 1)
            raw = json_loads(data_)
        except ValueError:
            return obj
    if isinstance(raw, dict):
        if seen is not None:
            seen.add(ENVELOPE_AGENTCORE)
        return raw
    return obj


def _resource(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The resource attributes an AgentCore span record carries beside its span (or None)."""
    res = rec.get("resource")
    return attributes(res.get("attributes")) if isinstance(res, dict) else None


def _records(
    obj: Any, line: int, seen: set[str] | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None] | None]:
    """Span records (with their resource attributes) in one parsed JSON value; None: not a span.
    Envelopes (:func:`unwrap`) are taken off, and named in ``seen``."""
    obj = unwrap(obj, seen)
    if isinstance(obj, dict) and ("resourceSpans" in obj or "resource_spans" in obj):
        rss = obj.get("resourceSpans", obj.get("resource_spans"))
        for rs in rss if isinstance(rss, list) else []:
            if not isinstance(rs, dict):
                yield None
                continue
            res = (
                attributes((rs.get("resource") or {}).get("attributes"))
                if isinstance(rs.get("resource"), dict)
                else {}
            )
            scopes = rs.get(
                "scopeSpans", rs.get("scope_spans", rs.get("instrumentationLibrarySpans"))
            )
            for ss in scopes if isinstance(scopes, list) else []:
                spans = ss.get("spans") if isinstance(ss, dict) else None
                for s in spans if isinstance(spans, list) else []:
                    yield (s, res) if isinstance(s, dict) else None
    elif isinstance(obj, dict) and isinstance(obj.get("spans"), list):
        for s in obj["spans"]:
            yield (s, None) if isinstance(s, dict) else None
    elif isinstance(obj, list):
        for s in obj:
            if isinstance(s, dict) and "raw_otel_json" in s:
                s = unwrap(s, seen)
                yield (s, _resource(s)) if isinstance(s, dict) else None
            else:
                yield (s, None) if isinstance(s, dict) else None
    elif isinstance(obj, dict):
        yield obj, _resource(obj) if "resource" in obj else None
    else:
        yield None


@dataclass
class _Open:
    trace: Trace
    has_root: bool = False
    touched: int = 0
    ids: set[str] = field(default_factory=set)

    def __init__(  # written out (compiled: the generated one stays Python; one a trace)
        self,
        trace: Trace,
        has_root: bool = False,
        touched: int = 0,
        ids: set[str] | None = None,
    ) -> None:
        self.trace, self.has_root, self.touched = trace, has_root, touched
        self.ids = set() if ids is None else ids


class Grouper:
    """Bounded per-trace buffer (see the module doc); also the Phoenix reader's."""

    def __init__(self, file: str, mapping: Mapping, stats: ImportStats, pipeline: str) -> None:
        self.file, self.mapping, self.stats, self.pipeline = file, mapping, stats, pipeline
        self.open: OrderedDict[str, _Open] = OrderedDict()
        self.flushed: OrderedDict[str, None] = OrderedDict()
        self.count = 0
        self.buffered = 0

    def take(self, got: tuple[str, Span] | None) -> list[RawEvent]:
        """:meth:`add` a span as read (None: a record without ids, counted as dropped)."""
        if got is None:
            self.stats.drop("span without a trace id and span id")
            return []
        return self.add(*got)

    def add(self, trace_id: str, span: Span) -> list[RawEvent]:
        """Buffer one span; return the events of the traces it made ready (often none)."""
        self.count += 1
        if trace_id in self.flushed:
            self.stats.drop("span arrived after its trace was flushed (late): dropped")
            return []
        o = self.open.get(trace_id)
        if o is None:
            o = self.open[trace_id] = _Open(Trace(trace_id, self.file, pipeline=self.pipeline))
        else:
            self.open.move_to_end(trace_id)
        if span.id in o.ids:
            self.stats.drop("duplicate span (same trace id and span id): one event")
        else:
            o.ids.add(span.id)
            o.trace.spans.append(span)
            self.buffered += 1
        o.touched = self.count
        o.has_root = o.has_root or span.parent is None
        return self._evict()

    def _evict(self) -> list[RawEvent]:
        out: list[RawEvent] = []
        while self.open:
            tid, o = next(iter(self.open.items()))
            quiet = o.has_root and self.count - o.touched >= QUIET_SPANS
            full = len(self.open) > MAX_OPEN_TRACES or self.buffered > MAX_BUFFERED_SPANS
            if not (quiet or full):
                # the oldest-touched trace is not ready; a quiet rooted one may sit behind it
                break
            out += self._flush(tid)
        return out

    def _flush(self, tid: str) -> list[RawEvent]:
        o = self.open.pop(tid)
        self.buffered -= len(o.trace.spans)
        self.flushed[tid] = None
        if len(self.flushed) > MAX_FLUSHED_IDS:
            self.flushed.popitem(last=False)
        return assemble(o.trace, self.mapping, self.stats)

    def finish(self) -> Iterator[RawEvent]:
        """The events of every trace still open, oldest first."""
        for tid in list(self.open):
            yield from self._flush(tid)


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every trace in an OTLP source, one run per trace id."""
    name = str(path)
    probe = probe or Probe.of(path)
    grouper = Grouper(name, mapping, stats, pipeline)
    seen: set[str] = set()
    if probe.is_jsonl or (probe.json is None and probe.first_record is not None):
        probe.release()  # the first record may be as large as a line may be
        for n, raw in iter_lines(path):
            check_values(name, raw, n)  # before either decoder makes an object a value
            got: otlp_shape.Request | None
            try:
                got = _decode_request(raw)
            except msgspec.DecodeError:  # not the common shape: enveloped, or the general reader
                got = _enveloped(raw)
                if got is None:
                    yield from _feed(grouper, parse_line(name, n, raw), n, stats, seen)
                    continue
                seen.add(ENVELOPE_REQUEST)
            yield from _feed_request(grouper, got, n, stats)
    else:
        doc = probe.document()
        if is_attribute_map(doc):
            seen.add(ATTRIBUTE_MAP)
            doc = _attribute_map_span(doc, name)
        elif not _looks_like_spans(doc):
            raise fail(
                name,
                "no OTLP spans in this document",
                1,
                'an ExportTraceServiceRequest ({"resourceSpans": [...]}) or span records',
            )
        yield from _feed(grouper, doc, 1, stats, seen)
    yield from grouper.finish()
    probe.deviations.extend(sorted(seen - set(probe.deviations)))


def _enveloped(raw: bytes) -> otlp_shape.Request | None:
    """The request of an envelope line decoded typed (``{"timestamp", "project_id", "data"}``
    around a request of the common shape), else None: such lines went through the general
    (dict) reader, a dict per attribute."""
    if b'"data"' not in raw:
        return None
    try:
        return _decode_envelope(raw).data
    except msgspec.DecodeError:
        return None


def _feed(
    grouper: Grouper, obj: Any, line: int, stats: ImportStats, seen: set[str] | None = None
) -> Iterator[RawEvent]:
    for item in _records(obj, line, seen):
        stats.records += 1
        if item is None:
            stats.drop("record is not a span object")
            continue
        ready = grouper.take(span_record(item[0], line, item[1]))
        if ready:
            yield from ready


def iter_spans(obj: Any, line: int = 1) -> Iterator[tuple[str, Span] | None]:
    """(trace id, span) for each span record in one parsed OTLP/JSON value (an
    ``ExportTraceServiceRequest``, span records); None for a record that is not a span."""
    for item in _records(obj, line):
        yield None if item is None else span_record(item[0], line, item[1])


ATTRIBUTE_MAP = (
    "one span's attributes alone (a flat GenAI/OpenInference attribute map: no trace id, span "
    "id or times): read as one span of one run, its time unknown"
)
_SPAN_DEFINING = ("gen_ai.operation.name", "openinference.span.kind")
_SPAN_PREFIXES = ("gen_ai.", "llm.", "openinference.", "tool.")


def is_attribute_map(doc: Any) -> bool:
    """True for one span's attribute map on its own (what a span viewer or a test fixture
    holds): a flat JSON object naming the span's GenAI operation or OpenInference kind, with
    no span structure (ids, times, ``resourceSpans``) around it."""
    if not isinstance(doc, dict) or not any(k in doc for k in _SPAN_DEFINING):
        return False
    if any(k in doc for k in ("resourceSpans", "spans", "traceId", "trace_id", "context")):
        return False
    return all(not isinstance(v, dict) for v in doc.values()) and (
        sum(1 for k in doc if isinstance(k, str) and k.startswith(_SPAN_PREFIXES)) >= 2
    )


def _attribute_map_span(doc: dict[str, Any], file: str) -> dict[str, Any]:
    """The span record an attribute map stands for: ids made from the file's name (one run
    per file), no times (the import marks them unknown), no name."""
    import hashlib

    digest = hashlib.sha256(file.encode("utf-8", "replace")).hexdigest()
    # no name: the span's kind comes from its attributes, and the agent (the name of a root
    # span that names none) is unknown
    return {"traceId": digest[:32], "spanId": digest[32:48], "name": "unknown", "attributes": doc}


def _looks_like_spans(doc: Any) -> bool:
    doc = unwrap(doc)
    if isinstance(doc, dict):
        return (
            "resourceSpans" in doc or "resource_spans" in doc or isinstance(doc.get("spans"), list)
        )
    return isinstance(doc, list)


def _is_agentcore(obj: Any) -> bool:
    return isinstance(obj, dict) and "raw_otel_json" in obj and is_span_record(unwrap(obj))


def is_span_record(obj: Any) -> bool:
    """True for a dict that is one OTLP span JSON or SDK span dump."""
    if not isinstance(obj, dict):
        return False
    ctx = obj.get("context")
    if isinstance(ctx, dict) and "span_id" in ctx and "trace_id" in ctx:
        return True
    if "timeUnixNano" in obj and "name" not in obj and "startTimeUnixNano" not in obj:
        return False  # an OTel log record (agentcore-logs reads those), not a span
    return ("traceId" in obj and "spanId" in obj) or ("trace_id" in obj and "span_id" in obj)


def sniff(probe: Probe) -> str | None:
    """What OTLP shape the source is (None: not OTLP; nor a Phoenix export, whose span kind
    is beside the attributes: read as OTLP, no span had one)."""
    doc = probe.json
    first = doc[0] if isinstance(doc, list) and doc else probe.first_line_json
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and doc["data"]:
        first = doc["data"][0]
    if isinstance(first, dict) and "span_kind" in first:
        return None
    if isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
        return "an OTLP/JSON ExportTraceServiceRequest"
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("spans"), list)
        and doc["spans"]
        and is_span_record(doc["spans"][0])
    ):
        return "a JSON document of OpenTelemetry SDK span records"
    if isinstance(doc, list) and doc and is_span_record(doc[0]):
        return "a JSON array of OTLP span records"
    if isinstance(doc, list) and doc and _is_agentcore(doc[0]):
        return "a JSON array of AWS AgentCore span records ({timestamp, raw_otel_json})"
    if isinstance(doc, dict) and _is_request(doc.get("data")):
        return "an OTLP/JSON ExportTraceServiceRequest in an envelope ({timestamp, data})"
    if is_attribute_map(doc):
        return "one span's attributes alone (a flat GenAI/OpenInference attribute map)"
    if doc is None:
        first_obj = probe.first_line_json
        if first_obj is None and not probe.is_jsonl:
            first_obj = probe.first_record  # a first line longer than the head
        if _is_request(first_obj):
            return "OTLP/JSON Lines (one ExportTraceServiceRequest a line)"
        if isinstance(first_obj, dict) and _is_request(first_obj.get("data")):
            return (
                "OTLP/JSON Lines, each ExportTraceServiceRequest wrapped in an envelope "
                "({timestamp, project_id, data})"
            )
        if is_span_record(first_obj):
            return "JSON Lines of OTLP span records"
        if _is_agentcore(first_obj):
            return "JSON Lines of AWS AgentCore span records ({timestamp, raw_otel_json})"
    return None
