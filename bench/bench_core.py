"""The compiled verifier core against the floor (issues 17 and 28): ``python bench/bench_core.py``.

For each trail, in the same run, best of 3: the floor (hashlib SHA-256 of the same bytes in
one process, 1 MiB reads), ``harness-audit verify`` with the compiled core on one thread and
with ``--jobs 2`` (threads), and, with ``--python``, the pure core; wall time, CPU time (user +
sys of the verify process, the steadier figure on a loaded machine: its ratio to the floor's
CPU time is given too, halved for ``--jobs 2``, the time two idle cores would take) and the
load average when the row started; peak RSS is the largest of the runs (threads share one process).
Prints a Markdown table.

    python bench/bench_core.py [--python] [--exe CMD] [--trails DIR] [EVENTS[:SHAPE] ...]

SHAPE is one of the three trail kinds of issue 28:

- ``default``, ``small``, ``large``: bench/gen_trail.py's events (the bench trail);
- ``schema``: bench/gen_schema_trail.py's (a second generator, written from the schema alone:
  all kinds, x_ fields, text beyond ASCII, short and long events);
- ``import``: OTLP spans of bench/gen_otlp.py (EVENTS spans) through ``trail import`` (an
  imported trail: x_ fields on its model and tool calls, 64 MiB segments).

Trails are made in a temporary folder and deleted after their row, or kept in ``--trails DIR``
and reused from there. ``--exe`` is the command to time (default: the
``harness-audit`` installed beside this interpreter; ``--exe "python -m harness_audit"`` runs the
tree on PYTHONPATH with this interpreter, not a shim in PATH). Default: the table of
bench/README.md (1M events of the three kinds).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = ["1000000:default", "1000000:import", "1000000:schema"]


def floor(files: list[Path]) -> tuple[float, float]:
    """Best of 3: SHA-256 of the files' bytes in 1 MiB reads, one process: wall and CPU
    seconds."""
    best, cpu = float("inf"), float("inf")
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        h = hashlib.sha256()
        for path in files:
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        best, cpu = min(best, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return best, cpu


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MiB) of one run in a fresh child,
    measured by a wrapper."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "dt = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(dt, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[3] != "0":
        sys.exit(f"verify failed: {cmd}")
    return float(out[0]), float(out[1]), int(out[2]) / 1024


def make(d: Path, n: int, shape: str, exe: list[str]) -> tuple[Path, Path]:
    """The trail folder of a row and its public key, made unless already there."""
    py = sys.executable
    if shape == "import":
        key = d / "bench_import.pub"
        if not (d / "trail" / "trail.checkpoint").exists():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            src = d / "spans.jsonl"
            subprocess.run([py, str(HERE / "gen_otlp.py"), str(src), "--spans", str(n)], check=True)
            subprocess.run(
                [*exe, "trail", "keygen", "bench/import", "--dir", str(d)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            cmd = [*exe, "trail", "import", str(src), "--key", str(d / "bench_import.key")]
            subprocess.run([*cmd, "--origin", "bench/import", "-o", str(d / "trail")], check=True)
            src.unlink()
        return d / "trail", key
    if not (d / "trail.checkpoint").exists():
        shutil.rmtree(d, ignore_errors=True)
        if shape == "schema":
            gen = [py, str(HERE / "gen_schema_trail.py"), str(d), "--events", str(n)]
        else:
            gen = [py, str(HERE / "gen_trail.py"), str(d), "--events", str(n), "--shape", shape]
        subprocess.run(gen, check=True)
    return d, d / "key.pub"


def row(d: Path, key: Path, n: int, shape: str, exe: list[str], python: bool) -> list[str]:
    files = sorted(d.glob("*.jsonl"))
    size = sum(f.stat().st_size for f in files)
    events = sum(1 for f in files for _ in f.open("rb"))
    load = os.getloadavg()[0]
    fl, fl_cpu = floor(files)
    cmd = [*exe, "verify", str(d), "--key", str(key), "--jobs"]
    os.environ["HARNESS_AUDIT_CORE"] = "c"
    one = [run([*cmd, "1"]) for _ in range(3)]
    two = [run([*cmd, "2"]) for _ in range(3)]
    (t1, c1, _), (t2, c2, _) = min(one), min(two)
    rss = max(r[2] for r in one + two)
    out = [
        f"{events:,}",
        shape,
        f"{size / 1e6:,.0f} MB",
        f"{size / max(events, 1):.0f}",
        f"{fl:.3f} s ({fl_cpu:.3f} s CPU)",
        f"{t1:.2f} s ({c1:.2f} s CPU)",
        f"{t1 / fl:.1f}x (CPU {c1 / fl_cpu:.1f}x)",
        f"{t2:.2f} s ({c2:.2f} s CPU)",
        f"{t2 / fl:.1f}x (CPU {c2 / 2 / fl_cpu:.1f}x)",
        f"{rss:.0f} MiB",
        f"{load:.1f}",
    ]
    if python:
        os.environ["HARNESS_AUDIT_CORE"] = "python"
        p1 = min(run([*cmd, "1"])[0] for _ in range(2))
        p2 = min(run([*cmd, "2"])[0] for _ in range(2))
        out += [f"{p1:.2f} s / {p2:.2f} s", f"{p1 / fl:.1f}x / {p2 / fl:.1f}x"]
    os.environ.pop("HARNESS_AUDIT_CORE", None)
    return out


def resolve(exe: list[str]) -> list[str]:
    """The command with ``python`` as this interpreter and ``harness-audit`` as the script
    installed beside it, when there is one: a version manager's shim in PATH (pyenv's is a
    shell script that runs ``pyenv exec``) costs about 0.1 s of CPU a run that a user's
    installed command does not (session 7)."""
    name, rest = exe[0], exe[1:]
    if name in ("python", "python3"):
        return [sys.executable, *rest]
    if name == "harness-audit":
        beside = Path(sys.executable).parent / name
        return [str(beside) if beside.exists() else shutil.which(name) or "", *rest]
    return exe


def main() -> None:
    args = sys.argv[1:]
    python = "--python" in args
    args = [a for a in args if a != "--python"]
    exe_text = trails = None
    for flag in ("--exe", "--trails"):
        if flag in args:
            i = args.index(flag)
            value = args[i + 1]
            del args[i : i + 2]
            exe_text, trails = (value, trails) if flag == "--exe" else (exe_text, value)
    exe = resolve(shlex.split(exe_text) if exe_text else ["harness-audit"])
    if not exe[0]:
        sys.exit("install the package first, or give --exe")
    specs = args or DEFAULT
    head = (
        "| events | shape | bytes | bytes/event | floor | 1 thread | x floor | --jobs 2 "
        "| x floor | peak RSS | load |"
    )
    if python:
        head += " pure core, 1 / 2 jobs | x floor |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1), flush=True)
    for spec in specs:
        n_text, _, shape = spec.partition(":")
        n, shape = int(n_text), shape or "default"
        if trails:
            d, key = make(Path(trails) / f"{shape}-{n}", n, shape, exe)
            cells = row(d, key, n, shape, exe, python)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-core-", dir="/tmp") as tmp:
                d, key = make(Path(tmp) / "t", n, shape, exe)
                cells = row(d, key, n, shape, exe, python)
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
