"""Populations an auditor can list, and samples an auditor can re-perform (issue 16).

Every event where a control operated (an agent's check) is written, as the judge meets it, as a
row of that control's population CSV (:data:`COLUMNS`): where the event is, whether a trusted
checkpoint anchors it, and the event that evidences the control there (the approval or the
verification, when the control has one). Every control whose population is events has its CSV,
an empty population a header alone. The sample is drawn from the CSV alone, by :data:`METHOD`
(also in the pack's README.txt):

1. Stratify the rows by the UTC calendar month of ``ts`` (``YYYY-MM``; a ``ts`` that does not
   parse is in stratum ``unknown``).
2. Allocate the sample size n (at most the population N) across the months in proportion to
   their rows by the largest-remainder rule: month m gets floor(n * N_m / N); the rows left over
   go one each to the months with the largest remainders (n * N_m mod N), ties to the earlier
   month.
3. In month m, ``random.Random(f"{seed}:{control}:{m}").sample(range(N_m), k_m)`` gives the
   0-based positions of the sampled rows among that month's rows in CSV order (``control`` is
   ``agent/check``); the sample is those rows, in CSV order.

Memory is bounded by the sample, not by the population: the CSV is read twice (count, pick).
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness_audit.evidence.model import Location
from harness_audit.evidence.period import fast_trail_us, parse_ts
from harness_audit.report.inert import csv_text

PACK_FOLDER = "populations"
"""Where the pack holds the population CSVs (``populations/<csv>``, inside its signature)."""
COLUMNS = (
    "seq",
    "ts",
    "run",
    "span",
    "file",
    "line",
    "anchored",
    "evidence_seq",
    "evidence_file",
    "evidence_line",
)
"""A population row: where the event is, ``anchored`` (``yes``/``no``: whether a trusted
checkpoint covers it; an unanchored one proves no pass), and where the event that evidences the
control is (the approval or verification; empty when the control has none there)."""
METHOD = (
    "Stratified random sampling by calendar month, re-performable from the population CSV "
    "(columns seq, ts, run, span, file, line, anchored, evidence_seq, evidence_file, "
    "evidence_line; rows in the order the events were judged). "
    "1. Stratum: the UTC calendar month of ts (YYYY-MM; a ts that does not parse: 'unknown'). "
    "2. Allocation of the sample size n (at most the population N): month m gets "
    "floor(n x N_m / N); the rows left over go one each to the months with the largest "
    "remainder (n x N_m mod N), ties to the earlier month. "
    '3. Selection: in month m, Python\'s random.Random(f"{seed}:{control}:{m}").sample('
    "range(N_m), k_m) gives the 0-based positions of the sampled rows among that month's rows "
    "in CSV order, where control is agent/check; the sample is those rows in CSV order "
    "(CPython 3.11 or later)."
)


def safe_name(text: str) -> str:
    """A file name for an id: word characters, dots and dashes kept, anything else ``_``."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:100].lstrip(".")
    return name or "_"


def control_key(agent: str, check: str) -> str:
    """The control's name in the seed string and the pack: ``agent/check``."""
    return f"{agent}/{check}"


def csv_name(pipeline: str, agent: str, check: str) -> str:
    """The population file of a control: ``<pipeline>__<agent>__<check>.csv``."""
    return f"{safe_name(pipeline)}__{safe_name(agent)}__{safe_name(check)}.csv"


def _cell(text: str) -> str:
    """:func:`csv_text`, at once for printable ASCII (every cell of a row is one: issue 28)."""
    if text.isascii() and text.isprintable():  # no invisible code point to escape
        return "'" + text if text[:1] in ("=", "+", "-", "@") else text
    return csv_text(text)


class PopulationSpool:
    """Writes every population row of one pipeline to ``folder/<pipeline>__<agent>__<check>.csv``
    (see :func:`csv_name`)."""

    def __init__(self, folder: Path, pipeline: str) -> None:
        self.folder, self.pipeline = folder, pipeline
        self.files: dict[tuple[str, str], tuple[IO[str], Any]] = {}
        self.paths: dict[tuple[str, str], Path] = {}
        self.cells: dict[str, tuple[str, str]] = {}  # a trail file -> its cells, see add
        self.run: tuple[str, str] = ("", "")  # the last row's run and its cell, see add

    def path(self, agent: str, check: str) -> Path:
        """Where the population of ``agent``'s ``check`` is (or would be) written."""
        return self.folder / csv_name(self.pipeline, agent, check)

    def _writer(self, agent: str, check: str) -> Any:
        key = (agent, check)
        entry = self.files.get(key)
        if entry is None:
            path = self.path(agent, check)
            self.folder.mkdir(parents=True, exist_ok=True)
            f = path.open("w", encoding="utf-8", newline="")
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            entry = self.files[key] = (f, w)
            self.paths[key] = path
        return entry[1]

    def touch(self, agent: str, check: str) -> None:
        """Make sure the control has its CSV (a header alone for an empty population)."""
        self._writer(agent, check)

    def add(
        self, agent: str, check: str, where: Location, ts: str, by: Location | None = None
    ) -> None:
        """Append one row: the event where the control operated (``by``: the event that
        evidences it there). A trail file's cells are escaped once, a run's once a stretch of
        its rows (a row each: issue 28)."""
        file = self.cells.get(where.file)
        if file is None:
            file = self.cells[where.file] = (_cell(where.file), csv_text(where.file))
        run = self.run
        if run[0] != where.run:  # a run's events come together: its cell made once
            run = self.run = (where.run, _cell(where.run))
        by_file = ""
        if by is not None:
            known = self.cells.get(by.file)
            if known is None:
                known = self.cells[by.file] = (_cell(by.file), csv_text(by.file))
            by_file = known[1]
        self._writer(agent, check).writerow(
            [
                where.seq,
                _cell(ts),
                run[1],
                _cell(where.span),
                file[0],
                where.line,
                "yes" if where.anchored else "no",
                "" if by is None else by.seq,
                by_file,
                "" if by is None else by.line,
            ]
        )

    def close(self) -> None:
        """Flush and close every population file."""
        for f, _ in self.files.values():
            f.close()


def _ts_column(header: list[str] | None) -> int:
    """Where ``ts`` is in a CSV's header (past the row's end when it has none: ``unknown``)."""
    return header.index("ts") if header and "ts" in header else 1 << 30


def _row(header: list[str], cells: list[str]) -> dict[str, str]:
    """A row as :class:`csv.DictReader` gives it: missing cells None, extra ones under None."""
    row: dict[Any, Any] = dict(zip(header, cells, strict=False))
    if len(cells) < len(header):
        for k in header[len(cells) :]:
            row[k] = None
    elif len(cells) > len(header):
        row[None] = cells[len(header) :]
    return row


def month_of(ts: str) -> str:
    """The stratum of a row: the UTC calendar month of its ``ts``, or ``unknown``."""
    ts = ts.lstrip("'")
    if ts[:1] not in ("", "0") and fast_trail_us(ts) is not None:  # the trail's own form, UTC
        return ts[:7]  # what strftime("%Y-%m") gives, without a datetime (a row each)
    t = parse_ts(ts)
    return t.strftime("%Y-%m") if t else "unknown"


def count_rows(csv_path: Path) -> int:
    """The rows of a population CSV below its header, as lines (the spool writes every row on
    one line: its cells hold no line break unquoted), counted in binary chunks."""
    lines, last = 0, b"\n"
    with csv_path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """The sample size per month by the largest-remainder rule (see the module doc)."""
    total = sum(counts.values())
    n = min(n, total)
    if n <= 0:
        return dict.fromkeys(counts, 0)
    out = {m: n * c // total for m, c in counts.items()}
    left = n - sum(out.values())
    for m in sorted(counts, key=lambda m: (-(n * counts[m] % total), m))[:left]:
        out[m] += 1
    return out


@dataclass(frozen=True)
class Sample:
    """A drawn sample: the rows (as in the CSV), the size asked, the population, per month."""

    control: str
    population: int
    size: int
    rows: list[dict[str, str]]
    months: dict[str, tuple[int, int]]  # month -> (rows, sampled)


MONTH_RUNS_KEPT = 100_000
"""Runs of rows of one month :func:`draw` remembers from its first pass (a trail in time order
has one run a month); past them, the second pass works the months out again (memory flat)."""


def draw(csv_path: Path, size: int, seed: int, control: str) -> Sample:
    """Draw the sample of ``control`` from its population CSV by the documented method."""
    counts: dict[str, int] = {}
    runs: list[list[Any]] | None = []  # [month, rows] of consecutive rows, while few
    with csv_path.open(encoding="utf-8", newline="") as f:  # csv.reader: a dict only if drawn
        rows_in = csv.reader(f)
        at = _ts_column(next(rows_in, None))
        for cells in rows_in:
            if not cells:  # a blank line: DictReader skips it too
                continue
            m = month_of(cells[at] if at < len(cells) else "")
            counts[m] = counts.get(m, 0) + 1
            if runs is not None:
                if runs and runs[-1][0] == m:
                    runs[-1][1] += 1
                elif len(runs) < MONTH_RUNS_KEPT:
                    runs.append([m, 1])
                else:
                    runs = None
    alloc = allocate(counts, size)
    picks: dict[str, set[int]] = {}
    for m in sorted(counts):
        k = alloc[m]
        rnd = random.Random(f"{seed}:{control}:{m}")  # noqa: S311 - a re-performable audit sample
        picks[m] = set(rnd.sample(range(counts[m]), k)) if k else set()
    rows: list[dict[str, str]] = []
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows_in = csv.reader(f)
        header = next(rows_in, None) or []
        if runs is not None:  # the months known: only the drawn rows are looked at
            wanted: set[int] = set()
            first = 0
            seen: dict[str, int] = {}
            for m, n in runs:
                i = seen.get(m, 0)
                wanted.update(first + j - i for j in picks[m] if i <= j < i + n)
                seen[m] = i + n
                first += n
            index = 0
            for cells in rows_in:
                if not cells:
                    continue
                if index in wanted:
                    rows.append(_row(header, cells))
                index += 1
        else:
            at = _ts_column(header)
            seen = {}
            for cells in rows_in:
                if not cells:
                    continue
                m = month_of(cells[at] if at < len(cells) else "")
                i = seen.get(m, 0)
                seen[m] = i + 1
                if i in picks[m]:
                    rows.append(_row(header, cells))
    return Sample(
        control,
        sum(counts.values()),
        min(size, sum(counts.values())),
        rows,
        {m: (counts[m], alloc[m]) for m in sorted(counts)},
    )
