"""Readings found wrong on real traces the project had not seen (session 6), each held here in
the shape of the real file, written anew: the numbers the importer must get right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness_audit.importers import import_trace


def _write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _events(*paths: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    job = import_trace(list(paths))
    return [r.event for r in job.events()], job.summary()


# -- Claude Code 2.1: cache writes split by lifetime ------------------------------------------


def _claude_reply(msg: str, at: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "parentUuid": None,
        "isSidechain": False,
        "type": "assistant",
        "uuid": f"u-{msg}",
        "timestamp": at,
        "sessionId": "0b7e1c52-3d1f-4f7a-9a51-6c2d9e0f1a22",
        "version": "2.1.39",
        "message": {
            "model": "claude-opus-4-6",
            "id": msg,
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Done."}],
            "stop_reason": None,
            "usage": usage,
        },
    }


def test_claude_code_one_hour_cache_writes_priced_as_such(tmp_path: Path) -> None:
    """Claude Code 2.1 writes its cache for an hour (``cache_creation.ephemeral_1h_input_tokens``):
    such writes cost twice the input price, not the 5-minute write price; a 5-minute write in
    the same file keeps its own price."""
    hour = {
        "input_tokens": 3,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 100_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000},
        "output_tokens": 40,
    }
    five = dict(hour, cache_creation={"ephemeral_5m_input_tokens": 2000})
    path = _write_lines(
        tmp_path / "0b7e1c52-3d1f-4f7a-9a51-6c2d9e0f1a22.jsonl",
        [
            _claude_reply("msg_hour", "2026-02-11T20:00:01.000Z", hour),
            _claude_reply("msg_five", "2026-02-11T20:00:09.000Z", five),
        ],
    )
    events, _ = _events(path)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    # opus 4.6: input 5, output 25, 5-minute write 6.25, 1-hour write 10, read 0.5 $/Mtok
    common = 3 * 5 + 40 * 25 + 100_000 * 0.5
    assert calls["msg_hour"]["cost_microusd"] == round(common + 2000 * 10)
    assert calls["msg_hour"]["x_cache_creation_1h_input_tokens"] == 2000
    assert calls["msg_five"]["cost_microusd"] == round(common + 2000 * 6.25)
    assert "x_cache_creation_1h_input_tokens" not in calls["msg_five"]
    assert all(c["x_cost_estimated"] is True for c in calls.values())


# -- Codex 0.60: a rollout goes on after an interrupted turn -----------------------------------


def _codex(at: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": f"2025-11-22T20:{at}Z", "type": kind, "payload": payload}


def _codex_turn(at: str, said: str, total: int) -> list[dict[str, Any]]:
    usage = {"input_tokens": 900, "cached_input_tokens": 800, "output_tokens": 20}
    info = {
        "total_token_usage": dict(usage, input_tokens=total),
        "last_token_usage": usage,
        "model_context_window": 258400,
    }
    return [
        _codex(f"{at}:00.000", "event_msg", {"type": "user_message", "message": said}),
        _codex(
            f"{at}:00.010",
            "turn_context",
            {"approval_policy": "on-request", "model": "gpt-5.1-codex-max"},
        ),
        _codex(f"{at}:05.000", "event_msg", {"type": "token_count", "info": info}),
    ]


def test_codex_rollout_that_goes_on_after_an_abort_is_not_aborted(tmp_path: Path) -> None:
    """A turn the user interrupts (``turn_aborted``) in the middle of a rollout does not make
    the whole run aborted when more turns follow: the run ends as its last turn does (here it
    never says it completed: unknown) and the interrupted turn is counted on the run's end. A
    turn that completed does not make a later, unfinished turn's run ``ok`` either."""
    meta = _codex(
        "45:35.610",
        "session_meta",
        {"id": "019aad50-0000-7000-8000-00000000c0de", "cli_version": "0.60.1"},
    )
    aborted = _codex("47:30.000", "event_msg", {"type": "turn_aborted", "reason": "interrupted"})
    done = _codex("49:30.000", "event_msg", {"type": "task_complete"})
    cases = {
        "after-abort": [meta, *_codex_turn("47", "a", 900), aborted, *_codex_turn("48", "b", 1800)],
        "after-complete": [meta, *_codex_turn("49", "a", 900), done, *_codex_turn("50", "b", 1800)],
        "ends-aborted": [meta, *_codex_turn("47", "a", 900), aborted],
    }
    ends = {}
    for name, records in cases.items():
        path = _write_lines(tmp_path / f"rollout-2025-11-22T21-45-35-{name}.jsonl", records)
        events, _ = _events(path)
        assert sum(e["kind"] == "model_call" for e in events) == (1 if "ends" in name else 2)
        ends[name] = next(e for e in events if e["kind"] == "run_end")
    assert ends["after-abort"]["outcome"] == "unknown"
    assert ends["after-abort"]["x_turns_aborted"] == 1
    assert ends["after-complete"]["outcome"] == "unknown"
    assert ends["ends-aborted"]["outcome"] == "aborted"


def test_claude_code_usage_written_mid_stream_is_a_lower_bound(tmp_path: Path) -> None:
    """Claude Code 2.x writes a message's lines as its blocks complete, each with the usage so
    far and ``stop_reason`` null (a subagent's text-and-tool message says 1 output token): such
    an output count is a lower bound and is marked so, as is the estimate made on it; a message
    whose last line states how it stopped is a total."""
    usage = {"input_tokens": 3, "cache_read_input_tokens": 12118, "output_tokens": 1}
    streaming = _claude_reply("msg_streaming", "2026-02-11T21:24:20.000Z", usage)
    ended = _claude_reply("msg_ended", "2026-02-11T21:24:30.000Z", dict(usage, output_tokens=57))
    ended["message"]["stop_reason"] = "end_turn"
    path = _write_lines(tmp_path / "agent-a881341.jsonl", [streaming, ended])
    events, _ = _events(path)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert calls["msg_streaming"]["output_tokens"] == 1
    assert calls["msg_streaming"]["x_output_tokens"].startswith("lower bound")
    assert calls["msg_streaming"]["x_cost_lower_bound"] is True
    assert "x_output_tokens" not in calls["msg_ended"]
    assert "x_cost_lower_bound" not in calls["msg_ended"]
    assert calls["msg_ended"]["output_tokens"] == 57


# -- OpenHands 1.x: metrics per completion, under any LLM's usage id ---------------------------


def _oh_metrics(model: str, calls: list[tuple[str, int, int, float, float]]) -> dict[str, Any]:
    """One LLM's metrics as the SDK keeps them: a token usage and a cost per completion."""
    return {
        "model_name": model,
        "accumulated_cost": sum(c[3] for c in calls),
        "accumulated_token_usage": {
            "model": model,
            "prompt_tokens": sum(c[1] for c in calls),
            "completion_tokens": sum(c[2] for c in calls),
            "response_id": "",
        },
        "costs": [{"model": model, "cost": c[3], "timestamp": c[4]} for c in calls],
        "token_usages": [
            {"model": model, "prompt_tokens": c[1], "completion_tokens": c[2], "response_id": c[0]}
            for c in calls
        ],
    }


def test_openhands_sdk_usage_per_completion_under_any_usage_id(tmp_path: Path) -> None:
    """A persisted conversation's ``base_state.json`` keeps its metrics under each LLM's usage id
    (``agent``, ``condenser``, not only ``default``), with a token usage naming its response and
    a cost per completion: each model call gets its own tokens and cost, a completion no event
    names (the condenser's summary) is a model call too, the totals add every LLM, and a call
    the metrics do not list keeps an unknown usage."""
    conv = tmp_path / "conversations" / "5c0ffee0aa0b4c6e9d1f00112233aabb"
    (conv / "events").mkdir(parents=True)
    t0 = 1769035075.5  # 2026-01-21T22:37:55.5Z
    stats = {
        "usage_to_metrics": {
            "agent": _oh_metrics(
                "gpt-4o-mini",
                [("resp_a", 1200, 40, 0.0002, t0 + 1), ("resp_b", 1500, 60, 0.0003, t0 + 3)],
            ),
            "condenser": _oh_metrics("gpt-4o-mini", [("resp_sum", 3000, 200, 0.0006, t0 + 5)]),
        }
    }
    state = {
        "id": "5c0ffee0-aa0b-4c6e-9d1f-00112233aabb",
        "agent": {"llm": {"model": "gpt-4o-mini", "usage_id": "agent"}, "kind": "Agent"},
        "max_iterations": 500,
        "execution_status": "finished",
        "confirmation_policy": {"kind": "NeverConfirm"},
        "stats": stats,
    }
    (conv / "base_state.json").write_text(json.dumps(state), encoding="utf-8")
    records = []
    for n, (resp, second) in enumerate((("resp_a", 56), ("resp_b", 58), ("resp_c", 59))):
        records.append(
            {
                "id": f"act-{n}",
                "timestamp": f"2026-01-21T22:37:{second}.000000",
                "source": "agent",
                "tool_name": "terminal",
                "tool_call_id": f"call_{n}",
                "llm_response_id": resp,
                "action": {"command": "ls", "kind": "TerminalAction"},
                "kind": "ActionEvent",
            }
        )
    for n, rec in enumerate(records):
        name = f"event-{n:05d}-{rec['id']}.json"
        (conv / "events" / name).write_text(json.dumps(rec), encoding="utf-8")
    events, summary = _events(conv / "base_state.json")
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert sorted(calls) == [
        "resp_a:model_call",
        "resp_b:model_call",
        "resp_c:model_call",
        "resp_sum:model_call",
    ]
    a, b, c, s = (calls[f"{r}:model_call"] for r in ("resp_a", "resp_b", "resp_c", "resp_sum"))
    assert (a["input_tokens"], a["output_tokens"], a["cost_microusd"]) == (1200, 40, 200)
    assert (b["input_tokens"], b["output_tokens"], b["cost_microusd"]) == (1500, 60, 300)
    assert (s["input_tokens"], s["output_tokens"], s["cost_microusd"]) == (3000, 200, 600)
    assert s["x_call_from"].startswith("the conversation's metrics")
    assert s["ts"].startswith("2026-01-21T22:38:00")
    assert c["x_usage"] == "unknown" and c["x_cost"] == "unknown"  # the metrics do not list it
    end = next(e for e in events if e["kind"] == "run_end")
    assert end["x_total_input_tokens"] == 1200 + 1500 + 3000
    assert end["x_accumulated_cost_microusd"] == 1100
    assert summary["events"]["model_call"] == 4


# -- collect: spans exported one by one (a SimpleSpanProcessor) ---------------------------------


def _otlp_span(sid: str, parent: str, name: str, start: int, end: int, **attrs: str) -> Any:
    attributes = [
        {"key": k.replace("__", "."), "value": {"stringValue": v}} for k, v in attrs.items()
    ]
    return {
        "traceId": "147338c65f21226e24d165e86aa51052",
        "spanId": sid,
        "parentSpanId": parent,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(1_765_000_000_000_000_000 + start),
        "endTimeUnixNano": str(1_765_000_000_000_000_000 + end),
        "attributes": attributes,
        "status": {},
    }


def test_collect_says_when_an_agent_is_a_stand_in() -> None:
    """The OTel SDK's ``SimpleSpanProcessor`` sends each span as it ends, children before the
    agent span above them: ``collect`` must write a tool call before it knows whose it is, and
    its ``agent`` (the service's name) is then marked a stand-in (``x_agent_from``); the same
    trace in one request names the enclosing agents and marks nothing."""
    from harness_audit.capture import StreamMapper
    from harness_audit.importers.otlp import iter_spans

    spans = [
        _otlp_span(
            "a1",
            "",
            "invoke_agent triage",
            0,
            90,
            gen_ai__operation__name="invoke_agent",
            gen_ai__agent__name="triage",
        ),
        _otlp_span(
            "t1",
            "a1",
            "execute_tool lookup_order",
            10,
            20,
            gen_ai__operation__name="execute_tool",
            gen_ai__tool__name="lookup_order",
        ),
        _otlp_span(
            "a2",
            "a1",
            "invoke_agent refunds",
            30,
            80,
            gen_ai__operation__name="invoke_agent",
            gen_ai__agent__name="refunds",
        ),
        _otlp_span(
            "t2",
            "a2",
            "execute_tool issue_refund",
            40,
            50,
            gen_ai__operation__name="execute_tool",
            gen_ai__tool__name="issue_refund",
        ),
    ]
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "support-crew"}}
                    ]
                },
                "scopeSpans": [{"scope": {"name": "agents"}, "spans": spans}],
            }
        ]
    }
    parsed = [s for s in iter_spans(doc) if s is not None]
    whole = StreamMapper().map_batch(parsed)
    tools = {e["tool"]: e for e in whole if e["kind"] == "tool_call"}
    assert (tools["lookup_order"]["agent"], tools["issue_refund"]["agent"]) == ("triage", "refunds")
    assert not any("x_agent_from" in e for e in whole)

    one_by_one = StreamMapper()
    streamed: list[dict[str, Any]] = []
    for s in sorted(parsed, key=lambda ts: ts[1].end):
        streamed += one_by_one.map_batch([s])
    tools = {e["tool"]: e for e in streamed if e["kind"] == "tool_call"}
    for tool in ("lookup_order", "issue_refund"):
        assert tools[tool]["agent"] == "support-crew"
        assert "had not arrived" in tools[tool]["x_agent_from"]
    assert [e["child"] for e in streamed if e["kind"] == "spawn"] == ["refunds"]
