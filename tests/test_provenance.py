"""Issue 22, item 2: provenance, signed. Checkpoints carry their signing time (and, for
``trail import``, the import and its sources' SHA-256) as C2SP tlog-checkpoint extension lines
under the signature; ``verify`` says per trail whether it was captured at the source or sealed
after the fact, and how long after its events."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.report.verify_view import verify_dict, verify_text
from harness_audit.trail.note import Checkpoint, NoteError, Signer, Verifier, verify_note
from harness_audit.trail.provenance import (
    MAX_LISTED,
    ImportMark,
    import_line,
    list_digest,
    read_stamp,
    signed_line,
)
from harness_audit.trail.verify import verify_trail
from harness_audit.trail.writer import TrailWriter

from .trailkit import SIGNER, event

DATA = Path(__file__).parent / "data"
KAT = Signer.from_seed("harness-audit/kat", bytes(range(32)))
SIGNED = dt.datetime(2026, 12, 7, 13, 0, 0, tzinfo=dt.UTC)
KAT_NOTE = (
    "harness-audit/kat\n"
    "1\n"
    "tAGSJ9UEihlTZe5MISJAIgyQzkXf7vb18fV4mwQkZyk=\n"
    "harness-audit-signed 2026-12-07T13:00:00Z\n"
    "\n"
    "— harness-audit/kat pYRDf4oBe9vgQIt/iQTS4wKD9wYjwHC41Z1DlE4hyC9KMIj1bwMoTPh0CHZr9FaLOrVga7aI3K"
    "iqWZmSjm2rgFnIww0=\n"
)
runner = CliRunner()


def _kat_trail(folder: Path) -> Path:
    with TrailWriter(folder, "harness-audit/kat", KAT, clock=lambda: SIGNED) as w:
        w.append(
            {
                "ts": "2025-11-30T09:00:00.000Z",
                "run": "r1",
                "span": "a",
                "parent": None,
                "agent": "harness",
                "kind": "run_start",
                "pipeline": "kat",
            }
        )
    return folder


# --- the extension line, known answer -------------------------------------------------------


def test_the_writer_signs_its_time_as_an_extension_line_known_answer(tmp_path: Path) -> None:
    note = (_kat_trail(tmp_path) / "trail.checkpoint").read_text(encoding="utf-8")
    assert note == KAT_NOTE
    # independently of our note code: the line is in the signed message (C2SP signed-note)
    text, _, sig_line = note.rpartition("\n\n")
    blob = base64.b64decode(sig_line.split(" ")[-1])
    key = KAT.verifier
    assert blob[:4] == hashlib.sha256(b"harness-audit/kat\n\x01" + key.public).digest()[:4]
    Ed25519PublicKey.from_public_bytes(key.public).verify(blob[4:], (text + "\n").encode())
    assert "harness-audit-signed 2026-12-07T13:00:00Z\n" in text + "\n"


def test_tampering_with_the_extension_line_breaks_the_signature(tmp_path: Path) -> None:
    folder = _kat_trail(tmp_path)
    cp = folder / "trail.checkpoint"
    for forged in ("2025-11-30T09:00:01Z", "2026-12-07T13:00:01Z"):
        cp.write_text(KAT_NOTE.replace("2026-12-07T13:00:00Z", forged), encoding="utf-8")
        with pytest.raises(NoteError) as e:
            verify_note(cp.read_bytes(), [KAT.verifier])
        assert e.value.kind == "bad_signature"
        r = verify_trail([folder], [KAT.verifier])
        assert r.status == "failed" and "bad_signature" in {p.kind for p in r.problems}
        # the forged time is never believed: only the genuine kept copy's
        assert r.provenance.signed_at == "2026-12-07T13:00:00Z"
        assert r.provenance.checkpoint_times == ("2026-12-07T13:00:00Z",)
    # dropping the line, or adding an import line, is as much a change of the signed text
    for forged_text in (
        KAT_NOTE.replace("harness-audit-signed 2026-12-07T13:00:00Z\n", ""),
        KAT_NOTE.replace("Z\n\n", "Z\n" + import_line(["0" * 64]) + "\n\n"),
    ):
        with pytest.raises(NoteError):
            verify_note(forged_text.encode(), [KAT.verifier])


def test_an_old_checkpoint_without_the_line_still_verifies(tmp_path: Path) -> None:
    folder = _kat_trail(tmp_path)
    note = KAT_NOTE.split("harness-audit-signed")[0]
    from harness_audit.trail.note import sign_note

    old = sign_note(note, [KAT])  # what the writer signed before this issue
    (folder / "trail.checkpoint").write_text(old, encoding="utf-8")
    for kept in (folder / "checkpoints").iterdir():
        kept.write_text(old, encoding="utf-8")
    r = verify_trail([folder], [KAT.verifier])
    assert r.status == "verified"
    assert r.provenance.capture == "unknown" and r.provenance.signed_at is None
    assert "signing time not recorded" in verify_text(r)


def test_unknown_extension_lines_are_ignored_and_ours_parse_strictly() -> None:
    digests = [hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()]
    stamp = read_stamp(
        [
            "example.com/other-extension 42",
            "harness-audit-signed yesterday",  # ours but malformed: ignored, not trusted
            signed_line(SIGNED),
            import_line(digests),
        ]
    )
    assert stamp.signed_at == "2026-12-07T13:00:00Z"
    assert stamp.imported == ImportMark(2, tuple(digests))
    assert read_stamp(["harness-audit-import sources=3 sha256=" + digests[0]]).imported is None
    assert read_stamp(["harness-audit-signed 2026-02-30T00:00:00Z"]).signed_at is None
    many = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(MAX_LISTED + 1)]
    line = import_line(many)
    assert len(line) < 200
    assert read_stamp([line]).imported == ImportMark(len(many), (), list_digest(many))
    cp = Checkpoint("o", 1, b"\x00" * 32, (signed_line(SIGNED), "x"))
    assert Checkpoint.parse(cp.text()) == cp


LINE = st.text(
    st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)), min_size=1, max_size=80
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=6))
def test_property_extension_lines_round_trip_and_never_crash_the_reader(ext: list[str]) -> None:
    cp = Checkpoint("harness-audit/p", 7, b"\x01" * 32, tuple(ext))
    assert Checkpoint.parse(cp.text()) == cp
    stamp = read_stamp(ext)  # never raises; a time it gives is one we would write
    if stamp.signed_at is not None:
        assert signed_line(dt.datetime.fromisoformat(stamp.signed_at)) in ext
    if stamp.imported is not None and stamp.imported.digests:
        assert import_line(list(stamp.imported.digests)) in ext


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_property_any_bytes_are_a_checkpoint_or_a_note_error(data: bytes) -> None:
    from harness_audit.trail.note import parse_note

    with contextlib.suppress(NoteError):
        Checkpoint.parse(parse_note(data).text)


# --- verify's report ------------------------------------------------------------------------


def test_a_trail_captured_by_its_writer_reads_captured(tmp_path: Path) -> None:
    last = dt.datetime(2026, 9, 14, 3, 47, 3, 3000, tzinfo=dt.UTC)
    with TrailWriter(
        tmp_path, "harness-audit/test", SIGNER, clock=lambda: last + dt.timedelta(seconds=2)
    ) as w:
        for i in range(4):
            w.append(event(i))
    r = verify_trail([tmp_path], [SIGNER.verifier])
    p = r.provenance
    assert p.capture == "captured" and p.sealed_after_s == pytest.approx(1.997)
    assert p.last_event_ts == "2026-09-14T03:47:03.003Z"
    assert p.imported is None and not p.pinned  # a list of keys: no source said
    assert verify_dict(r)["provenance"]["capture"] == "captured"
    assert "Provenance: captured at the source: signed 2026-09-14T03:47:05Z" in verify_text(r)


def test_a_backfill_signed_long_after_its_events_reads_sealed_after_the_fact(
    tmp_path: Path,
) -> None:
    with TrailWriter(tmp_path, "harness-audit/test", SIGNER, clock=lambda: SIGNED) as w:
        for i in range(4):
            w.append(event(i))  # events of 2026-09-14, signed on 2026-12-07
    r = verify_trail([tmp_path], [SIGNER.verifier])
    assert r.status == "verified" and r.provenance.capture == "sealed_after_the_fact"
    assert r.provenance.sealed_after_fact_reason() == (
        "sealed on 2026-12-07 by its writer, 84 days after its last event; the source format "
        "proves nothing before that"
    )
    late = verify_trail([tmp_path], [SIGNER.verifier], sealed_late_after_s=100 * 86400)
    assert late.provenance.capture == "captured"


def test_the_earliest_signature_over_a_tree_counts_and_the_longest_wait(tmp_path: Path) -> None:
    """A quiet writer that signs the same tree again later is not late; a backfill that goes on
    live is still sealed after the fact (the oldest checkpoint's wait counts)."""
    times = iter(
        [
            dt.datetime(2026, 9, 14, 3, 48, tzinfo=dt.UTC),  # right after its events
            dt.datetime(2026, 9, 20, tzinfo=dt.UTC),  # the same tree, signed again while quiet
        ]
    )
    w = TrailWriter(tmp_path, "harness-audit/test", SIGNER, clock=lambda: next(times))
    for i in range(3):
        w.append(event(i))
    w.checkpoint()
    w.close()
    r = verify_trail([tmp_path], [SIGNER.verifier])
    assert r.provenance.capture == "captured" and r.provenance.signed_at == "2026-09-14T03:48:00Z"
    assert r.provenance.checkpoint_times == ("2026-09-14T03:48:00Z", "2026-09-20T00:00:00Z")


def _import(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    pub = tmp_path / "k.pub"
    pub.write_text(SIGNER.verifier.text() + "\n")
    out = tmp_path / "imported"
    src = DATA / "import" / "openhands_stream.json"
    res = runner.invoke(
        app,
        ["trail", "import", str(src), "-o", str(out), "--key", str(key), "--origin", "o", *extra],
    )
    assert res.exit_code == 0, res.output
    return out, pub


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_trail_imported_today_of_last_years_events_reads_sealed_after_the_fact(
    tmp_path: Path, jobs: str
) -> None:
    out, pub = _import(tmp_path, "--jobs", jobs)
    digest = hashlib.sha256((DATA / "import" / "openhands_stream.json").read_bytes()).hexdigest()
    note = (out / "trail.checkpoint").read_text(encoding="utf-8")
    assert f"\nharness-audit-import sources=1 sha256={digest}\n" in note
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"\nharness-audit-signed {today}T" in note

    res = runner.invoke(app, ["verify", str(out), "--key", str(pub)])
    assert res.exit_code == 0, res.output  # it verifies: the seal holds since the import
    assert "Status: VERIFIED" in res.output
    assert f"Provenance: sealed on {today} by `trail import`, " in res.output
    assert "days after its last event; the source format proves nothing before that" in res.output
    assert f"Imported from: 1 source(s): sha256:{digest}" in res.output
    assert f"Anchoring key: {SIGNER.name}+" in res.output and "pinned (flag)" in res.output

    res = runner.invoke(app, ["verify", str(out), "--key", str(pub), "-f", "json"])
    prov = json.loads(res.output)["provenance"]
    assert prov["capture"] == "sealed_after_the_fact"
    assert prov["imported"] == {"sources": 1, "sha256": [digest], "sha256_list": None}
    assert prov["signed_at"].startswith(today) and prov["last_event_ts"].startswith("2025-02-03")
    assert prov["sealed_after_seconds"] > 300 * 86400
    assert prov["pinned"] is True and prov["witnessed"] is False
    assert prov["key"] == f"harness-audit/test+{SIGNER.id.hex()}"


def test_verify_without_a_trusted_key_has_no_provenance_to_give(tmp_path: Path) -> None:
    out, _ = _import(tmp_path)
    r = verify_trail([out], [Verifier.parse(Signer.from_seed("x", b"\x02" * 32).verifier.text())])
    assert r.provenance.capture == "unanchored" and r.provenance.checkpoint_times == ()
