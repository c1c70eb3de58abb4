"""Per-request latency of `collect -o s3://...`: acknowledged after the local fsync (default)
and after the upload (`--acknowledge uploaded`), on a local SeaweedFS (issue 27, item 1).

    python bench/ack_latency.py [REQUESTS] [SPANS_PER_REQUEST]

Prints, per mode, the median and 95th percentile of the request's round trip, and the CPU
time (user + sys) the receiver used, with the load average.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collectkit import Collect, keys  # noqa: E402
from tests.seaweed import s3_env, seaweedfs  # noqa: E402
from tests.test_collect import PB, pb_request  # noqa: E402


def run(requests_n: int, spans: int) -> None:
    """Both modes, one after the other, on one server."""
    import requests

    with tempfile.TemporaryDirectory() as tmp, seaweedfs(Path(tmp)) as endpoint:
        os.environ.update(s3_env(endpoint))
        from harness_audit.trail import s3store

        s3store.client().create_bucket(Bucket="bench")
        key, _ = keys(Path(tmp))
        for mode in ("local", "uploaded"):
            c = Collect(
                Path(f"s3://bench/{mode}"), key, "--acknowledge", mode, stderr_dir=Path(tmp)
            )
            cpu0 = c.cpu_ticks()
            times = []
            session = requests.Session()
            try:
                for n in range(1, requests_n + 1):
                    body, _ = pb_request(n, spans)
                    t = time.perf_counter()
                    r = session.post(c.url, data=body, headers=PB, timeout=60)
                    times.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                cpu = (c.cpu_ticks() - cpu0) / os.sysconf("SC_CLK_TCK")
            finally:
                c.stop()
            times.sort()
            print(
                f"{mode:9s} {requests_n} requests of {spans + 1} spans: median "
                f"{statistics.median(times) * 1e3:.1f} ms, p95 "
                f"{times[int(len(times) * 0.95)] * 1e3:.1f} ms; receiver CPU {cpu:.2f} s; "
                f"load {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    run(
        int(sys.argv[1]) if len(sys.argv) > 1 else 200,
        int(sys.argv[2]) if len(sys.argv) > 2 else 511,
    )
