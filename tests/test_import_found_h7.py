"""Readings found wrong on real traces the project had not seen (session 7), each held here in
the shape of the real file, written anew: the numbers the importer must get right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .test_import_found_h6 import _events, _write_lines

# -- Gemini CLI: a tool call that ran a subagent --------------------------------------------------


def _gemini_session(tmp_path: Path) -> Path:
    """A JSON Lines recording: metadata, a prompt, then one reply whose calls ran two
    subagents (one shown by its progress display, one through the ``agent`` tool) and a shell
    command."""
    return _write_lines(
        tmp_path / "session-2026-07-01T10-00-5d1e.jsonl",
        [
            {
                "sessionId": "5d1e0a9c-7b1f-4c83-9e62-0a4f7c1d2b33",
                "projectHash": "c0ffee",
                "startTime": "2026-07-01T10:00:00.000Z",
                "lastUpdated": "2026-07-01T10:02:00.000Z",
                "kind": "main",
            },
            {"id": "m1", "timestamp": "2026-07-01T10:00:01.000Z", "type": "user", "content": "go"},
            {
                "id": "m2",
                "timestamp": "2026-07-01T10:00:05.000Z",
                "type": "gemini",
                "model": "gemini-3-pro-preview",
                "content": "Looking.",
                "tokens": {"input": 900, "output": 60, "cached": 0, "total": 960},
                "toolCalls": [
                    {
                        "id": "c-inv",
                        "name": "codebase_investigator",
                        "args": {"objective": "map the API"},
                        "status": "success",
                        "timestamp": "2026-07-01T10:01:00.000Z",
                        "resultDisplay": {
                            "isSubagentProgress": True,
                            "agentName": "codebase_investigator",
                            "state": "completed",
                            "recentActivity": [],
                        },
                    },
                    {
                        "id": "c-gen",
                        "name": "agent",
                        "args": {"agent_name": "docs_writer", "prompt": "write it up"},
                        "agentId": "agent-7",
                        "status": "success",
                        "timestamp": "2026-07-01T10:01:30.000Z",
                    },
                    {
                        "id": "c-sh",
                        "name": "run_shell_command",
                        "args": {"command": "ls"},
                        "status": "success",
                        "timestamp": "2026-07-01T10:01:40.000Z",
                    },
                ],
            },
        ],
    )


def test_gemini_subagent_calls_are_spawns(tmp_path: Path) -> None:
    events, _ = _events(_gemini_session(tmp_path))
    spawns = [e for e in events if e["kind"] == "spawn"]
    assert sorted(e["child"] for e in spawns) == [
        "gemini-cli:codebase_investigator",
        "gemini-cli:docs_writer",
    ]
    assert all(e["agent"] == "gemini-cli" and e["depth"] == 1 for e in spawns)
    tools = [e["tool"] for e in events if e["kind"] == "tool_call"]
    assert tools == ["codebase_investigator", "agent", "run_shell_command"]
    assert [e["kind"] for e in events].count("model_call") == 1
    order = [e["span"] for e in events]
    assert order.index("c-inv:spawn") < order.index("c-inv")


# -- mini-swe-agent 2: Responses API replies and replies that failed to parse ----------------------


def _mini_traj(tmp_path: Path) -> Path:
    """A trajectory as a Responses API model writes it: the reply is the response object itself
    (no role), its observation a ``function_call_output`` by ``call_id``; then a reply with no
    tool call, kept only as the format error message that carries its cost; then the exit."""
    t0 = 1_780_000_000.0
    doc = {
        "trajectory_format": "mini-swe-agent-1.1",
        "info": {
            "model_stats": {"instance_cost": 0.05, "api_calls": 3},
            "config": {"model": {"model_name": "openai/gpt-5-mini"}},
            "mini_version": "2.1.0",
            "exit_status": "Submitted",
            "submission": "diff",
        },
        "messages": [
            {"role": "system", "content": "You fix bugs."},
            {"role": "user", "content": "Fix the bug."},
            {
                "id": "resp_01",
                "object": "response",
                "model": "gpt-5-mini-2025-08-07",
                "output": [{"type": "function_call", "call_id": "fc_1", "name": "bash"}],
                "usage": {"input_tokens": 1200, "output_tokens": 80, "total_tokens": 1280},
                "extra": {
                    "actions": [{"command": "pytest -x", "tool_call_id": "fc_1"}],
                    "cost": 0.02,
                    "timestamp": t0 + 1,
                },
            },
            {
                "type": "function_call_output",
                "call_id": "fc_1",
                "output": "1 failed",
                "extra": {"raw_output": "1 failed", "returncode": 1, "timestamp": t0 + 3},
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "No tool calls found."}],
                "extra": {
                    "interrupt_type": "FormatError",
                    "cost": 0.01,
                    "response": {"model": "gpt-5-mini-2025-08-07", "usage": {"input_tokens": 1300}},
                },
            },
            {
                "id": "resp_03",
                "object": "response",
                "model": "gpt-5-mini-2025-08-07",
                "output": [],
                "usage": {"input_tokens": 1400, "output_tokens": 20},
                "extra": {
                    "actions": [{"command": "echo done", "tool_call_id": "fc_3"}],
                    "cost": 0.02,
                    "timestamp": t0 + 9,
                },
            },
            {
                "type": "function_call_output",
                "call_id": "fc_3",
                "output": "done",
                "extra": {"returncode": 0, "timestamp": t0 + 10},
            },
            {"role": "exit", "content": "", "extra": {"exit_status": "Submitted"}},
        ],
    }
    path = tmp_path / "astropy__astropy-1.traj.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_mini_swe_agent_responses_replies_and_format_errors_are_calls(tmp_path: Path) -> None:
    events, summary = _events(_mini_traj(tmp_path))
    calls = [e for e in events if e["kind"] == "model_call"]
    assert len(calls) == 3  # as info.model_stats.api_calls says
    assert sum(c["cost_microusd"] for c in calls) == 50_000  # the instance cost, call by call
    assert [c["input_tokens"] for c in calls] == [1200, 1300, 1400]
    assert [c["output_tokens"] for c in calls] == [80, 0, 20]
    assert calls[1]["x_usage"] == "output_tokens unknown"  # not stated: unknown, not 0
    assert calls[1]["x_format_error"] is True and calls[1]["x_time"] == "unknown"
    assert all(c["model"]["family"] == "gpt-5" for c in calls)
    tools = [e for e in events if e["kind"] == "tool_call"]
    assert [(t["span"], t["outcome"]) for t in tools] == [("fc_1", "error"), ("fc_3", "ok")]
    assert events[-1]["kind"] == "run_end" and events[-1]["outcome"] == "ok"
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]
    assert summary["dropped"] == {
        "exit message (the run's outcome)": 1,
        "system message (no event kind)": 1,
        "user message (no event kind)": 1,
    }


# -- OpenHands SDK: totals of a model no one priced ------------------------------------------------


def _oh_stats(at: str, n: int, prompt: int, completion: int) -> dict[str, Any]:
    usage = {"model": "litellm_proxy/minimax-m2.7", "prompt_tokens": prompt}
    usage["completion_tokens"] = completion
    metrics = {
        "model_name": "litellm_proxy/minimax-m2.7",
        "accumulated_cost": 0.0,
        "accumulated_token_usage": usage,
    }
    return {
        "id": f"state-{n}",
        "timestamp": at,
        "source": "environment",
        "key": "stats",
        "value": {"usage_to_metrics": {"default": metrics}},
        "kind": "ConversationStateUpdateEvent",
    }


def test_openhands_sdk_unpriced_totals_are_unknown_not_zero(tmp_path: Path) -> None:
    """A proxy model the SDK cannot price leaves ``accumulated_cost: 0.0`` beside thousands of
    tokens: the run's cost is unknown, never a stated $0."""
    action = {
        "id": "a1",
        "timestamp": "2026-06-16T05:39:50.000000",
        "source": "agent",
        "thought": [],
        "action": {"command": "ls", "kind": "TerminalAction"},
        "tool_name": "terminal",
        "tool_call_id": "call-1",
        "llm_response_id": "resp-1",
        "kind": "ActionEvent",
    }
    obs = {
        "id": "o1",
        "timestamp": "2026-06-16T05:39:51.000000",
        "source": "environment",
        "tool_name": "terminal",
        "tool_call_id": "call-1",
        "observation": {"content": [{"type": "text", "text": "a b"}], "exit_code": 0},
        "action_id": "a1",
        "kind": "ObservationEvent",
    }
    path = _write_lines(
        tmp_path / "events.jsonl",
        [
            _oh_stats("2026-06-16T05:39:49.000000", 1, 600, 700),
            action,
            obs,
            _oh_stats("2026-06-16T05:39:52.000000", 2, 36000, 960),
        ],
    )
    events, _ = _events(path)
    end = events[-1]
    assert end["kind"] == "run_end"
    assert end["x_total_input_tokens"] == 36000
    assert "x_accumulated_cost_microusd" not in end
    assert end["x_accumulated_cost"].startswith("unknown")
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["cost_microusd"] == 0 and call["x_cost"] == "unknown"  # marked, not $0
