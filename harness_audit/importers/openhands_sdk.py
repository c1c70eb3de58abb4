"""OpenHands 1.x (the agent SDK, ``openhands-sdk``) conversation events: JSON Lines of events
(or a JSON array, or ``{"events": [...]}``), each with its ``kind``: ``ActionEvent``,
``ObservationEvent``, ``UserRejectObservation``, ``AgentErrorEvent``, ``MessageEvent``,
``SystemPromptEvent``, ``ConversationStateUpdateEvent`` …

One file is one conversation, one run. Each distinct ``llm_response_id`` (of an ``ActionEvent``,
or of an agent ``MessageEvent``) is one model call: several actions of one response are one
call. The events state no usage or cost per call (only running totals in ``stats`` state
updates): per call they are unknown, and the last totals are said on ``run_end`` in ``x_``
fields; the model is the one the latest ``stats`` names. Each ``ActionEvent`` is a tool call
(``tool_name``), placed at its observation (by ``action_id``, else ``tool_call_id``): an
``ObservationEvent`` is ``ok`` (``error`` when its observation ``is_error``), an
``AgentErrorEvent`` ``error``, a ``UserRejectObservation`` ``denied`` with an ``approval``
rejected (by the user in confirmation mode, or by a hook: ``rejection_source``); an action with
no observation has no stated outcome. ``execution_status`` (``finished``, ``error``, ``stuck``)
is the run's outcome; ``security_risk`` goes into ``x_security_risk``.

A conversation folder as the SDK persists it (``<conversation>/base_state.json`` and
``events/event-<index>-<id>.json``, one event a file) is read from its ``base_state.json``: the
events in index order are the run (its id the conversation's), the agent's ``llm.model`` the
model until a ``stats`` update names one, ``confirmation_policy`` a gate fact on ``run_start``
and the state's ``execution_status`` and ``stats`` the outcome and totals when no event says.
The event files are read with it (named in ``import.json``), not as runs of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_audit.importers import tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    as_int,
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

NAME = "openhands-sdk"
DESCRIPTION = "OpenHands 1.x agent SDK conversation events (ActionEvent/ObservationEvent)"
AGENT = "openhands"
KINDS = frozenset(
    (
        "ActionEvent",
        "ObservationEvent",
        "UserRejectObservation",
        "AgentErrorEvent",
        "MessageEvent",
        "SystemPromptEvent",
        "ConversationStateUpdateEvent",
        "CondensationEvent",
        "CondensationRequest",
        "CondensationSummaryEvent",
        "PauseEvent",
        "ConversationErrorEvent",
        "TokenEvent",
        "LLMCompletionLogEvent",
        "HookExecutionEvent",
        "SystemPromptUpdateEvent",
    )
)
"""The SDK's event kinds (``openhands/sdk/event``)."""
_OBSERVED = ("ObservationEvent", "UserRejectObservation", "AgentErrorEvent")
_STATUS = {"finished": "ok", "error": "error", "stuck": "error"}
_ROUTES = ("litellm_proxy/",)
"""A LiteLLM routing prefix before the model's own name (kept in ``x_model_route``)."""
NO_IDENTITY = "the event records no identity for the person who rejected"
BASE_STATE = "base_state.json"
_EVENT_FILE = re.compile(r"event-(\d+)-[^/]*\.json")
MAX_EVENT_FILES = 1_000_000


def _is_base_state(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("id"), str)
        and isinstance(doc.get("agent"), dict)
        and ("execution_status" in doc or "confirmation_policy" in doc)
    )


def side_file(path: Path) -> str | None:
    """An event file of a persisted conversation (read with its ``base_state.json``), or None."""
    if (
        path.parent.name == "events"
        and _EVENT_FILE.fullmatch(path.name)
        and (path.parent.parent / BASE_STATE).is_file()
    ):
        return "openhands-sdk conversation event (read with its base_state.json)"
    return None


def _event_files(folder: Path) -> list[Path]:
    """The conversation's event files in index order."""
    found: list[tuple[int, Path]] = []
    if folder.is_dir():
        for f in folder.iterdir():
            m = _EVENT_FILE.fullmatch(f.name)
            if m and len(found) < MAX_EVENT_FILES:
                found.append((int(m.group(1)), f))
    return [f for _, f in sorted(found)]


def _is_event(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("kind"), str)
        and obj["kind"] in KINDS
        and "id" in obj
    )


def _records(path: Path, probe: Probe) -> Iterator[tuple[int, Any]]:
    if _is_base_state(probe.json):  # a persisted conversation: its event files
        for f in _event_files(path.parent / "events"):
            yield 1, load_json(f)
        return
    doc = probe.take_json()
    if doc is None and not probe.is_jsonl and probe.first_record is None:
        doc = probe.document()
    if doc is None:
        name = str(path)
        for n, raw in iter_lines(path):
            yield n, parse_line(name, n, raw)
        return
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        doc = doc["events"]
    if not isinstance(doc, list):
        raise fail(str(path), "no OpenHands SDK events in this file", 1, "events with a kind")
    for rec in doc:
        yield 1, rec


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of one conversation, as one run."""
    name = str(path)
    probe = probe or Probe.of(path)
    agent = mapping.agent(AGENT)
    run = path.stem[:200]
    model = "unknown"
    calls: set[str] = set()
    calls_out: dict[str, dict[str, Any]] = {}
    actions: dict[str, dict[str, Any]] = {}  # by event id and by tool_call_id: open tool calls
    out: list[tuple[int, dict[str, Any]]] = []
    first_ns: int | None = None
    last_ns: int | None = None
    status: str | None = None
    totals: dict[str, Any] = {}
    per_call: dict[str, dict[str, Any]] = {}  # response id -> what the metrics state of it
    facts: dict[str, Any] = {}
    state = probe.json if _is_base_state(probe.json) else None
    if isinstance(state, dict):
        stats.records += 1
        stats.mapped += 1  # the conversation's facts
        run = str(state["id"])[:200]
        model = text(as_dict(as_dict(state["agent"]).get("llm")).get("model"), 200) or model
        policy = state.get("confirmation_policy")
        kind = text(as_dict(policy).get("kind") if isinstance(policy, dict) else policy, 100)
        if kind is not None:
            facts["x_confirmation_policy"] = kind
        if isinstance(state.get("max_iterations"), int):
            facts["x_max_iterations"] = state["max_iterations"]
        totals = _totals(as_dict(state.get("stats")))
        per_call.update(_per_call(as_dict(state.get("stats"))))
        status = text(state.get("execution_status"), 40)
    for line, rec in _records(path, probe):
        stats.records += 1
        if not _is_event(rec):
            stats.drop("record is not an OpenHands SDK event")
            continue
        kind = rec["kind"]
        ns = ts_to_ns(rec.get("timestamp"))
        if ns is not None:
            first_ns = ns if first_ns is None else min(first_ns, ns)
            last_ns = ns if last_ns is None else max(last_ns, ns)
        at = None if ns is None else ns_to_ts(ns)
        eid = str(rec["id"])[:200]
        if kind == "ConversationStateUpdateEvent":
            key = rec.get("key")
            if key == "execution_status" and isinstance(rec.get("value"), str):
                status = rec["value"]
            elif key == "stats":
                value = as_dict(rec.get("value"))
                m = _metrics(value)
                model = (text(m[0].get("model_name"), 200) if m else None) or model
                totals = _totals(value)
                per_call.update(_per_call(value))
            stats.drop("conversation state update (its facts are the run's)")
            continue
        rid = text(rec.get("llm_response_id"), 200)
        new_call = (
            kind in ("ActionEvent", "MessageEvent")
            and rec.get("source") == "agent"
            and rid is not None
            and rid not in calls
        )
        if new_call and rid is not None:
            calls.add(rid)
            route, _, bare = model.partition("/") if model.startswith(_ROUTES) else ("", "", model)
            call: dict[str, Any] = {
                "ts": at,
                "run": run,
                "span": f"{rid}:model_call",
                "agent": agent,
                "kind": "model_call",
                "model": tables.resolve_model(bare).as_dict(),
                "input_tokens": None,  # per call not stated (only running totals)
                "output_tokens": None,
                "cost_microusd": None,
            }
            if route:
                call["x_model_route"] = route
            out.append((line, call))
            calls_out[rid] = call
        if kind == "ActionEvent":
            tool = text(rec.get("tool_name"), 200) or "tool"
            effect, scope = mapping.tool(tool, agent)
            ev: dict[str, Any] = {
                "ts": at,
                "run": run,
                "span": eid,
                "agent": agent,
                "kind": "tool_call",
                "tool": tool,
                "effect": effect,
                "scope": scope,
                "outcome": None,  # until its observation says
            }
            risk = text(rec.get("security_risk"), 40)
            if risk is not None:
                ev["x_security_risk"] = risk
            out.append((line, ev))
            actions[eid] = ev
            tcid = text(rec.get("tool_call_id"), 200)
            if tcid is not None:
                actions.setdefault(f"call:{tcid}", ev)
            stats.mapped += 1
        elif kind in _OBSERVED:
            found = actions.get(str(rec.get("action_id"))) or actions.get(
                f"call:{rec.get('tool_call_id')}"
            )
            if found is None or found.get("x_observed"):
                stats.drop("observation without its action")
                continue
            ev = found
            ev["x_observed"] = True
            ev["ts"] = at or ev["ts"]
            if kind == "ObservationEvent":
                obs = as_dict(rec.get("observation"))
                ev["outcome"] = "error" if obs.get("is_error") is True else "ok"
                code = as_int(obs.get("exit_code"))
                if code is not None:
                    ev["x_exit_code"] = code
            elif kind == "AgentErrorEvent":
                ev["outcome"] = "error"
            else:
                ev["outcome"] = "denied"
                by = "hook" if rec.get("rejection_source") == "hook" else "user"
                approver = f"hook:{AGENT}" if by == "hook" else "human:user"
                appr = {
                    "ts": at,
                    "run": run,
                    "span": f"{ev['span']}:approval",
                    "agent": approver,
                    "kind": "approval",
                    "target": ev["span"],
                    "approver": approver,
                    "verdict": "rejected",
                }
                if by == "user":
                    appr["x_identity"] = NO_IDENTITY
                reason = text(rec.get("rejection_reason"), 500)
                if reason is not None:
                    appr["x_reason"] = reason
                out.append((line, appr))
            stats.mapped += 1
        elif new_call:
            stats.mapped += 1  # an agent message: its model call
        else:
            stats.drop(f"{kind} (no event kind)")
    for rid, stated in per_call.items():
        known = calls_out.get(rid)
        at = stated.pop("ts")
        if known is None:  # a completion no event names (a condenser's, a title's): it ran
            known = {"ts": at, "run": run, "span": f"{rid}:model_call", "agent": agent}
            known.update(kind="model_call", cost_microusd=None)
            known["x_call_from"] = "the conversation's metrics (no event names its response)"
            out.append((0, known))
        known.update(stated)
    if not out:
        if stats.records == 0:
            raise fail(name, "no OpenHands SDK events in this file", 1, "events with a kind")
        stats.unit("conversation with no action or model call: no run")
        return
    begin = f"{run}:run_start"
    start = run_start(run, begin, first_ns, pipeline)
    start.update(facts)
    for _, ev in out:
        ev.pop("x_observed", None)
    end = run_end(run, begin, last_ns, pipeline, _STATUS.get(str(status), "unknown"))
    if status is not None:
        end["x_execution_status"] = str(status)[:40]
    end.update({k: v for k, v in totals.items() if isinstance(v, int | str)})
    yield from emit_run(name, (1, start), out, (1, end), stats)


def _metrics(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Each LLM's metrics in a ``stats`` value, ``default`` first: ``usage_to_metrics`` is keyed
    by each LLM's usage id (``default``, ``agent``, ``condenser`` …), any of them a model's."""
    by_use = as_dict(stats.get("usage_to_metrics"))
    order = sorted(by_use, key=lambda k: k != "default")
    return [m for m in (as_dict(by_use[k]) for k in order) if m]


def _sum(values: list[int | None]) -> int | None:
    """The sum of the values, None when none is stated."""
    stated = [v for v in values if v is not None]
    return sum(stated) if stated else None


def _totals(stats: dict[str, Any]) -> dict[str, Any]:
    """The running totals a ``stats`` value (of an update, or of the base state) states, over
    every LLM it has metrics for."""
    ms = _metrics(stats)
    usages = [as_dict(m.get("accumulated_token_usage")) for m in ms]
    out: dict[str, Any] = {
        "x_total_input_tokens": _sum([as_int(u.get("prompt_tokens")) for u in usages]),
        "x_total_output_tokens": _sum([as_int(u.get("completion_tokens")) for u in usages]),
        "x_total_cache_read_tokens": _sum([as_int(u.get("cache_read_tokens")) for u in usages]),
        "x_accumulated_cost_microusd": _sum(
            [usd_to_microusd(m.get("accumulated_cost")) for m in ms]
        ),
    }
    if out["x_accumulated_cost_microusd"] == 0 and (
        out["x_total_input_tokens"] or out["x_total_output_tokens"]
    ):  # tokens were used and nothing priced them (a proxy's model): unknown, not $0
        out["x_accumulated_cost_microusd"] = None
        out["x_accumulated_cost"] = "unknown: 0 written for calls that used tokens (not priced)"
    return out


def _per_call(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Response id -> the model, tokens and cost the metrics state of that one completion
    (``token_usages`` name their response; a ``costs`` entry is that completion's when the two
    lists are as long, as the SDK appends one of each per completion; a cost of 0 is an
    unpriced model's, unknown) and ``ts``, the cost's time when paired."""
    found: dict[str, dict[str, Any]] = {}
    for m in _metrics(stats):
        usages = [u for u in m.get("token_usages") or () if isinstance(u, dict)]
        costs = [c for c in m.get("costs") or () if isinstance(c, dict)]
        paired = len(costs) == len(usages)
        for n, u in enumerate(usages):
            rid = text(u.get("response_id"), 200)
            if not rid:
                continue
            name = text(u.get("model"), 200) or text(m.get("model_name"), 200) or "unknown"
            route, _, bare = name.partition("/") if name.startswith(_ROUTES) else ("", "", name)
            cache_read = as_int(u.get("cache_read_tokens"))
            call: dict[str, Any] = {
                "model": tables.resolve_model(bare).as_dict(),
                "input_tokens": as_int(u.get("prompt_tokens")),
                "output_tokens": as_int(u.get("completion_tokens")),
                "ts": None,
            }
            if cache_read:
                call["x_cache_read_tokens"] = cache_read
            if route:
                call["x_model_route"] = route
            if paired:
                cost = usd_to_microusd(costs[n].get("cost"))
                call["cost_microusd"] = cost or None
                ns = ts_to_ns(costs[n].get("timestamp"))
                call["ts"] = None if ns is None else ns_to_ts(ns)
            found[rid] = call
    return found


def sniff(probe: Probe) -> str | None:
    """What OpenHands SDK shape the source is (None: not one)."""
    doc = probe.json
    if probe.path.name == BASE_STATE and _is_base_state(doc):
        return "an OpenHands 1.x conversation folder (base_state.json and events/)"
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        doc = doc["events"]
    if isinstance(doc, list) and doc and _is_event(doc[0]):
        return "an OpenHands 1.x agent SDK event list"
    if doc is None and _is_event(probe.first_record):
        return "OpenHands 1.x agent SDK events (JSON Lines)"
    return None
