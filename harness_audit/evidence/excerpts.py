"""The events of the runs whose exceptions the pack shows, kept during the judging pass.

The pack excerpts, around each shown exception, the run's neighbouring events and its causal
chain. It used to read the trail a third time for them; now the one judging pass hands every
event to a :class:`RunExcerpts` as well, which keeps the events of each open run and, when the
run ends, keeps them only if a control's shown exception lies in it (:class:`Control` records
those runs as it fails). Memory is bounded like the judge's: open runs past
:data:`~harness_audit.evidence.judge.MAX_OPEN_RUNS` are closed oldest first, and a run past
:data:`MAX_RUN_EVENTS` events stops being kept (the pack says so and points at ``replay``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from harness_audit.trail.events import AnyEvent, RunEnd

MAX_RUN_EVENTS = 100_000
"""Events of one run kept for its excerpt; a longer run is counted, not kept."""

Row = tuple[str, int, AnyEvent]
"""One event of a run: file, line and the event."""


@dataclass
class RunEvents:
    """The events of one run in trail order (``events`` empty once it grew past the bound),
    and how many it had."""

    events: list[Row] = field(default_factory=list)
    count: int = 0

    @property
    def too_long(self) -> bool:
        """Whether the run outgrew :data:`MAX_RUN_EVENTS` and its events were let go."""
        return self.count > len(self.events)


class RunExcerpts:
    """Fed every event the judging pass reads; :meth:`finish` returns the runs to excerpt.

    ``shown_runs`` is the set the judge's controls fill with the run of each shown exception
    (see :attr:`~harness_audit.evidence.model.Control.shown_runs`); it is read when a run
    closes, after the judge has judged the run's last event."""

    def __init__(self, shown_runs: set[str], max_open: int) -> None:
        self.shown_runs = shown_runs
        self.max_open = max_open
        self.open: OrderedDict[str, RunEvents] = OrderedDict()
        self.kept: dict[str, RunEvents] = {}

    def feed(self, file: str, line: int, ev: AnyEvent) -> None:
        """Keep one event of its run (after the judge has judged it)."""
        run = self.open.get(ev.run)
        if run is None:  # a new run, or one that goes on after it ended or was closed
            run = self.kept.pop(ev.run) if ev.run in self.kept else RunEvents()
            self.open[ev.run] = run
            if len(self.open) > self.max_open:
                self._close(next(iter(self.open)))
        run.count += 1
        if run.count <= MAX_RUN_EVENTS:
            run.events.append((file, line, ev))
        elif run.events:
            run.events = []  # outgrew the bound: counted from here on, not kept
        if type(ev) is RunEnd:
            self._close(ev.run)

    def _close(self, run_id: str) -> None:
        run = self.open.pop(run_id)
        if run_id in self.shown_runs:
            self.kept[run_id] = run

    def finish(self) -> dict[str, RunEvents]:
        """Close the runs still open; the kept runs, by run id."""
        for run_id in list(self.open):
            self._close(run_id)
        return self.kept
