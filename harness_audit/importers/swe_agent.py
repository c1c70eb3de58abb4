"""SWE-agent trajectories (``.traj``): ``{"trajectory": [steps], "info": {"model_stats": …}}``.

One trajectory is one run; each step is a model_call and a tool_call (the first word of its
``action`` is the tool). ``.traj`` steps carry no token counts or times of their own, so the
totals of ``model_stats`` are spread over the steps, integer-exact (the remainder on the first)
and marked as estimates (``x_cost_estimated`` with ``x_cost_source``, ``x_usage_estimated``);
totals the stats do not state stay unknown, and a step without a timestamp has an unknown time
(``x_time``, :mod:`~harness_audit.importers.unknown`), never one from 1970. A trajectory whose
model calls no model (``replay``, ``human``) or whose stats state 0 API calls for its steps (a
demonstration written by SWE-agent's replay) is named a replay on ``run_start`` (``x_replay``),
and its steps are tool calls only, never model calls that happened. The run config (``args.yaml`` or
``config.yaml`` in the same folder, or ``<instance>.config.yaml`` / ``run_batch.config.yaml`` as
SWE-agent 1.x writes them, given as another SOURCE) supplies the model name and
``per_instance_cost_limit``, checked in a ``budget_check``. SWE-agent 1.x writes those configs as
a YAML string holding JSON; both forms are read. Without a config, the model name comes from the
trajectory's own ``replay_config`` (no budget check: the cap is not given as a SOURCE).

A RetryAgent's trajectory (``{"attempts": [...]}`` plus the chosen attempt) is still one run, its
attempts one after another (spans ``attempt-<i>:…``, events ``x_attempt``; every attempt acted,
``x_chosen_attempt`` on ``run_start`` names the one chosen), each with the model and cap of its
config (``agent.agent_configs[i % n]``), and the retry loop's ``cost_limit`` checked against the
whole.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_audit.importers import tables
from harness_audit.importers.base import (
    ImportStats,
    Mapping,
    as_dict,
    as_float,
    as_int,
    fail,
    json_loads,
    ns_to_ts,
    run_end,
    run_start,
    text,
    ts_to_ns,
    usd_to_microusd,
)
from harness_audit.importers.probe import Probe
from harness_audit.trail.source import RawEvent

NAME = "swe-agent"
DESCRIPTION = "SWE-agent trajectories (.traj, with args.yaml/config.yaml beside them)"
CONFIG_NAMES = ("args.yaml", "config.yaml")
AGENT = "swe-agent"


def _decode(value: Any) -> Any:
    """A config value, with SWE-agent 1.x's JSON-in-a-YAML-string decoded."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json_loads(value.encode())
        except ValueError:
            return None
    return value


def _config(path: Path, configs: dict[Path, Any]) -> dict[str, Any]:
    for name in (f"{path.stem}.config.yaml", *CONFIG_NAMES, "run_batch.config.yaml"):
        c = _decode(configs.get(path.parent / name))
        if isinstance(c, dict):
            return c
    return {}


def _dig(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _spread(total: int, n: int, i: int) -> int:
    base, rest = divmod(total, n)
    return base + (rest if i == 0 else 0)


def read(
    path: Path,
    mapping: Mapping,
    stats: ImportStats,
    pipeline: str,
    probe: Probe | None = None,
    configs: dict[Path, Any] | None = None,
) -> Iterator[RawEvent]:
    """The events of one trajectory, as one run (a RetryAgent's attempts one after another)."""
    name = str(path)
    probe = probe or Probe.of(path)
    doc = probe.document()
    attempts = _attempts(doc)
    if attempts is None and not (isinstance(doc, dict) and isinstance(doc.get("trajectory"), list)):
        raise fail(name, "no SWE-agent trajectory in this file", 1, '{"trajectory": [...]}')
    assert isinstance(doc, dict)
    cfg = _config(path, configs or {})
    if attempts is None:
        parts = [
            _Part(
                doc,
                _model_name(_dig(cfg, "agent"), cfg, _decode(doc.get("replay_config"))),
                as_float(_dig(cfg, "agent", "model", "per_instance_cost_limit"))
                or as_float(_dig(cfg, "model", "per_instance_cost_limit")),
                "",
            )
        ]
        yield from _run(name, path.stem, parts, doc, None, mapping, stats, pipeline)
        return
    # SWE-agent 1.x RetryAgent: every attempt acted, the chosen one is marked; the attempt
    # configs cycle (agent_configs[i % n]); the loop's own cap covers them all
    agent_cfgs = [c for c in _dig(cfg, "agent", "agent_configs") or [] if isinstance(c, dict)]
    parts = []
    for i, attempt in enumerate(attempts):
        acfg = agent_cfgs[i % len(agent_cfgs)] if agent_cfgs else {}
        model = _model_name(acfg, {}, _decode(attempt.get("replay_config")))
        cap = as_float(_dig(acfg, "model", "per_instance_cost_limit"))
        parts.append(_Part(attempt, model, cap, f"attempt-{i}:", i))
    loop_cap = as_float(_dig(cfg, "agent", "retry_loop", "cost_limit"))
    yield from _run(name, path.stem, parts, doc, loop_cap, mapping, stats, pipeline)


@dataclass
class _Part:
    """One trajectory of a run (a RetryAgent's attempt), with its model and cap."""

    doc: dict[str, Any]
    model: str
    cap_usd: float | None
    prefix: str  # of its spans: "" or "attempt-<i>:"
    attempt: int | None = None


def _attempts(doc: Any) -> list[dict[str, Any]] | None:
    """A RetryAgent trajectory's attempts (each a trajectory of its own); None: not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("attempts"), list):
        return None
    out = [
        a for a in doc["attempts"] if isinstance(a, dict) and isinstance(a.get("trajectory"), list)
    ]
    return out or None


def _model_name(agent_cfg: Any, cfg: Any, replay: Any) -> str:
    return (
        text(_dig(agent_cfg, "model", "name"), 200)
        or text(_dig(agent_cfg, "model", "model_name"), 200)
        or text(_dig(cfg, "model", "model_name"), 200)
        or text(_dig(cfg, "model", "name"), 200)
        or text(_dig(replay, "agent", "model", "name"), 200)
        or text(_dig(replay, "agent", "model", "model_name"), 200)
        or "unknown"
    )


def _cost(model_stats: Any) -> int | None:
    """The stated cost in micro-dollars; None when the stats state none (unknown, not $0)."""
    ms = as_dict(model_stats)
    return usd_to_microusd(ms.get("instance_cost", ms.get("total_cost")))


REPLAY_MODELS = frozenset({"replay", "human", "human_thought", "instant_empty_submit"})
"""SWE-agent's model names that call no model: a replayed trajectory, a human at the keyboard,
a demonstration's thoughts typed by hand, a test stub."""


def _replay(part: _Part, steps: int) -> str | None:
    """Why a trajectory's steps are not model calls that happened (None: they are): a model
    that is a replay or a human, or model stats that state 0 API calls for its steps (a
    demonstration, written by SWE-agent's replay)."""
    name = part.model.rsplit("/", 1)[-1].lower()
    if name in REPLAY_MODELS:
        return f"model {part.model!r} calls no model (a replay or a human)"
    ms = as_dict(as_dict(part.doc.get("info")).get("model_stats"))
    if steps and as_int(ms.get("api_calls")) == 0:
        return f"model_stats state 0 API calls for {steps} steps (a replay or demonstration)"
    return None


def _run(
    name: str,
    run: str,
    parts: list[_Part],
    top: dict[str, Any],
    loop_cap: float | None,
    mapping: Mapping,
    stats: ImportStats,
    pipeline: str,
) -> Iterator[RawEvent]:
    """The events of one run: its trajectories' steps in order, a ``budget_check`` for each
    cap given, the outcome of the file's own ``info``."""
    agent = mapping.agent(AGENT)
    begin = f"{run}:run_start"
    info = as_dict(top.get("info"))
    start = run_start(run, begin, 0, pipeline)
    chosen = as_int(info.get("best_attempt_idx"))
    for part in parts:
        why = _replay(part, len(part.doc["trajectory"]))
        if why is not None:
            start["x_replay"] = why
            break
    if parts[0].attempt is not None:
        start["x_attempts"] = len(parts)
        if chosen is not None:
            start["x_chosen_attempt"] = chosen
    yield RawEvent(name, 1, start)
    stats.events["run_start"] += 1
    clock = 0
    exit_status = text(info.get("exit_status"), 100) or "unknown"
    checks: list[tuple[float | None, int | None, str]] = []
    for part in parts:
        clock = yield from _steps(name, run, part, begin, agent, clock, mapping, stats)
        checks.append(
            (part.cap_usd, _cost(as_dict(part.doc.get("info")).get("model_stats")), part.prefix)
        )
    if loop_cap is not None:  # the retry loop's cap, on all the attempts and the reviewer spent
        checks.append((loop_cap, _cost(info.get("model_stats")), "retry-loop-"))
    for cap_usd, spent, prefix in checks:
        if cap_usd is None or cap_usd <= 0:
            continue
        if spent is None:  # no stated spend: a check of it would be a $0 that is not known
            stats.note("a cost cap is configured but the trajectory states no cost: not checked")
            continue
        cap = usd_to_microusd(cap_usd) or 0
        blocked = spent > cap or "cost" in exit_status
        stats.events["budget_check"] += 1
        yield RawEvent(
            name,
            1,
            {
                "ts": ns_to_ts(clock),
                "run": run,
                "span": f"{run}:{prefix}budget",
                "parent": begin,
                "agent": "harness",
                "kind": "budget_check",
                "spent_microusd": spent,
                "cap_microusd": cap,
                "outcome": "blocked" if blocked else "ok",
            },
        )
    stats.events["run_end"] += 1
    stats.runs += 1
    yield RawEvent(name, 1, run_end(run, begin, clock, pipeline, exit_status))


def _steps(
    name: str,
    run: str,
    part: _Part,
    begin: str,
    agent: str,
    clock: int,
    mapping: Mapping,
    stats: ImportStats,
) -> Generator[RawEvent, None, int]:
    """A model_call and a tool_call per step of one trajectory; returns the clock after them."""
    raw_steps = part.doc["trajectory"]
    steps = [s for s in raw_steps if isinstance(s, dict)]
    stats.records += len(raw_steps)
    stats.drop("trajectory step that is not an object", len(raw_steps) - len(steps))
    ms = as_dict(as_dict(part.doc.get("info")).get("model_stats"))
    model = tables.resolve_model(part.model).as_dict()
    total_cost = _cost(ms)
    sent = as_int(ms.get("tokens_sent"))
    received = as_int(ms.get("tokens_received"))
    tag: dict[str, Any] = {} if part.attempt is None else {"x_attempt": part.attempt}
    n = max(1, len(steps))
    replay = _replay(part, len(steps))
    if replay is not None:
        tag["x_replay"] = True
        stats.note(f"{name}: {replay}; its steps are imported as replayed, not as model calls")
    for i, step in enumerate(steps):
        ts = ts_to_ns(step.get("timestamp"))
        if ts is not None:
            clock = max(clock, ts)
        at = None if ts is None else ns_to_ts(clock)  # None: no time stated (marked unknown)
        llm = f"{run}:{part.prefix}step{i}:llm"
        if replay is None:
            ev: dict[str, Any] = {
                "ts": at,
                "run": run,
                "span": llm,
                "parent": begin,
                "agent": agent,
                "kind": "model_call",
                "model": model,
                # the stats state totals: spread over the steps, marked as estimates
                "input_tokens": None if sent is None else _spread(sent, n, i),
                "output_tokens": None if received is None else _spread(received, n, i),
                "cost_microusd": None if total_cost is None else _spread(total_cost, n, i),
                "x_usage_estimated": True,
                **tag,
            }
            if total_cost is not None:
                ev["x_cost_estimated"] = True
                ev["x_cost_source"] = f"model_stats.instance_cost spread over {n} step(s)"
            stats.events["model_call"] += 1
            yield RawEvent(name, 1, ev)
        action = step.get("action")
        words = action.strip().split() if isinstance(action, str) else []
        if not words:
            if replay is None:
                stats.mapped += 1  # its model call
            else:
                stats.drop("replayed step without an action (no model call happened)")
            continue
        stats.mapped += 1  # (a replayed step: its tool call only, no model call)
        tool = words[0][:200]
        effect, scope = mapping.tool(tool, agent)
        tc: dict[str, Any] = {
            "ts": at,
            "run": run,
            "span": f"{run}:{part.prefix}step{i}",
            "parent": llm if replay is None else begin,
            "agent": agent,
            "kind": "tool_call",
            "tool": tool,
            "effect": effect,
            "scope": scope,
            "outcome": "ok",
            **tag,
        }
        stats.events["tool_call"] += 1
        yield RawEvent(name, 1, tc)
    return clock


def sniff(probe: Probe) -> str | None:
    """What SWE-agent shape the source is (None: not SWE-agent)."""
    doc = probe.json
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("trajectory"), list)
        and ("info" in doc or "history" in doc)
    ):
        return "a SWE-agent trajectory (.traj)"
    if _attempts(doc) is not None:
        return "a SWE-agent RetryAgent trajectory (.traj with attempts)"
    return None


def config_of(probe: Probe) -> dict[str, Any] | None:
    """The run config a SWE-agent config file holds (None: not one).

    ``args.yaml``/``config.yaml``/``*.config.yaml`` with agent or model settings; SWE-agent 1.x
    writes a YAML string that holds the JSON of the config.
    """
    name = probe.path.name
    if name not in CONFIG_NAMES and not name.endswith(".config.yaml"):
        return None
    y = _decode(probe.yaml)
    return y if isinstance(y, dict) and ("agent" in y or "model" in y) else None


def is_config(probe: Probe) -> bool:
    """True for a SWE-agent run config (see :func:`config_of`)."""
    return config_of(probe) is not None
