"""Every malformed manifest gives a ManifestError naming file and line; the CLI exits 2.

Each asset under data/manifests/bad/ is named for what it breaks and states in its first two
lines the line and the message expected.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode, HarnessAuditError
from harness_audit.manifest import load_all, load_manifest

from .conftest import DATA

BAD = sorted((DATA / "manifests" / "bad").glob("*.harness.yaml"))


def expectations(path: Path) -> tuple[int, str]:
    head = path.read_text().splitlines()[:2]
    line = int(re.sub(r"\D", "", head[0]))
    return line, head[1].split("# expect: ", 1)[1]


@pytest.mark.parametrize("path", BAD, ids=[p.name.split(".")[0] for p in BAD])
def test_bad_manifest_is_reported_with_line(path: Path) -> None:
    line, message = expectations(path)
    with pytest.raises(HarnessAuditError) as e:
        load_manifest(path)
    diags = e.value.diagnostics()
    assert any(message in d.message for d in diags), [str(d) for d in diags]
    hit = next(d for d in diags if message in d.message)
    assert hit.file == str(path)
    assert hit.line == line, str(hit)


def test_all_broken_manifests_are_reported_not_just_the_first() -> None:
    with pytest.raises(HarnessAuditError) as e:
        load_all(BAD)
    files = {d.file for d in e.value.diagnostics()}
    assert files == {str(p) for p in BAD}


def test_cli_reports_every_broken_manifest_with_exit_2_and_no_traceback() -> None:
    result = CliRunner().invoke(app, ["scan", *map(str, BAD)])
    assert result.exit_code == ExitCode.USAGE
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for p in BAD:
        assert str(p) in result.stderr


def test_several_problems_in_one_manifest_are_all_reported(write_manifest, manifest) -> None:
    manifest["trial"] = {}
    manifest["agents"][0]["stage"]["reliability"] = 2
    manifest["agents"][0]["acess"] = {}
    with pytest.raises(HarnessAuditError) as e:
        load_manifest(write_manifest(manifest))
    text = "\n".join(map(str, e.value.diagnostics()))
    assert "'trial'" in text and "'acess'" in text and "reliability" in text


def test_x_extension_keys_are_allowed(write_manifest, manifest) -> None:
    manifest["x-team"] = "risk"
    manifest["agents"][0]["x-notes"] = {"anything": [1, 2]}
    assert load_manifest(write_manifest(manifest)).name == "t"


def test_cycle_allowed_when_every_agent_is_bounded(write_manifest, manifest) -> None:
    a = manifest["agents"][0]
    b = {**a, "id": "b", "depends_on": ["a"], "max_iterations": 3}
    a["depends_on"], a["max_iterations"] = ["b"], 3
    manifest["agents"].append(b)
    assert len(load_manifest(write_manifest(manifest)).agents) == 2


def test_fallback_cycle_is_always_an_error(write_manifest, manifest) -> None:
    a = manifest["agents"][0]
    b = {**a, "id": "b", "max_iterations": 3, "stage": {"reliability": 0.9, "fallback": ["a"]}}
    a["stage"] = {"reliability": 0.9, "fallback": ["b"]}
    a["max_iterations"] = 3
    manifest["agents"].append(b)
    with pytest.raises(HarnessAuditError, match="cycle in fallback"):
        load_manifest(write_manifest(manifest))


def test_duplicate_pipeline_names_across_manifests(write_manifest, manifest) -> None:
    paths = [write_manifest(manifest), write_manifest(manifest)]
    with pytest.raises(HarnessAuditError, match="already used by"):
        load_all(paths)


def test_oversize_manifest(write_manifest, manifest) -> None:
    manifest["metadata"]["description"] = "x" * 2000
    path = write_manifest(manifest)
    result = CliRunner().invoke(app, ["scan", str(path), "--max-manifest-bytes", "1000"])
    assert result.exit_code == ExitCode.USAGE
    assert f"{path}: file is" in result.stderr and "at most 1,000 bytes" in result.stderr


def test_directory_with_no_manifests(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("a: 1\n")
    result = CliRunner().invoke(app, ["scan", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    assert "no pipeline manifest found" in result.stderr


def test_missing_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == ExitCode.USAGE
    assert "no such file or directory" in result.stderr


def test_unreadable_file(write_manifest, manifest, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests run as root, who can read a mode-0 file, so the refusal is simulated
    path = write_manifest(manifest)
    real_open = Path.open

    def deny(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", deny)
    result = CliRunner().invoke(app, ["scan", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert f"{path}: cannot be read: Permission denied" in result.stderr


def test_alias_bomb_through_the_cli(tmp_path: Path) -> None:
    from .test_yamlsafe import BOMB

    path = tmp_path / "bomb.harness.yaml"
    path.write_text(BOMB)
    result = CliRunner().invoke(app, ["scan", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert "alias bomb" in result.stderr


def test_the_loader_names_a_foreign_definition() -> None:
    """The refusal lives in the loader, so every caller of it gets it, not only the CLI's."""
    from harness_audit.errors import UsageError

    from .conftest import SHARED

    crew = SHARED / "real" / "crewai" / "recruitment" / "agents.yaml"
    if not crew.is_file():
        pytest.skip("the shared real-world samples are absent")
    for load in (lambda: load_manifest(crew), lambda: load_all([crew])):
        with pytest.raises(UsageError) as e:
            load()
        [d] = e.value.diagnostics()
        assert "harness-audit init" in d.message and d.expected == "a harness-audit manifest"
