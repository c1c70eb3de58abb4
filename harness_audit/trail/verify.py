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

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness_audit.errors import Diagnostic, TrailError
from harness_audit.trail.badline import MAX_LINE
from harness_audit.trail.checkpoints import (
    Anchor,
    FoundCheckpoint,
    default_checkpoints,
    distinct,
    judge_checkpoints,
    read_checkpoint,
    read_with_rotations,
)
from harness_audit.trail.note import Verifier
from harness_audit.trail.pieces import join_ranges
from harness_audit.trail.problem import Problem, ProblemKind
from harness_audit.trail.provenance import DEFAULT_SEALED_LATE_S, Provenance, read_stamp
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
from harness_audit.trail.store import name_of, store_of, trail_files
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
    "Provenance",
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
    provenance: Provenance = field(default_factory=Provenance)
    shards: tuple[Any, ...] = ()  # a sharded trail's shards (trail/shards.py ShardResult)

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
    store = store_of(name_of(path))
    size = store.size(name_of(path))
    points = [0]
    with store.open_range(name_of(path)) as f:
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
    return store_of(name_of(f)).size(name_of(f))


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
    last = name_of(files[-1]) if files else ""
    if jobs <= 1:
        results = []
        index = 0
        for f in files:
            r = scan_range(name_of(f), 0, _size(f), index, cuts, name_of(f) == last, progress)
            index += r.events
            results.append(r)
        return results
    total = sum(_size(f) for f in files) or 1
    tasks = []
    for f in files:
        parts = max(1, round(_size(f) / total * jobs * 2))
        pts = _split_points(f, parts)
        for a, b in itertools.pairwise(pts):
            tasks.append((name_of(f), a, b, None, cuts, name_of(f) == last))
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
    sealed_late_after_s: float = DEFAULT_SEALED_LATE_S,
    dask: str | None = None,
) -> VerifyReport:
    """Verify the trail at ``paths`` against the trust root: every line, the chain, the tree
    and the checkpoints found beside it or given, and a trusted state from the last audit
    (a list of verifier keys is a trust root of those keys alone).

    With a witness quorum N > 0, only a checkpoint that carries valid C2SP tlog-cosignatures
    by at least N distinct witness keys anchors the trail; a cosignature line of a given
    witness that does not verify is ``bad_signature``.

    With ``dask`` (a scheduler's address) the lines are scanned on that Dask cluster
    (:mod:`~harness_audit.trail.cluster`, the same result; ``jobs`` is then not used)."""
    if not isinstance(trust, TrustRoot):
        trust = TrustRoot(tuple(trust))
    from harness_audit.trail.shards import is_sharded, verify_chain

    if len(paths) == 1 and is_sharded(paths[0]):  # periods as shards: the chain of them
        chain = verify_chain(paths[0], trust, jobs, allow_unanchored, progress, sealed_late_after_s)
        assert isinstance(chain, VerifyReport)
        return chain
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
    given = [*default_checkpoints(paths, files), *checkpoints]
    # key handovers followed back (trail rotate-key)
    found = distinct(read_with_rotations(given, verifiers, witnesses))
    trusted = read_checkpoint(trusted_state, verifiers) if trusted_state else None
    if trusted and (trusted.checkpoint is None or not trusted.trusted):
        why = trusted.problem.detail if trusted.problem else "unreadable"
        raise TrailError(Diagnostic(str(trusted_state), f"trusted state does not verify: {why}"))
    cuts = [f.checkpoint.size for f in found if f.checkpoint]
    if trusted and trusted.checkpoint:
        cuts.append(trusted.checkpoint.size)
    if dask:
        from harness_audit.trail.cluster import scan_on_cluster

        results = scan_on_cluster(files, cuts, dask, progress)
    else:
        results = scan_files(files, cuts, jobs, progress)
    joined = join_ranges(results, set(cuts))
    problems, roots, tree = joined.problems, joined.roots, joined.tree
    total = tree.size
    anchor = judge_checkpoints(found, trusted, roots, total, problems, witness_quorum)
    order = {name_of(f): i for i, f in enumerate(files)}
    problems.sort(key=lambda p: (p.file not in order, order.get(p.file, 0), p.line or 0))
    return VerifyReport(
        files=[name_of(f) for f in files],
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
        provenance=_provenance(found, roots, total, anchor, results, trust, sealed_late_after_s),
    )


# --- provenance: the signed times and import marks of the checkpoints -----------------------


def _provenance(
    found: Sequence[FoundCheckpoint],
    roots: dict[int, bytes],
    total: int,
    anchor: Anchor | None,
    results: Sequence[RangeResult],
    trust: TrustRoot,
    late_after_s: float,
) -> Provenance:
    """The anchor's provenance from the trusted checkpoints that match the trail: the earliest
    signing time of the anchor's tree, the import mark, and the longest wait between an event
    and the signature over it among the anchor, the oldest timed checkpoint and the import's
    (each one event read: the last it anchors)."""
    valid = [
        (f.checkpoint.size, read_stamp(f.checkpoint.extensions))
        for f in found
        if f.trusted
        and f.checkpoint is not None
        and f.checkpoint.size <= total
        and roots.get(f.checkpoint.size) == f.checkpoint.root
    ]
    times = tuple(sorted({s.signed_at for _, s in valid if s.signed_at and not s.imported}))
    if anchor is None:
        return Provenance(sealed_late_after_s=late_after_s, checkpoint_times=times)
    mine = [(size, s) for size, s in valid if size <= anchor.size]
    earliest: dict[int, str] = {}  # the first signature over each tree size
    for size, s in mine:
        if s.signed_at and (size not in earliest or s.signed_at < earliest[size]):
            earliest[size] = s.signed_at
    imports = [(size, s) for size, s in mine if s.imported is not None]
    top = max(imports, key=lambda x: x[0]) if imports else None
    mark = top[1].imported if top else None
    sizes = {anchor.size, *([top[0]] if top else [])}
    if earliest:
        sizes.add(min(earliest))
    last_ts = _ts_at(results, anchor.size - 1)
    waits = []
    for size in sorted(sizes):
        signed = earliest.get(size)
        ts = last_ts if size == anchor.size else _ts_at(results, size - 1)
        if signed and ts and size > 0:
            wait = (_seconds(signed) or 0.0) - (_seconds(ts) or 0.0)
            waits.append(max(wait, 0.0) if wait > -1 else wait)  # signed to the second
    source = trust.key_source
    return Provenance(
        anchored=True,
        signed_at=earliest.get(anchor.size),
        last_event_ts=last_ts,
        sealed_after_s=max(waits) if waits else None,
        sealed_late_after_s=late_after_s,
        imported=mark,
        key=_key_id(anchor.key),
        key_source=source,
        pinned=source in ("flag", "config"),
        witnesses=tuple(c.witness.name for c in anchor.cosignatures),
        checkpoint_times=times,
    )


def _key_id(text: str) -> str:
    name, _, rest = text.partition("+")
    return f"{name}+{rest.partition('+')[0]}"


def _seconds(ts: str) -> float | None:
    try:
        t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def _ts_at(results: Sequence[RangeResult], index: int) -> str | None:
    """The ``ts`` of the event at ``index`` (None when it cannot be read): one line, read
    backwards from the end of its range when it is the range's last (the common case: the
    anchor is the newest checkpoint), else found by counting the range's newlines."""
    import msgspec

    for r in results:
        first = r.start_index or 0
        if r.events and first <= index < first + r.events:
            line = _line(r, index - first)
            if line is None:
                return None
            try:
                ts = msgspec.json.decode(line).get("ts")
            except (msgspec.DecodeError, AttributeError):
                return None
            return ts if isinstance(ts, str) and _seconds(ts) is not None else None
    return None


def _line(r: RangeResult, k: int) -> bytes | None:
    """The ``k``-th line (from 0) of a scanned range, bounded by ``MAX_LINE``."""
    store = store_of(r.file)
    with store.open_range(r.file) as f:
        if k == r.events - 1:  # the range's last event: read backwards from its end
            pos, buf = r.end, b""
            while pos > r.start and buf.count(b"\n") < 2 and len(buf) <= MAX_LINE + 1:
                step = min(1 << 16, pos - r.start)
                pos -= step
                f.seek(pos)
                buf = f.read(step) + buf
            if not buf.endswith(b"\n"):  # a torn tail is not an event
                buf = buf[: buf.rfind(b"\n") + 1]
            body = buf[:-1]
            cut = body.rfind(b"\n")
            if cut < 0 and pos > r.start:
                return None
            line = body[cut + 1 :]
            return line if len(line) <= MAX_LINE else None
        f.seek(r.start)
        left, seen, rest = r.end - r.start, 0, b""
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                return None
            left -= len(chunk)
            data = rest + chunk
            n = data.count(b"\n")
            if seen + n > k:
                lines = data.split(b"\n")
                line = lines[k - seen]
                return line if len(line) <= MAX_LINE else None
            seen += n
            rest = data[data.rfind(b"\n") + 1 :] if n else data
            if len(rest) > MAX_LINE:
                return None
    return None
