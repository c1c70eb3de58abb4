"""``trail import`` end to end (detect, map, seal, sign, ``import.json``) on an OTLP JSON Lines
file from ``bench/gen_otlp.py``, with ``--jobs 1`` and ``--jobs 2`` (the default on two CPUs),
against ``verify`` of the trail it writes, all through the installed command; time (best of
N, the three interleaved) and peak memory of each (proportional set size, its processes
together).

    python bench/bench_import.py [--spans 1000000] [--runs 1]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _tree_pss(pid: int) -> int:
    """Proportional set size (kB) of a process and its descendants now: resident memory with
    each shared page split among the processes that share it (the sealing child is a fork and
    shares its parent's pages), so the sum is what the command holds; 0 once gone."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += next(int(x.split()[1]) for x in rollup.splitlines() if x.startswith("Pss:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak memory (MiB) of one run of ``cmd``: the largest proportional
    set size of the command and its child processes together, sampled every 20 ms."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_pss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"{cmd[:3]} exited {proc.returncode}")
    return wall, peak / 1024


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
        best = {"import -j 1": float("inf"), "import -j 2": float("inf"), "verify": float("inf")}
        rss = dict.fromkeys(best, 0.0)
        out = d / "trail"
        for _ in range(args.runs):  # interleaved: a slower spell of the machine hits all three
            for jobs in ("1", "2"):
                if out.exists():
                    shutil.rmtree(out)
                cmd = [exe, "trail", "import", str(src), "--key", str(d / "bench_import.key")]
                cmd += ["--origin", "bench/import", "-o", str(out), "--jobs", jobs]
                wall, peak = timed(cmd)
                name = f"import -j {jobs}"
                best[name], rss[name] = min(best[name], wall), max(rss[name], peak)
            wall, peak = timed([exe, "verify", str(out), "--key", str(d / "bench_import.pub")])
            best["verify"], rss["verify"] = min(best["verify"], wall), max(rss["verify"], peak)
        segments = sum(1 for _ in out.glob("*.jsonl"))
        print(f"spans {args.spans:,} ({src.stat().st_size / 2**20:,.0f} MiB), segments {segments}")
        for name, wall in best.items():
            print(f"{name:12} {wall:7.2f} s  peak memory {rss[name]:6.1f} MiB (PSS, its processes)")
        for jobs in ("1", "2"):
            ratio = best[f"import -j {jobs}"] / best["verify"]
            print(f"import -j {jobs} / verify = {ratio:.2f}x")


if __name__ == "__main__":
    main()
