"""Compiled by mypyc: the last paragraph says what that means here.

OpenAI Codex rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``, JSON Lines of
``{"timestamp", "type", "payload"}`` (``session_meta``, ``turn_context``, ``response_item``,
``event_msg``, ``compacted``); the early format without ``payload`` (a first line
``{id, timestamp, instructions}`` then bare response items) is read too.

One file is one run (``session_meta.id``). A model call is one **change** of
``total_token_usage`` in ``token_count`` events (Codex may write the same count twice), with the
tokens of its ``last_token_usage`` (input includes the cached input, said in ``x_``) and the
model of the ``turn_context`` in force; the rollout states no cost (unknown, never $0).
``function_call``, ``custom_tool_call`` and ``local_shell_call`` are tool calls paired with
their outputs by ``call_id`` and placed at the output (a call whose output the rollout does not
hold is still a call, placed where it was made, its outcome unknown); the exit code (an output's
``metadata.exit_code``, ``Exit code: N``, an ``exec_command_end``) is the outcome, unknown when
none is stated; an MCP call's ``mcp_tool_call_end`` gives its server and outcome.
``approval_policy`` and ``sandbox_policy`` from ``turn_context`` are gate facts on
``run_start`` (``never`` with ``danger-full-access``: nothing was gated); an
``exec_approval_request``/``apply_patch_approval_request`` is an ``approval_request`` to
``human:user``, and an output ``… rejected by user`` an ``approval`` rejected (the call
``denied``). The rollout does not record an allowing decision: a call that ran after a request
says so in ``x_approval``, and no approval is made up for it. A ``spawn_agent`` call whose
``collab_tool_call`` names a new thread is a ``spawn`` (``x_child_run`` that thread's rollout);
a sub-agent's rollout names its parent thread in ``session_meta.source.subagent``
(``x_parent_run``).

Compiled by mypyc (``setup.py``'s ``MYPYC``): the four rules of ``importers/base.py``'s last
paragraph bite here (one exception type per ``except … as`` name, no msgspec ``Struct``,
monkeypatching invisible to compiled callers, rebuild after an edit).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import spill, tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    as_int,
    emit_run,
    fail,
    iter_lines,
    json_loads,
    ns_to_ts,
    parse_line,
    run_end,
    run_start,
    text,
    ts_to_ns,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "codex"
DESCRIPTION = "OpenAI Codex session rollouts (~/.codex/sessions/…/rollout-*.jsonl)"
AGENT = "codex"
APPROVER = "human:user"
NO_IDENTITY = "the rollout records no identity for the person who refused"
RECORD_TYPES = frozenset(
    {"session_meta", "turn_context", "response_item", "event_msg", "compacted"}
)
CALLS = {"function_call", "custom_tool_call", "local_shell_call"}
OUTPUTS = {"function_call_output", "custom_tool_call_output"}
MODEL_ITEMS = CALLS | {"reasoning", "web_search_call"}
"""Response items the model writes (with an ``assistant`` message): a model turn."""
APPROVAL_REQUESTS = {"exec_approval_request", "apply_patch_approval_request"}
TURN_CALL = "a model turn (the rollout has no token_count)"
"""What a model call made from a model turn says (``x_call_from``)."""
_EXIT = re.compile(r"(?:Exit code|Process exited with code)[:\s]+(-?\d+)")


class _Rollout:
    def __init__(self, rid: str, file: str, events: spill.Sorted) -> None:
        self.id, self.file = rid, file
        self.agent = AGENT
        self.model = "unknown"
        self.start: int | None = None
        self.last: int | None = None
        # sorted by (time, 2 * order): a model turn's call is put at 2 * order + 1, after the
        # events of its place, and left out as it comes out when token_count states the calls
        self.events = events
        self.pending: dict[str, tuple[str, int, int, str | None, int]] = {}
        self.exit_codes: dict[str, int] = {}
        self.mcp: dict[str, tuple[str | None, bool | None]] = {}
        self.requested: set[str] = set()
        self.total: Any = None
        self.calls = 0
        self.gates: list[tuple[str, str]] = []
        self.facts: dict[str, Any] = {}
        self.outcome = "unknown"
        self.aborted = 0  # turns the user interrupted (the run may go on after one)
        self.turns = 0  # model turns (calls of a rollout without token_count, in events)
        self.in_turn = False
        self.forked_at: int | None = None  # a sub-agent's start: what is earlier is copied


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of the rollout (or of a ``codex exec --json`` stream), as one run."""
    with spill.Spool() as spool:
        r = _Rollout(path.stem, str(path), spool.sorted())
        r.agent = mapping.agent(AGENT)
        first = (probe or Probe.of(path)).first_record
        if _is_exec_event(first):
            yield from _read_exec(path, r, mapping, stats, pipeline)
        else:
            yield from _read(path, r, mapping, stats, pipeline)


def _read(
    path: Path, r: _Rollout, mapping: Mapping, stats: ImportStats, pipeline: str
) -> Iterator[RawEvent]:
    name = str(path)
    order = 0
    seen = False
    for n, raw in iter_lines(path):
        stats.records += 1
        rec = parse_line(name, n, raw)
        if not isinstance(rec, dict):
            stats.drop("record is not a Codex rollout record")
            continue
        kind, payload = _unwrap(rec)
        if kind is None:
            stats.drop("record is not a Codex rollout record")
            continue
        seen = True
        ts = _when(rec.get("timestamp"))
        if r.forked_at is not None and ts is not None and ts < r.forked_at:
            stats.drop("history the sub-agent's rollout copied from its parent (before it began)")
            continue
        if ts is not None:
            r.start = ts if r.start is None else min(r.start, ts)
            r.last = ts if r.last is None else max(r.last, ts)
        order += 1
        _record(r, kind, payload, ts, order, n, mapping, stats)
    if not seen:
        raise fail(
            name,
            "no Codex rollout records in this file",
            1,
            '{"timestamp", "type": "session_meta"|"response_item"|..., "payload": {...}} lines',
        )
    yield from _emit(r, pipeline, stats, mapping)


def _when(value: Any) -> int | None:
    """A rollout's time: an RFC 3339 string; anything else (a number, which a rollout never
    writes) is not stated, so unknown rather than a time in 1970."""
    return ts_to_ns(value) if isinstance(value, str) else None


def _unwrap(rec: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(record type, payload); the early format's bare items and first line read alike."""
    kind = rec.get("type")
    if not isinstance(kind, str) and kind is not None:
        return None, rec
    if kind in RECORD_TYPES and isinstance(rec.get("payload"), dict):
        return str(kind), rec["payload"]
    if kind in CALLS or kind in OUTPUTS or kind in ("message", "reasoning", "web_search_call"):
        return "response_item", rec
    if "type" not in rec and "id" in rec and ("instructions" in rec or "timestamp" in rec):
        return "session_meta", rec
    if rec.get("record_type") == "state":
        return "state", rec
    return None, rec


def _record(
    r: _Rollout,
    kind: str,
    p: dict[str, Any],
    ts: int | None,
    order: int,
    line: int,
    mapping: Mapping,
    stats: ImportStats,
) -> None:
    key = ts if ts is not None else (r.last or 0)
    at = None if ts is None else ns_to_ts(ts)
    if kind == "session_meta":
        r.id = text(p.get("id"), 200) or r.id
        for src, fact in (
            ("cli_version", "x_cli_version"),
            ("originator", "x_originator"),
            ("model_provider", "x_model_provider"),
            ("cwd", "x_cwd"),
            ("source", "x_source"),
        ):
            v = p.get(src)
            if isinstance(v, str) and v:
                r.facts.setdefault(fact, v[:500])
        spawned = as_dict(as_dict(as_dict(p.get("source")).get("subagent")).get("thread_spawn"))
        parent = text(spawned.get("parent_thread_id"), 200)
        if parent is not None:
            r.facts.setdefault("x_parent_run", parent)
            r.facts.setdefault("x_spawn_call", text(spawned.get("spawn_call_id"), 200))
        started = _when(p.get("timestamp"))
        started = ts if started is None else started
        if parent is not None and started is not None:
            r.forked_at = started
        if started is not None:
            r.start = started if r.start is None else min(r.start, started)
        stats.mapped += 1  # its facts are the run_start's
        return
    if kind == "turn_context":
        r.model = text(p.get("model"), 200) or r.model
        policy = text(p.get("approval_policy"), 100) or "unknown"
        sandbox = p.get("sandbox_policy")
        mode = (
            text(as_dict(sandbox).get("type") or as_dict(sandbox).get("mode"), 100)
            if isinstance(sandbox, dict)
            else text(sandbox, 100)
        ) or "unknown"
        if (policy, mode) not in r.gates and len(r.gates) < 20:
            r.gates.append((policy, mode))
        stats.mapped += 1  # gate facts on run_start, the model on the calls that follow
        return
    if kind == "response_item":
        _item(r, p, key, at, order, line, mapping, stats)
        return
    if kind == "event_msg":
        _event(r, p, key, at, order, line, stats)
        return
    stats.drop(f"{kind[:40]!r} record (no event kind)")


def _item(
    r: _Rollout,
    p: dict[str, Any],
    key: int,
    at: str | None,
    order: int,
    line: int,
    mapping: Mapping,
    stats: ImportStats,
) -> None:
    t = p.get("type")
    if not isinstance(t, str):
        stats.drop("response item without a type")
        return
    if t in MODEL_ITEMS or (t == "message" and p.get("role") == "assistant"):
        _turn(r, key, at, order, line)
    elif t in OUTPUTS or t == "message":
        r.in_turn = False  # an input: the next model item is another request
    if t in CALLS:
        cid = text(p.get("call_id"), 200) or text(p.get("id"), 200)
        if cid is None:
            stats.drop("tool call without a call_id")
            return
        tool = text(p.get("name"), 200) or ("local_shell" if t == "local_shell_call" else "tool")
        r.pending[cid] = (tool, line, key, at, order)
        stats.mapped += 1  # the call, placed at its output
        return
    if t in OUTPUTS:
        cid = text(p.get("call_id"), 200)
        use = r.pending.pop(cid, None) if cid is not None else None
        if cid is None or use is None:
            stats.drop("tool output without its call")
            return
        _tool_call(r, cid, use[0], p.get("output"), key, at, order, line, mapping)
        stats.mapped += 1
        return
    if t == "web_search_call":
        stats.drop("web search by the model's own tool (no call id to pair)")
        return
    stats.drop(f"response item {str(t)[:40]!r} (no event kind)")


def _add(r: _Rollout, place: tuple[int, int, int], at: str | None, **fields: Any) -> None:
    """Add an event of the rollout's run at ``place`` (sort key, order, line)."""
    _put(r, place, {"ts": at, "run": r.id, **fields})


def _put(r: _Rollout, place: tuple[int, int, int], ev: dict[str, Any]) -> None:
    """Add the event ``ev`` (final: it may be written out at once) at ``place``."""
    key, order, line = place
    r.events.add(key, 2 * order, line, ev)


def _turn(r: _Rollout, key: int, at: str | None, order: int, line: int) -> None:
    """A model item: the first one after an input opens a model turn (a model call of unknown
    usage, kept for a rollout that has no token_count)."""
    if r.in_turn:
        return
    r.in_turn = True
    r.turns += 1
    ev: dict[str, Any] = {
        "ts": at,
        "run": r.id,
        "span": f"{r.id}:turn-{r.turns}",
        "agent": r.agent,
        "kind": "model_call",
        "model": tables.resolve_model(r.model).as_dict(),
        "input_tokens": None,  # no token_count: usage and cost unknown
        "output_tokens": None,
        "cost_microusd": None,
        "x_call_from": TURN_CALL,
    }
    # at order - 1, after every event there (the call is kept only when no token_count is)
    r.events.add(key, 2 * (order - 1) + 1, line, ev)


def _outcome(r: _Rollout, cid: str, output: Any) -> tuple[str | None, bool]:
    """(outcome or None when not stated, refused by the user)."""
    said: str | None = None
    if isinstance(output, dict):
        if isinstance(output.get("success"), bool):
            return ("ok" if output["success"] else "error"), False
        said = text(output.get("content"), 100_000)
    elif isinstance(output, str):
        said = output
        if output.lstrip().startswith("{"):
            try:
                doc = json_loads(output.encode())
            except ValueError:
                doc = None
            meta = as_dict(as_dict(doc).get("metadata"))
            code = meta.get("exit_code")
            if isinstance(code, int) and not isinstance(code, bool):
                return ("ok" if code == 0 else "error"), False
            said = text(as_dict(doc).get("output"), 100_000) or said
    if said is not None and "rejected by user" in said[:200]:
        return "denied", True
    if cid in r.exit_codes:
        return ("ok" if r.exit_codes[cid] == 0 else "error"), False
    if cid in r.mcp and r.mcp[cid][1] is not None:
        return ("error" if r.mcp[cid][1] else "ok"), False
    m = _EXIT.search(said[:300]) if said else None
    if m:
        return ("ok" if int(m.group(1)) == 0 else "error"), False
    return None, False


def _tool_call(
    r: _Rollout,
    cid: str,
    tool: str,
    output: Any,
    key: int,
    at: str | None,
    order: int,
    line: int,
    mapping: Mapping,
    **facts: Any,
) -> None:
    outcome, refused = _outcome(r, cid, output)
    if refused:
        _add(
            r,
            (key, order, line),
            at,
            span=f"{cid}:approval",
            agent=APPROVER,
            kind="approval",
            target=cid,
            approver=APPROVER,
            verdict="rejected",
            x_identity=NO_IDENTITY,
        )
    effect, scope = mapping.tool(tool, r.agent)
    ev: dict[str, Any] = {
        "ts": at,
        "run": r.id,
        "span": cid,
        "agent": r.agent,
        "kind": "tool_call",
        "tool": tool,
        "effect": effect,
        "scope": scope,
        "outcome": outcome,  # None: not stated (the import marks it unknown)
    }
    server = r.mcp.get(cid, (None, None))[0]
    if server:
        ev["x_mcp_server"] = server
    if cid in r.requested and not refused:
        ev["x_approval"] = "ran after an approval request; the rollout records no decision"
    ev.update(facts)
    _put(r, (key, order + 1, line), ev)


def _event(
    r: _Rollout,
    p: dict[str, Any],
    key: int,
    at: str | None,
    order: int,
    line: int,
    stats: ImportStats,
) -> None:
    t = str(p.get("type"))
    if t == "token_count":
        info = p.get("info")
        if not isinstance(info, dict):
            stats.drop("token_count without usage (rate limits only)")
            return
        total = info.get("total_token_usage")
        if total is not None and total == r.total:
            stats.drop("token_count repeated (total unchanged: the same call)")
            return
        r.total = total
        last = as_dict(info.get("last_token_usage")) or (as_dict(total) if r.calls == 0 else {})
        r.calls += 1
        ev: dict[str, Any] = {
            "ts": at,
            "run": r.id,
            "span": f"{r.id}:call-{r.calls}",
            "agent": r.agent,
            "kind": "model_call",
            "model": tables.resolve_model(r.model).as_dict(),
            "input_tokens": as_int(last.get("input_tokens")),
            "output_tokens": as_int(last.get("output_tokens")),
            "cost_microusd": None,  # the rollout states no cost
            "x_input_tokens_include_cache": True,
        }
        for src in ("cached_input_tokens", "reasoning_output_tokens"):
            v = as_int(last.get(src))
            if v is not None:
                ev[f"x_{src}"] = v
        _put(r, (key, order, line), ev)
        stats.mapped += 1
        return
    cid = text(p.get("call_id"), 200)
    if t in APPROVAL_REQUESTS and cid is not None:
        r.requested.add(cid)
        _add(
            r,
            (key, order, line),
            at,
            span=f"{cid}:approval_request",
            agent=r.agent,
            kind="approval_request",
            target=cid,
            approver=APPROVER,
            x_request=t,
        )
        stats.mapped += 1
        return
    if t == "exec_command_end" and cid is not None:
        code = p.get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            r.exit_codes[cid] = code
        stats.drop("exec_command_end (its exit code is the tool call's outcome)")
        return
    if t == "mcp_tool_call_end" and cid is not None:
        inv = as_dict(p.get("invocation"))
        result = as_dict(p.get("result"))
        failed: bool | None = None
        if "Err" in result:
            failed = True
        elif "Ok" in result:
            failed = as_dict(result["Ok"]).get("isError") is True
        r.mcp[cid] = (text(inv.get("server"), 200), failed)
        stats.drop("mcp_tool_call_end (its server and outcome are the tool call's)")
        return
    child = text(p.get("new_thread_id"), 200)
    if t == "collab_tool_call" and child is not None:
        _add(
            r,
            (key, order, line),
            at,
            span=f"{cid or child}:spawn",
            agent=r.agent,
            kind="spawn",
            child=r.agent,
            depth=1,
            x_child_run=child,
            x_tool=text(p.get("tool"), 200),
        )
        stats.mapped += 1
        return
    if t == "user_message":
        r.in_turn = False
        if r.outcome != "error":  # a new turn: the run ends as its last turn does (unknown
            r.outcome = "unknown"  # until it completes), an earlier abort counted on its end
    elif t in ("agent_message", "agent_reasoning"):
        _turn(r, key, at, order, line)
    if t == "task_complete":
        r.outcome = "ok"
    elif t == "turn_aborted":
        r.outcome = "aborted"
        r.aborted += 1
    elif t == "error":
        r.outcome = "error"
    stats.drop(f"event {t[:40]!r} (no event kind)")


def _emit(r: _Rollout, pipeline: str, stats: ImportStats, mapping: Mapping) -> Iterator[RawEvent]:
    for cid, (tool, line, key, at, order) in r.pending.items():
        # no output in the rollout (cut short, or still running): a call whose outcome is
        # unknown, placed where it was made
        _tool_call(
            r, cid, tool, None, key, at, order, line, mapping, x_output="none in the rollout"
        )
    if not r.events:  # (turns included: with token_count, a call is there anyway)
        stats.unit("rollout with no model or tool call: no run")
        return
    begin = f"{r.id}:run_start"
    start = run_start(r.id, begin, r.start, pipeline)
    if r.gates:
        start["x_approval_policy"], start["x_sandbox_policy"] = r.gates[0]
        if len(r.gates) > 1:
            start["x_gate_changes"] = [list(g) for g in r.gates]
        if any(g == ("never", "danger-full-access") for g in r.gates):
            start["x_gate"] = "approval_policy never with danger-full-access: nothing was gated"
    start.update(r.facts)
    end = run_end(r.id, begin, r.last, pipeline, r.outcome)
    if r.aborted:
        end["x_turns_aborted"] = r.aborted
    yield from emit_run(r.file, (1, start), _completed(r, False), (1, end), stats)


def _completed(r: _Rollout, exec_stream: bool) -> Iterator[tuple[int, dict[str, Any]]]:
    """The run's events in time order; the model turns' calls only when no token_count stated
    the calls (one call per model turn then; made from items already counted), named after
    the exec stream's thread (stated anywhere in it) as they come out."""
    turns = r.calls == 0
    for _, line, ev in r.events.drain():
        if ev.get("x_call_from") == TURN_CALL:
            if not turns:
                continue
            if exec_stream:
                ev["run"] = r.id
                ev["span"] = f"{r.id}:{ev['span'].rsplit(':', 1)[-1]}"
        yield line, ev


EXEC_TOOLS = {
    "command_execution": "shell",
    "file_change": "apply_patch",
    "web_search": "web_search",
}
"""``codex exec --json`` item types that are tool calls, and the tool each is."""


def _is_exec_event(rec: Any) -> bool:
    t = rec.get("type") if isinstance(rec, dict) else None
    return isinstance(t, str) and (
        (t == "thread.started" and "thread_id" in rec)
        or (t.startswith(("turn.", "item.")) and ("item" in rec or t.startswith("turn.")))
    )


def _read_exec(
    path: Path, r: _Rollout, mapping: Mapping, stats: ImportStats, pipeline: str
) -> Iterator[RawEvent]:
    """``codex exec --json``: ``thread.started`` names the run, each model request of a turn
    (the items the model wrote between two inputs) is a model call of unknown usage (the
    stream states usage per turn only: summed on ``run_end`` in ``x_`` fields), each completed
    ``command_execution``/``file_change``/``mcp_tool_call``/``web_search`` item a tool call
    (exit code or status its outcome); ``turn.failed`` or an ``error`` makes the run an error.
    The stream states no times."""
    name = str(path)
    totals: dict[str, int] = {}
    n_items = 0
    for n, raw in iter_lines(path):
        stats.records += 1
        rec = parse_line(name, n, raw)
        if not _is_exec_event(rec) and not (isinstance(rec, dict) and rec.get("type") == "error"):
            stats.drop("record is not a codex exec event")
            continue
        t = str(rec["type"])
        order = n
        if t == "thread.started":
            r.id = text(rec.get("thread_id"), 200) or r.id
            stats.mapped += 1  # the run's id
            continue
        if t == "turn.completed":
            for k, v in as_dict(rec.get("usage")).items():
                if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                    totals[k] = totals.get(k, 0) + v
            r.outcome = "ok" if r.outcome != "error" else r.outcome
            r.in_turn = False
            stats.mapped += 1  # its usage is the run's (x_ totals)
            continue
        if t in ("turn.failed", "error"):
            r.outcome = "error"
            stats.drop(f"{t} (the run's outcome)")
            continue
        item = as_dict(rec.get("item"))
        kind = text(item.get("type"), 100)
        if t != "item.completed" or kind is None:
            why = "its item is read when completed" if t.startswith("item.") else "no event kind"
            stats.drop(f"{t[:40]} record ({why})")
            continue
        _turn(r, 0, None, order, n)
        tool = EXEC_TOOLS.get(kind) or (kind == "mcp_tool_call" and text(item.get("tool"), 200))
        if not tool:
            stats.drop(f"item {kind[:40]!r} (no event kind)")
            continue
        n_items += 1
        code = item.get("exit_code")
        status = item.get("status")
        outcome = (
            ("ok" if code == 0 else "error")
            if isinstance(code, int) and not isinstance(code, bool)
            else {"completed": "ok", "failed": "error", "declined": "denied"}.get(str(status))
        )
        effect, scope = mapping.tool(tool, r.agent)
        ev: dict[str, Any] = {
            "ts": None,
            "run": r.id,
            "span": text(item.get("id"), 200) or f"item-{n_items}",
            "agent": r.agent,
            "kind": "tool_call",
            "tool": tool,
            "effect": effect,
            "scope": scope,
            "outcome": outcome,
        }
        server = text(item.get("server"), 200)
        if server:
            ev["x_mcp_server"] = server
        _put(r, (0, order, n), ev)
        r.in_turn = False  # its result is the next request's input
        stats.mapped += 1
    if not r.events:  # (its model turns' calls included: the stream has no token_count)
        stats.unit("codex exec stream with no model or tool call: no run")
        return
    begin = f"{r.id}:run_start"
    end = run_end(r.id, begin, None, pipeline, r.outcome)
    for k, v in totals.items():
        end[f"x_total_{k}"] = v
    yield from emit_run(
        name,
        (1, run_start(r.id, begin, None, pipeline)),
        _completed(r, True),
        (1, end),
        stats,
    )


def sniff(probe: Probe) -> str | None:
    """What Codex rollout shape the source is (None: not one)."""
    doc = probe.json
    first = doc if isinstance(doc, dict) else probe.first_record if doc is None else None
    if not isinstance(first, dict):
        return None
    if doc is None and _is_exec_event(first):
        return "an OpenAI Codex exec --json event stream"
    kind = first.get("type")
    if isinstance(kind, str) and kind in RECORD_TYPES and isinstance(first.get("payload"), dict):
        return "an OpenAI Codex rollout (~/.codex/sessions/…/rollout-*.jsonl)"
    if (
        "type" not in first
        and "id" in first
        and ("instructions" in first or "timestamp" in first)
        and probe.path.name.startswith("rollout-")
    ):
        return "an OpenAI Codex rollout (early format)"
    return None
