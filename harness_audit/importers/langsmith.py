"""LangSmith runs: ingestion payloads (``{"post": [...], "patch": [...]}``, merged by run id),
run trees (``child_runs``), lists of runs, or JSON Lines of them.

``run_type: llm`` -> model_call (``extra.metadata.ls_provider``/``ls_model_name``,
``usage_metadata``, else the API's ``prompt_tokens``/``completion_tokens``; cost from the
API's ``total_cost`` when it states one), ``tool`` -> tool_call, ``chain`` runs are agents (a
chain nested in another is a spawn); other run types are structure. A run with ``error`` set is
an error outcome. One ``trace_id`` is one run of the trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_int,
    as_list,
    epoch_ns,
    fail,
    iter_lines,
    parse_line,
    text,
    ts_to_ns,
    usd_to_microusd,
)
from harness_audit.importers.probe import Probe
from harness_audit.importers.spans import AGENT, MODEL, STRUCTURE, TOOL, Span, Trace, assemble
from harness_audit.trail.source import RawEvent

NAME = "langsmith"
DESCRIPTION = "LangSmith runs (post/patch ingestion payloads or run trees)"

MAX_RUNS = 1_000_000


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _usage(run: dict[str, Any]) -> tuple[int | None, int | None]:
    """(input, output) tokens the run states; None for a count it does not state."""
    for u in (
        _get(run, "outputs", "usage_metadata"),
        run.get("usage_metadata"),
        _get(run, "extra", "usage_metadata"),
    ):
        if isinstance(u, dict):
            return as_int(u.get("input_tokens")), as_int(u.get("output_tokens"))
    for u in (_get(run, "outputs", "usage"), _get(run, "outputs", "llm_output", "token_usage")):
        if isinstance(u, dict):
            return (
                as_int(u.get("prompt_tokens", u.get("input_tokens"))),
                as_int(u.get("completion_tokens", u.get("output_tokens"))),
            )
    return None, None


def _flatten(obj: Any, out: list[dict[str, Any]], depth: int = 0) -> None:
    if depth > 64 or len(out) > MAX_RUNS:
        return
    if isinstance(obj, list):
        for x in obj:
            _flatten(x, out, depth + 1)
    elif isinstance(obj, dict):
        if "post" in obj or "patch" in obj:
            for key in ("post", "patch"):
                _flatten(obj.get(key) or [], out, depth + 1)
            return
        out.append(obj)
        kids = obj.get("child_runs")
        if isinstance(kids, list):
            for k in kids:
                if isinstance(k, dict):
                    k.setdefault("parent_run_id", obj.get("id"))
                    k.setdefault("trace_id", obj.get("trace_id", obj.get("id")))
            _flatten(kids, out, depth + 1)


_ORDER_PART = re.compile(r"^\d{8}T\d{6,}Z(.+)$")


def _id_of_order(order: Any) -> str | None:
    """The run id a ``dotted_order`` ends with (``<time>Z<run id>``, its last part): how a
    patch the JS SDK records without its ``id`` (the id was in the request's URL) names its
    run."""
    if not isinstance(order, str):
        return None
    m = _ORDER_PART.match(order[-300:].rsplit(".", 1)[-1])
    return text(m.group(1), 128) if m else None


def _merge(records: list[dict[str, Any]], stats: ImportStats) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for r in records:
        stats.records += 1
        rid = text(r.get("id"), 128) or _id_of_order(r.get("dotted_order"))
        if rid is None:
            stats.drop("run record without an id")
            continue
        if rid in runs:  # (the run itself is counted once, as the span it becomes)
            stats.drop("update of a run already read (merged into that run's record)")
        merged = runs.setdefault(rid, {})
        for k, v in r.items():
            if k == "child_runs":
                continue
            if (v is not None and v != {}) or k not in merged:
                merged[k] = v
    return runs


def _span(run: dict[str, Any], line: int) -> Span:
    rid = str(run["id"])
    start = ts_to_ns(epoch_ns(run.get("start_time"))) or 0  # the JS SDK: epoch ms
    end = ts_to_ns(epoch_ns(run.get("end_time"))) or start
    parent = text(run.get("parent_run_id"), 128)
    name = text(run.get("name"), 300) or "run"
    span = Span(
        rid,
        parent,
        name,
        start,
        max(start, end),
        line,
        status="error" if run.get("error") else ("ok" if run.get("end_time") else "unset"),
    )
    rt = run.get("run_type")
    if rt == "llm":
        span.kind = MODEL
        md = _get(run, "extra", "metadata") or {}
        span.model = (
            (text(md.get("ls_model_name"), 200) if isinstance(md, dict) else None)
            or text(_get(run, "outputs", "model"), 200)
            or text(_get(run, "inputs", "model"), 200)
            or text(_get(run, "extra", "invocation_params", "model"), 200)
        )
        span.provider = text(md.get("ls_provider"), 100) if isinstance(md, dict) else None
        span.input_tokens, span.output_tokens = _usage(run)
        if span.input_tokens is None and span.output_tokens is None:  # the API's own counts
            span.input_tokens = as_int(run.get("prompt_tokens"))
            span.output_tokens = as_int(run.get("completion_tokens"))
        # the API prices a run it knows the model of (``total_cost``, decimal text); null or
        # absent: unknown, never $0
        span.cost_microusd = usd_to_microusd(run.get("total_cost"))
    elif rt == "tool":
        span.kind = TOOL
        span.tool = name
    elif rt == "chain":
        span.kind = AGENT
        span.agent_name = name
    else:
        span.kind = STRUCTURE
    return span


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every trace in a LangSmith source."""
    name = str(path)
    probe = probe or Probe.of(path)
    records: list[dict[str, Any]] = []
    if probe.is_jsonl:
        for n, raw in iter_lines(path):
            _flatten(parse_line(name, n, raw), records)
    else:
        _flatten(probe.document(), records)
    runs = _merge(records, stats)
    if not runs:
        raise fail(
            name,
            "no LangSmith runs in this file",
            1,
            '{"post": [runs], "patch": [runs]} or run trees',
        )
    traces: dict[str, Trace] = {}
    for i, run in enumerate(runs.values(), 1):
        tid = text(run.get("trace_id"), 128) or str(run["id"])
        traces.setdefault(tid, Trace(tid, name, pipeline=pipeline)).spans.append(_span(run, i))
    for trace in traces.values():
        yield from assemble(trace, mapping, stats)


def _is_run(d: Any) -> bool:
    return isinstance(d, dict) and "run_type" in d and "id" in d


def sniff(probe: Probe) -> str | None:
    """What LangSmith shape the source is (None: not LangSmith)."""
    doc = probe.json
    if isinstance(doc, dict) and ("post" in doc or "patch" in doc):
        items = as_list(doc.get("post")) + as_list(doc.get("patch"))
        if any(
            isinstance(x, dict) and "id" in x and ("run_type" in x or "dotted_order" in x)
            for x in items
        ):
            return "LangSmith run ingestion payloads (post/patch)"
    if _is_run(doc):
        return "a LangSmith run tree"
    if isinstance(doc, list) and doc and _is_run(doc[0]):
        return "a JSON array of LangSmith runs"
    if doc is None and _is_run(probe.first_line_json):
        return "LangSmith runs as JSON Lines"
    return None
