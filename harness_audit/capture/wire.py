"""Counting an OTLP protobuf body before it is parsed: spans and items, from the wire format.

A protobuf message costs memory by how many sub-messages it has, not by its size: an empty
span is two bytes on the wire and about 170 bytes parsed, so 64 MiB of empty spans parse to
about 5.6 GiB. :func:`count` walks the body's wire format (tags and lengths; no value is
decoded) along the ``ExportTraceServiceRequest`` schema and stops with :class:`TooMany` as
soon as the spans or the items pass their bounds, so the parser only ever sees a body whose
parsed size the bounds fix.

An *item* is everything the parser would make an object of: each sub-message (a resource,
a scope, a span, an attribute, its value, an event, a link, a status, a value of an array or
of a map) and each element of a repeated field. Fields the schema does not know are kept by
the parser as raw bytes (no object each), so they are skipped, as are a scalar's bytes. The
walk keeps a stack of at most :data:`MAX_DEPTH` open messages (the parser's own limit); a
body that is not well-formed protobuf is :class:`Malformed`.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 100
"""Nested messages at most (the upb parser refuses deeper ones too)."""


class Malformed(Exception):
    """The body is not well-formed protobuf wire format."""


class TooMany(Exception):
    """More spans (``what == "spans"``) or items than allowed."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


# a message type: field number -> (the field's message type when the walk goes into it, is
# the field an item (a message, or a repeated field), is it the span)
_Table = dict[int, tuple[Any, bool, bool]]
_TABLES: dict[str, _Table] = {}
_ROOT: _Table | None = None
_SPAN = "opentelemetry.proto.trace.v1.Span"


def _table(desc: Any) -> _Table:
    """The walk's view of one message type (built once from the generated descriptors)."""
    got = _TABLES.get(desc.full_name)
    if got is not None:
        return got
    table: _Table = {}
    _TABLES[desc.full_name] = table  # before the fields: the schema is recursive
    for f in desc.fields:
        sub = f.message_type
        child = _table(sub) if sub is not None and _walked(sub, set()) else None
        item = sub is not None or bool(f.is_repeated)
        table[f.number] = (child, item, sub is not None and sub.full_name == _SPAN)
    return table


def _walked(desc: Any, seen: set[str]) -> bool:
    """True when a message of this type can hold items (a sub-message or a repeated field):
    the walk goes into it; else it is one item and its bytes are skipped."""
    if desc.full_name in seen:
        return True
    seen.add(desc.full_name)
    return any(f.message_type is not None or f.is_repeated for f in desc.fields)


_SHALLOW: _Table | None = None


def _root(deep: bool) -> _Table:
    """The request's table: ``deep``, the whole schema; else down to the spans only (each
    span, resource and scope one item, not walked into)."""
    global _ROOT, _SHALLOW
    if _ROOT is None or _SHALLOW is None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        _ROOT = _table(ExportTraceServiceRequest.DESCRIPTOR)

        def shallow(table: _Table, depth: int) -> _Table:
            out: _Table = {}
            for num, (child, item, span) in table.items():
                keep = child is not None and depth < 2 and not span
                out[num] = (shallow(child, depth + 1) if keep else None, item, span)
            return out

        _SHALLOW = shallow(_ROOT, 0)
    return _ROOT if deep else _SHALLOW


def _varint(data: bytes | bytearray, pos: int, end: int) -> tuple[int, int]:
    """The varint at ``pos`` (at most 10 bytes, inside ``end``) and the position after it."""
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Malformed
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def count(
    data: bytes | bytearray, max_spans: int, max_items: int, deep: bool = True
) -> tuple[int, int]:
    """(spans, items) of an ``ExportTraceServiceRequest`` body; :class:`TooMany` as soon as
    one passes its bound, :class:`Malformed` for bytes that are not protobuf. Not ``deep``:
    the spans only are counted exactly (the items down to them; a span's own are not)."""
    table = _root(deep)
    stack: list[tuple[int, _Table]] = []
    pos, end = 0, len(data)
    spans = items = 0
    while True:
        if pos >= end:
            if pos > end:
                raise Malformed
            if not stack:
                return spans, items
            end, table = stack.pop()
            continue
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = _varint(data, pos, end)
        wire = tag & 7
        if wire == 2:
            length = data[pos] if pos < end else 0x80
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(data, pos, end)
            stop = pos + length
            if stop > end:
                raise Malformed
            entry = table.get(tag >> 3)
            if entry is not None:
                child, item, span = entry
                if item:
                    items += 1
                    if items > max_items:
                        raise TooMany("items")
                if span:
                    spans += 1
                    if spans > max_spans:
                        raise TooMany("spans")
                if child is not None:
                    if len(stack) >= MAX_DEPTH:
                        raise Malformed
                    stack.append((end, table))
                    table, end = child, stop
                    continue
            pos = stop
        elif wire == 0:
            while True:
                if pos >= end:
                    raise Malformed
                pos += 1
                if data[pos - 1] < 0x80:
                    break
            if (tag >> 3) in table and table[tag >> 3][1]:
                items += 1  # a repeated varint (none in OTLP today)
                if items > max_items:
                    raise TooMany("items")
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise Malformed  # groups (3, 4) are not in OTLP; 6 and 7 are no wire type
