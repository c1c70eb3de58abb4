"""Issue 25, item 1: the current OpenHands format, the 1.x agent SDK's event stream
(``ActionEvent``/``ObservationEvent`` …), read as ``openhands-sdk`` and detected by ``--from
auto`` (the 0.x reader does not take it).

The inputs are our own, in the shape of the SDK's events as its own fixture of a recorded
conversation has them (OpenHands/software-agent-sdk
``tests/sdk/conversation/goal/fixtures/events.jsonl``, read there: ``kind``, ``id``,
``timestamp`` without a zone, ``tool_name``/``tool_call_id``/``llm_response_id`` on actions,
``action_id`` on observations, ``observation.is_error``, running totals in ``stats`` state
updates; ``UserRejectObservation`` with ``rejection_source`` from ``event/llm_convertible``).
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


def _stats(model: str, prompt: int, completion: int, cost: float) -> dict[str, Any]:
    return {
        "id": f"st-{prompt}",
        "timestamp": "2026-05-04T09:00:01.000100",
        "source": "environment",
        "key": "stats",
        "value": {
            "usage_to_metrics": {
                "default": {
                    "model_name": model,
                    "accumulated_cost": cost,
                    "accumulated_token_usage": {
                        "model": model,
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "cache_read_tokens": 0,
                    },
                }
            }
        },
        "kind": "ConversationStateUpdateEvent",
    }


def _action(eid: str, resp: str, call: str, tool: str, ts: str) -> dict[str, Any]:
    return {
        "id": eid,
        "timestamp": ts,
        "source": "agent",
        "thought": [{"type": "text", "text": "checking the tests first"}],
        "action": {"command": "pytest -q", "kind": "TerminalAction"},
        "tool_name": tool,
        "tool_call_id": call,
        "tool_call": {"id": call, "name": tool, "arguments": "{}", "origin": "completion"},
        "llm_response_id": resp,
        "security_risk": "LOW",
        "kind": "ActionEvent",
    }


def _obs(eid: str, action: str, call: str, tool: str, ts: str, err: bool) -> dict[str, Any]:
    return {
        "id": eid,
        "timestamp": ts,
        "source": "environment",
        "tool_name": tool,
        "tool_call_id": call,
        "observation": {"content": [], "is_error": err, "exit_code": 1 if err else 0},
        "action_id": action,
        "kind": "ObservationEvent",
    }


EVENTS = [
    {
        "id": "s0",
        "timestamp": "2026-05-04T09:00:00.000001",
        "source": "environment",
        "key": "execution_status",
        "value": "running",
        "kind": "ConversationStateUpdateEvent",
    },
    _stats("litellm_proxy/claude-sonnet-4-5", 0, 0, 0.0),
    # one response, two actions: one model call
    _action("a1", "resp-1", "call-1", "terminal", "2026-05-04T09:00:02.000000"),
    _action("a2", "resp-1", "call-2", "file_editor", "2026-05-04T09:00:02.000500"),
    _obs("o1", "a1", "call-1", "terminal", "2026-05-04T09:00:03.000000", True),
    _obs("o2", "a2", "call-2", "file_editor", "2026-05-04T09:00:03.500000", False),
    _action("a3", "resp-2", "call-3", "terminal", "2026-05-04T09:00:04.000000"),
    {
        "id": "r3",
        "timestamp": "2026-05-04T09:00:05.000000",
        "source": "user",
        "tool_name": "terminal",
        "tool_call_id": "call-3",
        "action_id": "a3",
        "rejection_reason": "not on this branch",
        "rejection_source": "user",
        "kind": "UserRejectObservation",
    },
    # an observation whose action is not in the file: dropped, said why
    _obs("o9", "zz", "call-9", "terminal", "2026-05-04T09:00:05.500000", False),
    {
        "id": "m4",
        "timestamp": "2026-05-04T09:00:06.000000",
        "source": "agent",
        "llm_response_id": "resp-3",
        "llm_message": {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
        "kind": "MessageEvent",
    },
    _stats("litellm_proxy/claude-sonnet-4-5", 18200, 910, 0.0683),
    {
        "id": "s9",
        "timestamp": "2026-05-04T09:00:07.000000",
        "source": "environment",
        "key": "execution_status",
        "value": "finished",
        "kind": "ConversationStateUpdateEvent",
    },
]


def _write(tmp_path: Path, events: list[Any], jsonl: bool = True) -> Path:
    p = tmp_path / ("conv.jsonl" if jsonl else "conv.json")
    p.write_text("".join(json.dumps(e) + "\n" for e in events) if jsonl else json.dumps(events))
    return p


def test_sdk_events_are_read(tmp_path: Path) -> None:
    for jsonl in (True, False):
        p = _write(tmp_path, EVENTS, jsonl)
        assert detect_trace(p).format == "openhands-sdk"
        job = import_trace([p])
        events = [r.event for r in job.events()]
        s = job.summary()
        assert Counter(str(e["kind"]) for e in events) == {
            "run_start": 1,
            "run_end": 1,
            "model_call": 3,  # resp-1 (two actions), resp-2, resp-3 (the message)
            "tool_call": 3,
            "approval": 1,
        }
        tools = {e["span"]: e for e in events if e["kind"] == "tool_call"}
        assert tools["a1"]["outcome"] == "error" and tools["a1"]["x_exit_code"] == 1
        assert tools["a2"]["outcome"] == "ok" and tools["a2"]["tool"] == "file_editor"
        assert tools["a3"]["outcome"] == "denied"
        (appr,) = [e for e in events if e["kind"] == "approval"]
        assert appr["target"] == "a3" and appr["verdict"] == "rejected"
        calls = [e for e in events if e["kind"] == "model_call"]
        assert all(c["x_cost"] == "unknown" and c["x_usage"] == "unknown" for c in calls)
        assert {c["model"]["name"] for c in calls} == {"claude-sonnet-4-5"}
        assert {c["model"]["provider"] for c in calls} == {"anthropic"}
        assert {c["x_model_route"] for c in calls} == {"litellm_proxy"}
        (end,) = [e for e in events if e["kind"] == "run_end"]
        assert end["outcome"] == "ok" and end["x_total_input_tokens"] == 18200
        assert end["x_accumulated_cost_microusd"] == 68300
        assert s["dropped"]["observation without its action"] == 1
        assert s["records_read"] == len(EVENTS)
        assert s["records_read"] == s["records_mapped"] + s["records_dropped"]


def test_sealed_sdk_import_verifies(tmp_path: Path) -> None:
    p = _write(tmp_path, EVENTS)
    events = [r.event for r in import_trace([p]).events()]
    signer = Signer.from_seed("test", b"\x06" * 32)
    with TrailWriter(tmp_path / "t", "harness-audit/test", signer) as w:
        for e in events:
            w.append(e)
    assert verify_trail([tmp_path / "t"], [signer.verifier]).ok


def test_a_kind_that_is_no_text_is_no_event(tmp_path: Path) -> None:
    """Found by the codex/gemini fuzz (any source is sniffed by every reader): a list as
    ``kind`` is no event, not a traceback."""
    p = tmp_path / "x.json"
    p.write_text(json.dumps([{"id": "1", "kind": ["ActionEvent"]}]))
    with pytest.raises(HarnessAuditError):
        list(import_trace([p]).events())


def test_the_0x_reader_does_not_take_1x_events(tmp_path: Path) -> None:
    p = _write(tmp_path, EVENTS[2:], jsonl=False)  # an ActionEvent first
    assert detect_trace(p).format == "openhands-sdk"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.one_of(st.text(max_size=4), st.integers()),
                "kind": st.sampled_from(
                    [
                        *("ActionEvent", "ObservationEvent", "UserRejectObservation"),
                        *("MessageEvent", "ConversationStateUpdateEvent", "AgentErrorEvent"),
                        "Other",
                    ]
                ),
            },
            optional={
                "timestamp": st.one_of(st.text(max_size=30), st.integers(), st.none()),
                "source": st.sampled_from(["agent", "user", "environment"]),
                "llm_response_id": st.one_of(st.text(max_size=4), st.none(), st.integers()),
                "tool_name": st.one_of(st.text(max_size=10), st.integers()),
                "tool_call_id": st.one_of(st.text(max_size=4), st.none()),
                "action_id": st.one_of(st.text(max_size=4), st.none()),
                "observation": st.one_of(
                    st.fixed_dictionaries({"is_error": st.booleans()}), st.integers()
                ),
                "key": st.sampled_from(["stats", "execution_status"]),
                "value": st.one_of(st.text(max_size=8), st.integers(), st.none()),
            },
        ),
        min_size=1,
        max_size=8,
    )
)
def test_sdk_fuzz_no_traceback(tmp_path: Path, recs: list[Any]) -> None:
    p = _write(tmp_path, recs)
    try:
        job = import_trace([p], "openhands-sdk")
        list(job.events())
    except HarnessAuditError:
        return
    s = job.summary()
    assert s["records_read"] == s["records_mapped"] + s["records_dropped"]
