"""A signed checkpoint checked alone, as a witness checks it: a trusted signature and a
well-formed C2SP ``tlog-checkpoint`` body."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail.note import Checkpoint, NoteError, Verifier, verify_note


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
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TrailError(Diagnostic(str(path), f"cannot be read: {e.strerror}")) from e
    try:
        note, good = verify_note(data, verifiers)
        cp = Checkpoint.parse(note.text)
    except NoteError as e:
        if e.kind == "malformed":
            raise TrailError(Diagnostic(str(path), str(e),
                                        expected="a C2SP signed checkpoint")) from e
        return CheckpointResult(str(path), None, (), f"{e.kind}: {e}")
    return CheckpointResult(str(path), cp, tuple(good))
