"""Issue 25: other versions of the coding agents' formats than the first readers were written
for, found on real files (parsers' fixtures and the tools' own history), each on an input
written here in that shape:

- Codex rollouts with no ``token_count`` (older versions wrote none): one model call per model
  turn, usage unknown; ``spawn_agent`` with its ``collab_tool_call`` (a spawn), a sub-agent's
  rollout that names its parent thread and begins with history copied from it; a call whose
  output the rollout does not hold; the early header line with only ``id`` and ``timestamp``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace


def _events(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    job = import_trace([path])
    return [r.event for r in job.events()], job.summary()


def _adds_up(summary: dict[str, Any]) -> None:
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _rec(t: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": f"2026-02-10T09:00:{t}Z", "type": kind, "payload": payload}


def test_codex_without_token_count_one_call_per_model_turn(tmp_path: Path) -> None:
    src = _jsonl(
        tmp_path / "rollout-2026-02-10T09-00-00-aaaa.jsonl",
        [
            _rec("00.000", "session_meta", {"id": "aaaa", "cli_version": "0.30.0"}),
            _rec(
                "00.100", "turn_context", {"model": "gpt-5-codex", "approval_policy": "on-request"}
            ),
            _rec("01.000", "event_msg", {"type": "user_message", "message": "tidy up"}),
            _rec("01.001", "response_item", {"type": "message", "role": "user", "content": []}),
            # turn 1: reasoning and two calls in one response
            _rec("02.000", "response_item", {"type": "reasoning", "summary": []}),
            _rec(
                "02.100",
                "response_item",
                {"type": "function_call", "name": "shell", "call_id": "k1"},
            ),
            _rec(
                "02.200",
                "response_item",
                {"type": "function_call", "name": "shell", "call_id": "k2"},
            ),
            _rec(
                "03.000",
                "response_item",
                {"type": "function_call_output", "call_id": "k1", "output": "Exit code: 0"},
            ),
            _rec(
                "03.100",
                "response_item",
                {"type": "function_call_output", "call_id": "k2", "output": "Exit code: 2"},
            ),
            # turn 2: an answer, said twice (event and item) in the same turn
            _rec("04.000", "event_msg", {"type": "agent_message", "message": "done"}),
            _rec(
                "04.001", "response_item", {"type": "message", "role": "assistant", "content": []}
            ),
            # turn 3 after the next prompt: a patch whose output never came (the file ends)
            _rec("05.000", "event_msg", {"type": "user_message", "message": "and the docs"}),
            _rec(
                "06.000",
                "response_item",
                {"type": "custom_tool_call", "name": "apply_patch", "call_id": "k3"},
            ),
        ],
    )
    events, summary = _events(src)
    calls = [e for e in events if e["kind"] == "model_call"]
    assert len(calls) == 3
    for c in calls:
        assert c["model"]["name"] == "gpt-5-codex"
        assert c["x_usage"] == "unknown" and c["x_cost"] == "unknown"
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    assert set(tools) == {"k1", "k2", "k3"}
    assert tools["k1"]["outcome"] == "ok" and tools["k2"]["outcome"] == "error"
    assert tools["k3"]["x_outcome"] == "unknown"  # no output in the file: not "ok"
    assert tools["k3"]["ts"].startswith("2026-02-10T09:00:06")  # where it was made
    _adds_up(summary)


def test_codex_with_token_count_keeps_its_calls(tmp_path: Path) -> None:
    usage = {"input_tokens": 100, "output_tokens": 7}
    src = _jsonl(
        tmp_path / "rollout-b.jsonl",
        [
            _rec("00.000", "session_meta", {"id": "b"}),
            _rec("01.000", "response_item", {"type": "reasoning", "summary": []}),
            _rec(
                "01.500", "response_item", {"type": "message", "role": "assistant", "content": []}
            ),
            _rec(
                "02.000",
                "event_msg",
                {
                    "type": "token_count",
                    "info": {"total_token_usage": usage, "last_token_usage": usage},
                },
            ),
        ],
    )
    events, _ = _events(src)
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["input_tokens"] == 100 and "x_usage" not in call


def test_codex_spawn_and_the_sub_agents_rollout(tmp_path: Path) -> None:
    parent = _jsonl(
        tmp_path / "rollout-p.jsonl",
        [
            _rec("00.000", "session_meta", {"id": "thread-p", "source": "cli"}),
            _rec(
                "01.000",
                "response_item",
                {"type": "function_call", "name": "spawn_agent", "call_id": "s1"},
            ),
            _rec(
                "01.500",
                "event_msg",
                {
                    "type": "collab_tool_call",
                    "call_id": "s1",
                    "tool": "spawn_agent",
                    "new_thread_id": "thread-c",
                },
            ),
            _rec(
                "02.000",
                "response_item",
                {"type": "function_call_output", "call_id": "s1", "output": "spawned"},
            ),
        ],
    )
    events, summary = _events(parent)
    (spawn,) = [e for e in events if e["kind"] == "spawn"]
    assert spawn["x_child_run"] == "thread-c" and spawn["depth"] == 1
    _adds_up(summary)
    thread = {"parent_thread_id": "thread-p", "spawn_call_id": "s1"}
    child = _jsonl(
        tmp_path / "rollout-c.jsonl",
        [
            _rec(
                "03.000",
                "session_meta",
                {"id": "thread-c", "source": {"subagent": {"thread_spawn": thread}}},
            ),
            # the parent's history, copied into the fork: not the child's own
            _rec(
                "01.000",
                "response_item",
                {"type": "function_call", "name": "spawn_agent", "call_id": "s1"},
            ),
            _rec("04.000", "event_msg", {"type": "user_message", "message": "look"}),
            _rec("05.000", "response_item", {"type": "local_shell_call", "call_id": "c1"}),
            _rec(
                "06.000",
                "response_item",
                {"type": "function_call_output", "call_id": "c1", "output": "Exit code: 0"},
            ),
        ],
    )
    events, summary = _events(child)
    assert events[0]["x_parent_run"] == "thread-p" and events[0]["x_spawn_call"] == "s1"
    assert events[0]["ts"].startswith("2026-02-10T09:00:03")
    assert [e["span"] for e in events if e["kind"] == "tool_call"] == ["c1"]
    assert (
        summary["dropped"][
            "history the sub-agent's rollout copied from its parent (before it began)"
        ]
        == 1
    )
    _adds_up(summary)


def test_codex_early_header_without_instructions(tmp_path: Path) -> None:
    src = _jsonl(
        tmp_path / "rollout-early.jsonl",
        [
            {"id": "e1", "timestamp": "2025-05-01T10:00:00Z"},
            {"type": "message", "role": "user", "content": []},
            {"type": "function_call", "name": "shell", "call_id": "x", "arguments": "{}"},
            {
                "type": "function_call_output",
                "call_id": "x",
                "output": '{"output": "", "metadata": {"exit_code": 0}}',
            },
            {"type": "message", "role": "assistant", "content": []},
        ],
    )
    assert detect_trace(src).format == "codex"
    events, summary = _events(src)
    kinds = Counter(e["kind"] for e in events)
    assert kinds["model_call"] == 2 and kinds["tool_call"] == 1
    assert events[0]["run"] == "e1" and events[0]["ts"].startswith("2025-05-01T10:00:00")
    _adds_up(summary)


def _v1_messages(t0: float) -> list[dict[str, Any]]:
    """A version 1 exchange: actions in the text, observations with their return code."""
    fence = "`" * 3
    return [
        {"role": "system", "content": "You can run commands.", "timestamp": t0},
        {"role": "user", "content": "Fix the failing test.", "timestamp": t0 + 1},
        {
            "role": "assistant",
            "content": f"THOUGHT: look\n\n{fence}bash\nls src\n{fence}",
            "timestamp": t0 + 2,
        },
        {
            "role": "user",
            "content": "<returncode>0</returncode>\n<output>\na.py\n</output>",
            "timestamp": t0 + 3,
        },
        # two blocks: a format error, nothing ran
        {
            "role": "assistant",
            "content": f"{fence}bash\nA\n{fence} then {fence}bash\nB\n{fence}",
            "timestamp": t0 + 4,
        },
        {
            "role": "user",
            "content": "Please always provide EXACTLY ONE action.",
            "timestamp": t0 + 5,
        },
        {
            "role": "assistant",
            "content": f"again\n{fence}bash\npytest -x\n{fence}",
            "timestamp": t0 + 6,
        },
        {
            "role": "user",
            "content": "<returncode>1</returncode>\n<output>\nFAILED\n</output>",
            "timestamp": t0 + 7,
        },
        {
            "role": "assistant",
            "content": "<bash_code>echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT</bash_code>",
            "timestamp": t0 + 8,
        },
        {"role": "user", "content": "diff --git a/x b/x", "timestamp": t0 + 9},
    ]


def test_mini_swe_agent_v1_actions_in_the_text(tmp_path: Path) -> None:
    src = tmp_path / "issue-7.traj.json"
    doc = {
        "info": {
            "exit_status": "Submitted",
            "submission": "diff --git a/x b/x",
            "model_stats": {"instance_cost": 0.0123, "api_calls": 4},
            "mini_version": "1.17.3",
            "config": {"model": {"model_name": "anthropic/claude-sonnet-4-20250514"}},
        },
        "messages": _v1_messages(1_760_000_000.0),
        "trajectory_format": "mini-swe-agent-1",
    }
    src.write_text(json.dumps(doc))
    events, summary = _events(src)
    calls = [e for e in events if e["kind"] == "model_call"]
    assert len(calls) == 4
    # v1 states no per-call cost: the total spread over the calls, marked as an estimate
    assert [c["cost_microusd"] for c in calls] == [3075, 3075, 3075, 3075]
    assert all(c["x_cost_estimated"] is True and "x_cost" not in c for c in calls)
    tools = [e for e in events if e["kind"] == "tool_call"]
    assert [t.get("x_returncode") for t in tools] == [0, 1, None]
    assert [t["outcome"] for t in tools[:2]] == ["ok", "error"]
    assert tools[2]["x_outcome"] == "unknown"
    assert tools[0]["ts"].startswith("2025-10-09T08:53:23")  # the observation's own time
    assert "x_time" not in tools[0]
    assert events[-1]["x_instance_cost_microusd"] == 12300
    _adds_up(summary)


def test_mini_swe_agent_before_the_format_had_a_name(tmp_path: Path) -> None:
    src = tmp_path / "django-1.traj.json"
    messages = [{k: v for k, v in m.items() if k != "timestamp"} for m in _v1_messages(0)]
    doc = {
        "info": {
            "exit_status": "LimitsExceeded",
            "submission": "",
            "model_stats": {"instance_cost": 3.1, "api_calls": 4},
        },
        "messages": messages,
        "instance_id": "django-1",
    }
    src.write_text(json.dumps(doc))
    assert detect_trace(src).format == "mini-swe-agent"
    events, summary = _events(src)
    kinds = Counter(e["kind"] for e in events)
    assert kinds["model_call"] == 4 and kinds["tool_call"] == 3
    assert events[-1]["outcome"] == "error"
    costs = [e["cost_microusd"] for e in events if e["kind"] == "model_call"]
    assert costs == [775_000, 775_000, 775_000, 775_000]  # $3.10 over 4 calls
    assert all(e["x_time"] == "unknown" for e in events)  # no time stated: never 1970
    _adds_up(summary)
    # a SWE-agent trajectory has the same totals but its own keys: not taken for this one
    swe = tmp_path / "swe.traj"
    swe.write_text(json.dumps({"trajectory": [], "history": [], "info": doc["info"]}))
    assert detect_trace(swe).format != "mini-swe-agent"


def _cc(kind: str, t: str, sid: str, **more: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "uuid": f"u-{kind}-{t}",
        "sessionId": sid,
        "version": "2.1.2",
        "cwd": "/srv/app",
        "timestamp": f"2026-03-01T12:00:{t}.000Z",
        **more,
    }


def _said(mid: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    usage = {"input_tokens": 12, "output_tokens": 3}
    return {
        "id": mid,
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": blocks,
        "usage": usage,
    }


def test_claude_code_tool_use_never_answered_is_a_call_of_unknown_outcome(tmp_path: Path) -> None:
    sid = "0d9c1f7e-1111-4222-8333-444455556666"
    edit = {"type": "tool_use", "id": "toolu_e", "name": "Edit", "input": {"file_path": "a.py"}}
    read = {"type": "tool_use", "id": "toolu_r", "name": "Read", "input": {"file_path": "b.py"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_r", "content": "text"}
    src = _jsonl(
        tmp_path / f"{sid}.jsonl",
        [
            _cc("user", "01", sid, message={"role": "user", "content": "edit a.py"}),
            _cc("assistant", "02", sid, message=_said("msg_1", [read])),
            _cc("user", "03", sid, message={"role": "user", "content": [result]}),
            # the session ends (killed) before the edit's result was written
            _cc("assistant", "04", sid, message=_said("msg_2", [edit])),
        ],
    )
    events, summary = _events(src)
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    assert tools["toolu_r"]["outcome"] == "ok" and "x_outcome" not in tools["toolu_r"]
    assert tools["toolu_e"]["tool"] == "Edit" and tools["toolu_e"]["x_outcome"] == "unknown"
    assert tools["toolu_e"]["ts"].startswith("2026-03-01T12:00:04")
    _adds_up(summary)


def test_claude_code_workflow_folder(tmp_path: Path) -> None:
    sid = "7a7a0000-0000-4000-8000-00000000abcd"
    run_dir = tmp_path / sid / "subagents" / "workflows" / "wf_1"
    run_dir.mkdir(parents=True)
    wf = {"type": "tool_use", "id": "toolu_w", "name": "Workflow", "input": {"scriptPath": "s.js"}}
    done = {"type": "tool_result", "tool_use_id": "toolu_w", "content": "launched"}
    _jsonl(
        tmp_path / f"{sid}.jsonl",
        [
            _cc("assistant", "01", sid, message=_said("msg_w", [wf])),
            _cc("user", "02", sid, message={"role": "user", "content": [done]}),
        ],
    )
    # the workflow's journal (which agents it started): no transcript, read with them
    _jsonl(run_dir / "journal.jsonl", [{"type": "started", "key": "k", "agentId": "ag1"}])
    agent_sid = f"{sid}#agent-ag1"
    _jsonl(
        run_dir / "agent-ag1.jsonl",
        [
            _cc(
                "user",
                "03",
                agent_sid,
                isSidechain=True,
                agentId="ag1",
                message={"role": "user", "content": "go"},
            ),
            _cc(
                "assistant",
                "04",
                agent_sid,
                isSidechain=True,
                agentId="ag1",
                message=_said("msg_a", []),
            ),
        ],
    )
    job = import_trace([tmp_path])
    events = [r.event for r in job.events()]
    summary = job.summary()
    runs = {e["run"] for e in events}
    assert runs == {sid, f"{sid}:agent-ag1"}
    (child_start,) = [e for e in events if e["kind"] == "run_start" and e["run"] != sid]
    assert child_start["x_parent_run"] == sid
    assert "claude-code workflow journal" in {s["format"] for s in summary["sources"]}
    _adds_up(summary)


def test_openhands_sdk_conversation_folder(tmp_path: Path) -> None:
    conv = tmp_path / "3f0c9a5e1b7d4c2a9e8f00112233aabb"
    (conv / "events").mkdir(parents=True)
    state = {
        "id": "3f0c9a5e-1b7d-4c2a-9e8f-00112233aabb",
        "agent": {
            "llm": {"model": "anthropic/claude-sonnet-4-5-20250929", "api_key": "**********"}
        },
        "max_iterations": 100,
        "execution_status": "finished",
        "confirmation_policy": {"kind": "AlwaysConfirm"},
        "stats": {"usage_to_metrics": {}},
    }
    (conv / "base_state.json").write_text(json.dumps(state))
    events = [
        {
            "kind": "MessageEvent",
            "id": "m1",
            "timestamp": "2026-04-02T08:00:00.100",
            "source": "user",
        },
        {
            "kind": "ActionEvent",
            "id": "a1",
            "timestamp": "2026-04-02T08:00:03.000",
            "source": "agent",
            "tool_name": "terminal",
            "tool_call_id": "t1",
            "llm_response_id": "r1",
        },
        {
            "kind": "UserRejectObservation",
            "id": "o1",
            "timestamp": "2026-04-02T08:00:09.000",
            "source": "user",
            "action_id": "a1",
            "tool_call_id": "t1",
            "rejection_reason": "not that",
        },
    ]
    for i, ev in enumerate(events):  # one file an event, out of order on purpose
        (conv / "events" / f"event-{i:05d}-{ev['id']}.json").write_text(json.dumps(ev))
    assert detect_trace(conv / "base_state.json").format == "openhands-sdk"
    job = import_trace([conv])  # the folder as given: the event files are read with the state
    out = [r.event for r in job.events()]
    summary = job.summary()
    assert {e["run"] for e in out} == {state["id"]}
    start, call, tool, approval, end = out
    assert start["x_confirmation_policy"] == "AlwaysConfirm"
    assert call["model"]["name"].endswith("claude-sonnet-4-5-20250929")  # the agent's llm
    assert tool["outcome"] == "denied" and approval["verdict"] == "rejected"
    assert end["outcome"] == "ok"  # the state's execution_status
    formats = Counter(s["format"] for s in summary["sources"])
    assert formats["openhands-sdk"] == 1 and len(summary["sources"]) == 4
    _adds_up(summary)


def test_sibling_model_spans_under_an_unexported_parent_are_each_a_call(tmp_path: Path) -> None:
    """An export of the model spans alone (their agent's span not exported): the first is not
    taken as a wrapper of the others."""

    def chat(sid: str, start: int, tokens: int) -> dict[str, Any]:
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4.1-mini",
            "gen_ai.usage.input_tokens": tokens,
            "gen_ai.usage.output_tokens": 5,
        }
        return {
            "traceId": "ab" * 16,
            "spanId": sid * 16,
            "parentSpanId": "9" * 16,  # not in the export
            "name": "chat gpt-4.1-mini",
            "startTimeUnixNano": str(1_770_000_000_000_000_000 + start),
            "endTimeUnixNano": str(1_770_000_000_000_000_000 + start + 1000),
            "attributes": [
                {
                    "key": k,
                    "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v},
                }
                for k, v in attrs.items()
            ],
        }

    src = tmp_path / "chats.json"
    src.write_text(
        json.dumps(
            {
                "resourceSpans": [
                    {"scopeSpans": [{"spans": [chat("1", 0, 100), chat("2", 5000, 200)]}]}
                ]
            }
        )
    )
    events, summary = _events(src)
    calls = [e for e in events if e["kind"] == "model_call"]
    assert sorted(c["input_tokens"] for c in calls) == [100, 200]
    _adds_up(summary)


def _lf_obs(oid: str, kind: str, start: str, **more: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "traceId": "lf-trace-1",
        "type": kind,
        "name": oid,
        "startTime": f"2025-11-20T10:15:{start}Z",
        "endTime": f"2025-11-20T10:15:{start}Z",
        "parentObservationId": None,
        "level": "DEFAULT",
        **more,
    }


def test_langfuse_public_api_trace(tmp_path: Path) -> None:
    """GET /api/public/traces/{id}: the trace with its observations and scores, no projectId
    (htmlPath, latency and totalCost instead)."""
    trace = {
        "id": "lf-trace-1",
        "timestamp": "2025-11-20T10:15:00.000Z",
        "name": "triage",
        "htmlPath": "/project/p1/traces/lf-trace-1",
        "latency": 3.5,
        "totalCost": 0.0002,
        "observations": [
            _lf_obs(
                "gen-priced",
                "GENERATION",
                "01.000",
                model="gpt-4o-mini",
                usageDetails={"input": 800, "output": 30, "total": 830},
                costDetails={"total": 0.0002},
            ),
            _lf_obs("lookup", "TOOL", "02.000", level="ERROR", statusMessage="timeout"),
            _lf_obs(
                "gen-unpriced",
                "GENERATION",
                "03.000",
                model="my-finetune",
                usageDetails={"input": 10, "output": 2},
                costDetails={},
                calculatedTotalCost=None,
            ),
        ],
        "scores": [],
    }
    src = tmp_path / "trace.json"
    src.write_text(json.dumps(trace))
    assert detect_trace(src).format == "langfuse"
    events, summary = _events(src)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert (
        calls["gen-priced"]["cost_microusd"] == 200 and calls["gen-priced"]["input_tokens"] == 800
    )
    assert calls["gen-unpriced"]["x_cost"] == "unknown"  # no cost stated: never $0
    (tool,) = [e for e in events if e["kind"] == "tool_call"]
    assert tool["tool"] == "lookup" and tool["outcome"] == "error"
    _adds_up(summary)


def test_langfuse_api_trace_list_is_named_not_imported(tmp_path: Path) -> None:
    """GET /api/public/traces lists traces with observation ids only: named, with the call
    that returns a trace whole."""
    listed = {
        "id": "lf-trace-1",
        "timestamp": "2025-11-20T10:15:00.000Z",
        "htmlPath": "/project/p1/traces/lf-trace-1",
        "totalCost": 0.0,
        "observations": ["gen-1", "tool-1"],
        "scores": [],
    }
    src = tmp_path / "traces.json"
    src.write_text(json.dumps({"data": [listed], "meta": {"page": 1, "totalItems": 1}}))
    try:
        detect_trace(src)
    except HarnessAuditError as e:
        said = str(e)
    else:
        raise AssertionError("a trace list was taken for traces")
    assert "Langfuse API trace list" in said and "/api/public/traces/{id}" in said


def _ls_run(rid: str, run_type: str, parent: str | None, start: str, **more: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "name": rid,
        "run_type": run_type,
        "trace_id": "ls-t",
        "parent_run_id": parent,
        "start_time": f"2025-09-01T08:00:{start}",  # the API's times: UTC without a zone
        "end_time": f"2025-09-01T08:00:{start}",
        "status": "success",
        "error": None,
        "extra": {"metadata": {"ls_provider": "openai", "ls_model_name": "gpt-4o"}},
        **more,
    }


def test_langsmith_api_runs_with_their_counts_and_cost(tmp_path: Path) -> None:
    """Runs as the API lists them (``client.list_runs``): tokens and cost at the top level,
    cost as decimal text, null when the API could not price the run."""
    runs = [
        _ls_run("ls-t", "chain", None, "00.000000"),
        _ls_run(
            "llm-1",
            "llm",
            "ls-t",
            "01.000000",
            prompt_tokens=1200,
            completion_tokens=80,
            total_tokens=1280,
            total_cost="0.0038",
        ),
        _ls_run("search", "tool", "ls-t", "02.000000", status="error", error="HTTP 500"),
        _ls_run(
            "llm-2",
            "llm",
            "ls-t",
            "03.000000",
            prompt_tokens=50,
            completion_tokens=5,
            total_cost=None,
        ),
    ]
    src = tmp_path / "runs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in runs))
    assert detect_trace(src).format == "langsmith"
    events, summary = _events(src)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert (calls["llm-1"]["input_tokens"], calls["llm-1"]["output_tokens"]) == (1200, 80)
    assert calls["llm-1"]["cost_microusd"] == 3800
    assert calls["llm-2"]["input_tokens"] == 50 and calls["llm-2"]["x_cost"] == "unknown"
    (tool,) = [e for e in events if e["kind"] == "tool_call"]
    assert tool["outcome"] == "error"
    assert events[0]["ts"] == "2025-09-01T08:00:00.000Z"
    _adds_up(summary)


def test_openllmetry_spans_before_the_operation_attribute(tmp_path: Path) -> None:
    """OpenLLMetry spans from before ``gen_ai.operation.name`` say the request type in
    ``llm.request.type``, with the legacy token names; written by protobuf's JSON (base64 ids,
    enum names)."""
    import base64

    def b64(h: str) -> str:
        return base64.b64encode(bytes.fromhex(h)).decode()

    def attr(k: str, v: Any) -> dict[str, Any]:
        return {
            "key": k,
            "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v},
        }

    trace = "0123456789abcdef0123456789abcdef"
    common = {"traceId": b64(trace), "kind": "SPAN_KIND_CLIENT", "parentSpanId": b64("a" * 16)}
    spans = [
        {**common, "spanId": b64("a" * 16), "name": "run.workflow", "parentSpanId": ""},
        {
            **common,
            "spanId": b64("b" * 16),
            "name": "openai.chat",
            "attributes": [
                attr("llm.request.type", "chat"),
                attr("gen_ai.system", "OpenAI"),
                attr("gen_ai.request.model", "gpt-4o"),
                attr("gen_ai.usage.prompt_tokens", 310),
                attr("gen_ai.usage.completion_tokens", 25),
            ],
        },
        {
            **common,
            "spanId": b64("c" * 16),
            "name": "openai.completion",
            "attributes": [
                attr("llm.request.type", "completion"),
                attr("gen_ai.request.model", "gpt-3.5-turbo-instruct"),
            ],
        },
    ]
    for i, s in enumerate(spans):
        s["startTimeUnixNano"] = str(1_760_000_000_000_000_000 + i * 1000)
        s["endTimeUnixNano"] = str(1_760_000_000_000_000_000 + i * 1000 + 500)
    src = tmp_path / "export.json"
    src.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    events, summary = _events(src)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert set(calls) == {"b" * 16, "c" * 16}
    assert (calls["b" * 16]["input_tokens"], calls["b" * 16]["output_tokens"]) == (310, 25)
    assert calls["b" * 16]["model"]["provider"] == "openai"
    assert events[0]["run"] == trace
    _adds_up(summary)


def _refusal(path: Path) -> str:
    try:
        detect_trace(path)
    except HarnessAuditError as e:
        return str(e)
    raise AssertionError(f"{path.name} was taken for a trace")


def test_bare_chat_histories_are_named(tmp_path: Path) -> None:
    """A Gemini CLI saved chat and a bare list of chat messages state no run, time or usage:
    each is named, with the file that holds the run, not sent to OTLP."""
    saved = [
        {"role": "user", "parts": [{"text": "context"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "ls", "response": {}}}]},
    ]
    for i, doc in enumerate((saved, {"history": saved, "authType": "oauth-personal"})):
        src = tmp_path / f"checkpoint-{i}.json"
        src.write_text(json.dumps(doc))
        said = _refusal(src)
        assert "Gemini CLI saved chat" in said and "chats/session-" in said
    messages = tmp_path / "messages.json"
    messages.write_text(
        json.dumps([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    )
    said = _refusal(messages)
    assert "list of chat messages" in said and "otlp" not in said
    # `verify` (and the other commands given a foreign file) say it holds nothing to import
    from harness_audit.importers import describe_foreign

    line = describe_foreign(tmp_path / "checkpoint-0.json") or ""
    assert "does not import" in line and "chats/session-" in line and "trail import" not in line
    # a SWE-agent .traj cut down to its history (no trajectory, no info): named, with the
    # whole .traj as what to import, never OTLP's shape as the nearest
    history = tmp_path / "cut.traj"
    steps = [
        {"role": "system", "content": "You are an agent."},
        {"role": "assistant", "content": "Look first.", "thought": "Look", "action": "ls -la"},
    ]
    history.write_text(json.dumps({"history": steps}))
    said = _refusal(history)
    assert "chat history" in said and "swe-agent" in said and "langfuse" not in said
    assert "does not import" in (describe_foreign(history) or "")


def test_claude_code_headless_stream(tmp_path: Path) -> None:
    """`claude -p --output-format stream-json`: session_id, no times, a subagent's messages
    marked by parent_tool_use_id, and the result record with its outcome, total cost and the
    permission denials."""
    sid = "c0ffee00-1111-4222-8333-444455556666"

    def rec(kind: str, **more: Any) -> dict[str, Any]:
        return {"type": kind, "session_id": sid, "uuid": f"u{len(more)}-{kind}", **more}

    bash = {
        "type": "tool_use",
        "id": "toolu_b",
        "name": "Bash",
        "input": {"command": "rm -rf build"},
    }
    task = {
        "type": "tool_use",
        "id": "toolu_t",
        "name": "Task",
        "input": {"subagent_type": "Explore"},
    }
    denied = {
        "type": "tool_result",
        "tool_use_id": "toolu_b",
        "is_error": True,
        "content": "Claude requested permissions to use Bash, but you haven't granted it yet.",
    }
    done = {"type": "tool_result", "tool_use_id": "toolu_t", "content": "found it"}
    lines = [
        rec(
            "system",
            subtype="init",
            model="claude-sonnet-4-5",
            permissionMode="default",
            tools=["Bash"],
        ),
        rec("assistant", message=_said("msg_1", [bash]), parent_tool_use_id=None),
        rec("user", message={"role": "user", "content": [denied]}, parent_tool_use_id=None),
        rec("assistant", message=_said("msg_2", [task]), parent_tool_use_id=None),
        rec("assistant", message=_said("msg_sub", []), parent_tool_use_id="toolu_t"),
        rec("user", message={"role": "user", "content": [done]}, parent_tool_use_id=None),
        rec(
            "result",
            subtype="success",
            is_error=False,
            num_turns=3,
            total_cost_usd=0.0421,
            permission_denials=[{"tool_name": "Bash", "tool_use_id": "toolu_b", "tool_input": {}}],
        ),
    ]
    src = _jsonl(tmp_path / "stream.jsonl", lines)
    assert detect_trace(src).format == "claude-code"
    events, summary = _events(src)
    runs = Counter(e["run"] for e in events if e["kind"] == "model_call")
    assert runs == {sid: 2, f"{sid}:agent-task-toolu_t": 1}
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    assert tools["toolu_b"]["outcome"] == "denied"
    (approval,) = [e for e in events if e["kind"] == "approval"]
    assert approval["target"] == "toolu_b" and approval["verdict"] == "rejected"
    (end,) = [e for e in events if e["kind"] == "run_end" and e["run"] == sid]
    assert end["outcome"] == "ok" and end["x_total_cost_microusd"] == 42100
    assert all(e["x_time"] == "unknown" for e in events)  # the stream states no time
    _adds_up(summary)


def test_claude_code_early_transcript_states_its_cost(tmp_path: Path) -> None:
    sid = "0a0a0a0a-1111-4222-8333-444455556666"
    src = _jsonl(
        tmp_path / f"{sid}.jsonl",
        [
            _cc(
                "assistant", "01", sid, message=_said("msg_1", []), costUSD=0.0123, durationMs=2100
            ),
            _cc("assistant", "02", sid, message=_said("msg_2", [])),
        ],
    )
    events, _ = _events(src)
    first, second = [e for e in events if e["kind"] == "model_call"]
    assert first["cost_microusd"] == 12300 and "x_cost_estimated" not in first
    assert second["x_cost_estimated"] is True  # none stated: the estimate, marked


def test_codex_exec_json_stream(tmp_path: Path) -> None:
    """`codex exec --json`: thread, turns and items; usage per turn only; no times."""

    def item(kind: str, iid: str, **more: Any) -> dict[str, Any]:
        return {"type": "item.completed", "item": {"id": iid, "type": kind, **more}}

    src = _jsonl(
        tmp_path / "exec.jsonl",
        [
            {"type": "thread.started", "thread_id": "th-1"},
            {"type": "turn.started"},
            item("reasoning", "i0", text="plan"),
            {
                "type": "item.started",
                "item": {"id": "i1", "type": "command_execution", "status": "in_progress"},
            },
            item("command_execution", "i1", command="pytest", exit_code=1, status="failed"),
            item(
                "file_change",
                "i2",
                changes=[{"path": "a.py", "kind": "update"}],
                status="completed",
            ),
            item("agent_message", "i3", text="fixed"),
            {
                "type": "turn.completed",
                "usage": {"input_tokens": 900, "cached_input_tokens": 800, "output_tokens": 40},
            },
            {"type": "turn.started"},
            item("mcp_tool_call", "i4", server="tickets", tool="close_ticket", status="completed"),
            {"type": "turn.failed", "error": {"message": "stream disconnected"}},
        ],
    )
    assert detect_trace(src).format == "codex"
    events, summary = _events(src)
    assert {e["run"] for e in events} == {"th-1"}
    calls = [e for e in events if e["kind"] == "model_call"]
    assert len(calls) == 4 and all(c["x_usage"] == "unknown" for c in calls)
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    assert (tools["i1"]["tool"], tools["i1"]["outcome"]) == ("shell", "error")
    assert (tools["i2"]["tool"], tools["i2"]["outcome"]) == ("apply_patch", "ok")
    assert tools["i4"]["tool"] == "close_ticket" and tools["i4"]["x_mcp_server"] == "tickets"
    end = events[-1]
    assert end["outcome"] == "error" and end["x_total_input_tokens"] == 900
    _adds_up(summary)
