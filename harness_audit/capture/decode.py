"""One OTLP/HTTP trace request body -> ``(trace id, span)`` pairs, bounded.

Bodies are hostile: ``Content-Encoding: gzip`` (or ``deflate``) is inflated here with a bound
on the inflated size (a zip bomb stops at the bound), the span count is bounded, and an error
says a short fixed reason, never what the body held. ``application/x-protobuf`` is parsed by
``opentelemetry-proto`` (the upb protobuf runtime); ``application/json`` is OTLP/JSON, read by
the importer's own reader (:func:`harness_audit.importers.otlp.iter_spans`). Both end in
:func:`harness_audit.importers.otlp.make_span`, the one span reading.
"""

from __future__ import annotations

import zlib
from typing import Any

from harness_audit.importers.base import ImportStats
from harness_audit.importers.otlp import iter_spans, make_span
from harness_audit.importers.spans import Span

DEFAULT_MAX_DECODED_BYTES = 64 << 20
DEFAULT_MAX_SPANS = 100_000
MAX_EVENTS_PER_SPAN = 1000
MAX_ATTRIBUTES = 10_000


class Rejected(Exception):
    """A request the receiver refuses: ``status`` (400, 413, 415, 503) and a short reason
    that quotes nothing from the body."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its ``Content-Encoding`` (identity, gzip, deflate), at most ``limit``
    bytes once inflated (413 past it, 400 when it is not valid)."""
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        if len(body) > limit:
            raise Rejected(413, f"body over {limit} bytes")
        return body
    if enc not in ("gzip", "x-gzip", "deflate"):
        raise Rejected(415, "unsupported Content-Encoding (identity, gzip or deflate)")
    out = bytearray()
    data = body
    while data:
        d = zlib.decompressobj(31 if enc != "deflate" else 15)
        try:
            chunk = d.decompress(data, limit + 1 - len(out))
        except zlib.error:
            raise Rejected(400, f"body is not valid {enc}") from None
        out += chunk
        if len(out) > limit or d.unconsumed_tail:
            raise Rejected(413, f"body over {limit} bytes once inflated")
        if not d.eof:
            raise Rejected(400, f"{enc} body is truncated")
        data = d.unused_data if enc != "deflate" else b""  # gzip may have several members
    return bytes(out)


def _pb_value(v: Any, depth: int = 0) -> Any:
    which = v.WhichOneof("value")
    if which is None or depth > 8:
        return None
    if which == "array_value":
        return [_pb_value(x, depth + 1) for x in v.array_value.values[:1000]]
    if which == "kvlist_value":
        return {
            kv.key: _pb_value(kv.value, depth + 1) for kv in v.kvlist_value.values[:MAX_ATTRIBUTES]
        }
    if which == "bytes_value":
        return None  # as on import: bytes carry nothing the mapping reads
    return getattr(v, which)


def _pb_attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in kvs[:MAX_ATTRIBUTES]}


_STATUS = {1: "ok", 2: "error"}


def protobuf_spans(data: bytes, max_spans: int, stats: ImportStats) -> list[tuple[str, Span]]:
    """The spans of an ``ExportTraceServiceRequest`` in protobuf."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    try:
        req.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError):
        raise Rejected(400, "body is not a protobuf ExportTraceServiceRequest") from None
    n = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    if n > max_spans:
        raise Rejected(413, f"more than {max_spans} spans in one request")
    out: list[tuple[str, Span]] = []
    line = 0
    for rs in req.resource_spans:
        res = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for sp in ss.spans:
                line += 1
                stats.records += 1
                tid, sid = sp.trace_id, sp.span_id
                if len(tid) != 16 or len(sid) != 8 or not any(tid) or not any(sid):
                    stats.drop("span without a valid trace id and span id")
                    continue
                pid = sp.parent_span_id
                parent = pid.hex() if len(pid) == 8 and any(pid) else None
                events = [
                    (e.name, _pb_attrs(e.attributes), e.time_unix_nano or None)
                    for e in sp.events[:MAX_EVENTS_PER_SPAN]
                ]
                start = sp.start_time_unix_nano
                span = make_span(
                    sid.hex(),
                    parent,
                    sp.name,
                    start,
                    sp.end_time_unix_nano or start,
                    line,
                    _STATUS.get(sp.status.code, "unset"),
                    _pb_attrs(sp.attributes),
                    res,
                    events,
                )
                out.append((tid.hex(), span))
    return out


def json_spans(data: bytes, max_spans: int, stats: ImportStats) -> list[tuple[str, Span]]:
    """The spans of an ``ExportTraceServiceRequest`` in OTLP/JSON."""
    import orjson

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise Rejected(400, "body is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(
        doc.get("resourceSpans", doc.get("resource_spans")), list
    ):
        raise Rejected(
            400, "body is not an OTLP/JSON ExportTraceServiceRequest (no resourceSpans list)"
        )
    out: list[tuple[str, Span]] = []
    n = 0
    for got in iter_spans(doc):
        n += 1
        if n > max_spans:
            raise Rejected(413, f"more than {max_spans} spans in one request")
        stats.records += 1
        if got is None:
            stats.drop("span without a valid trace id and span id")
            continue
        out.append(got)
    return out


def decode(
    body: bytes,
    content_type: str,
    content_encoding: str = "",
    *,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    max_spans: int = DEFAULT_MAX_SPANS,
    stats: ImportStats | None = None,
) -> list[tuple[str, Span]]:
    """The spans of one ``POST /v1/traces`` body; :class:`Rejected` for a body refused."""
    stats = stats if stats is not None else ImportStats()
    data = inflate(body, content_encoding, max_decoded_bytes)
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("application/x-protobuf", "application/protobuf"):
        return protobuf_spans(data, max_spans, stats)
    if ctype == "application/json":
        return json_spans(data, max_spans, stats)
    raise Rejected(415, "unsupported Content-Type (application/x-protobuf or application/json)")
