"""The work paper's sample is drawn as before from a population CSV, read faster (issue 28, item 3;
the second pass reads only the drawn rows when the first kept the runs of months): ``draw``
against the reference reading (``csv.DictReader`` and a ``datetime`` a row), on CSVs with every
kind of ``ts`` (the trail's own form, offsets, years before 1000, invalid dates,
formula-escaped), short and long rows, blank lines and quoted line breaks; and the spool's cells
against ``csv_text``."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from harness_audit.evidence import population as pop
from harness_audit.evidence.period import parse_ts
from harness_audit.report.inert import csv_text

STAMPS = [
    "2026-01-31T23:59:59Z",
    "2026-02-01T00:00:00.5Z",
    "'=2026-01-01T00:00:00Z",
    "garbage",
    "0999-01-01T00:00:00Z",
    "2026-03-01T00:30:00+01:00",
    "2026-13-01T00:00:00Z",
    "",
    "2026-04-01T00:00:60Z",
    "2025-12-31T23:00:00.1234567Z",
    "２０２６-01-01T00:00:00Z",
]


def reference_draw(path: Path, size: int, seed: int, control: str) -> tuple[object, ...]:
    """The draw as it read the CSV before (DictReader, a datetime per row)."""

    def month(ts: str) -> str:
        t = parse_ts(ts.lstrip("'"))
        return t.strftime("%Y-%m") if t else "unknown"

    counts: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            m = month(row["ts"] or "")
            counts[m] = counts.get(m, 0) + 1
    alloc = pop.allocate(counts, size)
    picks = {
        m: set(random.Random(f"{seed}:{control}:{m}").sample(range(counts[m]), alloc[m]))
        for m in sorted(counts)
    }
    rows, seen = [], {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            m = month(row["ts"] or "")
            i = seen.get(m, 0)
            seen[m] = i + 1
            if i in picks[m]:
                rows.append(dict(row))
    total = sum(counts.values())
    return (total, min(size, total), rows, {m: (counts[m], alloc[m]) for m in sorted(counts)})


@pytest.mark.parametrize("kept", [0, 3, pop.MONTH_RUNS_KEPT])
@pytest.mark.parametrize("trial", range(12))
def test_draw_reads_as_the_reference(
    trial: int, kept: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kept``: the runs of one month the first pass remembers (0: the months are worked out
    again in the second pass; 3: past the bound mid-file). Odd trials are in time order (a run
    a month, as a trail gives them), even ones shuffled."""
    monkeypatch.setattr(pop, "MONTH_RUNS_KEPT", kept)
    rnd = random.Random(trial)
    path = tmp_path / "p.csv"
    n = rnd.randrange(300)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(pop.COLUMNS)
        for i in range(n):
            ts = STAMPS[i * len(STAMPS) // n] if trial % 2 else rnd.choice(STAMPS)
            row: list[object] = [i, ts, "r", "s", "f.jsonl", 1, "yes", "", "", ""]
            if rnd.random() < 0.05:
                row[2] = "run\nwith a line break"
            if rnd.random() < 0.03:
                row = row[: rnd.randrange(2, 10)]
            if rnd.random() < 0.03:
                row.append("extra")
            w.writerow(row)
            if rnd.random() < 0.02:
                f.write("\n")
    for size in (0, 1, 5, 25, 1000):
        s = pop.draw(path, size, 7, "a/check")
        assert (s.population, s.size, s.rows, s.months) == reference_draw(path, size, 7, "a/check")
    lines = sum(1 for _ in path.open(encoding="utf-8")) - 1
    assert pop.count_rows(path) == lines


@pytest.mark.parametrize(
    "text", ["plain", "=SUM(A1)", "+1", "-1", "@x", "", "tab\there", "é", "\u202ebidi", "a\nb"]
)
def test_spool_cells_are_csv_text(text: str) -> None:
    assert pop._cell(text) == csv_text(text)
