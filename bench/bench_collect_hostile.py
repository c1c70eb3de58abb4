"""`harness-audit collect` against hostile clients (issue 23, items 6, 7, 8, 9, 17): what one
request, or one client, costs the receiver.

    python bench/bench_collect_hostile.py [--root CHECKOUT] [--case NAME ...]

The receiver runs in a subprocess on 127.0.0.1:0 (from ``--root``: a checkout of the code to
measure, this one by default, so the same script measures before and after); figures are read
from /proc: peak RSS (VmHWM), CPU ticks, open descriptors. Cases:

- ``pb-bomb``: a gzip protobuf body of ~32 million empty spans (64 MiB inflated, ~62 KB sent).
- ``json-bomb``: a gzip OTLP/JSON body whose ``spans`` array holds ~22 million ``{}``.
- ``held``: one 2.9 MB request of 20,000 agent spans whose parent never arrives, and a small
  request sent while it is processed (how long each takes to be answered).
- ``rootless``: 200,000 spans of one trace whose root never arrives, 1,000 a request, then
  8,000 traces of 100 spans each; the receiver's resident memory after each part.
- ``idle``: the receiver with 256 descriptors; 600 clients connect and send nothing (or half
  a header), then all leave; a request meanwhile, CPU and stderr during and in the 5 s after.
- ``disk-full``: the trail on a 2 MiB tmpfs (root: ``mount -t tmpfs``); requests until the
  disk refuses, a few more, SIGTERM; what it says it signed, what it signed, ``.torn`` files.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from harness_audit.trail.note import Signer  # noqa: E402

PB = {"Content-Type": "application/x-protobuf"}


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num: int, data: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(data)) + data


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmHWM", "VmRSS"):
            out[k] = int(v.split()[0]) * 1024
    return out


def cpu_ticks(pid: int) -> int:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


class Receiver:
    def __init__(self, root: Path, folder: Path, key: Path, *extra: str, nofile: int = 0) -> None:
        self.err = folder.parent / f"{folder.name}.stderr"
        env = dict(os.environ, PYTHONPATH=str(root), HARNESS_AUDIT_CORE="python")

        def limits() -> None:
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
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
                "bench/hostile",
                "-o",
                str(folder),
                "--progress-seconds",
                "0",
                *extra,
            ],
            stderr=self.err.open("wb"),
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=root,
            preexec_fn=limits,
        )
        for _ in range(600):
            m = re.search(r"127\.0\.0\.1:(\d+)/", self.err.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("collect did not start: " + self.err.read_text(errors="replace"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def status(self) -> dict[str, int]:
        return proc_status(self.proc.pid)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def post(url: str, data: bytes, headers: dict[str, str], timeout: float = 600) -> tuple[Any, float]:
    t0 = time.perf_counter()
    try:
        r = requests.post(url, data=data, headers=headers, timeout=timeout)
        got: Any = r.status_code
    except requests.RequestException as e:
        got = type(e).__name__
    return got, time.perf_counter() - t0


# -- cases --------------------------------------------------------------------------------------


def pb_bomb() -> bytes:
    n = ((64 << 20) - 64) // 2
    return gzip.compress(field(1, field(2, b"\x12\x00" * n)), 9)


def json_bomb() -> bytes:
    head, tail = b'{"resourceSpans":[{"scopeSpans":[{"spans":[', b"]}]}]}"
    n = ((64 << 20) - 64) // 3
    return gzip.compress(head + b"{}," * (n - 1) + b"{}" + tail, 9)


def case_bomb(root: Path, tmp: Path, key: Path, name: str) -> None:
    body, ctype = (pb_bomb(), PB) if name == "pb-bomb" else (json_bomb(), {})
    headers = {**(ctype or {"Content-Type": "application/json"}), "Content-Encoding": "gzip"}
    r = Receiver(root, tmp / name, key)
    base = r.status()["VmHWM"]
    got, took = post(r.url, body, headers)
    st = r.status() if r.proc.poll() is None else {"VmHWM": 0}
    print(
        f"{name}: {len(body):,} bytes sent: answer {got} in {took:.2f} s; receiver peak RSS "
        f"{mib(base)} before, {mib(st['VmHWM'])} after"
    )
    r.stop()


def held_body(n: int = 20_000) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    tid = (0xAB).to_bytes(16, "big")
    missing = (0xDEAD).to_bytes(8, "big")
    t0 = 1_700_000_000_000_000_000
    for i in range(n):
        sp = ss.spans.add()
        sp.trace_id, sp.parent_span_id = tid, missing
        sp.span_id = (i + 1).to_bytes(8, "big")
        sp.name = f"invoke_agent worker_{i:05d}"
        sp.start_time_unix_nano, sp.end_time_unix_nano = t0 + i, t0 + i + 1000
        for k, v in (("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", f"w{i}")):
            a = sp.attributes.add()
            a.key, a.value.string_value = k, v
    return req.SerializeToString()


def small_body(trace: int) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    req = ExportTraceServiceRequest()
    sp = req.resource_spans.add().scope_spans.add().spans.add()
    sp.trace_id, sp.span_id = trace.to_bytes(16, "big"), (7).to_bytes(8, "big")
    sp.name = "execute_tool search"
    sp.start_time_unix_nano = 1_700_000_000_000_000_000
    sp.end_time_unix_nano = sp.start_time_unix_nano + 1000
    for k, v in (("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "search")):
        a = sp.attributes.add()
        a.key, a.value.string_value = k, v
    return req.SerializeToString()


def case_held(root: Path, tmp: Path, key: Path) -> None:
    body = held_body()
    r = Receiver(root, tmp / "held", key)
    small: list[Any] = []

    def later() -> None:
        time.sleep(0.3)
        small.append(post(r.url, small_body(0xCD), PB))

    t = threading.Thread(target=later)
    t.start()
    got, took = post(r.url, body, PB)
    t.join()
    print(
        f"held: {len(body):,} bytes, 20,000 agent spans without their parent: answer {got} in "
        f"{took:.2f} s; a one-span request sent 0.3 s later: answer {small[0][0]} in "
        f"{small[0][1]:.2f} s"
    )
    r.stop()


def rootless_bodies() -> tuple[list[bytes], list[bytes]]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    def req(spans: list[tuple[int, int, int]]) -> bytes:
        r = ExportTraceServiceRequest()
        ss = r.resource_spans.add().scope_spans.add()
        for trace, sid, parent in spans:
            sp = ss.spans.add()
            sp.trace_id = trace.to_bytes(16, "big")
            sp.span_id, sp.parent_span_id = sid.to_bytes(8, "big"), parent.to_bytes(8, "big")
            sp.name = "execute_tool search"
            sp.start_time_unix_nano = 1_700_000_000_000_000_000 + sid
            sp.end_time_unix_nano = sp.start_time_unix_nano + 10
            for k, v in (("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "s")):
                a = sp.attributes.add()
                a.key, a.value.string_value = k, v
        return r.SerializeToString()

    one = [req([(1, 2 + b * 1000 + i, 1) for i in range(1000)]) for b in range(200)]
    many = [
        req([(100 + t, 2 + i, 1) for t in range(b * 10, b * 10 + 10) for i in range(100)])
        for b in range(800)
    ]
    return one, many


def case_rootless(root: Path, tmp: Path, key: Path) -> None:
    one, many = rootless_bodies()
    r = Receiver(root, tmp / "rootless", key, "--checkpoint-every", "1000000")
    session = requests.Session()
    base = r.status()["VmRSS"]
    for b in one:
        assert session.post(r.url, data=b, headers=PB, timeout=60).status_code == 200
    after_one = r.status()["VmRSS"]
    for b in many:
        assert session.post(r.url, data=b, headers=PB, timeout=60).status_code == 200
    after_many = r.status()["VmRSS"]
    r.stop()
    err = r.err.read_text(errors="replace")
    print(
        f"rootless: RSS {mib(base)} at start, {mib(after_one)} after 200,000 spans of one "
        f"rootless trace (+{mib(after_one - base)}), {mib(after_many)} after 8,000 more rootless "
        f"traces of 100 spans (+{mib(after_many - after_one)})"
    )
    for line in err.splitlines():
        if "stopped" in line:
            print("   ", line[line.find("open traces") :][:400])


def case_idle(root: Path, tmp: Path, key: Path) -> None:
    r = Receiver(root, tmp / "idle", key, nofile=256)
    base_fds = len(os.listdir(f"/proc/{r.proc.pid}/fd"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), max(hard, 4096)))
    socks: list[socket.socket] = []
    for _ in range(600):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", r.port))
        socks.append(s)
    time.sleep(0.5)
    for i, s in enumerate(socks):
        if i % 2:
            with contextlib.suppress(OSError):
                s.send(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Secret-Token: hunter2")
    c0 = cpu_ticks(r.proc.pid)
    during = post(r.url, small_body(1), PB, timeout=5)
    time.sleep(max(0.0, 4 - during[1]))
    cpu_during = cpu_ticks(r.proc.pid) - c0
    logged_during = r.err.stat().st_size
    for s in socks:
        s.close()
    time.sleep(2)
    size0 = r.err.stat().st_size
    c0 = cpu_ticks(r.proc.pid)
    time.sleep(5)
    ticks = cpu_ticks(r.proc.pid) - c0
    logged = r.err.stat().st_size - size0
    fds = len(os.listdir(f"/proc/{r.proc.pid}/fd"))
    after = post(r.url, small_body(2), PB, timeout=10)
    leaked = b"hunter2" in r.err.read_bytes()
    hz = os.sysconf("SC_CLK_TCK")
    print(
        f"idle: 600 idle clients (half sent half a header) on a receiver with 256 descriptors: "
        f"a request while they are connected: {during[0]} in {during[1]:.2f} s; in those 4 s "
        f"CPU {cpu_during / hz / 4:.0%}, {logged_during:,} bytes on stderr (request bytes quoted: "
        f"{leaked}); after they leave: {fds} descriptors open ({base_fds} at start), CPU "
        f"{ticks / hz / 5:.0%} over 5 s, {logged:,} bytes on stderr, then a request: {after[0]}"
    )
    r.stop()


def case_disk_full(root: Path, tmp: Path, key: Path) -> None:
    mnt = tmp / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)]).returncode:
        print("disk-full: cannot mount a tmpfs (not root?): skipped")
        return
    try:
        folder = mnt / "trail"
        r = Receiver(
            root, folder, key, "--checkpoint-every", "1000000", "--checkpoint-seconds", "0"
        )
        codes: list[Any] = []
        session = requests.Session()
        i = 0
        while len([c for c in codes if c != 200]) < 5 and i < 10_000:
            i += 1
            codes.append(
                session.post(r.url, data=small_body(1000 + i), headers=PB, timeout=30).status_code
            )
        r.stop()
        err = r.err.read_text(errors="replace")
        last = [ln for ln in err.splitlines() if "stopped" in ln or "checkpoint" in ln]
        cps = sorted(p.name for p in (folder / "checkpoints").glob("*"))
        torn = sorted(p.name for p in folder.glob("*.torn*"))
        empty = [p for p in torn if (folder / p).stat().st_size == 0]
        print(
            f"disk-full: {codes.count(200)} requests answered 200, then {codes[-5:]}; "
            f"checkpoints signed: {cps[-2:]}; .torn files: {len(torn)} ({len(empty)} empty)"
        )
        for line in last[-3:]:
            print("   ", line[line.find("checkpoints, refused") :][:600])
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


CASES = ["pb-bomb", "json-bomb", "held", "rootless", "idle", "disk-full"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=HERE)
    ap.add_argument("--case", action="append", choices=CASES)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s = Signer.generate("bench")
        key = tmp / "k.key"
        key.write_text(s.text() + "\n")
        for name in a.case or CASES:
            if name in ("pb-bomb", "json-bomb"):
                case_bomb(a.root, tmp, key, name)
            else:
                globals()["case_" + name.replace("-", "_")](a.root, tmp, key)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
