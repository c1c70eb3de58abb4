"""Anthropic Managed Agents sessions: JSON Lines of ``[method, payload]`` recorded SDK calls
(``client.beta.sessions.create``, ``…events.send``, ``…events.stream``) or of bare events.

One session is one run. ``span.model_request_end`` (with ``model_usage``) -> model_call, span
the request's start id; ``agent.mcp_tool_use``/``agent.tool_use`` + their ``…_result`` (and a
client-side ``agent.custom_tool_use`` + the client's ``user.custom_tool_result``) ->
tool_call at the result (span = the tool-use id; an error after a denied confirmation is
``denied``); ``evaluated_permission: ask`` -> ``approval_request`` to ``human:user``;
``user.tool_confirmation`` -> ``approval`` by ``human:user`` (the session names no person: the
event says so). ``allow`` by policy is no approval. The stream's copy of an event is used; the
client's ``events.send`` echo of it is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    as_int,
    fail,
    iter_lines,
    ns_to_ts,
    parse_line,
    run_end,
    run_start,
    text,
    ts_to_ns,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "anthropic-sessions"
DESCRIPTION = "Anthropic Managed Agents session event logs (JSON Lines of [method, payload])"

APPROVER = "human:user"
NO_IDENTITY = "the session records no identity for the person who confirmed"
_STRUCTURE = {
    "session.status_running",
    "session.status_idle",
    "session.thread_status_running",
    "session.thread_status_idle",
    "agent.message",
    "agent.thinking",
    "user.message",
    "span.model_request_start",
    "session.status_terminated",
    "session.error",
}


class _Session:
    def __init__(self, sid: str, file: str) -> None:
        self.id = sid
        self.file = file
        self.agent = "agent"
        self.model = "unknown"
        self.start: int | None = None
        self.last = 0
        self.line = 1
        self.outcome = "unknown"
        self.events: list[tuple[int, int, int, dict[str, Any]]] = []
        self.tool_uses: dict[str, tuple[str, str | None, int]] = {}
        self.denied: set[str] = set()
        self.requests: dict[str, int] = {}


def _stream_event(obj: Any) -> tuple[str, Any]:
    if isinstance(obj, list) and len(obj) == 2 and isinstance(obj[0], str):
        return obj[0], obj[1]
    return "event", obj


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every session in the log."""
    name = str(path)
    sessions: dict[str, _Session] = {}
    current: _Session | None = None
    order = 0
    for n, raw in iter_lines(path):
        stats.records += 1
        method, payload = _stream_event(parse_line(name, n, raw))
        if method.endswith("sessions.create") and isinstance(payload, dict):
            sid = text(payload.get("id"), 128) or f"session-{n}"
            current = sessions.setdefault(sid, _Session(sid, name))
            current.line = n
            agent = as_dict(payload.get("agent"))
            current.agent = text(agent.get("name"), 200) or text(agent.get("id"), 200) or "agent"
            model = agent.get("model")
            current.model = (
                text(model.get("id"), 200) if isinstance(model, dict) else text(model, 200)
            ) or "unknown"
            current.start = ts_to_ns(payload.get("created_at"))
            stats.drop("session definition (agent, model): run_start")
            continue
        if method.endswith("events.send"):
            stats.drop("client request; the session's event stream records the same event")
            continue
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            stats.drop("record is not a session event")
            continue
        if current is None:
            sid = text(payload.get("session_id"), 128) or "session"
            current = sessions.setdefault(sid, _Session(sid, name))
        s = current
        order += 1
        ts = ts_to_ns(payload.get("processed_at")) or s.last
        s.last = max(s.last, ts)
        if s.start is None:
            s.start = ts
        before = len(s.events)
        _event(s, payload, ts, order, n, mapping, stats)
        if len(s.events) > before:  # (else _event counted it dropped, with its reason)
            stats.mapped += 1
    if not sessions:
        raise fail(
            name,
            "no Anthropic session events in this file",
            1,
            '["client.beta.sessions.events.stream", {"type": ...}] lines',
        )
    for s in sessions.values():
        yield from _emit(s, pipeline, stats)


def _event(
    s: _Session,
    p: dict[str, Any],
    ts: int,
    order: int,
    line: int,
    mapping: Mapping,
    stats: ImportStats,
) -> None:
    kind = p["type"]
    eid = text(p.get("id"), 128) or f"{s.id}:{order}"
    agent = mapping.agent(s.agent)
    if kind in ("span.model_request_start",):
        s.requests[eid] = ts
        stats.drop("model request start (the end carries the call)")
        return
    if kind == "span.model_request_end":
        u = as_dict(p.get("model_usage"))
        cache_read = as_int(u.get("cache_read_input_tokens")) or 0
        cache_write = as_int(u.get("cache_creation_input_tokens")) or 0
        stated_in = as_int(u.get("input_tokens"))
        ev = {
            "run": s.id,
            "span": text(p.get("model_request_start_id"), 128) or eid,
            "agent": agent,
            "kind": "model_call",
            "model": tables.resolve_model(s.model).as_dict(),
            "input_tokens": None if stated_in is None else stated_in + cache_read + cache_write,
            "output_tokens": as_int(u.get("output_tokens")),
            "cost_microusd": None,  # the session states no cost: unknown, not $0
            "x_cache_read_input_tokens": cache_read,
            "x_cache_creation_input_tokens": cache_write,
        }
        if p.get("is_error"):
            ev["x_error"] = True
        s.events.append((ts, order, line, ev))
        return
    if kind in ("agent.mcp_tool_use", "agent.tool_use", "agent.custom_tool_use"):
        tool = text(p.get("name"), 200) or "tool"
        s.tool_uses[eid] = (tool, text(p.get("mcp_server_name"), 200), line)
        if p.get("evaluated_permission") == "ask":
            s.events.append(
                (
                    ts,
                    order,
                    line,
                    {
                        "run": s.id,
                        "span": f"{eid}:approval_request",
                        "agent": agent,
                        "kind": "approval_request",
                        "target": eid,
                        "approver": APPROVER,
                    },
                )
            )
        else:
            stats.drop("tool use (the result carries the call)")
        return
    if kind in (
        "agent.mcp_tool_result",
        "agent.tool_result",
        "agent.custom_tool_result",
        "user.custom_tool_result",  # a client-side custom tool: the client runs it and sends this
    ):
        use = text(
            p.get("mcp_tool_use_id") or p.get("tool_use_id") or p.get("custom_tool_use_id"), 128
        )
        if use is None or use not in s.tool_uses:
            stats.drop("tool result without its tool use")
            return
        tool, server, _ = s.tool_uses[use]
        effect, scope = mapping.tool(tool, agent)
        outcome = "denied" if use in s.denied else ("error" if p.get("is_error") else "ok")
        ev = {
            "run": s.id,
            "span": use,
            "agent": agent,
            "kind": "tool_call",
            "tool": tool,
            "effect": effect,
            "scope": scope,
            "outcome": outcome,
        }
        if server:
            ev["x_mcp_server"] = server
        if kind == "user.custom_tool_result":
            ev["x_executed_by"] = "client (custom tool)"
        s.events.append((ts, order, line, ev))
        return
    if kind == "user.tool_confirmation":
        use = text(p.get("tool_use_id"), 128) or ""
        result = p.get("result")
        verdict = "approved" if result == "allow" else "rejected"
        if verdict == "rejected":
            s.denied.add(use)
        s.events.append(
            (
                ts,
                order,
                line,
                {
                    "run": s.id,
                    "span": eid,
                    "agent": APPROVER,
                    "kind": "approval",
                    "target": use,
                    "approver": APPROVER,
                    "verdict": verdict,
                    "x_identity": NO_IDENTITY,
                },
            )
        )
        return
    if kind in ("session.status_idle", "session.status_terminated"):
        stop = as_dict(p.get("stop_reason"))
        reason = stop.get("type")
        s.outcome = {"end_turn": "ok", "requires_action": "awaiting_action"}.get(
            str(reason), "terminated" if kind == "session.status_terminated" else "unknown"
        )
    if kind == "session.error":
        s.outcome = "error"
    stats.drop(f"session event {kind[:40]!r} (no event kind)")


def _emit(s: _Session, pipeline: str, stats: ImportStats) -> Iterator[RawEvent]:
    if not s.events:
        stats.unit("session with no event that maps: no run")
        return
    s.events.sort(key=lambda e: (e[0], e[1]))
    start = min(s.start or s.events[0][0], s.events[0][0])
    begin = f"{s.id}:run_start"
    yield RawEvent(s.file, s.line, run_start(s.id, begin, start, pipeline))
    stats.events["run_start"] += 1
    seen = {begin}
    for ts, _, line, ev in s.events:
        tgt = ev.get("target")
        ev["parent"] = tgt if isinstance(tgt, str) and tgt in seen else begin
        if ev["span"] in seen:
            ev["span"] = f"{ev['span']}:{ev['kind']}"
        seen.add(ev["span"])
        ev["ts"] = ns_to_ts(ts)
        stats.events[ev["kind"]] += 1
        yield RawEvent(s.file, line, ev)
    end = max(s.last, s.events[-1][0])
    yield RawEvent(s.file, s.line, run_end(s.id, begin, end, pipeline, s.outcome))
    stats.events["run_end"] += 1
    stats.runs += 1


def sniff(probe: Probe) -> str | None:
    """What Anthropic session shape the source is (None: not one)."""
    if probe.json is not None:
        return None
    obj = probe.first_line_json
    if (
        isinstance(obj, list)
        and len(obj) == 2
        and isinstance(obj[0], str)
        and obj[0].startswith("client.beta.sessions")
    ):
        return "an Anthropic Managed Agents session log"
    if (
        isinstance(obj, dict)
        and str(obj.get("type", "")).startswith(("session.", "agent.", "span.model_request"))
        and str(obj.get("id", "")).startswith("sevt_")
    ):
        return "an Anthropic Managed Agents event stream"
    return None
