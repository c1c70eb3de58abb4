"""Compiled by mypyc: the last paragraph says what that means here.

Langfuse trace exports: ``{"trace": {...}, "observations": [...]}`` (the tRPC/public API
shape), a trace with its ``observations`` inside, a list of them, or JSON Lines of them.

Observations: ``GENERATION`` -> model_call (``usageDetails``, ``costDetails.total`` in USD),
``TOOL`` -> tool_call, a ``SPAN`` whose name is a tool in the trace's tool definitions or in
the map, and a ``SPAN`` inside a LangGraph ``tools`` node (its tool, with no definitions);
``AGENT`` nesting -> spawn (and SPANs whose raw OTel attributes name an agent, as
pydantic-ai's ``<agent> run``). ``level: ERROR`` is an error outcome. Trace ``scores`` with
source ``EVAL`` -> ``verification`` of the root (of the observation when the score names one);
a numeric score is judged by the pass rule ``--map``/the manifest declare for its name
(``scores: {toxicity: {pass_below: 0.5}}``); with none it is no verdict either way:
``not_proven`` (``x_verdict``; the schema's ``verdict`` says ``fail``, never a pass).
The Langfuse trace is the run's root; observations without a parent hang from it.

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    ScoreRule,
    as_dict,
    as_float,
    as_int,
    as_list,
    fail,
    iter_lines,
    parse_line,
    text,
    ts_to_ns,
    usd_to_microusd,
)
from harness_audit.importers.probe import Probe
from harness_audit.importers.spans import (
    AGENT,
    EVAL,
    MODEL,
    NOT_PROVEN,
    STRUCTURE,
    TOOL,
    Evaluation,
    Span,
    Trace,
    agent_name_from,
    assemble,
    fill,
    verdict_of,
)
from harness_audit.trail.source import RawEvent

NAME = "langfuse"
DESCRIPTION = "Langfuse trace exports (trace with observations and scores)"

_AGENT_NAMES = ("gen_ai.agent.name", "agent.name")
"""Attributes that name an agent; without them an agent span's ``gen_ai.agent.id`` names it."""
_TYPES = {"GENERATION": MODEL, "TOOL": TOOL, "AGENT": AGENT, "GUARDRAIL": EVAL, "EVALUATOR": EVAL}


def _json_field(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[" and len(value) < 4 << 20:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _attrs(md: Any) -> dict[str, Any]:
    """The raw OTel attributes in an observation's (parsed) metadata."""
    if isinstance(md, dict):
        a = _json_field(md.get("attributes"))
        if isinstance(a, dict):
            return a
    return {}


def _tool_names(obs: dict[str, Any], attrs: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    defs = _json_field(obs.get("toolDefinitions"))
    if isinstance(defs, dict):
        names.update(str(k) for k in defs)
    elif isinstance(defs, list):
        for d in defs:
            if isinstance(d, dict) and isinstance(d.get("name"), str):
                names.add(d["name"])
    gdefs = _json_field(attrs.get("gen_ai.tool.definitions"))
    if isinstance(gdefs, list):
        for d in gdefs[:1000]:
            if isinstance(d, dict):
                fn = as_dict(d.get("function")) or d
                if isinstance(fn.get("name"), str):
                    names.add(fn["name"])
    for k, v in attrs.items():
        if k.startswith("llm.tools.") and _TOOL_SCHEMA.fullmatch(k):
            sch = _json_field(v)
            if isinstance(sch, dict):
                fn2 = as_dict(sch.get("function")) or sch
                if isinstance(fn2.get("name"), str):
                    names.add(fn2["name"])
    return names


_TOOL_SCHEMA = re.compile(r"llm\.tools\.\d+\.tool\.json_schema")

TOOL_NODES = frozenset(("tools",))
"""LangGraph's ``ToolNode`` names (``create_react_agent``, LangGraph.js ``ToolNode``)."""
_GRAPH_PLUMBING = re.compile(r"^(ChannelWrite|ChannelRead|Branch|RunnableSequence|RunnableLambda)")


def _in_tool_node(o: dict[str, Any], meta: Any, name: str) -> bool:
    """A span inside a LangGraph tool node that is not the node itself nor graph plumbing:
    the tool it ran (the trace need carry no tool definitions: a ``tools`` node's child span
    named ``Web-Search`` was dropped as structure, issue 25)."""
    if o.get("type") != "SPAN":
        return False
    node = meta.get("langgraph_node") if isinstance(meta, dict) else None
    return node in TOOL_NODES and name != node and not _GRAPH_PLUMBING.match(name)


def _observation(o: dict[str, Any], root: str, line: int, trace: Trace) -> Span | None:
    oid = text(o.get("id"), 128)
    if oid is None:
        return None
    start = ts_to_ns(o.get("startTime")) or 0
    end = ts_to_ns(o.get("endTime")) or start
    name = text(o.get("name"), 300) or str(o.get("type") or "observation")
    parent = text(o.get("parentObservationId"), 128) or root
    status = "error" if o.get("level") == "ERROR" else "ok"
    span = Span(oid, parent, name, start, max(start, end), line, status=status)
    span.kind = _TYPES.get(str(o.get("type")), STRUCTURE)
    meta = _json_field(o.get("metadata"))  # parsed once: its attributes, its LangGraph node
    attrs = _attrs(meta)
    trace.tool_names |= _tool_names(o, attrs)
    fill(span, attrs)
    if span.kind == AGENT and attrs.get("gen_ai.operation.name") == "create_agent":
        span.kind = STRUCTURE  # the agent's creation, not a run of it: it spawns none
    elif span.kind == AGENT and not any(attrs.get(n) for n in _AGENT_NAMES):
        stable = text(attrs.get("gen_ai.agent.id"), 200)  # the span's name may be the run's
        span.agent_name = stable or span.agent_name
    if span.kind == MODEL:
        span.model = text(o.get("model"), 200) or span.model
        usage = _json_field(o.get("usageDetails")) or _json_field(o.get("usage")) or {}
        if not isinstance(usage, dict):
            usage = {}
        # inputUsage/outputUsage/totalCost are columns Langfuse computes: 0 when the source
        # stated nothing (an empty usageDetails), so a 0 there is no statement: unknown
        for got in (
            as_int(usage.get("input", usage.get("promptTokens"))),
            as_int(o.get("inputUsage")) or None,
        ):
            if span.input_tokens is None:
                span.input_tokens = got
        for got in (
            as_int(usage.get("output", usage.get("completionTokens"))),
            as_int(o.get("outputUsage")) or None,
        ):
            if span.output_tokens is None:
                span.output_tokens = got
        cost = _json_field(o.get("costDetails"))
        total = cost.get("total") if isinstance(cost, dict) else None
        if total is None:
            total = o.get("totalCost", o.get("calculatedTotalCost")) or None
        micro = usd_to_microusd(total)
        if micro is not None:
            span.cost_microusd = micro
    elif span.kind == STRUCTURE and span.tool is None and _in_tool_node(o, meta, name):
        span.kind, span.tool = TOOL, name  # a LangGraph ToolNode's tool, with no definitions
    elif span.kind == TOOL and span.tool is None:
        span.tool = re.sub(r"^running tool:\s*", "", name)
    elif span.kind == AGENT and span.agent_name is None:
        span.agent_name = agent_name_from(name)
    return span


_LIFECYCLE = re.compile(
    r"^(.{1,250})\.(start|success|error|finish|retry|update|partial_update|new_token)-(\d{1,20})$"
)
"""An emitter event's span name, ``<operation path>.<event>-<run number>`` (BeeAI writes one
span per event of a model call, tool run or agent iteration: ``backend.openai.chat.start-16``,
``…success-16``, ``…finish-16`` are one call)."""


def _one_per_operation(spans: list[Span]) -> None:
    """The event spans of one operation (same path and run number) as one event: the first
    keeps what any of them states (usage, cost, an error), the others become structure; an
    agent's event spans other than its ``start`` are structure too (they are its progress, not
    agents it spawned), the agent named by the path."""
    first: dict[tuple[str, str, str], Span] = {}
    for s in sorted(spans, key=lambda s: (s.start, s.line)):
        m = _LIFECYCLE.match(s.name)
        if m is None or s.kind not in (MODEL, TOOL, AGENT):
            continue
        base, event, run = m.groups()
        if s.kind == AGENT:
            if event == "start":
                s.agent_name = base
            else:
                s.kind = STRUCTURE
            continue
        if s.kind == TOOL and s.tool in (None, s.name):
            s.tool = base  # the tool's path, not one of its events
        kept = first.setdefault((s.kind, base, run), s)
        if event == "error":
            kept.status = "error"
        if kept is s:
            continue
        kept.input_tokens = s.input_tokens if kept.input_tokens is None else kept.input_tokens
        kept.output_tokens = s.output_tokens if kept.output_tokens is None else kept.output_tokens
        kept.cost_microusd = s.cost_microusd if kept.cost_microusd is None else kept.cost_microusd
        if s.status == "error":
            kept.status = "error"
        kept.end = max(kept.end, s.end)
        s.kind = STRUCTURE


def _score(
    s: dict[str, Any], stats: ImportStats, rules: dict[str, ScoreRule] | None = None
) -> Evaluation | None:
    source = s.get("source")
    if source != "EVAL":
        stats.drop(f"score with source {str(source)[:20]!r}: only EVAL scores are evaluations")
        return None
    sid = text(s.get("id"), 128) or "score"
    name = text(s.get("name"), 200) or "score"
    dtype = s.get("dataType")
    value = s.get("value")
    if dtype == "BOOLEAN":
        f = as_float(value)
        verdict = verdict_of(None, bool(f)) if f is not None else "fail"
        basis = f"boolean score {value!r}"
    elif dtype == "CATEGORICAL":
        label = s.get("stringValue")
        verdict = verdict_of(label, None)
        basis = f"categorical score {str(label)[:60]!r}"
    else:
        rule = (rules or {}).get(name)
        num = as_float(value)
        if rule is not None and num is not None:
            verdict = rule.verdict(num)
            basis = f"numeric score {num:g} under the declared rule {name}: {{{rule}}}"
        else:  # no rule: not a verdict either way (issue 25, item 4)
            verdict = NOT_PROVEN
            why = "no pass rule declared" if num is not None else "no numeric value"
            basis = f"numeric score {str(value)[:30]}: {why} (--map scores:), not proven"
    ts = ts_to_ns(s.get("timestamp")) or 0
    return Evaluation(sid, name, verdict, ts, text(s.get("observationId"), 128), basis)


def trace_of(
    doc: dict[str, Any],
    file: str,
    line: int,
    stats: ImportStats,
    pipeline: str,
    rules: dict[str, ScoreRule] | None = None,
) -> Trace | None:
    """One Langfuse export object as a :class:`Trace` (None when it holds no trace)."""
    t: dict[str, Any] = doc["trace"] if isinstance(doc.get("trace"), dict) else doc
    tid = text(t.get("id"), 128)
    if tid is None:
        return None
    observations = doc.get("observations")
    if not isinstance(observations, list):
        observations = as_list(t.get("observations"))
    trace = Trace(tid, file, pipeline=pipeline)
    start = ts_to_ns(t.get("timestamp")) or 0
    root = Span(tid, None, text(t.get("name"), 300) or "trace", start, start, line)
    trace.spans.append(root)
    for o in observations:
        stats.records += 1
        if not isinstance(o, dict):
            stats.drop("observation is not an object")
            continue
        span = _observation(o, tid, line, trace)
        if span is None:
            stats.drop("observation without an id")
            continue
        trace.spans.append(span)
    _one_per_operation(trace.spans)
    root.start = (
        min([root.start] + [s.start for s in trace.spans if s.start])
        if root.start
        else min((s.start for s in trace.spans), default=0)
    )
    root.end = max(s.end for s in trace.spans)
    scores = t.get("scores") if isinstance(t.get("scores"), list) else doc.get("scores")
    for s in scores if isinstance(scores, list) else []:
        stats.records += 1
        if not isinstance(s, dict):
            stats.drop("score is not an object")
            continue
        ev = _score(s, stats, rules)
        if ev is not None:
            trace.evaluations.append(ev)
            stats.mapped += 1  # a verification of the run (undone below if no run is made)
    return trace


def _docs(obj: Any) -> list[Any]:
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("data"), list) and "trace" not in obj:
        data: list[Any] = obj["data"]
        return data
    return [obj]


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every trace in a Langfuse export."""
    name = str(path)
    probe = probe or Probe.of(path)
    if probe.is_jsonl:
        items: Iterator[tuple[int, Any]] = (
            (n, parse_line(name, n, raw)) for n, raw in iter_lines(path)
        )
    else:
        doc = probe.document()
        items = ((1, d) for d in _docs(doc))
    found = False
    for n, d in items:
        stats.records += 1  # the trace object: its root span accounts for it, once
        if not isinstance(d, dict):
            stats.drop("record is not a Langfuse trace object")
            continue
        trace = trace_of(d, name, n, stats, pipeline, mapping.scores)
        if trace is None:
            stats.drop("record without a trace id")
            continue
        found = True
        events = assemble(trace, mapping, stats)
        if not events and trace.evaluations:  # no run: its scores verify nothing
            stats.mapped -= len(trace.evaluations)
            stats.drop("score of a trace with no run", len(trace.evaluations))
        yield from events
    if not found:
        raise fail(
            name,
            "no Langfuse trace in this file",
            1,
            '{"trace": {"id": ...}, "observations": [...]}',
        )


def is_trace_object(d: Any) -> bool:
    """True for one Langfuse export object."""
    if not isinstance(d, dict):
        return False
    t = d.get("trace")
    if isinstance(t, dict) and "id" in t and ("observations" in d or "observations" in t):
        return True
    obs = d.get("observations")
    # the UI/tRPC export names its project; the public API's trace (GET
    # /api/public/traces/{id}) its htmlPath, latency and totalCost instead
    return (
        "id" in d
        and isinstance(obs, list)
        and ("projectId" in d or "htmlPath" in d or ("timestamp" in d and "totalCost" in d))
    )


def is_trace_list(d: Any) -> bool:
    """The public API's trace list (GET /api/public/traces): traces that name their
    observations by id only, so there is nothing to import from it."""
    items = _docs(d) if isinstance(d, dict) and "meta" in d else []
    return bool(items) and all(
        isinstance(t, dict)
        and "id" in t
        and "htmlPath" in t
        and all(isinstance(o, str) for o in as_list(t.get("observations")))
        for t in items[:20]
    )


def sniff(probe: Probe) -> str | None:
    """What Langfuse shape the source is (None: not Langfuse)."""
    doc = probe.json
    if doc is not None:
        items = _docs(doc)
        if items and is_trace_object(items[0]) and not is_trace_list(doc):
            return "a Langfuse trace export"
        return None
    if is_trace_object(probe.first_line_json):
        return "Langfuse trace exports as JSON Lines"
    return None
