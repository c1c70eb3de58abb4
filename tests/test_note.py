"""C2SP signed-note and tlog-checkpoint: published examples and real checkpoints."""

from __future__ import annotations

from typing import Any

import pytest

from harness_audit.trail.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    key_id,
    parse_note,
    sign_note,
    verify_note,
)


def test_go_example_signs_byte_for_byte(note_vectors: Any) -> None:
    ex = note_vectors["go_example"]
    signer = Signer.parse(ex["signer"])
    assert signer.verifier.text() == ex["verifier"]
    assert sign_note(ex["text"], [signer]) == ex["signed"]


def test_go_example_verifies(note_vectors: Any) -> None:
    ex = note_vectors["go_example"]
    note, good = verify_note(ex["signed"].encode(), [Verifier.parse(ex["verifier"])])
    assert note.text == ex["text"] and good[0].name == "PeterNeumann"
    assert good[0].id.hex() == "c74f20a3"


def test_unknown_signers_are_ignored(note_vectors: Any) -> None:
    ex = note_vectors["go_example"]
    two = ex["signed"] + ex["second_signature_line"]
    _, good = verify_note(two.encode(), [Verifier.parse(ex["verifier"])])
    assert [v.name for v in good] == ["PeterNeumann"]
    _, good = verify_note(two.encode(), [Verifier.parse(ex["second_verifier"])])
    assert [v.name for v in good] == ["EnochRoot"]


def test_no_trusted_signature(note_vectors: Any) -> None:
    ex = note_vectors["go_example"]
    with pytest.raises(NoteError) as e:
        verify_note(ex["signed"].encode(), [Verifier.parse(ex["second_verifier"])])
    assert e.value.kind == "no_trusted_signature"


def test_bad_signature_of_a_trusted_key(note_vectors: Any) -> None:
    ex = note_vectors["go_example"]
    tampered = ex["signed"].replace("problem is", "problem was")
    with pytest.raises(NoteError) as e:
        verify_note(tampered.encode(), [Verifier.parse(ex["verifier"])])
    assert e.value.kind == "bad_signature"


def test_c2sp_spec_example(note_vectors: Any) -> None:
    ex = note_vectors["c2sp_example"]
    note, _ = verify_note(ex["signed"].encode(), [Verifier.parse(ex["verifier"])])
    assert note.text == "This is an example message.\n"


def test_real_sumdb_checkpoints_verify_as_a_witness_would(note_vectors: Any) -> None:
    sumdb = note_vectors["sumdb"]
    v = Verifier.parse(sumdb["verifier"])
    for text in sumdb["checkpoints"]:
        note, _ = verify_note(text.encode(), [v])
        cp = Checkpoint.parse(note.text)
        assert cp.origin == "go.sum database tree" and cp.size > 1_000_000
        assert Checkpoint.parse(cp.text()) == cp


@pytest.mark.parametrize(
    "key",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+AhpeFKJTVK4Y0cmgFkOFM9+ljgk8wWPWEgrR9B5fJ5wj",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys(key: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(key)


@pytest.mark.parametrize(
    "note",
    [
        b"",
        b"no signatures\n",
        b"text\n\n",
        b"text\n\nnot a signature\n",
        b"text\n\n\xe2\x80\x94 name !!!notbase64\n",
        b"text\n\n\xe2\x80\x94 name AAAA\n",
        b"\xff\xfe\n\n\xe2\x80\x94 n AAAAAAAA\n",
        b"ctrl\x07char\n\n\xe2\x80\x94 n AAAAAAAA\n",
    ],
)
def test_malformed_notes(note: bytes) -> None:
    with pytest.raises(NoteError) as e:
        parse_note(note)
    assert e.value.kind == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        "origin\n",
        "origin\n01\nAAAA\n",
        "origin\n5\nnot base64\n",
        "\n5\n" + "A" * 43 + "=\n",
        "origin\n5\n" + "A" * 43 + "=\n\n",
        "origin\n-1\n" + "A" * 43 + "=\n",
    ],
)
def test_malformed_checkpoints(body: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


def test_key_id_and_roundtrip() -> None:
    s = Signer.generate("harness-audit/test")
    assert Signer.parse(s.text()) == s
    assert s.id == key_id("harness-audit/test", s.verifier.public)
    assert Verifier.parse(s.verifier.text()) == s.verifier
