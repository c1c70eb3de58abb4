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


def _two_agent_trace(service: str) -> list[Any]:
    """The parsed spans of one trace: agent ``triage`` calls ``lookup_order`` and spawns
    ``refunds``, which calls ``issue_refund``; the resource's ``service.name`` is ``service``."""
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
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [{"scope": {"name": "agents"}, "spans": spans}],
            }
        ]
    }
    return [s for s in iter_spans(doc) if s is not None]


def _collected(parsed: list[Any], one_by_one: bool) -> list[dict[str, Any]]:
    """The events ``collect`` writes of ``parsed``: in one request, or span by span in the
    order each ended (as a ``SimpleSpanProcessor`` exports them)."""
    from harness_audit.capture import StreamMapper

    mapper = StreamMapper()
    if not one_by_one:
        return mapper.map_batch(parsed)
    out: list[dict[str, Any]] = []
    for s in sorted(parsed, key=lambda ts: ts[1].end):
        out += mapper.map_batch([s])
    return out


def test_collect_says_when_an_agent_is_a_stand_in() -> None:
    """The OTel SDK's ``SimpleSpanProcessor`` sends each span as it ends, children before the
    agent span above them: ``collect`` must write a tool call before it knows whose it is, and
    its ``agent`` (the service's name) is then marked a stand-in (``x_agent_from``); the same
    trace in one request names the enclosing agents and marks nothing."""
    parsed = _two_agent_trace("support-crew")
    whole = _collected(parsed, one_by_one=False)
    tools = {e["tool"]: e for e in whole if e["kind"] == "tool_call"}
    assert (tools["lookup_order"]["agent"], tools["issue_refund"]["agent"]) == ("triage", "refunds")
    assert not any("x_agent_from" in e for e in whole)

    streamed = _collected(parsed, one_by_one=True)
    tools = {e["tool"]: e for e in streamed if e["kind"] == "tool_call"}
    for tool in ("lookup_order", "issue_refund"):
        assert tools[tool]["agent"] == "support-crew"
        assert "had not arrived" in tools[tool]["x_agent_from"]
    assert [e["child"] for e in streamed if e["kind"] == "spawn"] == ["refunds"]


def _judged(tmp_path: Path, events: list[dict[str, Any]]) -> Any:
    """The assessment of ``events`` (sealed and anchored by a pinned key) against a manifest
    declaring ``triage`` and ``refunds`` with the tools they call."""
    from harness_audit.checks import assess_pipeline
    from harness_audit.evidence.trails import judge_trails
    from harness_audit.manifest import load_manifest
    from harness_audit.trail.writer import TrailWriter
    from harness_audit.trust import TrustRoot

    from .trailkit import SIGNER, pub

    model = {"provider": "openai", "family": "gpt-4o", "name": "gpt-4o"}

    def agent(name: str, tool: str) -> dict[str, Any]:
        return {
            "id": name,
            "model": model,
            "access": {"enforced_at": "harness", "scopes": ["unscoped"]},
            "tools": [{"name": tool, "effect": "read", "scope": "unscoped"}],
        }

    manifest = {
        "apiVersion": "harness-audit/v1",
        "kind": "Pipeline",
        "metadata": {"name": "collected"},
        "trail": {"enabled": True, "integrity": "signed_checkpoints", "public_key": "k.pub"},
        "agents": [
            {**agent("triage", "lookup_order"), "spawns": ["refunds"]},
            agent("refunds", "issue_refund"),
        ],
    }
    tmp_path.mkdir()
    path = tmp_path / "harness.yaml"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    trail = tmp_path / "trail"
    with TrailWriter(trail, "harness-audit/collected", SIGNER, checkpoint_every=0) as w:
        for e in events:
            w.append(e)
    p = load_manifest(path)
    e = judge_trails(p, [trail], trust=TrustRoot((pub(tmp_path),), "flag"))
    return assess_pipeline(p, evidence=e), e


def test_an_agent_named_only_as_a_stand_in_is_not_proven(tmp_path: Path) -> None:
    """The service is named after a manifest agent (``refunds``): spans exported one by one
    give two tool calls whose ``agent`` is that name as a stand-in (``x_agent_from``), one of
    them ``triage``'s. They are no evidence for ``refunds``: its checks are not proven, and the
    reason names the marker and the count (it passed on them before, a green not earned);
    nor are they ``triage``'s. The same trace in one request names each call's own agent, and
    ``refunds`` passes on its own call as before. ``init --from-trail`` drafts the stand-in
    with a TODO naming the marker."""
    parsed = _two_agent_trace("refunds")
    result, evidence = _judged(tmp_path / "streamed", _collected(parsed, one_by_one=True))
    checks = {a.agent.id: a.checks for a in result.agents}
    said = "the agent only as a stand-in (x_agent_from), in 2 event(s)"
    for name in ("has_audit_trail", "access_enforced_at_harness"):
        r = checks["refunds"][name]
        assert r.status == "not_proven" and said in r.reason, r
    assert any(said in f.message for f in result.findings if f.agent == "refunds")
    from harness_audit.checks.catalogue import load_rulebook
    from harness_audit.report.json_format import pipeline_dict

    scanned = pipeline_dict(result, load_rulebook())
    (refunds,) = [a for a in scanned["agents"] if a["id"] == "refunds"]
    assert refunds["checks"]["has_audit_trail"]["evidence"]["stand_in_events"] == 2
    (note,) = [o for o in evidence.observations if o.subject == "stand-in:refunds"]
    assert note.rule == "HA-001" and note.count == 2 and "x_agent_from" in note.message
    # triage's own spawn is its event; the stand-in calls are not counted for it either
    assert checks["triage"]["has_audit_trail"].status == "pass"
    assert checks["triage"]["access_enforced_at_harness"].status == "not_proven"
    # init --from-trail drafts it with a TODO saying it is a stand-in
    from harness_audit.importers.draft import render
    from harness_audit.importers.from_trail import draft_from_trail

    draft = draft_from_trail(tmp_path / "streamed" / "trail")
    notes = {a.id: " ".join(a.notes) for a in draft.agents}
    assert "TODO: a stand-in" in notes["refunds"] and "2 of its 2 event(s)" in notes["refunds"]
    assert "stand-in" not in notes["triage"]
    assert "carry x_agent_from" in render(draft)

    result, evidence = _judged(tmp_path / "whole", _collected(parsed, one_by_one=False))
    checks = {a.agent.id: a.checks for a in result.agents}
    for agent in ("triage", "refunds"):
        assert checks[agent]["has_audit_trail"].status == "pass"
        assert checks[agent]["access_enforced_at_harness"].status == "pass"
    assert not any("stand-in" in o.message for o in evidence.observations)


# -- model strings seen on real traces --------------------------------------------------------


def test_vertex_resource_name_is_vertex_hosted() -> None:
    """A Langfuse export of a Vertex AI call names the model by its full resource name: it is
    hosted on Vertex, its family the last segment's (never a Hugging Face ``owner/model``)."""
    from harness_audit.importers.tables import resolve_model

    path = "projects/acme-prod-1234/locations/europe-west4/publishers/google/models/gemini-2.5-pro"
    got = resolve_model(path)
    assert (got.provider, got.family) == ("vertex", "gemini")
    claude = resolve_model(
        "projects/p/locations/us-east5/publishers/anthropic/models/claude-opus-4"
    )
    assert (claude.provider, claude.family) == ("vertex", "claude")
    assert resolve_model("TheBloke/Mistral-7B-Instruct").provider == "huggingface"


# -- Langfuse exports of frameworks not seen before -------------------------------------------


def _lf_obs(oid: str, parent: str | None, kind: str, name: str, sec: int, **extra: Any) -> Any:
    base = {
        "id": oid,
        "traceId": "096fc09a30ab90d2431778f9ee2b3936",
        "parentObservationId": parent,
        "type": kind,
        "name": name,
        "startTime": f"2025-08-01T13:56:{sec:02d}.000Z",
        "endTime": f"2025-08-01T13:56:{sec:02d}.500Z",
        "level": "DEFAULT",
        "model": None,
        "usageDetails": {},
        "costDetails": {},
        "inputUsage": 0,
        "outputUsage": 0,
        "totalUsage": 0,
        "totalCost": 0,
        "metadata": "{}",
    }
    base.update(extra)
    return base


def _lf_gen(
    oid: str, parent: str, name: str, usage: dict[str, int], usd: float, **extra: Any
) -> Any:
    """A generation stating its usage and cost (and the columns Langfuse computes from them)."""
    return _lf_obs(
        oid,
        parent,
        "GENERATION",
        name,
        3,
        model="gpt-4o-mini",
        usageDetails=usage,
        costDetails={"total": usd},
        inputUsage=usage.get("input", 0),
        totalCost=usd,
        **extra,
    )


def _lf_export(tmp_path: Path, name: str, observations: list[Any]) -> Path:
    trace = {
        "id": "096fc09a30ab90d2431778f9ee2b3936",
        "name": name,
        "timestamp": "2025-08-01T13:56:00.000Z",
        "scores": [],
    }
    path = tmp_path / f"{name}.trace.json"
    path.write_text(json.dumps({"trace": trace, "observations": observations}), encoding="utf-8")
    return path


def _oi(kind: str, **attrs: str) -> str:
    return json.dumps({"attributes": {"openinference.span.kind": kind, **attrs}})


def test_langfuse_computed_zero_columns_are_not_usage(tmp_path: Path) -> None:
    """Langfuse computes ``inputUsage``/``outputUsage``/``totalCost`` for every observation: 0
    when the source stated nothing. A generation with empty ``usageDetails`` and
    ``costDetails`` has unknown usage and cost (marked), not 0 tokens at $0; one that states
    only its input has an unknown output."""
    gen = "gpt-4o-mini"
    path = _lf_export(
        tmp_path,
        "chat-app",
        [
            _lf_obs("g1", None, "GENERATION", "chat", 1, model=gen),
            _lf_obs(
                "g2",
                None,
                "GENERATION",
                "chat",
                3,
                model=gen,
                usageDetails={"input": 1195, "total": 1195},
                costDetails={"input": 0.00017925, "total": 0.00017925},
                inputUsage=1195,
                totalCost=0.00017925,
            ),
        ],
    )
    events, _ = _events(path)
    calls = {e["span"]: e for e in events if e["kind"] == "model_call"}
    assert calls["g1"]["x_usage"] == "unknown" and calls["g1"]["x_cost"] == "unknown"
    assert calls["g2"]["input_tokens"] == 1195 and calls["g2"]["cost_microusd"] == 179
    assert calls["g2"]["x_usage"] == "output_tokens unknown"


def test_langfuse_emitter_event_spans_are_one_operation(tmp_path: Path) -> None:
    """A framework that writes one span per emitter event (``<path>.start-N``, ``.success-N``,
    ``.finish-N``, as BeeAI's OpenInference export does) ran one operation per path and run
    number: one model call carrying what any of its spans states, one tool call named by its
    path, and an agent's progress events are no spawns."""
    root = "beeai-framework-main"
    obs = [
        _lf_obs("r", None, "SPAN", root, 1, metadata=_oi("AGENT")),
        _lf_obs("a4", "r", "SPAN", "agent.react.start-4", 2, metadata=_oi("AGENT")),
        _lf_gen(
            "c16s",
            "a4",
            "backend.openai.chat.start-16",
            {"input": 2359, "total": 2359},
            0.00035385,
            metadata=_oi("LLM"),
        ),
        _lf_obs(
            "c16ok",
            "a4",
            "GENERATION",
            "backend.openai.chat.success-16",
            4,
            model="gpt-4o-mini",
            metadata=_oi("LLM"),
        ),
        _lf_obs(
            "c16f",
            "a4",
            "GENERATION",
            "backend.openai.chat.finish-16",
            4,
            model="gpt-4o-mini",
            metadata=_oi("LLM"),
        ),
        _lf_obs("u11", "r", "SPAN", "agent.react.update-11", 5, metadata=_oi("AGENT")),
        _lf_obs("w12s", "u11", "SPAN", "tool.search.wikipedia.start-12", 6, metadata=_oi("TOOL")),
        _lf_obs("w12e", "u11", "SPAN", "tool.search.wikipedia.error-12", 7, metadata=_oi("TOOL")),
        _lf_obs("w12f", "u11", "SPAN", "tool.search.wikipedia.finish-12", 7, metadata=_oi("TOOL")),
    ]
    events, summary = _events(_lf_export(tmp_path, root, obs))
    kinds = [e["kind"] for e in events]
    assert kinds.count("model_call") == 1 and kinds.count("tool_call") == 1
    call = next(e for e in events if e["kind"] == "model_call")
    assert (call["input_tokens"], call["cost_microusd"]) == (2359, 354)
    tool = next(e for e in events if e["kind"] == "tool_call")
    assert (tool["tool"], tool["outcome"]) == ("tool.search.wikipedia", "error")
    assert [e["child"] for e in events if e["kind"] == "spawn"] == ["agent.react"]
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]


def test_a_span_naming_a_tool_and_its_call_is_a_tool_call(tmp_path: Path) -> None:
    """Koog writes each tool run as a span ``tool.<Name>`` with ``gen_ai.tool.name`` and
    ``gen_ai.tool.call.id`` but no ``gen_ai.operation.name``: a tool call, not structure."""
    attrs = {
        "gen_ai.tool.name": "HelloTool",
        "gen_ai.tool.call.id": "call_n2HaWg9KFP0BZDq",
        "gen_ai.tool.description": "A tool greets the user",
    }
    obs = [
        _lf_obs("n", None, "SPAN", "node.nodeExecuteTool", 1),
        _lf_obs("t", "n", "SPAN", "tool.HelloTool", 2, metadata=json.dumps({"attributes": attrs})),
        _lf_obs("x", "n", "SPAN", "node.__finish__", 3, metadata=json.dumps({"attributes": {}})),
    ]
    events, _ = _events(_lf_export(tmp_path, "agent.f9f77d1a", obs))
    tools = [e for e in events if e["kind"] == "tool_call"]
    assert [(t["tool"], t["x_tool_call_id"]) for t in tools] == [
        ("HelloTool", "call_n2HaWg9KFP0BZDq")
    ]


def _cc(uuid: str, up: str | None, side: bool, kind: str, at: str, **more: Any) -> Any:
    rec = {
        "parentUuid": up,
        "isSidechain": side,
        "userType": "external",
        "sessionId": "88a8d761-0000-4bf1-a8ca-c1febe6bf358",
        "version": "2.0.46",
        "uuid": uuid,
        "timestamp": f"2025-11-19T22:{at}Z",
        "type": kind,
    }
    rec.update(more)
    return rec


def _cc_reply(mid: str, blocks: list[Any]) -> Any:
    usage = {"input_tokens": 3, "cache_creation_input_tokens": 1900, "output_tokens": 180}
    return {
        "id": mid,
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": blocks,
        "stop_reason": "tool_use",
        "usage": usage,
    }


def _cc_result(tid: str) -> Any:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": tid, "content": "ok"}],
    }


def test_claude_code_inline_sidechain_is_the_subagents_run(tmp_path: Path) -> None:
    """Claude Code 2.0 wrote a Task's subagent into the session's own file: ``isSidechain``
    records chained by ``parentUuid``, the subagent's id (``agentId``) only on some of them.
    The chain is the subagent's run (its model calls and tool calls, each tool call with its
    result), spawned by the Task; nothing of it is the main agent's."""
    task = {"type": "tool_use", "id": "toolu_task", "name": "Task", "input": {"prompt": "look"}}
    grep = {"type": "tool_use", "id": "toolu_grep", "name": "Grep", "input": {"pattern": "x"}}
    records = [
        _cc("m1", None, False, "assistant", "53:34.908", message=_cc_reply("msg_main1", [task])),
        _cc("s1", None, True, "assistant", "53:39.112", message=_cc_reply("msg_side1", [grep])),
        _cc(
            "s2",
            "s1",
            True,
            "user",
            "53:40.000",
            message=_cc_result("toolu_grep"),
            agentId="e1c84ba5",
        ),
        _cc("s3", "s2", True, "assistant", "54:50.000", message=_cc_reply("msg_side2", [])),
        _cc(
            "m2",
            "m1",
            False,
            "user",
            "55:34.463",
            message=_cc_result("toolu_task"),
            toolUseResult={"agentId": "e1c84ba5", "status": "completed"},
        ),
        _cc("m3", "m2", False, "assistant", "55:40.790", message=_cc_reply("msg_main2", [])),
    ]
    events, summary = _events(
        _write_lines(tmp_path / "88a8d761-0000-4bf1-a8ca-c1febe6bf358.jsonl", records)
    )
    runs: dict[str, list[Any]] = {}
    for e in events:
        runs.setdefault(e["run"], []).append(e)
    main = runs.pop("88a8d761-0000-4bf1-a8ca-c1febe6bf358")
    [(child_id, child)] = runs.items()
    assert [e["span"] for e in main if e["kind"] == "model_call"] == ["msg_main1", "msg_main2"]
    assert [(e["tool"], e["outcome"]) for e in main if e["kind"] == "tool_call"] == [("Task", "ok")]
    assert [e["span"] for e in child if e["kind"] == "model_call"] == ["msg_side1", "msg_side2"]
    assert [(e["tool"], e["outcome"]) for e in child if e["kind"] == "tool_call"] == [
        ("Grep", "ok")
    ]
    assert not any(e.get("x_result") for e in main + child)  # every call met its result
    spawn = next(e for e in main if e["kind"] == "spawn")
    assert spawn["x_child_run"] == child_id
    assert "tool result without its tool use" not in summary["dropped"]


def test_langfuse_agent_creation_is_no_spawn_and_an_agent_is_named_by_its_id(
    tmp_path: Path,
) -> None:
    """Koog's Langfuse export has an AGENT observation for creating the agent
    (``create_agent``) above the one for running it (``invoke_agent``, named ``run.<run id>``):
    creating is not spawning, and the agent is named by its stable ``gen_ai.agent.id``, not by
    a name that changes with every run."""
    agent_id = "f9f77d1a-437f-4ba6-890e-b592a50cbd21"

    def meta(op: str) -> str:
        return json.dumps(
            {"attributes": {"gen_ai.operation.name": op, "gen_ai.agent.id": agent_id}}
        )

    obs = [
        _lf_obs("c", None, "AGENT", f"agent.{agent_id}", 1, metadata=meta("create_agent")),
        _lf_obs("r", "c", "AGENT", "run.6f8d2449-33ed-4c7c", 2, metadata=meta("invoke_agent")),
        _lf_gen("g", "r", "llm.chat", {"input": 120, "output": 30}, 0.0006),
    ]
    events, _ = _events(_lf_export(tmp_path, f"agent.{agent_id}", obs))
    assert not [e for e in events if e["kind"] == "spawn"]
    assert next(e for e in events if e["kind"] == "model_call")["agent"] == agent_id


# -- Gemini CLI: a failed request to the model ------------------------------------------------


def test_gemini_cli_api_error_is_a_failed_model_call(tmp_path: Path) -> None:
    """Gemini CLI keeps a model request that failed (a quota refusal, a 5xx) as an ``error``
    message whose content is ``[API Error: …]``: the request was made, so it is a model call
    with an error outcome, its usage and cost unknown (never 0), counted as mapped. A retry that
    answered is the next ``gemini`` message; other ``error``/``info`` messages stay dropped."""
    session = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    refusal = "[API Error: Resource has been exhausted (e.g. check quota).]"
    records = [
        {"sessionId": session, "projectHash": "0a1b", "startTime": "2026-02-03T09:00:00.000Z"},
        {"id": "u1", "timestamp": "2026-02-03T09:00:01.000Z", "type": "user", "content": "fix it"},
        {"id": "e1", "timestamp": "2026-02-03T09:00:04.000Z", "type": "error", "content": refusal},
        {
            "id": "e2",
            "timestamp": "2026-02-03T09:00:05.000Z",
            "type": "error",
            "content": "Failed to load the MCP server config.",
        },
        {
            "id": "g1",
            "timestamp": "2026-02-03T09:00:40.000Z",
            "type": "gemini",
            "content": [{"text": "Fixed."}],
            "model": "gemini-2.5-pro",
            "tokens": {"input": 900, "output": 15, "cached": 0, "total": 915},
        },
    ]
    events, summary = _events(_write_lines(tmp_path / f"session-{session[:8]}.jsonl", records))
    calls = [e for e in events if e["kind"] == "model_call"]
    assert [c["span"] for c in calls] == ["e1", "g1"]
    failed, answered = calls
    assert failed["x_outcome"] == "error" and failed["x_error"] == refusal
    assert failed["x_usage"] == "unknown" and failed["x_cost"] == "unknown"
    assert failed["input_tokens"] == failed["output_tokens"] == failed["cost_microusd"] == 0
    assert failed["model"]["name"] == "unknown"
    assert failed["ts"] == "2026-02-03T09:00:04.000Z"
    assert "x_outcome" not in answered and answered["input_tokens"] == 900
    assert summary["records_read"] == summary["records_mapped"] + summary["records_dropped"]
    assert summary["records_mapped"] == 3  # the session's metadata line and the two calls
    assert summary["dropped"] == {
        "user message (no event kind)": 1,
        "error message (no event kind)": 1,
    }
