"""OpenHands event streams: a JSON array of events, ``{"events"|"history": [...]}``, JSON Lines
of events, or evaluation output (JSON Lines, one ``{"instance_id", "history": [...]}`` a line).

Each trajectory (file, or evaluation record) is one run; ``history`` items that are
``[action, observation]`` pairs (older evaluation outputs) are flattened. Actions with
``tool_call_metadata`` carry the model response: one model_call per response (deduplicated by
response id, else by ``tool_call_id``). ``run``/``edit``/``read`` (and other tool actions) paired
with their observation (``cause`` is the action's id; without ids, the latest action of the same
name) are tool calls at the observation's time; the tool is ``tool_call_metadata.function_name``
(``execute_bash``, ``str_replace_editor``) and the action goes into ``x_action``. An action the
controller re-emits after a confirmation (same ``tool_call_id``, a new id) is the same tool call.
Only the agent states ``awaiting_user_confirmation`` -> ``user_confirmed``/``user_rejected`` are
approvals (of the action awaiting confirmation); a ``confirmation_state: confirmed`` field (set
when confirmation mode is off) is not. A ``delegate`` action spawns the named agent.
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
    as_float,
    as_int,
    as_list,
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

NAME = "openhands"
DESCRIPTION = "OpenHands agent event streams (actions and observations)"

AGENT = "openhands"


TOOL_ACTIONS = frozenset(
    ("run", "edit", "read", "write", "run_ipython", "browse", "browse_interactive", "call_tool_mcp")
)
"""Actions that are tool calls even without ``tool_call_metadata``."""

NOT_TOOLS = frozenset(
    ("message", "system", "recall", "finish", "reject", "change_agent_state", "null", "delegate")
)
"""Actions that are never tool calls (even when a function call produced them)."""


def _flatten(items: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(items, list):
        return out
    for it in items:
        if isinstance(it, dict):
            out.append(it)
        elif isinstance(it, list):
            out.extend(x for x in it if isinstance(x, dict) and x)
    return out


def _run_id(rec: dict[str, Any], fallback: str) -> str:
    for key in ("instance_id", "id", "session_id"):
        v = rec.get(key)
        if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v):
            return str(v)[:200]
    return fallback


def _is_record(rec: Any) -> bool:
    return isinstance(rec, dict) and isinstance(rec.get("history"), list) and "action" not in rec


def _runs(
    path: Path, probe: Probe
) -> Iterator[tuple[str, int, list[dict[str, Any]], dict[str, Any] | None]]:
    """(run id, source line, events, the evaluation record) for each trajectory in the file."""
    name = str(path)
    doc = probe.take_json()
    if doc is None and not probe.is_jsonl and not _is_record(probe.first_record):
        doc = load_json(path)
    if doc is None:
        lines = [(n, parse_line(name, n, raw)) for n, raw in iter_lines(path)]
        if lines and _is_record(lines[0][1]):
            for n, rec in lines:
                if _is_record(rec):
                    yield _run_id(rec, f"{path.stem}:{n}"), n, _flatten(rec["history"]), rec
            return
        yield path.stem, 1, [o for _, o in lines if isinstance(o, dict)], None
        return
    if isinstance(doc, dict):
        for key in ("events", "history", "trajectory"):
            if isinstance(doc.get(key), list):
                yield _run_id(doc, path.stem), 1, _flatten(doc[key]), doc
                return
        doc = None
    if not isinstance(doc, list):
        raise fail(name, "no OpenHands events in this file", 1, "a JSON array of events")
    if doc and all(_is_record(r) for r in doc if isinstance(r, dict)):
        for i, rec in enumerate(doc, 1):
            if _is_record(rec):
                yield _run_id(rec, f"{path.stem}:{i}"), 1, _flatten(rec["history"]), rec
        return
    yield path.stem, 1, _flatten(doc), None


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of each OpenHands trajectory in the file, one run each."""
    probe = probe or Probe.of(path)
    seen_runs: set[str] = set()
    for run, line, records, rec in _runs(path, probe):
        if run in seen_runs:
            run = f"{run}:{line}"
        seen_runs.add(run)
        yield from _run(str(path), run, line, records, mapping, stats, pipeline, rec)


def _confirmation(e: dict[str, Any]) -> str | None:
    args = as_dict(e.get("args"))
    v = args.get("confirmation_state", args.get("is_confirmed"))
    return v if isinstance(v, str) else None


def _run(
    name: str,
    run: str,
    base_line: int,
    records: list[dict[str, Any]],
    mapping: Mapping,
    stats: ImportStats,
    pipeline: str,
    rec: dict[str, Any] | None = None,
) -> Iterator[RawEvent]:
    agent = mapping.agent(AGENT)
    out: list[tuple[int, int, int, dict[str, Any]]] = []
    # event id -> (action, logical span); a tool call re-emitted after confirmation keeps its span
    actions: dict[str, tuple[dict[str, Any], str]] = {}
    span_orders: dict[str, list[int]] = {}  # a logical span -> the action records of it
    by_call: dict[str, str] = {}
    observed: set[str] = set()
    responses: set[str] = set()
    pending: list[str] = []
    state_awaiting = False
    awaiting: str | None = None
    requested: set[str] = set()
    last_state = "unknown"
    last = 0
    first_ts: int | None = None

    # each record is mapped (it went into an event) or dropped with its reason, once: the
    # fate of a record is settled at the end (an action's tool call is made at its observation)
    used: set[int] = set()
    why: dict[int, str] = {}

    def add(ts: int, order: int, ev: dict[str, Any]) -> None:
        used.add(order)
        out.append((ts, order, base_line, {"run": run, **ev}))

    def request(ts: int, order: int) -> None:
        if state_awaiting and awaiting is not None and awaiting not in requested:
            requested.add(awaiting)
            add(
                ts,
                order,
                {
                    "span": f"{awaiting}:request",
                    "agent": agent,
                    "kind": "approval_request",
                    "target": awaiting,
                    "approver": "human:user",
                },
            )

    for order, e in enumerate(records):
        stats.records += 1
        ts = ts_to_ns(e.get("timestamp")) or last
        last = max(last, ts)
        first_ts = ts if first_ts is None else first_ts
        raw_id = e.get("id")
        eid = str(raw_id) if isinstance(raw_id, (int, str)) and str(raw_id) else f"n{order}"
        meta = as_dict(e.get("tool_call_metadata"))
        if "action" in e:
            action = str(e.get("action"))
            resp = as_dict(meta.get("model_response"))
            tcid = text(meta.get("tool_call_id"), 200)
            if resp:
                key = text(resp.get("id"), 200) or tcid or eid
                if key not in responses:
                    responses.add(key)
                    usage = as_dict(resp.get("usage"))
                    model = text(resp.get("model"), 200) or "unknown"
                    add(
                        ts,
                        order,
                        {
                            "span": f"llm:{key}",
                            "agent": agent,
                            "kind": "model_call",
                            "model": tables.resolve_model(model).as_dict(),
                            "input_tokens": as_int(usage.get("prompt_tokens")),
                            "output_tokens": as_int(usage.get("completion_tokens")),
                            "cost_microusd": None,  # not in the event: unknown
                        },
                    )
            if action == "delegate":
                args = as_dict(e.get("args"))
                child = mapping.agent(text(args.get("agent"), 200) or "delegate")
                add(
                    ts,
                    order,
                    {
                        "span": f"e{eid}",
                        "agent": agent,
                        "kind": "spawn",
                        "child": child,
                        "depth": 1,
                    },
                )
            elif action not in NOT_TOOLS and (meta.get("function_name") or action in TOOL_ACTIONS):
                span = by_call.get(tcid) if tcid else None
                if span is None:
                    span = f"e{eid}"
                    if tcid:
                        by_call[tcid] = span
                actions[eid] = (e, span)
                span_orders.setdefault(span, []).append(order)
                why[order] = "tool action without an observation"
                if span not in pending:
                    pending.append(span)
                conf = _confirmation(e)
                if conf == "awaiting_confirmation" or (state_awaiting and conf is None):
                    awaiting = span
                    request(ts, order)
            else:
                why[order] = f"action {action[:30]!r} (no event kind)"
            continue
        if "observation" in e:
            obs = str(e.get("observation"))
            extras = as_dict(e.get("extras"))
            if obs == "agent_state_changed":
                state = str(extras.get("agent_state"))[:40]
                last_state = state
                if state == "awaiting_user_confirmation":
                    state_awaiting = True
                    if awaiting is None and pending:
                        act = next((a for a, s in actions.values() if s == pending[-1]), None)
                        if act is not None and _confirmation(act) in (
                            None,
                            "awaiting_confirmation",
                        ):
                            awaiting = pending[-1]
                    request(ts, order)
                elif state in ("user_confirmed", "user_rejected") and state_awaiting and awaiting:
                    add(
                        ts,
                        order,
                        {
                            "span": f"{awaiting}:approval",
                            "agent": "human:user",
                            "kind": "approval",
                            "target": awaiting,
                            "approver": "human:user",
                            "verdict": "approved" if state == "user_confirmed" else "rejected",
                            "x_identity": "the event stream records no identity for the user",
                        },
                    )
                    state_awaiting, awaiting = False, None
                else:
                    why[order] = "agent state change (no event kind)"
                continue
            cause = e.get("cause")
            ckey: str | None = str(cause) if isinstance(cause, (int, str)) else None
            if ckey is None and "id" not in e:
                # no ids (older outputs): the latest open action of the same name, else the latest
                open_ = [k for k, (a, s) in actions.items() if s not in observed]
                same = [k for k in open_ if str(actions[k][0].get("action")) == obs]
                pick = same or open_
                ckey = pick[-1] if pick else None
            if ckey is not None and ckey in actions and actions[ckey][1] not in observed:
                act, span = actions[ckey]
                used.update(span_orders.get(span, ()))  # the actions name the call answered
                observed.add(span)
                if span in pending:
                    pending.remove(span)
                ameta = as_dict(act.get("tool_call_metadata"))
                tool = text(ameta.get("function_name"), 200) or str(act.get("action"))
                effect, scope = mapping.tool(tool, agent)
                outcome: str | None = (
                    "denied" if obs == "user_rejected" else ("error" if obs == "error" else "ok")
                )
                call: dict[str, Any] = {
                    "span": span,
                    "agent": agent,
                    "kind": "tool_call",
                    "tool": tool,
                    "effect": effect,
                    "scope": scope,
                    "outcome": outcome,
                    "x_action": str(act.get("action"))[:40],
                }
                extras = as_dict(e.get("extras"))
                raw = as_dict(extras.get("metadata")).get("exit_code", extras.get("exit_code"))
                code = raw if type(raw) is int and -(2**31) <= raw < 2**31 else None
                if outcome == "ok" and code is not None:  # a command's exit code says more
                    call["x_exit_code"] = code
                    if code == -1:  # OpenHands: no exit yet (timed out, still running)
                        call["outcome"] = None
                        call["x_outcome_note"] = "exit code -1: the command had not finished"
                    elif code != 0:
                        call["outcome"] = "error"
                add(ts, order, call)
            else:
                why[order] = f"observation {obs[:30]!r} without a tool action"
            continue
        why[order] = "record is neither an action nor an observation"
    if not out:
        used.clear()
    stats.mapped += len(used)
    for order in range(len(records)):
        if order not in used:
            stats.drop(why.get(order, "record that maps to no event"))
    facts = _metrics(rec, out, agent, run, len(records), base_line) if rec is not None else {}
    if not out:
        stats.unit("trajectory with no record that maps: no run")
        return
    out.sort(key=lambda x: (x[0], x[1]))
    begin = f"{run}:run_start"
    yield RawEvent(name, base_line, run_start(run, begin, first_ts, pipeline))
    seen = {begin}
    for ts, _, line, ev in out:
        tgt = ev.get("target")
        ev["parent"] = tgt if tgt in seen else begin
        if ev["span"] in seen:
            ev["span"] = f"{ev['span']}:{ev['kind']}"
        seen.add(ev["span"])
        ev["ts"] = ns_to_ts(ts)
        stats.events[ev["kind"]] += 1
        yield RawEvent(name, line, ev)
    outcome = last_state if last_state in ("finished", "error", "stopped") else "unknown"
    end = run_end(run, begin, max(last, max((o[0] for o in out), default=0)), pipeline, outcome)
    end.update(facts)
    yield RawEvent(name, base_line, end)
    stats.events["run_start"] += 1
    stats.events["run_end"] += 1
    stats.runs += 1


def _metrics(
    rec: dict[str, Any],
    out: list[tuple[int, int, int, dict[str, Any]]],
    agent: str,
    run: str,
    n_records: int,
    line: int,
) -> dict[str, Any]:
    """What an evaluation record states beside its history (issue 25: dropped silently before):
    ``metrics.token_usages`` (one per call, by ``response_id``) with ``metrics.costs`` (one per
    call, in the same order when both lists are as long) give each model call its cost and
    tokens, and a call the history does not show becomes a model call at its cost's time;
    ``success`` (or ``test_result.success``, ``report.resolved``) and the accumulated cost are
    the run's facts (``x_`` on ``run_end``)."""
    metrics = as_dict(rec.get("metrics"))
    usages = [u for u in as_list(metrics.get("token_usages")) if isinstance(u, dict)]
    costs = [c for c in as_list(metrics.get("costs")) if isinstance(c, dict)]
    paired = len(costs) == len(usages)
    calls = {str(ev["span"])[4:]: ev for _, _, _, ev in out if ev.get("kind") == "model_call"}
    order = n_records
    for i, u in enumerate(usages):
        rid = text(u.get("response_id"), 200)
        cost = usd_to_microusd(costs[i].get("cost")) if paired else None
        ev = calls.get(rid) if rid else None
        if ev is None:
            c_ts = ts_to_ns(as_float(costs[i].get("timestamp"))) if paired else None
            if c_ts is None:
                continue  # no time for it: the totals below still say it
            order += 1
            ev = {
                "span": f"llm:{rid or i}",
                "agent": agent,
                "kind": "model_call",
                "model": tables.resolve_model(text(u.get("model"), 200) or "unknown").as_dict(),
                "input_tokens": as_int(u.get("prompt_tokens")),
                "output_tokens": as_int(u.get("completion_tokens")),
                "cost_microusd": None,
                "x_from": "metrics.token_usages (not in the history)",
            }
            out.append((c_ts, order, line, {"run": run, **ev}))
            calls[rid or str(i)] = out[-1][3]
            ev = out[-1][3]
        if cost is not None and ev.get("cost_microusd") is None:
            ev["cost_microusd"] = cost
        if ev.get("input_tokens") is None:
            ev["input_tokens"] = as_int(u.get("prompt_tokens"))
        if ev.get("output_tokens") is None:
            ev["output_tokens"] = as_int(u.get("completion_tokens"))
    facts: dict[str, Any] = {}
    total = usd_to_microusd(metrics.get("accumulated_cost"))
    if total is not None:
        facts["x_accumulated_cost_microusd"] = total
    for got in (
        rec.get("success"),
        as_dict(rec.get("test_result")).get("success"),
        as_dict(rec.get("report")).get("resolved"),
    ):
        if isinstance(got, bool):
            facts["x_success"] = got
            break
    return facts


def _is_event(e: Any) -> bool:
    return (
        isinstance(e, dict)
        and ("action" in e or "observation" in e)
        and ("source" in e or "cause" in e or "tool_call_metadata" in e or "args" in e)
        and not str(e.get("kind", "")).endswith(("Event", "Observation"))  # 1.x: openhands-sdk
    )


def _is_stream(doc: Any) -> bool:
    return isinstance(doc, list) and any(_is_event(e) for e in _flatten(doc[:5]))


def _is_output(rec: Any) -> bool:
    """An evaluation/resolver output record: run fields and a history of actions/observations."""
    if not _is_record(rec) or not any(k in rec for k in ("instance_id", "instruction", "metrics")):
        return False
    events = _flatten(rec["history"][:5])
    return any("action" in e or "observation" in e for e in events)


def sniff(probe: Probe) -> str | None:
    """What OpenHands shape the source is (None: not OpenHands)."""
    whole = doc = probe.json
    if isinstance(doc, dict):
        doc = doc.get("events", doc.get("history"))
    if _is_stream(doc):
        return "an OpenHands event stream"
    if isinstance(doc, list) and doc and _is_output(doc[0]):
        return "OpenHands evaluation output (records with a history of events)"
    if whole is None:  # not one document: JSON Lines (a document's first line is no record,
        # and reading it again would parse the document twice)
        if _is_event(probe.first_line_json):
            return "an OpenHands event stream (JSON Lines)"
        rec = probe.first_record
        if _is_output(rec):
            return "OpenHands evaluation output (JSON Lines, one history a line)"
    return None
