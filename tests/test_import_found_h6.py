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
