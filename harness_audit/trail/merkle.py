"""RFC 6962 / RFC 9162 Merkle trees, compiled by mypyc: hashes, roots, proofs, a streaming root.

Small pure functions, each citing the section it implements. Hashes are 32-byte ``bytes``.

Compiled by mypyc (``setup.py``'s ``MYPYC``), so the rules that bite here: one exception type
per ``except ... as``; no msgspec ``Struct`` defined here (those stay in Python modules such as
``events``); monkeypatching a name here is invisible to compiled callers (patch it where a
Python module looks it up); and after an edit in an editable install, rebuild
(``pip install -e .``) or the old build keeps running (``HARNESS_AUDIT_BUILD_EXT=0`` installs
without compiling).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()


class ProofError(ValueError):
    """A proof that does not verify, or whose parameters are impossible."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d0}) = HASH(0x00 || d0)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: HASH(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes (already hashed with ``leaf_hash``)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # bottom-up, pairing left to right, carrying an odd last node up unchanged: equal to the
    # recursive definition (the right subtree is the smaller one at every split)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


RootOf = Callable[[int, int], bytes]  # the MTH of leaves[a:b]


def inclusion_path(index: int, size: int, root_of: RootOf) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), with subtree roots from ``root_of(a, b)``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    out: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append(root_of(lo + k, hi))
            hi = lo + k
        else:
            out.append(root_of(lo, lo + k))
            lo += k
    return out[::-1]


def consistency_path(old_size: int, size: int, root_of: RootOf) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    if not 0 <= old_size <= size:
        raise ProofError(f"old size {old_size} is not within 0..{size}")
    if old_size in (0, size):
        return []
    out: list[bytes] = []
    lo, hi, m, complete = 0, size, old_size, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append(root_of(lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append(root_of(lo + k, hi))
            hi = lo + k
        else:
            out.append(root_of(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    return out[::-1]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) over a list of leaf hashes."""
    return inclusion_path(index, len(leaves), lambda a, b: root(leaves[a:b]))


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) over a list of leaf hashes."""
    return consistency_path(old_size, len(leaves), lambda a, b: root(leaves[a:b]))


class LeafStore:
    """Leaf hashes of a whole trail in one bytearray (32 bytes each), with cached roots of
    perfect subtrees, for making many proofs over one tree."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._cache: dict[tuple[int, int], bytes] = {}

    def append(self, leaf: bytes) -> None:
        """Add a 32-byte leaf hash at the end."""
        self.data += leaf

    def __len__(self) -> int:
        return len(self.data) // 32

    def leaf(self, i: int) -> bytes:
        """The hash of leaf ``i``."""
        return bytes(self.data[32 * i : 32 * i + 32])

    def root_of(self, a: int, b: int) -> bytes:
        """The MTH of leaves[a:b]; roots of perfect subtrees of 256 leaves or more are cached."""
        n = b - a
        if n <= 0:
            return EMPTY_ROOT
        if n == 1:
            return self.leaf(a)
        if n & (n - 1) == 0 and n >= 256:
            key = (a, n)
            hit = self._cache.get(key)
            if hit is None:
                hit = self._cache[key] = node_hash(
                    self.root_of(a, a + n // 2), self.root_of(a + n // 2, b)
                )
            return hit
        if n & (n - 1) == 0:
            return root([self.leaf(i) for i in range(a, b)])
        k = _split(n)
        return node_hash(self.root_of(a, a + k), self.root_of(a + k, b))


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to (raises on a malformed proof)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    if len(leaf) != 32 or any(len(p) != 32 for p in proof):
        raise ProofError("hashes must be 32 bytes")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; raises :class:`ProofError` unless the proof holds."""
    if root_from_inclusion(index, size, leaf, proof) != expected_root:
        raise ProofError("inclusion proof leads to another root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises :class:`ProofError` unless the proof holds."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if any(len(p) != 32 for p in proof):
        raise ProofError("hashes must be 32 bytes")
    if old_size == new_size:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if old_root != new_root:
            raise ProofError("equal sizes with different roots")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than needed")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


class CompactTree:
    """The streaming root: perfect subtrees for the binary digits of the size.

    ``push`` takes a subtree of ``2**height`` leaves whose first index is a multiple of its size
    (a single leaf is height 0), so ranges hashed elsewhere can be joined in order.
    """

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []

    def push(self, digest: bytes, height: int = 0) -> None:
        """Add a subtree by its root, merging equal sizes; raises ProofError if misaligned."""
        if self.size & ((1 << height) - 1):
            raise ProofError(f"subtree of height {height} is not aligned at {self.size}")
        self.size += 1 << height
        stack = self.stack
        while stack and stack[-1][0] == height:  # equal sizes are siblings: merge them
            digest = node_hash(stack.pop()[1], digest)
            height += 1
        stack.append((height, digest))

    def root(self) -> bytes:
        """The MTH of every leaf pushed so far."""
        if not self.stack:
            return EMPTY_ROOT
        r = self.stack[-1][1]
        for _, d in reversed(self.stack[:-1]):
            r = node_hash(d, r)
        return r
