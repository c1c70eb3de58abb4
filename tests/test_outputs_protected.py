"""Outputs never overwrite inputs (issue 13.2): symlinks and hard links resolved, exports only
into new or empty folders, the pack written whole."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app

from .conftest import SAMPLES

REFUNDS = SAMPLES / "support-refunds"


@pytest.fixture
def refunds(tmp_path: Path) -> Path:
    dst = tmp_path / "refunds"
    shutil.copytree(REFUNDS, dst)
    return dst


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def run(*args: object) -> tuple[int, str]:
    r = CliRunner().invoke(app, [str(a) for a in args])
    return r.exit_code, r.stderr


def test_no_command_writes_into_or_over_its_inputs(refunds: Path, tmp_path: Path) -> None:
    before = snapshot(refunds)
    trail = refunds / "trails"
    [seg] = sorted(trail.glob("*.jsonl"))
    cp = next(trail.glob("*.checkpoint"))
    key = refunds / "keys" / "trail.pub"
    manifest = refunds / "harness.yaml"
    link = tmp_path / "link.jsonl"
    link.symlink_to(seg)
    hard = tmp_path / "hard.jsonl"
    os.link(seg, hard)
    cases = [
        ("verify", trail, "-o", seg),
        ("verify", trail, "-o", trail / "report.json"),
        ("verify", trail, "--key", key, "-o", key),
        ("verify", trail, "-o", cp),
        ("verify", trail, "-o", link),
        ("verify", trail, "-o", hard),
        ("trail", "prove", trail, "--inclusion", "1", "-o", seg),
        ("sla", manifest, "--trails", trail, "-o", trail / "x.jsonl"),
        ("scan", refunds, "-o", f"json={seg}"),
        ("scan", refunds, "--write-baseline", key),
        ("scan", refunds, "--write-baseline", manifest),
        ("replay", trail, "--run", "support-refunds-0003", "--key", key, "--export", trail),
        ("replay", trail, "--run", "support-refunds-0003", "--key", key, "--export", refunds),
        ("report", refunds, "-o", trail, "--no-pdf"),
        ("graph", manifest, "-o", manifest),
    ]
    for args in cases:
        code, err = run(*args)
        assert code == 2, (args, err)
        assert "input" in err or "empty folder" in err, (args, err)
    assert snapshot(refunds) == before


def test_exports_go_only_into_a_new_or_empty_folder(refunds: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep me\n")
    trail, key = refunds / "trails", refunds / "keys" / "trail.pub"
    code, err = run(
        "replay", trail, "--run", "support-refunds-0003", "--key", key, "--export", busy
    )
    assert code == 2 and "empty folder" in err and (busy / "mine.txt").exists()
    (tmp_path / "empty").mkdir()
    assert (
        run(
            "replay",
            trail,
            "--run",
            "support-refunds-0003",
            "--key",
            key,
            "--export",
            tmp_path / "empty",
        )[0]
        == 0
    )


def test_the_pack_replaces_an_earlier_pack_whole_and_nothing_else(
    refunds: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pack"
    assert run("report", refunds, "-o", out, "--no-pdf")[0] == 1
    first = snapshot(out)
    assert run("report", refunds, "-o", out, "--no-pdf")[0] == 1
    assert set(snapshot(out)) == set(first)
    (out / "notes.txt").write_text("an auditor's notes\n")
    code, err = run("report", refunds, "-o", out, "--no-pdf")
    assert code == 2 and "other files" in err and (out / "notes.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pack.")]


def test_a_full_disk_during_the_pack_leaves_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from harness_audit import _fs

    real = _fs.write_atomic
    calls = {"n": 0}

    def failing(path: Path, data: str | bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(_fs, "write_atomic", failing)
    with pytest.raises(OSError):
        _fs.write_folder(tmp_path / "pack", {"a": b"1", "b": b"2", "c": b"3"}, [])
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_an_error_naming_the_file_not_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from harness_audit import _fs

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.json"))

    from harness_audit.cli import _io

    monkeypatch.setattr(_fs, "write_atomic", full)
    monkeypatch.setattr(_io, "write_atomic", full)
    r = CliRunner().invoke(app, ["scan", str(REFUNDS), "-o", f"json={tmp_path / 'out.json'}"])
    assert r.exit_code == 2
    assert "No space left on device" in r.stderr and "out.json" in r.stderr
    assert "internal error" not in r.stderr


def test_output_values_are_a_path_or_format_equals_path() -> None:
    from harness_audit.errors import UsageError
    from harness_audit.report import SCAN
    from harness_audit.report.outputs import output_targets, parse_outputs

    formats = ("table", "json")
    assert parse_outputs(["a.txt", "json=b.json", "out/x=1.txt"], "table", formats) == [
        ("table", Path("a.txt")),
        ("json", Path("b.json")),
        ("table", Path("out/x=1.txt")),
    ]
    for bad, said in (("json=", "names no path"), ("xml=out", "unknown format 'xml'")):
        with pytest.raises(UsageError, match=said):
            parse_outputs([bad], "table", formats)
    with pytest.raises(UsageError, match="is an input of this run"):
        output_targets(SCAN, "json", [str(REFUNDS / "harness.yaml")], [REFUNDS / "harness.yaml"])
