"""``trail import`` end to end (detect, map, seal, sign) on an OTLP JSON Lines file from
``bench/gen_otlp.py``, against ``verify`` of the trail it writes, both through the installed
command; time (best of N) and peak RSS of each.

    python bench/bench_import.py [--spans 1000000] [--runs 1]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak RSS (MiB) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    exe = shutil.which("harness-audit") or "harness-audit"
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        d = Path(tmp)
        src = d / "spans.jsonl"
        subprocess.run(
            [sys.executable, str(HERE / "gen_otlp.py"), str(src), "--spans", str(args.spans)],
            check=True,
        )
        subprocess.run(
            [exe, "trail", "keygen", "bench/import", "--dir", str(d)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        best_import = best_verify = float("inf")
        rss_import = rss_verify = 0.0
        for i in range(args.runs):
            out = d / f"trail{i}"
            wall, rss = timed(
                [
                    exe,
                    "trail",
                    "import",
                    str(src),
                    "--key",
                    str(d / "bench_import.key"),
                    "--origin",
                    "bench/import",
                    "-o",
                    str(out),
                ]
            )
            best_import, rss_import = min(best_import, wall), max(rss_import, rss)
            wall, rss = timed([exe, "verify", str(out), "--key", str(d / "bench_import.pub")])
            best_verify, rss_verify = min(best_verify, wall), max(rss_verify, rss)
            if i < args.runs - 1:
                shutil.rmtree(out)
        events = sum(1 for _ in (d / f"trail{args.runs - 1}").glob("*.jsonl"))
        print(f"spans {args.spans:,} ({src.stat().st_size / 2**20:,.0f} MiB), segments {events}")
        print(f"import  {best_import:7.2f} s  peak RSS {rss_import:6.1f} MiB")
        print(f"verify  {best_verify:7.2f} s  peak RSS {rss_verify:6.1f} MiB")
        print(f"import / verify = {best_import / best_verify:.1f}x")


if __name__ == "__main__":
    main()
