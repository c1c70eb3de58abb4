"""`collect` against hostile clients and a hostile disk (issue 23, items 4, 6, 7, 8, 9, 17):
each case runs the real receiver (`harness-audit collect` in a subprocess, aiohttp on
loopback) and real clients; memory is read as counts (peak RSS from /proc, tracemalloc, trace
events), never as wall time."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import resource
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("aiohttp")
pytest.importorskip("opentelemetry.proto")

import requests

from harness_audit.capture import TrailSink
from harness_audit.trail.note import Signer
from tests.collectkit import Collect, events, keys, verify
from tests.test_collect import PB, pb_request


def history(folder: Path) -> list[int]:
    """The tree sizes of the checkpoints kept in the folder's history."""
    return sorted(int(p.name.split(".")[0]) for p in (folder / "checkpoints").glob("*.checkpoint"))


def newest_size(folder: Path) -> int | None:
    path = folder / "trail.checkpoint"
    return int(path.read_text().split("\n")[1]) if path.exists() else None


# -- item 4: no checkpoint of the empty tree -------------------------------------------------------


def test_collect_on_an_empty_folder_signs_no_empty_tree_checkpoint(tmp_path: Path) -> None:
    """Started on an empty folder, idle past --checkpoint-seconds, stopped: no checkpoint at all
    (a checkpoint of size 0 anchors nothing, and one kept forever would be an anchor whoever
    can write the folder keeps after deleting the later ones). With events, every checkpoint
    kept covers at least one event."""
    key, pub = keys(tmp_path)
    folder = tmp_path / "trail"
    c = Collect(folder, key, "--checkpoint-seconds", "0.2")
    with contextlib.suppress(subprocess.TimeoutExpired):
        c.proc.wait(1.5)  # several ticks of the checkpoint timer, nothing received
    assert c.stop() == 0
    assert "no event received: no checkpoint signed" in c.stderr()
    assert "final checkpoint at tree size 0" not in c.stderr()
    assert not (folder / "trail.checkpoint").exists()
    assert history(folder) == []

    c = Collect(folder, key, "--checkpoint-seconds", "0.2")
    with contextlib.suppress(subprocess.TimeoutExpired):
        c.proc.wait(1)
    body, _ = pb_request(5, 3)
    assert requests.post(c.url, data=body, headers=PB, timeout=10).status_code == 200
    assert c.stop() == 0
    assert history(folder) and min(history(folder)) > 0
    assert newest_size(folder) == len(events(folder)) == 5
    assert f"final checkpoint at tree size {5:,}" in c.stderr()
    assert verify(folder, pub).returncode == 0


def test_sink_and_exporter_sign_nothing_for_an_empty_trail(tmp_path: Path) -> None:
    from harness_audit.otel import TrailSpanExporter

    signer = Signer.generate("k")
    sink = TrailSink(tmp_path / "s", "o", signer, checkpoint_seconds=0.0)
    sink.tick()
    sink.checkpoint()
    sink.close()
    assert history(tmp_path / "s") == [] and newest_size(tmp_path / "s") is None
    assert sink.signed is None and not sink.closed_signed
    exp = TrailSpanExporter(tmp_path / "e", "o", signer)
    assert exp.force_flush()
    exp.shutdown()
    assert history(tmp_path / "e") == [] and newest_size(tmp_path / "e") is None


# -- item 17: a full disk ------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str) -> Iterator[Path | None]:
    """A tmpfs of ``size`` (root can mount one); None when it cannot be mounted."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mnt)],
        capture_output=True,
    )
    if r.returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path: Path) -> None:
    """Write ``path`` until the disk refuses: the disk is then full."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno in (errno.ENOSPC, errno.EFBIG)
    finally:
        os.close(fd)


def post_until_refused(c: Collect, first: int, extra: int) -> tuple[list[str], list[int]]:
    acked: list[str] = []
    codes: list[int] = []
    session = requests.Session()
    n = first
    while codes.count(503) < extra and len(codes) < 20_000:
        n += 1
        body, ids = pb_request(n, 4)
        r = session.post(c.url, data=body, headers=PB, timeout=30)
        codes.append(r.status_code)
        if r.status_code == 200:
            acked += ids
    return acked, codes


def test_full_disk_says_what_it_last_signed_and_leaves_no_torn_files(tmp_path: Path) -> None:
    """On a full disk (a small tmpfs): each refused request is a 503 that leaves nothing behind
    (no `.torn` file, empty or not); at SIGTERM, when even the final checkpoint cannot be
    written, collect exits 1 and names the newest checkpoint it did sign (never one it did
    not); restarted once there is room, it signs every acknowledged event, once each."""
    key, pub = keys(tmp_path)
    with small_disk(tmp_path, "512k") as mnt:
        if mnt is None:
            pytest.skip("no tmpfs (not root): test_full_disk_by_file_size_limit covers it")
        folder = mnt / "trail"
        (mnt / "filler").touch()  # made while there is room: a full tmpfs refuses a new file
        c = Collect(
            folder,
            key,
            "--checkpoint-every",
            "200",
            "--checkpoint-seconds",
            "0",
            stderr_dir=tmp_path,
        )
        acked, codes = post_until_refused(c, 0, 3)
        assert codes.count(200) > 50 and codes[-1] == 503
        fill(mnt / "filler")  # what the refused requests gave back is taken again
        for n in range(3):  # more refused requests on the full disk
            body, _ = pb_request(50_000 + n, 4)
            assert requests.post(c.url, data=body, headers=PB, timeout=30).status_code == 503
        assert c.stop() == 1
        err = c.stderr()
        assert not list(folder.glob("*.torn*")), sorted(p.name for p in folder.glob("*"))
        signed = newest_size(folder)
        assert signed is not None and signed == max(history(folder)) > 0
        assert "NO final checkpoint" in err and "No space left on device" in err
        assert f"the newest checkpoint signed is at tree size {signed:,}" in err
        assert "final checkpoint at tree size" not in err
        (mnt / "filler").unlink()
        subprocess.run(["mount", "-o", "remount,size=4m", str(mnt)], check=True)
        c2 = Collect(folder, key, stderr_dir=tmp_path)
        assert c2.stop() == 0
        size = len(events(folder))
        assert f"final checkpoint at tree size {size:,}" in c2.stderr()
        assert newest_size(folder) == size
        spans = Counter(e["span"] for e in events(folder))
        assert all(spans[i] == 1 for i in acked)
        assert not list(folder.glob("*.torn*"))
        v = verify(folder, pub)
        assert v.returncode == 0 and "VERIFIED" in v.stdout, v.stdout + v.stderr


def test_full_disk_by_file_size_limit(tmp_path: Path) -> None:
    """The same without a mount: the receiver runs under RLIMIT_FSIZE, so its segment cannot
    grow past a size (EFBIG, the way a quota refuses): refused requests leave no `.torn`
    file, the final checkpoint (a small file) is signed, and what it says it signed is what
    is on disk."""
    key, pub = keys(tmp_path)
    folder = tmp_path / "trail"
    c = Collect(
        folder,
        key,
        "--checkpoint-every",
        "200",
        "--checkpoint-seconds",
        "0",
        rlimits={resource.RLIMIT_FSIZE: 192 << 10},
    )
    acked, codes = post_until_refused(c, 0, 5)
    assert codes.count(200) > 50 and codes[-1] == 503
    assert c.stop() == 0
    assert not list(folder.glob("*.torn*"))
    size = len(events(folder))
    m = re.search(r"final checkpoint at tree size ([\d,]+)", c.stderr())
    assert m and int(m.group(1).replace(",", "")) == size == newest_size(folder)
    spans = Counter(e["span"] for e in events(folder))
    assert all(spans[i] == 1 for i in acked)
    assert verify(folder, pub).returncode == 0


def test_a_refused_batch_is_cut_back_not_kept_as_a_torn_line(tmp_path: Path) -> None:
    """The library: a write refused by the disk leaves the segment as it was before the batch
    (the next open finds no torn line to keep aside)."""
    signer = Signer.generate("k")
    folder = tmp_path / "t"
    sink = TrailSink(folder, "o", signer, checkpoint_seconds=0)
    from harness_audit.capture.decode import decode

    sink.write(decode(pb_request(1, 3)[0], "application/x-protobuf"))
    seg = folder / "trail-000001.jsonl"
    before = seg.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 1000, hard))
    try:
        from harness_audit.capture import Unavailable

        with pytest.raises(Unavailable, match="too large"):
            sink.write(decode(pb_request(2, 40)[0], "application/x-protobuf"))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert seg.read_bytes() == before
    sink.write(decode(pb_request(3, 2)[0], "application/x-protobuf"))
    sink.close()
    assert not list(folder.glob("*.torn*"))
    assert sink.closed_signed and newest_size(folder) == len(events(folder)) == 9
    assert os.path.getsize(seg) > len(before)


def test_a_torn_line_that_cannot_be_kept_aside_leaves_no_empty_copy(tmp_path: Path) -> None:
    """Reopening a trail whose last line is torn (a crash) on a disk that refuses the copy:
    the open fails, and leaves no empty `.torn` file behind; with room it keeps the copy."""
    from harness_audit.capture.decode import decode

    signer = Signer.generate("k")
    folder = tmp_path / "t"
    sink = TrailSink(folder, "o", signer, checkpoint_seconds=0)
    sink.write(decode(pb_request(1, 3)[0], "application/x-protobuf"))
    sink.close()
    seg = folder / "trail-000001.jsonl"
    with seg.open("ab") as f:
        f.write(b'{"agent":"x","kind":' + b"x" * 4000)  # a torn last line
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        for _ in range(3):
            with pytest.raises(OSError):
                TrailSink(folder, "o", signer)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not list(folder.glob("*.torn*"))
    TrailSink(folder, "o", signer).close()
    assert [p.name for p in folder.glob("*.torn*")] == ["trail-000001.jsonl.torn"]


# -- item 6: bounded while decoding ----------------------------------------------------------------


def _field(num: int, data: bytes) -> bytes:
    from google.protobuf.internal.encoder import _VarintBytes

    return _VarintBytes(num << 3 | 2) + _VarintBytes(len(data)) + data


def pb_span_bomb(decoded: int = 64 << 20) -> bytes:
    """~``decoded`` bytes of empty spans (two bytes each), gzip: ~62 KB for 32 million."""
    import gzip

    return gzip.compress(_field(1, _field(2, b"\x12\x00" * ((decoded - 64) // 2))), 9)


def pb_item_bomb(items: int) -> bytes:
    """One span with ``items`` empty links (the costliest item parsed: ~84 bytes each)."""
    import gzip

    span = _field(2, b"\x11" * 8) + b"\x6a\x00" * items
    return gzip.compress(_field(1, _field(2, _field(2, span))), 9)


def json_bomb(decoded: int = 64 << 20, value: bytes = b"{}") -> bytes:
    import gzip

    head, tail = b'{"resourceSpans":[{"scopeSpans":[{"spans":[', b"]}]}]}"
    n = (decoded - 64) // (len(value) + 1)
    return gzip.compress(head + b",".join([value] * n) + tail, 9)


GZ_PB = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
GZ_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
MiB = 1 << 20


@pytest.mark.parametrize(
    ("name", "headers", "reason"),
    [
        ("pb-spans", GZ_PB, b"more than 100000 spans"),
        ("pb-items", GZ_PB, b"more than 4000000 items"),
        ("json-objects", GZ_JSON, b"more than 4000000 JSON values"),
        ("json-arrays", GZ_JSON, b"more than 4000000 JSON values"),
    ],
)
def test_a_small_body_of_many_empty_things_is_refused_before_it_is_parsed(
    tmp_path: Path, name: str, headers: dict[str, str], reason: bytes
) -> None:
    """A 62 KB gzip body of 32 million empty spans (or 4 million empty links, or 22 million
    `{}` / `[]` in JSON) took up to 5.6 GiB before its count was checked: now it is counted
    before parsing and refused (413), and the receiver's peak memory stays near the body's
    own bytes (the inflated body is bounded at 4 x --max-body-bytes = 64 MiB)."""
    body = {
        "pb-spans": pb_span_bomb,
        "pb-items": lambda: pb_item_bomb(4_000_001),
        "json-objects": json_bomb,
        "json-arrays": lambda: json_bomb(value=b"[]"),
    }[name]()
    assert len(body) < 100_000
    key, pub = keys(tmp_path)
    c = Collect(tmp_path / "trail", key)
    try:
        base = c.status("VmHWM")
        r = requests.post(c.url, data=body, headers=headers, timeout=120)
        grew = c.status("VmHWM") - base
        assert grew < 160 * MiB, f"peak RSS grew {grew / MiB:.0f} MiB"
        assert r.status_code == 413 and reason in r.content, r.content[:200]
        ok, _ = pb_request(3, 2)
        assert requests.post(c.url, data=ok, headers=PB, timeout=30).status_code == 200
    finally:
        assert c.stop() == 0
    assert verify(tmp_path / "trail", pub).returncode == 0


def test_items_under_the_bound_parse_within_the_memory_the_bound_states(tmp_path: Path) -> None:
    """Just under --max-items (the costliest item, an empty link): parsed, and the peak stays
    within what the limit states (about 84 bytes an item)."""
    key, _ = keys(tmp_path)
    c = Collect(tmp_path / "trail", key, "--max-items", "1000000")
    try:
        base = c.status("VmHWM")
        body = pb_item_bomb(999_990)
        r = requests.post(c.url, data=body, headers=GZ_PB, timeout=120)
        assert r.status_code == 200
        grew = c.status("VmHWM") - base
        assert grew < 1_000_000 * 84 + 64 * MiB, f"peak RSS grew {grew / MiB:.0f} MiB"
        r = requests.post(c.url, data=pb_item_bomb(1_000_001), headers=GZ_PB, timeout=120)
        assert r.status_code == 413
    finally:
        c.stop()


def test_json_values_are_counted_outside_strings_with_bounded_memory(monkeypatch: Any) -> None:
    """In-process: a JSON bomb is refused under tracemalloc with a peak of a few times the
    inflated body (no object is made of it), and strings full of separators do not count."""
    import gzip
    import tracemalloc

    from harness_audit.capture import Rejected, decode

    body = json_bomb(8 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(Rejected) as e:
            decode(body, "application/json", "gzip", max_items=100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.status == 413
    assert peak < 3 * (8 << 20), f"peak {peak / MiB:.1f} MiB"
    # a span whose attribute is a long string of separators is one span, not a bomb
    text = '{"a": [1, {"b": 2}], "c": "\\\\"}' * 20_000
    doc = (
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",'
        '"spanId":"b7ad6b7169203331","name":"execute_tool x","startTimeUnixNano":"1",'
        '"endTimeUnixNano":"2","attributes":[{"key":"gen_ai.operation.name","value":'
        '{"stringValue":"execute_tool"}},{"key":"payload","value":{"stringValue":'
        + __import__("json").dumps(text)
        + "}}]}]}]}]}"
    )
    got = decode(gzip.compress(doc.encode()), "application/json", "gzip", max_items=100)
    assert len(got) == 1


def _exact_values(v: Any) -> tuple[int, int]:
    """(values, empty containers) of a parsed JSON value."""
    if isinstance(v, dict):
        got = [_exact_values(x) for x in v.values()]
    elif isinstance(v, list):
        got = [_exact_values(x) for x in v]
    else:
        return 1, 0
    return 1 + sum(a for a, _ in got), (0 if got else 1) + sum(b for _, b in got)


_text = st.text(alphabet=st.sampled_from('ab",[{}]\\\n\u00e9\u2028'), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=150)
@given(doc=_json, chunk=st.integers(1, 9), ascii_only=st.booleans())
def test_json_values_is_exact_outside_strings_at_any_chunk_size(
    doc: Any, chunk: int, ascii_only: bool
) -> None:
    """The separator count, outside strings, over chunks of any size (escapes cut at any
    place): the values plus one for each empty container, never fewer than the values."""
    import importlib
    import json

    dec = importlib.import_module("harness_audit.capture.decode")  # the module, not decode()
    data = json.dumps(doc, ensure_ascii=ascii_only).encode()
    values, empty = _exact_values(doc)
    old = dec._JSON_CHUNK
    dec._JSON_CHUNK = chunk
    try:
        assert dec.json_values(data, 0) == values + empty
    finally:
        dec._JSON_CHUNK = old


def test_inflate_is_bounded_step_by_step() -> None:
    import gzip
    import zlib

    from harness_audit.capture.decode import Rejected, inflate

    data = bytes(range(256)) * 20_000
    assert inflate(gzip.compress(data), "gzip", len(data)) == data
    assert inflate(gzip.compress(data[:9]) + gzip.compress(data[9:]), "gzip", len(data)) == data
    assert inflate(zlib.compress(data), "deflate", len(data)) == data
    for enc, packed in (("gzip", gzip.compress(data)), ("deflate", zlib.compress(data))):
        with pytest.raises(Rejected) as e:
            inflate(packed, enc, len(data) - 1)
        assert e.value.status == 413
        with pytest.raises(Rejected) as e:
            inflate(packed[: len(packed) // 2], enc, len(data))
        assert e.value.status == 400


def test_wire_count_matches_the_parser_and_refuses_what_it_would() -> None:
    """The wire count agrees with the parsed request (spans, and items: every sub-message and
    repeated element), and refuses bytes that are not protobuf, as the parser does."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from harness_audit.capture import Rejected, decode, wire

    def items(msg: Any) -> int:
        n = 0
        for fd, value in msg.ListFields():
            values = value if fd.is_repeated else [value]
            for v in values:
                if fd.message_type is not None:
                    n += 1 + items(v)
                elif fd.is_repeated:
                    n += 1
        return n

    req = ExportTraceServiceRequest()
    for r in range(2):
        rs = req.resource_spans.add()
        kv = rs.resource.attributes.add()
        kv.key, kv.value.array_value.values.add().int_value = "k", 3
        for s in range(3):
            sp = rs.scope_spans.add().spans.add()
            sp.trace_id, sp.span_id = bytes([r + 1] * 16), bytes([s + 1] * 8)
            sp.events.add().attributes.add().value.kvlist_value.values.add().key = "x"
            sp.links.add().span_id = b"\x01" * 8
            sp.status.code = 2
    data = req.SerializeToString()
    assert wire.count(data, 10, 1000) == (6, items(req))
    assert wire.count(data, 10, 1000, deep=False)[0] == 6
    with pytest.raises(wire.TooMany):
        wire.count(data, 5, 1000)
    with pytest.raises(wire.TooMany):
        wire.count(data, 10, items(req) - 1)
    nested = b"\x08\x01"
    for _ in range(150):  # AnyValue in ArrayValue in AnyValue ...: deeper than the parser goes
        nested = _field(5, _field(1, nested))
    deep = _field(1, _field(1, _field(1, _field(2, nested))))
    for bad in (b"\x0a\x05\x00", b"\x0b", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", deep):
        with pytest.raises(wire.Malformed):
            wire.count(bad, 10**6, 10**6)
        with pytest.raises(Rejected) as e:
            decode(bad, "application/x-protobuf")
        assert e.value.status == 400


# -- item 7: linear in the spans of a request, whatever the trace's shape -------------------------


def _agent(i: int, parent: str, name: str | None = None) -> tuple[str, Any]:
    from harness_audit.importers.otlp import make_span

    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name or f"w{i}"}
    return "ab" * 16, make_span(f"{i + 1:016x}", parent, "invoke_agent", i, 10**9 - i, i,
                                "unset", attrs, {}, [])  # fmt: skip


def _tool(i: int, parent: str) -> tuple[str, Any]:
    from harness_audit.importers.otlp import make_span

    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}
    return "ab" * 16, make_span(f"{i + 1:016x}", parent, "execute_tool t", 1000 + i,
                                10**9 - i, i, "unset", attrs, {}, [])  # fmt: skip


MISSING = "f" * 16


def _shapes(n: int) -> dict[str, list[tuple[str, Any]]]:
    return {
        "agents whose parent never arrives": [_agent(i, MISSING) for i in range(n)],
        "a chain of agents": [_agent(i, f"{i:016x}" if i else MISSING) for i in range(n)],
        "a chain of tool calls": [_tool(i, f"{i:016x}" if i else MISSING) for i in range(n)],
    }


def _lines(batch: list[tuple[str, Any]]) -> int:
    """Python lines run (loop iterations included) mapping ``batch``: work, counted."""
    import sys

    from tests.purekit import as_python

    m = as_python("harness_audit.capture.stream").StreamMapper()  # its lines, compiled or not
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        return tracer

    sys.settrace(tracer)
    try:
        m.map_batch(batch)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("shape", list(_shapes(1)))
def test_a_request_costs_work_linear_in_its_spans(shape: str) -> None:
    """The work of mapping one request, counted in Python lines run, for 300 and for 3,000
    spans of one trace: ten times the spans is about ten times the work (it was a hundred:
    a set of the request's spans was rebuilt for each held agent, and every span walked its
    whole chain of ancestors)."""
    small, large = _lines(_shapes(300)[shape]), _lines(_shapes(3000)[shape])
    assert large < 25 * small, f"{large / small:.0f} x the work for 10 x the spans"


def test_twenty_thousand_held_agents_in_one_request_and_their_parent_later(
    tmp_path: Path,
) -> None:
    """The real receiver: one 3 MB request of 20,000 agent spans whose parent has not
    arrived, while another client sends a small request; both are answered, and when the
    parent agent arrives the 20,000 spawns are written."""
    import threading

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    def request(spans: list[tuple[int, int, str]]) -> bytes:
        req = ExportTraceServiceRequest()
        ss = req.resource_spans.add().scope_spans.add()
        for sid, parent, name in spans:
            sp = ss.spans.add()
            sp.trace_id = (0xAB).to_bytes(16, "big")
            sp.span_id = sid.to_bytes(8, "big")
            if parent:
                sp.parent_span_id = parent.to_bytes(8, "big")
            sp.name = f"invoke_agent {name}"
            sp.start_time_unix_nano = 1_700_000_000_000_000_000 + sid
            sp.end_time_unix_nano = sp.start_time_unix_nano + 10**6
            for k, v in (("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", name)):
                a = sp.attributes.add()
                a.key, a.value.string_value = k, v
        return req.SerializeToString()

    big = request([(i + 2, 1, f"worker_{i}") for i in range(20_000)])
    assert len(big) > 2_500_000
    key, pub = keys(tmp_path)
    c = Collect(tmp_path / "trail", key)
    answers: dict[str, int] = {}

    def small() -> None:
        body, _ = pb_request(77, 2)
        answers["small"] = requests.post(c.url, data=body, headers=PB, timeout=300).status_code

    t = threading.Thread(target=small)
    try:
        t.start()
        answers["big"] = requests.post(c.url, data=big, headers=PB, timeout=300).status_code
        t.join(300)
        assert answers == {"big": 200, "small": 200}
        parent = request([(1, 1 << 40, "planner")])  # the parent agent (its parent: elsewhere)
        assert requests.post(c.url, data=parent, headers=PB, timeout=60).status_code == 200
    finally:
        assert c.stop() == 0
    spawns = [e for e in events(tmp_path / "trail") if e["kind"] == "spawn"]
    assert len(spawns) == 20_000 and {e["agent"] for e in spawns} == {"planner"}
    assert verify(tmp_path / "trail", pub).returncode == 0


# -- item 8: the memory of open traces is bounded, and what is let go is counted -------------------


def test_a_trace_whose_root_never_arrives_holds_bounded_memory(monkeypatch: Any) -> None:
    """Spans of traces whose root never comes, batch after batch: the mapper's memory
    (tracemalloc) stops growing at the caps; a trace at its span cap is ended (run_end
    `incomplete`) and its later spans go on in continuation runs; the least recently fed
    open traces are ended past the cap on all open spans; each is counted."""
    import tracemalloc

    from harness_audit.capture import StreamMapper
    from harness_audit.capture import stream as st_mod

    monkeypatch.setattr(st_mod, "MAX_SPANS_PER_TRACE", 3000)
    monkeypatch.setattr(st_mod, "MAX_OPEN_SPANS", 6000, raising=False)  # new with the fix
    monkeypatch.setattr(st_mod, "MAX_CLOSED_IDS", 6000)

    def batch(trace: int, first: int, n: int) -> list[tuple[str, Any]]:
        out = []
        for i in range(first, first + n):
            _, s = _tool(i, f"{(trace << 32) + 1:016x}")  # the root: never sent
            s.id = f"{(trace << 32) + i + 2:016x}"
            out.append((f"{trace:032x}", s))
        return out

    m = StreamMapper()
    kinds: Counter[str] = Counter()

    def feed(spans: list[tuple[str, Any]]) -> None:
        for e in m.map_batch(spans):  # counted, not kept: the memory measured is the mapper's
            kinds[e["kind"], e.get("outcome")] += 1

    tracemalloc.start()
    try:
        sizes = []
        for k in range(40):  # one trace, 500 spans a request: 20,000 spans
            feed(batch(1, k * 500, 500))
            sizes.append(tracemalloc.get_traced_memory()[0])
        for k in range(40):  # then 200 traces of 100 spans each
            for t in range(5):
                feed(batch(100 + k * 5 + t, 0, 100))
            sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    # at most 6,000 open spans and 6,000 ended span ids: about 3 MiB whatever comes
    # (40,000 spans kept every id: 12 MiB and growing)
    settled = sizes[-20:]
    assert max(settled) < 1.2 * min(settled), [s >> 10 for s in sizes]
    assert max(sizes) < 4 * MiB, [s >> 10 for s in sizes]
    assert m.open_spans <= 6000
    assert m.flushed[st_mod.AT_TRACE_CAP] >= 1 and m.flushed[st_mod.AT_SPAN_CAP] >= 100
    incomplete = kinds["run_end", "incomplete"]
    assert incomplete == m.flushed[st_mod.AT_TRACE_CAP] + m.flushed[st_mod.AT_SPAN_CAP]
    assert kinds["tool_call", "ok"] == 20_000 + 200 * 100  # none lost


def test_collect_reports_what_the_bounds_let_go(tmp_path: Path) -> None:
    """The real receiver, its default caps: one trace of 100,500 spans whose root never
    comes is ended at 100,000 (run_end `incomplete`, the rest a continuation run), and the
    stop line says so."""
    key, _ = keys(tmp_path)
    c = Collect(tmp_path / "trail", key, "--checkpoint-every", "1000000")
    session = requests.Session()
    try:
        for k in range(201):
            body = _rootless_request(0xC0FFEE, k * 500, 500)
            assert session.post(c.url, data=body, headers=PB, timeout=60).status_code == 200
    finally:
        assert c.stop() == 0
    err = c.stderr()
    assert "1 traces ended at the span cap of one trace" in err, err[-600:]
    evs = events(tmp_path / "trail")
    ends = [e for e in evs if e["kind"] == "run_end"]
    assert ends[0]["outcome"] == "incomplete" and ends[0]["run"] == f"{0xC0FFEE:032x}"
    assert sum(e["kind"] == "tool_call" for e in evs) == 100_500


def _rootless_request(trace: int, first: int, n: int) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    for i in range(first, first + n):
        sp = ss.spans.add()
        sp.trace_id = trace.to_bytes(16, "big")
        sp.span_id, sp.parent_span_id = (i + 2).to_bytes(8, "big"), (1).to_bytes(8, "big")
        sp.name = "execute_tool search"
        sp.start_time_unix_nano = 1_700_000_000_000_000_000 + i
        sp.end_time_unix_nano = sp.start_time_unix_nano + 10
        for k, v in (("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "search")):
            a = sp.attributes.add()
            a.key, a.value.string_value = k, v
    return req.SerializeToString()


# -- item 9: idle connections ----------------------------------------------------------------------


def test_idle_connections_up_to_the_descriptor_limit_do_not_wedge_the_receiver(
    tmp_path: Path,
) -> None:
    """The real receiver with 256 descriptors; 600 clients connect and send nothing, or half
    a header quoting a secret. A real request still gets in (the longest idle connection
    makes room), nothing is logged but a line or two (no traceback, no request byte); the
    clients that stay silent are closed at --idle-timeout; when they all go, the receiver is
    back to its descriptors and idle, and serves."""
    import socket
    import time

    key, pub = keys(tmp_path)
    c = Collect(
        tmp_path / "trail", key, "--idle-timeout", "2", rlimits={resource.RLIMIT_NOFILE: 256}
    )
    base_fds = c.fds()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), max(hard, 2048)))
    socks: list[socket.socket] = []
    try:
        for _ in range(600):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", c.port))
            socks.append(s)
        time.sleep(0.5)
        for i, s in enumerate(socks):
            if i % 2:
                with contextlib.suppress(OSError):
                    s.send(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Secret: hunter2-")
        time.sleep(0.5)
        body, ids = pb_request(1, 3)
        r = requests.post(c.url, data=body, headers=PB, timeout=10)
        assert r.status_code == 200
        # the silent ones are closed by the receiver at --idle-timeout (2 s)
        stay = socks[-5:]
        deadline = time.monotonic() + 20
        closed = 0
        while time.monotonic() < deadline and closed < len(stay):
            closed = 0
            for s in stay:
                try:
                    closed += s.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            time.sleep(0.2)
        assert closed == len(stay)
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and c.fds() > base_fds + 2:
        time.sleep(0.2)
    assert c.fds() <= base_fds + 2
    ticks = c.cpu_ticks()
    time.sleep(2)
    hz = os.sysconf("SC_CLK_TCK")
    assert c.cpu_ticks() - ticks < hz // 2  # idle: under a quarter of a core over 2 s
    body, more = pb_request(2, 3)
    assert requests.post(c.url, data=body, headers=PB, timeout=10).status_code == 200
    assert c.stop() == 0
    err = c.stderr()
    assert len(err) < 4000, err[:2000]
    assert "hunter2" not in err and "Traceback" not in err
    assert re.search(r"connections: 0 open \(cap \d+, peak \d+\), [\d,]+ closed idle", err)
    spans = Counter(e["span"] for e in events(tmp_path / "trail"))
    assert all(spans[i] == 1 for i in ids + more)
    assert verify(tmp_path / "trail", pub).returncode == 0


def test_a_body_that_never_finishes_is_408_and_the_connection_closed(tmp_path: Path) -> None:
    import socket

    key, _ = keys(tmp_path)
    c = Collect(tmp_path / "trail", key, "--read-timeout", "1")
    try:
        with socket.create_connection(("127.0.0.1", c.port), timeout=20) as s:
            s.sendall(
                b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                b"Content-Length: 1000\r\n\r\n" + b"\x0a" * 10
            )
            got = b""
            while chunk := s.recv(4096):
                got += chunk
        assert got.startswith(b"HTTP/1.1 408"), got[:100]
    finally:
        assert c.stop() == 0
