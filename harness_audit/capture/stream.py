"""Spans as they arrive -> trail events, run by run: the streaming reading of a trace.

``trail import`` maps a whole trace at once (IMPORT.md). A receiver gets a trace's spans over
many requests, in the order they end (children before their parents, the root last), and must
write each request's events before it answers, so it cannot wait for the trace. The reading:

- A trace is a run (``run`` = the trace id). Its ``run_start`` (span ``<trace>:run_start``) is
  written with the first span of the trace that maps to an event; a trace none of whose spans
  maps to an event is no run (as on import).
- Each span becomes its events (:func:`~harness_audit.importers.spans.map_span`, the importer's
  own per-span mapping and its one attribute table, ``rules/otel_attributes.yaml``) in the
  request it arrives in. The spans of a trace in one request are ordered and linked as the
  importer does (by start time; events by time, a call at its end, a spawn at its start).
- ``parent`` is the nearest ancestor of the span that is an event already written in the run,
  else the ``run_start``: a parent span that has not arrived yet cannot be pointed at, so the
  causal chain never dangles. A verification targets the same way.
- ``agent`` is the span's nearest enclosing agent span known when it arrives (received in the
  same request or earlier); else the agent name on the span's own attributes
  (``gen_ai.agent.name`` and the table's other names); else, when the root is in the same
  request, the root's name (the importer's fallback); else the resource's ``service.name``;
  else ``unknown``. A trace exported in one request (the usual case for a
  ``BatchSpanProcessor`` and short runs) therefore maps to the events ``trail import`` makes
  of it (same kinds, agents, links and order; the ``run_start`` span is always
  ``<trace>:run_start``).
- A spawn needs the agent span above an agent span. Agent spans end after the agents they
  spawn, so a child agent whose parent agent has not arrived is held (its span, in memory)
  and its ``spawn`` is written when an agent above it arrives (ts: the child's start; the
  spawn then comes after the child's own events in the trail). At the root it is a top-level
  agent (none, as on import).
- A model-call span with a model call below it is structure (the innermost inference span is
  the call). Children end first, so the inner call is seen first and its ancestors are
  marked; a wrapper that arrived before its inner call cannot be taken back.
- The root span (no parent) ends the run: its events, then ``run_end`` (outcome: the root's
  status). A span of a trace whose run has ended (late, e.g. from a service that flushed after
  the root's) becomes a continuation run ``<trace>/<n>`` of its own request, with its own
  ``run_start`` and ``run_end`` (outcome ``unset``), so no event is dropped and no run is
  reopened. A span sent twice (same trace and span id) is one event, also after its run
  ended (the span ids of the last :data:`MAX_CLOSED_IDS` spans of ended traces are kept).
- Memory is bounded: at most :data:`MAX_OPEN_TRACES` open traces (the oldest beyond it is
  ended with outcome ``incomplete``), :data:`MAX_SPANS_PER_TRACE` spans remembered per trace,
  :data:`MAX_CLOSED` ended trace ids.

What is held in memory is derived state, never an acknowledged span alone: each request's
events are written before it is acknowledged. On a restart :meth:`StreamMapper.resume` reads
the trail back: open runs (a ``run_start`` without its ``run_end``) continue, the spans they
hold are known (a resent span stays one event, a later child points at them), ended traces
take continuation runs and their span ids are known too (a request written just before a
crash and resent by the client after it is not written twice). Agent ancestry and held child
agents are not in the trail: after a restart the attribution falls back as above, and a held
spawn is not written.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness_audit.importers.base import ImportStats, Mapping, run_end, run_start
from harness_audit.importers.spans import (
    AGENT,
    MODEL,
    STRUCTURE,
    Pending,
    Span,
    SpanPlace,
    map_span,
    place,
)
from harness_audit.importers.unknown import mark_values

MAX_OPEN_TRACES = 10_000
MAX_SPANS_PER_TRACE = 100_000
MAX_CLOSED = 200_000
MAX_CLOSED_IDS = 500_000
_STEPS = 10_000


@dataclass(slots=True)
class _Open:
    run: str
    trace: str
    start_span: str | None = None
    parents: dict[str, str | None] = field(default_factory=dict)
    agents: dict[str, str] = field(default_factory=dict)  # agent span id -> agent name
    seen: set[str] = field(default_factory=set)  # event spans written in the run
    ids: set[str] = field(default_factory=set)  # source span ids received
    model_below: set[str] = field(default_factory=set)
    held: dict[str, Span] = field(default_factory=dict)  # child agents waiting for a parent
    order: int = 0
    last_ns: int = 0


class StreamMapper:
    """Map batches of ``(trace id, span)`` to trail events incrementally (see the module doc).

    :meth:`map_batch` returns the events of one request in trail order (``ts`` set, no
    ``seq``/``prev``/``hash``); the caller writes them all or, on failure, rebuilds the mapper
    from the trail (:meth:`resume`) so its state never runs ahead of what is written."""

    def __init__(
        self,
        mapping: Mapping | None = None,
        pipeline: str = "collected",
        stats: ImportStats | None = None,
    ) -> None:
        self.mapping = mapping or Mapping()
        self.pipeline = pipeline
        self.stats = stats or ImportStats()
        self.open: OrderedDict[str, _Open] = OrderedDict()
        self.closed: OrderedDict[str, int] = OrderedDict()  # trace id -> continuations so far
        self.closed_ids: OrderedDict[str, set[str]] = OrderedDict()  # span ids of ended traces
        self._closed_id_count = 0

    # -- resume ------------------------------------------------------------------------------

    def resume(self, events: Iterable[dict[str, Any]]) -> None:
        """Rebuild the state from the events already in the trail (in order)."""
        self.open.clear()
        self.closed.clear()
        self.closed_ids.clear()
        self._closed_id_count = 0
        for ev in events:
            run, kind, span = ev.get("run"), ev.get("kind"), ev.get("span")
            if not isinstance(run, str) or not isinstance(span, str):
                continue
            trace, _, n = run.partition("/")
            if n:  # a continuation run: its trace has ended
                if kind == "run_start":
                    self._close(trace, int(n) if n.isascii() and n.isdigit() else 0)
                elif kind != "run_end":
                    self._remember(trace, {span.split(":", 1)[0]})
                continue
            if kind == "run_start":
                self.open[trace] = _Open(run, trace, start_span=span, seen={span})
                while len(self.open) > MAX_OPEN_TRACES:
                    self._close(self.open.popitem(last=False)[0], 0)
                continue
            o = self.open.get(trace) if not n else None
            if o is None or o.run != run:
                continue
            if kind == "run_end":
                self.open.pop(trace, None)
                self._close(trace, 0, o.ids)
                continue
            parent = ev.get("parent")
            o.seen.add(span)
            o.ids.add(span.split(":", 1)[0])
            if len(o.parents) < MAX_SPANS_PER_TRACE:
                o.parents[span] = parent if isinstance(parent, str) else None

    def _close(self, trace: str, n: int, ids: set[str] | None = None) -> None:
        self.closed[trace] = max(self.closed.get(trace, 0), n)
        self.closed.move_to_end(trace)
        while len(self.closed) > MAX_CLOSED:
            self.closed.popitem(last=False)
        if ids:
            self._remember(trace, ids)

    def _remember(self, trace: str, ids: set[str]) -> None:
        """Keep the span ids of an ended trace (bounded), so a resent span stays one event."""
        known = self.closed_ids.setdefault(trace, set())
        before = len(known)
        known |= ids
        self._closed_id_count += len(known) - before
        self.closed_ids.move_to_end(trace)
        while self._closed_id_count > MAX_CLOSED_IDS and len(self.closed_ids) > 1:
            _, old = self.closed_ids.popitem(last=False)
            self._closed_id_count -= len(old)

    def _bound(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(self.open) > MAX_OPEN_TRACES:
            trace, o = self.open.popitem(last=False)
            out.extend(self._end(o, "incomplete", o.last_ns))
            self._close(trace, 0, o.ids)
        return out

    # -- mapping -----------------------------------------------------------------------------

    def map_batch(self, spans: Iterable[tuple[str, Span]]) -> list[dict[str, Any]]:
        """The events of one request's spans, trace by trace, in trail order."""
        groups: dict[str, list[Span]] = {}
        for trace, span in spans:
            groups.setdefault(trace, []).append(span)
        out: list[dict[str, Any]] = []
        for trace, batch in groups.items():
            out.extend(self._trace(trace, batch))
        out.extend(self._bound())
        return out

    def _trace(self, trace: str, batch: list[Span]) -> Iterator[dict[str, Any]]:
        late = trace in self.closed
        if late:
            known = self.closed_ids.get(trace, set())
            dup = [s for s in batch if s.id in known]
            if dup:
                self.stats.drop("duplicate span (same trace id and span id): one event", len(dup))
                batch = [s for s in batch if s.id not in known]
            if not batch:
                return
            n = self.closed[trace] + 1
            self._close(trace, n, {s.id for s in batch})
            o = _Open(f"{trace}/{n}", trace)
            self.stats.note(
                "spans arrived after their trace's root: written as a continuation run <trace>/<n>"
            )
        else:
            got = self.open.get(trace)
            if got is None:
                got = self.open[trace] = _Open(trace, trace)
            else:
                self.open.move_to_end(trace)
            o = got
        new: list[Span] = []
        for s in batch:
            if s.id in o.ids:
                self.stats.drop("duplicate span (same trace id and span id): one event")
                continue
            o.ids.add(s.id)
            new.append(s)
            if len(o.parents) < MAX_SPANS_PER_TRACE:
                o.parents[s.id] = s.parent if s.parent != s.id else None
                if s.kind == AGENT:
                    o.agents[s.id] = s.agent_name or s.name
        self._wrappers(o, new)
        new.sort(key=lambda s: (s.start, s.line))
        outs: list[Pending] = []
        base = o.order + len(new)
        root = next((s for s in new if s.parent is None), None)
        fallback = (root.agent_name or root.name) if root is not None else None
        for s in new:
            ancestors = self._agent_ancestors(o, s.id)
            if s.kind == AGENT:
                agent_src = s.agent_name or s.name
            else:
                agent_src = (
                    (ancestors[0] if ancestors else None)
                    or s.attr_agent
                    or fallback
                    or s.service
                    or "unknown"
                )
            held = s.kind == AGENT and not ancestors and s.parent is not None and not late
            if held and len(o.held) < MAX_SPANS_PER_TRACE:
                o.held[s.id] = s  # the spawn waits for an agent above; its evaluations do not
                s = dataclasses.replace(s, kind=STRUCTURE)
            map_span(
                s,
                SpanPlace(
                    o.run,
                    agent_src,
                    ancestors[0] if ancestors else None,
                    len(ancestors),
                    o.parents.get(s.id),
                    o.order,
                ),
                self.mapping,
                self.stats,
                outs,
                base,
            )
            o.order += 1
        for sid, child in list(o.held.items()):  # held child agents whose parent agent came
            if sid in {s.id for s in new}:
                continue
            ancestors = self._agent_ancestors(o, sid)
            if ancestors:
                del o.held[sid]
                plain = dataclasses.replace(child, evaluations=[])
                map_span(
                    plain,
                    SpanPlace(
                        o.run,
                        child.agent_name or child.name,
                        ancestors[0],
                        len(ancestors),
                        o.parents.get(sid),
                        o.order,
                    ),
                    self.mapping,
                    self.stats,
                    outs,
                    base,
                )
                o.order += 1
        o.order += len(outs)
        if new:
            o.last_ns = max(o.last_ns, *(s.end for s in new))
        yield from self._place(o, outs, new)
        if late:
            if o.start_span is None:  # nothing written: the number stays free
                self.closed[trace] -= 1
            yield from self._end(o, "unset", o.last_ns)
        elif root is not None:
            self.open.pop(trace, None)
            self._close(trace, 0, o.ids)
            if o.held:
                self.stats.drop("top-level agent span: the run itself", len(o.held))
            yield from self._end(o, root.status, o.last_ns)

    def _place(self, o: _Open, outs: list[Pending], new: list[Span]) -> Iterator[dict[str, Any]]:
        if not outs:
            return
        outs.sort(key=lambda p: (p.ts, p.order))
        if o.start_span is None:
            o.start_span = f"{o.run}:run_start"
            first_ts = min(min((s.start for s in new), default=outs[0].ts), outs[0].ts)
            o.seen.add(o.start_span)
            self.stats.events["run_start"] += 1
            yield run_start(o.run, o.start_span, first_ts, self.pipeline)
        for p in outs:
            ev = place(p, o.parents, o.seen, o.start_span)
            self.stats.events[ev["kind"]] += 1
            o.last_ns = max(o.last_ns, p.ts)
            mark_values(ev)  # a span that states no usage or cost: unknown, not 0 (issue 25)
            yield ev

    def _end(self, o: _Open, outcome: str, ts: int) -> Iterator[dict[str, Any]]:
        if o.start_span is None:
            self.stats.drop("trace with no span that maps to an event: no run")
            return
        self.stats.events["run_end"] += 1
        self.stats.runs += 1
        yield run_end(o.run, o.start_span, ts, self.pipeline, outcome)

    def _agent_ancestors(self, o: _Open, sid: str) -> list[str]:
        out: list[str] = []
        p = o.parents.get(sid)
        steps = 0
        while p is not None and steps < _STEPS:
            name = o.agents.get(p)
            if name is not None:
                out.append(name)
            p = o.parents.get(p)
            steps += 1
        return out

    def _wrappers(self, o: _Open, new: list[Span]) -> None:
        """Mark every ancestor of a model call (and of a span already marked); a model-call
        span that is marked is a wrapper: structure."""
        for s in new:
            if s.kind == MODEL or s.id in o.model_below:
                p = s.parent
                steps = 0
                while p is not None and steps < _STEPS and p not in o.model_below:
                    o.model_below.add(p)
                    p = o.parents.get(p)
                    steps += 1
        for s in new:
            if s.kind == MODEL and s.id in o.model_below:
                s.kind = STRUCTURE
                self.stats.drop("model-call span wrapping an inner inference span: structure")
