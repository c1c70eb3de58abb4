"""Session readers hold a run's events in bounded memory (issue 25, Tests: bounded memory): past
a bound the events spill, sorted, to a private temporary file and come back merged. The
output is the same byte for byte whatever the bound (a bound of a few events forces a spill
every few records), on the project's session inputs, on the real traces of ``../shared/real``
in these formats, and on generated ones: long sessions, times out of order, repeated and
missing times, several sessions in one file. The temporary directory is gone after every
ending: read to the end, abandoned half-way, or stopped by an error."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import orjson
import pytest

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace, spill

from .conftest import SHARED

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "import"
SESSION = "4f2c0d1e-aaaa-4bbb-8ccc-0123456789ab"
SPILLING = ("claude-code", "codex")
"""The readers that spill (the others hold a whole document, or a run per trace)."""


def _gen_imports() -> Any:
    spec = importlib.util.spec_from_file_location("gen_imports", ROOT / "bench" / "gen_imports.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_imports"] = mod
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["gen_imports"]
    return mod


def _out(path: Path, fmt: str) -> bytes:
    """Every event the import makes (its file, line and fields in their order), then its
    summary, as bytes."""
    job = import_trace([path], fmt)
    lines = [json.dumps([ev.file, ev.line, ev.event]).encode() for ev in job.events()]
    summary = job.summary()
    summary.pop("imported_at")  # (the clock, not the import)
    return b"\n".join([*lines, json.dumps(summary, sort_keys=True, default=str).encode()])


def _private_tmp(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """This test's own temporary folder (tests in parallel spill too)."""
    (tmp / "tmp").mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp / "tmp"))


def _spill_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("harness-audit-spill-*")}


def _same_at_every_bound(
    path: Path,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp: Path,
    bounds: tuple[int, ...] = (1, 2, 3, 7),
) -> None:
    spills: list[int] = []
    real = spill.Spool.spill
    _private_tmp(monkeypatch, tmp)

    def counted(self: spill.Spool) -> None:
        spills.append(1)
        real(self)

    monkeypatch.setattr(spill.Spool, "spill", counted)
    before = _spill_dirs()
    monkeypatch.setattr(spill, "SPILL_EVENTS", 1 << 30)
    whole = _out(path, fmt)
    assert not spills
    for bound in bounds:
        monkeypatch.setattr(spill, "SPILL_EVENTS", bound)
        assert _out(path, fmt) == whole, (path.name, bound)
    assert spills, "no bound forced a spill: the test tested nothing"
    assert _spill_dirs() <= before


PROJECT = [
    (DATA / "claude_code" / f"{SESSION}.jsonl", "claude-code"),
    (DATA / "claude_code" / SESSION / "subagents" / "agent-5e1f9a0c.jsonl", "claude-code"),
    (next((DATA / "codex").glob("rollout-*.jsonl")), "codex"),
]


@pytest.mark.parametrize(("path", "fmt"), PROJECT, ids=lambda x: getattr(x, "name", x))
def test_project_inputs_same_with_spills(
    path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _same_at_every_bound(path, fmt, monkeypatch, tmp_path)


def _real() -> list[tuple[Path, str]]:
    real = SHARED / "real"
    found: list[tuple[Path, str]] = []
    if not real.is_dir():
        return found
    for p in sorted(real.rglob("*")):
        if not p.is_file() or p.suffix not in (".jsonl", ".json", ".gz"):
            continue
        try:
            fmt = detect_trace(p).format
        except HarnessAuditError:
            continue
        if fmt in SPILLING:
            found.append((p, fmt))
    return found


def test_real_traces_same_with_spills(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every real trace in a spilling format (none yet is a reason to skip, not to pass)."""
    found = _real()
    if not found:
        pytest.skip("no Claude Code or Codex trace in ../shared/real")
    for path, fmt in found:
        _same_at_every_bound(path, fmt, monkeypatch, tmp_path, (1, 5))


@pytest.mark.parametrize("case", ["claude-code", "codex"])
def test_generated_long_sessions_same_with_spills(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = _gen_imports().make(case, tmp_path, 600)
    _same_at_every_bound(src, case, monkeypatch, tmp_path, (1, 16, 97))


def _shuffled_times(src: Path, out: Path, seed: int) -> None:
    """``src`` with its records' times moved about: some earlier, some repeated, some gone,
    and (Claude Code) records of a second session and of a subagent interleaved."""
    rng = random.Random(seed)
    recs = [orjson.loads(x) for x in src.read_bytes().splitlines() if x.strip()]
    stamps = [r.get("timestamp") for r in recs if isinstance(r.get("timestamp"), str)]
    with out.open("wb") as f:
        for r in recs:
            roll = rng.random()
            if "timestamp" in r and roll < 0.15:
                del r["timestamp"]
            elif "timestamp" in r and roll < 0.5:
                r["timestamp"] = rng.choice(stamps)
            if "sessionId" in r and rng.random() < 0.2:
                r["sessionId"] = "second-session"
            if "sessionId" in r and rng.random() < 0.1:
                r["isSidechain"], r["agentId"] = True, "sub1"
            f.write(orjson.dumps(r) + b"\n")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", ["claude-code", "codex"])
def test_times_out_of_order_same_with_spills(
    case: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = _gen_imports().make(case, tmp_path, 300)
    out = tmp_path / src.name.replace(".jsonl", "-shuffled.jsonl")
    _shuffled_times(src, out, seed)
    _same_at_every_bound(out, case, monkeypatch, tmp_path, (1, 4, 50))


def test_spill_directory_removed_when_abandoned_or_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half-read (the consumer stops) or stopped by a bad line after spilling: no directory
    is left behind."""
    monkeypatch.setattr(spill, "SPILL_EVENTS", 2)
    _private_tmp(monkeypatch, tmp_path)
    src, _ = _gen_imports().make("claude-code", tmp_path, 200)
    before = _spill_dirs()
    events = iter(import_trace([src], "claude-code").events())
    assert isinstance(events, Generator)
    next(events)
    assert _spill_dirs() - before  # spilled, and the file is still being read from
    events.close()
    assert _spill_dirs() <= before
    bad = tmp_path / "bad" / src.name
    bad.parent.mkdir()
    bad.write_bytes(src.read_bytes() + b"{not json\n")
    with pytest.raises(HarnessAuditError):
        list(import_trace([bad], "claude-code").events())
    assert _spill_dirs() <= before


def test_spool_merges_like_a_stable_sort() -> None:
    """Keys with many ties, spilled at every bound: the order of a stable sort by key."""
    rng = random.Random(7)
    keys = [(rng.randrange(5), rng.randrange(3)) for _ in range(500)]
    want = [i for i, _ in sorted(enumerate(keys), key=lambda e: e[1])]
    for bound in (1, 2, 5, 64, 1000):
        with spill.Spool(bound) as sp:
            runs = [sp.sorted(), sp.sorted()]
            for i, (a, b) in enumerate(keys):
                odd: Any = Counter({"x": 1}) if i == 3 else 0.1  # (no marshal: pickled)
                runs[i % 2].add(a, b, i, {"i": i, "big": 10**30, "f": odd})
            got = [[ev["i"] for _, _, ev in r.drain()] for r in runs]
        assert got[0] == [i for i in want if i % 2 == 0], bound
        assert got[1] == [i for i in want if i % 2 == 1], bound
