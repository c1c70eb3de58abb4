"""The Merkle side of verification: a range's leaves as aligned perfect subtrees, and the
joining of every range's subtrees, in trail order, into one tree (RFC 6962 §2.1).

Ranges scanned apart (``--jobs``) each return their pieces; :func:`join_ranges` pushes them into
one :class:`~harness_audit.trail.merkle.CompactTree`, recording the root at every checkpoint
size, and joins the ranges' hash chains and sequence numbers at their seams.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from harness_audit.trail.merkle import CompactTree, node_hash
from harness_audit.trail.problem import Problem, RangeResult

sha256 = hashlib.sha256


class Pieces:
    """Aligned perfect subtrees of a run of leaves starting at global index ``start``.

    Leaves arrive in batches; each batch is cut into maximal aligned blocks whose roots are
    hashed level by level (cheaper per leaf in Python than a push per leaf), then the blocks
    are merged with aligned siblings. Nothing merges across a checkpoint size in ``cuts``.
    """

    __slots__ = ("cuts", "done", "index", "stack")

    def __init__(self, start: int, cuts: Sequence[int]) -> None:
        self.index = start
        self.stack: list[tuple[int, int, bytes]] = []  # (first index, height, digest)
        self.done: list[tuple[int, int, bytes]] = []
        self.cuts = sorted(c for c in cuts if c > start)

    def extend(self, leaves: list[bytes]) -> None:
        """Add a batch of leaves, in order."""
        pos = 0
        n = len(leaves)
        while pos < n:
            if self.cuts and self.index == self.cuts[0]:
                self.done.extend(self.stack)
                self.stack = []
                self.cuts.pop(0)
            limit = n - pos
            if self.cuts:
                limit = min(limit, self.cuts[0] - self.index)
            # the largest aligned block at self.index that fits
            h = (self.index & -self.index).bit_length() - 1 if self.index else 62
            while (1 << h) > limit:
                h -= 1
            block = leaves[pos : pos + (1 << h)]
            while len(block) > 1:
                it = iter(block)
                block = [sha256(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)]
            self._push(self.index, h, block[0])
            self.index += 1 << h
            pos += 1 << h

    def _push(self, p: int, h: int, d: bytes) -> None:
        stack = self.stack
        while stack:
            q, hq, dq = stack[-1]
            if hq != h or q % (2 << h):
                break
            stack.pop()
            d = node_hash(dq, d)
            p, h = q, h + 1
        stack.append((p, h, d))

    def result(self) -> list[tuple[int, int, bytes]]:
        """Every subtree, in leaf order: (first index, height, root)."""
        return self.done + self.stack


@dataclass
class Joined:
    """Every range joined: the tree, its roots at the wanted sizes, the problems (lines shifted
    to the whole file) and how many problems were dropped past the per-range limit."""

    tree: CompactTree
    roots: dict[int, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    dropped: int = 0


def join_ranges(results: Sequence[RangeResult], wanted: Collection[int]) -> Joined:
    """Join the ranges in trail order: their problems, chain seams and Merkle pieces."""
    out = Joined(CompactTree())
    tree, roots, problems = out.tree, out.roots, out.problems
    if 0 in wanted:
        roots[0] = tree.root()
    offset_lines: dict[str, int] = {}
    last_hash: str | None = "0" * 64
    last_seq = -1
    for r in results:
        base = offset_lines.get(r.file, 0)
        offset_lines[r.file] = base + r.lines
        problems.extend(_shift(p, base) for p in r.problems)
        out.dropped += r.dropped
        if r.events:
            if r.first_prev is not None and last_hash is not None and r.first_prev != last_hash:
                problems.append(
                    Problem(
                        "broken_link",
                        r.file,
                        base + r.first_line,
                        r.first_seq,
                        "prev does not match the hash of the event before it"
                        if last_seq >= 0
                        else "the first event's prev is not "
                        "64 zeros: the trail's beginning is missing",
                    )
                )
            if r.first_seq is not None and r.first_seq != last_seq + 1:
                problems.append(
                    Problem(
                        "sequence_gap",
                        r.file,
                        base + r.first_line,
                        r.first_seq,
                        f"seq {r.first_seq} where {last_seq + 1} was expected",
                    )
                )
            last_hash = r.last_hash
            if r.last_seq is not None:
                last_seq = r.last_seq
        for _, height, digest in r.pieces:
            tree.push(digest, height)
            if tree.size in wanted:
                roots[tree.size] = tree.root()
    return out


def _shift(p: Problem, base: int) -> Problem:
    return Problem(
        p.kind,
        p.file,
        (p.line or 0) + base if p.line is not None else None,
        p.seq,
        p.detail,
        p.warning,
    )
