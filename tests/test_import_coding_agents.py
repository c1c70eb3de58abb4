"""Issue 25, item 1: the coding agents people run — Claude Code session transcripts (and their
subagents), OpenAI Codex rollouts, Gemini CLI chat recordings — read behind the importer
interface and detected by ``--from auto``.

The inputs under ``tests/data/import/{claude_code,codex,gemini}`` are our own text in the shapes
of real files: Claude Code transcripts as parsers of them read them (daaain/claude-code-log
``test/test_data/*.jsonl``: one line per content block with the same ``message.id``,
``tool_result`` blocks in user lines with ``is_error``; ``permission-mode`` records, subagent
``agent-<id>.jsonl`` with ``isSidechain``/``agentId`` and its ``.meta.json``; the refusal text
Claude Code writes), Codex rollouts as codex-rs writes them (``session_meta``, ``turn_context``
with ``approval_policy``/``sandbox_policy``, ``token_count`` written twice,
``function_call``/``custom_tool_call`` and outputs by ``call_id``, ``exec_command_end``,
``apply_patch_approval_request``, ``patch rejected by user``), Gemini CLI recordings as
google-gemini/gemini-cli ``chatRecordingService``/``chatRecordingTypes`` define them (the
``.json`` document and the ``.jsonl`` form with re-written messages, ``$set`` and
``$rewindTo``; tool call statuses).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError
from harness_audit.importers import detect_trace, import_trace
from harness_audit.trail.note import Signer
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter

DATA = Path(__file__).parent / "data" / "import"
SESSION = "4f2c0d1e-aaaa-4bbb-8ccc-0123456789ab"
CLAUDE = DATA / "claude_code" / f"{SESSION}.jsonl"
SUBAGENT = DATA / "claude_code" / SESSION / "subagents" / "agent-5e1f9a0c.jsonl"
CODEX = next((DATA / "codex").glob("rollout-*.jsonl"))
GEMINI_JSON = next((DATA / "gemini").glob("session-*.json"))
GEMINI_JSONL = next((DATA / "gemini").glob("session-*.jsonl"))

CASES: dict[Path, tuple[str, dict[str, int]]] = {
    CLAUDE: (
        "claude-code",
        {
            "run_start": 1,
            "run_end": 1,
            "model_call": 3,
            "tool_call": 4,
            "approval": 1,
            "spawn": 1,
        },
    ),
    SUBAGENT: ("claude-code", {"run_start": 1, "run_end": 1, "model_call": 2, "tool_call": 1}),
    CODEX: (
        "codex",
        {
            "run_start": 1,
            "run_end": 1,
            "model_call": 4,
            "tool_call": 3,
            "approval_request": 1,
            "approval": 1,
        },
    ),
    GEMINI_JSON: (
        "gemini-cli",
        {"run_start": 1, "run_end": 1, "model_call": 3, "tool_call": 2, "approval": 1},
    ),
    GEMINI_JSONL: ("gemini-cli", {"run_start": 1, "run_end": 1, "model_call": 1, "tool_call": 1}),
}


def _events(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    job = import_trace([path])
    return [r.event for r in job.events()], job.summary()


@pytest.mark.parametrize("path", sorted(CASES), ids=lambda p: p.name[:30])
def test_detected_by_auto_and_counted(path: Path) -> None:
    fmt, want = CASES[path]
    assert detect_trace(path).format == fmt
    events, summary = _events(path)
    assert Counter(str(e["kind"]) for e in events) == want
    assert summary["events"] == want


@pytest.mark.parametrize("path", sorted(CASES), ids=lambda p: p.name[:30])
def test_sealed_output_verifies(path: Path, tmp_path: Path) -> None:
    events, _ = _events(path)
    signer = Signer.from_seed("test", b"\x03" * 32)
    with TrailWriter(tmp_path / "t", "harness-audit/test", signer) as w:
        for e in events:
            w.append(e)
    assert verify_trail([tmp_path / "t"], [signer.verifier]).ok


def test_claude_code_one_call_per_message_with_cache_and_an_estimate() -> None:
    events, summary = _events(CLAUDE)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert list(calls) == ["msg_01AAA", "msg_01BBB", "msg_01CCC"]  # not one per content block
    a = calls["msg_01AAA"]
    # usage from the message's last line (57 output tokens, not the 1 of the earlier blocks)
    assert (a["input_tokens"], a["output_tokens"]) == (4 + 2100 + 11000, 57)
    assert a["x_cache_read_input_tokens"] == 11000 and a["x_cache_creation_input_tokens"] == 2100
    assert a["x_input_tokens_include_cache"] is True
    # estimated from rules/prices.yaml: 4*3 + 57*15 + 2100*3.75 + 11000*0.30 micro-dollars
    assert a["cost_microusd"] == 12042 and a["x_cost_estimated"] is True
    assert "rules/prices.yaml" in a["x_cost_source"] and "2025-" in a["x_cost_source"]
    assert a["model"] == {
        "provider": "anthropic",
        "family": "claude",
        "name": "claude-sonnet-4-5-20250929",
    }
    assert (
        summary["dropped"][
            "content block of a message already counted (one model call per message)"
        ]
        == 3
    )
    assert any("synthetic" in why for why in summary["dropped"])  # <synthetic>: no model call


def test_claude_code_tools_refusal_permission_mode_and_spawn() -> None:
    events, _ = _events(CLAUDE)
    tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
    assert {s: (t["tool"], t["outcome"]) for s, t in tools.items()} == {
        "toolu_01": ("Bash", "error"),  # is_error
        "toolu_02": ("Edit", "denied"),  # the user refused it
        "toolu_03": ("Task", "ok"),
        "toolu_04": ("mcp__github__get_issue", "ok"),  # MCP name kept whole
    }
    (approval,) = [e for e in events if e["kind"] == "approval"]
    assert (approval["target"], approval["verdict"], approval["approver"]) == (
        "toolu_02",
        "rejected",
        "human:user",
    )
    order = [e["span"] for e in events]
    assert order.index("toolu_02:approval") < order.index("toolu_02")
    # a tool call is placed at its result: the Task's result came last
    assert order.index("toolu_04") < order.index("toolu_03")
    start = events[0]
    assert start["x_permission_mode"] == "default"
    assert start["x_permission_modes"] == ["default", "bypassPermissions"]
    assert "nothing was gated" in start["x_gate"]
    (spawn,) = [e for e in events if e["kind"] == "spawn"]
    assert spawn["child"] == "claude-code:Explore"
    assert spawn["x_child_run"] == f"{SESSION}:agent-5e1f9a0c"


def test_claude_code_subagent_is_a_child_run() -> None:
    events, _ = _events(DATA / "claude_code")  # the folder: session, subagent and its meta
    runs = {e["run"] for e in events}
    assert runs == {SESSION, f"{SESSION}:agent-5e1f9a0c"}
    child_start = next(e for e in events if e["kind"] == "run_start" and e["run"] != SESSION)
    assert child_start["x_parent_run"] == SESSION
    sub_agents = {e["agent"] for e in events if e["run"] != SESSION and e["kind"] == "model_call"}
    assert sub_agents == {"claude-code:Explore"}  # the agent type of its .meta.json


def test_codex_calls_per_token_count_change_gates_and_refusal() -> None:
    events, summary = _events(CODEX)
    calls = [e for e in events if e["kind"] == "model_call"]
    assert [(c["input_tokens"], c["output_tokens"]) for c in calls] == [
        (5200, 180),
        (5800, 240),
        (6100, 60),
        (6200, 20),
    ]
    assert all(c["x_cost"] == "unknown" and c["model"]["name"] == "gpt-5-codex" for c in calls)
    assert calls[0]["x_cached_input_tokens"] == 3000
    assert summary["dropped"]["token_count repeated (total unchanged: the same call)"] == 1
    tools = {e["span"]: (e["tool"], e["outcome"]) for e in events if e["kind"] == "tool_call"}
    assert tools == {
        "call_A1": ("shell", "error"),  # metadata.exit_code 1
        "call_B2": ("apply_patch", "denied"),  # patch rejected by user
        "call_C3": ("shell", "ok"),  # exec_command_end exit_code 0
    }
    kinds = [(e["kind"], e.get("target")) for e in events]
    assert kinds.index(("approval_request", "call_B2")) < kinds.index(("approval", "call_B2"))
    (approval,) = [e for e in events if e["kind"] == "approval"]
    assert approval["verdict"] == "rejected"
    start = events[0]
    assert (start["x_approval_policy"], start["x_sandbox_policy"]) == (
        "on-request",
        "workspace-write",
    )
    assert events[-1]["outcome"] == "ok"  # task_complete


def test_codex_no_gate_is_said(tmp_path: Path) -> None:
    lines = [
        {"timestamp": "2025-10-03T14:00:00Z", "type": "session_meta", "payload": {"id": "s1"}},
        {
            "timestamp": "2025-10-03T14:00:01Z",
            "type": "turn_context",
            "payload": {
                "model": "gpt-5",
                "approval_policy": "never",
                "sandbox_policy": {"type": "danger-full-access"},
            },
        },
        {
            "timestamp": "2025-10-03T14:00:02Z",
            "type": "response_item",
            "payload": {"type": "local_shell_call", "call_id": "c1", "status": "completed"},
        },
        {
            "timestamp": "2025-10-03T14:00:03Z",
            "type": "response_item",
            "payload": {"type": "function_call_output", "call_id": "c1", "output": "done"},
        },
    ]
    src = tmp_path / "rollout-x.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    events, summary = _events(src)
    assert "nothing was gated" in events[0]["x_gate"]
    (tool,) = [e for e in events if e["kind"] == "tool_call"]
    assert tool["x_outcome"] == "unknown"  # no exit code stated: not "ok"
    # no token_count: the model's turn that made the call is one call, its usage unknown
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["x_usage"] == "unknown" and call["x_cost"] == "unknown"
    assert any("unknown cost" in w for w in summary["warnings"])


def test_gemini_calls_cancelled_denial_and_unknown_usage() -> None:
    events, _ = _events(GEMINI_JSON)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert calls["m-2"]["input_tokens"] == 8123 and calls["m-2"]["x_thoughts_tokens"] == 120
    assert calls["m-5"]["x_usage"] == "unknown"  # tokens: null
    tools = {e["tool"]: e["outcome"] for e in events if e["kind"] == "tool_call"}
    assert tools == {"list_directory": "ok", "run_shell_command": "denied"}
    (approval,) = [e for e in events if e["kind"] == "approval"]
    assert approval["verdict"] == "rejected"


def test_gemini_jsonl_rewritten_message_is_one_call() -> None:
    events, summary = _events(GEMINI_JSONL)
    (call,) = [e for e in events if e["kind"] == "model_call"]
    assert call["input_tokens"] == 3000  # the later version of the message
    assert summary["dropped"]["message re-written later in the file (one model call)"] == 1


# -- fuzz: any change to a real-shaped file gives events or a clear error, no traceback -----

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _mutate(value: Any, data: st.DataObject) -> Any:
    if isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)))
        choice = data.draw(st.integers(0, 2))
        out = dict(value)
        if choice == 0:
            del out[key]
        elif choice == 1:
            out[key] = data.draw(_json)
        else:
            out[key] = _mutate(out[key], data)
        return out
    if isinstance(value, list) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        out_list = list(value)
        out_list[i] = _mutate(out_list[i], data)
        return out_list
    return data.draw(_json)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (CLAUDE, "claude-code"),
        (CODEX, "codex"),
        (GEMINI_JSONL, "gemini-cli"),
        (GEMINI_JSON, "gemini-cli"),
    ],
    ids=["claude-code", "codex", "gemini-jsonl", "gemini-json"],
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_no_traceback(path: Path, fmt: str, tmp_path: Path, data: st.DataObject) -> None:
    if path.suffix == ".json":
        doc = _mutate(json.loads(path.read_text()), data)
        content = json.dumps(doc)
    else:
        lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(lines) - 1))
            lines[i] = _mutate(lines[i], data)
        content = "".join(json.dumps(x) + "\n" for x in lines)
        if data.draw(st.booleans()):
            content = content[: data.draw(st.integers(0, len(content)))]
    src = tmp_path / path.name
    src.write_text(content)
    try:
        job = import_trace([src], fmt)
        events = [r.event for r in job.events()]
        summary = job.summary()
    except HarnessAuditError:
        return
    for e in events:
        assert isinstance(e["ts"], str) and not e["ts"].startswith("1970-")
    # the counts add up whatever the input (issue 25, item 8)
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]
