"""Trail commands end to end: exit codes, outputs, bad keys and notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode

from .trailkit import SIGNER, event, pub, write_trail

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def test_verify_exit_codes(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 20)
    key = pub(tmp_path)
    ok = invoke("verify", t, "--key", key)
    assert ok.exit_code == ExitCode.OK and "Status: VERIFIED" in ok.stdout
    assert "20 events" in ok.stdout and "1/1 checkpoints valid" in ok.stdout
    unanchored = invoke("verify", t)
    assert unanchored.exit_code == ExitCode.FINDINGS and "UNANCHORED" in unanchored.stdout
    assert invoke("verify", t, "--allow-unanchored").exit_code == ExitCode.OK
    seg = next(t.glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes().replace(b"bureau_lookup", b"bureau_lookuq", 1))
    bad = invoke("verify", t, "--key", key, "--format", "json")
    assert bad.exit_code == ExitCode.FINDINGS
    data = json.loads(bad.stdout)
    assert data["status"] == "failed" and data["problems"][0]["kind"] == "modified_event"
    assert {"status", "events", "bytes", "files", "anchor", "problems"} <= set(data)
    assert data["problems"][0]["line"] == 2 and data["problems"][0]["seq"] == 1


def test_verify_with_key_text_and_jobs(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 50)
    r = invoke("verify", t, "--key", SIGNER.verifier.text(), "--jobs", "2", "-f", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and data["anchor"]["size"] == 50
    assert data["anchor"]["key"] == SIGNER.verifier.text()


@pytest.mark.parametrize("key", ["not-a-key", "name+00000000+AAAA", "PRIVATE+KEY+x+1+AA"])
def test_malformed_keys_exit_2(tmp_path: Path, key: str) -> None:
    t = write_trail(tmp_path / "t", 2)
    r = invoke("verify", t, "--key", key)
    assert r.exit_code == ExitCode.USAGE and "--key" in r.stderr and "Traceback" not in r.output


def test_missing_trail_exits_2(tmp_path: Path) -> None:
    r = invoke("verify", tmp_path / "nope.jsonl")
    assert r.exit_code == ExitCode.USAGE and "no such file" in r.stderr


def test_keygen_seal_prove_verify_proof(tmp_path: Path) -> None:
    r = invoke("trail", "keygen", "demo", "--dir", tmp_path)
    assert r.exit_code == 0 and (tmp_path / "demo.key").stat().st_mode & 0o777 == 0o600
    assert invoke("trail", "keygen", "demo", "--dir", tmp_path).exit_code == ExitCode.USAGE
    plain = tmp_path / "plain.jsonl"
    rows = [{k: v for k, v in event(i).items()} for i in range(12)]
    plain.write_text("".join(json.dumps(x) + "\n" for x in rows))
    out = tmp_path / "sealed.jsonl"
    r = invoke(
        "trail",
        "seal",
        plain,
        "--key",
        tmp_path / "demo.key",
        "--origin",
        "harness-audit/demo",
        "-o",
        out,
    )
    assert r.exit_code == 0, r.output
    key = str(tmp_path / "demo.pub")
    assert invoke("verify", out, "--key", key).exit_code == 0
    cp = invoke("trail", "checkpoint", "verify", f"{out}.checkpoint", "--key", key)
    assert cp.exit_code == 0 and "size 12" in cp.stdout
    proof = tmp_path / "p.json"
    assert invoke("trail", "prove", out, "--inclusion", "7", "-o", proof).exit_code == 0
    ok = invoke("trail", "verify-proof", proof, "--key", key)
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: event 7 (content checked)")
    data = json.loads(proof.read_text())
    data["event"] = data["event"].replace("credit_risk", "credit_rusk")
    proof.write_text(json.dumps(data))
    bad = invoke("trail", "verify-proof", proof, "--key", key)
    assert bad.exit_code == ExitCode.FINDINGS and "changed" in bad.stdout
    cons = tmp_path / "c.json"
    assert invoke("trail", "prove", out, "--consistency", "5", "12", "-o", cons).exit_code == 0
    assert invoke("trail", "verify-proof", cons, "--key", key).exit_code == 0
    other = invoke("trail", "verify-proof", cons, "--key", SIGNER.verifier.text())
    assert other.exit_code == ExitCode.FINDINGS


def test_seal_rejects_floats_with_the_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    good = event(0)
    plain.write_text(json.dumps(good) + "\n" + json.dumps(good | {"cost_usd": 0.01}) + "\n")
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text())
    out = tmp_path / "out.jsonl"
    r = invoke("trail", "seal", plain, "--key", key, "--origin", "o", "-o", out)
    assert r.exit_code == ExitCode.USAGE and f"{plain}:2:" in r.stderr and "integers" in r.stderr
    assert not out.exists()


def test_real_transparency_log_checkpoints(tmp_path: Path, note_vectors: Any) -> None:
    sumdb = note_vectors["sumdb"]
    for i, text in enumerate(sumdb["checkpoints"]):
        f = tmp_path / f"cp{i}"
        f.write_text(text, encoding="utf-8")
        r = invoke("trail", "checkpoint", "verify", f, "--key", sumdb["verifier"], "-f", "json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["origin"] == "go.sum database tree"
    wrong = invoke(
        "trail", "checkpoint", "verify", tmp_path / "cp0", "--key", SIGNER.verifier.text()
    )
    assert wrong.exit_code == ExitCode.FINDINGS and "no_trusted_signature" in wrong.stderr


def test_malformed_checkpoint_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "cp"
    f.write_bytes(b"\x00garbage")
    r = invoke("trail", "checkpoint", "verify", f, "--key", SIGNER.verifier.text())
    assert r.exit_code == ExitCode.USAGE and "Traceback" not in r.output


def test_prove_asks_for_exactly_one_kind_of_proof(tmp_path: Path) -> None:
    from harness_audit.errors import UsageError
    from harness_audit.trail.proofs import prove

    t = write_trail(tmp_path / "t", 6)
    with pytest.raises(UsageError, match="either --inclusion"):
        prove([t])
    with pytest.raises(UsageError, match="either --inclusion"):
        prove([t], [1], (2, 6))
    assert prove([t], [1])["leaf_index"] == 1
    assert len(prove([t], [1, 2])) == 2
    assert prove([t], consistency=(2, 6))["type"] == "consistency"
