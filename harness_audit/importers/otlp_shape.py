"""The OTLP/JSON shape of a trace export (``ExportTraceServiceRequest`` with the proto's
field names, as opentelemetry-proto's JSON mapping writes them) as msgspec structs.

:func:`decode_request` decodes a JSON Lines record of exactly that shape, every other field a
:class:`msgspec.ValidationError`, so that :mod:`~harness_audit.importers.otlp` reads it without
a dict per attribute and gives anything else to its general reader. Fields typed ``Any`` hold
what the general reader would see. (A module of its own: the reader is compiled by mypyc,
msgspec structs are not.)
"""

from __future__ import annotations

from typing import Any

import msgspec


class Value(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``AnyValue`` (common.proto) in the JSON mapping."""

    stringValue: Any = msgspec.UNSET
    boolValue: Any = msgspec.UNSET
    intValue: Any = msgspec.UNSET
    doubleValue: Any = msgspec.UNSET
    arrayValue: Any = msgspec.UNSET
    kvlistValue: Any = msgspec.UNSET
    bytesValue: Any = msgspec.UNSET


class KeyValue(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``KeyValue`` (common.proto) in the JSON mapping."""

    key: Any = None
    value: Value | None = None


class SpanEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``Span.Event`` (trace.proto) in the JSON mapping."""

    timeUnixNano: Any = None
    name: Any = None
    attributes: list[KeyValue] = []
    droppedAttributesCount: Any = None


class SpanJson(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``Span`` (trace.proto) in the JSON mapping."""

    traceId: Any = None
    spanId: Any = None
    traceState: Any = None
    parentSpanId: Any = None
    flags: Any = None
    name: Any = None
    kind: Any = None
    startTimeUnixNano: Any = None
    endTimeUnixNano: Any = None
    attributes: list[KeyValue] = []
    droppedAttributesCount: Any = None
    events: list[SpanEvent] = []
    droppedEventsCount: Any = None
    links: Any = None
    droppedLinksCount: Any = None
    status: Any = None


class ScopeSpans(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``ScopeSpans`` (trace.proto) in the JSON mapping."""

    scope: Any = None
    spans: list[SpanJson] = []
    schemaUrl: Any = None


class ResourceSpans(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``ResourceSpans`` (trace.proto) in the JSON mapping."""

    resource: Any = None
    scopeSpans: list[ScopeSpans] = []
    schemaUrl: Any = None


class Request(msgspec.Struct, forbid_unknown_fields=True):
    """The message ``ExportTraceServiceRequest`` (trace_service.proto) in the JSON mapping."""

    resourceSpans: list[ResourceSpans]


class Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """A request wrapped as collectors store it, one a line: ``{"timestamp", "project_id",
    "data": <ExportTraceServiceRequest>}`` (what :func:`~harness_audit.importers.otlp.unwrap`
    takes off the same record read as a dict)."""

    data: Request
    timestamp: Any = None
    project_id: Any = None


decode_request = msgspec.json.Decoder(Request).decode
"""One JSON Lines record as a :class:`Request`; :class:`msgspec.DecodeError` when it is not
JSON or not exactly that shape."""

decode_envelope = msgspec.json.Decoder(Envelope).decode
"""One JSON Lines record as an :class:`Envelope` of a request of exactly that shape;
:class:`msgspec.DecodeError` otherwise."""
