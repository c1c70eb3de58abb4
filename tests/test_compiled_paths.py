"""Issue 28, item 5 (session 6): the modules compiled for speed (``setup.py``'s ``MYPYC``: the
collect path's decoding and streaming mapping, the Claude Code, Codex, Langfuse and Phoenix
readers, the marking of unknowns) give exactly what their own source gives run as Python, on
real traces and on generated ones; and the faster time formatting gives the text the
formatting it replaced gave. Differential tests: no timing is asserted (the figures are in
bench/README.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harness_audit.capture import stream
from harness_audit.importers import claude_code, codex, langfuse, phoenix, unknown
from harness_audit.importers.base import ImportStats, Mapping, ns_to_ts
from harness_audit.importers.otlp import iter_spans, make_span
from tests.conftest import SHARED
from tests.purekit import as_python

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "import"
REAL = SHARED / "real"

# -- collect: decoding a request, mapping it as it streams ------------------------------------


def _real_otlp() -> list[Path]:
    return sorted((REAL / "otel").glob("*.json")) + sorted((REAL / "set2").glob("any-agent*/*"))


def _spans_of(path: Path) -> list[tuple[str, Any]]:
    return [s for s in iter_spans(json.loads(path.read_text())) if s is not None]


def _both_map(batches: list[list[tuple[str, Any]]]) -> tuple[list[Any], list[Any]]:
    """The events of ``batches`` by the built StreamMapper and by its source run as Python,
    with the counts each let go."""
    got = []
    for mapper in (stream.StreamMapper(), as_python("harness_audit.capture.stream").StreamMapper()):
        events = [e for b in batches for e in mapper.map_batch(b)]
        got.append([events, dict(mapper.flushed)])
    return got[0], got[1]


@pytest.mark.skipif(
    not (REAL / "otel").is_dir(), reason="../shared/real is not beside the checkout"
)
def test_the_built_stream_mapper_maps_real_traces_as_its_source() -> None:
    paths = _real_otlp()
    assert paths
    for path in paths:
        spans = _spans_of(path)
        one, each = [spans], [[s] for s in sorted(spans, key=lambda ts: ts[1].end)]
        for batches in (one, each, [spans[i : i + 3] for i in range(0, len(spans), 3)]):
            built, source = _both_map(batches)
            assert built == source, path.name
            assert built[0], path.name


_OPS = st.sampled_from(["invoke_agent", "chat", "execute_tool", "workflow"])


@st.composite
def _trees(draw: Any) -> list[list[tuple[str, Any]]]:
    """Spans of a few traces (agents, calls, tools, structure; parents that come later or
    never), in any order, cut into requests."""
    spans: list[tuple[str, Any]] = []
    for t in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 14))
        for i in range(n):
            parent = draw(st.integers(-1, i - 1)) if i else -1
            op = draw(_OPS)
            attrs: dict[str, Any] = {"gen_ai.operation.name": op}
            if op == "invoke_agent":
                attrs["gen_ai.agent.name"] = draw(st.sampled_from(["a", "b", ""]))
            elif op == "chat":
                attrs["gen_ai.request.model"] = "gpt-4o"
                if draw(st.booleans()):
                    attrs["gen_ai.usage.input_tokens"] = draw(st.integers(0, 10**6))
            elif op == "execute_tool":
                attrs["gen_ai.tool.name"] = draw(st.sampled_from(["search", "Delegate work"]))
            start = draw(st.integers(0, 10**12))
            span = make_span(f"{t:04x}{i + 1:012x}", f"{t:04x}{parent + 1:012x}" if parent >= 0
                             else None, f"{op} x", start, start + draw(st.integers(0, 10**9)),
                             i, draw(st.sampled_from(["unset", "ok", "error"])), attrs,
                             {"service.name": "svc"}, [])  # fmt: skip
            spans.append((f"{t + 1:032x}", span))
    order = draw(st.permutations(spans))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=4)))
    return [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True) if a < b]


@settings(max_examples=150)
@given(_trees(), st.booleans())
def test_the_built_stream_mapper_maps_any_batches_as_its_source(
    batches: list[list[tuple[str, Any]]], small: bool
) -> None:
    """Also at caps small enough that traces are ended and span ids let go."""
    if small:
        caps = {"MAX_SPANS_PER_TRACE": 4, "MAX_OPEN_TRACES": 2, "MAX_CLOSED_IDS": 5}
        with pytest.MonkeyPatch.context() as mp:
            for name, cap in caps.items():
                mp.setattr(stream, name, cap)
            source = as_python("harness_audit.capture.stream")
            for name, cap in caps.items():
                setattr(source, name, cap)
            got = [
                [e for b in batches for e in m.map_batch(b)]
                for m in (stream.StreamMapper(), source.StreamMapper())
            ]
        assert got[0] == got[1]
    else:
        built, source_got = _both_map(batches)
        assert built == source_got


_VALUES = st.sampled_from(["string", "empty", "int", "bool", "double", "array", "kvlist", "bytes"])


def _request(spans: list[list[tuple[str, str]]]) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "svc"
    ss = rs.scope_spans.add()
    for n, attrs in enumerate(spans):
        sp = ss.spans.add()
        sp.trace_id, sp.span_id = (7).to_bytes(16, "big"), (n + 1).to_bytes(8, "big")
        sp.name, sp.start_time_unix_nano, sp.end_time_unix_nano = "chat m", 10 + n, 20 + n
        for key, how in attrs:
            a = sp.attributes.add()
            a.key = key
            v = a.value
            if how == "string":
                v.string_value = "gpt-4o"
            elif how == "empty":
                v.string_value = ""
            elif how == "int":
                v.int_value = 812
            elif how == "bool":
                v.bool_value = False
            elif how == "double":
                v.double_value = 0.5
            elif how == "array":
                v.array_value.values.add().string_value = "x"
                v.array_value.values.add().int_value = 0
            elif how == "kvlist":
                item = v.kvlist_value.values.add()
                item.key, item.value.string_value = "k", ""
            elif how == "bytes":
                v.bytes_value = b"\x00"
    return req.SerializeToString()


_KEYS = st.sampled_from(["gen_ai.request.model", "gen_ai.usage.input_tokens", "x", "gen_ai.system"])


@settings(max_examples=100)
@given(st.lists(st.lists(st.tuples(_KEYS, _VALUES), max_size=6), min_size=1, max_size=5))
def test_the_built_decoder_reads_every_value_as_its_source(
    spans: list[list[tuple[str, str]]],
) -> None:
    """Strings (empty ones too: the oneof's default when another member is set), numbers,
    booleans, arrays, maps and bytes: the same spans."""
    body = _request(spans)
    source = as_python("harness_audit.capture.decode")
    from harness_audit.capture.decode import decode

    got = [
        [(tid, dataclasses.astuple(s)) for tid, s in f(body, "application/x-protobuf")]
        for f in (decode, source.decode)
    ]
    assert got[0] == got[1] and len(got[0]) == len(spans)


# -- trail import: the compiled readers --------------------------------------------------------


def _read(module: Any, settle: Any, path: Path) -> tuple[list[Any], dict[str, Any]]:
    """(file, line, event with its unknowns marked by ``settle``) of every event, and the
    counts."""
    stats = ImportStats()
    events = [
        (raw.file, raw.line, settle.event(raw).event)
        for raw in module.read(path, Mapping(), stats, "imported", None)
    ]
    return events, dataclasses.asdict(stats)


def _inputs(tmp: Path) -> Iterator[tuple[str, Path]]:
    yield "claude_code", next((DATA / "claude_code").glob("*.jsonl"))
    yield "codex", next((DATA / "codex").glob("*.jsonl"))
    from tests.test_import_phoenix import SPANS

    phoenix_file = tmp / "spans.jsonl"
    phoenix_file.write_text("".join(json.dumps(s) + "\n" for s in SPANS))
    yield "phoenix", phoenix_file
    for path in sorted(REAL.glob("langfuse/*.json")) + sorted(REAL.glob("set2/langfuse/*.json")):
        yield "langfuse", path


def test_the_built_readers_read_as_their_source(tmp_path: Path) -> None:
    """The events (file, line, every field in its order, unknowns marked by the built and by
    the source ``Settle``) and the counts."""
    modules = {"claude_code": claude_code, "codex": codex, "phoenix": phoenix, "langfuse": langfuse}
    seen = set()
    for name, path in _inputs(tmp_path):
        built = _read(modules[name], unknown.Settle(), path)
        source = _read(
            as_python(f"harness_audit.importers.{name}"),
            as_python("harness_audit.importers.unknown").Settle(),
            path,
        )
        assert built[0], path
        assert json.dumps(built[0]) == json.dumps(source[0]), path  # fields in their order
        assert built[1] == source[1], path
        seen.add(name)
    assert {"claude_code", "codex", "phoenix"} <= seen


# -- time formatting ------------------------------------------------------------------------


def _old_ns_to_ts(ns: int) -> str:
    """``ns_to_ts`` as it was: a format per event."""
    ns = max(0, min(ns, 253402300799_999999999))
    secs, frac = divmod(ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac % 1_000_000 == 0:
        return f"{base}.{frac // 1_000_000:03d}Z"
    if frac % 1000 == 0:
        return f"{base}.{frac // 1000:06d}Z"
    return f"{base}.{frac:09d}Z"


_NS = (
    st.integers(-(10**20), 10**21)
    | st.integers(0, 4 * 10**18).map(lambda n: n - n % 1000)
    | st.integers(0, 4 * 10**18).map(lambda n: n - n % 1_000_000)
    | st.sampled_from([0, 1, 999, 10**9 - 1, 4 * 10**18, 253402300799_999999999, 2**62, 2**63])
)


@settings(max_examples=500)
@given(_NS)
def test_times_format_as_before(ns: int) -> None:
    """Milli, micro and nano digits, the clamps at 0 and at 9999-12-31, and past 64 bits."""
    assert ns_to_ts(ns) == _old_ns_to_ts(ns)
