"""Inclusion and consistency proof files (``trail prove``, ``trail verify-proof``).

A proof file is one JSON object (``harness-audit/proof/v1``):

- inclusion: ``{"format", "type": "inclusion", "origin", "tree_size", "leaf_index",
  "leaf_hash" (hex), "event" (the event's line, optional), "path": [hex, ...],
  "checkpoint" (the signed note text)}``: the event is the ``leaf_index``-th leaf of the tree
  the checkpoint signs (RFC 9162 §2.1.3).
- consistency: ``{"format", "type": "consistency", "origin", "old_size", "new_size",
  "old_root" (base64), "path": [hex, ...], "checkpoint" (the newer, signed)}``, and optionally
  ``"old_checkpoint"``: the newer tree extends the older one (RFC 9162 §2.1.4).

Everything needed to check a proof is in the file and the verifier key; nothing else of the
trail is disclosed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_audit._fs import read_bounded
from harness_audit.errors import Diagnostic, TrailError, diagnosed
from harness_audit.trail import events as ev_mod
from harness_audit.trail.canonical import MAX_DEPTH, nesting_depth
from harness_audit.trail.merkle import (
    LeafStore,
    ProofError,
    consistency_path,
    inclusion_path,
    verify_consistency,
    verify_inclusion,
)
from harness_audit.trail.note import (
    MAX_NOTE_BYTES,
    Checkpoint,
    NoteError,
    Verifier,
    parse_note,
    verify_note,
)
from harness_audit.trail.reader import ReadStats, read_decoded
from harness_audit.trail.verify import default_checkpoints, event_leaf

FORMAT = "harness-audit/proof/v1"
MAX_PROOF_BYTES = 64 << 20
"""Largest proof file read (a proof per event of a large run fits many times over)."""


@dataclass
class LoadedTrail:
    """A trail's leaves (for proofs) and the lines of the events asked for."""

    files: list[Path]
    leaves: LeafStore
    lines: dict[int, bytes]  # only the events asked for


def load_trail(paths: Sequence[Path], keep: Collection[int] = ()) -> LoadedTrail:
    """Every leaf of the trail, keeping the lines at the indexes in ``keep``; a line that is not
    a canonical event is an error with its file and line."""
    stats = ReadStats()
    store = LeafStore()
    kept: dict[int, bytes] = {}
    wanted = set(keep)
    for i, (name, n, line, _ev) in enumerate(read_decoded(paths, stats, strict=True)):
        with diagnosed(
            name, "not in canonical form; run `harness-audit verify` first", n, catch=ValueError
        ):
            store.append(event_leaf(line))
        if i in wanted:
            kept[i] = line
    return LoadedTrail([Path(f) for f in stats.files], store, kept)


def newest_checkpoint(
    paths: Sequence[Path], files: Sequence[Path], chosen: Path | None
) -> tuple[str, Checkpoint]:
    """The checkpoint ``chosen``, or the largest beside the trail: (note text, checkpoint)."""
    candidates = [chosen] if chosen else default_checkpoints(paths, files)
    best: tuple[str, Checkpoint] | None = None
    for c in candidates:
        raw = read_bounded(c, MAX_NOTE_BYTES, "checkpoint")
        with diagnosed(str(c), "not a checkpoint: {error}", catch=(NoteError, UnicodeDecodeError)):
            text = raw.decode("utf-8")
            cp = Checkpoint.parse(parse_note(raw).text)
        if best is None or cp.size > best[1].size:
            best = (text, cp)
    if best is None:
        raise TrailError(
            Diagnostic(
                str(paths[0]),
                "no checkpoint beside the trail",
                expected="a signed checkpoint (--checkpoint FILE)",
            )
        )
    return best


def inclusion_proofs(
    trail: LoadedTrail, indexes: Sequence[int], note_text: str, cp: Checkpoint
) -> list[dict[str, Any]]:
    """An inclusion proof file for each index, against the checkpoint ``cp`` (RFC 9162 §2.1.3)."""
    if len(trail.leaves) < cp.size:
        raise TrailError(
            Diagnostic(
                str(trail.files[-1]),
                f"the trail has {len(trail.leaves):,} "
                f"events, fewer than the checkpoint's {cp.size:,}",
            )
        )
    if trail.leaves.root_of(0, cp.size) != cp.root:
        raise TrailError(
            Diagnostic(
                str(trail.files[-1]),
                "the trail does not match its checkpoint; run `harness-audit verify`",
            )
        )
    out = []
    for i in indexes:
        if not 0 <= i < cp.size:
            raise TrailError(
                Diagnostic(
                    "--inclusion", f"seq {i} is not covered by the checkpoint (size {cp.size:,})"
                )
            )
        path = inclusion_path(i, cp.size, trail.leaves.root_of)
        proof: dict[str, Any] = {
            "format": FORMAT,
            "type": "inclusion",
            "origin": cp.origin,
            "tree_size": cp.size,
            "leaf_index": i,
            "leaf_hash": trail.leaves.leaf(i).hex(),
            "path": [p.hex() for p in path],
            "checkpoint": note_text,
        }
        if i in trail.lines:
            proof["event"] = trail.lines[i].decode("utf-8")
        out.append(proof)
    return out


def consistency_proof_file(
    trail: LoadedTrail, old_size: int, new_size: int, note_text: str, cp: Checkpoint
) -> dict[str, Any]:
    """A consistency proof file from ``old_size`` to ``new_size`` (RFC 9162 §2.1.4)."""
    if new_size != cp.size:
        raise TrailError(
            Diagnostic(
                "--consistency",
                f"NEW is {new_size:,} but the checkpoint signs size {cp.size:,}",
                expected="NEW = checkpoint size",
            )
        )
    if not 0 < old_size <= new_size <= len(trail.leaves):
        raise TrailError(
            Diagnostic(
                "--consistency",
                f"sizes {old_size} and {new_size} are not within 1..{len(trail.leaves)}",
            )
        )
    path = consistency_path(old_size, new_size, trail.leaves.root_of)
    return {
        "format": FORMAT,
        "type": "consistency",
        "origin": cp.origin,
        "old_size": old_size,
        "new_size": new_size,
        "old_root": base64.b64encode(trail.leaves.root_of(0, old_size)).decode(),
        "path": [p.hex() for p in path],
        "checkpoint": note_text,
    }


@dataclass(frozen=True)
class ProofResult:
    """Whether a proof holds, why, and which key signed its checkpoint."""

    ok: bool
    message: str
    signer: str | None = None


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ProofError(f"{what} is not UTF-8 text (a lone surrogate)") from e


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise ProofError(f"{what} is not 64 hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError as e:
        raise ProofError(f"{what} is not hex") from e


def _checkpoint_of(text: str, what: str) -> Checkpoint:
    """The checkpoint a signed note's text is; a note that is validly signed but says something
    else (a signature proves who said it, not that it is a checkpoint) is a malformed proof."""
    try:
        return Checkpoint.parse(text)
    except NoteError as e:
        raise ProofError(f"{what}: a signed note that is not a checkpoint ({e})") from e


def verify_proof_data(proof: dict[str, Any], verifiers: Sequence[Verifier]) -> ProofResult:
    """Check a proof file's signature, then its path. Raises ProofError if malformed."""
    if not isinstance(proof, dict):
        raise ProofError("a proof is a JSON object")
    if proof.get("format") != FORMAT:
        raise ProofError(f"format is {str(proof.get('format'))[:40]!r}, expected {FORMAT!r}")
    note_text = proof.get("checkpoint")
    if not isinstance(note_text, str):
        raise ProofError("the proof carries no checkpoint")
    if not isinstance(proof.get("path", []), list):
        raise ProofError("path is not a list of hex digests")
    try:
        note, good = verify_note(_utf8(note_text, "checkpoint"), list(verifiers))
    except NoteError as e:
        if e.kind == "malformed":
            raise ProofError(f"checkpoint: {e}") from e
        return ProofResult(False, f"checkpoint: {e}")
    cp = _checkpoint_of(note.text, "checkpoint")
    signer = good[0].text()
    path = [_hex32(p, "a path entry") for p in proof.get("path", [])]
    kind = proof.get("type")
    if kind == "inclusion":
        index, size = proof.get("leaf_index"), proof.get("tree_size")
        if not isinstance(index, int) or isinstance(index, bool) or size != cp.size:
            raise ProofError("leaf_index or tree_size is missing or does not match the checkpoint")
        leaf = _hex32(proof.get("leaf_hash"), "leaf_hash")
        event = proof.get("event")
        if event is not None:
            line = _utf8(str(event), "event")
            try:
                ev = ev_mod.decoder.decode(line)
            except ev_mod.DECODE_ERRORS as e:
                return ProofResult(False, f"the event is not a valid trail event: {e}")
            if ev_mod.encoder.encode(ev) != line:
                return ProofResult(False, "the event is not in canonical form")
            if ev.hash != leaf.hex() or event_leaf(line) != leaf:
                return ProofResult(
                    False, "the event does not hash to the proven leaf: it was changed"
                )
            if ev.seq != index:
                return ProofResult(False, f"the event's seq {ev.seq} is not the leaf index {index}")
        try:
            verify_inclusion(index, cp.size, leaf, path, cp.root)
        except ProofError as e:
            return ProofResult(False, f"inclusion proof fails: {e}")
        what = f"event {index}" + (" (content checked)" if event is not None else "")
        return ProofResult(
            True,
            f"{what} is in the tree of size {cp.size:,} signed by {good[0].name} for {cp.origin}",
            signer,
        )
    if kind == "consistency":
        old, new = proof.get("old_size"), proof.get("new_size")
        if not isinstance(old, int) or isinstance(old, bool) or new != cp.size:
            raise ProofError("old_size or new_size is missing or does not match the checkpoint")
        try:
            old_root = base64.b64decode(str(proof.get("old_root")), validate=True)
        except ValueError as e:
            raise ProofError("old_root is not base64") from e
        old_note = proof.get("old_checkpoint")
        if old_note is not None:
            try:
                n2, _ = verify_note(_utf8(str(old_note), "old_checkpoint"), list(verifiers))
            except NoteError as e:
                return ProofResult(False, f"old checkpoint: {e}")
            ocp = _checkpoint_of(n2.text, "old_checkpoint")
            if (ocp.size, ocp.root) != (old, old_root):
                return ProofResult(False, "old_checkpoint does not match old_size/old_root")
        try:
            verify_consistency(old, cp.size, old_root, cp.root, path)
        except ProofError as e:
            return ProofResult(False, f"consistency proof fails: {e}")
        return ProofResult(
            True,
            f"the tree of size {cp.size:,} extends the tree of size "
            f"{old:,} (append-only) for {cp.origin}",
            signer,
        )
    raise ProofError(f"unknown proof type {kind!r}")


def read_consistency_path(path: Path) -> list[bytes]:
    """The hashes of a consistency proof file (from ``trail prove --consistency``)."""
    p = read_proof(path)
    if not isinstance(p, dict) or p.get("type") != "consistency":
        raise TrailError(
            Diagnostic(
                str(path),
                "not a consistency proof",
                expected="a file from `trail prove --consistency`",
            )
        )
    try:
        return [bytes.fromhex(str(x)) for x in p.get("path", [])]
    except ValueError as e:
        raise TrailError(Diagnostic(str(path), "a path entry is not hex")) from e


def read_proof(path: Path) -> Any:
    """A proof file's JSON (an object or a list of them): a regular file of at most 64 MiB."""
    raw = read_bounded(path, MAX_PROOF_BYTES, "proof file")
    if nesting_depth(raw) > MAX_DEPTH:
        raise TrailError(
            Diagnostic(
                str(path),
                f"arrays or objects nested more than {MAX_DEPTH} deep",
                expected="a harness-audit proof file",
            )
        )
    with diagnosed(
        str(path),
        "not JSON: {error}",
        catch=(ValueError, RecursionError),
        expected="a harness-audit proof file",
    ):
        data = json.loads(raw)
    if not isinstance(data, dict | list):
        raise TrailError(Diagnostic(str(path), "not a JSON object or list of them"))
    return data


def prove(
    paths: Sequence[Path],
    inclusion: Sequence[int] = (),
    consistency: tuple[int, int] | None = None,
    checkpoint: Path | None = None,
    output: Path | None = None,
) -> Any:
    """``trail prove``: the inclusion proof file of each seq in ``inclusion`` (one object for
    one seq, else a list), or the consistency proof file from OLD to NEW, against
    ``checkpoint`` (default: the newest beside the trail). Exactly one of the two is asked
    for; ``output``, where the caller writes the proof, may be none of the inputs."""
    from harness_audit._fs import refuse_overwriting
    from harness_audit.errors import UsageError

    if bool(inclusion) == bool(consistency):
        raise UsageError(
            Diagnostic("trail prove", "give either --inclusion SEQ or --consistency OLD NEW")
        )
    if output:
        refuse_overwriting([output], [*paths, *([checkpoint] if checkpoint else [])])
    loaded = load_trail(paths, set(inclusion))
    note_text, cp = newest_checkpoint(paths, loaded.files, checkpoint)
    if inclusion:
        proofs = inclusion_proofs(loaded, inclusion, note_text, cp)
        return proofs[0] if len(proofs) == 1 else proofs
    assert consistency is not None
    return consistency_proof_file(loaded, consistency[0], consistency[1], note_text, cp)
