"""Where `collect`'s time goes per request, and what sealing in a second process would save.

    python bench/bench_collect_split.py [--requests 40] [--batch 512] [--chunk 128] [--runs 3]

No HTTP: the bodies of `bench_collect.py` are decoded, mapped and sealed in this process, as the
receiver does them. Two ways, interleaved `--runs` times:

- one process (the shipped path: `capture/decode.py`, the sink's `StreamMapper`,
  `TrailWriter.write_many`, one fsync a request): wall µs a span of each step, and CPU;
- a prototype of the split `trail import --jobs 2` uses, **not** the product (no failure
  handling, no checkpoints): this process decodes and maps each request in chunks of
  `--chunk` spans and hands the events over a pipe (marshal); a forked child seals and
  writes each chunk as it arrives, fsyncs at the request's end and confirms. Wall µs a span,
  and the CPU of each process.
"""

from __future__ import annotations

import argparse
import marshal
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_collect import body

from harness_audit.capture.decode import decode
from harness_audit.capture.sink import TrailSink
from harness_audit.capture.stream import StreamMapper
from harness_audit.importers.base import ImportStats
from harness_audit.trail.note import Signer
from harness_audit.trail.writer import TrailWriter

SIGNER = Signer.from_seed("bench", b"\x07" * 32)
PB = "application/x-protobuf"


def one_process(bodies: list[bytes], folder: Path) -> str:
    sink = TrailSink(folder, "bench/x", SIGNER, checkpoint_every=0, checkpoint_seconds=0)
    w = sink.writer
    assert w is not None
    t = {"decode": 0.0, "map": 0.0, "seal + write": 0.0, "fsync": 0.0}
    real = w.store.sync

    def sync(f: object) -> None:
        s = time.perf_counter()
        real(f)  # type: ignore[arg-type]
        t["fsync"] += time.perf_counter() - s

    w.store.sync = sync  # type: ignore[method-assign]
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    for b in bodies:
        s0 = time.perf_counter()
        spans = decode(b, PB, "")
        s1 = time.perf_counter()
        n += len(spans)
        events = sink.mapper.map_batch(spans)
        s2 = time.perf_counter()
        w.write_many(events)
        s3 = time.perf_counter()
        t["decode"] += s1 - s0
        t["map"] += s2 - s1
        t["seal + write"] += s3 - s2
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t["seal + write"] -= t["fsync"]
    sink.close()
    steps = ", ".join(f"{k} {v / n * 1e6:.1f}" for k, v in t.items())
    return f"one process: wall {wall / n * 1e6:.1f} µs a span ({steps}); CPU {cpu / n * 1e6:.1f}"


def _child(conn: Connection, folder: Path) -> None:
    w = TrailWriter(folder, "bench/x", SIGNER, checkpoint_every=0, durable=False)
    while True:
        data = conn.recv_bytes()
        if data == b"s":  # the request's end: fsync, then confirm
            w.flush()
            conn.send_bytes(b"k")
        elif data == b"q":
            w.abandon()
            return
        else:
            for ev in marshal.loads(data):
                line, digest = w._seal(ev, w.seq, w.prev)
                w.put(line, digest)


def split(bodies: list[bytes], folder: Path, chunk: int) -> str:
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_child, args=(theirs, folder))
    child.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    mapper = StreamMapper(None, "collected", ImportStats())
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    for b in bodies:
        spans = decode(b, PB, "")
        n += len(spans)
        for i in range(0, len(spans), chunk):
            ours.send_bytes(marshal.dumps(mapper.map_batch(spans[i : i + chunk])))
        ours.send_bytes(b"s")
        ours.recv_bytes()  # acknowledged only now: the child fsynced the request
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ours.send_bytes(b"q")
    child.join()
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = r.ru_utime + r.ru_stime - before.ru_utime - before.ru_stime
    return (
        f"split, chunks of {chunk}: wall {wall / n * 1e6:.1f} µs a span; CPU: receiver "
        f"{cpu / n * 1e6:.1f}, sealing child {child_cpu / n * 1e6:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--chunk", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bodies = [body(args.batch, k) for k in range(1, args.requests + 1)]
    print(f"load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-split-") as d:
        for r in range(args.runs):
            print(one_process(bodies, Path(d) / f"one-{r}"), flush=True)
            print(split(bodies, Path(d) / f"split-{r}", args.chunk), flush=True)
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
