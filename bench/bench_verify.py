"""Trail verification speed and memory (issue 3): ``python bench/bench_verify.py``.

For each size, generates a trail (bench/gen_trail.py), times Python's hashlib SHA-256 over the
same bytes in 1 MiB chunks (the floor: every byte must be read and hashed), then runs the
installed ``harness-audit verify`` with --jobs 1 and 2, recording wall time (best of 3) and
peak RSS (the largest process: main or worker), and prints a Markdown table.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def floor(path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        best = min(best, time.perf_counter() - t)
    return best


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run in a fresh child, measured by a wrapper."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "dt = time.perf_counter() - t; "
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[2] != "0":
        sys.exit(f"verify failed: {cmd}")
    return float(out[0]), int(out[1]) / 1024


def main() -> None:
    exe = shutil.which("harness-audit") or sys.exit("install the package first")
    sizes = [int(x) for x in sys.argv[1:]] or [250_000, 500_000, 1_000_000]
    print(
        "| events | bytes | floor (hashlib) | --jobs 1 | x floor | peak RSS | --jobs 2 "
        "| x floor | peak RSS |\n|---|---|---|---|---|---|---|---|---|"
    )
    for n in sizes:
        d = OUT / f"trail-{n}"
        if not (d / "trail.checkpoint").exists():
            shutil.rmtree(d, ignore_errors=True)
            subprocess.run(
                [sys.executable, str(HERE / "gen_trail.py"), str(d), "--events", str(n)], check=True
            )
        seg = d / "trail-000001.jsonl"
        fl = floor(seg)
        row = [f"{n:,}", f"{seg.stat().st_size / 1e6:.0f} MB", f"{fl:.3f} s"]
        for jobs in (1, 2):
            runs = [
                run([exe, "verify", str(d), "--key", str(d / "key.pub"), "--jobs", str(jobs)])
                for _ in range(3)
            ]
            wall = min(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            row += [f"{wall:.2f} s", f"{wall / fl:.1f}x", f"{rss:.0f} MiB"]
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
