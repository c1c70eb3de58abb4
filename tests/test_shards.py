"""Periods as shards (issue 27, item 4): the writer rolls to a new origin per period, the new
shard's checkpoints name the previous shard's final one, and `verify` follows the chain; each
kind of broken link is named. The clock is injected: nothing sleeps."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode, TrailError
from harness_audit.trail.note import Checkpoint, Signer, parse_note
from harness_audit.trail.shards import PREVIOUS, period_of, read_link
from harness_audit.trail.writer import TrailWriter

from .trailkit import OTHER, SIGNER, event

runner = CliRunner()
NEW = Signer.from_seed("harness-audit/test-2027", bytes(range(2, 34)))


class Clock:
    """A settable clock (the writer's: periods and signing times)."""

    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day + "T12:00:00+00:00")


def write_months(root: Path, months: list[str], n: int = 5, signer: Signer = SIGNER) -> Path:
    """A sharded trail with ``n`` events in each month (one writer, the clock moved on)."""
    clock = Clock(at(months[0] + "-15"))
    with TrailWriter(
        root, "harness-audit/loan", signer, checkpoint_every=3, clock=clock, shard="month"
    ) as w:
        for m in months:
            clock.t = at(m + "-15")
            for i in range(n):
                w.append(event(i))
    return root


def keyfile(tmp: Path, *signers: Signer) -> Path:
    p = tmp / "keys.pub"
    p.write_text("".join(s.verifier.text() + "\n" for s in signers))
    return p


def verify(*args: object) -> tuple[int, dict[str, Any]]:
    r = runner.invoke(app, ["verify", *[str(a) for a in args], "-f", "json"])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)


def kinds(data: dict[str, Any]) -> list[str]:
    return [p["kind"] for p in data["problems"] if p["severity"] == "error"]


def test_periods() -> None:
    assert period_of(at("2026-12-31"), "month") == "2026-12"
    assert period_of(at("2027-01-01"), "month") == "2027-01"
    assert period_of(at("2026-11-30"), "quarter") == "2026-Q4"
    assert period_of(at("2027-04-01"), "quarter") == "2027-Q2"


def test_the_writer_rolls_across_a_month_boundary_and_links_the_shards(tmp_path: Path) -> None:
    root = write_months(tmp_path / "t", ["2026-11", "2026-12", "2027-01"])
    assert sorted(p.name for p in root.iterdir()) == ["2026-11", "2026-12", "2027-01"]
    prev = None
    for shard in sorted(root.iterdir()):
        note = parse_note((shard / "trail.checkpoint").read_bytes())
        cp = Checkpoint.parse(note.text)
        assert cp.origin == f"harness-audit/loan/{shard.name}" and cp.size == 5
        link = read_link(cp.extensions)
        if prev is None:
            assert link is None
        else:  # every checkpoint of the shard names the previous shard's final one
            assert link is not None and (link.origin, link.size, link.root) == (
                prev.origin, prev.size, prev.root,
            )  # fmt: skip
            first = sorted((shard / "checkpoints").iterdir())[0]
            assert PREVIOUS in first.read_text()
        prev = cp
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 0 and data["status"] == "verified", data["problems"]
    assert data["events"] == 15 and len(data["shards"]) == 3
    assert [s["status"] for s in data["shards"]] == ["verified"] * 3
    assert data["anchor"]["origin"] == "harness-audit/loan/2027-01"


def test_a_shard_verifies_alone_and_other_commands_name_one(tmp_path: Path) -> None:
    root = write_months(tmp_path / "t", ["2026-11", "2026-12"])
    code, data = verify(root / "2026-12", "--key", keyfile(tmp_path, SIGNER))
    assert code == 0 and data["events"] == 5 and "shards" not in data
    r = runner.invoke(app, ["trail", "publish", str(root), "--tiles", str(tmp_path / "tiles")])
    assert r.exit_code == 2, r.output
    assert "sharded trail" in r.stderr and "2026-12" in r.stderr


def replay(*args: object) -> tuple[int, dict[str, Any]]:
    r = runner.invoke(app, ["replay", *[str(a) for a in args], "-f", "json"])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)


def test_replay_reads_a_sharded_root_after_its_chain(tmp_path: Path) -> None:
    """Seven years of shards: `replay ROOT` finds a run of any period after verifying the
    chain; a run that crosses a period's end is one run; a broken chain is not replayed as
    fact; an export is made in the run's shard, or refused naming the shards it crosses."""
    clock = Clock(at("2026-11-30"))
    root = tmp_path / "t"
    with TrailWriter(
        root, "harness-audit/loan", SIGNER, checkpoint_every=2, clock=clock, shard="month"
    ) as w:
        for i in range(4):
            w.append(event(i, run="old"))
        for i in range(3):  # "cross" starts in November and ends in December
            w.append(event(i, run="cross"))
        clock.t = at("2026-12-01")
        for i in range(3, 6):
            w.append(event(i, run="cross"))
        for i in range(4):
            w.append(event(i, run="new"))
    key = keyfile(tmp_path, SIGNER)
    code, data = replay(root, "--key", key, "--list")
    assert code == 0 and data["integrity"] == "verified"
    assert [(r["run"], r["events"]) for r in data["runs"]] == [("old", 4), ("cross", 6), ("new", 4)]
    code, data = replay(root, "--key", key, "--run", "cross")
    assert code == 0 and data["integrity"]["status"] == "verified" and data["events"] == 6

    def files(nodes: list[dict[str, Any]]) -> list[str]:
        return [f for n in nodes for f in [n["file"], *files(n["children"])]]

    assert (
        sorted(Path(f).parent.name for f in files(data["tree"]))
        == ["2026-11"] * 3 + ["2026-12"] * 3
    )

    out = tmp_path / "export"
    r = runner.invoke(
        app, ["replay", str(root), "--key", str(key), "--run", "new", "--export", str(out)]
    )
    assert r.exit_code == 0, r.output
    proof = runner.invoke(app, ["trail", "verify-proof", str(out), "--key", str(key)])
    assert proof.exit_code == 0, proof.output
    assert "harness-audit/loan/2026-12" in (out / "checkpoint").read_text()
    crossed = tmp_path / "crossed"
    r = runner.invoke(
        app, ["replay", str(root), "--key", str(key), "--run", "cross", "--export", str(crossed)]
    )
    assert r.exit_code == 2 and "crosses 2 shards (2026-11, 2026-12)" in r.stderr
    assert not crossed.exists()

    shutil.rmtree(root / "2026-11")  # the first shard gone: the chain is broken
    code, data = replay(root, "--key", key, "--run", "new")
    assert code == 1 and data["integrity"]["status"] != "verified"
    assert "missing_shard" in [p["kind"] for p in data["integrity"]["problems"]]


def test_a_writer_reopened_resumes_the_newest_shard_and_rolls_later(tmp_path: Path) -> None:
    root = tmp_path / "t"
    clock = Clock(at("2026-11-20"))
    kw: dict[str, Any] = {"checkpoint_every": 0, "clock": clock, "shard": "month"}
    with TrailWriter(root, "harness-audit/loan", SIGNER, **kw) as w:
        w.append(event(0))
    clock.t = at("2026-12-02")
    with TrailWriter(root, "harness-audit/loan", SIGNER, **kw) as w:
        assert w.period == "2026-11"  # resumed; the next event rolls it
        w.append(event(1))
        assert w.period == "2026-12" and w.seq == 1
    with TrailWriter(root, "harness-audit/loan", SIGNER, **kw) as w:
        w.append(event(2))  # the same month: the same shard, its link kept
    assert [p.name for p in sorted(root.iterdir())] == ["2026-11", "2026-12"]
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 0, data["problems"]
    assert [s["events"] for s in data["shards"]] == [1, 2]


def test_a_month_with_no_event_leaves_no_shard(tmp_path: Path) -> None:
    root = tmp_path / "t"
    clock = Clock(at("2026-10-20"))
    with TrailWriter(root, "o", SIGNER, clock=clock, shard="month") as w:
        w.append(event(0))
        clock.t = at("2026-12-01")
        w.append(event(1))
    assert [p.name for p in sorted(root.iterdir())] == ["2026-10", "2026-12"]
    assert verify(root, "--key", keyfile(tmp_path, SIGNER))[0] == 0


def test_a_missing_shard_is_named(tmp_path: Path) -> None:
    root = write_months(tmp_path / "t", ["2026-11", "2026-12", "2027-01"])
    shutil.rmtree(root / "2026-12")
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 1 and kinds(data) == ["missing_shard"]
    assert "harness-audit/loan/2026-12" in data["problems"][0]["detail"]
    shutil.rmtree(root / "2026-11")  # the first one gone: the oldest left names it
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 1 and kinds(data) == ["missing_shard"]


def test_reordered_shards_are_named(tmp_path: Path) -> None:
    root = write_months(tmp_path / "t", ["2026-11", "2026-12", "2027-01"])
    (root / "2026-11").rename(root / "x")
    (root / "2026-12").rename(root / "2026-11")
    (root / "x").rename(root / "2026-12")
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 1 and "shard_order" in kinds(data)
    assert set(kinds(data)) <= {"shard_order", "missing_shard", "shard_link"}


def test_a_rewritten_previous_shard_breaks_the_link(tmp_path: Path) -> None:
    """The shard before re-sealed with the same key and size but other events: it verifies
    alone, but the next shard's signed link names another root."""
    root = write_months(tmp_path / "t", ["2026-11", "2026-12"])
    shutil.rmtree(root / "2026-11")
    with TrailWriter(
        root / "2026-11", "harness-audit/loan/2026-11", SIGNER, checkpoint_every=3
    ) as w:
        for i in range(5):
            w.append(event(i, run="forged"))
    assert verify(root / "2026-11", "--key", keyfile(tmp_path, SIGNER))[0] == 0
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 1 and kinds(data) == ["shard_link"]
    assert "root" in data["problems"][0]["detail"]


def test_events_added_to_a_closed_shard_break_the_link(tmp_path: Path) -> None:
    root = write_months(tmp_path / "t", ["2026-11", "2026-12"])
    with TrailWriter(root / "2026-11", "harness-audit/loan/2026-11", SIGNER) as w:
        w.append(event(9))
    code, data = verify(root, "--key", keyfile(tmp_path, SIGNER))
    assert code == 1 and kinds(data) == ["shard_link"]
    assert "6 events" in data["problems"][0]["detail"]


def test_a_key_change_without_a_handover_is_named_and_with_one_passes(tmp_path: Path) -> None:
    keys = keyfile(tmp_path, SIGNER, OTHER)
    root = write_months(tmp_path / "t", ["2026-11"])
    clock = Clock(at("2026-12-03"))
    with TrailWriter(root, "harness-audit/loan", OTHER, clock=clock, shard="month") as w:
        w.append(event(0))
        clock.t = at("2027-01-03")
        w.append(event(1))  # rolls: the writer restarted with another key
    code, data = verify(root, "--key", keys)
    assert code == 1 and kinds(data) == ["shard_key"]
    assert "2026-11" in data["problems"][0]["detail"]

    from harness_audit.trail.rotation import rotate_key

    good = write_months(tmp_path / "g", ["2026-11"])
    rotate_key(good / "2026-11", SIGNER, NEW)  # recorded before the writer changes key
    clock = Clock(at("2026-12-03"))
    with TrailWriter(good, "harness-audit/loan", NEW, clock=clock, shard="month") as w:
        clock.t = at("2027-01-03")
        w.append(event(0))
    code, data = verify(good, "--key", keyfile(tmp_path, NEW))
    assert code == 0, data["problems"]


def test_sharding_refuses_an_unsharded_folder_and_a_bad_period(tmp_path: Path) -> None:
    from .trailkit import write_trail

    flat = write_trail(tmp_path / "flat", 2)
    with pytest.raises(TrailError, match="unsharded"):
        TrailWriter(flat, "o", SIGNER, shard="month")
    with pytest.raises(Exception, match="not a period"):
        TrailWriter(tmp_path / "x", "o", SIGNER, shard="week")


def test_trail_import_and_collect_take_a_period(tmp_path: Path) -> None:
    """`trail import --shard` writes a shard of the period it runs in (a folder that every
    command reads as a trail, and `verify` reads as a chain)."""
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    src = Path(__file__).parent / "data" / "import" / "openhands_stream.json"
    out = tmp_path / "imported"
    r = runner.invoke(
        app,
        ["trail", "import", str(src), "--key", str(key), "--origin", "o", "-o", str(out),
         "--shard", "quarter"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    [shard] = [p for p in out.iterdir() if p.is_dir()]
    assert shard.name == period_of(dt.datetime.now(dt.UTC), "quarter")
    code, data = verify(out, "--key", keyfile(tmp_path, SIGNER))
    assert code == 0 and data["events"] > 0 and len(data["shards"]) == 1, data
    assert (out / "import.json").is_file()


def test_the_exporter_and_collect_sink_roll_between_batches(tmp_path: Path) -> None:
    """The sink of `collect` and the exporter: a batch after the month's end goes into the next
    shard (never split); the trail verifies as a chain."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from harness_audit.otel import TrailSpanExporter

    from .collectkit import EVENTS_PER_RUN, agent_run

    clock = Clock(at("2026-12-31"))
    exporter = TrailSpanExporter(tmp_path / "t", "test/otel", SIGNER, shard="month")
    assert exporter.sink.writer is not None
    exporter.sink.writer.clock = clock
    tp = TracerProvider(resource=Resource.create({"service.name": "crew"}))
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tp.get_tracer("test")
    agent_run(tracer, 0)
    clock.t = at("2027-01-01")
    agent_run(tracer, 1)
    tp.shutdown()
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["2026-12", "2027-01"]
    code, data = verify(tmp_path / "t", "--key", keyfile(tmp_path, SIGNER))
    assert code == 0, data["problems"]
    assert data["events"] == 2 * EVENTS_PER_RUN


def test_collect_reads_shard_and_acknowledge_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shard` and `acknowledge` are config keys of `collect`: a value it does not take is an
    error naming the file and the key, before anything listens."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".harness-audit.yaml").write_text("shard: week\n")
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    r = runner.invoke(app, ["collect", "--key", str(key), "--origin", "o", "-o", "t"])
    assert r.exit_code == ExitCode.USAGE and "shard" in r.output, r.output
    (tmp_path / ".harness-audit.yaml").write_text("shard: month\nacknowledge: uploaded\n")
    r = runner.invoke(app, ["collect", "--key", str(key), "--origin", "o", "-o", "t"])
    assert r.exit_code == ExitCode.USAGE and "s3://bucket/prefix" in r.output, r.output


def test_the_trusted_state_goes_to_the_shard_it_names(tmp_path: Path) -> None:
    """An auditor's state kept last month names last month's shard: it is checked there (no
    false fork across the boundary); a state whose shard is gone is a rollback."""
    root = write_months(tmp_path / "t", ["2026-11"])
    state = tmp_path / "state.checkpoint"
    shutil.copy(root / "2026-11" / "trail.checkpoint", state)
    clock = Clock(at("2026-12-02"))
    with TrailWriter(root, "harness-audit/loan", SIGNER, clock=clock, shard="month") as w:
        w.append(event(0))
    keys = keyfile(tmp_path, SIGNER)
    code, data = verify(root, "--key", keys, "--trusted-state", state)
    assert code == 0, data["problems"]
    shutil.rmtree(root / "2026-11")
    code, data = verify(root, "--key", keys, "--trusted-state", state)
    assert code == 1 and set(kinds(data)) == {"rollback", "missing_shard"}
