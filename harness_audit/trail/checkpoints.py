"""The checkpoint side of verification: read signed checkpoints (C2SP signed-note) found beside
a trail or given, and judge them against the roots of the trail's tree: forks, truncation,
rewritten history, rollback from a trusted state, and which one anchors the trail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness_audit.trail.note import Checkpoint, NoteError, Verifier, parse_note, verify_note
from harness_audit.trail.problem import Problem, ProblemKind


@dataclass(frozen=True, slots=True)
class Anchor:
    """The newest trusted checkpoint whose root matches the trail: what anchors it."""

    origin: str
    size: int
    key: str
    file: str


@dataclass(frozen=True, slots=True)
class FoundCheckpoint:
    """A checkpoint file as read: its checkpoint (if it parses), signer, problem, and whether a
    trusted key signed it."""

    file: str
    checkpoint: Checkpoint | None
    signer: str | None
    problem: Problem | None
    trusted: bool = False


def read_checkpoint(path: Path, verifiers: Sequence[Verifier]) -> FoundCheckpoint:
    """Read and verify one checkpoint file against ``verifiers``; problems are returned, not
    raised."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return FoundCheckpoint(name, None, None, Problem("bad_signature", name, None, None,
                                                         f"cannot be read: {e.strerror}"))
    try:
        note, good = verify_note(data, list(verifiers))
        return FoundCheckpoint(name, Checkpoint.parse(note.text), good[0].text(), None, True)
    except NoteError as e:
        kind: ProblemKind = "bad_signature" if e.kind in ("malformed", "bad_signature") else \
            "no_trusted_signature"
        cp = None
        with contextlib.suppress(NoteError):
            cp = Checkpoint.parse(parse_note(data).text)
        warn = kind == "no_trusted_signature" and not verifiers
        detail = str(e) if verifiers or kind != "no_trusted_signature" else \
            "no --key given, so no signature can be trusted"
        return FoundCheckpoint(name, cp, None, Problem(kind, name, None, None, detail, warn))


def default_checkpoints(paths: Sequence[Path], files: Sequence[Path]) -> list[Path]:
    """``<trail>.checkpoint`` beside a trail file, and ``*.checkpoint`` inside a trail folder."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.name.endswith(".checkpoint")))
    for f in files:
        c = f.with_name(f.name + ".checkpoint")
        if c.is_file():
            out.append(c)
    unique: dict[Path, Path] = {}
    for c in out:
        unique.setdefault(c.resolve(), c)
    return list(unique.values())


def judge_checkpoints(found: list[FoundCheckpoint], trusted: FoundCheckpoint | None,
                       roots: dict[int, bytes], total: int, problems: list[Problem]
                       ) -> Anchor | None:
    """Judge the checkpoints against the trail's roots (``roots`` by size, ``total`` events),
    appending to ``problems``; return the anchor, if any."""
    anchor: Anchor | None = None
    by_size: dict[int, FoundCheckpoint] = {}
    for f in found:
        if f.problem:
            problems.append(f.problem)
        cp = f.checkpoint
        if cp is None or not f.trusted:
            continue
        other = by_size.get(cp.size)
        if other and other.checkpoint and other.checkpoint.root != cp.root:
            problems.append(Problem("checkpoint_fork", f.file, None, cp.size - 1,
                                    f"two signed checkpoints for size {cp.size} have different "
                                    f"roots ({other.file})"))
        by_size[cp.size] = f
        if cp.size > total:
            problems.append(Problem("truncated_tail", f.file, None, total,
                                    f"the checkpoint covers {cp.size:,} events but the trail "
                                    f"has {total:,}: {cp.size - total:,} are missing from its "
                                    "end"))
        elif roots.get(cp.size) != cp.root:
            problems.append(Problem("root_mismatch", f.file, None, cp.size - 1,
                                    f"the Merkle root of the first {cp.size:,} events differs "
                                    "from the signed checkpoint: history was rewritten"))
        elif anchor is None or cp.size > anchor.size:
            anchor = Anchor(cp.origin, cp.size, f.signer or "", f.file)
    origins = {f.checkpoint.origin for f in found if f.checkpoint and f.trusted}
    if len(origins) > 1:
        problems.append(Problem("checkpoint_fork", found[0].file, None, None,
                                "checkpoints name different origins: " + ", ".join(
                                    sorted(origins))))
    if trusted and trusted.checkpoint:
        t = trusted.checkpoint
        newest = max((f.checkpoint.size for f in found if f.checkpoint and f.trusted),
                     default=total)
        if t.size > min(total, newest):
            problems.append(Problem("rollback", trusted.file, None, None,
                                    f"the trusted state from the last audit covers {t.size:,} "
                                    f"events; the trail and its newest checkpoint cover "
                                    f"{min(total, newest):,}"))
        elif roots.get(t.size) != t.root:
            problems.append(Problem("checkpoint_fork", trusted.file, None, t.size - 1,
                                    "the trail's first events no longer match the trusted "
                                    "state from the last audit"))
    if anchor and total > anchor.size:
        problems.append(Problem("unanchored_tail", anchor.file, None, anchor.size,
                                f"{total - anchor.size:,} event(s) after the newest checkpoint "
                                "are not anchored by a signature", warning=True))
    return anchor
