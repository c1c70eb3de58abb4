"""Issue 12.3: a witness quorum on the anchoring checkpoint (C2SP tlog-cosignature)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_audit.errors import TrailError
from harness_audit.trail.checkpoints import HISTORY, history_name
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.witness import WitnessSigner
from harness_audit.trust import TrustRoot

from .trailkit import SIGNER, write_trail

V = [SIGNER.verifier]
W1 = WitnessSigner.from_seed("witness.one/w", b"\x11" * 32)
W2 = WitnessSigner.from_seed("witness.two/w", b"\x22" * 32)
W3 = WitnessSigner.from_seed("witness.three/w", b"\x33" * 32)
KEYS = [W1.key, W2.key, W3.key]


def cosign(path: Path, *signers: WitnessSigner, at: int = 1_790_000_000) -> None:
    data = path.read_text()
    text = data[: data.rindex("\n\n") + 1]
    path.write_text(data + "".join(s.cosign(text, at + i) for i, s in enumerate(signers)))


def errors(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.kind for p in report.problems if not p.warning]


def trail(tmp: Path) -> Path:
    """30 events, checkpoints kept at 10, 20 and 30; the newest is also trail.checkpoint."""
    t = write_trail(tmp / "t", 30, checkpoint_every=10)
    (t / "trail.checkpoint").unlink()  # the history alone, so each is cosigned once
    return t


def test_a_quorum_of_witnesses_anchors_and_is_recorded(tmp_path: Path) -> None:
    t = trail(tmp_path)
    cosign(t / HISTORY / history_name(30), W1, W2)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=2))
    assert r.status == "verified" and r.anchor and r.anchor.size == 30
    assert [(c.witness.name, c.timestamp) for c in r.witnesses] == [
        ("witness.one/w", 1_790_000_000),
        ("witness.two/w", 1_790_000_001),
    ]
    assert r.witness_quorum == 2 and not r.problems


def test_without_the_quorum_nothing_is_verified(tmp_path: Path) -> None:
    """Old code: no witness parameters; the signed checkpoint alone made it verified."""
    t = trail(tmp_path)
    cosign(t / HISTORY / history_name(30), W1)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=2))
    assert r.status == "failed" and r.anchor is None and not r.ok
    assert errors(r) == ["witness_quorum"]
    assert "1 valid cosignature(s) of the 2 needed" in r.problems[0].detail


def test_a_repeated_witness_counts_once(tmp_path: Path) -> None:
    t = trail(tmp_path)
    cosign(t / HISTORY / history_name(30), W1, W1)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=2))
    assert errors(r) == ["witness_quorum"]


def test_unknown_witnesses_do_not_count(tmp_path: Path) -> None:
    t = trail(tmp_path)
    cosign(t / HISTORY / history_name(30), W1, W3)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=(W1.key, W2.key), witness_quorum=2))
    assert errors(r) == ["witness_quorum"]


def test_a_forged_cosignature_is_a_bad_signature(tmp_path: Path) -> None:
    t = trail(tmp_path)
    cp = t / HISTORY / history_name(30)
    cosign(cp, W1, W2)
    lines = cp.read_text().splitlines(keepends=True)
    blob = lines[-1].split()[-1]
    lines[-1] = lines[-1].replace(blob, blob[:-8] + ("A" if blob[-8] != "A" else "B") + blob[-7:])
    cp.write_text("".join(lines))
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=1))
    assert "bad_signature" in errors(r) and r.status == "failed"
    assert r.anchor and [c.witness.name for c in r.witnesses] == ["witness.one/w"]


def test_an_older_cosigned_checkpoint_anchors_and_the_rest_is_a_tail(tmp_path: Path) -> None:
    t = trail(tmp_path)
    cosign(t / HISTORY / history_name(20), W1, W2)
    cosign(t / HISTORY / history_name(30), W1)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=2))
    assert r.status == "verified" and r.anchor and r.anchor.size == 20
    warned = {p.kind: p for p in r.problems if p.warning}
    assert set(warned) == {"unanchored_tail", "witness_quorum"}
    assert warned["unanchored_tail"].detail.startswith("10 event(s)")


def test_witnesses_without_a_quorum_are_only_recorded(tmp_path: Path) -> None:
    t = trail(tmp_path)
    cosign(t / HISTORY / history_name(30), W2)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=0))
    assert r.status == "verified" and [c.witness.name for c in r.witnesses] == ["witness.two/w"]
    assert verify_trail([t], V).witnesses == ()


def test_a_quorum_larger_than_the_keys_is_refused(tmp_path: Path) -> None:
    t = trail(tmp_path)
    with pytest.raises(TrailError, match="quorum of 2"):
        verify_trail([t], TrustRoot(tuple(V), witness_keys=(W1.key, W1.key), witness_quorum=2))
    with pytest.raises(TrailError):
        verify_trail([t], TrustRoot(tuple(V), witness_quorum=-1))


@pytest.mark.parametrize("cosigned", [0, 1])
def test_of_two_signings_of_one_size_the_cosigned_one_anchors(
    tmp_path: Path, cosigned: int
) -> None:
    """Two checkpoints of one size and root in the history (``<size>.1``: a writer resumed and
    closed signs its size again): the one with the cosignature anchors, whichever is listed
    first, so the witnesses are recorded."""
    t = trail(tmp_path)
    plain = (t / HISTORY / history_name(30)).read_text()
    (t / HISTORY / history_name(30, 1)).write_text(plain)
    cosign(t / HISTORY / history_name(30, cosigned), W2)
    r = verify_trail([t], TrustRoot(tuple(V), witness_keys=tuple(KEYS), witness_quorum=0))
    assert r.status == "verified" and r.anchor and r.anchor.size == 30
    assert [c.witness.name for c in r.witnesses] == ["witness.two/w"]
