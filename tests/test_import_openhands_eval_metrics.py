"""Issue 25, "dropped silently": OpenHands evaluation output states per-call costs and token
usage (``metrics.costs``/``metrics.token_usages``, one entry per completion) and the run's
``success`` beside its history; they were dropped. Our own record, in the shape of OpenHands
evaluation output (``instance_id``, ``instruction``, ``history``, ``metrics``, ``test_result``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness_audit.importers import import_trace


def _action(eid: int, resp: str, call: str, ts: str) -> dict[str, Any]:
    return {
        "id": eid,
        "timestamp": ts,
        "source": "agent",
        "action": "run",
        "tool_call_metadata": {
            "function_name": "execute_bash",
            "tool_call_id": call,
            "model_response": {"id": resp, "model": "anthropic/claude-3-5-sonnet-20241022"},
        },
        "args": {"command": "ls"},
    }


def _obs(eid: int, cause: int, ts: str) -> dict[str, Any]:
    return {"id": eid, "timestamp": ts, "source": "agent", "cause": cause, "observation": "run"}


RECORD = {
    "instance_id": "demo__proj-7",
    "instruction": "fix the failing test",
    "history": [
        _action(1, "resp-a", "c1", "2025-05-01T10:00:01.000000"),
        _obs(2, 1, "2025-05-01T10:00:02.000000"),
        _action(3, "resp-b", "c2", "2025-05-01T10:00:03.000000"),
        _obs(4, 3, "2025-05-01T10:00:04.000000"),
    ],
    "metrics": {
        "accumulated_cost": 0.0651,
        "costs": [
            {"model": "claude-3-5-sonnet", "cost": 0.0201, "timestamp": 1746093601.0},
            {"model": "claude-3-5-sonnet", "cost": 0.0220, "timestamp": 1746093603.0},
            {"model": "claude-3-5-sonnet", "cost": 0.0230, "timestamp": 1746093605.0},
        ],
        "token_usages": [
            {
                "model": "claude-3-5-sonnet",
                "prompt_tokens": 5000,
                "completion_tokens": 120,
                "response_id": "resp-a",
            },
            {
                "model": "claude-3-5-sonnet",
                "prompt_tokens": 6100,
                "completion_tokens": 80,
                "response_id": "resp-b",
            },
            # a call the history does not show (the final message): still a call that happened
            {
                "model": "claude-3-5-sonnet",
                "prompt_tokens": 6300,
                "completion_tokens": 40,
                "response_id": "resp-c",
            },
        ],
    },
    "test_result": {"success": True},
}


def test_eval_output_costs_tokens_and_success(tmp_path: Path) -> None:
    p = tmp_path / "output.jsonl"
    p.write_text(json.dumps(RECORD) + "\n")
    job = import_trace([p])
    events = [r.event for r in job.events()]
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert set(calls) == {"llm:resp-a", "llm:resp-b", "llm:resp-c"}
    assert [calls[k]["cost_microusd"] for k in sorted(calls)] == [20100, 22000, 23000]
    assert calls["llm:resp-a"]["input_tokens"] == 5000
    assert calls["llm:resp-c"]["output_tokens"] == 40
    assert sum(c["cost_microusd"] for c in calls.values()) == 65100
    (end,) = [e for e in events if e["kind"] == "run_end"]
    assert end["x_success"] is True and end["x_accumulated_cost_microusd"] == 65100
    s = job.summary()
    assert s["records_read"] == s["records_mapped"] + s["records_dropped"]
