"""The compiled verifier core against the floor (issue 17): ``python bench/bench_core.py``.

For each trail (events x shape, made by bench/gen_trail.py in a temporary folder, deleted
afterwards), in the same run, best of 3: the floor (hashlib SHA-256 of the same bytes in one
process, 1 MiB reads), ``harness-audit verify`` with the compiled core on one thread and with
``--jobs 2`` (threads), and, with ``--python``, the pure core; peak RSS is the largest of the
runs (threads share one process). Prints a Markdown table.

    python bench/bench_core.py [--python] [EVENTS[:SHAPE] ...]   (default: the table of
    bench/README.md: 100k, 1M, 3M default events; 1M small and large events)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_verify import HERE, floor, run

DEFAULT = ["100000", "1000000", "3000000", "1000000:small", "1000000:large"]


def main() -> None:
    args = sys.argv[1:]
    python = "--python" in args
    specs = [a for a in args if a != "--python"] or DEFAULT
    exe = shutil.which("harness-audit") or sys.exit("install the package first")
    head = (
        "| events | shape | bytes | bytes/event | floor | 1 thread | x floor | --jobs 2 "
        "| x floor | peak RSS |"
    )
    if python:
        head += " pure core, 1 / 2 jobs | x floor |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for spec in specs:
        n_text, _, shape = spec.partition(":")
        n, shape = int(n_text), shape or "default"
        with tempfile.TemporaryDirectory(prefix="bench-core-", dir="/tmp") as tmp:
            d = Path(tmp) / "t"
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "gen_trail.py"),
                    str(d),
                    "--events",
                    str(n),
                    "--shape",
                    shape,
                ],
                check=True,
            )
            seg = d / "trail-000001.jsonl"
            size = seg.stat().st_size
            fl = floor(seg)
            cmd = [exe, "verify", str(d), "--key", str(d / "key.pub"), "--jobs"]
            env = dict(os.environ, HARNESS_AUDIT_CORE="c")
            os.environ.update(env)
            one = [run([*cmd, "1"]) for _ in range(3)]
            two = [run([*cmd, "2"]) for _ in range(3)]
            t1, t2 = min(r[0] for r in one), min(r[0] for r in two)
            rss = max(r[1] for r in one + two)
            row = [
                f"{n:,}",
                shape,
                f"{size / 1e6:,.0f} MB",
                f"{size / n:.0f}",
                f"{fl:.3f} s",
                f"{t1:.2f} s",
                f"{t1 / fl:.1f}x",
                f"{t2:.2f} s",
                f"{t2 / fl:.1f}x",
                f"{rss:.0f} MiB",
            ]
            if python:
                os.environ["HARNESS_AUDIT_CORE"] = "python"
                p1 = min(run([*cmd, "1"])[0] for _ in range(2))
                p2 = min(run([*cmd, "2"])[0] for _ in range(2))
                row += [f"{p1:.2f} s / {p2:.2f} s", f"{p1 / fl:.1f}x / {p2 / fl:.1f}x"]
            os.environ.pop("HARNESS_AUDIT_CORE", None)
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
