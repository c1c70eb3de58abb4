#!/usr/bin/env python3
"""Reference verifier for harness-audit trails, format v1 (docs/trail.md, "A verifier to audit").

Usage: python3 docs/verify-trail.py TRAIL --key KEY.pub. TRAIL: a folder of segments (*.jsonl,
in name order) or a segment file; KEY.pub: verifier keys, one a line. Exit 0 verified, 1 not,
2 cannot run as asked. It needs Python 3.11 and the `cryptography` package, nothing else.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_LINE = MAX_NOTE = 1 << 20  # bytes: an event line without its newline; a checkpoint file
MAX_DEPTH, MAX_INT = 64, 2**53 - 1  # nesting in an event; integers exact in every JSON reader
DASH, NAME = "\u2014 ", re.compile(r"[^\s+]+")  # C2SP signed-note: signature line, key name
Keys = dict[tuple[str, bytes], Ed25519PublicKey]  # by (key name, 4-byte key id)


class Fail(Exception):
    """Not verified (exit 1); the arguments say where and why."""

    def __str__(self) -> str:
        return ": ".join(map(str, self.args))


class Usage(Fail):
    """Cannot run as asked (exit 2)."""


def canonical(value: object, depth: int = 0) -> str:
    """RFC 8785 (JCS) of what an event may hold: no float; keys sorted by UTF-16 code units."""
    if depth > MAX_DEPTH or isinstance(value, float):
        raise ValueError(f"a float, or nested more than {MAX_DEPTH} deep")
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        items = (f"{canonical(k)}:{canonical(value[k], depth + 1)}" for k in keys)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v, depth + 1) for v in value) + "]"
    if type(value) is int and abs(value) > MAX_INT:
        raise ValueError("an integer beyond 2^53 - 1")
    return json.dumps(value, ensure_ascii=False)  # escapes strings exactly as JCS does


def leaf(where: str, line: bytes, seq: int, prev: str) -> bytes:
    """Check a line as event ``seq`` after ``prev``; return its hash (RFC 9162 leaf hash)."""
    try:  # a key twice, NaN or whitespace make the line differ from its canonical form
        event = json.loads(line)
        if not isinstance(event, dict) or canonical(event).encode() != line:
            raise ValueError("not an object in RFC 8785 canonical form")
        body = {k: v for k, v in event.items() if k != "hash"}
        digest = sha256(b"\x00" + canonical(body).encode()).digest()  # HASH(0x00 || data)
    except (ValueError, RecursionError) as e:  # UnicodeError is a ValueError
        raise Fail(where, f"not an event: {e}") from None
    v, n = event.get("v"), event.get("seq")
    if type(v) is not int or v != 1 or type(n) is not int or n != seq:
        raise Fail(where, f"v is not 1 or seq is not {seq}: an event is missing or moved")
    if event.get("prev") != prev:
        raise Fail(where, "prev is not the hash of the event before: one was inserted or moved")
    if event.get("hash") != digest.hex():
        raise Fail(where, "hash does not match the event: it was changed")
    return digest


def load_keys(files: list[str]) -> Keys:
    """Verifier keys <name>+<hex key id>+<base64(0x01 || Ed25519 key)>, one a line, by id."""
    keys: Keys = {}
    for file in files:
        for line in (x.strip() for x in Path(file).read_text().splitlines()):
            if not line or line[0] == "#":
                continue
            name, _, rest = line.partition("+")
            hex_id, _, key = rest.partition("+")
            raw = base64.b64decode(key, validate=True)
            if not NAME.fullmatch(name) or len(raw) != 33 or raw[0] != 1:
                raise Usage(file, "not an Ed25519 verifier key <name>+<id>+<key>")
            if sha256(name.encode() + b"\n" + raw).digest()[:4].hex() != hex_id:  # C2SP
                raise Usage(file, f"the key id {hex_id[:8]} is not that of the name and key")
            keys[(name, bytes.fromhex(hex_id))] = Ed25519PublicKey.from_public_bytes(raw[1:])
    if not keys:
        raise Usage(", ".join(files), "no key")
    return keys


def checkpoint(path: Path, keys: Keys) -> tuple[str, int, bytes]:
    """A C2SP tlog-checkpoint signed note: (origin, size, root). Signatures by other keys are
    ignored; each by a given key must verify, and there must be one."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_NOTE:
            raise ValueError("not a regular file of at most 1 MiB")
        text, blank, block = path.read_bytes().decode().rpartition("\n\n")
        text, signed, sigs = text + "\n", False, block[:-1].split("\n")  # text: what is signed
        if not blank or block[-1:] != "\n" or len(sigs) > 100 or re.search("[\0-\t\v-\x1f]", text):
            raise ValueError("not a signed note: text, a blank line, signature lines")
        for sig in sigs:
            name, _, blob = sig[len(DASH) :].partition(" ")
            raw = base64.b64decode(blob, validate=True)
            if not sig.startswith(DASH) or not NAME.fullmatch(name) or len(raw) < 5:
                raise ValueError("a malformed signature line")
            if (name, raw[:4]) in keys:  # C2SP signed-note: a signature by another is ignored
                keys[name, raw[:4]].verify(raw[4:], text.encode())
                signed = True
        lines = text.split("\n")[:-1]  # origin, size, root hash, then extension lines (opaque)
        origin, size, root, *extensions = lines if len(lines) >= 3 else ["", "", ""]
        digest = base64.b64decode(root, validate=True)
        if not origin or not re.fullmatch("0|[1-9][0-9]{0,19}", size) or len(digest) != 32:
            raise ValueError("not a checkpoint: origin, size, root hash")
        if "" in extensions or not signed:
            raise ValueError("an empty extension line" if signed else "no signature by a given key")
    except (OSError, ValueError) as e:
        raise Fail(path, e) from None
    except InvalidSignature:
        raise Fail(path, "a signature by a given key does not verify") from None
    return origin, int(size), digest


def lines(segments: list[Path]) -> Iterator[tuple[str, bytes]]:
    """("file:line", line) in order; a torn last line (a write cut off, resumed after) is none."""
    for i, segment in enumerate(segments):
        with segment.open("rb") as f:
            for number, line in enumerate(iter(lambda: f.readline(MAX_LINE + 1), b""), 1):
                if line[-1:] != b"\n" and (len(line) > MAX_LINE or i < len(segments) - 1):
                    raise Fail(f"{segment}:{number}", f"no newline, or over {MAX_LINE:,} bytes")
                if line[-1:] == b"\n":  # else the very end of the trail, within the limit
                    yield f"{segment}:{number}", line[:-1]


def root(stack: list[tuple[int, bytes]]) -> bytes:
    """RFC 9162 MTH of the leaves so far: the perfect subtrees' roots, joined right to left."""
    node = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        node = sha256(b"\x01" + left + node).digest()
    return node


def verify(trail: Path, keys: Keys) -> str:
    """What was verified; raises Fail when it is not."""
    folder = [trail, trail / "checkpoints"] if trail.is_dir() else []  # and its history
    segments = sorted(x for x in trail.glob("*.jsonl") if x.is_file()) if folder else [trail]
    if not segments or not segments[0].is_file():
        raise Usage(trail, "no trail segment (a file, or a folder of *.jsonl) there")
    notes = [x for d in folder if d.is_dir() for x in sorted(d.glob("*.checkpoint"))]
    notes += [c for s in segments if (c := s.with_name(s.name + ".checkpoint")).is_file()]
    signed: dict[int, tuple[bytes, Path]] = {}  # size -> (root, its checkpoint)
    origins = set()
    for note in notes:
        origin, size, digest = checkpoint(note, keys)
        origins.add(origin)
        if signed.setdefault(size, (digest, note))[0] != digest or len(origins) > 1:
            raise Fail(note, "a fork: another checkpoint of its size or origin disagrees")
    stack: list[tuple[int, bytes]] = []  # (height, root) of the perfect subtrees, left to right
    roots, prev, size = {0: sha256().digest()}, "0" * 64, 0  # the empty tree; the first prev
    for where, line in lines(segments):
        node, height = leaf(where, line, size, prev), 0
        prev, size = node.hex(), size + 1
        while stack and stack[-1][0] == height:  # two subtrees of one height: their parent
            node, height = sha256(b"\x01" + stack.pop()[1] + node).digest(), height + 1
        stack.append((height, node))
        if size in signed:
            roots[size] = root(stack)
    for n, (digest, note) in sorted(signed.items()):
        if n > size or roots[n] != digest:  # the trail was cut, or rewritten
            raise Fail(note, f"it signs a tree of {n:,} events the trail ({size:,}) does not hold")
    anchor = max(signed, default=0)  # the empty tree's checkpoint anchors nothing
    if not anchor:
        raise Fail(trail, f"{size:,} events, but no checkpoint by a given key anchors them")
    tail = f"; {size - anchor:,} after it are NOT anchored" if size > anchor else ""
    return f"{size:,} events, the first {anchor:,} anchored by {signed[anchor][1]}{tail}"


def main(argv: list[str] | None = None) -> int:
    """The command line: exit 0 verified, 1 not verified, 2 cannot run as asked."""
    parser = argparse.ArgumentParser(description="Verify a harness-audit trail (format v1).")
    parser.add_argument("trail", type=Path, help="a trail folder or one segment file")
    parser.add_argument("--key", action="append", required=True, help="a file of verifier keys")
    args = parser.parse_args(argv)
    try:
        print("VERIFIED:", verify(args.trail, load_keys(args.key)))
    except (Usage, OSError, ValueError) as e:  # a key, or a trail, that cannot be read
        print("error:", e, file=sys.stderr)
        return 2
    except Fail as e:
        print("NOT VERIFIED:", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
