"""A signed checkpoint checked alone, as a witness checks it: a trusted signature and a
well-formed C2SP ``tlog-checkpoint`` body."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail.note import (
    _NAME,
    SIG_PREFIX,
    Checkpoint,
    Note,
    NoteError,
    Verifier,
    _b64,
    verify_note,
)


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """What ``trail checkpoint verify`` found: the checkpoint, or why it does not verify."""

    file: str
    checkpoint: Checkpoint | None
    signers: tuple[Verifier, ...]
    problem: str | None = None  # "<kind>: <detail>" when no trusted signature holds

    @property
    def ok(self) -> bool:
        """Whether a trusted key signed a well-formed checkpoint."""
        return self.problem is None


def verify_checkpoint_file(path: Path, verifiers: list[Verifier]) -> CheckpointResult:
    """Check one checkpoint file; a file that is no signed note at all is an error."""
    from harness_audit._fs import read_bounded
    from harness_audit.trail.note import MAX_NOTE_BYTES

    data = read_bounded(path, MAX_NOTE_BYTES, "checkpoint")
    try:
        note, good = verify_note(data, verifiers)
        cp = Checkpoint.parse(note.text)
    except NoteError as e:
        if e.kind == "malformed":
            raise TrailError(
                Diagnostic(str(path), str(e), expected="a C2SP signed checkpoint")
            ) from e
        return CheckpointResult(str(path), None, (), f"{e.kind}: {e}")
    return CheckpointResult(str(path), cp, tuple(good))


# --- C2SP tlog-cosignature (cosignature/v1, Ed25519) -----------------------------------------
# c2sp.org/tlog-cosignature v1.0.1: the signature line of a witness is an ordinary signed-note
# line whose blob is key id (4) || timestamp (8, big-endian u64, POSIX seconds) || Ed25519 (64),
# over "cosignature/v1\ntime <decimal>\n" followed by the whole checkpoint note text.

ALG_COSIGNATURE_V1 = 0x04
COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


def cosignature_key_id(name: str, public: bytes) -> bytes:
    """C2SP signed-note key id with the type byte 0x04 of tlog-cosignature v1."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public).digest()[:4]


def cosignature_message(note_text: str, timestamp: int) -> bytes:
    """C2SP tlog-cosignature §"Signed message": header, ``time`` line, the checkpoint text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} is out of range")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{note_text}".encode()


def _witness_key_fields(text: str, private: bool) -> tuple[str, bytes, bytes]:
    body = text.strip()
    if private:
        if not body.startswith("PRIVATE+KEY+"):
            raise NoteError("a witness signer key starts with PRIVATE+KEY+")
        body = body[len("PRIVATE+KEY+") :]
    name, sep1, rest = body.partition("+")
    hex_id, sep2, b64 = rest.partition("+")
    if not (sep1 and sep2) or not _NAME.fullmatch(name):
        raise NoteError("a witness key is <name>+<hex key id>+<base64 key>")
    raw = _b64(b64)
    if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise NoteError("not a cosignature/v1 key (type 0x04 and 32 bytes expected)")
    try:
        key_id = bytes.fromhex(hex_id)
    except ValueError as e:
        raise NoteError("the witness key id is not hex") from e
    if len(key_id) != 4:
        raise NoteError("the witness key id is not 4 bytes")
    return name, key_id, raw[1:]


@dataclass(frozen=True, slots=True)
class WitnessKey:
    """A witness's verifier key: ``<name>+<hex id>+<base64(0x04 || public key)>``."""

    name: str
    id: bytes
    public: bytes

    @classmethod
    def parse(cls, text: str) -> WitnessKey:
        """Parse the vkey text; the key id must be the one the name and key give."""
        name, key_id, public = _witness_key_fields(text, private=False)
        if cosignature_key_id(name, public) != key_id:
            raise NoteError(f"witness key {name!r}: the key id does not match the key")
        return cls(name, key_id, public)

    def text(self) -> str:
        """The vkey text."""
        blob = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{blob}"

    def verify(self, note_text: str, timestamp: int, signature: bytes) -> bool:
        """Whether ``signature`` is this witness's cosignature of the note at ``timestamp``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                signature, cosignature_message(note_text, timestamp)
            )
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class WitnessSigner:
    """A witness's signer key: ``PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || seed)>``."""

    name: str
    id: bytes
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> WitnessSigner:
        """A new random key."""
        import os

        return cls.from_seed(name, os.urandom(32))

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> WitnessSigner:
        """The key of a 32-byte seed (tests and demos)."""
        if not _NAME.fullmatch(name):
            raise NoteError(f"key name {name!r} is empty or contains a space or '+'")
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        return cls(name, cosignature_key_id(name, public), seed)

    @classmethod
    def parse(cls, text: str) -> WitnessSigner:
        """Parse the signer key text."""
        name, key_id, seed = _witness_key_fields(text, private=True)
        signer = cls.from_seed(name, seed)
        if signer.id != key_id:
            raise NoteError(f"witness signer key {name!r}: the key id does not match the key")
        return signer

    def text(self) -> str:
        """The signer key text (keep it secret)."""
        blob = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.id.hex()}+{blob}"

    @property
    def key(self) -> WitnessKey:
        """The matching verifier key."""
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return WitnessKey(self.name, self.id, public)

    def cosign(self, note_text: str, timestamp: int) -> str:
        """The cosignature line (with its newline) for the note text at ``timestamp``."""
        sig = Ed25519PrivateKey.from_private_bytes(self.seed).sign(
            cosignature_message(note_text, timestamp)
        )
        blob = base64.b64encode(self.id + timestamp.to_bytes(8, "big") + sig).decode()
        return f"{SIG_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A valid cosignature: who, and when (POSIX seconds) the witness says it saw the tree."""

    witness: WitnessKey
    timestamp: int


def verify_cosignatures(note: Note, witnesses: Sequence[WitnessKey]) -> list[Cosignature]:
    """The valid cosignatures on a parsed note by the given witness keys.

    Lines by other keys are ignored (C2SP signed-note); a line whose name and key id are a
    given witness's but whose signature does not hold raises ``NoteError`` (bad_signature).
    """
    by_id = {(w.name, w.id): w for w in witnesses}
    out: list[Cosignature] = []
    seen: set[bytes] = set()
    for sig in note.signatures:
        w = by_id.get((sig.name, sig.id))
        if w is None:
            continue
        blob = sig.signature
        timestamp = int.from_bytes(blob[:8], "big") if len(blob) == 72 else -1
        if not 0 <= timestamp <= MAX_TIMESTAMP or not w.verify(note.text, timestamp, blob[8:]):
            raise NoteError(
                f"cosignature by witness {w.name} ({w.id.hex()}) does not verify", "bad_signature"
            )
        if w.public not in seen:  # one statement per witness key, however often repeated
            seen.add(w.public)
            out.append(Cosignature(w, timestamp))
    return out


def load_witness_keys(values: Sequence[str]) -> list[WitnessKey]:
    """Witness keys from ``--witness-key`` values: the vkey text, or a file of them."""
    out: list[WitnessKey] = []
    for v in values:
        p = Path(v)
        if "+" not in v or p.exists():
            from harness_audit._fs import read_bounded
            from harness_audit.errors import HarnessAuditError
            from harness_audit.trail.note import MAX_KEY_FILE

            try:
                text = read_bounded(p, MAX_KEY_FILE, "witness key file").decode("utf-8")
            except (HarnessAuditError, UnicodeDecodeError) as e:
                raise NoteError(f"witness key file {v!r} cannot be read") from e
            out += [WitnessKey.parse(line) for line in text.splitlines() if line.strip()]
        else:
            out.append(WitnessKey.parse(v))
    return out


# --- acting as a witness ---------------------------------------------------------------------
# c2sp.org/tlog-witness: a witness cosigns only a checkpoint signed by the log's key that is
# consistent with the latest one it cosigned for that origin (RFC 9162 §2.1.4 proof), and
# persists that checkpoint before it answers.


@dataclass(frozen=True, slots=True)
class CosignResult:
    """The cosigned note and the witness's new state, or why the witness refuses."""

    note: str | None
    state: dict[str, dict[str, object]]
    refused: str | None = None


def read_state(path: Path) -> dict[str, dict[str, object]]:
    """The witness state file: per origin the size and root it last cosigned (none yet: {})."""
    import json

    if not path.exists():
        return {}
    from harness_audit._fs import read_bounded

    try:
        data = json.loads(read_bounded(path, 1 << 20, "witness state file"))
    except ValueError as e:
        raise TrailError(
            Diagnostic(
                str(path),
                f"not a witness state file: {e}",
                expected='{"<origin>": {"size": N, "root": "<base64>"}}',
            )
        ) from e
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("root"), str)
        for v in data.values()
    ):
        raise TrailError(
            Diagnostic(
                str(path),
                "not a witness state file",
                expected='{"<origin>": {"size": N, "root": "<base64>"}}',
            )
        )
    return data


def cosign_checkpoint(
    data: bytes,
    log_keys: list[Verifier],
    signer: WitnessSigner,
    state: dict[str, dict[str, object]],
    proof: Sequence[bytes] | None,
    timestamp: int,
) -> CosignResult:
    """Cosign a checkpoint as a witness, or refuse with the reason.

    ``proof`` is the consistency path from the last cosigned size to this one (needed when the
    tree grew). A checkpoint that is smaller than, or the same size with another root as, the
    last one cosigned is refused: that is a rollback or a fork of the log.
    """
    from harness_audit.trail.merkle import ProofError, verify_consistency

    try:
        note, _ = verify_note(data, log_keys)
    except NoteError as e:
        if e.kind == "malformed":
            raise TrailError(
                Diagnostic("checkpoint", str(e), expected="a C2SP signed checkpoint")
            ) from e
        return CosignResult(None, state, f"the log's signature does not hold: {e}")
    try:  # signed by the log, yet a note may say something else than a checkpoint
        cp = Checkpoint.parse(note.text)
    except NoteError as e:
        raise TrailError(
            Diagnostic(
                "checkpoint",
                f"a signed note that is not a checkpoint ({e})",
                expected="a C2SP signed checkpoint",
            )
        ) from e
    last = state.get(cp.origin)
    if last is not None:
        old_size = int(str(last["size"]))
        old_root = base64.b64decode(str(last["root"]))
        if cp.size < old_size:
            return CosignResult(
                None,
                state,
                f"rollback: size {cp.size:,} is smaller than "
                f"{old_size:,}, which this witness already cosigned",
            )
        if cp.size == old_size and cp.root != old_root:
            return CosignResult(
                None,
                state,
                f"fork: size {cp.size:,} has another root than the one this witness cosigned",
            )
        if cp.size > old_size:
            if proof is None:
                return CosignResult(
                    None,
                    state,
                    f"no consistency proof from size {old_size:,} to {cp.size:,} was given",
                )
            try:
                verify_consistency(old_size, cp.size, old_root, cp.root, list(proof))
            except ProofError as e:
                return CosignResult(
                    None,
                    state,
                    f"the tree of size {cp.size:,} does not "
                    f"extend the one of size {old_size:,}: {e}",
                )
    line = signer.cosign(note.text, timestamp)
    new_state = dict(state)
    new_state[cp.origin] = {"size": cp.size, "root": base64.b64encode(cp.root).decode()}
    return CosignResult(data.decode("utf-8") + line, new_state)


def cosign_file(
    file: Path,
    key: Path,
    log_keys: Sequence[str],
    state: Path,
    proof: Path | None,
    output: Path | None,
    timestamp: int,
) -> CosignResult:
    """``trail checkpoint cosign``: cosign the checkpoint ``file`` with the witness signer key
    ``key`` (:func:`cosign_checkpoint`), and persist the witness's new ``state`` before the
    cosignature is given out; on a refusal nothing is written. ``output`` (where the caller
    will write the note) and ``state`` may be none of the inputs."""
    from harness_audit._fs import read_bounded, refuse_overwriting, write_atomic
    from harness_audit._json import dumps
    from harness_audit.keys import key_files, load_verifiers, load_witness_signer
    from harness_audit.trail.note import MAX_NOTE_BYTES
    from harness_audit.trail.proofs import read_consistency_path

    refuse_overwriting(
        [*([output] if output else []), state],
        [file, key, *key_files(log_keys), *([proof] if proof else [])],
    )
    signer = load_witness_signer(key)
    data = read_bounded(file, MAX_NOTE_BYTES, "checkpoint")
    path = read_consistency_path(proof) if proof is not None else None
    result = cosign_checkpoint(
        data, load_verifiers(log_keys), signer, read_state(state), path, timestamp
    )
    if result.note is not None:
        write_atomic(state, dumps(result.state))
    return result
