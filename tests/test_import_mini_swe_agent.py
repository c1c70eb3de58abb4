"""Issue 25, item 1: mini-swe-agent trajectories (``*.traj.json``) read as ``mini-swe-agent``.

The inputs are our own, in the shape ``DefaultAgent.serialize`` writes (SWE-agent/mini-swe-agent
``src/minisweagent/agents/default.py``: ``info.model_stats``, ``info.exit_status``,
``trajectory_format``; assistant messages with ``extra.actions``/``cost``/``response``/
``timestamp`` from ``models/litellm_model.py``; observations with ``extra.returncode``, as
``tool`` messages by ``tool_call_id`` from ``models/utils/actions_toolcall.py``; the ``exit``
message).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace
from harness_audit.trail.note import Signer
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter


def _assistant(n: int, cost: float, commands: list[str], t: float) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": f"tc{n}{i}"} for i in range(len(commands))],
        "extra": {
            "actions": [
                {"command": c, "tool_call_id": f"tc{n}{i}"} for i, c in enumerate(commands)
            ],
            "response": {
                "model": "claude-sonnet-4-5-20250929",
                "usage": {"prompt_tokens": 1000 * n, "completion_tokens": 40 * n},
            },
            "cost": cost,
            "timestamp": t,
        },
    }


def _tool(call: str, code: int, t: float) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call,
        "content": f"<returncode>{code}</returncode>",
        "extra": {"raw_output": "", "returncode": code, "timestamp": t},
    }


TRAJ = {
    "info": {
        "model_stats": {"instance_cost": 0.0125, "api_calls": 3},
        "config": {"model": {"model_name": "anthropic/claude-sonnet-4-5"}},
        "mini_version": "2.0.0",
        "exit_status": "Submitted",
        "submission": "diff --git a/x b/x",
    },
    "messages": [
        {"role": "system", "content": "You are a helpful assistant"},
        {"role": "user", "content": "Please solve this issue: ..."},
        _assistant(1, 0.005, ["ls -la", "cat setup.py"], 1767000000.25),
        _tool("tc10", 0, 1767000001.0),
        _tool("tc11", 1, 1767000001.5),
        _assistant(2, 0.0075, ["python -m pytest -q"], 1767000003.0),
        _tool("tc20", 0, 1767000009.0),
        _assistant(3, 0.0, ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"], 1767000010.0),
        {"role": "exit", "content": "", "extra": {"exit_status": "Submitted", "submission": ""}},
    ],
    "trajectory_format": "mini-swe-agent-1.1",
}


def _write(tmp_path: Path, doc: Any) -> Path:
    p = tmp_path / "sympy__sympy-20590.traj.json"
    p.write_text(json.dumps(doc, indent=2))
    return p


def test_a_trajectory_is_read(tmp_path: Path) -> None:
    p = _write(tmp_path, TRAJ)
    assert detect_trace(p).format == "mini-swe-agent"
    job = import_trace([p])
    events = [r.event for r in job.events()]
    s = job.summary()
    assert Counter(str(e["kind"]) for e in events) == {
        "run_start": 1,
        "run_end": 1,
        "model_call": 3,
        "tool_call": 4,
    }
    calls = [e for e in events if e["kind"] == "model_call"]
    assert [c["cost_microusd"] for c in calls[:2]] == [5000, 7500]
    assert calls[2]["x_cost"] == "unknown"  # 0 written: not priced, never $0
    assert [c["input_tokens"] for c in calls] == [1000, 2000, 3000]
    assert calls[0]["model"]["name"] == "claude-sonnet-4-5-20250929"
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    assert tools["tc10"]["outcome"] == "ok" and tools["tc11"]["outcome"] == "error"
    assert tools["tc20"]["ts"].startswith("2025-12-29T09:20:09")
    assert tools["tc30"]["x_outcome"] == "unknown"  # no observation: not stated
    (end,) = [e for e in events if e["kind"] == "run_end"]
    assert end["outcome"] == "ok" and end["x_api_calls"] == 3
    assert end["x_instance_cost_microusd"] == 12500
    assert s["records_read"] == len(TRAJ["messages"]) + 1
    assert s["records_read"] == s["records_mapped"] + s["records_dropped"]


def test_sealed_trajectory_verifies(tmp_path: Path) -> None:
    events = [r.event for r in import_trace([_write(tmp_path, TRAJ)]).events()]
    signer = Signer.from_seed("test", b"\x07" * 32)
    with TrailWriter(tmp_path / "t", "harness-audit/test", signer) as w:
        for e in events:
            w.append(e)
    assert verify_trail([tmp_path / "t"], [signer.verifier]).ok


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["assistant", "user", "tool", "exit", "system", 3])},
            optional={
                "tool_call_id": st.one_of(st.text(max_size=3), st.integers()),
                "extra": st.one_of(
                    st.integers(),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "actions": st.one_of(
                                st.lists(
                                    st.one_of(
                                        st.integers(),
                                        st.fixed_dictionaries(
                                            {"tool_call_id": st.text(max_size=3)}
                                        ),
                                    ),
                                    max_size=3,
                                ),
                                st.text(max_size=3),
                            ),
                            "cost": st.one_of(st.floats(), st.text(max_size=3), st.integers()),
                            "returncode": st.one_of(st.integers(), st.text(max_size=3)),
                            "timestamp": st.one_of(st.floats(), st.text(max_size=10)),
                            "response": st.one_of(
                                st.integers(),
                                st.dictionaries(
                                    st.sampled_from(["model", "usage"]),
                                    st.one_of(st.text(max_size=5), st.integers()),
                                ),
                            ),
                        },
                    ),
                ),
            },
        ),
        max_size=8,
    )
)
def test_mini_swe_agent_fuzz_no_traceback(tmp_path: Path, messages: list[Any]) -> None:
    p = _write(tmp_path, {"messages": messages, "trajectory_format": "mini-swe-agent-1.1"})
    try:
        job = import_trace([p], "mini-swe-agent")
        list(job.events())
    except HarnessAuditError:
        return
    s = job.summary()
    assert s["records_read"] == s["records_mapped"] + s["records_dropped"]
