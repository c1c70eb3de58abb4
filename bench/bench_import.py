"""``trail import`` end to end (detect, map, seal, sign, ``import.json``) of every trace format
the importer registry lists, against ``verify`` of the trail it writes: time, CPU time and peak
memory of each, the input made by ``bench/gen_imports.py`` (about N records in each format's
shape; whole-document formats at the largest document their bounds take).

    python bench/bench_import.py [--records 1000000] [--runs 1] [--jobs 2] [--case NAME ...]
                                 [--root CHECKOUT] [--before CHECKOUT]

Every command is ``python -m harness_audit`` of this checkout (``PYTHONPATH``), a fresh process
(start-up included). Wall time is the best of ``--runs`` (import and verify interleaved: the
machine's speed drifts); CPU time is user + system of the command and its children (the sealing
process of ``--jobs 2``) in that run; memory is the peak proportional set size of the command's
processes together (the sealing child is a fork and shares its parent's pages), sampled every
20 ms. A format of the registry without a case in ``gen_imports.CASES`` stops the bench.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CODE = ROOT
"""The checkout whose ``harness_audit`` runs (``--root``: another one, to measure before)."""
sys.path.insert(0, str(HERE))

import gen_imports  # noqa: E402


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


def timed(cmd: list[str], code: Path | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, the command and its children) and the peak
    memory (MiB, proportional set size of its processes together) of one run of ``cmd`` (with
    the ``harness_audit`` of ``code``, else of :data:`CODE`)."""
    code = code or CODE
    env = dict(os.environ, PYTHONPATH=str(code))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        # (``-m`` puts the working folder first on the path: run in the checkout measured)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=code)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_pss(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        if proc.returncode:
            err.seek(0)
            text = err.read().decode(errors="replace")
            raise SystemExit(f"{cmd[3:5]} exited {proc.returncode}: {text[-800:]}")
    return wall, cpu, peak / 1024


def _ha(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness_audit", *args]


def bench_case(
    case: str, d: Path, records: int, runs: int, jobs: str, before: Path | None = None
) -> dict[str, object]:
    """Make ``case``'s input in ``d``, import it (and with ``before``'s code, interleaved)
    and verify the result; the figures."""
    src, n = gen_imports.make(case, d / "inputs", records)
    out = d / "trail"
    inf = (float("inf"), 0.0, 0.0)
    best = {"import": inf, "verify": inf, "before": inf}
    for _ in range(runs):
        for which, code in (("before", before), ("import", CODE)):
            if code is None:
                continue
            if out.exists():
                shutil.rmtree(out)
            cmd = _ha("trail", "import", str(src), "--key", str(d / "bench_import.key"))
            cmd += ["--origin", "bench/import", "-o", str(out), "--jobs", jobs]
            cmd += ["--from", gen_imports.CASES[case][0]]
            best[which] = min(best[which], timed(cmd, code))
        got = timed(_ha("verify", str(out), "--key", str(d / "bench_import.pub")))
        best["verify"] = min(best["verify"], got)
    events = sum(
        1 for seg in out.glob("*.jsonl") for _ in seg.open("rb")
    )  # lines of the trail: its events
    mib = src.stat().st_size / 2**20
    shutil.rmtree(src.parent)
    return {
        "case": case,
        "format": gen_imports.CASES[case][0],
        "records": n,
        "mib": mib,
        "events": events,
        "import": best["import"],
        "verify": best["verify"],
        "before": best["before"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--case", action="append", choices=sorted(gen_imports.CASES))
    ap.add_argument("--root", type=Path, help="run this checkout's harness_audit instead")
    ap.add_argument(
        "--before", type=Path, help="also import with this checkout's code, interleaved"
    )
    args = ap.parse_args()
    global CODE
    CODE = args.root.resolve() if args.root else ROOT
    missing = gen_imports.missing_formats()
    if missing:
        raise SystemExit(f"no bench case for: {', '.join(missing)} (bench/gen_imports.py)")
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    print(
        "| case | format | records | input | events | import s (CPU s) | verify s (CPU s) "
        "| ratio (CPU ratio) | peak import / verify |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.case or gen_imports.CASES:
        with tempfile.TemporaryDirectory(dir="/tmp", prefix="bench-import-") as tmp:
            d = Path(tmp)
            subprocess.run(
                _ha("trail", "keygen", "bench/import", "--dir", str(d)),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONPATH=str(CODE)),
                cwd=CODE,
            )
            r = bench_case(case, d, args.records, args.runs, args.jobs, args.before)
        (iw, ic, im), (vw, vc, vm) = r["import"], r["verify"]  # type: ignore[misc]
        (bw, bc, bm) = r["before"]  # type: ignore[misc]
        was = f" before: {bw:.2f} ({bc:.2f}) {bw / vw:.1f}x ({bc / vc:.1f}x) {bm:.0f} MiB |"
        print(
            f"| {case} | {r['format']} | {r['records']:,} | {r['mib']:,.0f} MiB | "
            f"{r['events']:,} | {iw:.2f} ({ic:.2f}) | {vw:.2f} ({vc:.2f}) | "
            f"{iw / vw:.1f}x ({ic / vc:.1f}x) | {im:.0f} / {vm:.0f} MiB |"
            + (was if args.before else ""),
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
