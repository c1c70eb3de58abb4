"""``init`` and ``trail import`` end to end on every real file, and foreign files named by
every command that expects this tool's own formats (issue 14)."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers.registry import DEFINITION_CHOICES, TRACE_CHOICES
from harness_audit.trail.note import Signer

from .conftest import SHARED, base_manifest

REAL = SHARED / "real"
TRACES = sorted(
    [
        *REAL.glob("otel/*.json"),
        *REAL.glob("langfuse/*.json"),
        *REAL.glob("langsmith/*.json"),
        *REAL.glob("other/anthropic-managed-agents/*"),
    ]
)
DEFINITIONS = sorted(
    [*(p for p in REAL.glob("crewai/*") if p.is_dir()), REAL / "other" / "crewai-declarative-flow"]
)
SIGNER = Signer.from_seed("harness-audit/imports", b"\x11" * 32)
runner = CliRunner()


def invoke(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    key, pub = tmp_path / "k.key", tmp_path / "k.pub"
    key.write_text(SIGNER.text() + "\n")
    pub.write_text(SIGNER.verifier.text() + "\n")
    return key, pub


def test_the_cli_choices_are_the_registry() -> None:
    import typer.main

    from harness_audit.import_formats import DEFINITIONS, TRACES
    from harness_audit.importers.registry import DEFINITION_FORMATS, TRACE_FORMATS

    root: Any = typer.main.get_command(app)
    trace = root.commands["trail"].commands["import"]
    init = root.commands["init"]

    def choices(cmd: Any) -> tuple[str, ...]:
        param = next(p for p in cmd.params if p.name in ("source", "source_format"))
        return typing.get_args(param.type_descriptor.annotation)

    assert choices(trace) == TRACE_CHOICES and choices(init) == DEFINITION_CHOICES
    # the registry's modules are the catalog's, each under the name the catalog gives it
    assert tuple(TRACE_FORMATS) == tuple(n for n, _ in TRACES)
    assert tuple(DEFINITION_FORMATS) == tuple(n for n, _ in DEFINITIONS)
    assert all(label in str(trace.params[0].help) for _, label in TRACES)


@pytest.mark.parametrize("source", TRACES, ids=lambda p: p.name)
def test_every_real_trace_imports_verifies_and_is_judged(
    source: Path, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    key, pub = keys
    out = tmp_path / "trail"
    r = invoke(
        "trail", "import", source, "--key", key, "--origin", "harness-audit/imports", "-o", out
    )
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    summary = json.loads((out / "import.json").read_text())
    [src] = summary["sources"]
    assert src["file"] == str(source) and len(src["sha256"]) == 64
    assert sum(summary["events"].values()) == src["events"] > 0
    assert not (out / ".lock").exists()
    v = invoke("verify", out, "--key", pub, "-f", "json")
    assert v.exit_code == 0, v.output  # type: ignore[attr-defined]
    data = json.loads(v.stdout)  # type: ignore[attr-defined]
    assert data["status"] == "verified" and data["events"] == sum(summary["events"].values())
    manifest = tmp_path / "harness.yaml"
    manifest.write_text(yaml.safe_dump(base_manifest()))
    s = invoke("scan", manifest, "--trails", out, "--key", pub, "-f", "json")
    assert s.exit_code in (0, 1), s.output  # type: ignore[attr-defined]
    pipeline = json.loads(s.stdout)["pipelines"][0]  # type: ignore[attr-defined]
    assert pipeline["trail"]["status"] == "verified" and pipeline["trail"]["pinned"] is True
    assert pipeline["evidence"]["events"] == data["events"]


def test_import_writes_only_into_a_new_or_empty_folder(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    key, _ = keys
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("mine\n")
    r = invoke("trail", "import", TRACES[0], "--key", key, "--origin", "o", "-o", busy)
    assert r.exit_code == 2 and sorted(p.name for p in busy.iterdir()) == ["x"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("folder", DEFINITIONS, ids=lambda p: p.name)
def test_every_real_definition_drafts_a_manifest_that_scans(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "harness.yaml"
    r = invoke("init", folder, "-o", out)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    text = out.read_text()
    assert "# TODO: declare" in text and "x-import" in text
    s = invoke("scan", out, "--no-trails", "-f", "json")
    assert s.exit_code == 1, s.output  # type: ignore[attr-defined] # drafts fail closed
    assert json.loads(s.stdout)["pipelines"][0]["agents"]  # type: ignore[attr-defined]


def test_init_never_overwrites_silently(tmp_path: Path) -> None:
    out = tmp_path / "harness.yaml"
    out.write_text("# mine\n")
    r = invoke("init", DEFINITIONS[0], "-o", out)
    assert r.exit_code == 2 and "--force" in r.stderr and out.read_text() == "# mine\n"  # type: ignore[attr-defined]
    assert invoke("init", DEFINITIONS[0], "-o", out, "--force").exit_code == 0  # type: ignore[attr-defined]
    assert out.read_text() != "# mine\n"


def test_draft_to_file_never_overwrites_silently_nor_an_input(tmp_path: Path) -> None:
    from harness_audit.errors import UsageError
    from harness_audit.importers import draft_to_file

    out = tmp_path / "harness.yaml"
    out.write_text("# mine\n")
    with pytest.raises(UsageError, match="never overwrites a file silently"):
        draft_to_file([DEFINITIONS[0]], out)
    assert draft_to_file([DEFINITIONS[0]], out, force=True) > 0
    assert "# TODO: declare" in out.read_text()
    with pytest.raises(UsageError, match="is an input of this run"):
        draft_to_file([out], out, force=True)


def test_import_files_seals_into_a_fresh_folder_only(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    from harness_audit.errors import UsageError
    from harness_audit.importers import import_files

    summary = import_files([TRACES[0]], tmp_path / "t", "o", keys[0])
    assert summary["origin"] == "o" and (tmp_path / "t" / "import.json").is_file()
    with pytest.raises(UsageError):
        import_files([TRACES[0]], tmp_path / "t", "o", keys[0])


def test_foreign_files_are_named_by_every_command(tmp_path: Path) -> None:
    trace = REAL / "otel" / "genai-interlingua_openllmetry_in.otlp.json"
    crew = REAL / "crewai" / "recruitment" / "agents.yaml"
    manifest = tmp_path / "harness.yaml"
    manifest.write_text(yaml.safe_dump(base_manifest()))
    cases = [
        ("verify", trace),
        ("replay", trace, "--run", "x"),
        ("sla", manifest, "--trails", trace),
        ("scan", manifest, "--trails", trace),
        ("scan", crew),
        ("graph", crew),
        ("sla", crew),
    ]
    for args in cases:
        r = invoke(*args)
        assert r.exit_code == 2, args  # type: ignore[attr-defined]
        err = r.stderr  # type: ignore[attr-defined]
        assert err.count("\n") == 1, (args, err)  # one line
        assert "harness-audit trail import" in err or "harness-audit init" in err, (args, err)


def test_named_trail_files_refuse_a_foreign_trace() -> None:
    from harness_audit.errors import UsageError
    from harness_audit.foreign import named_trail_files

    trace = REAL / "otel" / "genai-interlingua_openllmetry_in.otlp.json"
    with pytest.raises(UsageError, match="harness-audit trail import"):
        named_trail_files([trace])
