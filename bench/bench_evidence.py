"""Evidence judgement speed and memory (issue 5): ``python bench/bench_evidence.py``.

Runs the installed ``harness-audit scan bench/bench.harness.yaml --trails DIR -f json`` (which
verifies the trail and then judges every check on its events in one streaming pass) on trails
of several sizes made by bench/gen_trail.py, and the judging pass alone in-process, with peak
RSS, to show that memory follows the runs still open, not the trail's length.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent))


def trail(n: int) -> Path:
    d = OUT / f"trail-{n}"
    if (
        not (d / "trail.checkpoint").exists()
        or b"run_start" not in (d / "trail-000001.jsonl").read_bytes()[:2000]
    ):
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_trail.py"), str(d), "--events", str(n)], check=True
        )
    return d


def judge_only(d: Path) -> tuple[float, float]:
    """Seconds and peak RSS growth (MiB) of the judging pass alone, in a fresh process."""
    code = f"""
import gc, resource, sys, time
gc.set_threshold(100_000, 50, 1000)
sys.path.insert(0, {str(HERE.parent)!r})
from pathlib import Path
from harness_audit.evidence.judge import Judge
from harness_audit.manifest import load_manifest
from harness_audit.trail.reader import ReadStats, read_events
p = load_manifest(Path({str(HERE / "bench.harness.yaml")!r}))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
j = Judge(p)
st = ReadStats()
for f, n, ev in read_events([Path({str(d)!r})], st):
    j.feed(f, n, ev)
e = j.finish(st.files, st.events, st.skipped)
grow = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(time.perf_counter() - t, grow, e.runs)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def scan(d: Path) -> tuple[float, float]:
    exe = shutil.which("harness-audit") or sys.exit("install the package first")
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            exe,
            "scan",
            str(HERE / "bench.harness.yaml"),
            "--trails",
            str(d),
            "--key",
            str(d / "key.pub"),
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    sizes = [int(x) for x in sys.argv[1:]] or [250_000, 1_000_000]
    print(
        "| events | runs | judging pass alone | its RSS growth | whole scan (verify + judge) "
        "| scan peak RSS |\n|---|---|---|---|---|---|"
    )
    for n in sizes:
        d = trail(n)
        j, grow = judge_only(d)
        s, rss = scan(d)
        print(
            f"| {n:,} | {n // 20:,} | {j:.2f} s | {grow:.1f} MiB | {s:.2f} s | {rss:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
