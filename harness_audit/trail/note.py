"""C2SP signed-note and tlog-checkpoint, Ed25519 only.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <name> <base64(key id || signature)>``. The key id is the first four bytes of
SHA-256(name || "\\n" || 0x01 || public key). Verifier keys are ``<name>+<hex id>+<base64(0x01 ||
public key)>``; signer keys add a ``PRIVATE+KEY+`` prefix and carry the 32-byte seed.
Signatures by unknown keys are ignored; a note needs at least one valid signature by a trusted key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
SIG_PREFIX = "— "  # U+2014 EM DASH, then a space
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20
_NAME = re.compile(r"[^\s+]+")


NoteErrorKind = Literal["malformed", "bad_signature", "no_trusted_signature"]


class NoteError(ValueError):
    """A key, note or checkpoint that is malformed, or whose signature does not verify."""

    def __init__(self, message: str, kind: NoteErrorKind = "malformed") -> None:
        super().__init__(message)
        self.kind: NoteErrorKind = kind


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise NoteError("not standard base64") from e  # never quote what was read


def key_id(name: str, public: bytes) -> bytes:
    """C2SP signed-note: the first 4 bytes of SHA-256(name || 0x0A || type || key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise NoteError("a key name is empty or contains a space or '+'")


@dataclass(frozen=True, slots=True)
class Verifier:
    """A verifier key: ``<name>+<hex id>+<base64(0x01 || public key)>``."""

    name: str
    id: bytes
    public: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Parse the verifier key text; the key id must be the one the name and key give."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<id>+<key>")
        name, hex_id, b64 = parts
        _check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError("a key id is 8 lowercase hex digits")
        raw = _b64(b64)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 (type 0x01) key of 32 bytes")
        public = raw[1:]
        if key_id(name, public) != bytes.fromhex(hex_id):
            raise NoteError(f"key id {hex_id} does not match the key and name")
        return cls(name, bytes.fromhex(hex_id), public)

    def text(self) -> str:
        """The verifier key text."""
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{raw}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Signer:
    """A signer key: ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""

    name: str
    id: bytes
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key."""
        from cryptography.hazmat.primitives import serialization

        _check_name(name)
        seed = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls.from_seed(name, seed)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """The key of a 32-byte Ed25519 seed."""
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        return cls(name, key_id(name, public), seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        """Parse the signer key text; the key id must be the one the name and seed give."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key is not PRIVATE+KEY+<name>+<id>+<key>")
        name, hex_id, b64 = parts[2:]
        _check_name(name)
        raw = _b64(b64)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 (type 0x01) seed of 32 bytes")
        signer = cls.from_seed(name, raw[1:])
        if signer.id.hex() != hex_id:
            raise NoteError(f"key id {hex_id} does not match the key and name")
        return signer

    def text(self) -> str:
        """The signer key text (keep it secret)."""
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.id.hex()}+{raw}"

    @property
    def verifier(self) -> Verifier:
        """The matching verifier key."""
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return Verifier(self.name, self.id, public)

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note: the key's name, its 4-byte id, and the signature."""

    name: str
    id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Note:
    """A note as parsed: its text and its signatures, none verified yet."""

    text: str
    signatures: tuple[Signature, ...]


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text does not end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text contains control characters")


def sign_note(text: str, signers: list[Signer]) -> str:
    """The signed note: the text, a blank line, and a signature line by each signer."""
    _check_text(text)
    lines = [text, "\n"]
    for s in signers:
        blob = base64.b64encode(s.id + s.sign(text.encode())).decode()
        lines.append(f"{SIG_PREFIX}{s.name} {blob}\n")
    return "".join(lines)


def parse_note(data: bytes) -> Note:
    """A note's text and signature lines, checked for form only; raises NoteError."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"note is {len(data):,} bytes, more than {MAX_NOTE_BYTES:,}")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NoteError("note is not UTF-8") from e
    split = whole.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("signature block does not end with a newline")
    sigs = []
    for i, line in enumerate(block[:-1].split("\n"), 1):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"signature line {i} does not start with '— '")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        _check_name(name)
        raw = _b64(blob)
        if len(raw) < 5:
            raise NoteError(f"signature by {name!r} is too short")
        sigs.append(Signature(name, raw[:4], raw[4:]))
    if not sigs:
        raise NoteError("note has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(sigs)} signatures, more than {MAX_SIGNATURES}")
    return Note(text, tuple(sigs))


def verify_note(data: bytes, verifiers: list[Verifier]) -> tuple[Note, list[Verifier]]:
    """Parse and verify; return the note and the trusted keys whose signatures hold.

    Raises :class:`NoteError` with ``kind`` ``bad_signature`` when a trusted key's signature is
    wrong, and ``no_trusted_signature`` when no trusted key signed.
    """
    note = parse_note(data)
    by_id = {(v.name, v.id): v for v in verifiers}
    good: list[Verifier] = []
    for sig in note.signatures:
        v = by_id.get((sig.name, sig.id))
        if v is None:
            continue  # C2SP signed-note: signatures from unknown keys are ignored
        if not v.verify(note.text.encode(), sig.signature):
            raise NoteError(
                f"signature by {v.name} ({v.id.hex()}) does not verify", "bad_signature"
            )
        good.append(v)
    if not good:
        names = ", ".join(f"{s.name}+{s.id.hex()}" for s in note.signatures)
        raise NoteError(
            f"no signature by a trusted key (signed by: {names})", "no_trusted_signature"
        )
    return note, good


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """C2SP tlog-checkpoint body."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The body: origin, size and base64 root hash, one a line, then the extension lines."""
        ext = "".join(f"{e}\n" for e in self.extensions)
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n{ext}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a body; raises NoteError unless origin, size and a 32-byte root are well formed."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("checkpoint needs origin, size and root lines")
        origin, size, root_b64, *ext = lines[:-1]
        if not origin:
            raise NoteError("checkpoint origin is empty")
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size):
            raise NoteError("checkpoint size is not a decimal number")
        root = _b64(root_b64)
        if len(root) != 32:
            raise NoteError("checkpoint root is not 32 bytes")
        if any(not e for e in ext):
            raise NoteError("checkpoint has an empty extension line")
        return cls(origin, int(size), root, tuple(ext))


MAX_KEY_FILE = 64 << 10
"""Largest key file read (a key is about 60 bytes; a file of them, a few)."""


def load_verifiers(values: list[str]) -> list[Verifier]:
    """Keys from ``--key`` values: a verifier key text, or a file of them, one a line.

    A key file is read bounded (a regular file of at most 64 KiB: never a device or a FIFO),
    and an error names the file and line, never what the file holds."""
    from pathlib import Path

    from harness_audit._fs import read_bounded
    from harness_audit.errors import HarnessAuditError

    out: list[Verifier] = []
    for v in values:
        p = Path(v)
        if "+" not in v or p.exists():
            try:
                text = read_bounded(p, MAX_KEY_FILE, "key file").decode("utf-8")
            except HarnessAuditError as e:
                raise NoteError(
                    f"{v}: cannot be read as a key file ({e.diagnostics()[0].message})"
                ) from e
            except UnicodeDecodeError as e:
                raise NoteError(f"{v}: cannot be read as a key file (not UTF-8 text)") from e
            lines = [
                (n, ln)
                for n, ln in enumerate(text.splitlines(), 1)
                if ln.strip() and not ln.startswith("#")
            ]
            if not lines:
                raise NoteError(f"{v}: no key in the file")
            for n, ln in lines:
                if ln.startswith("PRIVATE+KEY+"):
                    raise NoteError(f"{v}: is a private signer key; give the .pub verifier key")
                try:
                    out.append(Verifier.parse(ln))
                except NoteError as e:
                    raise NoteError(f"{v}:{n}: not a verifier key: {e}") from e
        else:
            out.append(Verifier.parse(v))
    return out
