"""Fail closed on the trust root (issue 12): a trail that does not verify, a re-sealed trail
with a swapped key, pinned keys, --require-pinned, and paths from untrusted places."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.trail.note import Signer
from harness_audit.trail.sealer import seal_file

from .conftest import SAMPLES

HARDENED = SAMPLES / "loan-assessment-hardened"
MALLORY = Signer.from_seed("harness-audit/loan-assessment-hardened", b"\x66" * 32)


def scan(*args: str) -> tuple[int, dict[str, Any], str]:
    r = CliRunner().invoke(app, ["scan", *args, "-f", "json"])
    return r.exit_code, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr


def copy_hardened(tmp_path: Path) -> Path:
    dst = tmp_path / "hardened"
    shutil.copytree(HARDENED, dst)
    return dst


def checks_of(data: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [a["checks"][check] for p in data["pipelines"] for a in p["agents"]]


def test_the_hardened_sample_is_verified_with_its_own_key_but_not_pinned() -> None:
    code, data, _ = scan(str(HARDENED))
    trail = data["pipelines"][0]["trail"]
    # issue 22: verified, but not pinned, proves no pass (exit 1: not proven); it exited 0
    assert code == 1 and trail["status"] == "verified"
    assert {c["status"] for c in checks_of(data, "has_audit_trail")} == {"not_proven"}
    assert trail["key_source"] == "manifest" and trail["pinned"] is False
    assert trail["key_id"].startswith("harness-audit/loan-assessment-hardened+")


def test_a_pinned_key_by_flag_or_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pub = str(HARDENED / "keys" / "trail.pub")
    _, data, _ = scan(str(HARDENED), "--key", pub)
    trail = data["pipelines"][0]["trail"]
    assert (trail["key_source"], trail["pinned"]) == ("flag", True)
    project = copy_hardened(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["hardened"]\ntrail-keys = ["hardened/keys/trail.pub"]\n'
    )
    monkeypatch.chdir(tmp_path)
    _, data, _ = scan()
    assert (data["pipelines"][0]["trail"]["key_source"], project.name) == ("config", "hardened")
    assert data["pipelines"][0]["trail"]["pinned"] is True


def test_a_foreign_export_in_the_trail_folder_fails_immutability_for_everyone(
    tmp_path: Path,
) -> None:
    project = copy_hardened(tmp_path)
    shutil.rmtree(project / "trails")
    (project / "trails").mkdir()
    otlp = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"traceId": "ab", "spanId": "cd", "name": "chat gpt-4o"}]}]}
        ]
    }
    (project / "trails" / "trail-000001.jsonl").write_text(json.dumps(otlp) + "\n")
    code, data, _ = scan(str(project))
    assert code == 1
    immutable = checks_of(data, "trail_is_immutable")
    assert immutable and all(c["status"] == "fail" for c in immutable)
    assert all("does not verify" in c["reason"] for c in immutable)
    text = json.dumps(data)
    assert "(1 of 0)" not in text and all(
        f["line"] for p in data["pipelines"] for f in p["findings"]
    )
    sla = checks_of(data, "sla_decomposed_per_stage")  # issue 22: no attempt proves no pass
    assert all(c["status"] == "not_proven" and "no event of the agent" in c["reason"] for c in sla)


def _reseal(project: Path, edit: tuple[str, str] | None = None) -> None:
    """An insider rewrites the trail, re-seals it with a new key and swaps the key file."""
    trails = project / "trails"
    [seg] = sorted(trails.glob("*.jsonl"))
    lines = seg.read_text().splitlines()
    if edit:
        lines = [line.replace(*edit) for line in lines]
    plain = project / "plain.jsonl"
    plain.write_text(
        "".join(
            json.dumps(
                {k: v for k, v in json.loads(x).items() if k not in ("v", "seq", "prev", "hash")}
            )
            + "\n"
            for x in lines
        )
    )
    for f in list(trails.iterdir()):
        if f.is_file():
            f.unlink()
        else:
            shutil.rmtree(f)
    seal_file(plain, seg, MALLORY, "harness-audit/loan-assessment-hardened")
    plain.unlink()
    (project / "keys" / "trail.pub").write_text(MALLORY.verifier.text() + "\n")


def test_a_resealed_trail_with_a_swapped_key_is_not_pinned_and_fails_when_pinned(
    tmp_path: Path,
) -> None:
    original = tmp_path / "original.pub"
    shutil.copy(HARDENED / "keys" / "trail.pub", original)
    project = copy_hardened(tmp_path)
    _reseal(project, ('"outcome":"approve"', '"outcome":"reject"'))
    code, data, _ = scan(str(project))
    trail = data["pipelines"][0]["trail"]
    assert trail["status"] == "verified" and trail["pinned"] is False  # the claim holds up...
    code, data, _ = scan(str(project), "--key", str(original))  # ...the trust root does not
    assert code == 1 and data["pipelines"][0]["trail"]["status"] == "failed"
    assert all(c["status"] == "fail" for c in checks_of(data, "trail_is_immutable"))
    code, data, _ = scan(str(project), "--require-pinned")
    assert code == 1
    assert all(
        c["status"] == "fail" and "not pinned" in c["reason"]
        for c in checks_of(data, "trail_is_immutable")
    )


def test_config_paths_are_confined_to_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# mine\n")
    project = tmp_path / "repo"
    shutil.copytree(HARDENED, project / "p")
    (project / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["p"]\noutput = ["table=../home/.bashrc"]\n'
    )
    monkeypatch.chdir(project)
    r = CliRunner().invoke(app, ["scan"])
    assert r.exit_code == 2 and "output" in r.stderr and "outside the project" in r.stderr
    assert (home / ".bashrc").read_text() == "# mine\n"
    # typed on the command line, a path may point anywhere
    (project / "pyproject.toml").write_text('[tool.harness-audit]\npaths = ["p"]\n')
    r = CliRunner().invoke(
        app, ["scan", "-o", f"json={tmp_path / 'out.json'}", "--fail-on", "never"]
    )
    assert r.exit_code == 0 and (tmp_path / "out.json").exists()


def test_manifest_paths_are_confined_to_the_project(tmp_path: Path) -> None:
    project = copy_hardened(tmp_path)
    (project / ".git").mkdir()
    outside = tmp_path / "elsewhere"
    shutil.copytree(HARDENED / "trails", outside)
    manifest = project / "harness.yaml"
    manifest.write_text(manifest.read_text().replace("path: trails/", "path: ../elsewhere/"))
    r = CliRunner().invoke(app, ["scan", str(project)])
    assert r.exit_code == 2 and "trail.path" in r.stderr and "outside the project" in r.stderr
    manifest.write_text(
        manifest.read_text()
        .replace("path: ../elsewhere/", "path: trails/")
        .replace("public_key: keys/trail.pub", "public_key: /etc/passwd")
    )
    r = CliRunner().invoke(app, ["scan", str(project)])
    assert r.exit_code == 2 and "trail.public_key" in r.stderr


def test_every_output_says_which_key_anchored_and_how_much_is_unanchored() -> None:
    import xml.etree.ElementTree as ET

    research = SAMPLES / "research-crew"
    sarif = json.loads(CliRunner().invoke(app, ["scan", str(research), "-f", "sarif"]).stdout)
    [trail] = sarif["runs"][0]["properties"]["trails"].values()
    assert trail["status"] == "intact_unanchored" and trail["unanchored_events"] > 0
    junit = ET.fromstring(CliRunner().invoke(app, ["scan", str(research), "-f", "junit"]).stdout)
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props["trail.pinned"] == "False" and int(props["trail.unanchored_events"]) > 0
    for fmt in ("table", "markdown"):
        out = CliRunner().invoke(app, ["scan", str(research), "-f", fmt]).stdout
        assert "judged unanchored" in out.replace("\n", " ")


def test_one_quorum_default() -> None:
    from harness_audit.trust import TrustRoot

    assert TrustRoot().quorum == 0
    assert TrustRoot(witness_keys=("w+1+x",)).quorum == 1
    assert TrustRoot(witness_keys=("w+1+x",), witness_quorum=0).quorum == 0
    assert TrustRoot(witness_quorum=2).quorum == 2
