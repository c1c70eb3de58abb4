"""A proof whose signed note is not a checkpoint is a clear error, never an internal one
(issue 23, item 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode, TrailError
from harness_audit.trail.note import sign_note
from harness_audit.trail.witness import WitnessSigner, cosign_checkpoint

from .trailkit import SIGNER, pub, write_trail

NOT_CHECKPOINTS = [
    "hello\n",
    "harness-audit/test\nnot a size\nAAAA\n",
    "harness-audit/test\n3\nAAAA\n",
]


def _invoke(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("text", NOT_CHECKPOINTS)
@pytest.mark.parametrize("field", ["inclusion", "consistency", "old_checkpoint"])
def test_a_signed_note_that_is_not_a_checkpoint(tmp_path: Path, text: str, field: str) -> None:
    trail = write_trail(tmp_path / "t", 6)
    key = pub(tmp_path)
    proof = tmp_path / "p.json"
    ask = ["--inclusion", "2"] if field == "inclusion" else ["--consistency", "3", "6"]
    assert _invoke("trail", "prove", trail, *ask, "-o", proof).exit_code == 0
    data = json.loads(proof.read_text())
    assert _invoke("trail", "verify-proof", proof, "--key", key).exit_code == ExitCode.OK
    data["old_checkpoint" if field == "old_checkpoint" else "checkpoint"] = sign_note(
        text, [SIGNER]
    )
    proof.write_text(json.dumps(data))
    r = _invoke("trail", "verify-proof", proof, "--key", key)
    assert "internal error" not in r.output, r.output
    assert r.exit_code == ExitCode.USAGE, r.output
    what = "old_checkpoint" if field == "old_checkpoint" else "checkpoint"
    assert f"{what}: a signed note that is not a checkpoint" in r.output, r.output
    assert str(proof) in r.output


@pytest.mark.parametrize("text", NOT_CHECKPOINTS)
def test_a_witness_refuses_a_signed_note_that_is_not_a_checkpoint(text: str) -> None:
    """The same mechanism in `trail witness cosign`: a clear error, not a crash."""
    witness = WitnessSigner.from_seed("witness.one/w", b"\x11" * 32)
    note = sign_note(text, [SIGNER]).encode()
    with pytest.raises(TrailError, match="a signed note that is not a checkpoint"):
        cosign_checkpoint(note, [SIGNER.verifier], witness, {}, None, 1_790_000_000)
