"""Offline trail verification: schema, canonical form, hash chain, Merkle root, checkpoints.

Streaming: a trail is read in chunks, one line at a time; memory holds a chunk, a bounded list
of problems and O(log n) Merkle subtrees, never the trail. With ``jobs > 1`` the files are cut
into byte ranges at line boundaries and scanned in parallel processes; each range returns its
chain ends and its leaves as aligned perfect subtrees, which the parent joins in order.

This module is the public face; the pieces live beside it:

- :mod:`~harness_audit.trail.scan`: one range, line by line (the hot loop), and
  :mod:`~harness_audit.trail.badline` for the lines that are not plainly valid;
- :mod:`~harness_audit.trail.pieces`: the Merkle subtrees of a range and the joining of ranges;
- :mod:`~harness_audit.trail.checkpoints`: reading and judging signed checkpoints;
- :mod:`~harness_audit.trail.problem`: what is found.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail.badline import MAX_LINE
from harness_audit.trail.checkpoints import (
    Anchor,
    FoundCheckpoint,
    default_checkpoints,
    distinct,
    judge_checkpoints,
    read_checkpoint,
)
from harness_audit.trail.note import Verifier
from harness_audit.trail.pieces import join_ranges
from harness_audit.trail.problem import Problem, ProblemKind
from harness_audit.trail.scan import (
    BROKEN_LINK,
    CHUNK,
    HASH_FIELD,
    HASH_MEMBER_LEN,
    MAX_PROBLEMS,
    RangeResult,
    event_leaf,
    scan_range,
)
from harness_audit.trail.store import store_of, trail_files
from harness_audit.trail.witness import Cosignature
from harness_audit.trust import TrustRoot

__all__ = [
    "BROKEN_LINK",
    "CHUNK",
    "HASH_FIELD",
    "HASH_MEMBER_LEN",
    "MAX_LINE",
    "MAX_PROBLEMS",
    "Anchor",
    "FoundCheckpoint",
    "Problem",
    "ProblemKind",
    "RangeResult",
    "Status",
    "VerifyReport",
    "default_checkpoints",
    "event_leaf",
    "read_checkpoint",
    "scan_files",
    "scan_range",
    "trail_files",
    "verify_trail",
]

Status = Literal["verified", "intact_unanchored", "failed"]


@dataclass
class VerifyReport:
    """The verdict on a trail: events, problems, the anchoring checkpoint and the root."""

    files: list[str]
    events: int
    size: int  # bytes read
    problems: list[Problem]
    dropped: int
    anchor: Anchor | None
    checkpoints_found: int
    checkpoints_valid: int
    root: bytes
    allow_unanchored: bool = False
    witness_quorum: int = 0  # cosignatures the anchor needed (0: none)

    @property
    def witnesses(self) -> tuple[Cosignature, ...]:
        """The valid cosignatures of the given witnesses on the anchoring checkpoint (each
        with its :class:`~harness_audit.trail.witness.WitnessKey` and timestamp), one per
        witness key; empty when nothing anchors or no witness key was given."""
        return self.anchor.cosignatures if self.anchor else ()

    @property
    def status(self) -> Status:
        """``verified``, ``intact_unanchored`` or ``failed`` (CLI.md)."""
        if any(not p.warning for p in self.problems) or self.dropped:
            return "failed"
        return "verified" if self.anchor else "intact_unanchored"

    @property
    def ok(self) -> bool:
        """Whether ``verify`` exits 0 (an unanchored trail only with ``--allow-unanchored``)."""
        return self.status == "verified" or (
            self.allow_unanchored and self.status == "intact_unanchored"
        )


# --- files, ranges, parallelism -------------------------------------------------------------
# The segment files are the store's (:func:`~harness_audit.trail.store.trail_files`, re-exported
# here for the callers that name it from this module).


def _split_points(path: Path, parts: int) -> list[int]:
    store = store_of(str(path))
    size = store.size(str(path))
    points = [0]
    with store.open_range(str(path)) as f:
        for i in range(1, parts):
            guess = size * i // parts
            if guess <= points[-1]:
                continue
            f.seek(guess)
            while True:
                block = f.read(65536)
                if not block:
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    guess += nl + 1
                    break
                guess += len(block)
            if points[-1] < guess < size:
                points.append(guess)
    points.append(size)
    return points


def _size(f: Path) -> int:
    return store_of(str(f)).size(str(f))


def _scan_task(args: tuple[str, int, int, int | None, tuple[int, ...], bool]) -> RangeResult:
    return scan_range(*args)


def scan_files(
    files: Sequence[Path],
    cuts: Sequence[int] = (),
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[RangeResult]:
    """Scan every file, in order or (``jobs > 1``) as byte ranges in parallel processes, redone
    in order when the ranges' seq hints prove wrong."""
    cuts = tuple(sorted(set(cuts)))
    last = str(files[-1]) if files else ""
    if jobs <= 1:
        results = []
        index = 0
        for f in files:
            r = scan_range(str(f), 0, _size(f), index, cuts, str(f) == last, progress)
            index += r.events
            results.append(r)
        return results
    total = sum(_size(f) for f in files) or 1
    tasks = []
    for f in files:
        parts = max(1, round(_size(f) / total * jobs * 2))
        pts = _split_points(f, parts)
        for a, b in itertools.pairwise(pts):
            tasks.append((str(f), a, b, None, cuts, str(f) == last))
    import multiprocessing
    from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

    from harness_audit.trail import _core

    pool: Executor
    if _core.compiled():  # it scans without the GIL: threads over the ranges, one process
        pool = ThreadPoolExecutor(max_workers=jobs)
    else:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))
    out: list[RangeResult] = []
    with pool:
        for r in pool.map(_scan_task, tasks):
            out.append(r)
            if progress:
                progress(r.end - r.start)
    if not _indexed_in_order(out):  # seq hints were wrong: the trail is damaged; redo in order
        return scan_files(files, cuts, 1, None)
    return out


def _indexed_in_order(results: Sequence[RangeResult]) -> bool:
    index = 0
    for r in results:
        if r.events and (not r.seq_ok or r.start_index != index):
            return False
        index += r.events
    return True


def verify_trail(
    paths: Sequence[Path],
    trust: TrustRoot | Sequence[Verifier] = (),
    jobs: int = 1,
    allow_unanchored: bool = False,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify the trail at ``paths`` against the trust root: every line, the chain, the tree
    and the checkpoints found beside it or given, and a trusted state from the last audit
    (a list of verifier keys is a trust root of those keys alone).

    With a witness quorum N > 0, only a checkpoint that carries valid C2SP tlog-cosignatures
    by at least N distinct witness keys anchors the trail; a cosignature line of a given
    witness that does not verify is ``bad_signature``."""
    if not isinstance(trust, TrustRoot):
        trust = TrustRoot(tuple(trust))
    verifiers, witnesses, witness_quorum = trust.verifiers(), trust.witnesses(), trust.quorum
    checkpoints, trusted_state = trust.checkpoints, trust.trusted_state
    if witness_quorum < 0:
        raise TrailError(Diagnostic("--witness-quorum", f"{witness_quorum} is negative"))
    distinct_witnesses = len({w.public for w in witnesses})
    if witness_quorum > distinct_witnesses:
        raise TrailError(
            Diagnostic(
                "--witness-quorum",
                f"a quorum of {witness_quorum} "
                f"cannot be met by {distinct_witnesses} witness key(s)",
                expected="at least as many --witness-key as the quorum",
            )
        )
    files = trail_files(paths)
    found = distinct(
        [
            read_checkpoint(c, verifiers, witnesses)
            for c in [*default_checkpoints(paths, files), *checkpoints]
        ]
    )
    trusted = read_checkpoint(trusted_state, verifiers) if trusted_state else None
    if trusted and (trusted.checkpoint is None or not trusted.trusted):
        why = trusted.problem.detail if trusted.problem else "unreadable"
        raise TrailError(Diagnostic(str(trusted_state), f"trusted state does not verify: {why}"))
    cuts = [f.checkpoint.size for f in found if f.checkpoint]
    if trusted and trusted.checkpoint:
        cuts.append(trusted.checkpoint.size)
    results = scan_files(files, cuts, jobs, progress)
    joined = join_ranges(results, set(cuts))
    problems, roots, tree = joined.problems, joined.roots, joined.tree
    total = tree.size
    anchor = judge_checkpoints(found, trusted, roots, total, problems, witness_quorum)
    order = {str(f): i for i, f in enumerate(files)}
    problems.sort(key=lambda p: (p.file not in order, order.get(p.file, 0), p.line or 0))
    return VerifyReport(
        files=[str(f) for f in files],
        events=total,
        size=sum(_size(f) for f in files),
        problems=problems,
        dropped=joined.dropped,
        anchor=anchor,
        checkpoints_found=len(found),
        checkpoints_valid=sum(
            1
            for f in found
            if f.trusted
            and f.checkpoint
            and f.checkpoint.size in roots
            and roots[f.checkpoint.size] == f.checkpoint.root
        ),
        root=tree.root(),
        allow_unanchored=allow_unanchored,
        witness_quorum=witness_quorum,
    )
