"""Scan benchmarks for issue 2: start-up, one huge manifest, a tree of many manifests.

    python bench/bench_scan.py            # writes bench/out/, prints a Markdown table
    python bench/bench_scan.py --exe "python3 -m harness_audit"   # another build, e.g. with
                                          # PYTHONPATH set to an older checkout, for before/after

Each figure is the best wall time of several runs of the installed ``harness-audit`` script,
so it includes interpreter start-up. Sizes are varied to show how time grows.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def best(cmd: list[str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return min(times)


def gen(*args: str) -> None:
    subprocess.run([sys.executable, str(HERE / "gen_manifests.py"), *args], check=True)


def main() -> None:
    import shlex

    if "--exe" in sys.argv:
        base = shlex.split(sys.argv[sys.argv.index("--exe") + 1])
    else:
        base = [shutil.which("harness-audit") or sys.exit("install the package first")]
    OUT.mkdir(exist_ok=True)
    rows = [("`harness-audit --version`", best([*base, "--version"], 10), "< 0.150 s")]
    for n in (1000, 2500, 5000):
        path = OUT / f"big{n}.harness.yaml"
        gen("big", str(path), "--agents", str(n))
        rows.append(
            (
                f"scan, one manifest of {n:,} agents",
                best([*base, "scan", str(path), "-f", "json", "--no-trails"]),
                "< 2 s" if n == 5000 else "",
            )
        )
    for m in (250, 500, 1000):
        d = OUT / f"tree{m}"
        shutil.rmtree(d, ignore_errors=True)
        gen("tree", str(d), "--manifests", str(m), "--agents", "10")
        rows.append(
            (
                f"scan, tree of {m:,} manifests x 10 agents",
                best([*base, "scan", str(d), "-f", "json", "--no-trails"], 2),
                "< 10 s" if m == 1000 else "",
            )
        )
    print("| what | best wall time | target |\n|---|---|---|")
    for what, secs, target in rows:
        print(f"| {what} | {secs:.3f} s | {target} |")


if __name__ == "__main__":
    main()
