"""Spans as they arrive -> trail events, run by run; compiled by mypyc (the last paragraph).

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
  else ``unknown``; an event whose agent is such a stand-in while an ancestor has not arrived
  says so in ``x_agent_from`` (its true agent may be one that comes later). A trace exported in
  one request (the usual case for a
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
- Memory is bounded, and what is let go is counted (:attr:`StreamMapper.flushed`, shown in
  ``collect``'s progress and at its stop). An open trace holds a few sets and maps of its span
  ids (about 400 bytes a span), so: a trace that reaches :data:`MAX_SPANS_PER_TRACE` spans
  whose root has not come is ended there, with outcome ``incomplete`` (its later spans take
  continuation runs, as late spans do); past :data:`MAX_OPEN_SPANS` spans held by all open
  traces, or :data:`MAX_OPEN_TRACES` open traces, the trace that received nothing for the
  longest is ended the same way. An ended trace's span ids are kept for duplicates, at most
  :data:`MAX_CLOSED_IDS` (the oldest trace's go first), and :data:`MAX_CLOSED` ended trace ids.
  A held child agent keeps only what its ``spawn`` needs.
- Work is bounded per span: ancestors are looked for at most :data:`MAX_DEPTH` levels up (a
  span deeper below its nearest event or agent is placed as if its chain ended there), and a
  held child agent is looked at again only when a span it waits for arrives (held children
  are indexed by the first missing span above them), so a request costs time linear in its
  spans, whatever the shape of its trace.

What is held in memory is derived state, never an acknowledged span alone: each request's
events are written before it is acknowledged. On a restart :meth:`StreamMapper.resume` reads
the trail back: open runs (a ``run_start`` without its ``run_end``) continue, the spans they
hold are known (a resent span stays one event, a later child points at them), ended traces
take continuation runs and their span ids are known too (a request written just before a
crash and resent by the client after it is not written twice). Agent ancestry and held child
agents are not in the trail: after a restart the attribution falls back as above, and a held
spawn is not written.

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, OrderedDict
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

PROVISIONAL = "the span's enclosing spans had not arrived when it was written"
"""Why an event's ``agent`` is a stand-in (``x_agent_from``): a span exported before the agent
span above it (a ``SimpleSpanProcessor`` sends each span as it ends, children first)."""

MAX_OPEN_TRACES = 10_000
MAX_SPANS_PER_TRACE = 100_000
MAX_OPEN_SPANS = 500_000
MAX_CLOSED = 200_000
MAX_CLOSED_IDS = 500_000
MAX_DEPTH = 256
MAX_TO_END = 10_000

AT_TRACE_CAP = "traces ended at the span cap of one trace (outcome incomplete)"
AT_SPAN_CAP = "open traces ended at the span cap of all open traces (outcome incomplete)"
AT_TRACE_COUNT = "open traces ended at the cap on open traces (outcome incomplete)"
FORGOTTEN = "ended traces whose span ids were let go (a resent span of them is a new event)"
NO_RUN_END = "traces ended on resume with no run_end written (past the queue of run_ends)"


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
    waiting: dict[str, list[str]] = field(default_factory=dict)  # missing id -> held ids
    order: int = 0
    last_ns: int = 0

    def __init__(  # written out (compiled: the generated one stays Python; one a trace)
        self,
        run: str,
        trace: str,
        start_span: str | None = None,
        parents: dict[str, str | None] | None = None,
        agents: dict[str, str] | None = None,
        seen: set[str] | None = None,
        ids: set[str] | None = None,
        model_below: set[str] | None = None,
        held: dict[str, Span] | None = None,
        waiting: dict[str, list[str]] | None = None,
        order: int = 0,
        last_ns: int = 0,
    ) -> None:
        self.run, self.trace, self.start_span = run, trace, start_span
        self.parents = {} if parents is None else parents
        self.agents = {} if agents is None else agents
        self.seen = set() if seen is None else seen
        self.ids = set() if ids is None else ids
        self.model_below = set() if model_below is None else model_below
        self.held = {} if held is None else held
        self.waiting = {} if waiting is None else waiting
        self.order, self.last_ns = order, last_ns


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
        self.open_spans = 0  # span ids held by the open traces
        self.closed: OrderedDict[str, int] = OrderedDict()  # trace id -> continuations so far
        self.closed_ids: OrderedDict[str, set[str]] = OrderedDict()  # span ids of ended traces
        self._closed_id_count = 0
        self.flushed: Counter[str] = Counter()
        """What the memory bounds let go, by reason (see the module doc)."""
        self._to_end: list[_Open] = []  # runs ended on resume, their run_end still to write

    # -- resume ------------------------------------------------------------------------------

    def resume(self, events: Iterable[dict[str, Any]]) -> None:
        """Rebuild the state from the events already in the trail (in order). The bounds hold
        here too: a run ended by them gets its ``run_end`` with the next batch."""
        self.open.clear()
        self.open_spans = 0
        self.closed.clear()
        self.closed_ids.clear()
        self._closed_id_count = 0
        self._to_end.clear()
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
                old = self.open.pop(trace, None)
                if old is not None:
                    self.open_spans -= len(old.ids)
                self.open[trace] = _Open(run, trace, start_span=span, seen={span})
                self._bound_resumed()
                continue
            o = self.open.get(trace)
            if o is None or o.run != run:
                continue
            if kind == "run_end":
                self._drop_open(trace)
                self._close(trace, 0, o.ids)
                continue
            parent = ev.get("parent")
            o.seen.add(span)
            sid = span.split(":", 1)[0]
            if sid not in o.ids:
                o.ids.add(sid)
                self.open_spans += 1
            if len(o.parents) < MAX_SPANS_PER_TRACE:
                o.parents[span] = parent if isinstance(parent, str) else None
            self._bound_resumed(o)

    def _bound_resumed(self, o: _Open | None = None) -> None:
        """On resume, what the bounds end is queued: its run_end comes with the next batch."""
        ended: list[tuple[_Open, str]] = []
        if o is not None and len(o.ids) >= MAX_SPANS_PER_TRACE:
            self._drop_open(o.trace)
            ended.append((o, AT_TRACE_CAP))
        while len(self.open) > MAX_OPEN_TRACES:
            ended.append((self._drop_open(next(iter(self.open))), AT_TRACE_COUNT))
        while self.open_spans > MAX_OPEN_SPANS and self.open:
            ended.append((self._drop_open(next(iter(self.open))), AT_SPAN_CAP))
        for gone, why in ended:
            self.flushed[why] += 1
            self._close(gone.trace, 0, gone.ids)
            if len(self._to_end) < MAX_TO_END:
                self._to_end.append(_Open(gone.run, gone.trace, gone.start_span))
            else:
                self.flushed[NO_RUN_END] += 1

    def _drop_open(self, trace: str) -> _Open:
        o = self.open.pop(trace)
        self.open_spans -= len(o.ids)
        return o

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
            self.flushed[FORGOTTEN] += 1
        if self._closed_id_count > MAX_CLOSED_IDS:  # one trace alone: keep what fits
            self.flushed[FORGOTTEN] += 1
            self._closed_id_count -= len(known)
            known.clear()

    def _bound(self) -> list[dict[str, Any]]:
        """End, as ``incomplete``, the runs the bounds let go (least recently fed first), and
        those queued on resume."""
        out: list[dict[str, Any]] = []
        for o in self._to_end:
            out.extend(self._end(o, "incomplete", o.last_ns))
        self._to_end.clear()
        while len(self.open) > MAX_OPEN_TRACES:
            out.extend(self._flush(next(iter(self.open)), AT_TRACE_COUNT))
        while self.open_spans > MAX_OPEN_SPANS and self.open:
            out.extend(self._flush(next(iter(self.open)), AT_SPAN_CAP))
        return out

    def _flush(self, trace: str, why: str) -> list[dict[str, Any]]:
        o = self._drop_open(trace)
        self.flushed[why] += 1
        self._close(trace, 0, o.ids)
        return list(self._end(o, "incomplete", o.last_ns))

    # -- mapping -----------------------------------------------------------------------------

    def map_batch(self, spans: Iterable[tuple[str, Span]]) -> list[dict[str, Any]]:
        """The events of one request's spans, trace by trace, in trail order."""
        groups: dict[str, list[Span]] = {}
        for trace, span in spans:
            groups.setdefault(trace, []).append(span)
        out: list[dict[str, Any]] = []
        for trace, batch in groups.items():
            while batch:  # a trace past its span cap ends; the rest of its spans go on late
                batch = self._trace(trace, batch, out)
        out.extend(self._bound())
        return out

    def _trace(self, trace: str, batch: list[Span], out: list[dict[str, Any]]) -> list[Span]:
        """Map ``batch`` (one trace's spans) into ``out``; return the spans left for a
        continuation run when the trace reached its span cap."""
        late = trace in self.closed
        rest: list[Span] = []
        if late:
            known = self.closed_ids.get(trace, set())
            dup = [s for s in batch if s.id in known]
            if dup:
                self.stats.drop("duplicate span (same trace id and span id): one event", len(dup))
                batch = [s for s in batch if s.id not in known]
            if not batch:
                return []
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
        for i, s in enumerate(batch):
            if s.id in o.ids:
                self.stats.drop("duplicate span (same trace id and span id): one event")
                continue
            if not late and len(o.ids) >= MAX_SPANS_PER_TRACE:
                rest = batch[i:]  # the trace is at its cap: it ends with what it has
                break
            o.ids.add(s.id)
            if not late:
                self.open_spans += 1
            new.append(s)
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
            spawner, depth, missing = self._agents_above(o, s.id)
            if s.kind == AGENT:
                agent_src = s.agent_name or s.name
            else:
                agent_src = spawner or s.attr_agent or fallback or s.service or "unknown"
            if s.kind == AGENT and spawner is None and s.parent is not None and not late:
                # the spawn waits for an agent above; its evaluations do not
                o.held[s.id] = dataclasses.replace(s, extra={}, evaluations=[])
                if missing is not None:
                    o.waiting.setdefault(missing, []).append(s.id)
                s = dataclasses.replace(s, kind=STRUCTURE)
            mapped = len(outs)
            map_span(
                s,
                SpanPlace(o.run, agent_src, spawner, depth, o.parents.get(s.id), o.order),
                self.mapping,
                self.stats,
                outs,
                base,
            )
            if s.kind != AGENT and spawner is None and missing is not None and not s.attr_agent:
                # its enclosing agent span (if any) is not here yet: the agent is a stand-in
                source = "the trace's root span" if fallback else "the resource's service.name"
                for pending in outs[mapped:]:
                    pending.event["x_agent_from"] = f"{source}: {PROVISIONAL}"
            o.order += 1
        self._release(o, new, outs, base)
        o.order += len(outs)
        if new:
            o.last_ns = max(o.last_ns, *(s.end for s in new))
        out.extend(self._place(o, outs, new))
        if late:
            if o.start_span is None:  # nothing written: the number stays free
                self.closed[trace] -= 1
            out.extend(self._end(o, "unset", o.last_ns))
        elif root is not None or rest:
            self._drop_open(trace)
            self._close(trace, 0, o.ids)
            if o.held:
                self.stats.drop("top-level agent span: the run itself", len(o.held))
            if root is not None:
                out.extend(self._end(o, root.status, o.last_ns))
            else:
                self.flushed[AT_TRACE_CAP] += 1
                out.extend(self._end(o, "incomplete", o.last_ns))
        return rest

    def _release(self, o: _Open, new: list[Span], outs: list[Pending], base: int) -> None:
        """Write the spawn of each held child agent an agent above which arrived now: only
        those waiting for a span of ``new`` are looked at (each then waits, if still
        unresolved, for the next missing span above it)."""
        woken: list[str] = []
        for s in new:
            woken.extend(o.waiting.pop(s.id, ()))
        for sid in woken:
            child = o.held.get(sid)
            if child is None:
                continue
            spawner, depth, missing = self._agents_above(o, sid)
            if spawner is None:
                if missing is not None:
                    o.waiting.setdefault(missing, []).append(sid)
                continue
            del o.held[sid]
            map_span(
                child,
                SpanPlace(
                    o.run,
                    child.agent_name or child.name,
                    spawner,
                    depth,
                    o.parents.get(sid),
                    o.order,
                ),
                self.mapping,
                self.stats,
                outs,
                base,
            )
            o.order += 1

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
            # the nearest event above, looked for here within MAX_DEPTH levels (place's own
            # walk then stops at once)
            p.source_parent = self._nearest_seen(o, p.source_parent)
            if p.event["kind"] == "verification":
                tgt = p.event.get("target")
                if isinstance(tgt, str) and tgt not in o.seen:
                    p.event["target"] = self._nearest_seen(o, tgt)
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

    @staticmethod
    def _nearest_seen(o: _Open, sid: str | None) -> str | None:
        """``sid`` or its nearest ancestor that is an event of the run (None: none within
        :data:`MAX_DEPTH` levels)."""
        steps = 0
        while sid is not None and steps < MAX_DEPTH:
            if sid in o.seen:
                return sid
            sid = o.parents.get(sid)
            steps += 1
        return None

    @staticmethod
    def _agents_above(o: _Open, sid: str) -> tuple[str | None, int, str | None]:
        """The nearest agent span above ``sid`` (its name), how many agent spans are above
        it, and the first span id above it that has not arrived (None: the chain reached its
        root, or :data:`MAX_DEPTH` levels). At most :data:`MAX_DEPTH` steps."""
        nearest: str | None = None
        depth = 0
        p = o.parents.get(sid)
        steps = 0
        while p is not None and steps < MAX_DEPTH:
            if p not in o.parents:
                return nearest, depth, p
            name = o.agents.get(p)
            if name is not None:
                if nearest is None:
                    nearest = name
                depth += 1
            p = o.parents[p]
            steps += 1
        return nearest, depth, None

    def _wrappers(self, o: _Open, new: list[Span]) -> None:
        """Mark every ancestor of a model call (and of a span already marked); a model-call
        span that is marked is a wrapper: structure."""
        for s in new:
            if s.kind == MODEL or s.id in o.model_below:
                p = s.parent
                steps = 0
                while p is not None and steps < MAX_DEPTH and p not in o.model_below:
                    o.model_below.add(p)
                    p = o.parents.get(p)
                    steps += 1
        for s in new:
            if s.kind == MODEL and s.id in o.model_below:
                s.kind = STRUCTURE
                self.stats.drop("model-call span wrapping an inner inference span: structure")
