"""Issue 26, item 5: key rotation as a recorded event. ``trail rotate-key TRAIL --old A.key
--new B.key`` signs a handover checkpoint (B signs, A cosigns, naming A); a writer opened with
B alone continues the trail; ``verify --key B.pub`` passes across the rotation; a rotation
A -> B -> C verifies with C alone; a history with no handover fails and says how to verify."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.trail.checkpoints import ROTATED_FROM
from harness_audit.trail.note import Checkpoint, Signer, sign_note
from harness_audit.trail.writer import TrailWriter

from .trailkit import event

runner = CliRunner()
A = Signer.from_seed("harness-audit/a", bytes(range(32)))
B = Signer.from_seed("harness-audit/b", bytes(range(1, 33)))
C = Signer.from_seed("harness-audit/c", bytes(range(2, 34)))
ORIGIN = "harness-audit/test"


def _write(folder: Path, signer: Signer, start: int, n: int) -> None:
    with TrailWriter(folder, ORIGIN, signer, checkpoint_every=5) as w:
        for i in range(start, start + n):
            w.append(event(i))


def _keys(tmp: Path, *signers: Signer) -> dict[str, Path]:
    out = {}
    for s in signers:
        name = s.name.rsplit("/", 1)[-1]
        (tmp / f"{name}.key").write_text(s.text() + "\n")
        (tmp / f"{name}.pub").write_text(s.verifier.text() + "\n")
        out[name] = tmp / name
    return out


def _verify(trail: Path, *pubs: Path) -> tuple[int, str]:
    args = ["verify", str(trail)]
    for p in pubs:
        args += ["--key", str(p)]
    r = runner.invoke(app, args)
    return r.exit_code, r.output


def _rotate(trail: Path, old: Path, new: Path) -> int:
    r = runner.invoke(
        app,
        ["trail", "rotate-key", str(trail), "--old", f"{old}.key", "--new", f"{new}.key"],
    )
    assert r.exit_code in (0, 2), r.output
    return r.exit_code


def test_a_rotation_verifies_with_the_new_key_alone(tmp_path: Path) -> None:
    k = _keys(tmp_path, A, B, C)
    trail = tmp_path / "trail"
    _write(trail, A, 0, 12)
    assert _rotate(trail, k["a"], k["b"]) == 0
    _write(trail, B, 12, 12)  # a writer opened with B alone continues the trail
    code, out = _verify(trail, k["b"].with_suffix(".pub"))
    assert code == ExitCode.OK, out
    assert _rotate(trail, k["b"], k["c"]) == 0
    _write(trail, C, 24, 7)
    code, out = _verify(trail, k["c"].with_suffix(".pub"))
    assert code == ExitCode.OK, out  # A -> B -> C, verified with C alone
    assert "31" in out


def test_without_a_handover_the_history_fails_and_says_how(tmp_path: Path) -> None:
    k = _keys(tmp_path, A, B)
    trail = tmp_path / "trail"
    _write(trail, A, 0, 12)
    _write(trail, B, 12, 6)  # the key changed, nothing recorded
    code, out = _verify(trail, k["b"].with_suffix(".pub"))
    assert code != ExitCode.OK
    assert "rotate-key" in out and "--key" in out


def test_the_rotate_command_refuses_a_wrong_old_key(tmp_path: Path) -> None:
    k = _keys(tmp_path, A, B, C)
    trail = tmp_path / "trail"
    _write(trail, A, 0, 6)
    before = sorted(p.name for p in (trail / "checkpoints").iterdir())
    assert _rotate(trail, k["c"], k["b"]) == ExitCode.USAGE  # C never signed this trail
    assert _rotate(trail, k["a"], k["a"]) == ExitCode.USAGE
    assert sorted(p.name for p in (trail / "checkpoints").iterdir()) == before


def test_a_handover_the_old_key_did_not_cosign_trusts_nothing(tmp_path: Path) -> None:
    k = _keys(tmp_path, A, B)
    trail = tmp_path / "trail"
    _write(trail, A, 0, 12)
    with TrailWriter(trail, ORIGIN, B, checkpoint_every=0) as w:  # B claims A, alone
        w.checkpoint(lines=[f"{ROTATED_FROM} {A.verifier.text()}"])
        w.append(event(12))
    code, out = _verify(trail, k["b"].with_suffix(".pub"))
    assert code != ExitCode.OK and "rotate-key" in out


def test_the_old_key_signing_after_its_handover_is_not_trusted(tmp_path: Path) -> None:
    k = _keys(tmp_path, A, B)
    trail = tmp_path / "trail"
    _write(trail, A, 0, 6)
    assert _rotate(trail, k["a"], k["b"]) == 0
    _write(trail, B, 6, 6)
    late = trail / "late.checkpoint"  # A signs a later tree: after its retirement
    newest = Checkpoint.parse((trail / "trail.checkpoint").read_text().split("\n\n")[0] + "\n")
    late.write_text(sign_note(Checkpoint(ORIGIN, newest.size, newest.root).text(), [A]))
    code, out = _verify(trail, k["b"].with_suffix(".pub"))
    assert code != ExitCode.OK
    assert "after the key was retired by the handover" in out
