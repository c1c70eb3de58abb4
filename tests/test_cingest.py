"""Issue 28, item 5 (session 7): collect's C reading of OTLP protobuf bodies
(``capture/_cingest.c``) against its reference, upb (``decode._upb_parts``).

Where the C reading answers, it gives the very parts upb's reading gives; where it does not
(``None``), the body goes to upb, which reads it or refuses it as before. Differential
tests over generated requests (every value type, nesting past the depth that is read, the
bounds on attributes, values and events, fields in any order, text beyond ASCII), the real
OTLP traces of ``../shared/real`` as protobuf, and bodies cut, mutated or random (no crash,
never an answer upb would not give). No timing is asserted (figures: bench/README.md)."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harness_audit.capture.decode import Rejected
from tests.conftest import SHARED
from tests.purekit import as_python

_cingest = pytest.importorskip("harness_audit.capture._cingest")
# (the package exports a function of that name: the module, by its full name)
decode = importlib.import_module("harness_audit.capture.decode")

REAL = SHARED / "real"


def _same(a: Any, b: Any) -> bool:
    """Equal, a NaN equal to a NaN, and of the same types all the way down (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _upb(body: bytes) -> list[Any] | None:
    """upb's parts, or None when upb refuses the body."""
    try:
        return decode._upb_parts(body)
    except Rejected:
        return None


def _check(body: bytes, *, taken: bool | None = None) -> None:
    """The C reading gives upb's parts or hands the body over (``taken``: which is asserted)."""
    got = _cingest.otlp_spans(body)
    if taken is not None:
        assert (got is not None) == taken
    if got is None:
        return
    want = _upb(body)
    assert want is not None, "the C reading took a body upb refuses"
    assert _same(got, want)
    # one resource dict for all spans of a ResourceSpans, as upb's reading makes it
    assert len({id(p[8]) for p in got}) == len({id(p[8]) for p in want})


# -- generated requests -------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_KEYS = st.sampled_from(["gen_ai.request.model", "gen_ai.usage.input_tokens", "k", "", "é"])


def _value(draw: Any, v: Any, depth: int) -> None:
    how = draw(
        st.sampled_from(
            ["string", "empty", "bool", "int", "double", "bytes", "none", "array", "kvlist"]
            if depth < 11
            else ["string", "int"]
        )
    )
    if how == "string":
        v.string_value = draw(_TEXT)
    elif how == "empty":
        v.string_value = ""
    elif how == "bool":
        v.bool_value = draw(st.booleans())
    elif how == "int":
        v.int_value = draw(st.integers(-(2**63), 2**63 - 1))
    elif how == "double":
        v.double_value = draw(st.floats(allow_nan=True))
    elif how == "bytes":
        v.bytes_value = draw(st.binary(max_size=4))
    elif how == "array":
        v.array_value.SetInParent()
        for _ in range(draw(st.integers(0, 3))):
            _value(draw, v.array_value.values.add(), depth + 1)
    elif how == "kvlist":
        v.kvlist_value.SetInParent()
        for _ in range(draw(st.integers(0, 3))):
            kv = v.kvlist_value.values.add()
            kv.key = draw(_KEYS)
            _value(draw, kv.value, depth + 1)


def _attrs(draw: Any, into: Any, most: int = 4) -> None:
    for _ in range(draw(st.integers(0, most))):
        kv = into.add()
        kv.key = draw(_KEYS)
        if draw(st.booleans()):
            _value(draw, kv.value, 0)


_ID = st.one_of(
    st.just(b""), st.binary(min_size=8, max_size=8), st.binary(min_size=16, max_size=16)
)


@st.composite
def requests(draw: Any) -> bytes:
    req = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = req.resource_spans.add()
        if draw(st.booleans()):
            _attrs(draw, rs.resource.attributes)
            rs.resource.dropped_attributes_count = draw(st.integers(0, 3))
        rs.schema_url = draw(st.sampled_from(["", "https://opentelemetry.io/schemas/1.21.0"]))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            if draw(st.booleans()):
                ss.scope.name, ss.scope.version = draw(_TEXT), draw(_TEXT)
                _attrs(draw, ss.scope.attributes, 2)
            for _ in range(draw(st.integers(0, 3))):
                sp = ss.spans.add()
                sp.trace_id = draw(st.one_of(_ID, st.just(bytes(16))))
                sp.span_id = draw(st.one_of(_ID, st.just(bytes(8))))
                sp.parent_span_id = draw(_ID)
                sp.name = draw(_TEXT)
                sp.trace_state = draw(st.sampled_from(["", "a=b"]))
                sp.kind = draw(st.integers(0, 5))
                sp.flags = draw(st.integers(0, 2**32 - 1))
                sp.start_time_unix_nano = draw(st.integers(0, 2**64 - 1))
                sp.end_time_unix_nano = draw(st.integers(0, 2**64 - 1))
                _attrs(draw, sp.attributes)
                for _ in range(draw(st.integers(0, 2))):
                    ev = sp.events.add()
                    ev.name = draw(_TEXT)
                    ev.time_unix_nano = draw(st.integers(0, 2**64 - 1))
                    _attrs(draw, ev.attributes, 2)
                for _ in range(draw(st.integers(0, 1))):
                    link = sp.links.add()
                    link.trace_id, link.span_id = draw(_ID), draw(_ID)
                    link.trace_state = draw(_TEXT)
                    _attrs(draw, link.attributes, 2)
                if draw(st.booleans()):
                    sp.status.code = draw(st.integers(0, 2))
                    sp.status.message = draw(_TEXT)
    body = req.SerializeToString()
    if draw(st.booleans()):  # a field order a serializer may choose: each top message reversed
        body = b"".join(_fields(body)[::-1])
    return body


def _fields(body: bytes) -> list[bytes]:
    """The top-level fields of a message, each with its tag (all length-delimited here)."""
    out, at = [], 0
    while at < len(body):
        start = at
        at += 1  # tag 0x0a
        n = shift = 0
        while True:
            b = body[at]
            at += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        at += n
        out.append(body[start:at])
    return out


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_the_c_reading_gives_upbs_parts(body: bytes) -> None:
    _check(body, taken=True)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.data())
def test_a_body_cut_or_mutated_is_read_as_upb_reads_it_or_handed_over(
    body: bytes, data: st.DataObject
) -> None:
    """A byte changed, inserted or removed, or the body cut: the C reading never crashes and
    never gives anything but upb's parts."""
    if not body:
        body = b"\x0a\x00"
    at = data.draw(st.integers(0, len(body) - 1))
    how = data.draw(st.sampled_from(["set", "insert", "delete", "cut"]))
    byte = bytes([data.draw(st.integers(0, 255))])
    if how == "set":
        body = body[:at] + byte + body[at + 1 :]
    elif how == "insert":
        body = body[:at] + byte + body[at:]
    elif how == "delete":
        body = body[:at] + body[at + 1 :]
    else:
        body = body[:at]
    _check(body)


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_random_bytes_never_crash_and_never_read_otherwise(body: bytes) -> None:
    _check(body)


# -- what is handed to upb, and the bounds ----------------------------------------------------


def _one_span(**fields: Any) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    sp = req.resource_spans.add().scope_spans.add().spans.add()
    sp.trace_id, sp.span_id, sp.name = b"\x01" * 16, b"\x02" * 8, "chat"
    for k, v in fields.items():
        setattr(sp, k, v)
    return req


def test_what_the_c_reading_does_not_take_goes_to_upb() -> None:
    base = _one_span().SerializeToString()
    _check(base, taken=True)
    _check(base + b"\x0a\x00", taken=True)  # a second, empty ResourceSpans (repeated)
    # a string value by index (a newer schema's member): upb reads it, the C reading hands over
    req = _one_span()
    kv = req.resource_spans[0].scope_spans[0].spans[0].attributes.add()
    kv.key, kv.value.string_value_strindex = "k", 3
    _check(req.SerializeToString(), taken=False)
    assert decode._upb_parts(req.SerializeToString())[0][7] == {"k": 3}
    # a field number the request does not have: upb keeps it as unknown, the C reading hands over
    _check(base + b"\xf8\x01\x01", taken=False)
    assert decode._upb_parts(base + b"\xf8\x01\x01")
    # text that is not UTF-8: upb refuses the body, the C reading hands it over
    bad = base.replace(b"chat", b"ch\xffa")
    assert _cingest.otlp_spans(bad) is None
    with pytest.raises(Rejected):
        decode.decode(bad, "application/x-protobuf")


def test_a_repeated_singular_field_is_handed_to_upb() -> None:
    sp = _one_span().resource_spans[0].scope_spans[0].spans[0]
    inner = sp.SerializeToString() + b"\x2a\x05other"  # name (5) again: upb keeps "other"
    ss = b"\x12" + bytes([len(inner)]) + inner
    rs = b"\x12" + bytes([len(ss)]) + ss
    body = b"\x0a" + bytes([len(rs)]) + rs
    assert _cingest.otlp_spans(body) is None
    assert decode._upb_parts(body)[0][3] == "other"


def test_the_bounds_on_attributes_values_and_events_are_upbs() -> None:
    req = _one_span()
    sp = req.resource_spans[0].scope_spans[0].spans[0]
    for i in range(decode.MAX_ATTRIBUTES + 5):
        kv = sp.attributes.add()
        kv.key, kv.value.int_value = f"k{i % (decode.MAX_ATTRIBUTES + 2)}", i
    arr = sp.attributes.add()
    arr.key = "first"  # past the bound: not kept
    for i in range(1005):
        sp.events.add().name = f"e{i}"
    req2 = _one_span()
    v = req2.resource_spans[0].scope_spans[0].spans[0].attributes.add()
    v.key = "deep"
    val = v.value
    for _ in range(12):
        val = val.array_value.values.add()
    val.string_value = "bottom"
    big = req2.resource_spans[0].scope_spans[0].spans[0].attributes.add()
    big.key = "big"
    for i in range(1003):
        big.value.array_value.values.add().int_value = i
    for body in (req.SerializeToString(), req2.SerializeToString()):
        _check(body, taken=True)
    parts = _cingest.otlp_spans(req.SerializeToString())[0]
    assert len(parts[7]) == decode.MAX_ATTRIBUTES and "first" not in parts[7]
    assert len(parts[9]) == decode.MAX_EVENTS_PER_SPAN
    attrs = _cingest.otlp_spans(req2.SerializeToString())[0][7]
    assert len(attrs["big"]) == 1000
    deep = attrs["deep"]
    for _ in range(8):
        deep = deep[0]
    assert deep == [None]  # below 8 levels: None, as _pb_value reads it


def test_nesting_past_the_c_readings_limit_goes_to_upb() -> None:
    req = _one_span()
    v = req.resource_spans[0].scope_spans[0].spans[0].attributes.add()
    v.key = "deep"
    val = v.value
    for _ in range(22):  # 3 messages a level: past the C reading's 64, within upb's 100
        val = val.kvlist_value.values.add().value
    body = req.SerializeToString()
    assert _cingest.otlp_spans(body) is None
    assert decode._upb_parts(body)  # upb reads it (its limit is 100)


# -- real traces, and the decoder end to end --------------------------------------------------


def _requests_in(path: Path) -> Iterator[str]:
    """The JSON texts of ``path``: the whole file, or each line of JSON Lines (gzip too)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8", "replace")
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        yield from (line for line in text.splitlines() if line.strip())
    else:
        yield text


def _real_bodies() -> list[tuple[str, bytes]]:
    """The real OTLP/JSON requests of ``../shared/real`` as protobuf (other files skipped)."""
    out = []
    paths = [
        *sorted((REAL / "otel").glob("*.json")),
        *sorted((REAL / "set2" / "otel-attr-fixtures").glob("*.json")),
        *sorted((REAL / "set2" / "otlp-jsonl").glob("*")),
    ]
    for path in paths:
        for text in _requests_in(path):
            try:
                doc = json.loads(text)
            except ValueError:
                continue
            doc = doc.get("data", doc) if isinstance(doc, dict) else doc  # an envelope
            req = ExportTraceServiceRequest()
            try:
                json_format.ParseDict(doc, req, ignore_unknown_fields=True)
            except (json_format.ParseError, AttributeError, TypeError):
                continue  # not a request in the proto3 JSON mapping (read by the JSON path)
            if any(ss.spans for rs in req.resource_spans for ss in rs.scope_spans):
                out.append((path.name, req.SerializeToString()))
    return out


@pytest.mark.skipif(
    not (REAL / "otel").is_dir(), reason="../shared/real is not beside the checkout"
)
def test_real_traces_as_protobuf_read_the_same() -> None:
    bodies = _real_bodies()
    assert len({name for name, _ in bodies}) >= 3
    for name, body in bodies:
        assert _cingest.otlp_spans(body), name
        _check(body, taken=True)


def _decoded(module: Any, body: bytes) -> list[Any]:
    return [(t, dataclasses.astuple(s)) for t, s in module.decode(body, "application/x-protobuf")]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_decode_gives_the_same_spans_with_the_c_reading_or_upbs(body: bytes) -> None:
    """The whole decoding (ids checked, spans made): the built module, its source run as
    Python with the C reading, and its source without it (HARNESS_AUDIT_CORE=python)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_AUDIT_CORE", "python")
        pure = as_python("harness_audit.capture.decode")
        mp.delenv("HARNESS_AUDIT_CORE")
        with_c = as_python("harness_audit.capture.decode")
    assert pure._C_READER is None
    assert with_c._C_READER is not None
    want = _decoded(pure, body)
    assert _same(_decoded(with_c, body), want)
    assert _same(_decoded(decode, body), want)


def test_the_c_reading_was_built_with_the_verifier_core() -> None:
    """The build that builds the C verifier core builds this too (same compiler, no library)."""
    from harness_audit.trail import _core

    if _core.available():
        assert Path(str(_cingest.__file__)).suffix == ".so"
        assert decode._C_READER is not None or _core.ENV in __import__("os").environ
