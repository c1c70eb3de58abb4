"""Compiled by mypyc: the last paragraph says what that means here.

Unknown is unknown (IMPORT.md): what a source does not state is marked, never written as 0
or 1970, and the counts that say so.

Every reader leaves a value it was not given as ``None`` (or leaves the field out); the import
job passes each event through :meth:`Settle.event` before it is sealed, which writes the number
the trail format requires (``cost_microusd`` 0, the tokens 0) together with the ``x_`` marker the
judge reads, and places an event of unknown time:

- ``x_cost: "unknown"``: the source states no cost (the budget check is then ``not_proven`` for
  the call, never a $0 pass);
- ``x_usage: "unknown"`` (or ``"input_tokens unknown"`` / ``"output_tokens unknown"``): token
  counts the source does not state;
- ``x_time: "unknown"`` with ``x_time_placed``: the source gives the event no time; it is placed
  at the previous event of its run, else at the source file's modification time (never 1970);
- ``x_outcome: "unknown"`` on a tool call whose outcome the source does not state (its
  ``outcome`` is then ``ok`` only because the format needs a word: the marker says it is none).

An estimate is marked where it is made (``x_cost_estimated: true``, ``x_cost_source``).
It also counts, per run, what the screen warning of ``trail import`` needs (no model call, no
tool call, costs unknown) and the marked values for ``import.json``.

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_audit.importers.base import ns_to_ts
from harness_audit.trail.source import RawEvent

TOKENS = ("input_tokens", "output_tokens")
EPOCH = ns_to_ts(0)
MAX_RUNS_KEPT = 50_000
"""Runs whose counts are kept for the warnings; past that, runs are not listed one by one."""


def mark_values(ev: dict[str, Any]) -> list[str]:
    """Write the unknown values of one event (``None`` or absent) as the trail format needs
    them, with their markers; what was marked (``usage``, ``cost``, ``outcome``). Used by the
    import job for every event and by ``collect`` for the events it maps from spans."""
    kind = ev.get("kind")
    marked = []
    if kind == "model_call":
        missing = [k for k in TOKENS if ev.get(k) is None]
        for k in missing:
            ev[k] = 0
        if missing:
            ev["x_usage"] = "unknown" if len(missing) == 2 else f"{missing[0]} unknown"
            marked.append("usage")
        if ev.get("cost_microusd") is None:
            ev["cost_microusd"] = 0
            ev["x_cost"] = "unknown"
            marked.append("cost")
    elif kind == "tool_call" and ev.get("outcome") is None:
        ev["outcome"] = "ok"
        ev["x_outcome"] = "unknown"
        marked.append("outcome")
    elif kind == "run_end" and ev.get("outcome") is None:
        ev["outcome"] = "unknown"
    return marked


@dataclass
class RunCounts:
    """What one imported run holds, for the warnings."""

    model_calls: int = 0
    tool_calls: int = 0
    cost_unknown: int = 0
    cost_estimated: int = 0
    replayed: bool = False


@dataclass
class Settle:
    """Marks the unknown values of a job's events and counts them (see the module doc)."""

    marked: Counter[str] = field(default_factory=Counter)
    runs: dict[str, RunCounts] = field(default_factory=dict)
    runs_not_kept: int = 0
    _last_ts: dict[str, str] = field(default_factory=dict)
    _mtimes: dict[str, str] = field(default_factory=dict)

    def event(self, raw: RawEvent) -> RawEvent:
        """The event with its unknowns written as the trail needs them, and marked."""
        ev = raw.event
        kind = ev.get("kind")
        run = str(ev.get("run"))
        ts = ev.get("ts")
        if ts is None or ts == EPOCH or (isinstance(ts, str) and ts.startswith("1970-")):
            # a reader's "no time" (ns 0), or a number read as nanoseconds that no agent ran
            # at (1970): unknown, never 1970
            if ts not in (None, EPOCH):
                ev["x_time_read"] = ts
            placed = self._last_ts.get(run)
            how = "after the previous event of its run"
            if placed is None:
                placed = self._mtime(raw.file)
                how = "at the source file's modification time"
            ev["ts"] = placed
            ev["x_time"] = "unknown"
            ev["x_time_placed"] = how
            self.marked["time"] += 1
        else:
            self._last_ts[run] = ev["ts"]
        counts = self._run(run)
        for what in mark_values(ev):
            self.marked[what] += 1
        if kind == "model_call":
            counts.model_calls += 1
            if ev.get("x_cost") == "unknown":
                counts.cost_unknown += 1
            elif ev.get("x_cost_estimated") is True:
                counts.cost_estimated += 1
                self.marked["cost_estimated"] += 1
        elif kind == "tool_call":
            counts.tool_calls += 1
        elif kind == "run_start" and ev.get("x_replay"):
            counts.replayed = True
        return raw

    def _run(self, run: str) -> RunCounts:
        got = self.runs.get(run)
        if got is None:
            got = RunCounts()
            if len(self.runs) < MAX_RUNS_KEPT:
                self.runs[run] = got
            else:
                self.runs_not_kept += 1
        return got

    def _mtime(self, file: str) -> str:
        got = self._mtimes.get(file)
        if got is None:
            try:
                ns = Path(file).stat().st_mtime_ns
            except OSError:
                ns = int(dt.datetime.now(dt.UTC).timestamp() * 1e9)
            got = self._mtimes[file] = ns_to_ts(ns)
        return got

    def warnings(self) -> list[str]:
        """One line per kind of gap, naming up to three runs: runs with no model call (cost
        and independence cannot be judged), no tool call, or costs unknown or estimated."""
        out = []
        groups: dict[str, list[str]] = {}
        for run, c in self.runs.items():
            if c.replayed:
                groups.setdefault("replayed", []).append(run)
            if c.model_calls == 0:
                groups.setdefault("no model call", []).append(run)
            if c.tool_calls == 0:
                groups.setdefault("no tool call", []).append(run)
            if c.cost_unknown:
                groups.setdefault("cost unknown", []).append(run)
            elif c.cost_estimated:
                groups.setdefault("cost estimated", []).append(run)
        why = {
            "replayed": "a replay or demonstration: its steps are not model calls that happened",
            "no model call": "no model call: cost and independence cannot be judged on it",
            "no tool call": "no tool call: tool effects and gates cannot be judged on it",
            "cost unknown": "model call(s) of unknown cost: a budget cannot be shown to hold",
            "cost estimated": "costs are estimates, not stated by the source",
        }
        for key, runs in groups.items():
            shown = ", ".join(runs[:3]) + (f" and {len(runs) - 3:,} more" if len(runs) > 3 else "")
            out.append(f"{len(runs):,} run(s) with {why[key]} ({shown})")
        return out

    def summary(self) -> dict[str, int]:
        """Values marked unknown (or estimated), by what, for ``import.json``."""
        return dict(sorted(self.marked.items()))
