"""One OTLP/HTTP trace request body -> ``(trace id, span)`` pairs, bounded; compiled by mypyc
(the last paragraph).

Bodies are hostile: ``Content-Encoding: gzip`` (or ``deflate``) is inflated here with a bound
on the inflated size (a zip bomb stops at the bound), and an error says a short fixed reason,
never what the body held. ``application/x-protobuf`` is read by ``_cingest`` (C, built with the
verifier core: the wire format straight into each span's parts) when it takes the body whole,
else parsed by ``opentelemetry-proto`` (the upb protobuf runtime), the reference: the same
parts either way (:func:`protobuf_spans`); ``application/json`` is OTLP/JSON, read by the
importer's own reader (:func:`harness_audit.importers.otlp.iter_spans`). Both end in
:func:`harness_audit.importers.otlp.make_span`, the one span reading.

What a body costs once parsed depends on how many things it holds, not on its size (two bytes
of protobuf, or three of JSON, make an empty span or object of 60 to 170 bytes), so both are
counted *before* anything is parsed, and a body over a bound is refused (413) without being
parsed at all:

- protobuf: the spans and the items (every sub-message and repeated element: attributes,
  values, events, links, ...) are counted from the wire format (:mod:`.wire`; no value is
  decoded). An item takes two bytes at least, so a body of at most ``2 * max_items`` bytes
  cannot pass the item bound and only its spans are counted (down to the span level);
- JSON: the values (objects, arrays, strings, numbers, literals) are bounded by the
  separators that introduce them outside strings (``{``, ``[``, ``,``), counted over the raw
  bytes (C speed), and outside strings only when that first count passes the bound.

So the memory of one request is bounded by the request limits: the body as sent
(``--max-body-bytes``), inflated (4 times that), and at most ``max_spans`` spans and
``max_items`` items parsed from it.

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

import zlib
from typing import Any

from harness_audit.importers.base import ImportStats
from harness_audit.importers.otlp import iter_spans, make_span
from harness_audit.importers.spans import Span

DEFAULT_MAX_DECODED_BYTES = 64 << 20
DEFAULT_MAX_SPANS = 100_000
DEFAULT_MAX_ITEMS = 4_000_000
MAX_EVENTS_PER_SPAN = 1000
MAX_ATTRIBUTES = 10_000


class Rejected(Exception):
    """A request the receiver refuses: ``status`` (400, 413, 415, 503) and a short reason
    that quotes nothing from the body."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_INFLATE_STEP = 1 << 20


def inflate(body: bytes, encoding: str, limit: int) -> bytes | bytearray:
    """The body without its ``Content-Encoding`` (identity, gzip, deflate), at most ``limit``
    bytes once inflated (413 past it, 400 when it is not valid). Inflated a step at a time
    into one buffer: never more than the bound (plus a step) is inflated, and the body is
    never held twice."""
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
        pending = data
        while True:
            try:  # max_length is never 0 here (0 would mean no bound)
                chunk = d.decompress(pending, min(_INFLATE_STEP, limit + 1 - len(out)))
            except zlib.error:
                raise Rejected(400, f"body is not valid {enc}") from None
            out += chunk
            if len(out) > limit:
                raise Rejected(413, f"body over {limit} bytes once inflated")
            pending = d.unconsumed_tail
            if d.eof or not (chunk or pending):
                break
        if not d.eof:
            raise Rejected(400, f"{enc} body is truncated")
        data = d.unused_data if enc != "deflate" else b""  # gzip may have several members
    return out


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
    out: dict[str, Any] = {}
    # (no copy of the list unless it is over the bound; strings, the common value, inline)
    for kv in kvs if len(kvs) <= MAX_ATTRIBUTES else kvs[:MAX_ATTRIBUTES]:
        v = kv.value
        s = v.string_value  # not empty: the oneof holds that string (a member unset reads "")
        if s or v.WhichOneof("value") == "string_value":
            out[kv.key] = s
        else:
            out[kv.key] = _pb_value(v)
    return out


_STATUS = {1: "ok", 2: "error"}
_ZERO16, _ZERO8 = bytes(16), bytes(8)


def _too_many(what: str, max_spans: int, max_items: int) -> Rejected:
    if what == "spans":
        return Rejected(413, f"more than {max_spans} spans in one request")
    return Rejected(
        413, f"more than {max_items} items (attributes, values, events, links) in one request"
    )


SpanParts = tuple[
    bytes, bytes, bytes, str, int, int, int, dict[str, Any], dict[str, Any], list[Any]
]
"""One span as read from the wire: trace id, span id, parent span id (raw bytes), name,
start and end (ns), status code, attributes, the resource's attributes (one dict for all
spans of a ``ResourceSpans``), span events as (name, attributes, time or None), the first
:data:`MAX_EVENTS_PER_SPAN`."""


def _upb_parts(data: bytes | bytearray) -> list[SpanParts]:
    """The :data:`SpanParts` of every span, read by upb (the reference reading)."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    try:
        req.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError):
        raise Rejected(400, "body is not a protobuf ExportTraceServiceRequest") from None
    out: list[SpanParts] = []
    for rs in req.resource_spans:
        res = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for sp in ss.spans:
                evs = sp.events
                events = (
                    [
                        (e.name, _pb_attrs(e.attributes), e.time_unix_nano or None)
                        for e in evs[:MAX_EVENTS_PER_SPAN]
                    ]
                    if evs
                    else []
                )
                out.append(
                    (
                        sp.trace_id,
                        sp.span_id,
                        sp.parent_span_id,
                        sp.name,
                        sp.start_time_unix_nano,
                        sp.end_time_unix_nano,
                        sp.status.code,
                        _pb_attrs(sp.attributes),
                        res,
                        events,
                    )
                )
    return out


def _c_reader() -> Any:
    """The C reading of the wire (``_cingest.otlp_spans``), or None: not built, or the
    pure core asked for (``HARNESS_AUDIT_CORE=python``, as for the verifier)."""
    import os

    if os.environ.get("HARNESS_AUDIT_CORE", "").strip().lower() == "python":
        return None
    try:
        from harness_audit.capture import _cingest  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _cingest.otlp_spans


_C_READER: Any = _c_reader()


def protobuf_spans(
    data: bytes | bytearray, max_spans: int, stats: ImportStats, max_items: int = DEFAULT_MAX_ITEMS
) -> list[tuple[str, Span]]:
    """The spans of an ``ExportTraceServiceRequest`` in protobuf, counted before parsing.

    Read by the C reading of the wire when it takes the body whole (``_cingest``, its
    module doc), else by upb (:func:`_upb_parts`): the same parts either way (a
    differential test)."""
    from harness_audit.capture import wire

    try:  # every span and item is two bytes at least: a small body is within the bounds
        if len(data) > 2 * min(max_spans, max_items):
            wire.count(data, max_spans, max_items, deep=len(data) > 2 * max_items)
    except wire.TooMany as e:
        raise _too_many(e.what, max_spans, max_items) from None
    except (wire.Malformed, IndexError):
        raise Rejected(400, "body is not a protobuf ExportTraceServiceRequest") from None
    parts: list[SpanParts] | None = _C_READER(data) if _C_READER is not None else None
    if parts is None:
        parts = _upb_parts(data)
    if len(parts) > max_spans:
        raise Rejected(413, f"more than {max_spans} spans in one request")
    out: list[tuple[str, Span]] = []
    line = 0
    for tid, sid, pid, name, start, end, code, attrs, res, events in parts:
        line += 1
        stats.records += 1
        # (all zero: compared, not any() over the bytes, a call per byte)
        if len(tid) != 16 or len(sid) != 8 or tid == _ZERO16 or sid == _ZERO8:
            stats.drop("span without a valid trace id and span id")
            continue
        parent = pid.hex() if len(pid) == 8 and pid != _ZERO8 else None
        span = make_span(
            sid.hex(),
            parent,
            name,
            start,
            end or start,
            line,
            _STATUS.get(code, "unset"),
            attrs,
            res,
            events,
        )
        out.append((tid.hex(), span))
    return out


_JSON_CHUNK = 256 << 10
_KEEP = b'",[{'
_DROP = bytes(b for b in range(256) if b not in _KEEP)


def json_values(data: bytes | bytearray, max_items: int) -> int:
    """At least as many as the JSON values in ``data`` (exact for separators outside
    strings): 1 + the ``{``, ``[`` and ``,`` that are not in a string. Counted over the raw
    bytes first (C speed); only when that passes ``max_items`` again outside strings, a
    chunk at a time (escapes removed, then everything but quotes and separators, then the
    parts between quotes that are outside strings), so memory stays a chunk's."""
    n = 1 + data.count(b",") + data.count(b"[") + data.count(b"{")
    if n <= max_items:
        return n
    n, inside, at, size = 1, False, 0, len(data)
    while at < size:
        stop = min(at + _JSON_CHUNK, size)
        piece = data[at:stop]
        if (len(piece) - len(piece.rstrip(b"\\"))) % 2 and stop < size:
            stop += 1  # never cut an escape in two: the escaped byte comes along
            piece = data[at:stop]
        chunk = piece.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _DROP)
        parts = chunk.split(b'"')
        outside = b"".join(parts[1 if inside else 0 :: 2])
        n += outside.count(b",") + outside.count(b"[") + outside.count(b"{")
        inside ^= len(parts) % 2 == 0  # an odd number of quotes: the string state turns
        at = stop
    return n


def json_spans(
    data: bytes | bytearray, max_spans: int, stats: ImportStats, max_items: int = DEFAULT_MAX_ITEMS
) -> list[tuple[str, Span]]:
    """The spans of an ``ExportTraceServiceRequest`` in OTLP/JSON, its values counted
    before parsing."""
    import orjson

    if json_values(data, max_items) > max_items:
        raise Rejected(413, f"more than {max_items} JSON values in one request")
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
    max_items: int = DEFAULT_MAX_ITEMS,
    stats: ImportStats | None = None,
) -> list[tuple[str, Span]]:
    """The spans of one ``POST /v1/traces`` body; :class:`Rejected` for a body refused."""
    stats = stats if stats is not None else ImportStats()
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype not in ("application/x-protobuf", "application/protobuf", "application/json"):
        raise Rejected(415, "unsupported Content-Type (application/x-protobuf or application/json)")
    data = inflate(body, content_encoding, max_decoded_bytes)
    if ctype == "application/json":
        return json_spans(data, max_spans, stats, max_items)
    return protobuf_spans(data, max_spans, stats, max_items)
