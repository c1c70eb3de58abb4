"""One source trace (a tree of spans) -> the events of one run; compiled by mypyc (see below).

Shared by the span formats. Readings (IMPORT.md): one trace is one run with a synthesised
``run_start``/``run_end``; events are ordered by time, a model or tool call placed at its end
time (so an approval can precede it), a spawn at the start of the agent span; a span sent twice
is one event; a model-call span wrapping another model-call span is structure (the innermost
inference span is the call); the agent of an event is its nearest enclosing agent span; a span
whose parent is missing from the trace hangs from the root. An event's ``parent`` is its nearest
ancestor that is an earlier event of the run (the run's ``run_start`` otherwise), so the causal
chain never dangles.

Compiled by mypyc (``setup.py``'s ``MYPYC``), so four rules bite here: an ``except … as e``
name holds one exception type per function (a second handler of another type binding ``e``
raises TypeError when compiled); no msgspec ``Struct`` is defined here (those stay Python
classes elsewhere); monkeypatching a name here is invisible to compiled callers, which call
it directly (patch at the caller or test through the entry point); in an editable install
the built ``.so`` shadows this file, so rebuild after an edit (``pip install -e .``) or
install with ``HARNESS_AUDIT_BUILD_EXT=0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness_audit.importers import tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_float,
    as_int,
    ns_to_ts,
    run_end,
    run_start,
    text,
    usd_to_microusd,
)
from harness_audit.trail.source import RawEvent

MODEL, TOOL, AGENT, EVAL, STRUCTURE = "model_call", "tool_call", "agent", "evaluation", "structure"
NOT_PROVEN = "not_proven"
"""An evaluation that is no verdict either way (a numeric score with no pass rule): written as
``verdict: fail`` (never a pass; the schema knows two) with ``x_verdict: not_proven``, which
the judge reads (issue 25, item 4)."""
WRAPPER = "wrapper"
"""A model-call span with a model call below it: structure, counted as dropped for that."""


@dataclass(slots=True)
class Evaluation:
    """A judgement of a span (OTel ``gen_ai.evaluation.result``, a Langfuse EVAL score)."""

    id: str
    name: str
    verdict: str  # pass | fail | not_proven
    ts: int
    target: str | None  # span id judged; None: the root
    basis: str


@dataclass(slots=True)
class Span:
    """A source span, normalised."""

    id: str
    parent: str | None
    name: str
    start: int
    end: int
    line: int
    kind: str = STRUCTURE
    status: str = "unset"  # ok | error | unset
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None  # None: the source does not state it (unknown, not 0)
    output_tokens: int | None = None
    cost_microusd: int | None = None
    tool: str | None = None
    agent_name: str | None = None
    verdict: str = "fail"
    attr_agent: str | None = None  # an agent name the span's own attributes carry (any kind)
    service: str | None = None  # the resource's service.name
    extra: dict[str, Any] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)

    # written out (dataclasses does not replace it): compiled by mypyc, where the generated
    # one stays a Python function, and one Span is made for every span read
    def __init__(
        self,
        id: str,
        parent: str | None,
        name: str,
        start: int,
        end: int,
        line: int,
        kind: str = STRUCTURE,
        status: str = "unset",
        model: str | None = None,
        provider: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_microusd: int | None = None,
        tool: str | None = None,
        agent_name: str | None = None,
        verdict: str = "fail",
        attr_agent: str | None = None,
        service: str | None = None,
        extra: dict[str, Any] | None = None,
        evaluations: list[Evaluation] | None = None,
    ) -> None:
        self.id, self.parent, self.name = id, parent, name
        self.start, self.end, self.line = start, end, line
        self.kind, self.status, self.model, self.provider = kind, status, model, provider
        self.input_tokens, self.output_tokens = input_tokens, output_tokens
        self.cost_microusd, self.tool, self.agent_name = cost_microusd, tool, agent_name
        self.verdict, self.attr_agent, self.service = verdict, attr_agent, service
        self.extra = {} if extra is None else extra
        self.evaluations = [] if evaluations is None else evaluations


@dataclass(slots=True)
class Trace:
    """The spans of one source trace, in arrival order."""

    id: str
    file: str
    spans: list[Span] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    tool_names: set[str] = field(default_factory=set)
    pipeline: str = ""

    def __init__(  # written out, as Span's is (one a trace)
        self,
        id: str,
        file: str,
        spans: list[Span] | None = None,
        evaluations: list[Evaluation] | None = None,
        tool_names: set[str] | None = None,
        pipeline: str = "",
    ) -> None:
        self.id, self.file, self.pipeline = id, file, pipeline
        self.spans = [] if spans is None else spans
        self.evaluations = [] if evaluations is None else evaluations
        self.tool_names = set() if tool_names is None else tool_names


# -- attribute normalisation ------------------------------------------------------------------


def first(attrs: dict[str, Any], meaning: str) -> Any:
    """The value of the first attribute present that carries ``meaning``."""
    for name in tables.attribute_names(meaning):
        v = attrs.get(name)
        if v is not None and v != "":
            return v
    return None


def meanings(attrs: dict[str, Any]) -> dict[str, Any]:
    """:func:`first` of every meaning at once: meaning -> the value of the first attribute
    present that carries it (one pass over the attributes, not one per meaning)."""
    index = tables.attribute_index()
    out: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    for name, v in attrs.items():
        hits = index.get(name)
        if hits is None or v is None or v == "":
            continue
        for meaning, rank in hits:
            if rank < ranks.get(meaning, 1 << 30):
                ranks[meaning] = rank
                out[meaning] = v
    return out


_AGENT_NAME = (
    re.compile(r"^invoke_agent\s+\[?(.+?)\]?$"),
    re.compile(r"^agent_run\s+\[(.+)\]$"),
    re.compile(r"^(.+?)\s+run$"),
)


def agent_name_from(name: str) -> str:
    """The agent's name in a span name such as ``invoke_agent [x]`` or ``agent_run [x]``."""
    for p in _AGENT_NAME:
        m = p.match(name)
        if m:
            return m.group(1).strip() or name
    return name


def classify(attrs: dict[str, Any], name: str, m: dict[str, Any]) -> str:
    """The kind of span the attributes say (model_call, tool_call, agent, evaluation, structure);
    ``m``: their :func:`meanings`."""
    table = tables.span_kind_rules()
    op = m.get("operation")
    if isinstance(op, str) and ("operation", op) in table:
        return table[("operation", op)]
    for key in tables.attribute_names("span_kind"):
        v = attrs.get(key)
        if isinstance(v, str) and ("span_kind", v) in table:
            return table[("span_kind", v)]
    if isinstance(name, str) and ("operation", name) in table:  # Vercel: the span name
        return table[("operation", name)]
    if m.get("agent_name") is not None and m.get("tool_name") is None:
        return AGENT  # e.g. pydantic-ai's `<agent> run` spans: gen_ai.agent.name, no operation
    if m.get("tool_name") is not None and m.get("tool_call_id") is not None:
        return TOOL  # a tool and the call it answers, no operation: Koog's `tool.<Name>` spans
    return STRUCTURE


DELEGATION_TOOLS = frozenset(("Delegate work to coworker", "Ask question to coworker"))
"""CrewAI's delegation tools (``allow_delegation=True``): the coworker agent runs the task, so
the call is a spawn of that agent, not a tool of unknown effect (issue 25)."""
_COWORKER = re.compile(r'\\?"coworker\\?"\s*:\s*\\?"([^"\\]{1,200})')
_TOOL_INPUTS = ("input.value", "gen_ai.tool.call.arguments", "tool.parameters")


def _coworker(attrs: dict[str, Any]) -> str | None:
    """The coworker a delegation names in its input (``{"task", "context", "coworker"}``)."""
    for key in _TOOL_INPUTS:
        v = attrs.get(key)
        if isinstance(v, str):
            m = _COWORKER.search(v[:100_000])
            if m:
                return m.group(1).strip() or None
    return None


def fill(span: Span, attrs: dict[str, Any]) -> dict[str, Any]:
    """Set a span's kind and normalised fields from its attributes (rules/otel_attributes.yaml);
    return the attributes' :func:`meanings`."""
    m = meanings(attrs)
    if span.kind == STRUCTURE:
        span.kind = classify(attrs, span.name, m)
    if span.kind == MODEL:
        model = m.get("response_model") or m.get("request_model")
        span.model = text(model, 200) or span.model
        provider = text(m.get("provider"), 100)
        if tables.normalise_provider(provider) is None:
            legacy = text(m.get("legacy_system"), 100)
            provider = legacy if tables.normalise_provider(legacy) else None
        span.provider = provider or span.provider
        tokens_in = as_int(m.get("input_tokens"))
        if tokens_in is not None:
            span.input_tokens = tokens_in
        tokens_out = as_int(m.get("output_tokens"))
        if tokens_out is not None:
            span.output_tokens = tokens_out
        cost = usd_to_microusd(m.get("cost_usd"))
        if cost is None and "cost_usd_parts" in m:
            parts = [as_float(attrs.get(n)) for n in tables.attribute_names("cost_usd_parts")]
            if any(p is not None for p in parts):
                cost = usd_to_microusd(sum(p for p in parts if p is not None))
        if cost is not None:
            span.cost_microusd = cost
    elif span.kind == TOOL:
        tool = text(m.get("tool_name"), 200)
        if tool is None:
            tool = text(m.get("entity_name"), 200)
        if tool is None:
            tool = re.sub(r"^(execute_tool|running tool:)\s*", "", span.name).strip() or span.name
        span.tool = tool
        status = text(m.get("tool_status"), 40)
        if status is not None and status.lower() in ("error", "failed", "failure"):
            span.status = "error"  # the tool's result was an error, whatever the span's code
        call_id = text(m.get("tool_call_id"), 200)
        if call_id:
            span.extra["x_tool_call_id"] = call_id
        if tool in DELEGATION_TOOLS:
            span.extra["x_delegation"] = tool
            coworker = _coworker(attrs)
            if coworker is not None:
                span.extra["x_coworker"] = coworker
    elif span.kind == EVAL:
        span.verdict = verdict_of(m.get("evaluation_label"), None)
    elif span.kind == AGENT:
        name = text(m.get("agent_name"), 200) or text(m.get("entity_name"), 200)
        span.agent_name = name or agent_name_from(span.name)
    return m


def evaluation_from_event(event_id: str, attrs: dict[str, Any], ts: int, target: str) -> Evaluation:
    """A ``gen_ai.evaluation.result`` span event as an :class:`Evaluation` of ``target``."""
    name = text(first(attrs, "evaluation_name"), 200) or "evaluation"
    label = first(attrs, "evaluation_label")
    return Evaluation(
        event_id,
        name,
        verdict_of(label, None),
        ts,
        target,
        f"label {label!r}" if label is not None else "no label",
    )


_PASS = {"pass", "passed", "true", "yes", "ok", "correct", "success", "good", "safe"}


def verdict_of(label: Any, boolean: Any) -> str:
    """``pass`` only when a label or boolean says so; anything else is ``fail`` (fail closed)."""
    if isinstance(boolean, bool):
        return "pass" if boolean else "fail"
    if isinstance(label, str) and label.strip().lower() in _PASS:
        return "pass"
    if label is True:
        return "pass"
    return "fail"


# -- assembly ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Pending:
    """One event mapped from a span, before its place in the run is fixed: ``ts`` (ns) and
    ``order`` sort it, ``source_parent`` is the span's parent in the source, from which
    :func:`place` picks the nearest earlier event as its trail ``parent``."""

    ts: int
    order: int
    span: str
    source_parent: str | None
    line: int
    event: dict[str, Any]

    def __init__(  # written out, as Span's is (one an event)
        self,
        ts: int,
        order: int,
        span: str,
        source_parent: str | None,
        line: int,
        event: dict[str, Any],
    ) -> None:
        self.ts, self.order, self.span = ts, order, span
        self.source_parent, self.line, self.event = source_parent, line, event


@dataclass(slots=True)
class SpanPlace:
    """Where a span sits in its trace, as :func:`map_span` needs it: the run, the agent the
    span works for (its nearest enclosing agent span's name, or the fallback), the nearest
    agent above an agent span (None: a top-level agent, the run itself) and how many agents
    are above it, the span's source parent, its order among the trace's spans."""

    run: str
    agent_src: str
    spawner_src: str | None
    depth: int
    source_parent: str | None
    order: int

    def __init__(  # written out, as Span's is (one a span)
        self,
        run: str,
        agent_src: str,
        spawner_src: str | None,
        depth: int,
        source_parent: str | None,
        order: int,
    ) -> None:
        self.run, self.agent_src, self.spawner_src = run, agent_src, spawner_src
        self.depth, self.source_parent, self.order = depth, source_parent, order


def map_span(
    s: Span,
    where: SpanPlace,
    mapping: Mapping,
    stats: ImportStats,
    outs: list[Pending],
    eval_base: int,
    tool_names: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Append the events of one span to ``outs``: its model or tool call, spawn or
    verification (a top-level agent span or a structure span is none, counted as dropped),
    then a verification per evaluation of it (ordered after the span events, from
    ``eval_base + len(outs)``). The one per-span mapping of ``trail import`` and ``collect``."""
    agent = mapping.agent(where.agent_src)
    common: dict[str, Any] = {"run": where.run, "span": s.id, "agent": agent}
    kind = s.kind
    before = len(outs)
    dropped: str | None = None
    order, parent = where.order, where.source_parent
    if (
        kind == STRUCTURE
        and s.tool is None
        and tool_names
        and s.name in tool_names | set(mapping.tools)
    ):
        kind = TOOL
        s.tool = s.name
    if kind == MODEL:
        info = tables.resolve_model(s.model or "unknown", s.provider)
        ev = {
            **common,
            "kind": "model_call",
            "model": info.as_dict(),
            "input_tokens": s.input_tokens,
            "output_tokens": s.output_tokens,
            "cost_microusd": s.cost_microusd,
            **s.extra,
        }
        outs.append(Pending(s.end, order, s.id, parent, s.line, ev))
    elif kind == TOOL and "x_delegation" in s.extra:  # CrewAI delegation: a spawn
        coworker = s.extra.get("x_coworker")
        ev = {
            **common,
            "kind": "spawn",
            "child": mapping.agent(coworker) if isinstance(coworker, str) else "unknown",
            "depth": where.depth + 1,
            **s.extra,
        }
        if not isinstance(coworker, str):
            ev["x_child"] = "unknown: the delegation's input names no coworker"
        if s.status == "error":
            ev["x_outcome"] = "error"
        outs.append(Pending(s.start, order, s.id, parent, s.line, ev))
    elif kind == TOOL:
        tool = s.tool or s.name
        effect, scope = mapping.tool(tool, agent)
        outcome = "error" if s.status == "error" else "ok"
        ev = {
            **common,
            "kind": "tool_call",
            "tool": tool,
            "effect": effect,
            "scope": scope,
            "outcome": outcome,
            **s.extra,
        }
        outs.append(Pending(s.end, order, s.id, parent, s.line, ev))
    elif kind == AGENT and where.spawner_src is not None:
        parent_agent = mapping.agent(where.spawner_src)
        ev = {
            **common,
            "agent": parent_agent,
            "kind": "spawn",
            "child": agent,
            "depth": where.depth,
        }
        outs.append(Pending(s.start, order, s.id, parent, s.line, ev))
    elif kind == AGENT:
        dropped = "top-level agent span: the run itself"
    elif kind == EVAL:
        outs.append(
            Pending(
                s.end,
                order,
                s.id,
                parent,
                s.line,
                {
                    **common,
                    "kind": "verification",
                    "target": parent or s.id,
                    "verdict": s.verdict,
                    "model": {"provider": "unknown", "family": "unknown", "name": s.name},
                },
            )
        )
    elif kind == WRAPPER:
        dropped = "model-call span wrapping an inner inference span: structure"
    else:
        dropped = "structure span (no event kind)"
    for e in s.evaluations:
        outs.append(_eval_out(e, where.run, s.id, eval_base + len(outs), s.line))
    # the span record: into an event (its own or its evaluations'), or dropped with the reason
    if len(outs) > before:
        stats.mapped += 1
    elif dropped is not None:
        stats.drop(dropped)


def place(
    o: Pending, parents: dict[str, str | None], seen: set[str], start_span: str
) -> dict[str, Any]:
    """Fix a mapped event's place in its run: ``parent`` is the nearest ancestor already
    written (``seen``; the run's ``start_span`` otherwise), a verification's ``target`` the
    same; ``ts`` as RFC 3339; a ``span`` already used becomes ``<span>:<kind>``. Adds the
    event's span to ``seen`` and returns the event."""
    ev = o.event
    if ev["kind"] == "verification":
        tgt = ev["target"] or start_span
        if tgt not in seen and tgt != start_span:
            tgt = _nearest_seen(tgt, parents, seen) or start_span
        ev["target"] = tgt
        ev["parent"] = tgt
    else:
        ev["parent"] = _nearest_seen(o.source_parent, parents, seen) or start_span
    ev["ts"] = ns_to_ts(o.ts)
    if ev["span"] in seen:
        ev["span"] = f"{ev['span']}:{ev['kind']}"
    seen.add(ev["span"])
    return ev


def model_wrappers(
    spans: dict[str, Span], parents: dict[str, str | None], stats: ImportStats
) -> None:
    """A model-call span with a model call below it is a wrapper: make it structure. Only the
    links the source states count: a span hung from the run's first span because its own
    parent is not in the export (siblings under an unexported parent) is wrapped by nothing.

    Linear in the spans: the walk up from each model call stops at a span an earlier walk
    passed (everything above it was walked then), so no span is walked twice, however deep
    the trace."""
    walked: set[str] = set()
    for sid in [s.id for s in spans.values() if s.kind == MODEL]:
        x, p = sid, parents.get(sid)
        while p is not None and p in spans and p not in walked and spans[x].parent == p:
            walked.add(p)
            ps = spans[p]
            if ps.kind == MODEL:
                ps.kind = WRAPPER  # dropped, with this reason, where the span is mapped
            x, p = p, parents.get(p)


def agents_above(
    spans: dict[str, Span], parents: dict[str, str | None]
) -> dict[str, tuple[Span | None, int]]:
    """For every span, its nearest agent span above it (None: none) and how many agent spans
    are above it: each span computed once from its parent's answer, so linear in the spans
    however deep the trace (``parents`` has no cycle: :func:`_break_cycles`)."""
    above: dict[str, tuple[Span | None, int]] = {}
    for sid in parents:
        path: list[str] = []
        x: str | None = sid
        while x is not None and x not in above:
            path.append(x)
            x = parents[x]
        for y in reversed(path):
            p = parents[y]
            if p is None:
                above[y] = (None, 0)
            else:
                nearest, count = above[p]
                ps = spans[p]
                above[y] = (ps, count + 1) if ps.kind == AGENT else (nearest, count)
    return above


def place_all(
    outs: list[Pending], parents: dict[str, str | None], start_span: str
) -> list[dict[str, Any]]:
    """:func:`place` for every event of a run, in order, in near-linear time however deep the
    trace: each event's ``parent`` is its nearest ancestor written before it, found offline
    (the events' own spans first, then the queries answered last to first while the written
    set shrinks, with a union-find over the span tree). The same events as :func:`place` one
    by one, without its bound on the walk up."""
    n = len(outs)
    seen: set[str] = {start_span}
    marked_at: dict[int, str] = {}  # event index -> the span it adds to the written set
    for i in range(n):
        ev = outs[i].event
        sp = ev["span"]
        if sp in seen:
            sp = f"{sp}:{ev['kind']}"
            ev["span"] = sp
        if sp not in seen:
            seen.add(sp)
            marked_at[i] = sp
        ev["ts"] = ns_to_ts(outs[i].ts)
    # up[x]: x itself while x is written; else a span above x with none written in between
    up: dict[str, str | None] = {x: (x if x in seen else p) for x, p in parents.items()}
    answers: list[str | None] = [None] * n
    for i in range(n - 1, -1, -1):
        gone = marked_at.get(i)
        if gone is not None:  # before event i its own span is not written yet
            seen.discard(gone)
            if gone in up:
                up[gone] = parents[gone]
        ev = outs[i].event
        q = (ev["target"] or start_span) if ev["kind"] == "verification" else outs[i].source_parent
        answers[i] = _written_at_or_above(q, up, seen)
    for i in range(n):
        ev = outs[i].event
        got = answers[i] or start_span
        if ev["kind"] == "verification":
            ev["target"] = got
        ev["parent"] = got
    return [o.event for o in outs]


def _written_at_or_above(q: str | None, up: dict[str, str | None], seen: set[str]) -> str | None:
    """The nearest written span at or above ``q`` (union-find with path compression)."""
    if q is None:
        return None
    if q not in up:  # not a span of the tree (an evaluation's id): written or nothing
        return q if q in seen else None
    root: str | None = q
    while root is not None and up[root] != root:
        root = up[root]
    x: str | None = q
    while x is not None and x != root:
        nxt = up[x]
        up[x] = root
        x = nxt
    return root


def assemble(trace: Trace, mapping: Mapping, stats: ImportStats) -> list[RawEvent]:
    """The events of one trace, as a run; none when no span maps to an event."""
    spans: dict[str, Span] = {}
    for s in trace.spans:
        if s.id in spans:
            stats.drop("duplicate span (same trace id and span id): one event")
            continue
        spans[s.id] = s
    if not spans:
        return []
    ordered = sorted(spans.values(), key=lambda s: (s.start, s.line))
    roots = [s for s in ordered if s.parent is None]
    root = roots[0] if roots else min(ordered, key=lambda s: (s.start, s.line))

    def parent_of(s: Span) -> str | None:
        if s is root:
            return None
        if s.parent is not None and s.parent in spans and s.parent != s.id:
            return s.parent
        return root.id  # parent not in the export (or a second root): hang it from the root

    parents = {s.id: parent_of(s) for s in ordered}
    _break_cycles(parents)
    model_wrappers(spans, parents, stats)

    above = agents_above(spans, parents)
    fallback_agent = root.agent_name or root.name or "unknown"
    run = trace.id
    pipeline = trace.pipeline
    outs: list[Pending] = []
    mapped_before = stats.mapped
    for order, s in enumerate(ordered):
        nearest, depth = above[s.id]
        enclosing = s if s.kind == AGENT else nearest
        agent_src = (enclosing.agent_name if enclosing else None) or fallback_agent
        spawner = (nearest.agent_name or fallback_agent) if nearest is not None else None
        map_span(
            s,
            SpanPlace(run, agent_src, spawner, depth, parents[s.id], order),
            mapping,
            stats,
            outs,
            len(ordered),
            trace.tool_names,
        )
    for e in trace.evaluations:
        outs.append(_eval_out(e, run, e.target, len(ordered) + len(outs), root.line))
    if not any(o.event["kind"] != "verification" for o in outs):
        # no run: the spans mapped to verifications alone are dropped after all, and the
        # trace (not a record) is counted apart
        undone = stats.mapped - mapped_before
        stats.mapped -= undone
        stats.drop("span of a trace with nothing but verifications: no run", undone)
        stats.unit("trace with no span that maps to an event: no run")
        return []
    emitted = {o.span for o in outs}
    start_span = root.id if root.id not in emitted else f"{run}:run_start"
    outs.sort(key=lambda o: (o.ts, o.order))
    first_ts = min(root.start, outs[0].ts)
    last_ts = max(max(s.end for s in ordered), outs[-1].ts)
    outcome = root.status
    file = trace.file
    events = [RawEvent(file, root.line, run_start(run, start_span, first_ts, pipeline))]
    counts = stats.events
    counts["run_start"] += 1
    placed = place_all(outs, parents, start_span)
    for i, o in enumerate(outs):
        ev = placed[i]
        counts[ev["kind"]] += 1
        events.append(RawEvent(file, o.line, ev))
    events.append(RawEvent(file, root.line, run_end(run, start_span, last_ts, pipeline, outcome)))
    counts["run_end"] += 1
    stats.runs += 1
    return events


def _eval_out(e: Evaluation, run: str, target: str | None, order: int, line: int) -> Pending:
    ev = {
        "run": run,
        "span": e.id,
        "agent": "harness",
        "kind": "verification",
        "target": target,
        "verdict": "fail" if e.verdict == NOT_PROVEN else e.verdict,
        "model": {"provider": "unknown", "family": "unknown", "name": e.name},
        "x_evaluation": e.name,
        "x_verdict_basis": e.basis,
    }
    if e.verdict == NOT_PROVEN:
        ev["x_verdict"] = NOT_PROVEN
    return Pending(e.ts, order, e.id, target, line, ev)


def _nearest_seen(sid: str | None, parents: dict[str, str | None], seen: set[str]) -> str | None:
    steps = 0
    while sid is not None and steps < 10_000:
        if sid in seen:
            return sid
        sid = parents.get(sid)
        steps += 1
    return None


def _break_cycles(parents: dict[str, str | None]) -> None:
    """A parent chain that loops (hostile input) is cut where it closes."""
    state: dict[str, int] = {}
    for start in parents:
        path = []
        sid: str | None = start
        while sid is not None and state.get(sid, 0) == 0:
            state[sid] = 1
            path.append(sid)
            sid = parents.get(sid)
        if sid is not None and state.get(sid) == 1:
            parents[path[-1]] = None
        for p in path:
            state[p] = 2
