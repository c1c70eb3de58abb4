"""OpenHands event streams: a JSON array of events, ``{"events"|"history": [...]}``, or JSON Lines.

Actions with ``tool_call_metadata`` carry the model response: one model_call per response
(deduplicated by response id, else by ``tool_call_id``). ``run``/``edit``/``read`` (and other
tool actions) paired with their observation (``cause`` is the action's id) are tool calls at the
observation's time; the tool is ``tool_call_metadata.function_name`` (``execute_bash``,
``str_replace_editor``) and the action goes into ``x_action``. Only the agent states
``awaiting_user_confirmation`` -> ``user_confirmed``/``user_rejected`` are approvals; a
``confirmation_state: confirmed`` field (set when confirmation mode is off) is not. A
``delegate`` action spawns the named agent. One file is one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import rules
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    as_int,
    fail,
    iter_lines,
    load_json,
    ns_to_ts,
    parse_line,
    text,
    ts_to_ns,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "openhands"
DESCRIPTION = "OpenHands agent event streams (actions and observations)"

AGENT = "openhands"


def _events(path: Path, probe: Probe) -> list[tuple[int, dict[str, Any]]]:
    name = str(path)
    if probe.is_jsonl:
        return [
            (n, o) for n, raw in iter_lines(path) if isinstance(o := parse_line(name, n, raw), dict)
        ]
    doc = probe.json if probe.json is not None else load_json(path)
    if isinstance(doc, dict):
        doc = doc.get("events", doc.get("history", doc.get("trajectory")))
    if not isinstance(doc, list):
        raise fail(name, "no OpenHands events in this file", 1, "a JSON array of events")
    return [(i, e) for i, e in enumerate(doc, 1) if isinstance(e, dict)]


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of one OpenHands trajectory, as one run."""
    name = str(path)
    probe = probe or Probe.of(path)
    records = _events(path, probe)
    run = path.stem
    agent = mapping.agent(AGENT)
    out: list[tuple[int, int, int, dict[str, Any]]] = []
    actions: dict[Any, tuple[dict[str, Any], int]] = {}
    responses: set[str] = set()
    pending: list[Any] = []
    last = 0
    first_ts: int | None = None
    for order, (line, e) in enumerate(records):
        stats.records += 1
        ts = ts_to_ns(e.get("timestamp")) or last
        last = max(last, ts)
        first_ts = ts if first_ts is None else first_ts
        eid = e.get("id", order)
        meta = as_dict(e.get("tool_call_metadata"))
        if "action" in e:
            action = str(e.get("action"))
            resp = (
                meta.get("model_response") if isinstance(meta.get("model_response"), dict) else None
            )
            if resp is not None:
                key = text(resp.get("id"), 200) or text(meta.get("tool_call_id"), 200) or str(eid)
                if key not in responses:
                    responses.add(key)
                    usage = as_dict(resp.get("usage"))
                    model = text(resp.get("model"), 200) or "unknown"
                    out.append(
                        (
                            ts,
                            order,
                            line,
                            {
                                "run": run,
                                "span": f"llm:{key}",
                                "agent": agent,
                                "kind": "model_call",
                                "model": rules.resolve_model(model).as_dict(),
                                "input_tokens": as_int(usage.get("prompt_tokens")) or 0,
                                "output_tokens": as_int(usage.get("completion_tokens")) or 0,
                                "cost_microusd": 0,
                            },
                        )
                    )
            if action == "delegate":
                args = as_dict(e.get("args"))
                child = mapping.agent(text(args.get("agent"), 200) or "delegate")
                out.append(
                    (
                        ts,
                        order,
                        line,
                        {
                            "run": run,
                            "span": f"e{eid}",
                            "agent": agent,
                            "kind": "spawn",
                            "child": child,
                            "depth": 1,
                        },
                    )
                )
            elif meta.get("function_name") or action in (
                "run",
                "edit",
                "read",
                "run_ipython",
                "browse",
                "browse_interactive",
                "write",
            ):
                actions[eid] = (e, line)
                pending.append(eid)
            else:
                stats.drop(f"action {action[:30]!r} (no event kind)")
            continue
        if "observation" in e:
            obs = str(e.get("observation"))
            extras = as_dict(e.get("extras"))
            if obs == "agent_state_changed":
                state = extras.get("agent_state")
                target = pending[-1] if pending else None
                if state == "awaiting_user_confirmation" and target is not None:
                    out.append(
                        (
                            ts,
                            order,
                            line,
                            {
                                "run": run,
                                "span": f"e{eid}",
                                "agent": agent,
                                "kind": "approval_request",
                                "target": f"e{target}",
                                "approver": "human:user",
                            },
                        )
                    )
                elif state in ("user_confirmed", "user_rejected") and target is not None:
                    out.append(
                        (
                            ts,
                            order,
                            line,
                            {
                                "run": run,
                                "span": f"e{eid}",
                                "agent": "human:user",
                                "kind": "approval",
                                "target": f"e{target}",
                                "approver": "human:user",
                                "verdict": "approved" if state == "user_confirmed" else "rejected",
                                "x_identity": "the event stream records no identity for the user",
                            },
                        )
                    )
                else:
                    stats.drop("agent state change (no event kind)")
                continue
            cause = e.get("cause")
            if cause in actions:
                act, _ = actions.pop(cause)
                if cause in pending:
                    pending.remove(cause)
                ameta = as_dict(act.get("tool_call_metadata"))
                tool = text(ameta.get("function_name"), 200) or str(act.get("action"))
                effect, scope = mapping.tool(tool, agent)
                outcome = (
                    "denied" if obs == "user_rejected" else ("error" if obs == "error" else "ok")
                )
                out.append(
                    (
                        ts,
                        order,
                        line,
                        {
                            "run": run,
                            "span": f"e{cause}",
                            "agent": agent,
                            "kind": "tool_call",
                            "tool": tool,
                            "effect": effect,
                            "scope": scope,
                            "outcome": outcome,
                            "x_action": str(act.get("action"))[:40],
                        },
                    )
                )
            else:
                stats.drop(f"observation {obs[:30]!r} without a tool action")
            continue
        stats.drop("record is neither an action nor an observation")
    for _ in actions:
        stats.drop("tool action without an observation")
    if not out:
        stats.drop("trajectory with no record that maps: no run")
        return
    out.sort(key=lambda x: (x[0], x[1]))
    begin = f"{run}:run_start"
    yield RawEvent(
        name,
        1,
        {
            "ts": ns_to_ts(first_ts or 0),
            "run": run,
            "span": begin,
            "parent": None,
            "agent": "harness",
            "kind": "run_start",
            "pipeline": pipeline,
        },
    )
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
    yield RawEvent(
        name,
        len(records),
        {
            "ts": ns_to_ts(last),
            "run": run,
            "span": f"{run}:run_end",
            "parent": begin,
            "agent": "harness",
            "kind": "run_end",
            "pipeline": pipeline,
            "outcome": "unknown",
        },
    )
    stats.events["run_start"] += 1
    stats.events["run_end"] += 1
    stats.runs += 1


def _is_event(e: Any) -> bool:
    return (
        isinstance(e, dict)
        and ("action" in e or "observation" in e)
        and ("source" in e or "cause" in e or "tool_call_metadata" in e)
        and "id" in e
    )


def sniff(probe: Probe) -> str | None:
    """What OpenHands shape the source is (None: not OpenHands)."""
    doc = probe.json
    if isinstance(doc, dict):
        doc = doc.get("events", doc.get("history"))
    if isinstance(doc, list) and doc and any(_is_event(e) for e in doc[:5]):
        return "an OpenHands event stream"
    if doc is None and _is_event(probe.first_line_json):
        return "an OpenHands event stream (JSON Lines)"
    return None
