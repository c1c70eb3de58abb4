"""Start-up benchmark for issue 28, item 4: ``--version`` and ``verify`` of a small trail.

    python bench/bench_startup.py [--runs N]    # the checkout on PYTHONPATH, or the installed one

Each command runs N times (default 15) in a fresh interpreter (``sys.executable``, no shell or
shim in between); it prints the median and best wall time and the median CPU time (user+sys) of
each, and the load average, as a Markdown table.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARDENED = ROOT / "sample_pipelines" / "loan-assessment-hardened"
ENTRY = "from harness_audit.cli import main; main()"


def measure(args: list[str], runs: int, cwd: Path) -> tuple[float, float, float]:
    """(median wall, best wall, median CPU) seconds of ``harness-audit ARGS``, run in ``cwd``
    (not the checkout: ``-c`` puts the working folder before ``PYTHONPATH``)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        cmd = [sys.executable, "-c", ENTRY, *args]
        out = subprocess.DEVNULL
        subprocess.run(cmd, stdout=out, stderr=out, check=True, cwd=cwd)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 15
    trail, key = HARDENED / "trails", HARDENED / "keys" / "trail.pub"
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    first = (trail / "trail-000001.jsonl").read_text().splitlines()[0]
    plain = {k: v for k, v in json.loads(first).items() if k not in ("v", "seq", "prev", "hash")}
    (tmp / "one.jsonl").write_text(json.dumps(plain) + "\n")
    run = [sys.executable, "-c", ENTRY]
    subprocess.run(
        [*run, "trail", "keygen", "one", "--dir", str(tmp)], check=True, stdout=-3, stderr=-3
    )
    seal = ["trail", "seal", str(tmp / "one.jsonl"), "--key", str(tmp / "one.key")]
    subprocess.run(
        [*run, *seal, "--origin", "one", "-o", str(tmp / "t.jsonl")], check=True, stderr=-3
    )
    rows = {
        "`python -c pass` (the interpreter alone)": None,
        "`--version`": ["--version"],
        "`verify` of the hardened sample (786 events, `--key`)": [
            "verify",
            str(trail),
            "--key",
            str(key),
        ],
        "`verify` of a one-event trail (`--key`)": [
            "verify",
            str(tmp / "t.jsonl"),
            "--key",
            str(tmp / "one.pub"),
        ],
    }
    print(f"load average {os.getloadavg()[0]:.1f}; {runs} runs each\n")
    print("| command | median wall | best wall | median CPU |\n|---|---|---|---|")
    for what, args in rows.items():
        if args is None:
            walls = []
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-c", "pass"], check=True)
                walls.append(time.perf_counter() - t)
            med, best, cpu = statistics.median(walls), min(walls), float("nan")
        else:
            med, best, cpu = measure(args, runs, tmp)
        print(f"| {what} | {med:.3f} s | {best:.3f} s | {cpu:.3f} s |")


if __name__ == "__main__":
    main()
