"""`trail publish --tiles` (issue 27, item 5): the trail's tree as C2SP tlog-tiles, checked by a
real tlog client: Go's golang.org/x/mod/sumdb/tlog and sumdb/note (Debian's golang-go and
golang-golang-x-mod-dev), built by the test into tests/tlogcheck, which knows nothing of
harness-audit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.errors import ExitCode
from harness_audit.trail.tiles import ENTRY_LIMIT, tile_path
from harness_audit.trail.writer import TrailWriter

from .trailkit import SIGNER, event, write_trail

runner = CliRunner()
GOSRC = Path("/usr/share/gocode")  # Debian's golang-golang-x-mod-dev
CHECKER = Path(__file__).parent / "tlogcheck" / "main.go"


def invoke(*args: object) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def build_checker(out: Path) -> Path:
    """tests/tlogcheck built with Debian's Go and golang.org/x/mod (skip when absent)."""
    go = shutil.which("go")
    if go is None or not (GOSRC / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        pytest.skip(
            "the Go toolchain or golang.org/x/mod is absent: "
            "apt-get install golang-go golang-golang-x-mod-dev (the README's test command does)"
        )
    src = out / "main.go"
    shutil.copy(CHECKER, src)
    env = os.environ | {
        "GO111MODULE": "off",  # Debian's packages are a GOPATH: no module proxy, no network
        "GOPATH": str(GOSRC),
        "GOCACHE": str(out / "cache"),
        "GOFLAGS": "",
        "GOTOOLCHAIN": "local",
    }
    subprocess.run(
        [go, "build", "-o", str(out / "tlogcheck"), str(src)],
        env=env,
        check=True,
        cwd=out,
        capture_output=True,
    )
    return out / "tlogcheck"


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checker(tmp_path_factory.mktemp("go"))


def check(binary: Path, tiles: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), str(tiles), SIGNER.verifier.text()], capture_output=True, text=True
    )


def test_tile_paths_are_the_specs() -> None:
    assert tile_path(0, 0) == "tile/0/000"
    assert tile_path(4, 1234067) == "tile/4/x001/x234/067"
    assert tile_path(4, 1234067, 1) == "tile/4/x001/x234/067.p/1"
    assert tile_path("entries", 1000, 7) == "tile/entries/x001/000.p/7"


def test_published_tiles_verify_with_go_sumdb_tlog(tlogcheck: Path, tmp_path: Path) -> None:
    trail = write_trail(tmp_path / "t", 700, checkpoint_every=300)
    out = tmp_path / "tiles"
    r = invoke("trail", "publish", trail, "--tiles", out)
    assert r.exit_code == 0, r.output
    ok = check(tlogcheck, out)
    assert ok.returncode == 0, ok.stderr
    # the tiles' tree is the trail's tree: the root the Go client checked is verify's
    v = json.loads(invoke("verify", trail, "--allow-unanchored", "-f", "json").stdout)
    assert f"root={v['root']}" in ok.stdout and "size=700" in ok.stdout
    # partial tiles for every checkpointed size (300, 600, 700), full tiles shared
    for name in ("tile/0/001.p/44", "tile/0/002.p/88", "tile/0/002.p/188", "tile/1/000.p/1",
                 "tile/1/000.p/2", "tile/entries/001.p/44", "tile/entries/002.p/188"):  # fmt: skip
        assert (out / name).is_file(), name
    assert (out / "checkpoint").read_bytes() == (trail / "trail.checkpoint").read_bytes()


def test_a_tampered_tile_or_entry_is_caught_by_the_go_client(
    tlogcheck: Path, tmp_path: Path
) -> None:
    trail = write_trail(tmp_path / "t", 600, checkpoint_every=300)
    out = tmp_path / "tiles"
    assert invoke("trail", "publish", trail, "--tiles", out).exit_code == 0
    assert check(tlogcheck, out).returncode == 0
    cases = {
        "tile/0/001": lambda b: b[:40] + bytes([b[40] ^ 1]) + b[41:],  # a leaf hash
        "tile/entries/000": lambda b: b.replace(b"bureau_lookup", b"bureau_lookuq", 1),
        "tile/0/002.p/88": lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # the newest size's partial
    }
    for name, change in cases.items():
        p = out / name
        good = p.read_bytes()
        p.write_bytes(change(good))
        bad = check(tlogcheck, out)
        assert bad.returncode == 1 and bad.stderr, name
        p.write_bytes(good)
    (out / "tile/0/001.p/44").unlink()  # the size-300 checkpoint's own partial tile
    gone = check(tlogcheck, out)
    assert gone.returncode == 1 and "00000000000000000300" in gone.stderr


def test_an_entry_over_65535_bytes_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        w.append(event(0))
        big = event(3) | {"rationale": "x" * (ENTRY_LIMIT + 10)}
        w.append(big)
    out = tmp_path / "tiles"
    r = invoke("trail", "publish", folder, "--tiles", out)
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "65,535-byte limit" in r.stderr and ":2" in r.stderr
    assert not out.exists()


def test_a_checkpoint_the_trail_does_not_match_is_refused(tmp_path: Path) -> None:
    trail = write_trail(tmp_path / "t", 20)
    seg = next(trail.glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes().replace(b"bureau_lookup", b"bureau_lookuq", 1))
    r = invoke("trail", "publish", trail, "--tiles", tmp_path / "tiles")
    assert r.exit_code == ExitCode.USAGE and "does not match the trail's tree" in r.stderr


def test_roots_from_the_tile_levels_are_the_trees() -> None:
    """The publisher checks each checkpoint against roots folded from the tile levels."""
    import hashlib

    from harness_audit.trail.merkle import CompactTree
    from harness_audit.trail.tiles import WIDTH, _root_at, _subtree_root

    n = 66_000  # past 256^2: three levels
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]
    levels, hashes = [], leaves
    while hashes:
        levels.append(hashes)
        full = len(hashes) // WIDTH
        hashes = [_subtree_root(hashes[k * WIDTH : (k + 1) * WIDTH]) for k in range(full)]
    want = {1, 2, 3, 255, 256, 257, 511, 4097, 65_535, 65_536, 65_537, n}
    tree, roots = CompactTree(), {}
    for i, leaf in enumerate(leaves, 1):
        tree.push(leaf)
        if i in want:
            roots[i] = tree.root()
    assert {s: _root_at(s, levels) for s in want} == roots


def test_the_compiled_core_cuts_and_hashes_entries_as_python_does() -> None:
    """``tile_window``/``tile_nodes`` (the compiled core's bulk path for publishing) give the
    leaves, bundle bytes, entry ends and inner nodes Python gives, read in place from a window
    of a buffer, at most ``limit`` lines, and hand back (None) every window with a line Python
    must report on (no hash member, one cut short, an entry over the limit)."""
    import hashlib

    cv = pytest.importorskip("harness_audit.trail._cverify")
    from harness_audit.trail.scan import HASH_FIELD, HASH_MEMBER_LEN
    from harness_audit.trail.tiles import _entries_py

    member = HASH_FIELD + b"a" * 64 + b'"'
    lines = [
        b'{"a":1' + member + b"}",
        member + b'{"x":2}',  # the member first
        b'{"d":{"k":"v"' + member + b"}" + member + b"}",  # the first occurrence is cut
        b'{"s":"' + b"\xc3\xa9" * 300 + b'"' + member + b"}",
        b"," + member,
    ]

    def python(ls: list[bytes]) -> tuple[bytes, bytes, list[int]]:
        es = []
        for x in ls:
            i = x.find(HASH_FIELD)
            es.append(x[:i] + x[i + HASH_MEMBER_LEN :])
        ends, at = [], 0
        for e in es:
            at += 2 + len(e)
            ends.append(at)
        return (
            b"".join(hashlib.sha256(b"\x00" + e).digest() for e in es),
            b"".join(len(e).to_bytes(2, "big") + e for e in es),
            ends,
        )

    def window(ls: list[bytes], limit: int = 1000) -> Any:
        # the lines inside a buffer with bytes either side that are not theirs
        buf = bytearray(b"torn\n" + b"".join(x + b"\n" for x in ls) + b'{"rest')
        got = cv.tile_window(buf, 5, len(buf) - 6, limit)
        if got is None:
            return None
        n, leaves, framed, ends = got
        return n, (leaves, framed, memoryview(ends).cast("Q").tolist())

    assert window(lines) == (len(lines), python(lines))
    assert window(lines) == (len(lines), _entries_py("t", 0, b"".join(x + b"\n" for x in lines), 9))
    assert window(lines, 3) == (3, python(lines[:3]))
    assert window(lines, 0) == (0, (b"", b"", []))
    assert window([]) == (0, (b"", b"", []))
    for bad in (
        b'{"a":1}',  # no hash member
        b'{"a":1' + member[:-1],  # a member cut short by the line's end
        b"\x0070000",  # a marker of an over-long line
        b'{"r":"' + b"x" * ENTRY_LIMIT + b'"' + member + b"}",  # entry over the limit
    ):
        assert window([*lines, bad]) is None, bad[:20]
        assert window([*lines, bad], len(lines)) == (len(lines), python(lines))  # not reached
    with pytest.raises(TypeError):
        cv.tile_window("text", 0, 4, 1)
    with pytest.raises(ValueError):
        cv.tile_window(b"abc\n", 0, 5, 1)
    level = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(8))
    nodes = b"".join(
        hashlib.sha256(b"\x01" + level[i : i + 64]).digest() for i in range(0, len(level), 64)
    )
    assert cv.tile_nodes(level) == nodes and cv.tile_nodes(b"") == b""
    with pytest.raises(ValueError):
        cv.tile_nodes(level[:-32])


def test_both_cores_publish_the_same_tiles(tmp_path: Path) -> None:
    """The compiled core's bulk path and the pure core's write the same files, byte for byte."""
    from harness_audit.trail import _core

    if not _core.available():
        pytest.skip("the compiled core is not built")
    trail = write_trail(tmp_path / "t", 1300, checkpoint_every=500)
    outs = {}
    for core in ("c", "python"):
        out = tmp_path / f"tiles-{core}"
        with _core.using(core):
            assert invoke("trail", "publish", trail, "--tiles", out).exit_code == 0
        outs[core] = {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }
    assert outs["c"] == outs["python"] and "tile/entries/005.p/20" in outs["c"]


@pytest.mark.parametrize("window", [300, 700, 5000])
def test_windows_of_any_size_publish_the_same_tiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """Entry bundles cut across the reader's windows (a window of under one line, of a few
    lines, of more than a bundle) are the same bytes as from one window; a line over the limit
    that crosses windows is refused naming its line."""
    from harness_audit.trail import _core, tiles

    trail = write_trail(tmp_path / "t", 1300, checkpoint_every=500)
    want = tmp_path / "want"
    assert invoke("trail", "publish", trail, "--tiles", want).exit_code == 0
    files = {p.relative_to(want).as_posix(): p.read_bytes() for p in want.rglob("*") if p.is_file()}
    monkeypatch.setattr(tiles, "WINDOW", window)
    for core in ("c", "python") if _core.available() else ("python",):
        out = tmp_path / f"tiles-{core}"
        with _core.using(core):
            assert invoke("trail", "publish", trail, "--tiles", out).exit_code == 0
        got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert got == files, core
    folder = tmp_path / "big"
    with TrailWriter(folder, "harness-audit/test", SIGNER) as w:
        w.append(event(0))
        w.append(event(3) | {"rationale": "x" * (ENTRY_LIMIT + 10)})
    r = invoke("trail", "publish", folder, "--tiles", tmp_path / "big-tiles")
    assert r.exit_code == ExitCode.USAGE and "65,535-byte limit" in r.stderr and ":2" in r.stderr
