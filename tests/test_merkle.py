"""RFC 6962 / 9162 Merkle trees: published vectors, then properties for every size to 64."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness_audit.trail.merkle import (
    EMPTY_ROOT,
    CompactTree,
    LeafStore,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)


def leaves_of(v: Any) -> list[bytes]:
    return [leaf_hash(bytes.fromhex(x)) for x in v["leaves_hex"]]


def test_roots_of_the_reference_tree(rfc6962_vectors: Any) -> None:
    leaves = leaves_of(rfc6962_vectors)
    assert root([]) == EMPTY_ROOT == bytes.fromhex(rfc6962_vectors["empty_root"])
    for size, want in enumerate(rfc6962_vectors["roots"], 1):
        assert root(leaves[:size]).hex() == want
        tree = CompactTree()
        for leaf in leaves[:size]:
            tree.push(leaf)
        assert tree.root().hex() == want


def test_inclusion_vectors(rfc6962_vectors: Any) -> None:
    leaves = leaves_of(rfc6962_vectors)
    for case in rfc6962_vectors["inclusion"]:
        i, n = case["leaf_index"], case["tree_size"]
        want = [bytes.fromhex(p) for p in case["path"]]
        assert inclusion_proof(i, leaves[:n]) == want
        verify_inclusion(i, n, leaves[i], want, root(leaves[:n]))


def test_consistency_vectors(rfc6962_vectors: Any) -> None:
    leaves = leaves_of(rfc6962_vectors)
    for case in rfc6962_vectors["consistency"]:
        m, n = case["old_size"], case["new_size"]
        want = [bytes.fromhex(p) for p in case["path"]]
        assert consistency_proof(m, leaves[:n]) == want
        verify_consistency(m, n, root(leaves[:m]), root(leaves[:n]), want)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 3)])
def test_impossible_inclusion_parameters(index: int, size: int) -> None:
    with pytest.raises(ProofError):
        root_from_inclusion(index, size, b"\x00" * 32, [])


def test_consistency_edge_cases() -> None:
    r1, r2 = b"\x01" * 32, b"\x02" * 32
    verify_consistency(0, 5, r1, r2, [])  # anything extends the empty tree
    verify_consistency(3, 3, r1, r1, [])
    for args in [
        (3, 3, r1, r2, []),
        (2, 1, r1, r2, []),
        (1, 2, r1, r2, []),
        (3, 3, r1, r1, [EMPTY_ROOT]),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def flip(data: bytes, byte: int, bit: int) -> bytes:
    out = bytearray(data)
    out[byte] ^= 1 << bit
    return bytes(out)


def tree(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 64).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
    st.integers(0, 31),
    st.integers(0, 7),
)
def test_every_inclusion_proof_verifies_and_breaks(
    case: tuple[int, int], byte: int, bit: int
) -> None:
    n, i = case
    leaves = tree(n)
    proof, r = inclusion_proof(i, leaves), root(leaves)
    verify_inclusion(i, n, leaves[i], proof, r)
    with pytest.raises(ProofError):
        verify_inclusion(i, n, flip(leaves[i], byte, bit), proof, r)
    with pytest.raises(ProofError):
        verify_inclusion(i, n, leaves[i], proof, flip(r, byte, bit))
    for k in range(len(proof)):
        bad = list(proof)
        bad[k] = flip(bad[k], byte, bit)
        with pytest.raises(ProofError):
            verify_inclusion(i, n, leaves[i], bad, r)
    if n > 1:
        with pytest.raises(ProofError):
            verify_inclusion((i + 1) % n, n, leaves[i], proof, r)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 64).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))),
    st.integers(0, 31),
    st.integers(0, 7),
)
def test_every_consistency_proof_verifies_and_breaks(
    case: tuple[int, int], byte: int, bit: int
) -> None:
    m, n = case
    leaves = tree(n)
    old, new = root(leaves[:m]), root(leaves)
    proof = consistency_proof(m, leaves)
    verify_consistency(m, n, old, new, proof)
    if m == n:
        return
    with pytest.raises(ProofError):
        verify_consistency(m, n, flip(old, byte, bit), new, proof)
    with pytest.raises(ProofError):
        verify_consistency(m, n, old, flip(new, byte, bit), proof)
    for k in range(len(proof)):
        bad = list(proof)
        bad[k] = flip(bad[k], byte, bit)
        with pytest.raises(ProofError):
            verify_consistency(m, n, old, new, bad)


@given(st.integers(0, 300))
def test_streaming_and_store_roots_equal_the_definition(n: int) -> None:
    leaves = tree(n)
    t, store = CompactTree(), LeafStore()
    for leaf in leaves:
        t.push(leaf)
        store.append(leaf)
    assert t.root() == root(leaves) == store.root_of(0, n)


def test_aligned_subtrees_join_to_the_same_root() -> None:
    leaves = tree(1000)
    t = CompactTree()
    t.push(root(leaves[:512]), 9)
    t.push(root(leaves[512:768]), 8)
    for leaf in leaves[768:]:
        t.push(leaf)
    assert t.root() == root(leaves)
    t2 = CompactTree()
    t2.push(leaves[0])
    with pytest.raises(ProofError, match="not aligned"):
        t2.push(root(leaves[1:5]), 2)
