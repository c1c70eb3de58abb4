"""Time and peak RSS of importing an OTLP JSON Lines file (bench/gen_otlp.py) into events,
optionally sealing them into a trail.

    python bench/bench_import.py IN.jsonl [--seal DIR]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from harness_audit.importers import import_trace
from harness_audit.trail.note import Signer
from harness_audit.trail.writer import TrailWriter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--seal", help="also seal into this trail folder")
    args = ap.parse_args()
    t0 = time.perf_counter()
    job = import_trace([Path(args.source)], "otlp")
    n = 0
    if args.seal:
        with TrailWriter(Path(args.seal), "harness-audit/bench",
                         Signer.from_seed("bench", b"\x07" * 32), checkpoint_every=100_000) as w:
            for raw in job.events():
                w.append(raw.event)
                n += 1
    else:
        for _ in job.events():
            n += 1
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = job.summary()
    print(f"events {n:,} runs {s['runs']:,} records {s['records_read']:,} in {dt:.1f} s "
          f"({s['records_read'] / dt:,.0f} spans/s); peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
