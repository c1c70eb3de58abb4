"""Gemini CLI chat recordings: ``~/.gemini/tmp/<project hash>/chats/session-*.json`` (one
``ConversationRecord`` document: ``sessionId``, ``projectHash``, ``startTime``, ``messages``) or
the JSON Lines form newer versions append (``session-*.jsonl``: a metadata line, message lines
by ``id`` — a later line with the same id re-writes that message —, ``$set`` metadata updates
and ``$rewindTo`` markers).

One session is one run. Each ``gemini`` message is one model call with its ``tokens``
(``input`` includes the cached tokens, said in ``x_``; ``thoughts`` and ``tool`` in their own
``x_`` fields) and ``model``; no tokens stated is unknown usage, and the recording states no cost.
A failed model request, kept as a message whose content is ``[API Error: …]`` (an ``error``
message), is a model call too, with ``x_outcome: error`` and the text in ``x_error``: its usage
and cost are unknown, never 0, and its model unknown unless the message names one.
Each ``toolCalls[]`` entry is a tool call at its own ``timestamp``: ``success`` ok, ``error``
error, ``cancelled`` a denial (an ``approval`` rejected by ``human:user``: the user declined
or cancelled it at the confirmation); a call still scheduled or executing has no stated outcome.
A call that ran a subagent (``resultDisplay.isSubagentProgress`` naming ``agentName``, an
``agentId``, or the ``agent`` tool's ``agent_name``) is a ``spawn`` of that subagent before the
call itself.
An approval mode in the recording (``default``, ``auto_edit``, ``yolo``) is a gate fact on
``run_start``. A rewind keeps the rewound messages: they happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_int,
    as_list,
    emit_run,
    fail,
    iter_lines,
    load_json,
    ns_to_ts,
    parse_line,
    run_end,
    run_start,
    text,
    ts_to_ns,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "gemini-cli"
DESCRIPTION = "Gemini CLI chat recordings (~/.gemini/tmp/<hash>/chats/session-*.json[l])"
AGENT = "gemini-cli"
APPROVER = "human:user"
NO_IDENTITY = "the recording records no identity for the person who declined"
NO_GATE_MODE = "yolo"
MAX_MESSAGES = 1_000_000
"""Distinct messages kept per recording (a message may be re-written later in the file)."""
_STATUS = {"success": "ok", "error": "error", "cancelled": "denied"}
API_ERROR = "[API Error"
"""How Gemini CLI words a failed request to the model (``parseAndFormatApiError``)."""


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of the recording, as one run."""
    name = str(path)
    probe = probe or Probe.of(path)
    meta: dict[str, Any] = {}
    messages: dict[str, tuple[int, dict[str, Any]]] = {}
    doc = probe.json if probe.json is not None else None
    if doc is None and probe.first_char == "{" and not probe.is_jsonl:
        doc = load_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("messages"), list):
        meta = doc
        stats.records += 1  # the document's own metadata: the run's facts
        stats.mapped += 1
        for m in doc["messages"]:
            stats.records += 1
            _message(messages, m, 1, stats)
    else:
        for n, raw in iter_lines(path):
            stats.records += 1
            rec = parse_line(name, n, raw)
            if not isinstance(rec, dict):
                stats.drop("record is not a Gemini CLI recording record")
            elif isinstance(rec.get("$set"), dict):
                meta.update({k: v for k, v in rec["$set"].items() if k != "messages"})
                for m in as_list(rec["$set"].get("messages")):
                    _message(messages, m, n, None)
                stats.drop("metadata update (its facts are the run's)")
            elif isinstance(rec.get("$rewindTo"), str):
                stats.drop("rewind marker (the rewound messages stay: they happened)")
            elif isinstance(rec.get("id"), str) and "type" in rec:
                _message(messages, rec, n, stats)
            elif isinstance(rec.get("sessionId"), str):
                meta.update(rec)
                stats.mapped += 1
            else:
                stats.drop("record is not a Gemini CLI recording record")
    sid = text(meta.get("sessionId"), 200)
    if sid is None and not messages:
        raise fail(
            name,
            "no Gemini CLI chat recording in this file",
            1,
            '{"sessionId", "projectHash", "startTime", "messages": [...]}',
        )
    yield from _emit(sid or path.stem, name, meta, messages, mapping, stats, pipeline)


def _message(
    messages: dict[str, tuple[int, dict[str, Any]]],
    m: Any,
    line: int,
    stats: ImportStats | None,
) -> None:
    """Keep a message (the latest version of its id); count it when ``stats`` is given."""
    if not isinstance(m, dict) or not isinstance(m.get("id"), str):
        if stats is not None:
            stats.drop("message is not an object with an id")
        return
    mid = m["id"][:200]
    if m.get("type") != "gemini" and api_error(m) is None:
        if stats is not None:
            stats.drop(f"{str(m.get('type'))[:40]} message (no event kind)")
        return
    if mid in messages:
        if stats is not None:  # the earlier version is replaced: one record now stands for both
            stats.drop("message re-written later in the file (one model call)")
        messages[mid] = (messages[mid][0], m)
        return
    if len(messages) >= MAX_MESSAGES:
        if stats is not None:
            stats.drop(f"message past the first {MAX_MESSAGES:,} of a recording")
        return
    messages[mid] = (line, m)
    if stats is not None:
        stats.mapped += 1


def api_error(m: dict[str, Any]) -> str | None:
    """The text of a failed model request the recording keeps as a message (``[API Error:
    …]``, the words Gemini CLI shows for it, as an ``error`` message), else None."""
    content = m.get("content")
    parts = content if isinstance(content, list) else [content]
    for part in parts:
        said = part.get("text") if isinstance(part, dict) else part
        if isinstance(said, str) and said.lstrip().startswith(API_ERROR):
            return said.strip()[:300]
    return None


def _emit(
    sid: str,
    file: str,
    meta: dict[str, Any],
    messages: dict[str, tuple[int, dict[str, Any]]],
    mapping: Mapping,
    stats: ImportStats,
    pipeline: str,
) -> Iterator[RawEvent]:
    agent = mapping.agent(AGENT)
    events: list[tuple[int, int, int, dict[str, Any]]] = []
    last: int | None = None
    order = 0
    for line, m in messages.values():
        order += 1
        ts = ts_to_ns(m.get("timestamp"))
        key = ts if ts is not None else (last or 0)
        last = ts if ts is not None and (last is None or ts > last) else last
        at = None if ts is None else ns_to_ts(ts)
        tok = m.get("tokens")
        tok = tok if isinstance(tok, dict) else None
        ev: dict[str, Any] = {
            "ts": at,
            "run": sid,
            "span": m["id"][:200],
            "agent": agent,
            "kind": "model_call",
            "model": tables.resolve_model(text(m.get("model"), 200) or "unknown").as_dict(),
            "input_tokens": as_int(tok.get("input")) if tok else None,
            "output_tokens": as_int(tok.get("output")) if tok else None,
            "cost_microusd": None,  # the recording states no cost
        }
        failed = api_error(m)
        if failed is not None:  # the request failed: no usage, no cost stated (unknown, not 0)
            ev["x_outcome"] = "error"
            ev["x_error"] = failed
        if tok:
            ev["x_input_tokens_include_cache"] = True
            for src in ("cached", "thoughts", "tool"):
                v = as_int(tok.get(src))
                if v is not None:
                    ev[f"x_{src}_tokens"] = v
        events.append((key, order, line, ev))
        for tc in as_list(m.get("toolCalls")):
            if not isinstance(tc, dict) or not isinstance(tc.get("id"), str):
                continue
            order += 1
            tts = ts_to_ns(tc.get("timestamp"))
            tkey = tts if tts is not None else key
            tat = ns_to_ts(tts) if tts is not None else at
            if tts is not None:
                last = tts if last is None or tts > last else last
            cid = tc["id"][:200]
            tool = text(tc.get("name"), 200) or "tool"
            effect, scope = mapping.tool(tool, agent)
            outcome = _STATUS.get(str(tc.get("status")))
            if outcome == "denied":
                events.append(
                    (
                        tkey,
                        order,
                        line,
                        {
                            "ts": tat,
                            "run": sid,
                            "span": f"{cid}:approval",
                            "agent": APPROVER,
                            "kind": "approval",
                            "target": cid,
                            "approver": APPROVER,
                            "verdict": "rejected",
                            "x_identity": NO_IDENTITY,
                        },
                    )
                )
                order += 1
            child = _subagent(tc)
            if child is not None:  # the call ran a subagent: a spawn, then the call itself
                spawn_ev = {
                    "ts": tat,
                    "run": sid,
                    "span": f"{cid}:spawn",
                    "agent": agent,
                    "kind": "spawn",
                    "child": mapping.agent(f"{AGENT}:{child}"),
                    "depth": 1,
                    "x_tool_call": cid,
                }
                events.append((tkey, order, line, spawn_ev))
                order += 1
            tc_ev: dict[str, Any] = {
                "ts": tat,
                "run": sid,
                "span": cid,
                "agent": agent,
                "kind": "tool_call",
                "tool": tool,
                "effect": effect,
                "scope": scope,
                "outcome": outcome,  # None: not stated (marked unknown)
            }
            if outcome is None and isinstance(tc.get("status"), str):
                tc_ev["x_status"] = str(tc["status"])[:100]
            events.append((tkey, order, line, tc_ev))
    if not events:
        stats.unit("session with no model call: no run")
        return
    events.sort(key=lambda e: (e[0], e[1]))
    start_ns = ts_to_ns(meta.get("startTime"))
    end_ns = ts_to_ns(meta.get("lastUpdated"))
    begin = f"{sid}:run_start"
    start = run_start(sid, begin, start_ns, pipeline)
    mode = text(meta.get("approvalMode"), 100)
    if mode is not None:
        start["x_approval_mode"] = mode
        if mode == NO_GATE_MODE:
            start["x_gate"] = "approval mode yolo: nothing was gated"
    for src, fact in (("projectHash", "x_project_hash"), ("kind", "x_session_kind")):
        said = text(meta.get(src), 200)
        if said is not None:
            start[fact] = said
    end_at = end_ns if end_ns is not None else last
    end = run_end(sid, begin, end_at, pipeline, "unknown")
    yield from emit_run(
        file, (1, start), ((line, ev) for _, _, line, ev in events), (1, end), stats
    )


def _subagent(tc: dict[str, Any]) -> str | None:
    """The subagent a tool call ran (its progress shown as ``resultDisplay.isSubagentProgress``
    with ``agentName``, an ``agentId`` on the call, or the ``agent`` tool's ``agent_name``),
    else None."""
    shown = tc.get("resultDisplay")
    if isinstance(shown, dict) and shown.get("isSubagentProgress") is True:
        return text(shown.get("agentName"), 200) or text(tc.get("name"), 200) or "subagent"
    args = tc.get("args")
    named = text(args.get("agent_name"), 200) if isinstance(args, dict) else None
    if tc.get("name") == "agent" and named:
        return named
    if isinstance(tc.get("agentId"), str):
        return named or text(tc.get("name"), 200) or "subagent"
    return None


def _looks(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("sessionId"), str)
        and "projectHash" in obj
        and "type" not in obj
    )


def sniff(probe: Probe) -> str | None:
    """What Gemini CLI recording shape the source is (None: not one)."""
    doc = probe.json
    if _looks(doc) and isinstance(doc.get("messages"), list):
        return "a Gemini CLI chat recording (session-*.json)"
    if doc is None and _looks(probe.first_record):
        return "a Gemini CLI chat recording (session-*.jsonl)"
    return None
