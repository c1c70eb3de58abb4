"""Key files and key text, loaded in one place: the command line, the OpenTelemetry exporter
and the verifier's trust root all go through here.

Every file is read bounded (a regular file of at most ``MAX_KEY_FILE`` bytes, never a device
or a FIFO), and a malformed key or file is a :class:`~harness_audit.errors.TrailError` naming
the option or file and what was expected, never a ``NoteError`` traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness_audit.errors import Diagnostic, TrailError

if TYPE_CHECKING:
    from harness_audit.trail.note import Signer, Verifier
    from harness_audit.trail.witness import WitnessKey, WitnessSigner

__all__ = [
    "key_files",
    "load_signer",
    "load_verifiers",
    "load_witness_keys",
    "load_witness_signer",
    "write_keypair",
]


def key_files(values: Iterable[object] | None) -> list[Path]:
    """The key values that are files (the others are key text or loaded keys)."""
    return [Path(k) for k in values or () if isinstance(k, str) and Path(k).exists()]


def load_verifiers(values: Sequence[str | Verifier] | None, where: str = "--key") -> list[Verifier]:
    """Verifier keys from ``--key`` values: the key text ``<name>+<id>+<key>``, or a file of
    keys, one a line (a key already loaded is kept as it is)."""
    from harness_audit.trail.note import NoteError
    from harness_audit.trail.note import load_verifiers as parse

    try:
        return [k for v in values or () for k in (parse([v]) if isinstance(v, str) else [v])]
    except NoteError as e:
        raise TrailError(
            Diagnostic(
                where, str(e), expected="a verifier key <name>+<id>+<key>, or a file of them"
            )
        ) from e


def load_witness_keys(values: Sequence[str | WitnessKey] | None) -> list[WitnessKey]:
    """Witness cosignature keys from ``--witness-key`` values: the vkey text, or a file (a
    key already loaded is kept as it is)."""
    from harness_audit.trail.note import NoteError
    from harness_audit.trail.witness import load_witness_keys as parse

    try:
        return [k for v in values or () for k in (parse([v]) if isinstance(v, str) else [v])]
    except NoteError as e:
        raise TrailError(
            Diagnostic(
                "--witness-key",
                str(e),
                expected="a witness key <name>+<id>+<key> (type 0x04), or a file of them",
            )
        ) from e


def load_signer(path: Path) -> Signer:
    """A signer key file (``NAME.key`` from ``trail keygen``)."""
    from harness_audit._fs import read_bounded
    from harness_audit.trail.note import MAX_KEY_FILE, NoteError, Signer

    data = read_bounded(path, MAX_KEY_FILE, "signer key")
    try:
        return Signer.parse(data.decode("utf-8"))
    except (NoteError, UnicodeDecodeError) as e:
        raise TrailError(
            Diagnostic(
                str(path),
                str(e),
                expected="a signer key PRIVATE+KEY+<name>+<id>+<key> (from trail keygen)",
            )
        ) from e


def load_witness_signer(path: Path) -> WitnessSigner:
    """A witness's signer key file (from ``trail keygen --witness``)."""
    from harness_audit._fs import read_bounded
    from harness_audit.trail.note import MAX_KEY_FILE, NoteError
    from harness_audit.trail.witness import WitnessSigner

    try:
        return WitnessSigner.parse(
            read_bounded(path, MAX_KEY_FILE, "witness signer key").decode("utf-8")
        )
    except (UnicodeDecodeError, NoteError) as e:
        raise TrailError(
            Diagnostic(
                str(path),
                "not a witness signer key",
                expected="PRIVATE+KEY+<name>+<id>+<key> from `trail keygen --witness`",
            )
        ) from e


def write_keypair(name: str, folder: Path, witness: bool = False) -> tuple[Path, Path, str]:
    """Write ``NAME.key`` (the signer key, mode 0600) and ``NAME.pub`` into ``folder``, never
    over an existing key: (key file, public file, the public key's text). ``witness``: a C2SP
    cosignature/v1 key pair for ``trail checkpoint cosign``."""
    import os

    from harness_audit.errors import UsageError
    from harness_audit.trail.note import NoteError, Signer
    from harness_audit.trail.witness import WitnessSigner

    try:
        signer: Signer | WitnessSigner = (
            WitnessSigner.generate(name) if witness else Signer.generate(name)
        )
    except NoteError as e:
        raise UsageError(Diagnostic("NAME", str(e))) from e
    stem = name.replace("/", "_")
    key_path, pub_path = folder / f"{stem}.key", folder / f"{stem}.pub"
    for p in (key_path, pub_path):
        if p.exists():
            raise UsageError(Diagnostic(str(p), "already exists; keygen never overwrites a key"))
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(signer.text() + "\n")
    public = (signer.key if isinstance(signer, WitnessSigner) else signer.verifier).text()
    pub_path.write_text(public + "\n", encoding="utf-8")
    return key_path, pub_path, public
