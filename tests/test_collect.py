"""`collect` and the capture library: streaming mapping against `trail import`, hostile bodies,
the real OTLP/HTTP exporter end to end, kill -9 and restart, a write failure, the lock."""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("opentelemetry.proto")

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from harness_audit.capture import Rejected, StreamMapper, TrailSink, Unavailable, decode
from harness_audit.importers import import_trace
from harness_audit.importers.otlp import iter_spans
from harness_audit.trail.note import Signer
from harness_audit.trail.verify import verify_trail
from tests.collectkit import (
    EVENTS_PER_RUN,
    ROOT,
    Collect,
    agent_run,
    env,
    events,
    keys,
    verify,
)
from tests.conftest import SAMPLES, SHARED

REAL = SHARED / "real" / "otel"
PB = {"Content-Type": "application/x-protobuf"}


def pb_request(trace: int, n_children: int, service: str = "svc") -> tuple[bytes, list[str]]:
    """A protobuf request: one trace, a root agent span and ``n_children`` tool spans."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", service
    ss = rs.scope_spans.add()
    tid = trace.to_bytes(16, "big")
    root_id = (trace << 20 | 1).to_bytes(8, "big")
    ids = []
    t0 = 1_700_000_000_000_000_000 + trace * 1_000_000
    for i in range(n_children):
        sp = ss.spans.add()
        sp.trace_id, sp.parent_span_id = tid, root_id
        sp.span_id = (trace << 20 | i + 2).to_bytes(8, "big")
        sp.name = "execute_tool web_search"
        sp.start_time_unix_nano, sp.end_time_unix_nano = t0 + i, t0 + i + 1
        for k, v in (("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "web_search")):
            a = sp.attributes.add()
            a.key, a.value.string_value = k, v
        ids.append(sp.span_id.hex())
    root = ss.spans.add()
    root.trace_id, root.span_id, root.name = tid, root_id, "invoke_agent web_researcher"
    root.start_time_unix_nano, root.end_time_unix_nano = t0, t0 + n_children + 5
    for k, v in (
        ("gen_ai.operation.name", "invoke_agent"),
        ("gen_ai.agent.name", "web_researcher"),
    ):
        a = root.attributes.add()
        a.key, a.value.string_value = k, v
    return req.SerializeToString(), ids


# -- the streaming mapping -------------------------------------------------------------------


def _spans(path: Path) -> list[tuple[str, Any]]:
    return [s for s in iter_spans(json.loads(path.read_text())) if s is not None]


def _shape(evs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["kind"], e["agent"], e.get("tool"), e.get("child")) for e in evs]


@pytest.mark.parametrize(
    "name",
    [
        "any-agent_OPENAI_trace.json",
        "any-agent_GOOGLE_trace.json",
        "any-agent_SMOLAGENTS_trace.json",
        "genai-interlingua_openllmetry_in.otlp.json",
    ],
)
def test_one_request_maps_as_import(name: str) -> None:
    """A whole trace in one request: the events `trail import` makes of it."""
    imported = [r.event for r in import_trace([REAL / name], pipeline="collected").events()]
    streamed = StreamMapper().map_batch(_spans(REAL / name))
    assert _shape(streamed) == _shape(imported)
    assert [e["ts"] for e in streamed[1:-1]] == [e["ts"] for e in imported[1:-1]]


@pytest.mark.parametrize("name", ["any-agent_OPENAI_trace.json", "any-agent_SMOLAGENTS_trace.json"])
def test_span_by_span_in_end_order_keeps_every_event_and_the_chain(name: str) -> None:
    """One span a request, in the order spans end (children first): same event kinds; every
    parent is an earlier event of the run; run_end last."""
    imported = [r.event for r in import_trace([REAL / name]).events()]
    spans = sorted(_spans(REAL / name), key=lambda ts: ts[1].end)
    m = StreamMapper()
    streamed: list[dict[str, Any]] = []
    for s in spans:
        streamed += m.map_batch([s])
    assert Counter(e["kind"] for e in streamed) == Counter(e["kind"] for e in imported)
    seen: set[str] = set()
    for e in streamed:
        assert e["parent"] is None or e["parent"] in seen
        seen.add(e["span"])
    assert streamed[0]["kind"] == "run_start" and streamed[-1]["kind"] == "run_end"


def test_late_spans_duplicates_and_resume() -> None:
    body, ids = pb_request(7, 3)
    spans = decode(body, "application/x-protobuf")
    m = StreamMapper()
    first = m.map_batch(spans)
    assert [e["kind"] for e in first] == [
        "run_start",
        "tool_call",
        "tool_call",
        "tool_call",
        "run_end",
    ]
    assert m.map_batch(spans) == []  # the request again (a client retry): one event each
    again = StreamMapper()
    again.resume(first)
    assert again.map_batch(spans) == []  # the same after a restart
    late = again.map_batch(decode(pb_request(7, 4)[0], "application/x-protobuf")[3:4])
    assert [e["kind"] for e in late] == ["run_start", "tool_call", "run_end"]
    assert {e["run"] for e in late} == {f"{7:032x}/1"}
    # an open run resumes: a resent span is one event, a new one continues the run
    open_m = StreamMapper()
    part = open_m.map_batch(spans[:2])
    resumed = StreamMapper()
    resumed.resume(part)
    rest = resumed.map_batch(spans)
    assert [e["kind"] for e in rest] == ["tool_call", "run_end"]
    assert rest[0]["span"] == ids[2] and rest[0]["run"] == f"{7:032x}"


# -- hostile bodies ----------------------------------------------------------------------------


def test_decode_refusals() -> None:
    body, _ = pb_request(1, 2)
    with pytest.raises(Rejected) as e:
        decode(b"\xff\xff\xff", "application/x-protobuf")
    assert e.value.status == 400 and "\xff" not in e.value.reason
    with pytest.raises(Rejected) as e:
        decode(b"{not json", "application/json")
    assert e.value.status == 400
    with pytest.raises(Rejected) as e:
        decode(b'{"resourceSpans": 3}', "application/json")
    assert e.value.status == 400
    bomb = gzip.compress(b"\0" * (8 << 20))
    with pytest.raises(Rejected) as e:
        decode(bomb, "application/x-protobuf", "gzip", max_decoded_bytes=1 << 20)
    assert e.value.status == 413
    with pytest.raises(Rejected) as e:
        decode(gzip.compress(body)[:-8], "application/x-protobuf", "gzip")
    assert e.value.status == 400
    with pytest.raises(Rejected) as e:
        decode(body, "application/x-protobuf", max_spans=2)
    assert e.value.status == 413
    with pytest.raises(Rejected) as e:
        decode(body, "text/plain")
    assert e.value.status == 415
    with pytest.raises(Rejected) as e:
        decode(body, "application/x-protobuf", "br")
    assert e.value.status == 415
    assert (
        len(decode(gzip.compress(body) + gzip.compress(b""), "application/x-protobuf", "gzip")) == 3
    )


# -- the write path ----------------------------------------------------------------------------


def test_write_failure_is_unavailable_then_recovers(tmp_path: Path, monkeypatch: Any) -> None:
    """A disk-full fsync: 503 (Unavailable), nothing acknowledged is lost; the next write
    reopens the folder, repairs it, and the trail verifies with every acknowledged event."""
    signer = Signer.generate("k")
    sink = TrailSink(tmp_path / "t", "test/o", signer, checkpoint_seconds=0)
    acked: list[str] = []
    for trace in range(1, 4):
        body, ids = pb_request(trace, 3)
        sink.write(decode(body, "application/x-protobuf"))
        acked += ids
    real = os.fdatasync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full)
    with pytest.raises(Unavailable, match="No space left"):
        sink.write(decode(pb_request(10, 3)[0], "application/x-protobuf"))
    with pytest.raises(Unavailable):  # still full: reopening works, the write does not
        sink.write(decode(pb_request(11, 3)[0], "application/x-protobuf"))
    monkeypatch.setattr(os, "fdatasync", real)
    for trace in (10, 11, 12):  # the client retries; the disk has room again
        body, ids = pb_request(trace, 3)
        sink.write(decode(body, "application/x-protobuf"))
        acked += ids
    sink.close()
    evs = events(tmp_path / "t")
    spans = Counter(e["span"] for e in evs)
    assert all(spans[i] == 1 for i in acked)  # each once, though 10 and 11 were retried
    assert sink.counters.write_failures == 2 and sink.counters.reopened >= 1
    assert verify_trail([tmp_path / "t"], [signer.verifier]).ok


def test_a_second_sink_on_the_folder_is_refused(tmp_path: Path) -> None:
    from harness_audit.errors import TrailError

    sink = TrailSink(tmp_path / "t", "o", Signer.generate("k"))
    with pytest.raises(TrailError, match="another trail writer"):
        TrailSink(tmp_path / "t", "o", Signer.generate("k"))
    sink.close()


# -- the command, end to end ---------------------------------------------------------------------


def _provider(url: str, service: str = "research-crew") -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tp = TracerProvider(resource=Resource.create({"service.name": service}))
    tp.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=url), max_export_batch_size=512)
    )
    return tp


def check_scan(tmp_path: Path, trail: Path, pub: Path) -> dict[str, Any]:
    """`scan --trails` on the research-crew manifest: planner and web_researcher are in the
    trail, anchored by the pinned key."""
    manifest = tmp_path / "harness.yaml"
    shutil.copy(SAMPLES / "research-crew" / "harness.yaml", manifest)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness_audit",
            "scan",
            str(manifest),
            "--trails",
            str(trail),
            "--key",
            str(pub),
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode in (0, 1), r.stderr
    p = json.loads(r.stdout)["pipelines"][0]
    checks = {a["id"]: a["checks"] for a in p["agents"]}
    for agent in ("planner", "web_researcher"):
        assert checks[agent]["has_audit_trail"]["status"] == "pass", checks[agent]
        assert checks[agent]["trail_is_immutable"]["status"] == "pass", checks[agent]
    return p


def test_otlp_http_exporter_end_to_end(tmp_path: Path) -> None:
    """The SDK's OTLPSpanExporter (protobuf over HTTP) -> collect on loopback -> SIGTERM ->
    verify --key passes -> scan --trails judges the checks from it."""
    key, pub = keys(tmp_path)
    c = Collect(tmp_path / "trail", key, "--checkpoint-every", "50")
    tp = _provider(c.url)
    tracer = tp.get_tracer("test")
    for i in range(20):
        agent_run(tracer, i, fail_tool=i == 3)
    assert tp.force_flush(10_000)
    tp.shutdown()
    assert c.stop() == 0
    err = c.stderr()
    assert "stopped:" in err and "final checkpoint at tree size" in err
    evs = events(tmp_path / "trail")
    assert len(evs) == 20 * EVENTS_PER_RUN
    kinds = Counter(e["kind"] for e in evs)
    assert kinds == {"run_start": 20, "run_end": 20, "model_call": 40, "tool_call": 40, "spawn": 20}
    assert sum(e.get("outcome") == "error" for e in evs if e["kind"] == "tool_call") == 1
    assert {e["agent"] for e in evs if e["kind"] == "tool_call"} == {"web_researcher"}
    v = verify(tmp_path / "trail", pub)
    assert v.returncode == 0 and "VERIFIED" in v.stdout, v.stdout + v.stderr
    check_scan(tmp_path, tmp_path / "trail", pub)


def test_json_gzip_malformed_oversized_and_refusals(tmp_path: Path) -> None:
    key, pub = keys(tmp_path)
    c = Collect(tmp_path / "trail", key, "--max-body-bytes", "65536")
    try:
        doc = json.loads((REAL / "genai-interlingua_openllmetry_in.otlp.json").read_text())
        r = requests.post(
            c.url,
            data=gzip.compress(json.dumps(doc).encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json() == {}
        r = requests.post(c.url, data=b"\x0a\xff\xff\xff\xff", headers=PB, timeout=10)
        assert r.status_code == 400 and r.headers["Content-Type"] == "application/x-protobuf"
        assert b"not a protobuf ExportTraceServiceRequest" in r.content
        r = requests.post(
            c.url,
            data=b'{"resourceSpans": "<script>"}',
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert r.status_code == 400 and "<script>" not in r.text and r.json()["code"] == 3
        r = requests.post(c.url, data=b"\0" * 70_000, headers=PB, timeout=10)
        assert r.status_code == 413
        r = requests.post(
            c.url,
            data=gzip.compress(b"\0" * (1 << 20)),
            headers={**PB, "Content-Encoding": "gzip"},
            timeout=10,
        )
        assert r.status_code == 413  # inflates past 4 x --max-body-bytes
        assert requests.get(c.url, timeout=10).status_code == 405
        # a second receiver on the same folder refuses to start
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness_audit",
                "collect",
                "--listen",
                "127.0.0.1:0",
                "--key",
                str(key),
                "--origin",
                "o",
                "-o",
                str(tmp_path / "trail"),
            ],
            capture_output=True,
            text=True,
            env=env(),
            cwd=ROOT,
            timeout=30,
        )
        assert second.returncode == 2 and "another trail writer" in second.stderr
    finally:
        assert c.stop() == 0
    assert Counter(e["kind"] for e in events(tmp_path / "trail"))["model_call"] == 1
    assert verify(tmp_path / "trail", pub).returncode == 0


def test_listen_refuses_a_remote_address_without_allow_remote(tmp_path: Path) -> None:
    key, _ = keys(tmp_path)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness_audit",
            "collect",
            "--listen",
            "0.0.0.0:0",
            "--key",
            str(key),
            "--origin",
            "o",
            "-o",
            str(tmp_path / "t"),
        ],
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        timeout=30,
    )
    assert r.returncode == 2 and "not a loopback address" in r.stderr
    assert not (tmp_path / "t").exists()


def test_kill_9_mid_stream_then_restart_keeps_every_acknowledged_span(tmp_path: Path) -> None:
    """Senders post until the receiver is killed with SIGKILL; a restart on the same folder
    resumes the chain; every span acknowledged (200) is in the trail once, and it verifies."""
    key, pub = keys(tmp_path)
    folder = tmp_path / "trail"
    c = Collect(folder, key, "--checkpoint-every", "500")
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(worker: int) -> None:
        n = 0
        session = requests.Session()
        while not stop.is_set():
            n += 1
            body, ids = pb_request(worker << 24 | n, 40)
            try:
                r = session.post(c.url, data=body, headers=PB, timeout=10)
            except requests.RequestException:
                return
            if r.status_code == 200:
                with lock:
                    acked.extend(ids)

    threads = [threading.Thread(target=send, args=(w,)) for w in (1, 2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 4000:
                break
        time.sleep(0.02)
    c.kill()
    stop.set()
    for t in threads:
        t.join(20)
    assert len(acked) >= 400
    c2 = Collect(folder, key)
    assert "resuming at seq" in c2.stderr()
    body, ids = pb_request(99 << 24, 5)
    assert requests.post(c2.url, data=body, headers=PB, timeout=10).status_code == 200
    assert c2.stop() == 0
    spans = Counter(e["span"] for e in events(folder))
    missing = [i for i in acked + ids if spans[i] != 1]
    assert not missing, f"{len(missing)} acknowledged spans missing or repeated"
    v = verify(folder, pub)
    assert v.returncode == 0 and "VERIFIED" in v.stdout, v.stdout + v.stderr


def test_listen_address_is_loopback_unless_allowed() -> None:
    from harness_audit.capture.collect import listen_address
    from harness_audit.errors import UsageError

    assert listen_address("127.0.0.1:4318", False) == ("127.0.0.1", 4318)
    assert listen_address("[::1]:0", False) == ("::1", 0)
    assert listen_address("0.0.0.0:80", True) == ("0.0.0.0", 80)
    with pytest.raises(UsageError, match="not a loopback address"):
        listen_address("0.0.0.0:80", False)
    with pytest.raises(UsageError, match="expected HOST:PORT"):
        listen_address("nowhere", True)
