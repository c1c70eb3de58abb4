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
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness_audit.errors import Diagnostic, TrailError, UsageError

__all__ = ["ENTRY_LIMIT", "TilesSummary", "publish_tiles", "tile_path"]

WIDTH = 256
WINDOW = 1 << 22
"""The bytes of trail read at a time (into one buffer: :func:`.store.windows`)."""
ENTRY_LIMIT = 0xFFFF
"""The longest entry an entry bundle holds (a 16-bit length)."""

Data = bytes | memoryview
"""A tile's or bundle's bytes as handed to ``put`` (a view of a window's bytes: no copy)."""


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


def _entries(trail: Sequence[Path], limit: int) -> Iterator[tuple[bytes, bytes, Sequence[int]]]:
    """The entries of the first ``limit`` complete lines, in trail order, a window at a time:
    (their leaves, 32 bytes each; their bundle bytes, each a big-endian 16-bit length and the
    entry; where each entry ends in the bundle bytes). The compiled core takes a window of the
    reader's buffer in one call, in place (``tile_window``), when every line has its hash
    member; otherwise, or without the core, Python does the same per line and reports the line
    that has none."""
    from harness_audit.trail import _core
    from harness_audit.trail.scan import HASH_MEMBER_LEN
    from harness_audit.trail.store import name_of, store_of, trail_files, windows

    read_limit = ENTRY_LIMIT + HASH_MEMBER_LEN  # a longer line is refused
    bulk = getattr(_core.core(), "tile_window", None)
    seen = 0
    for f in trail_files(trail):
        name = name_of(f)
        store = store_of(name)
        with store.open_range(name) as fh:
            n = 0  # lines of this file so far
            for buf, a, b, size, _torn in windows(fh, 0, store.size(name), WINDOW, read_limit):
                if not size and a < b:  # a line over the read limit, across windows: a marker
                    _too_long(name, n + 1, int(buf[1 : b - 1]) - HASH_MEMBER_LEN)
                done = bulk(buf, a, b, limit - seen) if bulk is not None else None
                if done is not None:
                    count, leaves, framed, raw = done
                    ends: Sequence[int] = memoryview(raw).cast("Q")
                else:
                    leaves, framed, ends = _entries_py(name, n, buf[a:b], limit - seen)
                    count = len(ends)
                n += count
                seen += count
                yield leaves, framed, ends
                if seen == limit:
                    return
    if seen < limit:
        raise TrailError(
            Diagnostic(
                name_of(trail[0]) if trail else "trail",
                f"the trail has {seen:,} events, fewer than its checkpoint's {limit:,}: verify it",
            )
        )


def _entries_py(name: str, n: int, data: bytes, limit: int) -> tuple[bytes, bytes, list[int]]:
    """``tile_window`` in Python, for the first ``limit`` complete lines of ``data`` (lines
    ``n + 1`` on of the file ``name``); the line it cannot take is reported."""
    from itertools import accumulate

    from harness_audit.trail.scan import HASH_FIELD, HASH_MEMBER_LEN

    batch = []
    for line in bytes(data).split(b"\n")[:-1][:limit]:
        n += 1
        if len(line) > ENTRY_LIMIT + HASH_MEMBER_LEN:
            _too_long(name, n, len(line) - HASH_MEMBER_LEN)
        i = line.find(HASH_FIELD)
        if i < 0:
            raise TrailError(Diagnostic(name, "the line has no hash member: verify the trail", n))
        entry = line[:i] + line[i + HASH_MEMBER_LEN :]
        if len(entry) > ENTRY_LIMIT:
            _too_long(name, n, len(entry))
        batch.append(entry)
    sha = hashlib.sha256
    return (
        b"".join([sha(b"\x00" + e).digest() for e in batch]),
        b"".join([len(e).to_bytes(2, "big") + e for e in batch]),
        list(accumulate(len(e) + 2 for e in batch)),
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


def _pairs(level: bytes) -> bytes:
    """The inner node of each pair of 32-byte hashes (the compiled core's ``tile_nodes`` in
    one call, or Python per pair)."""
    from harness_audit.trail import _core

    bulk = getattr(_core.core(), "tile_nodes", None)
    if bulk is not None:
        out: bytes = bulk(level)
        return out
    sha = hashlib.sha256
    return b"".join([sha(b"\x01" + level[i : i + 64]).digest() for i in range(0, len(level), 64)])


class _Hashes:
    """A level's hashes held as one bytes object (32 each), sliced into lists of hashes."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def __len__(self) -> int:
        return len(self.blob) // 32

    def __getitem__(self, at: slice) -> list[bytes]:
        start, stop, _ = at.indices(len(self))
        b = self.blob
        return [b[i : i + 32] for i in range(32 * start, 32 * stop, 32)]


class _Bundles:
    """The entry bundles of the entries read a window at a time: each full one, and the
    partial one of each checkpointed size (``partials``, ascending) once read."""

    def __init__(self, partials: list[int]) -> None:
        self.partials = partials
        self.carry = b""  # the bundle bytes of the open bundle's entries read so far
        self.carry_ends: list[int] = []  # where each ends in them
        self.done = 0  # entries read
        self.written = 0

    def feed(self, framed: bytes, ends: Sequence[int]) -> Iterator[tuple[str, Data]]:
        """The bundles complete (or partial at a checkpointed size) once a window's entries
        (``framed``, each ending at ``ends``) are read: views of ``framed`` when it holds a
        bundle's bytes, without a copy."""
        view, done, carry = memoryview(framed), self.done, self.carry
        first = done - len(self.carry_ends)  # the open bundle's first entry
        total = done + len(ends)

        def span(j: int, stop: int) -> Data:  # entries [j, stop): j is first, or read now
            end = ends[stop - done - 1]
            if j < done:
                return carry + view[:end]
            return view[(ends[j - done - 1] if j > done else 0) : end]

        cuts = [s for s in self.partials if done < s <= total]
        cuts += range(first + WIDTH, total + 1, WIDTH)
        for s in cuts:
            k = (s - 1) // WIDTH
            self.written += 1
            yield tile_path("entries", k, s - k * WIDTH), span(k * WIDTH, s)
        last = total - total % WIDTH  # the next open bundle's first entry
        if last >= done:
            at = ends[last - done - 1] if last > done else 0
            self.carry, self.carry_ends = bytes(view[at:]), [e - at for e in ends[last - done :]]
        else:
            at = len(carry)
            self.carry, self.carry_ends = carry + framed, self.carry_ends + [at + e for e in ends]
        self.done = total


def publish_tiles(trail: Sequence[Path], put: Callable[[str, Data], None]) -> TilesSummary:
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
    leaves = bytearray()
    bundles = _Bundles(partials)
    for batch_leaves, framed, ends in _entries(trail, size):
        leaves += batch_leaves
        for name, data in bundles.feed(framed, ends):
            put(name, data)
    tiles = 0
    levels: list[_Hashes] = []
    level, hashes = 0, bytes(leaves)
    del leaves
    tile = 32 * WIDTH
    while hashes:
        levels.append(_Hashes(hashes))
        full = len(hashes) // tile
        whole = memoryview(hashes)
        for k in range(full):
            put(tile_path(level, k), whole[k * tile : (k + 1) * tile])
            tiles += 1
        for count in sorted({s >> (8 * level) for s in sizes}):  # sizes may share one
            if count % WIDTH:
                k = count // WIDTH
                put(tile_path(level, k, count % WIDTH), whole[k * tile : 32 * count])
                tiles += 1
        hashes = hashes[: full * tile]  # each full tile's root: 8 levels of pairs up
        for _ in range(8):
            hashes = _pairs(hashes)
        level += 1
    for s, root, _ in cps:
        if _root_at(s, levels) != root:  # type: ignore[arg-type]
            raise TrailError(
                Diagnostic(
                    name_of_first(trail),
                    f"the checkpoint of size {s:,} does not match the trail's tree: verify it",
                )
            )
    for s, _, data in cps:
        put(f"checkpoints/{s:020d}.checkpoint", data)
    put("checkpoint", cps[-1][2])
    return TilesSummary(size, cps[-1][1].hex(), sizes, tiles, bundles.written)


WRITERS = 4
"""Threads writing tiles and bundles: creating a file (or putting an object) mostly waits
(on the file system's journal, on the network), and the waits overlap with the hashing."""

AHEAD = 64
"""Writes queued at most (each a tile of 8 KiB or a bundle of up to 16 MiB)."""


class _Parallel:
    """``put`` run by :data:`WRITERS` threads, at most :data:`AHEAD` writes queued; leaving
    the block waits for every write and raises the first one's error (none is lost)."""

    def __init__(self, put: Callable[[str, Data], None]) -> None:
        self._put = put
        self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="tiles")
        self._room = threading.BoundedSemaphore(AHEAD)
        self._errors: list[BaseException] = []

    def _done(self, fut: Future[None]) -> None:
        self._room.release()
        e = fut.exception()
        if e is not None:
            self._errors.append(e)

    def __call__(self, name: str, data: Data) -> None:
        if self._errors:
            raise self._errors[0]
        self._room.acquire()
        self._pool.submit(self._put, name, data).add_done_callback(self._done)

    def __enter__(self) -> _Parallel:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
        if self._errors and exc[0] is None:
            raise self._errors[0]


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

        def put_s3(name: str, data: Data) -> None:
            if name == "checkpoint" or name.startswith("checkpoints/"):
                held.append((name, bytes(data)))
            else:
                store.put_bytes(bytes(data), name)

        with _Parallel(put_s3) as put:
            summary = publish_tiles(trail, put)
        for name, data in held:  # after every tile and bundle is in place
            store.put_bytes(data, name)
        return summary
    from harness_audit._fs import write_folder_from

    def fill(into: Path) -> TilesSummary:
        made: set[str] = set()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)

        def put_local(name: str, data: Data) -> None:
            path = os.path.join(into, name)
            parent = os.path.dirname(path)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            fd = os.open(path, flags, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)

        into.mkdir(parents=True, exist_ok=True)
        with _Parallel(put_local) as put:
            return publish_tiles(trail, put)

    return write_folder_from(out, fill, list(trail))
