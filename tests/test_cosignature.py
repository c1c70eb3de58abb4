"""C2SP tlog-cosignature (cosignature/v1): known answers, real cosignatures, tampering."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness_audit.trail.note import NoteError, load_verifiers, parse_note, verify_note
from harness_audit.trail.witness import (
    WitnessKey,
    WitnessSigner,
    cosignature_message,
    verify_cosignatures,
)


def test_known_answer_lines(cosignature_vectors: Any) -> None:
    for v in cosignature_vectors["known_answer"]:
        signer = WitnessSigner.from_seed(v["name"], bytes.fromhex(v["seed_hex"]))
        assert signer.key.text() == v["vkey"]
        msg = cosignature_message(v["note_text"], v["timestamp"])
        assert hashlib.sha256(msg).hexdigest() == v["message_sha256"]
        assert signer.cosign(v["note_text"], v["timestamp"]) == v["line"]


def test_known_answer_note_verifies_for_log_and_witness(cosignature_vectors: Any) -> None:
    v = cosignature_vectors["known_answer"][0]
    data = (v["note_text"] + "\n" + v["log_line"] + v["line"]).encode()
    note, good = verify_note(data, load_verifiers([v["log_vkey"]]))  # the witness line is ignored
    assert [k.text() for k in good] == [v["log_vkey"]]
    [cos] = verify_cosignatures(note, [WitnessKey.parse(v["vkey"])])
    assert cos.timestamp == v["timestamp"]


def test_a_real_witness_cosignature_verifies(cosignature_vectors: Any) -> None:
    v = cosignature_vectors["published"][0]
    note, good = verify_note(v["note"].encode(), load_verifiers([v["log_vkey"]]))
    assert good
    [cos] = verify_cosignatures(note, [WitnessKey.parse(v["witness_vkey"])])
    assert (cos.witness.name, cos.timestamp) == ("remora.n621.de", v["timestamp"])


def test_unknown_witnesses_are_ignored(cosignature_vectors: Any) -> None:
    v = cosignature_vectors["published"][0]
    other = WitnessSigner.from_seed("other.example/w", b"\x07" * 32).key
    assert verify_cosignatures(parse_note(v["note"].encode()), [other]) == []


def test_a_changed_timestamp_or_body_fails(cosignature_vectors: Any) -> None:
    v = cosignature_vectors["known_answer"][0]
    signer = WitnessSigner.from_seed(v["name"], bytes.fromhex(v["seed_hex"]))
    line = signer.cosign(v["note_text"], v["timestamp"])
    forged = signer.cosign(v["note_text"], v["timestamp"] + 1)
    blob_ts = forged.split()[-1][:20]
    tampered = line.replace(line.split()[-1][:20], blob_ts)  # new time, old signature
    for text, sig in ((v["note_text"], tampered), (v["note_text"].replace("\n1\n", "\n2\n"), line)):
        note = parse_note((text + "\n" + v["log_line"] + sig).encode())
        with pytest.raises(NoteError) as e:
            verify_cosignatures(note, [signer.key])
        assert e.value.kind == "bad_signature"


def test_key_text_round_trips_and_refuses_note_keys(cosignature_vectors: Any) -> None:
    v = cosignature_vectors["known_answer"][0]
    signer = WitnessSigner.from_seed(v["name"], bytes.fromhex(v["seed_hex"]))
    assert WitnessSigner.parse(signer.text()) == signer
    with pytest.raises(NoteError):
        WitnessKey.parse(v["log_vkey"])  # a type 0x01 note key is not a cosignature key
    with pytest.raises(NoteError):
        WitnessKey.parse(v["vkey"].replace("10a1c019", "10a1c01a"))


@given(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**63 - 1),
    st.text(alphabet="abcdefghij0123456789/.", min_size=1, max_size=30),
)
def test_cosign_then_verify(seed: bytes, ts: int, origin: str) -> None:
    signer = WitnessSigner.from_seed("w.example/1", seed)
    text = f"{origin}\n5\n{'A' * 43}=\n"
    note = parse_note((text + "\n" + signer.cosign(text, ts)).encode())
    [cos] = verify_cosignatures(note, [signer.key])
    assert cos.timestamp == ts


# --- acting as a witness, end to end ---------------------------------------------------------


def _witness_setup(tmp_path: Path) -> tuple[Path, Path, str]:
    from .trailkit import pub

    wkey = tmp_path / "w.key"
    wkey.write_text(WitnessSigner.from_seed("witness.example/w1", b"\x05" * 32).text() + "\n")
    return wkey, tmp_path / "w.state", pub(tmp_path)


def test_witness_cosigns_only_what_extends_what_it_cosigned(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness_audit.cli._cli import app
    from harness_audit.trail.writer import TrailWriter

    from .trailkit import SIGNER, event

    run = CliRunner().invoke
    wkey, state, log_pub = _witness_setup(tmp_path)
    trail = tmp_path / "t"
    with TrailWriter(trail, "harness-audit/test", SIGNER, checkpoint_every=0) as w:
        for i in range(5):
            w.append(event(i))
    cp = trail / "trail.checkpoint"
    first = cp.read_bytes()
    args = [
        "trail",
        "checkpoint",
        "cosign",
        str(cp),
        "--key",
        str(wkey),
        "--log-key",
        log_pub,
        "--state",
        str(state),
    ]
    r = run(app, [*args, "-o", str(tmp_path / "c5")])
    assert r.exit_code == 0, r.output
    cosigned = (tmp_path / "c5").read_text()
    assert cosigned.startswith(first.decode()) and "— witness.example/w1 " in cosigned
    with TrailWriter(trail, "harness-audit/test", SIGNER, checkpoint_every=0) as w:
        for i in range(5, 9):
            w.append(event(i))
    no_proof = run(app, args)
    assert no_proof.exit_code == 1 and "no consistency proof" in no_proof.stderr
    proof = tmp_path / "p.json"
    assert (
        run(
            app, ["trail", "prove", str(trail), "--consistency", "5", "9", "-o", str(proof)]
        ).exit_code
        == 0
    )
    ok = run(app, [*args, "--proof", str(proof)])
    assert ok.exit_code == 0 and "— witness.example/w1 " in ok.stdout
    (tmp_path / "old").write_bytes(first)
    rollback = run(app, [*args[:3], str(tmp_path / "old"), *args[4:]])
    assert rollback.exit_code == 1 and "rollback" in rollback.stderr


def test_witness_refuses_a_fork_and_a_foreign_log(tmp_path: Path) -> None:
    import base64

    from harness_audit.trail.note import Checkpoint, sign_note
    from harness_audit.trail.witness import cosign_checkpoint

    from .trailkit import OTHER, SIGNER

    w = WitnessSigner.from_seed("witness.example/w1", b"\x05" * 32)
    keys = [SIGNER.verifier]
    a = sign_note(Checkpoint("o", 3, b"\x01" * 32).text(), [SIGNER]).encode()
    b = sign_note(Checkpoint("o", 3, b"\x02" * 32).text(), [SIGNER]).encode()
    first = cosign_checkpoint(a, keys, w, {}, None, 100)
    assert first.note and first.state["o"] == {
        "size": 3,
        "root": base64.b64encode(b"\x01" * 32).decode(),
    }
    fork = cosign_checkpoint(b, keys, w, first.state, None, 101)
    assert fork.note is None and "fork" in str(fork.refused)
    foreign = sign_note(Checkpoint("o", 4, b"\x01" * 32).text(), [OTHER]).encode()
    refused = cosign_checkpoint(foreign, keys, w, first.state, None, 102)
    assert refused.note is None and "signature" in str(refused.refused)


def test_verify_and_scan_require_the_witness_quorum(tmp_path: Path) -> None:
    """A trail re-signed by an insider who holds the log key still lacks the witness's
    cosignature: with --witness-key it does not verify until a witness cosigned."""
    import json
    import shutil

    from typer.testing import CliRunner

    from harness_audit.cli._cli import app

    from .conftest import SAMPLES

    run = CliRunner().invoke
    project = tmp_path / "p"
    shutil.copytree(SAMPLES / "loan-assessment-hardened", project)
    trail, key = project / "trails", str(project / "keys" / "trail.pub")
    wkey, state, _ = _witness_setup(tmp_path)
    wpub = tmp_path / "w.pub"
    wpub.write_text(WitnessSigner.parse(wkey.read_text()).key.text() + "\n")
    plain = run(app, ["verify", str(trail), "--key", key])
    assert plain.exit_code == 0
    lacking = run(app, ["verify", str(trail), "--key", key, "--witness-key", str(wpub)])
    assert lacking.exit_code == 1 and "witness_quorum" in lacking.stdout
    cosigned = tmp_path / "cosigned.checkpoint"
    assert (
        run(
            app,
            [
                "trail",
                "checkpoint",
                "cosign",
                str(trail / "trail.checkpoint"),
                "--key",
                str(wkey),
                "--log-key",
                key,
                "--state",
                str(state),
                "-o",
                str(cosigned),
            ],
        ).exit_code
        == 0
    )
    ok = run(
        app,
        [
            "verify",
            str(trail),
            "--key",
            key,
            "--witness-key",
            str(wpub),
            "--checkpoint",
            str(cosigned),
        ],
    )
    assert ok.exit_code == 0, ok.stdout
    scan = run(
        app,
        [
            "scan",
            str(project),
            "--key",
            key,
            "--witness-key",
            str(wpub),
            "--checkpoint",
            str(cosigned),
            "-f",
            "json",
        ],
    )
    assert json.loads(scan.stdout)["pipelines"][0]["trail"]["witnesses"] == 1


def test_cosign_file_persists_the_state_only_when_it_cosigns(tmp_path: Path) -> None:
    from harness_audit.trail.note import Checkpoint, sign_note
    from harness_audit.trail.witness import cosign_file, read_state

    from .trailkit import OTHER, SIGNER

    wkey, state, log_pub = _witness_setup(tmp_path)
    cp = tmp_path / "cp"
    cp.write_text(sign_note(Checkpoint("o", 3, b"\x01" * 32).text(), [OTHER]))
    refused = cosign_file(cp, wkey, [log_pub], state, None, None, 100)
    assert refused.note is None and not state.exists()
    cp.write_text(sign_note(Checkpoint("o", 3, b"\x01" * 32).text(), [SIGNER]))
    done = cosign_file(cp, wkey, [log_pub], state, None, None, 100)
    assert done.note and read_state(state) == done.state
