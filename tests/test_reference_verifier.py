"""The reference verifier, ``docs/verify-trail.py`` (issue 26, item 4), against ``harness-audit
verify``: on the bundled samples and on trails the tool writes, intact and tampered with, its
verdict (exit 0, or not) is the tool's. It is run as a reader would run it, in a subprocess.

Both follow issue 23's rules (items 1 and 4): a line over 1 MiB fails wherever it falls, and a
checkpoint of the empty tree anchors nothing.
"""

from __future__ import annotations

import ast
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.trail.canonical import canonicalize
from harness_audit.trail.merkle import EMPTY_ROOT, leaf_hash, root
from harness_audit.trail.note import Checkpoint, Signer, sign_note
from harness_audit.trail.sealer import seal_file
from harness_audit.trail.writer import TrailWriter

from .conftest import ROOT, SAMPLES
from .trailkit import OTHER, SIGNER, event, pub, write_trail

REFERENCE = ROOT / "docs" / "verify-trail.py"
ORIGIN = "harness-audit/test"
runner = CliRunner()

Case = Callable[[Path], tuple[Path, Path]]
"""Builds a trail under a temporary folder: (the trail, the verifier key file)."""


def reference(trail: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """``python3 docs/verify-trail.py TRAIL --key KEY`` as a reader runs it."""
    return subprocess.run(
        [sys.executable, str(REFERENCE), str(trail), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def tool(trail: Path, key: Path) -> int:
    """``harness-audit verify TRAIL --key KEY``'s exit code."""
    return runner.invoke(app, ["verify", str(trail), "--key", str(key)]).exit_code


def assert_same(trail: Path, key: Path) -> bool:
    """Both verdicts, asserted equal (and each a verdict, not a crash); True when verified."""
    ref, ours = reference(trail, key), tool(trail, key)
    assert ref.returncode in (0, 1), ref.stdout + ref.stderr
    assert ours in (0, 1)
    assert (ref.returncode == 0) == (ours == 0), (ref.stdout + ref.stderr, ours)
    assert ref.stdout.startswith("VERIFIED:" if ref.returncode == 0 else "NOT VERIFIED:")
    return ours == 0


# -- trails the tool writes, and their tampered copies ------------------------------------


def written(tmp: Path, n: int = 40, every: int = 10, **kw: int) -> tuple[Path, Path]:
    """A trail folder written by TrailWriter, a checkpoint every ``every`` events (history)."""
    return write_trail(tmp / "t", n, checkpoint_every=every, **kw), Path(pub(tmp))


def segment_of(trail: Path) -> Path:
    return sorted(trail.glob("*.jsonl"))[0]


def edit_lines(trail: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    seg = segment_of(trail)
    seg.write_bytes(b"".join(x + b"\n" for x in change(seg.read_bytes().splitlines())))


def sealed_line(body: dict[str, object]) -> tuple[bytes, str]:
    """An event's line and hash, chained as the format says (independently of the writer)."""
    digest = leaf_hash(canonicalize(body)).hex()
    return canonicalize({**body, "hash": digest}), digest


def rechain(lines: list[bytes]) -> list[bytes]:
    """Every event hashed and chained again: what a forger with write access can do."""
    out, prev = [], "0" * 64
    for i, raw in enumerate(lines):
        body = {k: v for k, v in json.loads(raw).items() if k != "hash"} | {"seq": i, "prev": prev}
        line, prev = sealed_line(body)
        out.append(line)
    return out


def hand_trail(tmp: Path, events: list[dict[str, object]], signer: Signer = SIGNER) -> Path:
    """A trail folder made without the writer: the events sealed, and one signed checkpoint."""
    folder, lines, leaves, prev = tmp / "t", [], [], "0" * 64
    folder.mkdir()
    for i, ev in enumerate(events):
        line, prev = sealed_line({**ev, "v": 1, "seq": i, "prev": prev, "span": f"s{i}"})
        lines.append(line + b"\n")
        leaves.append(bytes.fromhex(prev))
    (folder / "trail-000001.jsonl").write_bytes(b"".join(lines))
    note = sign_note(Checkpoint(ORIGIN, len(leaves), root(leaves)).text(), [signer])
    (folder / "trail.checkpoint").write_text(note, encoding="utf-8")
    return folder


def sample(name: str, key_of: str | None = None) -> Case:
    return lambda tmp: (SAMPLES / name / "trails", SAMPLES / (key_of or name) / "keys/trail.pub")


def tampered(change: Callable[[Path], None], **kw: int) -> Case:
    def build(tmp: Path) -> tuple[Path, Path]:
        trail, key = written(tmp, **kw)
        change(trail)
        return trail, key

    return build


def _sealed_file(tmp: Path) -> tuple[Path, Path]:
    source = tmp / "plain.jsonl"
    source.write_text("".join(json.dumps(event(i)) + "\n" for i in range(12)))
    seal_file(source, tmp / "sealed.jsonl", SIGNER, ORIGIN)
    return tmp / "sealed.jsonl", Path(pub(tmp))


def _unanchored_tail(tmp: Path) -> tuple[Path, Path]:
    trail, key = written(tmp, 20)
    with TrailWriter(trail, ORIGIN, None) as w:  # resumes the chain, signs nothing
        for i in range(20, 25):
            w.append(event(i))
    return trail, key


def _over_long_line(tmp: Path) -> tuple[Path, Path]:
    events = [event(i) for i in range(3)]
    events[1]["x_blob"] = "a" * (2 << 20)  # one event line of 2 MiB, inside one read chunk
    return hand_trail(tmp, events), Path(pub(tmp))


def _size_zero_only(trail: Path) -> None:
    shutil.rmtree(trail / "checkpoints")
    note = sign_note(Checkpoint(ORIGIN, 0, EMPTY_ROOT).text(), [SIGNER])
    (trail / "trail.checkpoint").write_text(note, encoding="utf-8")


def _foreign_checkpoint(trail: Path) -> None:
    note = sign_note(Checkpoint(ORIGIN, 40, EMPTY_ROOT).text(), [OTHER])
    (trail / "other.checkpoint").write_text(note, encoding="utf-8")


def _torn(trail: Path) -> None:
    with segment_of(trail).open("ab") as f:  # a write cut off: no newline at the very end
        f.write(b'{"agent":"torn"')


def replace(line: int, old: bytes, new: bytes) -> Callable[[Path], None]:
    def change(trail: Path) -> None:
        def one(lines: list[bytes]) -> list[bytes]:
            assert old in lines[line]
            lines[line] = lines[line].replace(old, new, 1)
            return lines

        edit_lines(trail, one)

    return change


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _rewrite(lines: list[bytes]) -> list[bytes]:
    lines[3] = lines[3].replace(b'"approve"', b'"deny"')
    return rechain(lines)


def _wrong_key(tmp: Path) -> tuple[Path, Path]:
    trail, _ = written(tmp)
    return trail, Path(pub(tmp, OTHER))


CASES: list[object] = [
    pytest.param(sample("support-refunds"), True, id="sample-support-refunds"),
    pytest.param(sample("loan-assessment-hardened"), True, id="sample-hardened"),
    pytest.param(sample("loan-assessment", "support-refunds"), False, id="sample-no-checkpoint"),
    pytest.param(sample("research-crew", "support-refunds"), False, id="sample-hash-chain-only"),
    pytest.param(
        sample("support-refunds", "loan-assessment-hardened"), False, id="sample-wrong-key"
    ),
    pytest.param(lambda tmp: written(tmp), True, id="written-with-history"),
    pytest.param(lambda tmp: written(tmp, 60, segment_bytes=4000), True, id="written-segments"),
    pytest.param(_sealed_file, True, id="trail-seal-file"),
    pytest.param(_unanchored_tail, True, id="unanchored-tail"),
    pytest.param(tampered(_torn), True, id="torn-last-line"),
    pytest.param(
        tampered(replace(1, b"bureau_lookup", b"bureau_lookuq")), False, id="changed-byte"
    ),
    pytest.param(tampered(replace(4, b":1500,", b":1501,")), False, id="changed-digit"),
    pytest.param(
        tampered(lambda t: edit_lines(t, lambda x: x[:7] + x[8:])), False, id="deleted-line"
    ),
    pytest.param(
        tampered(lambda t: edit_lines(t, lambda x: x[:-1])), False, id="deleted-last-line"
    ),
    pytest.param(
        tampered(lambda t: edit_lines(t, lambda x: [*x[:4], x[5], x[4], *x[6:]])),
        False,
        id="reordered-lines",
    ),
    pytest.param(
        tampered(lambda t: edit_lines(t, lambda x: [x[0].replace(b",", b", ", 1), *x[1:]])),
        False,
        id="not-canonical",
    ),
    pytest.param(
        tampered(lambda t: edit_lines(t, _rewrite)), False, id="history-rewritten-rechained"
    ),
    pytest.param(
        tampered(lambda t: _truncate(t / "trail.checkpoint")), False, id="truncated-checkpoint"
    ),
    pytest.param(tampered(_foreign_checkpoint), False, id="checkpoint-by-another-key"),
    pytest.param(_wrong_key, False, id="wrong-key"),
    pytest.param(
        tampered(_size_zero_only),
        False,
        id="checkpoint-of-size-0",
    ),
    pytest.param(
        _over_long_line,
        False,
        id="line-over-1-MiB",
    ),
]


@pytest.mark.parametrize(("build", "verified"), CASES)
def test_reference_verdict_is_the_tools(tmp_path: Path, build: Case, verified: bool) -> None:
    trail, key = build(tmp_path)
    assert assert_same(trail, key) is verified


def test_random_byte_changes_get_the_same_verdict(tmp_path: Path) -> None:
    """Seeded single-byte changes anywhere in a segment or its newest checkpoint."""
    trail, key = written(tmp_path / "base", 12, 4)
    rnd = random.Random(26)
    for i in range(8):
        copy = tmp_path / f"c{i}"
        shutil.copytree(trail, copy)
        target = segment_of(copy) if i % 4 else copy / "trail.checkpoint"
        data = bytearray(target.read_bytes())
        at = rnd.randrange(len(data))
        data[at] = rnd.choice([b for b in b'0123456789abcdefz ",:{}' if b != data[at]])
        target.write_bytes(bytes(data))
        assert_same(copy, key)


def test_usage_errors_exit_2_as_the_tool_does(tmp_path: Path) -> None:
    trail, key = written(tmp_path)
    private = tmp_path / "k.key"
    private.write_text(SIGNER.text() + "\n")
    for args in ((tmp_path / "nope", key), (trail, tmp_path / "none.pub"), (trail, private)):
        assert reference(*args).returncode == 2 == tool(*args)


def test_reference_verifier_is_small_and_self_contained() -> None:
    """Under 200 lines, the standard library and ``cryptography`` only (issue 26, item 4)."""
    text = REFERENCE.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}
