"""Spans per second sustained by `harness-audit collect` (fsync per request) from a loopback
load generator, by batch size; and the in-process exporter's cost per span.

    python bench/bench_collect.py [--seconds 8] [--batches 64,128,256,512,1024,2048]
                                  [--senders 1] [--exporter-spans 20000] [--root CHECKOUT]
    python bench/bench_collect.py --instructions [--root CHECKOUT]

The receiver runs in a subprocess on 127.0.0.1:0; the generator posts pre-built protobuf
`ExportTraceServiceRequest`s (GenAI-shaped traces of 8 spans: an agent, 4 chat, 3 tools) with
`requests`, each request answered only once its events are fsynced. The exporter figure is
measured in this process: creating and ending spans with a `BatchSpanProcessor` around
`TrailSpanExporter`, against the same without any processor, plus the exporter's own time
(`export()`, on the processor's thread) per span.

``--instructions``: the load-independent figure instead, instructions a span of the receiver's
in-process work (``decode`` then ``TrailSink.write``, the CLI's GC thresholds) under callgrind:
12 requests of 512 spans minus 2, start-up and the first requests' imports taken out.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harness_audit.trail.note import Signer

ROOT = Path(__file__).resolve().parents[1]
CODE = ROOT
"""The checkout whose receiver runs (``--root``: another one, to measure before)."""
SPANS_PER_TRACE = 8


def body(batch: int, seed: int) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "bench"
    ss = rs.scope_spans.add()
    t0 = 1_700_000_000_000_000_000 + seed * 10_000_000
    for n in range(batch):
        trace, i = divmod(n, SPANS_PER_TRACE)
        tid = (seed << 32 | trace + 1).to_bytes(16, "big")
        root = (seed << 32 | trace << 4 | 1).to_bytes(8, "big")
        sp = ss.spans.add()
        sp.trace_id = tid
        last = i == SPANS_PER_TRACE - 1 or n == batch - 1
        if last:  # the root ends last, and is exported last
            sp.span_id, sp.name = root, "invoke_agent researcher"
            attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher"}
        else:
            sp.span_id = (seed << 32 | trace << 4 | i + 2).to_bytes(8, "big")
            sp.parent_span_id = root
            if i % 2 == 0:
                sp.name = "chat gpt-4o"
                attrs = {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-2024-08-06",
                }
            else:
                sp.name = "execute_tool web_search"
                attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "web_search"}
        for k, v in attrs.items():
            a = sp.attributes.add()
            a.key, a.value.string_value = k, v
        if sp.name.startswith("chat"):
            for k, iv in (("gen_ai.usage.input_tokens", 812), ("gen_ai.usage.output_tokens", 96)):
                a = sp.attributes.add()
                a.key, a.value.int_value = k, iv
        sp.start_time_unix_nano = t0 + n * 1000
        sp.end_time_unix_nano = t0 + n * 1000 + 500
    return req.SerializeToString()


def start(folder: Path, key: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    err = folder.with_suffix(".stderr")
    env = dict(os.environ, PYTHONPATH=str(CODE))
    proc = subprocess.Popen(
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
            "bench/collect",
            "-o",
            str(folder),
            "--progress-seconds",
            "0",
            "--checkpoint-every",
            "100000",
            "--checkpoint-seconds",
            "5",
        ],
        stderr=err.open("wb"),
        env=env,
        cwd=CODE,  # (``-m`` puts the working folder first on the path)
    )
    for _ in range(400):
        m = re.search(r"127\.0\.0\.1:(\d+)/", err.read_text())
        if m:
            return proc, int(m.group(1)), err
        time.sleep(0.05)
    raise SystemExit("collect did not start: " + err.read_text())


def run_batch(
    tmp: Path, key: Path, batch: int, seconds: float, senders: int, max_spans: int
) -> float:
    folder = tmp / f"trail-{batch}"
    proc, port, _ = start(folder, key)
    url = f"http://127.0.0.1:{port}/v1/traces"
    bodies = [body(batch, b) for b in range(1, max(40, max_spans // batch) + 1)]
    done = [0] * senders
    stop = threading.Event()

    def send(k: int) -> None:
        session = requests.Session()
        j = k
        while not stop.is_set() and j < len(bodies):
            data = bodies[j]
            j += senders
            r = session.post(url, data=data, headers={"Content-Type": "application/x-protobuf"})
            if r.status_code != 200:
                raise SystemExit(f"status {r.status_code}: {r.text[:200]}")
            done[k] += 1

    # warm-up request, then measure
    requests.post(
        url, data=body(batch, 999_999), headers={"Content-Type": "application/x-protobuf"}
    )
    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    cpu0 = _cpu(proc.pid)
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    deadline = t0 + seconds
    while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = _cpu(proc.pid) - cpu0
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    spans = sum(done) * batch
    CPU_PER_SPAN[batch] = cpu / max(spans, 1) * 1e6
    return spans / elapsed  # every body is new spans: every request is fsynced


CPU_PER_SPAN: dict[int, float] = {}
"""The receiver's CPU time (user + system, all its threads) per span, by batch size: the
steadier figure on a shared machine."""


def _cpu(pid: int) -> float:
    """User + system seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exporter_overhead(tmp: Path, n: int) -> tuple[float, float, float]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from harness_audit.otel import TrailSpanExporter

    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 10,
    }

    def make(tp: TracerProvider) -> float:
        tracer = tp.get_tracer("bench")
        t0 = time.perf_counter()
        for _i in range(n // 8):
            with tracer.start_as_current_span(
                "invoke_agent a",
                attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"},
            ):
                for _ in range(7):
                    with tracer.start_as_current_span("chat gpt-4o", attributes=attrs):
                        pass
        return time.perf_counter() - t0

    bare = min(make(TracerProvider()) for _ in range(3))
    exporter = TrailSpanExporter(
        tmp / "exporter", "bench/otel", Signer.from_seed("bench", b"\x07" * 32)
    )
    spent = [0.0]
    real = exporter.export

    def timed(spans: object) -> object:
        t = time.perf_counter()
        try:
            return real(spans)  # type: ignore[arg-type]
        finally:
            spent[0] += time.perf_counter() - t

    exporter.export = timed  # type: ignore[method-assign]
    tp = TracerProvider()
    tp.add_span_processor(
        BatchSpanProcessor(exporter, max_export_batch_size=512, max_queue_size=n + 1024)
    )
    app = make(tp)
    t = time.perf_counter()
    tp.shutdown()
    drain = time.perf_counter() - t
    per = 1e6 / (n // 8 * 8)
    return (app - bare) * per, spent[0] * per, (app + drain - bare) * per


_IN_PROCESS = """
import gc, pickle, sys, tempfile
from pathlib import Path
from harness_audit.capture.decode import decode
from harness_audit.capture.sink import TrailSink
from harness_audit.trail.note import Signer
gc.set_threshold(100_000, 50, 1000)
bodies = pickle.loads(Path(sys.argv[1]).read_bytes())[: int(sys.argv[2])]
with tempfile.TemporaryDirectory() as d:
    s = TrailSink(Path(d) / "t", "bench/collect", Signer.from_seed("bench", b"\\x07" * 32),
                  checkpoint_every=100_000, checkpoint_seconds=1e9)
    for b in bodies:
        s.write(decode(b, "application/x-protobuf"))
    s.close()
"""


def instructions(tmp: Path) -> float:
    """Instructions a span of decode + sink.write under callgrind (12 requests minus 2)."""
    bodies = tmp / "bodies.pickle"
    bodies.write_bytes(pickle.dumps([body(512, b) for b in range(1, 13)]))
    script = tmp / "in_process.py"
    script.write_text(_IN_PROCESS)
    total = {}
    for n in (2, 12):
        out = tmp / f"callgrind.{n}"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(script),
                str(bodies),
                str(n),
            ],
            env=dict(os.environ, PYTHONPATH=str(CODE)),
            cwd=CODE,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        m = re.search(r"^summary: (\d+)", out.read_text(), re.M)
        assert m, "no callgrind summary"
        total[n] = int(m.group(1))
    return (total[12] - total[2]) / (10 * 512)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--batches", default="64,128,256,512,1024,2048")
    ap.add_argument("--senders", type=int, default=1)
    ap.add_argument("--exporter-spans", type=int, default=20_000)
    ap.add_argument(
        "--max-spans",
        type=int,
        default=300_000,
        help="spans pre-built per batch size (the run stops when they are sent)",
    )
    ap.add_argument("--root", type=Path, help="run this checkout's receiver instead")
    ap.add_argument(
        "--instructions", action="store_true", help="instructions a span under callgrind only"
    )
    args = ap.parse_args()
    global CODE
    CODE = args.root.resolve() if args.root else ROOT
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as d:
        tmp = Path(d)
        if args.instructions:
            print(f"{CODE}: {instructions(tmp):,.0f} instructions a span (decode + sink.write)")
            return
        s = Signer.from_seed("bench", b"\x07" * 32)
        key = tmp / "bench.key"
        key.write_text(s.text() + "\n")
        print(f"load average: {os.getloadavg()[0]:.1f}")
        print("| batch (spans/request) | spans/s | requests/s | receiver CPU per span |")
        print("|---|---|---|---|")
        for b in (int(x) for x in args.batches.split(",")):
            rate = run_batch(tmp, key, b, args.seconds, args.senders, args.max_spans)
            print(
                f"| {b} | {rate:,.0f} | {rate / b:,.1f} | {CPU_PER_SPAN[b]:.1f} us "
                f"({1e6 / CPU_PER_SPAN[b]:,.0f} spans per CPU second) |",
                flush=True,
            )
        print(f"load average: {os.getloadavg()[0]:.1f}")
        if not args.exporter_spans:
            return
        app, export, total = exporter_overhead(tmp, args.exporter_spans)
        print(
            f"\nexporter, per span: {app:.1f} us on the application thread (vs no "
            f"processor), {export:.1f} us in export() on the processor thread, "
            f"{total:.1f} us wall in all (spans made + drained, minus bare)"
        )


if __name__ == "__main__":
    main()
