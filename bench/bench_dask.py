"""Verify on a Dask cluster against ``--jobs`` (issue 27, item 3).

    python bench/bench_dask.py [EVENTS]


Generates the default trail of ``bench/gen_trail.py`` (1,000,000 events unless told), starts a
real Dask scheduler and 1, then 2, worker processes (``dask scheduler`` / ``dask worker
--no-nanny --nthreads 1``, all on 127.0.0.1, each with this checkout first on its path), and
times ``python -m harness_audit verify DIR --key key.pub`` with ``--jobs 1``, ``--jobs 2`` and
``--dask ADDRESS``: wall time (best of 3, a fresh process each, start-up included), the CPU
time of the client (user+sys) and of the cluster's processes (scheduler and workers, from
/proc), and the load average before each. Then the per-task overhead: ``verify`` of a
10-event trail on the cluster against locally (importing Dask, connecting, one round trip),
and 1,000 one-line ranges scanned on the cluster as tasks (per task: scatter, submit, result;
wall, and the scheduler's and workers' CPU). And
the transfer alone: every range read and sent to the workers, the task returning its length
(the client's share of the work, which does not shrink with more workers).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
ENV = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(pids: list[int]) -> float:
    """User+sys seconds of the processes so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


class Cluster:
    """A scheduler and ``n`` worker processes on 127.0.0.1."""

    def __init__(self, n: int) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs = [
            subprocess.Popen(
                ["dask", "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                 "--no-dashboard", "--no-show"],
                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        ]  # fmt: skip
        time.sleep(1.5)
        for _ in range(n):
            self.procs.append(
                subprocess.Popen(
                    ["dask", "worker", self.address, "--no-nanny", "--nthreads", "1",
                     "--host", "127.0.0.1", "--no-dashboard"],
                    env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )  # fmt: skip
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=60) as c:
            c.wait_for_workers(n, timeout=120)

    def cpu(self) -> float:
        return cpu_of([p.pid for p in self.procs])

    def close(self) -> None:
        for p in reversed(self.procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Wall and client CPU (user+sys) seconds of one command in a fresh child, and its peak
    RSS (MiB)."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "dt = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(dt, u.ru_utime + u.ru_stime, r.returncode, u.ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True, env=ENV
    ).stdout.split()
    if out[2] != "0":
        sys.exit(f"verify failed: {cmd}")
    return float(out[0]), float(out[1]), int(out[3]) / 1024


def best(cmd: list[str], cluster: Cluster | None) -> str:
    rows = []
    for _ in range(3):
        load = os.getloadavg()[0]
        before = cluster.cpu() if cluster else 0.0
        wall, cpu, rss = run(cmd)
        rows.append((wall, cpu, (cluster.cpu() - before) if cluster else 0.0, rss, load))
    wall, cpu, ccpu, rss, load = min(rows)
    return f"{wall:.2f} s | {cpu:.2f} s | {ccpu:.2f} s | {rss:.0f} MiB | {load:.1f}"


def overhead(cluster: Cluster, trail: Path) -> str:
    """Per-task cost: 200 one-line ranges as tasks; the transfer alone of the whole trail."""
    from distributed import Client

    from harness_audit.trail.cluster import _read, plan, scan_bytes
    from harness_audit.trail.verify import trail_files

    seg = next(trail.glob("*.jsonl"))
    size = seg.stat().st_size
    with seg.open("rb") as f:
        line = f.readline()
    scheduler, workers = [cluster.procs[0].pid], [p.pid for p in cluster.procs[1:]]
    with Client(cluster.address, set_as_default=False) as c:
        n = 1000
        s0, w0 = cpu_of(scheduler), cpu_of(workers)
        t = time.perf_counter()
        futs = []
        for _ in range(n):
            data = c.scatter(line, hash=False, direct=True)
            futs.append(
                c.submit(scan_bytes, str(seg), 0, len(line), size, data, 0, (), False, pure=False)
            )
        c.gather(futs)
        per_task = (time.perf_counter() - t) / n
        s_task, w_task = (cpu_of(scheduler) - s0) / n, (cpu_of(workers) - w0) / n
        del futs
        tasks = plan(trail_files([trail]), 2)
        t = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        window = []
        for name, a, b, _, _ in tasks:
            data = c.scatter(_read(name, a, b), hash=False, direct=True)
            window.append(c.submit(len, data, pure=False))
            if len(window) >= 4:
                window.pop(0).result()
        c.gather(window)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        moved = time.perf_counter() - t
        ccpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    return (
        f"per task (1,000 one-line ranges, 2 workers): {per_task * 1000:.1f} ms wall, "
        f"scheduler CPU {s_task * 1000:.1f} ms, workers' CPU {w_task * 1000:.1f} ms; "
        f"transfer alone ({len(tasks)} ranges, {size / 1e6:.0f} MB read and sent, no scan): "
        f"{moved:.2f} s wall, client CPU {ccpu:.2f} s"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    d = OUT / f"trail-{n}"
    if not (d / "trail.checkpoint").exists():
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_trail.py"), str(d), "--events", str(n)], check=True
        )
    small = OUT / "trail-10"
    if not (small / "trail.checkpoint").exists():
        shutil.rmtree(small, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_trail.py"), str(small), "--events", "10"], check=True
        )
    sys.path.insert(0, str(ROOT))
    from harness_audit.trail import _core

    print(f"core: {_core.describe()}, {n:,} events, {os.cpu_count()} CPUs")
    base = [sys.executable, "-m", "harness_audit", "verify"]
    verify = [*base, str(d), "--key", str(d / "key.pub")]
    print(
        "| run | wall | client CPU | cluster CPU | client peak RSS | load before |\n"
        "|---|---|---|---|---|---|"
    )
    for jobs in (1, 2):
        print(f"| --jobs {jobs} | {best([*verify, '--jobs', str(jobs)], None)} |", flush=True)
    for workers in (1, 2):
        c = Cluster(workers)
        try:
            before = c.cpu()
            time.sleep(5)
            idle = (c.cpu() - before) / 5
            ms = idle * 1000
            print(f"| idle cluster of {workers} worker(s): {ms:.0f} ms CPU a second | | | | |")
            print(f"| --dask, {workers} worker(s) | {best([*verify, '--dask', c.address], c)} |")
            tiny = [*base, str(small), "--key", str(small / "key.pub")]
            row = best([*tiny, "--dask", c.address], c)
            print(f"| 10 events, --dask, {workers} worker(s) | {row} |")
            if workers == 1:
                print(f"| 10 events, local | {best(tiny, None)} |", flush=True)
            if workers == 2:
                print(overhead(c, d))
        finally:
            c.close()


if __name__ == "__main__":
    main()
