"""mini-swe-agent trajectories (``*.traj.json``): ``{"info": {"model_stats", "config",
"exit_status", "submission", "mini_version"}, "messages": [...], "trajectory_format":
"mini-swe-agent-1.x"}`` as ``DefaultAgent.save`` writes them.

One trajectory is one run. Each ``assistant`` message is one model call: its ``extra.cost`` (USD;
a cost of 0 is what mini-swe-agent writes when it could not price the call, so it is unknown,
never $0), usage from ``extra.response.usage``, model from the response (else the config), time
from ``extra.timestamp``. A Responses API model's reply is saved as the response itself
(``"object": "response"``, no ``role``; usage ``input_tokens``/``output_tokens``): a model call
too. A reply that could not be parsed is kept only as the format error message that answers it
(``extra.interrupt_type: FormatError`` with the call's ``cost`` and ``response``): a model call
that was billed, marked ``x_format_error``, with no action. Each of a reply's
``extra.actions`` is a ``bash`` tool call, placed at its observation (a ``tool`` message by
``tool_call_id``, a ``function_call_output`` by ``call_id``, else the next ``user`` message with
``extra.returncode``): return code 0 ``ok``, another ``error``; an action the agent did not
execute has no outcome. Version 1 trajectories (``mini-swe-agent-1``, and those before the format
was named: ``info.model_stats`` and ``messages`` alone) keep the action in the message text (the
one ```` ```bash ```` block, or ``<bash_code>``, the agent ran; none or several: a format error, no
action), its observation in the next user message's ``<returncode>N</returncode>``, and the
time (from 1.17) in the message's own ``timestamp``; they state no per-call cost, so the
total ``instance_cost`` is spread evenly over the calls, each marked as an estimate.
The ``exit`` message (or ``info.exit_status``) ends the run:
``Submitted`` ``ok``, a limit or an exception ``error``; ``info.model_stats`` totals go on
``run_end`` in ``x_`` fields.
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
    as_float,
    as_int,
    as_list,
    emit_run,
    fail,
    ns_to_ts,
    run_end,
    run_start,
    text,
    ts_to_ns,
    usd_to_microusd,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "mini-swe-agent"
DESCRIPTION = "mini-swe-agent trajectories (*.traj.json)"
AGENT = "mini-swe-agent"
TOOL = "bash"
_EXPECTED = '{"info": {...}, "messages": [...], "trajectory_format": "mini-swe-agent-1.x"}'
# version 1: the action blocks of the default and the XML configs (the file's own
# ``action_regex`` is not run: a pattern from the input is not compiled), and the observation's
# return code
_ACTION = re.compile(
    r"```(?:bash|mswea_bash_command)\s*\n(.*?)\n```|<bash_code>(.*?)</bash_code>", re.DOTALL
)
_RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")


def _is_traj(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        return False
    fmt = doc.get("trajectory_format")
    info = doc.get("info")
    if isinstance(fmt, str) and fmt.startswith("mini-swe-agent"):
        return True
    if not isinstance(info, dict) or "history" in doc or "trajectory" in doc:
        return False
    stats = info.get("model_stats")
    return "mini_version" in info or (  # before the format had a name: its totals
        isinstance(stats, dict) and "instance_cost" in stats and "api_calls" in stats
    )


def _v1_action(m: dict[str, Any]) -> str | None:
    """The one action a version 1 assistant message ran (None: none, or a format error)."""
    if m.get("tool_calls") or not isinstance(m.get("content"), str):
        return None
    found = _ACTION.findall(m["content"][:1_000_000])
    return (found[0][0] or found[0][1]).strip() if len(found) == 1 else None


def _v1_returncode(m: dict[str, Any]) -> int | None:
    """The return code a version 1 observation (a user message) states, or None."""
    content = m.get("content")
    if not isinstance(content, str):
        return None
    hit = _RETURNCODE.search(content[:2000])
    return int(hit.group(1)) if hit else None


def _model_of(doc: dict[str, Any]) -> str | None:
    cfg = as_dict(as_dict(as_dict(doc.get("info")).get("config")).get("model"))
    return text(cfg.get("model_name"), 200)


def read(
    path: Path, mapping: Mapping, stats: ImportStats, pipeline: str, probe: Probe | None = None
) -> Iterator[RawEvent]:
    """The events of the trajectory, as one run."""
    name = str(path)
    probe = probe or Probe.of(path)
    doc = probe.document()
    if isinstance(doc, list):  # the bare message list older versions saved
        doc = {"messages": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        raise fail(name, "no mini-swe-agent trajectory in this file", 1, _EXPECTED)
    info = as_dict(doc.get("info"))
    run = path.name.removesuffix(".json").removesuffix(".traj")[:200] or "trajectory"
    agent = mapping.agent(AGENT)
    default_model = _model_of(doc) or "unknown"
    out: list[dict[str, Any]] = []
    # actions awaiting their observation, in order: a dict (by identity), not a list, so that
    # taking one out is not a scan past those never observed (quadratic in a long trajectory)
    pending: dict[int, dict[str, Any]] = {}
    by_call: dict[str, dict[str, Any]] = {}
    exit_status = text(info.get("exit_status"), 100)
    first: int | None = None
    last: int | None = None
    n = 0
    stats.records += 1  # the document's own info: the run's facts
    stats.mapped += 1
    for m in doc["messages"]:
        stats.records += 1
        if not isinstance(m, dict):
            stats.drop("message is not an object")
            continue
        role = m.get("role")
        extra = as_dict(m.get("extra"))
        ts = ts_to_ns(as_float(extra.get("timestamp", m.get("timestamp"))))
        if ts is not None:
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
        at = None if ts is None else ns_to_ts(ts)
        answered = role is None and m.get("object") == "response"  # a Responses API reply
        refused = extra.get("interrupt_type") == "FormatError" and (
            "cost" in extra or "response" in extra
        )  # a reply that could not be parsed: billed, kept only on the format error message
        if role == "assistant" or answered or refused:
            n += 1
            resp = m if answered else as_dict(extra.get("response"))
            usage = as_dict(resp.get("usage"))
            cost = usd_to_microusd(extra.get("cost"))
            call: dict[str, Any] = {
                "ts": at,
                "run": run,
                "span": f"call-{n}",
                "agent": agent,
                "kind": "model_call",
                "model": tables.resolve_model(
                    text(resp.get("model"), 200) or default_model
                ).as_dict(),
                "input_tokens": as_int(usage.get("prompt_tokens", usage.get("input_tokens"))),
                "output_tokens": as_int(usage.get("completion_tokens", usage.get("output_tokens"))),
                "cost_microusd": cost if cost else None,  # 0: not priced, unknown
            }
            if cost == 0:
                call["x_cost_note"] = "mini-swe-agent wrote 0: the call was not priced"
            if refused:
                call["x_format_error"] = True
            out.append(call)
            actions = [] if refused else as_list(extra.get("actions"))
            if not actions and _v1_action(m) is not None:
                actions = [{}]  # version 1: the action is in the text
            for i, act in enumerate(actions, 1):
                if not isinstance(act, dict):
                    continue
                effect, scope = mapping.tool(TOOL, agent)
                tc: dict[str, Any] = {
                    "ts": at,
                    "run": run,
                    "span": text(act.get("tool_call_id"), 200) or f"call-{n}.{i}",
                    "agent": agent,
                    "kind": "tool_call",
                    "tool": TOOL,
                    "effect": effect,
                    "scope": scope,
                    "outcome": None,  # until its observation says
                }
                out.append(tc)
                pending[id(tc)] = tc
                if isinstance(act.get("tool_call_id"), str):
                    by_call[act["tool_call_id"]] = tc
            stats.mapped += 1
        elif (
            role == "user"
            and "returncode" not in extra
            and pending
            and _v1_returncode(m) is not None
        ):
            tc = pending.pop(next(iter(pending)))  # version 1: the oldest unobserved
            if at is not None:
                tc["ts"] = at
            tc["x_returncode"] = code = _v1_returncode(m)
            tc["outcome"] = "ok" if code == 0 else "error"
            stats.mapped += 1
        elif "returncode" in extra and (
            role in ("tool", "user") or m.get("type") == "function_call_output"
        ):
            tcid = m.get("tool_call_id", m.get("call_id"))
            tc_or = by_call.pop(tcid, None) if isinstance(tcid, str) else None
            if tc_or is None and pending:
                tc_or = next(iter(pending.values()))  # by position: the oldest unobserved
            if tc_or is None or pending.pop(id(tc_or), None) is None:
                # none waits, or the one it names was observed already (by position)
                stats.drop("observation without its action")
                continue
            if at is not None:
                tc_or["ts"] = at
            code = as_int(extra.get("returncode"))
            if extra.get("exception_info") == "action was not executed":
                tc_or["x_not_executed"] = True
            elif code is not None:
                tc_or["outcome"] = "ok" if code == 0 else "error"
                tc_or["x_returncode"] = code
            stats.mapped += 1
        elif role == "exit":
            exit_status = text(extra.get("exit_status"), 100) or exit_status
            stats.drop("exit message (the run's outcome)")
        else:
            stats.drop(f"{str(role)[:40]} message (no event kind)")
    if not out:
        stats.unit("trajectory with no model call: no run")
        return
    begin = f"{run}:run_start"
    start = run_start(run, begin, first, pipeline)
    version = text(info.get("mini_version"), 40)
    if version is not None:
        start["x_mini_version"] = version
    outcome = "unknown" if exit_status is None else "ok" if exit_status == "Submitted" else "error"
    end = run_end(run, begin, last, pipeline, outcome)
    if exit_status is not None:
        end["x_exit_status"] = exit_status
    ms = as_dict(info.get("model_stats"))
    total = usd_to_microusd(ms.get("instance_cost"))
    if total:
        end["x_instance_cost_microusd"] = total
        _spread(total, [ev for ev in out if ev["kind"] == "model_call"])
    calls = as_int(ms.get("api_calls"))
    if calls is not None:
        end["x_api_calls"] = calls
    yield from emit_run(name, (1, start), ((1, ev) for ev in out), (1, end), stats)


def _spread(total: int, calls: list[dict[str, Any]]) -> None:
    """A trajectory that states no call's cost (version 1) but its total: the total spread
    evenly over its calls, each marked as an estimate (IMPORT.md)."""
    if not calls or any(c.get("cost_microusd") is not None for c in calls):
        return
    if any("x_cost_note" in c for c in calls):  # a call said unpriced: the total is not theirs
        return
    share, rest = divmod(total, len(calls))
    for i, c in enumerate(calls):
        c["cost_microusd"] = share + (rest if i == len(calls) - 1 else 0)
        c["x_cost_estimated"] = True
        c["x_cost_source"] = f"info.model_stats.instance_cost spread over {len(calls)} call(s)"


def sniff(probe: Probe) -> str | None:
    """What mini-swe-agent shape the source is (None: not one)."""
    if _is_traj(probe.json):
        return "a mini-swe-agent trajectory (*.traj.json)"
    return None
