"""Evidence pack speed (issues 6 and 28): ``python bench/bench_report.py``.

Ten pipelines (bench/bench.harness.yaml renamed), each with a 100,000-event trail from
bench/gen_trail.py: 1,000,000 events in all. Times the installed ``harness-audit report`` for
the whole pack (wall, and the CPU time and peak RSS of the process: the machine may be shared),
then each PDF step (WeasyPrint on the summary's and the evidence PDF's HTML) in a report run
in-process.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "report-bench"
sys.path.insert(0, str(HERE.parent))


def setup() -> Path:
    base = (HERE / "bench.harness.yaml").read_text()
    for i in range(10):
        d = OUT / "pipelines" / f"p{i:02d}"
        if (d / "trails" / "trail.checkpoint").exists():
            continue
        d.mkdir(parents=True, exist_ok=True)
        text = base.replace("metadata: {name: bench}", f"metadata: {{name: bench-{i:02d}}}")
        text = text.replace(
            "integrity: signed_checkpoints,",
            "integrity: signed_checkpoints, path: trails/, public_key: trails/key.pub,",
        )
        (d / "harness.yaml").write_text(text)
        subprocess.run(
            [sys.executable, str(HERE / "gen_trail.py"), str(d / "trails"), "--events", "100000"],
            check=True,
        )
    return OUT / "pipelines"


def main() -> None:
    exe = shutil.which("harness-audit") or sys.exit("install the package first")
    pipelines = setup()
    pack = OUT / "pack"
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| step | wall | CPU (user + sys) | peak RSS | target |\n|---|---|---|---|---|")
    for jobs in (1, 2):
        shutil.rmtree(pack, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(
            [exe, "report", str(pipelines), "-o", str(pack), "--jobs", str(jobs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        print(
            f"| whole pack, 10 pipelines, 1,000,000 events, --jobs {jobs} | {wall:.1f} s | "
            f"{cpu:.1f} s | {after.ru_maxrss / 1024:.0f} MiB | < 12 s |"
        )
    from typer.testing import CliRunner

    import harness_audit.report.pack as pack_module
    from harness_audit.cli._cli import app

    # each PDF step as the report runs it (evidence.pdf's source is not evidence.html: issue 28)
    render_pdf, steps = pack_module.render_pdf, []

    def timed(html: str) -> bytes:
        t, c = time.perf_counter(), time.process_time()
        pdf = render_pdf(html)
        steps.append((html, pdf, time.perf_counter() - t, time.process_time() - c))
        return pdf

    pack_module.render_pdf = timed  # type: ignore[assignment]
    shutil.rmtree(pack, ignore_errors=True)
    CliRunner().invoke(app, ["report", str(pipelines), "-o", str(pack), "--jobs", "1"])
    for html, pdf, wall, cpu in steps:
        name, target = ("evidence", "") if 'id="controls"' in html else ("summary", "< 3 s")
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=False)
        pages = next(
            (ln.split()[-1] for ln in info.stdout.decode().splitlines() if ln.startswith("Pages:")),
            "?",
        )
        print(
            f"| {name}.pdf step ({len(pdf) / 1e6:.1f} MB, {pages} pages) | {wall:.1f} s | "
            f"{cpu:.1f} s | | {target} |"
        )


if __name__ == "__main__":
    main()
