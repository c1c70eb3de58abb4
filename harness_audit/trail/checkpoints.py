"""The checkpoint side of verification: read signed checkpoints (C2SP signed-note) found beside
a trail or given, and judge them against the roots of the trail's tree: forks, truncation,
rewritten history, rollback from a trusted state, and which one anchors the trail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness_audit._fs import read_bounded
from harness_audit.errors import HarnessAuditError
from harness_audit.trail.note import (
    MAX_NOTE_BYTES,
    Checkpoint,
    Note,
    NoteError,
    Verifier,
    parse_note,
    verify_note,
)
from harness_audit.trail.problem import Problem, ProblemKind
from harness_audit.trail.witness import Cosignature, WitnessKey, verify_cosignatures


@dataclass(frozen=True, slots=True)
class Anchor:
    """The newest trusted checkpoint whose root matches the trail (and, with a witness quorum,
    that enough of the given witnesses cosigned): what anchors it."""

    origin: str
    size: int
    key: str
    file: str
    cosignatures: tuple[Cosignature, ...] = ()  # valid, by distinct given witness keys


@dataclass(frozen=True, slots=True)
class FoundCheckpoint:
    """A checkpoint file as read: its checkpoint (if it parses), signer, problem, whether a
    trusted key signed it, and the valid cosignatures of given witnesses (with a problem for
    each cosignature line of a given witness that does not verify)."""

    file: str
    checkpoint: Checkpoint | None
    signer: str | None
    problem: Problem | None
    trusted: bool = False
    digest: bytes = b""  # SHA-256 of the file's bytes: the same checkpoint under two names
    cosignatures: tuple[Cosignature, ...] = ()
    cosignature_problems: tuple[Problem, ...] = ()


def read_checkpoint(
    path: Path, verifiers: Sequence[Verifier], witnesses: Sequence[WitnessKey] = ()
) -> FoundCheckpoint:
    """Read and verify one checkpoint file against ``verifiers`` (and its cosignatures against
    ``witnesses``); problems are returned, not raised."""
    name = _SHOWN.get(str(path), str(path))  # an object-store checkpoint by its URL
    try:  # bounded: never a device, a FIFO or a file larger than a note can be
        data = read_bounded(path, MAX_NOTE_BYTES, "checkpoint")
    except HarnessAuditError as e:
        return FoundCheckpoint(
            name, None, None, Problem("bad_signature", name, None, None, e.diagnostics()[0].message)
        )
    digest = hashlib.sha256(data).digest()
    cosigned: tuple[Cosignature, ...] = ()
    bad: tuple[Problem, ...] = ()
    if witnesses:
        with contextlib.suppress(NoteError):
            cosigned, bad = _cosignatures(parse_note(data), witnesses, name)
    try:
        note, good = verify_note(data, list(verifiers))
        return FoundCheckpoint(
            name, Checkpoint.parse(note.text), good[0].text(), None, True, digest, cosigned, bad
        )
    except NoteError as e:
        kind: ProblemKind = (
            "bad_signature" if e.kind in ("malformed", "bad_signature") else "no_trusted_signature"
        )
        cp = None
        with contextlib.suppress(NoteError):
            cp = Checkpoint.parse(parse_note(data).text)
        warn = kind == "no_trusted_signature" and not verifiers
        detail = (
            f"{e}: {ROTATION_HINT}"
            if verifiers and kind == "no_trusted_signature"
            else str(e)
            if verifiers
            else "no --key given, so no signature can be trusted"
        )
        return FoundCheckpoint(
            name,
            cp,
            None,
            Problem(kind, name, None, None, detail, warn),
            digest=digest,
            cosignatures=cosigned,
            cosignature_problems=bad,
        )


def _cosignatures(
    note: Note, witnesses: Sequence[WitnessKey], file: str
) -> tuple[tuple[Cosignature, ...], tuple[Problem, ...]]:
    """C2SP tlog-cosignature, line by line: the valid cosignatures by distinct given witness
    keys, and a ``bad_signature`` for each line of a given witness that does not verify."""
    good: list[Cosignature] = []
    bad: list[Problem] = []
    seen: set[bytes] = set()
    for sig in note.signatures:
        try:
            valid = verify_cosignatures(Note(note.text, (sig,)), witnesses)
        except NoteError as e:
            bad.append(Problem("bad_signature", file, None, None, str(e)))
            continue
        for c in valid:
            if c.witness.public not in seen:
                seen.add(c.witness.public)
                good.append(c)
    return tuple(good), tuple(bad)


ROTATED_FROM = "harness-audit-rotated-from"
"""The extension line of a key handover (``trail rotate-key``): ``harness-audit-rotated-from
<the old key's C2SP verifier key>``, in a checkpoint signed by the new key and cosigned by the
old one. A verifier that trusts the new key then trusts the old key for the checkpoints of the
trail up to the handover's size (never after it): the history stays verifiable with the newest
key alone."""
ROTATION_HINT = (
    "give its public key with --key, or, if the trail's key was rotated, record the handover "
    "with `harness-audit trail rotate-key TRAIL --old OLD.key --new NEW.key` (see the README's "
    "key rotation)"
)


def rotation_line(old: Verifier) -> str:
    """The extension line that records a handover from ``old`` (see :data:`ROTATED_FROM`)."""
    return f"{ROTATED_FROM} {old.text()}"


def _handover(f: FoundCheckpoint) -> Verifier | None:
    """The old key a trusted checkpoint hands over from, when it is a handover that the old key
    cosigned; None otherwise."""
    if not f.trusted or f.checkpoint is None:
        return None
    for ext in f.checkpoint.extensions:
        word, _, rest = ext.partition(" ")
        if word != ROTATED_FROM:
            continue
        try:
            old = Verifier.parse(rest.strip())
            verify_note(read_bounded(local_copy(f.file), MAX_NOTE_BYTES, "checkpoint"), [old])
        except (NoteError, HarnessAuditError):
            return None  # not cosigned by the key it names: no handover
        return old
    return None


def read_with_rotations(
    paths: Sequence[Path], verifiers: Sequence[Verifier], witnesses: Sequence[WitnessKey] = ()
) -> list[FoundCheckpoint]:
    """:func:`read_checkpoint` for every file, then key handovers followed back: each trusted
    handover (:data:`ROTATED_FROM`) makes its old key trusted for the checkpoints up to its
    size, and so on back (A -> B -> C verifies with C alone). A checkpoint the old key signed
    after its handover stays untrusted, with the reason."""
    found = [read_checkpoint(c, verifiers, witnesses) for c in paths]
    retired: dict[bytes, tuple[Verifier, int, str]] = {}  # key id -> (key, up to size, file)
    known = {v.id for v in verifiers}
    while True:
        new = {}
        for f in found:
            old = _handover(f)
            if old is not None and old.id not in known and old.id not in retired:
                assert f.checkpoint is not None
                new[old.id] = (old, f.checkpoint.size, f.file)
        if not new:
            return found
        retired |= new
        for i, f in enumerate(found):
            if f.trusted or f.checkpoint is None:
                continue
            for old, limit, at in new.values():
                again = read_checkpoint(local_copy(f.file), [old], witnesses)
                if not again.trusted or again.checkpoint is None:
                    continue
                if again.checkpoint.size <= limit:
                    found[i] = again
                else:
                    found[i] = dataclasses.replace(
                        f,
                        problem=Problem(
                            "no_trusted_signature",
                            f.file,
                            None,
                            None,
                            f"signed by {old.name}+{old.id.hex()} for size "
                            f"{again.checkpoint.size:,}, after the key was retired by the "
                            f"handover at size {limit:,} ({at})",
                        ),
                    )
                break


HISTORY = "checkpoints"
"""The folder, beside a writer's segments, that keeps every checkpoint it signed."""


_SHOWN: dict[str, str] = {}
"""The local copy of an object-store checkpoint, read whole, -> its ``s3://`` URL: results name
it by its URL (the same in every run), never by the temporary folder it was read into."""


def local_copy(name: str) -> Path:
    """The file a checkpoint named ``name`` in a result was read from."""
    return Path(next((k for k, v in _SHOWN.items() if v == name), name))


def history_name(size: int, n: int = 0) -> str:
    """The file name of a kept checkpoint of tree ``size`` (``n``: another root for a size
    already kept, which only a fork or a rollback of the trail produces)."""
    return f"{size:020d}.checkpoint" if n == 0 else f"{size:020d}.{n}.checkpoint"


def default_checkpoints(paths: Sequence[Path], files: Sequence[Path]) -> list[Path]:
    """``<trail>.checkpoint`` beside a trail file, and ``*.checkpoint`` inside a trail folder
    and its ``checkpoints/`` history (every checkpoint the writer signed)."""
    from harness_audit.trail.store import url_of

    out: list[Path] = []
    for p in paths:
        url = url_of(p)
        if url is not None:  # an S3 trail's checkpoint objects, each read whole (small)
            from harness_audit.trail.s3store import fetched_checkpoints

            for shown, local in fetched_checkpoints(url):
                _SHOWN[str(local)] = shown
                out.append(local)
            continue
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.name.endswith(".checkpoint")))
            kept = p / HISTORY  # every *.checkpoint is listed; reading refuses non-files
            if kept.is_dir() and not kept.is_symlink():
                out.extend(sorted(x for x in kept.iterdir() if x.name.endswith(".checkpoint")))
    for f in files:
        if url_of(f) is not None:
            continue
        c = f.with_name(f.name + ".checkpoint")
        if c.is_file():
            out.append(c)
    unique: dict[Path, Path] = {}
    for c in out:
        unique.setdefault(c.resolve(), c)
    return list(unique.values())


def distinct(found: Sequence[FoundCheckpoint]) -> list[FoundCheckpoint]:
    """The checkpoints whose bytes were not already seen (the newest, ``<prefix>.checkpoint``,
    is also kept in the history: one checkpoint, counted once)."""
    seen: set[bytes] = set()
    out = []
    for f in found:
        if f.digest and f.digest in seen:
            continue
        seen.add(f.digest)
        out.append(f)
    return out


def judge_checkpoints(
    found: list[FoundCheckpoint],
    trusted: FoundCheckpoint | None,
    roots: dict[int, bytes],
    total: int,
    problems: list[Problem],
    witness_quorum: int = 0,
) -> Anchor | None:
    """Judge every checkpoint against the trail's roots (``roots`` by size, ``total`` events),
    appending to ``problems``; return the anchor, if any.

    Each trusted checkpoint must match the root of the trail's first ``size`` events
    (``root_mismatch``) unless the trail is shorter (``truncated_tail``, once, for the
    largest); two for one size with different roots, or an older one that a newer matching one
    does not extend, are a ``checkpoint_fork``. With ``witness_quorum``, only a checkpoint
    cosigned by that many of the given witnesses anchors (the newest such); when none that
    matches the trail is, that is a ``witness_quorum`` problem. A checkpoint of the empty tree
    (size 0) anchors nothing: it commits to no event, so a trail with only that one is not
    anchored, whatever its events are (it still counts against a fork or a rollback)."""
    no_key = [
        f.problem
        for f in found
        if f.problem and f.problem.kind == "no_trusted_signature" and f.problem.warning
    ]
    if no_key:  # one warning, not one per kept checkpoint
        first = no_key[0]
        more = f" ({len(no_key)} checkpoints)" if len(no_key) > 1 else ""
        problems.append(Problem(first.kind, first.file, None, None, first.detail + more, True))
    problems.extend(f.problem for f in found if f.problem and f.problem not in no_key)
    for f in found:
        problems.extend(f.cosignature_problems)
    signed = sorted(
        (f for f in found if f.checkpoint is not None and f.trusted),
        key=lambda f: f.checkpoint.size if f.checkpoint else 0,
    )
    matching = [
        f
        for f in signed
        if f.checkpoint
        and f.checkpoint.size <= total
        and roots.get(f.checkpoint.size) == f.checkpoint.root
    ]
    anchor: Anchor | None = None
    by_size: dict[int, FoundCheckpoint] = {}
    beyond = [f for f in signed if f.checkpoint and f.checkpoint.size > total]
    if beyond:
        f = beyond[-1]
        assert f.checkpoint is not None
        size = f.checkpoint.size
        more = (
            f" ({len(beyond) - 1} smaller checkpoint(s) also cover events past the end)"
            if len(beyond) > 1
            else ""
        )
        problems.append(
            Problem(
                "truncated_tail",
                f.file,
                None,
                total,
                f"the checkpoint covers {size:,} events but the trail has "
                f"{total:,}: {size - total:,} are missing from its end{more}",
            )
        )
    for f in signed:
        cp = f.checkpoint
        assert cp is not None
        other = by_size.get(cp.size)
        if other and other.checkpoint and other.checkpoint.root != cp.root:
            problems.append(
                Problem(
                    "checkpoint_fork",
                    f.file,
                    None,
                    cp.size - 1,
                    f"two signed checkpoints for size {cp.size} have different "
                    f"roots ({other.file})",
                )
            )
        by_size.setdefault(cp.size, f)
        if cp.size > total:
            continue
        if roots.get(cp.size) != cp.root:
            newer = next(
                (g for g in matching if g.checkpoint and g.checkpoint.size > cp.size), None
            )
            if newer is not None and newer.checkpoint is not None:
                problems.append(
                    Problem(
                        "checkpoint_fork",
                        f.file,
                        None,
                        cp.size - 1,
                        f"the newer signed checkpoint of size "
                        f"{newer.checkpoint.size:,} ({newer.file}) does not "
                        f"extend this one of size {cp.size:,}: history was "
                        "rewritten and signed again",
                    )
                )
            else:
                problems.append(
                    Problem(
                        "root_mismatch",
                        f.file,
                        None,
                        cp.size - 1,
                        f"the Merkle root of the first {cp.size:,} events "
                        "differs from the signed checkpoint: history was "
                        "rewritten",
                    )
                )
        elif (
            cp.size > 0  # the empty tree's checkpoint anchors nothing (issue 23, item 4)
            and len(f.cosignatures) >= witness_quorum
            and (
                anchor is None
                or cp.size > anchor.size
                # of two signings of one size (one root), the one with more cosignatures
                or (cp.size == anchor.size and len(f.cosignatures) > len(anchor.cosignatures))
            )
        ):
            anchor = Anchor(cp.origin, cp.size, f.signer or "", f.file, f.cosignatures)
    origins = {f.checkpoint.origin for f in signed if f.checkpoint}
    if len(origins) > 1:
        problems.append(
            Problem(
                "checkpoint_fork",
                signed[0].file,
                None,
                None,
                "checkpoints name different origins: " + ", ".join(sorted(origins)),
            )
        )
    if trusted and trusted.checkpoint:
        t = trusted.checkpoint
        newest = max((f.checkpoint.size for f in signed if f.checkpoint), default=total)
        if t.size > min(total, newest):
            problems.append(
                Problem(
                    "rollback",
                    trusted.file,
                    None,
                    None,
                    f"the trusted state from the last audit covers {t.size:,} "
                    f"events; the trail and its newest checkpoint cover "
                    f"{min(total, newest):,}",
                )
            )
        elif roots.get(t.size) != t.root:
            problems.append(
                Problem(
                    "checkpoint_fork",
                    trusted.file,
                    None,
                    t.size - 1,
                    "the trail's first events no longer match the trusted "
                    "state from the last audit",
                )
            )
    top = next((g for g in reversed(matching) if g.checkpoint and g.checkpoint.size), None)
    if anchor is None and total and matching and top is None:
        problems.append(
            Problem(
                "unanchored_tail",
                matching[-1].file,
                None,
                0,
                f"the only trusted checkpoint that matches the trail is of the empty tree (size "
                f"0), which anchors nothing: none of its {total:,} event(s) is anchored by a "
                "signature",
                warning=True,
            )
        )
    if (
        witness_quorum
        and top is not None
        and top.checkpoint is not None
        and (anchor is None or anchor.size < top.checkpoint.size)
    ):
        have = len(top.cosignatures)
        if anchor is None:
            problems.append(
                Problem(
                    "witness_quorum",
                    top.file,
                    None,
                    top.checkpoint.size - 1,
                    f"no checkpoint that matches the trail is cosigned by "
                    f"{witness_quorum} of the given witnesses: the top (size "
                    f"{top.checkpoint.size:,}) has {have} valid "
                    f"cosignature(s) of the {witness_quorum} needed",
                )
            )
        else:
            problems.append(
                Problem(
                    "witness_quorum",
                    top.file,
                    None,
                    top.checkpoint.size - 1,
                    f"the top checkpoint (size {top.checkpoint.size:,}) "
                    f"has {have} valid cosignature(s) of the {witness_quorum} "
                    f"needed; anchored on the older one of size "
                    f"{anchor.size:,}",
                    warning=True,
                )
            )
    if anchor and total > anchor.size:
        what = (
            "checkpoint"
            if not witness_quorum
            else f"checkpoint with {witness_quorum} witness cosignature(s)"
        )
        problems.append(
            Problem(
                "unanchored_tail",
                anchor.file,
                None,
                anchor.size,
                f"{total - anchor.size:,} event(s) after the newest {what} "
                "are not anchored by a signature",
                warning=True,
            )
        )
    return anchor
