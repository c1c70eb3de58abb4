"""Fan-in through a real OTLP collector (issue 27, item 6): the OpenTelemetry SDK exports
OTLP/HTTP to rotel (the `rotel` package's own agent binary), which batches and exports OTLP/HTTP
to `collect` on loopback; the trail then verifies and holds every span. No mock stands in for
the collector."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .collectkit import EVENTS_PER_RUN, Collect, agent_run, events, keys, verify

pytest.importorskip("aiohttp")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")


def rotel_agent() -> Path | None:
    """The agent binary the `rotel` wheel ships, if installed."""
    try:
        import rotel
    except ImportError:
        return None
    path = Path(rotel.__file__).parent / "rotel-agent"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runs(binary: Path) -> str | None:
    """Why the binary cannot run here (None: it runs)."""
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, timeout=20, check=False)
    except OSError as e:
        return str(e)
    return None if r.returncode == 0 else r.stderr.decode(errors="replace")[-300:]


AGENT = rotel_agent()
needs_rotel = pytest.mark.skipif(
    AGENT is None, reason="rotel not installed (pip install rotel: the test extra has it)"
)


@contextlib.contextmanager
def rotel(tmp: Path, forward_to: str) -> Iterator[str]:
    """rotel receiving OTLP/HTTP on a free loopback port, exporting OTLP/HTTP to
    ``forward_to``; yields its traces URL. Stopped (SIGTERM, which flushes) at the end."""
    assert AGENT is not None
    why = _runs(AGENT)
    if why is not None:
        pytest.skip(f"the rotel agent binary cannot run on this machine: {why}")
    http, grpc = _free(), _free()
    log = tmp / "rotel.log"
    args = [
        str(AGENT), "start",
        "--otlp-http-endpoint", f"127.0.0.1:{http}",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc}",
        "--exporter", "otlp",
        "--otlp-exporter-protocol", "http",
        "--otlp-exporter-endpoint", forward_to.rsplit("/v1/", 1)[0],
        "--otlp-exporter-traces-endpoint", forward_to,
        "--otlp-receiver-metrics-disabled", "--otlp-receiver-logs-disabled",
        "--batch-timeout", "100ms",
        "--otlp-exporter-retry-max-elapsed-time", "60s",
        "--pid-file", str(tmp / "rotel.pid"),
        "--log-file", str(log),
    ]  # fmt: skip
    out = (tmp / "rotel.out").open("wb")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:  # listening once a connection is accepted
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", http)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp / "rotel.out").read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        yield f"http://127.0.0.1:{http}/v1/traces"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()


@needs_rotel
def test_sdk_to_rotel_to_collect_end_to_end(tmp_path: Path) -> None:
    """The SDK's OTLPSpanExporter -> rotel -> collect: once the SDK has flushed and rotel has
    forwarded, SIGTERM to collect signs the final checkpoint; the trail verifies and holds every
    span of every run (a trace a run, each agent's spans its events)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    key, pub = keys(tmp_path)
    out = tmp_path / "trail"
    c = Collect(out, key, "--checkpoint-every", "1000")
    runs = 12
    try:
        with rotel(tmp_path, c.url) as front:
            tp = TracerProvider(resource=Resource.create({"service.name": "research-crew"}))
            tp.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=front), max_export_batch_size=64)
            )
            tracer = tp.get_tracer("fan-in")
            for i in range(runs):
                agent_run(tracer, i)
            assert tp.force_flush(30_000)
            tp.shutdown()
            deadline = time.monotonic() + 30  # rotel forwards within its batch timeout
            while len(events(out)) < runs * EVENTS_PER_RUN and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        assert c.stop() == 0, c.stderr()
    got = events(out)
    assert len(got) == runs * EVENTS_PER_RUN, c.stderr()
    assert len({e["run"] for e in got}) == runs
    assert sum(e["kind"] == "run_end" for e in got) == runs
    r = verify(out, pub)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout) if r.stdout.lstrip().startswith("{") else None
    if report is not None:
        assert report["status"] == "verified"
