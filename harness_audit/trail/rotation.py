"""Key rotation as a recorded event (``trail rotate-key``, issue 26).

A handover is one checkpoint over the trail's current tree, signed by the new key and cosigned
by the old one, whose extension line names the old key
(:data:`harness_audit.trail.checkpoints.ROTATED_FROM`). It is kept in the trail's checkpoint
history like any other; a writer opened afterwards with the new key alone continues the trail.
``verify --key NEW.pub`` follows handovers back: the old key is trusted for the checkpoints up
to the handover's size and never after (a rotation A -> B -> C verifies with C alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail.checkpoints import rotation_line
from harness_audit.trail.note import (
    MAX_NOTE_BYTES,
    Checkpoint,
    NoteError,
    Signer,
    parse_note,
    verify_note,
)


@dataclass(frozen=True)
class Handover:
    """A recorded rotation: the tree size it was signed at, and the two keys."""

    size: int
    old: str
    new: str
    text: str


def rotate_key(folder: Path, old: Signer, new: Signer, prefix: str = "trail") -> Handover:
    """Sign the handover checkpoint of the trail in ``folder`` (see the module doc). The newest
    checkpoint must verify with ``old`` (the key being retired signs the trail today), and the
    two keys must differ; nothing is written otherwise."""
    from harness_audit._fs import read_bounded
    from harness_audit.trail.writer import TrailWriter

    newest = folder / f"{prefix}.checkpoint"
    if not folder.is_dir() or not newest.is_file():
        raise TrailError(
            Diagnostic(
                str(folder),
                "is not a trail folder with a signed checkpoint (a `trail seal` file keeps no "
                "checkpoint history to hand over in)",
                expected=f"a folder of the writer, `collect` or `trail import` ({newest.name})",
            )
        )
    if old.verifier.id == new.verifier.id:
        raise TrailError(Diagnostic("--new", "is the same key as --old", expected="a new key"))
    data = read_bounded(newest, MAX_NOTE_BYTES, "checkpoint")
    try:
        note, _ = verify_note(data, [old.verifier])
        origin = Checkpoint.parse(note.text).origin
    except NoteError as e:
        signed = _signed_by(data)
        raise TrailError(
            Diagnostic(
                str(newest),
                f"the newest checkpoint does not verify with --old ({e}; signed by: {signed})",
                expected="--old: the key that signs the trail today",
            )
        ) from e
    writer = TrailWriter(folder, origin, new, prefix=prefix)
    try:
        text = writer.checkpoint(cosigners=[old], lines=[rotation_line(old.verifier)])
        size = writer.tree.size
    finally:
        writer.abandon()
    assert text is not None
    return Handover(size, old.verifier.text(), new.verifier.text(), text)


def _signed_by(data: bytes) -> str:
    try:
        return ", ".join(f"{s.name}+{s.id.hex()}" for s in parse_note(data).signatures)
    except NoteError:
        return "unreadable"
