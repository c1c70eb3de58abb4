"""Readings found wrong on real traces the project had not seen (session 7), each held here in
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
