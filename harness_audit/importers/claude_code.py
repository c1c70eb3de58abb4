"""Compiled by mypyc: the last paragraph says what that means here.

Claude Code session transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` and the
subagents' ``<session>/subagents/agent-<id>.jsonl`` (JSON Lines, one record a line).

One session (``sessionId``) is one run; a subagent's file (its records carry ``isSidechain``
and ``agentId``) is a child run ``<session>:agent-<id>``, spawned in the parent run by the
``Task``/``Agent`` tool use that started it (a ``spawn`` event there). An assistant message is
written as one line per content block with the same ``message.id``: it is **one** model call,
its usage taken from the message's last line; input tokens include the cache (said in
``x_input_tokens_include_cache``, the cache counts in their own ``x_`` fields). The file states
no cost: it is estimated from ``rules/prices.yaml`` and marked (``x_cost_estimated``,
``x_cost_source``), or unknown when no entry prices the model. ``<synthetic>`` messages (written
by Claude Code itself, no model behind them) are no model calls.

Each ``tool_use`` is a tool call placed at its ``tool_result`` (``is_error`` its outcome;
``mcp__server__tool`` names kept whole); one never answered by a result (a session cut short)
is a call placed where it was made, its outcome unknown. A result saying the user refused the
tool use is an ``approval`` rejected by ``human:user`` (no identity recorded: the event says
so) and the call ``denied``; nothing else is an approval. ``permissionMode`` is a run fact on
``run_start`` (``bypassPermissions``: nothing was gated).

Early versions wrote a ``costUSD`` on each assistant line: a stated cost, kept (not estimated).
The headless stream (``claude -p --output-format stream-json``, the Agent SDK's messages) has
the same records keyed by ``session_id``, without times; a message with a
``parent_tool_use_id`` is a subagent's (a child run), and the closing ``result`` record gives
the run's outcome (``subtype``), its stated ``total_cost_usd`` (``x_total_cost_microusd``) and
the tool uses the permission settings refused (``permission_denials``: each an ``approval``
rejected by ``harness``, the call ``denied``).

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import spill, tables
from harness_audit.importers.base import (
    ImportFormatError,
    ImportStats,
    Mapping,
    as_dict,
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
    usd_to_microusd,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "claude-code"
DESCRIPTION = (
    "Claude Code session transcripts (~/.claude/projects/<project>/<session>.jsonl and "
    "subagents/agent-*.jsonl)"
)
AGENT = "claude-code"
APPROVER = "human:user"
NO_IDENTITY = "the transcript records no identity for the person who refused"
REFUSED = "The user doesn't want to proceed with this tool use"
SPAWN_TOOLS = frozenset({"Task", "Agent"})
NO_GATE_MODE = "bypassPermissions"
RECORD_TYPES = frozenset(
    {
        "user",
        "assistant",
        "system",
        "summary",
        "file-history-snapshot",
        "permission-mode",
        "queue-operation",
        "custom-title",
        "agent-name",
        "last-prompt",
        "attachment",
        "progress",
        "result",
    }
)
USAGE_READ = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
"""The usage fields :func:`_finish_call` reads (the only ones a call keeps)."""
MID_STREAM = "_mid_stream"
"""Kept with a usage written while its message was still streaming (``stop_reason`` null, as
Claude Code 2.x writes every line): its ``output_tokens`` are those counted so far, a lower
bound, not the message's total."""
LONG_WRITE = "ephemeral_1h_input_tokens"
"""The cache writes kept for an hour, in ``usage.cache_creation`` (kept with the usage)."""
_FACTS = (("version", "x_claude_code_version"), ("cwd", "x_cwd"))
_IDS = ("sessionId", "session_id", "leafUuid", "messageId", "uuid", "permissionMode")
DENIER = "harness"
"""Who refused a tool use the permission settings did not allow (``permission_denials``)."""
_RESULT_OUTCOME = {"success": "ok"}


class _Call:
    """One model call: the first line of its message placed it, the last gave its usage."""

    __slots__ = ("cost", "id", "line", "model", "request", "usage")

    def __init__(self, mid: str, model: str, line: int) -> None:
        self.id, self.model, self.line = mid, model, line
        self.usage: dict[str, Any] | None = None
        self.request: str | None = None
        self.cost: int | None = None


class _Run:
    def __init__(self, rid: str, file: str, line: int, agent: str, events: spill.Sorted) -> None:
        self.id, self.file, self.line, self.agent = rid, file, line, agent
        self.start: int | None = None
        self.last: int | None = None
        self.events = events  # (its model calls, spawns and denials completed as they come out)
        self.calls: dict[str, _Call] = {}
        # tool use id: (tool, line, its spawn's number, sort key, order, time)
        self.tool_uses: dict[str, tuple[str, int, int | None, int, int, str | None]] = {}
        self.children: dict[int, str] = {}  # a spawn's number -> the child run it started
        self.modes: list[str] = []
        self.facts: dict[str, Any] = {}
        self.stop: str | None = None
        self.depth = 0
        self.named: dict[str, str] = {}  # (the file's: a subagent's agentId -> its run key)
        self.outcome = "unknown"
        self.end_facts: dict[str, Any] = {}
        self.tool_calls: dict[str, int] = {}  # tool use id -> its tool call's number
        self.denied: set[int] = set()  # tool calls the permission settings refused


def meta_file(path: Path) -> Path:
    """The side file Claude Code writes beside a subagent's transcript (its agent type)."""
    return path.parent / f"{path.stem}.meta.json"


def side_file(path: Path) -> str | None:
    """What a side file Claude Code writes beside its transcripts is (read with them, or not
    at all: no trace), or None: a subagent's ``agent-<id>.meta.json``, a workflow's
    ``subagents/workflows/<run>/journal.jsonl`` (which agents it started; their transcripts
    are beside it)."""
    if path.name.startswith("agent-") and path.name.endswith(".meta.json"):
        return "claude-code subagent meta"
    if path.name == "journal.jsonl" and path.parent.parent.name == "workflows":
        return "claude-code workflow journal"
    return None


def is_side_file(path: Path) -> bool:
    """A side file (:func:`side_file`), not a transcript."""
    return side_file(path) is not None


def _agent_type(path: Path) -> str | None:
    """The subagent's type from its ``.meta.json`` beside it (None: no such file)."""
    meta = meta_file(path)
    try:
        if not meta.is_file() or meta.stat().st_size > 1 << 20:
            return None
        return text(as_dict(load_json(meta)).get("agentType"), 200)
    except ImportFormatError:
        return None


MAX_CHAIN_IDS = 1_000_000
"""Inline sidechain records whose subagent is remembered (their own lines name no agentId)."""


def _sidechain(
    rec: dict[str, Any],
    agent_id: str | None,
    line: int,
    chains: dict[str, str],
    named: dict[str, str],
) -> str:
    """The key of the subagent a sidechain record belongs to. A subagent's own file names its
    ``agentId`` on every record; a session that writes its subagents inline (Claude Code 2.0
    and before: ``isSidechain`` records in the session's file, an ``agentId`` on some of them
    or none) is followed by ``parentUuid``: a chain is one subagent, keyed by its first known
    ``agentId``, else by its first record."""
    up = text(rec.get("parentUuid"), 200)
    key = chains.get(up) if up else None
    if key is None:
        key = agent_id or f"sidechain-{text(rec.get('uuid'), 36) or line}"
    if agent_id and agent_id != key:
        named.setdefault(agent_id, key)  # the Task's result names the subagent by it
    uid = text(rec.get("uuid"), 200)
    if uid and key != agent_id and len(chains) < MAX_CHAIN_IDS:
        chains[uid] = key
    return key


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of every session (or subagent) the transcript holds."""
    with spill.Spool() as spool:
        yield from _read(path, mapping, stats, pipeline, spool)


def _read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, spool: spill.Spool
) -> Iterator[RawEvent]:
    name = str(path)
    runs: dict[str, _Run] = {}
    chains: dict[str, str] = {}  # inline sidechain record uuid -> its subagent's key
    named: dict[str, str] = {}  # a subagent's agentId -> its key, where they differ
    sub_type = _agent_type(path) if path.name.startswith("agent-") else None
    order = 0
    for n, raw in iter_lines(path):
        stats.records += 1
        rec = parse_line(name, n, raw)
        if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
            stats.drop("record is not a Claude Code transcript record")
            continue
        kind = rec["type"]
        # a transcript says sessionId; the headless stream (`claude -p --output-format
        # stream-json`, the Agent SDK) session_id, with no times
        sid = text(rec.get("sessionId"), 200) or text(rec.get("session_id"), 200)
        if sid is None:
            stats.drop(f"{kind[:40]!r} record without a session (no event kind)")
            continue
        agent_id = text(rec.get("agentId"), 200) if rec.get("isSidechain") is True else None
        if rec.get("isSidechain") is True:
            agent_id = _sidechain(rec, agent_id, n, chains, named)
        if agent_id:  # a workflow's agent names its session "<session>#agent-<id>"
            sid = sid.split("#agent-", 1)[0] or sid
        task = text(rec.get("parent_tool_use_id"), 200)  # the stream: a subagent's message
        if task is not None and agent_id is None:
            agent_id = f"task-{task}"
        rid = f"{sid}:agent-{agent_id}" if agent_id else sid
        run = runs.get(rid)
        if run is None:
            who = mapping.agent(f"{AGENT}:{sub_type or 'subagent'}" if agent_id else AGENT)
            run = runs[rid] = _Run(rid, name, n, who, spool.sorted())
            run.named = named
            if agent_id:
                run.facts["x_parent_run"] = sid
                run.facts["x_agent_id"] = agent_id
                run.depth = 1
        ts = ts_to_ns(rec.get("timestamp"))
        if ts is not None:
            run.start = ts if run.start is None else min(run.start, ts)
            run.last = ts if run.last is None else max(run.last, ts)
        mode = text(rec.get("permissionMode"), 100)
        if mode is not None and mode not in run.modes and len(run.modes) < 20:
            run.modes.append(mode)
        for key, fact in _FACTS:
            if fact not in run.facts:  # (the first one stated stands)
                value = text(rec.get(key), 500)
                if value is not None:
                    run.facts[fact] = value
        order += 1
        if kind == "assistant":
            _assistant(run, rec, ts, order, n, mapping, stats)
        elif kind == "user":
            _user(run, rec, ts, order, n, mapping, stats)
        elif kind == "result":
            _result(run, rec, ts, order, n, stats)
        else:
            stats.drop(f"{kind[:40]!r} record (no event kind)")
    if not runs:
        raise fail(
            name,
            "no Claude Code session records in this file",
            1,
            '{"type": "user"|"assistant", "sessionId": ..., "message": ...} lines',
        )
    for run in runs.values():
        yield from _emit(run, pipeline, stats, mapping)


def _at(run: _Run, ts: int | None) -> tuple[int, str | None]:
    """(the sort key, the event's time): a record without a time sorts after the run's last
    time and is written with none (marked unknown by the import job)."""
    if ts is None:
        return (run.last or 0), None
    return ts, ns_to_ts(ts)


def _assistant(
    run: _Run,
    rec: dict[str, Any],
    ts: int | None,
    order: int,
    line: int,
    mapping: Mapping,
    stats: ImportStats,
) -> None:
    msg = as_dict(rec.get("message"))
    model = text(msg.get("model"), 200) or "unknown"
    if model == "<synthetic>":
        stats.drop("synthetic assistant message (written by Claude Code: no model call)")
        return
    mid = text(msg.get("id"), 200) or text(rec.get("requestId"), 200) or text(rec.get("uuid"), 200)
    if mid is None:
        stats.drop("assistant record without a message id")
        return
    key, at = _at(run, ts)
    call = run.calls.get(mid)
    if call is None:
        call = run.calls[mid] = _Call(mid, sys.intern(model), line)  # (one string a model)
        ev: dict[str, Any] = {
            "ts": at,
            "run": run.id,
            "span": mid,
            "agent": run.agent,
            "kind": "model_call",
        }  # (its model and usage when it comes out: the message's last line has them)
        run.events.add(key, order, line, ev)
        stats.mapped += 1
    else:  # another content block of the same message: the same call
        stats.drop("content block of a message already counted (one model call per message)")
    usage = msg.get("usage")
    if isinstance(usage, dict):
        # the message's last line carries its final usage; only what _finish_call reads is
        # kept (a call is held to its run's end: the whole usage was most of a session's memory)
        call.usage = {k: usage[k] for k in USAGE_READ if k in usage}
        split = usage.get("cache_creation")  # the cache writes by lifetime (5 minutes, 1 hour)
        if isinstance(split, dict) and LONG_WRITE in split:
            call.usage[LONG_WRITE] = split[LONG_WRITE]
        if "stop_reason" in msg and msg["stop_reason"] is None:
            call.usage[MID_STREAM] = True  # written before the message ended
    stated = usd_to_microusd(rec.get("costUSD"))  # written by early versions: stated, kept
    if stated is not None:
        call.cost = stated
    call.request = text(rec.get("requestId"), 200) or call.request
    stop = text(msg.get("stop_reason"), 100)
    if stop is not None:
        run.stop = stop
    for block in as_list(msg.get("content")):
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        tid = text(block.get("id"), 200)
        tool = text(block.get("name"), 200) or "tool"
        if tid is None or tid in run.tool_uses:
            continue
        spawn: int | None = None
        if tool in SPAWN_TOOLS:
            args = as_dict(block.get("input"))
            child = text(args.get("subagent_type"), 200) or "subagent"
            spawn_ev = {
                "ts": at,
                "run": run.id,
                "span": f"{tid}:spawn",
                "agent": run.agent,
                "kind": "spawn",
                "child": mapping.agent(f"{AGENT}:{child}"),
                "depth": run.depth + 1,
                "x_tool_use": tid,
            }
            spawn = run.events.add(key, order, line, spawn_ev)
        run.tool_uses[tid] = (tool, line, spawn, key, order, at)


def _user(
    run: _Run,
    rec: dict[str, Any],
    ts: int | None,
    order: int,
    line: int,
    mapping: Mapping,
    stats: ImportStats,
) -> None:
    content = as_dict(rec.get("message")).get("content")
    results = [
        b for b in as_list(content) if isinstance(b, dict) and b.get("type") == "tool_result"
    ]
    if not results:
        stats.drop("user message (no event kind)")
        return
    key, at = _at(run, ts)
    mapped = False
    for b in results:
        tid = text(b.get("tool_use_id"), 200)
        use = run.tool_uses.pop(tid, None) if tid is not None else None
        if tid is None or use is None:
            continue
        tool, _, spawn, _, _, _ = use
        effect, scope = mapping.tool(tool, run.agent)
        refused = _said(b.get("content")).startswith(REFUSED)
        outcome = "denied" if refused else ("error" if b.get("is_error") is True else "ok")
        if refused:
            _reject(run, (key, order, line), at, tid, APPROVER, x_identity=NO_IDENTITY)
        ev = {
            "ts": at,
            "run": run.id,
            "span": tid,
            "agent": run.agent,
            "kind": "tool_call",
            "tool": tool,
            "effect": effect,
            "scope": scope,
            "outcome": outcome,
        }
        run.tool_calls[tid] = run.events.add(key, order, line, ev)
        result = rec.get("toolUseResult")
        if spawn is not None and isinstance(result, dict):
            child = text(result.get("agentId"), 200)
            if child is not None:
                run.children[spawn] = f"{run.id}:agent-{run.named.get(child, child)}"
        mapped = True
    if mapped:
        stats.mapped += 1
    else:
        stats.drop("tool result without its tool use")


def _result(
    run: _Run, rec: dict[str, Any], ts: int | None, order: int, line: int, stats: ImportStats
) -> None:
    """The stream's last record: the run's outcome, its stated total cost, and the tool uses
    the permission settings refused (each an approval rejected, the call denied)."""
    sub = text(rec.get("subtype"), 100)
    run.outcome = _RESULT_OUTCOME.get(str(sub), "error") if sub else run.outcome
    if rec.get("is_error") is True:
        run.outcome = "error"
    if sub is not None:
        run.end_facts["x_result"] = sub
    total = usd_to_microusd(rec.get("total_cost_usd"))
    if total is not None:
        run.end_facts["x_total_cost_microusd"] = total
    turns = as_int(rec.get("num_turns"))
    if turns is not None:
        run.end_facts["x_num_turns"] = turns
    key, at = _at(run, ts)
    for d in as_list(rec.get("permission_denials"))[:10_000]:
        tid = text(as_dict(d).get("tool_use_id"), 200)
        number = run.tool_calls.get(tid) if tid is not None else None
        if tid is None or number is None:
            continue
        run.denied.add(number)  # (its outcome denied when it comes out)
        _reject(run, (key, order, line), at, tid, DENIER, x_rule="Claude Code permission settings")
    stats.mapped += 1  # its facts are the run_end's


def _reject(
    run: _Run, place: tuple[int, int, int], at: str | None, tid: str, who: str, **facts: Any
) -> None:
    """An ``approval`` rejected by ``who`` of the tool use ``tid``, at ``place`` (sort key,
    order, line)."""
    ev = {"ts": at, "run": run.id, "span": f"{tid}:approval", "agent": who, "kind": "approval"}
    ev.update(target=tid, approver=who, verdict="rejected", **facts)
    run.events.add(*place, ev)


def _said(content: Any) -> str:
    """The text of a tool result's content (a string or a list of text blocks)."""
    if isinstance(content, str):
        return content.lstrip()
    for b in as_list(content):
        if isinstance(b, dict) and isinstance(b.get("text"), str):
            return str(b["text"]).lstrip()
    return ""


def _finish_call(call: _Call, ev: dict[str, Any]) -> None:
    """The call's model, tokens and estimated cost, from its message's last usage."""
    ev["model"] = tables.resolve_model(call.model).as_dict()
    if call.request:
        ev["x_request_id"] = call.request
    u = call.usage
    if u is None:  # no usage stated: unknown tokens (never 0), the cost only if stated
        ev["input_tokens"] = ev["output_tokens"] = None
        ev["cost_microusd"] = call.cost
        return
    fresh = as_int(u.get("input_tokens"))
    out = as_int(u.get("output_tokens"))
    write = as_int(u.get("cache_creation_input_tokens"))
    hit = as_int(u.get("cache_read_input_tokens"))
    ev["input_tokens"] = None if fresh is None else fresh + (write or 0) + (hit or 0)
    ev["output_tokens"] = out
    ev["x_input_tokens_include_cache"] = True
    partial = out is not None and bool(u.get(MID_STREAM))
    if partial:
        ev["x_output_tokens"] = "lower bound: usage written mid-stream (stop_reason null)"
    if write is not None:
        ev["x_cache_creation_input_tokens"] = write
    if hit is not None:
        ev["x_cache_read_input_tokens"] = hit
    long_write = as_int(u.get(LONG_WRITE))  # priced higher than a 5-minute write
    if long_write:
        ev["x_cache_creation_1h_input_tokens"] = long_write
    if call.cost is not None:  # the transcript states it (costUSD)
        ev["cost_microusd"] = call.cost
        return
    est = None
    if fresh is not None and out is not None:
        est = tables.estimate_cost(call.model, fresh, out, write or 0, hit or 0, long_write or 0)
    if est is None:
        ev["cost_microusd"] = None  # the transcript states no cost, and no price is known
        return
    ev["cost_microusd"], ev["x_cost_source"] = est
    ev["x_cost_estimated"] = True
    if partial:
        ev["x_cost_lower_bound"] = True  # on output tokens that are a lower bound


def _emit(run: _Run, pipeline: str, stats: ImportStats, mapping: Mapping) -> Iterator[RawEvent]:
    if not run.events:
        stats.unit("session with no model or tool call: no run")
        return
    for tid, (tool, line, _, key, order, at) in run.tool_uses.items():
        # never answered by a result (the session was cut short): still a call the model
        # made, placed where it was made, its outcome unknown
        effect, scope = mapping.tool(tool, run.agent)
        ev = {"ts": at, "run": run.id, "span": tid, "agent": run.agent, "kind": "tool_call"}
        ev.update(tool=tool, effect=effect, scope=scope, outcome=None)
        ev["x_result"] = "none in the transcript"
        run.events.add(key, order, line, ev)
    begin = f"{run.id}:run_start"
    start = run_start(run.id, begin, run.start, pipeline)
    if run.modes:
        start["x_permission_mode"] = run.modes[0]
        if len(run.modes) > 1:
            start["x_permission_modes"] = list(run.modes)
        if NO_GATE_MODE in run.modes:
            start["x_gate"] = f"permissionMode {NO_GATE_MODE}: nothing was gated"
    start.update(run.facts)
    end = run_end(run.id, begin, run.last, pipeline, run.outcome)
    if run.stop:
        end["x_last_stop_reason"] = run.stop
    end.update(run.end_facts)
    yield from emit_run(
        run.file,
        (run.line, start),
        _completed(run),
        (run.line, end),
        stats,
    )


def _completed(run: _Run) -> Iterator[tuple[int, dict[str, Any]]]:
    """The run's events in time order, each completed with what was learnt after it was
    added: a model call's usage and cost (its message's last line), a spawn's child run (its
    result), a tool call's refusal by the permission settings (the closing result)."""
    for n, line, ev in run.events.drain():
        kind = ev["kind"]
        if kind == "model_call":
            _finish_call(run.calls[ev["span"]], ev)
        elif kind == "spawn" and n in run.children:
            ev["x_child_run"] = run.children[n]
        elif kind == "tool_call" and n in run.denied:
            ev["outcome"] = "denied"
            ev["x_denied_by"] = "permission settings (permission_denials)"
        yield line, ev


def _looks(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("type"), str)
        and obj["type"] in RECORD_TYPES
        and any(k in obj for k in _IDS)
        and "payload" not in obj
    )


def sniff(probe: Probe) -> str | None:
    """What Claude Code transcript shape the source is (None: not one)."""
    doc = probe.json
    first = doc if isinstance(doc, dict) else probe.first_record if doc is None else None
    if not _looks(first):
        return None
    if probe.path.name.startswith("agent-") or (
        isinstance(first, dict) and first.get("isSidechain") is True
    ):
        return "a Claude Code subagent transcript (subagents/agent-*.jsonl)"
    return "a Claude Code session transcript (~/.claude/projects/…/<session>.jsonl)"
