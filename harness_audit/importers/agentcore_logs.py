"""AWS Bedrock AgentCore runtime log records: the OpenTelemetry log records an AgentCore runtime
writes to CloudWatch (the ``/aws/bedrock-agentcore/runtimes/<agent>-<endpoint>`` log group,
stream ``otel-rt-logs``), as exported: a JSON array or JSON Lines of ``{"timestamp",
"raw_otel_json": <record>}`` (the record may be JSON text), of bare log records, or an OTLP/JSON
``ExportLogsServiceRequest`` (``resourceLogs`` / ``scopeLogs`` / ``logRecords``).

A log record (``timeUnixNano``, ``body``, ``attributes``, ``traceId``, ``spanId``, ``resource``,
``scope``) states less than a span: what it states is read, what it does not is left unknown.

- One run per trace id, its agent the resource's ``service.name`` (else ``otelServiceName``).
- A **model call** is a span with a ``gen_ai.choice`` event (OTel GenAI events: the model's
  response; botocore, OpenAI and other instrumentations emit one per choice): one ``model_call``
  per span, at the record's time; model from ``gen_ai.response.model`` /
  ``gen_ai.request.model`` when the record carries it, else unknown; provider from
  ``gen_ai.system`` / ``gen_ai.provider.name``. Log records carry no token usage and no cost:
  both are unknown (``x_usage``, ``x_cost``: the budget check is not proven for the call), and
  the model when not named is ``x_model: unknown``.
- A **tool call** is a tool use id stated anywhere in a record's body (an OpenAI-shaped
  ``tool_calls`` entry, a Bedrock ``toolUse`` block, a LangChain ``ToolMessage``, also inside
  the JSON text framework records hold): one ``tool_call`` per id, its name from the request,
  placed at its result (``gen_ai.tool.message`` ``id``, a ``toolResult``, a ``ToolMessage``),
  its outcome the result's ``status`` (``success`` ok, ``error`` error), else unknown
  (``x_outcome``). A call with no result is placed at its request.
- Framework records (``event.name`` the instrumentation scope, body ``{input, output}``
  messages: Strands, LangChain) do not say which span they close (model call, cycle or agent):
  they give tool calls, never model calls (the ``aws/spans`` records say which span is a chat:
  import those for model calls and usage).
- Application log lines (a text body, or a plain ``{timestamp, level, message}`` record) and
  records without a trace id are counted as dropped, with their reason.

The run's outcome is unknown (log records do not state it). Memory is bounded by the traces
open: a trace no record has come for in ``QUIET_RECORDS`` records (or the oldest past
``MAX_OPEN_TRACES``) is emitted; a record of it arriving later is dropped as late, counted.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_audit.importers import tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    as_list,
    check_values,
    emit_run,
    fail,
    hex_id,
    iter_lines,
    json_loads,
    ns_to_ts,
    parse_line,
    run_end,
    run_start,
    text,
    ts_to_ns,
)
from harness_audit.importers.otlp import any_value, attributes
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "agentcore-logs"
DESCRIPTION = (
    "AWS AgentCore runtime log records (CloudWatch OTel log records, gen_ai events; OTLP/JSON logs)"
)
ENVELOPE = "AWS AgentCore log record ({timestamp, raw_otel_json}): unwrapped"
_EXPECTED = (
    'AgentCore runtime log records ([{"timestamp", "raw_otel_json": {"timeUnixNano", "body", '
    '"attributes", "traceId", "spanId"}}]) or an OTLP/JSON {"resourceLogs": [...]}'
)
MAX_DEPTH = 12
MAX_TEXT = 1 << 20  # JSON text inside a body parsed for tool uses up to this size
MAX_IDS = 10_000  # tool uses kept per run
QUIET_RECORDS = 2_000  # a trace no record has come for in this many records is complete
MAX_OPEN_TRACES = 5_000
MAX_FLUSHED_IDS = 200_000
_OK = {"success": "ok", "ok": "ok", "error": "error", "failed": "error", "failure": "error"}


def is_log_record(obj: Any) -> bool:
    """True for one OTel log record as JSON (flat or OTLP): a time and a body or severity, no
    span name or start time."""
    if not isinstance(obj, dict) or "name" in obj or "startTimeUnixNano" in obj:
        return False
    timed = "timeUnixNano" in obj or "observedTimeUnixNano" in obj or "time_unix_nano" in obj
    return timed and ("body" in obj or "severityNumber" in obj or "severityText" in obj)


def _unwrap(obj: Any) -> Any:
    raw = obj.get("raw_otel_json") if isinstance(obj, dict) else None
    if isinstance(raw, str):
        try:
            data = raw.encode()
            check_values("raw_otel_json", data, 1)
            raw = json_loads(data)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else obj


def _is_request(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("resourceLogs"), list)


def _first_records(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc[:50]
    return [doc]


def _looks_like(doc: Any) -> bool:
    if _is_request(doc):
        return any(True for _ in _request_records(doc))
    return any(is_log_record(_unwrap(r)) for r in _first_records(doc))


def sniff(probe: Probe) -> str | None:
    """What AgentCore log shape the source is (None: not one)."""
    doc = probe.json
    if doc is not None:
        if _is_request(doc) and _looks_like(doc):
            return "an OTLP/JSON ExportLogsServiceRequest (log records)"
        if isinstance(doc, list) and _looks_like(doc):
            wrapped = any(isinstance(r, dict) and "raw_otel_json" in r for r in doc[:50])
            return (
                "a JSON array of AWS AgentCore log records ({timestamp, raw_otel_json})"
                if wrapped
                else "a JSON array of OpenTelemetry log records"
            )
        return None
    first = probe.first_line_json
    if first is None and not probe.is_jsonl:
        first = probe.first_record
    if _is_request(first) and _looks_like(first):
        return "OTLP/JSON Lines of ExportLogsServiceRequest (log records)"
    if isinstance(first, dict) and is_log_record(_unwrap(first)):
        return "JSON Lines of AWS AgentCore / OpenTelemetry log records"
    if isinstance(first, dict) and probe.is_jsonl:  # an application line may come first
        for line in probe.head.split(b"\n")[1:50]:
            try:
                obj = json_loads(line) if line.strip() else None
            except ValueError:
                break  # the head's cut last line
            if isinstance(obj, dict) and is_log_record(_unwrap(obj)):
                return "JSON Lines of AWS AgentCore / OpenTelemetry log records"
    return None


# -- one record ---------------------------------------------------------------------------------


@dataclass
class _Tool:
    id: str
    name: str | None = None
    requested: int | None = None
    result: int | None = None
    outcome: str | None = None
    line: int = 1
    asked: bool = False  # requested by a model output of this trace (not only in history)


@dataclass
class _Call:
    ts: int | None
    line: int
    event: dict[str, Any]
    answered: bool = False


@dataclass
class _Run:
    trace: str
    agent: str | None = None
    first: int | None = None
    last: int | None = None
    line: int = 1
    touched: int = 0
    calls: dict[str, _Call] = field(default_factory=dict)
    tools: dict[str, _Tool] = field(default_factory=dict)

    def saw(self, ts: int | None) -> None:
        if ts is not None:
            self.first = ts if self.first is None else min(self.first, ts)
            self.last = ts if self.last is None else max(self.last, ts)


def _maybe_json(value: str) -> Any:
    s = value.strip()
    if len(s) < 2 or len(s) > MAX_TEXT or s[0] not in "[{":
        return None
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        return None


def _walk(value: Any, run: _Run, ts: int | None, line: int, out: bool, depth: int = 0) -> int:
    """Tool uses and results stated anywhere in ``value`` (parsed JSON text included), into
    ``run``; how many were found. ``out``: ``value`` is a model's output in this trace (a
    request there is a call of this run; one in an input is history, maybe of an earlier
    invocation, and only names the tool)."""
    if depth > MAX_DEPTH:
        return 0
    found = 0
    if isinstance(value, str):
        inner = _maybe_json(value)
        return 0 if inner is None else _walk(inner, run, ts, line, out, depth + 1)
    if isinstance(value, list):
        for v in value[:1000]:
            found += _walk(v, run, ts, line, out, depth + 1)
        return found
    if not isinstance(value, dict):
        return 0
    skip: tuple[str, ...] = ()
    use = value.get("toolUse")
    if isinstance(use, dict) and isinstance(use.get("toolUseId"), str):
        found += _request(run, use["toolUseId"], use.get("name"), ts, line, out)
        skip = ("toolUse",)
    res = value.get("toolResult")
    if isinstance(res, dict) and isinstance(res.get("toolUseId"), str):
        found += _result(run, res["toolUseId"], None, res.get("status"), ts, line)
        skip = (*skip, "toolResult")
    fn = value.get("function")
    if isinstance(value.get("id"), str) and isinstance(fn, dict) and "name" in fn:
        found += _request(run, value["id"], fn.get("name"), ts, line, out)
        return found  # an OpenAI-shaped tool call: its arguments are the model's text
    kw = value.get("kwargs")
    if (
        isinstance(kw, dict)
        and kw.get("type") == "tool"
        and isinstance(kw.get("tool_call_id"), str)
    ):
        # a LangChain ToolMessage, serialised: a result
        return found + _result(run, kw["tool_call_id"], kw.get("name"), kw.get("status"), ts, line)
    if isinstance(kw, dict):  # a LangChain AIMessage's tool_calls
        for tc in as_list(kw.get("tool_calls"))[:1000]:
            if isinstance(tc, dict) and isinstance(tc.get("id"), str):
                found += _request(run, tc["id"], tc.get("name"), ts, line, out)
    for k, v in value.items():
        if k in skip:
            continue
        if isinstance(v, (dict, list, str)):
            found += _walk(v, run, ts, line, out, depth + 1)
    return found


def _tool(run: _Run, tid: str, line: int) -> _Tool | None:
    tid = tid[:200]
    t = run.tools.get(tid)
    if t is None:
        if len(run.tools) >= MAX_IDS:
            return None
        t = run.tools[tid] = _Tool(tid, line=line)
    return t


def _request(run: _Run, tid: str, name: Any, ts: int | None, line: int, out: bool) -> int:
    t = _tool(run, tid, line)
    if t is None:
        return 0
    t.name = t.name or text(name, 200)
    if out:
        t.asked = True
        if ts is not None and (t.requested is None or ts < t.requested):
            t.requested = ts
    return 1


def _result(run: _Run, tid: str, name: Any, status: Any, ts: int | None, line: int) -> int:
    t = _tool(run, tid, line)
    if t is None:
        return 0
    t.name = t.name or text(name, 200)
    if ts is not None and (t.result is None or ts < t.result):
        t.result = ts
        t.line = line
    if isinstance(status, str) and status.lower() in _OK:
        t.outcome = _OK[status.lower()]
    return 1


def _records(doc: Any) -> Iterator[tuple[Any, dict[str, Any] | None]]:
    """(record, resource attributes) of one parsed value."""
    if _is_request(doc):
        yield from _request_records(doc)
    elif isinstance(doc, list):
        for r in doc:
            yield r, None
    else:
        yield doc, None


def _request_records(doc: dict[str, Any]) -> Iterator[tuple[Any, dict[str, Any] | None]]:
    for rl in as_list(doc.get("resourceLogs")):
        res = attributes(as_dict(as_dict(rl).get("resource")).get("attributes"))
        for sl in as_list(as_dict(rl).get("scopeLogs")):
            scope = as_dict(as_dict(sl).get("scope"))
            for rec in as_list(as_dict(sl).get("logRecords")):
                if isinstance(rec, dict):
                    rec = {**rec, "scope": scope, "body": any_value(rec.get("body"))}
                yield rec, res


class _Reader:
    def __init__(self, mapping: Mapping, stats: ImportStats) -> None:
        self.mapping, self.stats = mapping, stats
        self.runs: OrderedDict[str, _Run] = OrderedDict()  # least recently touched first
        self.flushed: OrderedDict[str, None] = OrderedDict()
        self.count = 0
        self.wrapped = False

    def record(self, obj: Any, line: int, res: dict[str, Any] | None) -> None:
        stats = self.stats
        stats.records += 1
        if isinstance(obj, dict) and "raw_otel_json" in obj:
            self.wrapped = True
        rec = _unwrap(obj)
        if not isinstance(rec, dict):
            stats.drop("record is not an object")
            return
        if not is_log_record(rec):
            if "message" in rec or "level" in rec:
                stats.drop("application log line (no OpenTelemetry log record)")
            else:
                stats.drop("record is not an OpenTelemetry log record")
            return
        trace = hex_id(rec.get("traceId", rec.get("trace_id")), 32)
        if trace is None or trace.strip("0") == "":
            stats.drop("log record without a trace id")
            return
        attrs = attributes(rec.get("attributes"))
        if res is None:
            res = attributes(as_dict(rec.get("resource")).get("attributes"))
        ts = ts_to_ns(rec.get("timeUnixNano") or rec.get("time_unix_nano"))
        if not ts:
            ts = ts_to_ns(rec.get("observedTimeUnixNano")) or None
        if trace in self.flushed:
            stats.drop("log record arrived after its trace was flushed (late): dropped")
            return
        self.count += 1
        run = self.runs.get(trace)
        if run is None:
            run = self.runs[trace] = _Run(trace, line=line)
        else:
            self.runs.move_to_end(trace)
        run.touched = self.count
        run.saw(ts)
        if run.agent is None:
            run.agent = text(res.get("service.name"), 200) or text(
                attrs.get("otelServiceName"), 200
            )
        event = text(attrs.get("event.name") or rec.get("eventName"), 200) or ""
        body = rec.get("body")
        span = hex_id(rec.get("spanId", rec.get("span_id")), 16) or f"line{line}"
        found = 0
        if event == "gen_ai.choice":
            found = _walk(body, run, ts, line, True)
        elif isinstance(body, dict) and ("output" in body or "input" in body):
            found = _walk(body.get("output"), run, ts, line, True)
            found += _walk(body.get("input"), run, ts, line, False)
        elif not isinstance(body, str) or event:
            found = _walk(body, run, ts, line, False)
        if event == "gen_ai.tool.message":
            b = as_dict(body)
            if isinstance(b.get("id"), str):
                found += _result(run, b["id"], b.get("name"), None, ts, line)
        if event.startswith("gen_ai.") and event.endswith((".message", ".choice")):
            # the events of a GenAI client span: that span is one model call
            call = run.calls.get(span)
            if call is None:
                call = run.calls[span] = _Call(ts, line, self._call(trace, span, attrs))
            answer = event == "gen_ai.choice"
            if answer and not call.answered:  # the call is at its response
                call.ts, call.line, call.answered = ts, line, True
            elif not call.answered and ts is not None and (call.ts is None or ts > call.ts):
                call.ts, call.line = ts, line
            stats.mapped += 1
        elif found:
            stats.mapped += 1
        elif isinstance(body, str) or body is None:
            stats.drop("application log line (text body: no agent event)")
        else:
            stats.drop(
                "framework span record without a tool use (its span's kind is not in the log "
                "record: model calls come from aws/spans)"
            )

    def _call(self, trace: str, span: str, attrs: dict[str, Any]) -> dict[str, Any]:
        model = text(attrs.get("gen_ai.response.model"), 200) or text(
            attrs.get("gen_ai.request.model"), 200
        )
        provider = text(attrs.get("gen_ai.provider.name"), 100) or text(
            attrs.get("gen_ai.system"), 100
        )
        ev: dict[str, Any] = {
            "run": trace,
            "span": span,
            "kind": "model_call",
            "model": tables.resolve_model(model or "unknown", provider).as_dict(),
            "input_tokens": None,
            "output_tokens": None,
            "cost_microusd": None,
        }
        if model is None:
            ev["x_model"] = "unknown"
        return ev

    def ready(self, file: str, pipeline: str) -> Iterator[RawEvent]:
        """The runs of the traces no record has come for in ``QUIET_RECORDS`` records, or the
        oldest past ``MAX_OPEN_TRACES`` open: memory is bounded by the traces open, not by
        the file (a record of a trace already flushed is dropped as late)."""
        while self.runs:
            tid, run = next(iter(self.runs.items()))
            if self.count - run.touched < QUIET_RECORDS and len(self.runs) <= MAX_OPEN_TRACES:
                return
            yield from self._flush(file, tid, pipeline)

    def _flush(self, file: str, tid: str, pipeline: str) -> Iterator[RawEvent]:
        run = self.runs.pop(tid)
        self.flushed[tid] = None
        if len(self.flushed) > MAX_FLUSHED_IDS:
            self.flushed.popitem(last=False)
        yield from self._run(file, run, pipeline)

    def runs_events(self, file: str, pipeline: str) -> Iterator[RawEvent]:
        """The runs of every trace still open, in the order of their first record's time."""
        for run in sorted(self.runs.values(), key=lambda r: (r.first or 0, r.trace)):
            yield from self._run(file, run, pipeline)
        self.runs.clear()

    def _run(self, file: str, run: _Run, pipeline: str) -> Iterator[RawEvent]:
        agent = self.mapping.agent(run.agent or "agentcore-agent")
        items: list[tuple[int, int, dict[str, Any]]] = []
        for c in run.calls.values():
            ev = c.event
            ev["ts"] = None if c.ts is None else ns_to_ts(c.ts)
            ev["agent"] = agent
            if not c.answered:
                ev["x_response"] = "not in the records (no gen_ai.choice event)"
            items.append((c.ts or 0, c.line, ev))
        history = 0
        for t in run.tools.values():
            if not t.asked:
                history += 1
                continue
            name = t.name or "unknown"
            effect, scope = self.mapping.tool(name, agent)
            at = t.result if t.result is not None else t.requested
            ev = {
                "ts": None if at is None else ns_to_ts(at),
                "run": run.trace,
                "span": f"tool:{t.id}",
                "agent": agent,
                "kind": "tool_call",
                "tool": name,
                "effect": effect,
                "scope": scope,
                "outcome": t.outcome,
            }
            if t.name is None:
                ev["x_tool_name"] = "unknown"
            if t.result is None:
                ev["x_result"] = "not in the records: placed at its request"
            items.append((at or 0, t.line, ev))
        if history:
            self.stats.note(
                f"trace {run.trace}: {history} tool use(s) stated only in a model call's input "
                "(history, perhaps of an earlier invocation): not counted as calls of this run"
            )
        if not items:
            self.stats.unit("trace with no model call or tool call: no run")
            return
        items.sort(key=lambda x: (x[0], x[1]))
        begin = f"{run.trace}:run_start"
        start = run_start(run.trace, begin, run.first, pipeline)
        last = None if run.first is None else run.last  # no first time: no time at all
        end = run_end(run.trace, begin, last, pipeline, "unknown")
        end["x_outcome"] = "unknown"
        yield from emit_run(
            file,
            (run.line, start),
            ((line, ev) for _, line, ev in items),
            (run.line, end),
            self.stats,
        )


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every trace in the log records, one run per trace id."""
    name = str(path)
    probe = probe or Probe.of(path)
    reader = _Reader(mapping, stats)
    if probe.is_jsonl or (probe.json is None and probe.first_record is not None):
        probe.release()
        for n, raw in iter_lines(path):
            check_values(name, raw, n)
            for rec, res in _records(parse_line(name, n, raw)):
                reader.record(rec, n, res)
            yield from reader.ready(name, pipeline)
    else:
        doc = probe.document()
        if not (_is_request(doc) or isinstance(doc, list)):
            raise fail(
                name, "no AgentCore / OpenTelemetry log records in this document", 1, _EXPECTED
            )
        for rec, res in _records(doc):
            reader.record(rec, 1, res)
            yield from reader.ready(name, pipeline)
    if reader.wrapped and ENVELOPE not in probe.deviations:
        probe.deviations.append(ENVELOPE)
    yield from reader.runs_events(name, pipeline)
