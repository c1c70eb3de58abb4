"""Issue 25, item 3: unknown is unknown. What a source does not state (usage, cost, time,
outcome) is marked in the trail (``x_usage``, ``x_cost``, ``x_time``, ``x_outcome``), never
written as a bare 0 or 1970; estimates say so; replays are never model calls that happened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.importers import import_trace

EPOCH_YEAR = "1970-"


def _otlp(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}],
            }
        ]
    }


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"key": key, "value": {"stringValue": value}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"intValue": str(value)}}


def _chat(
    sid: str, attrs: dict[str, Any], start: int | None, end: int | None, trace: str = "ab" * 16
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace,
        "spanId": sid,
        "name": "chat gpt-4o",
        "attributes": [
            _attr("gen_ai.operation.name", "chat"),
            _attr("gen_ai.request.model", "gpt-4o"),
            *(_attr(k, v) for k, v in attrs.items()),
        ],
    }
    if start is not None:
        span["startTimeUnixNano"] = str(start)
    if end is not None:
        span["endTimeUnixNano"] = str(end)
    return span


def _import(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    job = import_trace([path])
    events = [r.event for r in job.events()]
    return events, job.summary()


def test_otlp_call_without_usage_or_cost_is_marked_unknown(tmp_path: Path) -> None:
    src = tmp_path / "t.json"
    t0 = 1_700_000_000_000_000_000
    src.write_text(json.dumps(_otlp([_chat("01" * 8, {}, t0, t0 + 5)])))
    events, summary = _import(src)
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["x_cost"] == "unknown" and call["x_usage"] == "unknown"
    assert "x_cost_estimated" not in call
    assert summary["unknown"] == {"cost": 1, "usage": 1}
    assert any("unknown cost" in w for w in summary["warnings"])


def test_partial_usage_names_the_unknown_count(tmp_path: Path) -> None:
    src = tmp_path / "t.json"
    t0 = 1_700_000_000_000_000_000
    attrs = {"gen_ai.usage.input_tokens": 12, "gen_ai.usage.cost": 0.5}
    src.write_text(json.dumps(_otlp([_chat("01" * 8, attrs, t0, t0 + 5)])))
    events, _ = _import(src)
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["input_tokens"] == 12 and call["x_usage"] == "output_tokens unknown"


def test_span_without_time_is_never_1970(tmp_path: Path) -> None:
    src = tmp_path / "t.json"
    src.write_text(json.dumps(_otlp([_chat("01" * 8, {}, None, None)])))
    events, summary = _import(src)
    assert events and not any(str(e["ts"]).startswith(EPOCH_YEAR) for e in events)
    assert all(e["x_time"] == "unknown" and e["x_time_placed"] for e in events)
    assert summary["unknown"]["time"] == len(events)


def test_swe_agent_demonstration_is_no_model_call(tmp_path: Path) -> None:
    """SWE-agent's demonstrations (written by its replay) state 0 API calls for their steps:
    they are named a replay, and their steps are not model calls."""
    traj = {
        "environment": "swe_main",
        "trajectory": [
            {"action": "ls -la", "observation": "x", "thought": "look"},
            {"action": "submit", "observation": "", "thought": "done"},
        ],
        "history": [],
        "info": {
            "exit_status": "submitted",
            "model_stats": {
                "total_cost": 0,
                "instance_cost": 0,
                "tokens_sent": 0,
                "tokens_received": 0,
                "api_calls": 0,
            },
        },
    }
    src = tmp_path / "demo.traj"
    src.write_text(json.dumps(traj))
    events, summary = _import(src)
    kinds = [e["kind"] for e in events]
    assert "model_call" not in kinds and kinds.count("tool_call") == 2
    start = events[0]
    assert start["kind"] == "run_start" and "0 API calls" in start["x_replay"]
    assert all(e.get("x_replay") for e in events if e["kind"] == "tool_call")
    assert not any(str(e["ts"]).startswith(EPOCH_YEAR) for e in events)
    assert any("replay" in w for w in summary["warnings"])


# -- the property: nothing the source does not state appears as a number ----------------------

_stated = st.fixed_dictionaries(
    {},
    optional={
        "gen_ai.usage.input_tokens": st.integers(0, 10**9),
        "gen_ai.usage.output_tokens": st.integers(0, 10**9),
        "gen_ai.usage.cost": st.floats(0, 1000, allow_nan=False),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    calls=st.lists(st.tuples(_stated, st.booleans()), min_size=1, max_size=4),
)
def test_nothing_unstated_is_a_number(
    tmp_path: Path, calls: list[tuple[dict[str, Any], bool]]
) -> None:
    t0 = 1_700_000_000_000_000_000
    spans = [
        _chat(
            f"{i + 1:016x}",
            attrs,
            t0 + i if timed else None,
            t0 + i + 1 if timed else None,
            f"{i + 1:032x}",  # a trace each: one call each, whatever the times
        )
        for i, (attrs, timed) in enumerate(calls)
    ]
    src = tmp_path / "p.json"
    src.write_text(json.dumps(_otlp(spans)))
    events, _ = _import(src)
    by_span = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert len(by_span) == len(calls)
    for i, (attrs, timed) in enumerate(calls):
        call = by_span[f"{i + 1:016x}"]
        usage = str(call.get("x_usage", ""))
        for key, attr in (
            ("input_tokens", "gen_ai.usage.input_tokens"),
            ("output_tokens", "gen_ai.usage.output_tokens"),
        ):
            unknown = usage == "unknown" or usage == f"{key} unknown"
            assert unknown == (attr not in attrs), (key, call)
            if not unknown:
                assert call[key] == attrs[attr]
        assert (call.get("x_cost") == "unknown") == ("gen_ai.usage.cost" not in attrs)
        if "gen_ai.usage.cost" in attrs:
            assert call["cost_microusd"] == round(attrs["gen_ai.usage.cost"] * 1e6)
        assert (call.get("x_time") == "unknown") == (not timed)
        assert not str(call["ts"]).startswith(EPOCH_YEAR)
