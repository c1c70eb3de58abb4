"""A trail's tree as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): ``trail publish --tiles``.

Each entry is the event line without its ``hash`` member, the bytes the trail's leaf hashes
(:func:`~harness_audit.trail.scan.event_leaf`: SHA-256(0x00 || entry)), so the tiles' tree is
the trail's tree and the trail's own signed checkpoints are the log's checkpoints: any tlog
client (Go's ``sumdb/tlog`` and ``sumdb/note``, Trillian Tessera's tools) checks inclusion and
consistency without this tool.

The layout, under a folder or ``s3://bucket/prefix``:

- ``checkpoint``: the newest signed checkpoint of the trail (the tree published is its size;
  events sealed after it are not published: nothing signs them yet);
- ``tile/<L>/<N>``: 256 hashes of level ``L`` (level 0: the leaf hashes; level ``L``: the
  roots of the complete subtrees of 256^L leaves), ``N`` in 3-digit elements, all but the last
  prefixed with ``x`` (``x001/x234/067``);
- ``tile/<L>/<N>.p/<W>``: a partial tile of ``W`` < 256 hashes, kept for **every** checkpointed
  size (so a client holding an older checkpoint reads that tree's tiles: consistency proofs);
- ``tile/entries/<N>[.p/<W>]``: the entries of the level-0 tile ``N``, each a big-endian
  16-bit length and the entry; an entry longer than 65,535 bytes cannot be written and the
  publication is refused (:class:`~harness_audit.errors.TrailError` naming the line);
- ``checkpoints/<size>.checkpoint``: every signed checkpoint of the trail (an addition to the
  spec's layout, which names the newest alone).

A checkpoint whose root is not the trail's tree at its size is refused: the tiles are published
from a trail whose checkpoints match it (run ``verify`` for why one does not).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness_audit.errors import Diagnostic, TrailError, UsageError

__all__ = ["ENTRY_LIMIT", "TilesSummary", "publish_tiles", "tile_path"]

WIDTH = 256
ENTRY_LIMIT = 0xFFFF
"""The longest entry an entry bundle holds (a 16-bit length)."""


def tile_path(level: int | str, n: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (``level`` ``"entries"`` for an entry bundle)."""
    parts = []
    while True:
        parts.append(n % 1000)
        n //= 1000
        if not n:
            break
    parts.reverse()
    text = "/".join([*(f"x{p:03d}" for p in parts[:-1]), f"{parts[-1]:03d}"])
    return f"tile/{level}/{text}" + (f".p/{width}" if width < WIDTH else "")


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _subtree_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree over ``hashes`` (a power of two of them)."""
    sha = hashlib.sha256
    level = list(hashes)
    while len(level) > 1:
        level = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def _root_at(size: int, levels: Sequence[Sequence[bytes]]) -> bytes:
    """RFC 9162 root of the first ``size`` leaves, from the complete subtree hashes of each
    tile level (``levels[L][i]``: the root of leaves ``[i * 256^L, (i + 1) * 256^L)``): the
    perfect subtrees of ``size``'s binary decomposition, folded from the right."""
    if size == 0:
        return hashlib.sha256(b"").digest()
    subtrees = []
    at = 0
    for k in range(size.bit_length() - 1, -1, -1):
        if not size >> k & 1:
            continue
        lv = k // 8  # 2^k leaves = 2^(k - 8 lv) hashes of level lv
        first = at >> (8 * lv)
        subtrees.append(_subtree_root(levels[lv][first : first + (1 << (k - 8 * lv))]))
        at += 1 << k
    root = subtrees[-1]
    for s in reversed(subtrees[:-1]):
        root = _node(s, root)
    return root


@dataclass
class TilesSummary:
    """What was published: the tree size, its root, the checkpointed sizes (each with its
    partial tiles), and how many tiles and entry bundles."""

    size: int
    root: str
    sizes: list[int]
    tiles: int
    bundles: int


def _checkpoints(trail: Sequence[Path]) -> list[tuple[int, bytes, bytes]]:
    """(size, root, note bytes) of every checkpoint the trail keeps, by size (one per size:
    the first; two different roots for one size are a fork, refused)."""
    from harness_audit.trail.checkpoints import default_checkpoints
    from harness_audit.trail.note import Checkpoint, NoteError, parse_note
    from harness_audit.trail.store import trail_files

    files = trail_files(trail)
    out: dict[int, tuple[bytes, bytes]] = {}
    for path in default_checkpoints(trail, files):
        data = path.read_bytes()
        try:
            cp = Checkpoint.parse(parse_note(data).text)
        except NoteError as e:
            raise TrailError(Diagnostic(str(path), f"not a checkpoint note: {e}")) from e
        have = out.get(cp.size)
        if have is not None and have[0] != cp.root:
            raise TrailError(
                Diagnostic(str(path), f"two roots for tree size {cp.size}: a fork; verify first")
            )
        out.setdefault(cp.size, (cp.root, data))
    return sorted((s, r, d) for s, (r, d) in out.items())


def _entries(trail: Sequence[Path], limit: int) -> Iterator[list[bytes]]:
    """The entries of the first ``limit`` complete lines, in trail order, a chunk at a time."""
    from harness_audit.trail.scan import HASH_FIELD, HASH_MEMBER_LEN
    from harness_audit.trail.store import chunks, name_of, store_of, trail_files

    read_limit = ENTRY_LIMIT + HASH_MEMBER_LEN  # a longer line is refused unread

    seen = 0
    for f in trail_files(trail):
        name = name_of(f)
        store = store_of(name)
        with store.open_range(name) as fh:
            n = 0
            for _, lines, _torn in chunks(fh, 0, store.size(name), 1 << 22, read_limit):
                if seen + len(lines) > limit:
                    lines = lines[: limit - seen]
                batch = []
                for line in lines:
                    n += 1
                    if line[:1] == b"\x00":  # a line over the read limit: its length
                        _too_long(name, n, int(line[1:]) - HASH_MEMBER_LEN)
                    i = line.find(HASH_FIELD)
                    if i < 0:
                        raise TrailError(
                            Diagnostic(name, "the line has no hash member: verify the trail", n)
                        )
                    entry = line[:i] + line[i + HASH_MEMBER_LEN :]
                    if len(entry) > ENTRY_LIMIT:
                        _too_long(name, n, len(entry))
                    batch.append(entry)
                seen += len(batch)
                yield batch
                if seen == limit:
                    return
    if seen < limit:
        raise TrailError(
            Diagnostic(
                name_of(trail[0]) if trail else "trail",
                f"the trail has {seen:,} events, fewer than its checkpoint's {limit:,}: verify it",
            )
        )


def _too_long(name: str, line: int, size: int) -> None:
    raise TrailError(
        Diagnostic(
            name,
            f"an entry of {size:,} bytes (the event without its hash) is over the tiles' "
            f"{ENTRY_LIMIT:,}-byte limit (C2SP tlog-tiles entry bundles): this trail cannot "
            "be published as tiles",
            line,
        )
    )


def publish_tiles(trail: Sequence[Path], put: Callable[[str, bytes], None]) -> TilesSummary:
    """Write the tree of the trail's newest checkpoint as tiles through ``put(name, data)``
    (module doc); refuse a checkpoint whose root is not the trail's."""
    cps = _checkpoints(trail)
    if not cps:
        raise TrailError(
            Diagnostic(name_of_first(trail), "no signed checkpoint: nothing to publish")
        )
    size = cps[-1][0]
    sizes = [s for s, _, _ in cps if s > 0]
    partials = sorted(s for s in sizes if s % WIDTH)
    leaves: list[bytes] = []
    pending: list[bytes] = []  # the entries from bundle ``base // WIDTH`` on
    base = pi = bundles = 0

    def write_bundle(n: int, entries: list[bytes]) -> None:
        data = b"".join([len(e).to_bytes(2, "big") + e for e in entries])
        put(tile_path("entries", n, len(entries)), data)

    sha = hashlib.sha256
    for batch in _entries(trail, size):
        leaves.extend([sha(b"\x00" + e).digest() for e in batch])
        pending.extend(batch)
        total = len(leaves)
        while pi < len(partials) and partials[pi] <= total:  # a checkpointed size's bundle
            s = partials[pi]
            k = s // WIDTH
            write_bundle(k, pending[k * WIDTH - base : s - base])
            bundles, pi = bundles + 1, pi + 1
        done = (len(pending) // WIDTH) * WIDTH
        for i in range(0, done, WIDTH):
            write_bundle((base + i) // WIDTH, pending[i : i + WIDTH])
            bundles += 1
        del pending[:done]
        base += done
    tiles = 0
    levels: list[list[bytes]] = []
    level, hashes = 0, leaves
    while hashes:
        levels.append(hashes)
        full = len(hashes) // WIDTH
        for k in range(full):
            put(tile_path(level, k), b"".join(hashes[k * WIDTH : (k + 1) * WIDTH]))
            tiles += 1
        for count in sorted({s >> (8 * level) for s in sizes}):  # sizes may share one
            if count % WIDTH:
                k = count // WIDTH
                put(tile_path(level, k, count % WIDTH), b"".join(hashes[k * WIDTH : count]))
                tiles += 1
        hashes = [_subtree_root(hashes[k * WIDTH : (k + 1) * WIDTH]) for k in range(full)]
        level += 1
    for s, root, _ in cps:
        if _root_at(s, levels) != root:
            raise TrailError(
                Diagnostic(
                    name_of_first(trail),
                    f"the checkpoint of size {s:,} does not match the trail's tree: verify it",
                )
            )
    for s, _, data in cps:
        put(f"checkpoints/{s:020d}.checkpoint", data)
    put("checkpoint", cps[-1][2])
    return TilesSummary(size, cps[-1][1].hex(), sizes, tiles, bundles)


def name_of_first(trail: Sequence[Path]) -> str:
    """The first trail location's name, for diagnostics."""
    from harness_audit.trail.store import name_of

    return name_of(trail[0]) if trail else "trail"


def publish(trail: Sequence[Path], out: Path) -> TilesSummary:
    """``trail publish TRAIL --tiles OUT``: to a new or empty folder (built whole, then moved
    into place) or an empty ``s3://`` prefix (each object once, never over one)."""
    from harness_audit.trail.store import url_of

    url = url_of(out)
    if url is not None:
        from harness_audit.trail.s3store import S3Store

        store = S3Store(url)
        if store.objects():
            raise UsageError(
                Diagnostic(url, "is not empty: tiles are published into an empty prefix")
            )
        # the checkpoint last: a client finds the tiles of any checkpoint it can read
        held: list[tuple[str, bytes]] = []

        def put_s3(name: str, data: bytes) -> None:
            if name == "checkpoint" or name.startswith("checkpoints/"):
                held.append((name, data))
            else:
                store.put_bytes(data, name)

        summary = publish_tiles(trail, put_s3)
        for name, data in held:
            store.put_bytes(data, name)
        return summary
    from harness_audit._fs import write_folder_from

    def fill(into: Path) -> TilesSummary:
        def put_local(name: str, data: bytes) -> None:
            p = into / name
            p.parent.mkdir(parents=True, exist_ok=True)
            with p.open("xb") as f:
                f.write(data)

        into.mkdir(parents=True, exist_ok=True)
        return publish_tiles(trail, put_local)

    return write_folder_from(out, fill, list(trail))
