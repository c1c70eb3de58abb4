"""Issue 11, item 5: a source of raw events and one ``seal``; one ``actor_of``; one helper for
trail-level errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness_audit.errors import UNREADABLE, InputError, TrailError, diagnosed
from harness_audit.trail.events import actor_of
from harness_audit.trail.seal import JsonlSource
from harness_audit.trail.sealer import seal, seal_file
from harness_audit.trail.source import EventSource, RawEvent
from harness_audit.trail.verify import verify_trail

from .trailkit import SIGNER, event


def plain(i: int) -> dict[str, Any]:
    return {k: v for k, v in event(i).items() if k not in ("v", "seq", "prev", "hash")}


class ListSource:
    """A stand-in for an importer of another trace format: records, not lines."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.items = events

    def events(self) -> Iterator[RawEvent]:
        for n, e in enumerate(self.items, 1):
            yield RawEvent("trace.otlp", n * 10, e)


def test_an_importer_is_a_source(tmp_path: Path) -> None:
    source: EventSource = ListSource([plain(i) for i in range(5)])
    out = tmp_path / "sealed.jsonl"
    count, note = seal(source, out, SIGNER, "harness-audit/test")
    assert count == 5 and "harness-audit/test\n5\n" in note
    report = verify_trail([out], [SIGNER.verifier])
    assert report.status == "verified"


def test_seal_errors_name_the_source_file_and_record(tmp_path: Path) -> None:
    bad = plain(2) | {"cost_microusd": 1.5}
    with pytest.raises(TrailError) as e:
        seal(ListSource([plain(0), plain(1), bad]), tmp_path / "x.jsonl", SIGNER, "o")
    (d,) = e.value.diagnostics()
    assert (d.file, d.line) == ("trace.otlp", 30)
    assert "integers only" in d.message
    assert not (tmp_path / "x.jsonl").exists()


def test_the_jsonl_source_counts_blank_lines(tmp_path: Path) -> None:
    import json

    src = tmp_path / "plain.jsonl"
    src.write_text(json.dumps(plain(0)) + "\n\n" + "{not json\n", encoding="utf-8")
    it = JsonlSource(src).events()
    first = next(it)
    assert (first.file, first.line) == (str(src), 1)
    with pytest.raises(TrailError) as e:
        next(it)
    (d,) = e.value.diagnostics()
    assert (d.line, d.expected) == (3, "one JSON object a line")
    assert d.message.startswith("not JSON: ")


def test_seal_file_names_an_unreadable_source(tmp_path: Path) -> None:
    with pytest.raises(TrailError) as e:
        seal_file(tmp_path / "missing.jsonl", tmp_path / "out.jsonl", SIGNER, "o")
    (d,) = e.value.diagnostics()
    assert d.message == "cannot be read: No such file or directory" and d.line is None


def test_diagnosed_translates_only_what_it_catches() -> None:
    with (
        pytest.raises(TrailError) as e,
        diagnosed("f.json", "not JSON: {error}", 4, catch=ValueError, expected="JSON"),
    ):
        raise ValueError("boom")
    assert str(e.value) == "f.json:4: not JSON: boom (expected JSON)"
    assert isinstance(e.value.__cause__, ValueError)
    with (
        pytest.raises(InputError, match="cannot be read: gone"),
        diagnosed("f", UNREADABLE, catch=OSError, error=InputError),
    ):
        raise OSError(2, "gone")
    with pytest.raises(KeyError), diagnosed("f", catch=ValueError):
        raise KeyError("not caught")


def test_actor_of() -> None:
    declared = {"writer", "reviewer"}
    assert actor_of("writer", declared) == "writer"
    assert actor_of("human:reviewer", declared) == "reviewer"  # a person declared as an agent
    assert actor_of("human:alice", declared) == "human:alice"
    assert actor_of("harness", declared) == "harness"
    assert actor_of("stranger", declared) == "stranger"


def test_judge_and_observer_share_actor_of() -> None:
    from harness_audit.evidence import judge
    from harness_audit.sla import observed

    assert judge.actor_of is actor_of and observed.actor_of is actor_of
