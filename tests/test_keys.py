"""Key loading in one place (``harness_audit.keys``): bounded reads, errors in the project's
root, and the same loader for the command line and the OpenTelemetry exporter."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_audit import keys
from harness_audit.errors import HarnessAuditError, TrailError

from .trailkit import SIGNER


def test_a_signer_key_file_loads(tmp_path: Path) -> None:
    f = tmp_path / "k.key"
    f.write_text(SIGNER.text() + "\n")
    assert keys.load_signer(f).verifier.text() == SIGNER.verifier.text()


def test_a_verifier_key_given_as_signer_key_is_a_trail_error(tmp_path: Path) -> None:
    f = tmp_path / "k.pub"
    f.write_text(SIGNER.verifier.text() + "\n")
    with pytest.raises(TrailError) as e:
        keys.load_signer(f)
    assert e.value.diagnostics()[0].file == str(f)


def test_a_huge_key_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    f = tmp_path / "big.key"
    f.write_bytes(b"x" * (1 << 20))
    with pytest.raises(HarnessAuditError):
        keys.load_signer(f)


def test_bad_key_text_names_the_option() -> None:
    with pytest.raises(TrailError) as e:
        keys.load_verifiers(["not+a+key"])
    assert e.value.diagnostics()[0].file == "--key"
    with pytest.raises(TrailError) as e:
        keys.load_witness_keys(["not+a+key"])
    assert e.value.diagnostics()[0].file == "--witness-key"


def test_key_files_are_the_values_that_exist(tmp_path: Path) -> None:
    f = tmp_path / "k.pub"
    f.write_text(SIGNER.verifier.text())
    assert keys.key_files([str(f), SIGNER.verifier.text(), SIGNER.verifier]) == [f]
    assert keys.key_files(None) == []


def test_the_exporter_reads_its_key_file_bounded(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk.trace.export")
    from harness_audit.otel import TrailSpanExporter

    f = tmp_path / "big.key"
    f.write_bytes(b"x" * (1 << 20))
    with pytest.raises(HarnessAuditError):
        TrailSpanExporter(tmp_path / "trail", "test/otel", key_file=f)


def test_keygen_writes_a_private_key_and_never_overwrites_one(tmp_path: Path) -> None:
    from harness_audit.errors import UsageError

    key, pub, public = keys.write_keypair("acme/log", tmp_path / "k")
    assert key.name == "acme_log.key" and key.stat().st_mode & 0o777 == 0o600
    assert pub.read_text() == public + "\n"
    assert keys.load_verifiers([public])[0].text() == keys.load_signer(key).verifier.text()
    with pytest.raises(UsageError, match="never overwrites a key"):
        keys.write_keypair("acme/log", tmp_path / "k")
    with pytest.raises(UsageError):
        keys.write_keypair("has space", tmp_path / "k")
    _, _, witness = keys.write_keypair("w", tmp_path / "k", witness=True)
    assert keys.load_witness_keys([witness])
