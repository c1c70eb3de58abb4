"""Issue 13.3 (trail part): keys, checkpoints, proofs and trail lines are read bounded and
confined, and errors never echo what a file holds."""

from __future__ import annotations

import os
import signal
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness_audit.errors import HarnessAuditError, TrailError
from harness_audit.trail.badline import MAX_LINE
from harness_audit.trail.note import NoteError, Signer, Verifier, load_verifiers
from harness_audit.trail.proofs import read_proof
from harness_audit.trail.reader import ReadStats, read_decoded
from harness_audit.trail.verify import verify_trail

from .trailkit import SIGNER, write_trail

V = [SIGNER.verifier]
SECRET = "hunter2-do-not-print"


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A read that blocks (a FIFO) fails the test instead of hanging it."""

    def fire(*_: object) -> None:
        raise TimeoutError("a read blocked")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_fifo_checkpoint_in_the_trail_folder_is_reported_not_waited_for(tmp_path: Path) -> None:
    """Old code: opening the FIFO blocked for ever."""
    t = write_trail(tmp_path / "t", 5)
    os.mkfifo(t / "evil.checkpoint")
    r = verify_trail([t], V)
    evil = [p for p in r.problems if p.file.endswith("evil.checkpoint")]
    assert evil and "not a regular file" in evil[0].detail and not evil[0].warning
    assert r.status == "failed" and r.anchor and r.anchor.size == 5


def test_a_checkpoint_linked_to_dev_zero_is_refused(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 5)
    (t / "checkpoints" / "00000000000000000009.checkpoint").symlink_to("/dev/zero")
    r = verify_trail([t], V)
    assert any("not a regular file" in p.detail for p in r.problems)


def test_a_huge_checkpoint_is_refused_unread(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 5)
    with (t / "big.checkpoint").open("wb") as f:
        f.truncate(50 << 20)  # sparse: big, but costs nothing
    r = verify_trail([t], V)
    assert any("more than the 1,048,576" in p.detail for p in r.problems)


def test_key_files_are_bounded_and_never_quoted(tmp_path: Path) -> None:
    """Old code: a key file that was not a key was quoted in the error."""
    bad = tmp_path / "env"
    bad.write_text(f"# a comment\nTOKEN={SECRET}+x+y\n")
    with pytest.raises(NoteError) as e:
        load_verifiers([str(bad)])
    assert SECRET not in str(e.value) and f"{bad}:2:" in str(e.value)
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    with pytest.raises(NoteError, match="not a regular file"):
        load_verifiers([str(fifo)])
    big = tmp_path / "big.pub"
    big.write_text(SIGNER.verifier.text() + "\n" + "#" * (70 << 10) + "\n")
    with pytest.raises(NoteError, match="65,536"):
        load_verifiers([str(big)])
    environ = Path("/proc/self/environ")
    if environ.exists():
        os.environ["HA_TEST_SECRET"] = SECRET
        try:
            with pytest.raises(NoteError) as e:
                load_verifiers([str(environ)])
        finally:
            del os.environ["HA_TEST_SECRET"]
        assert SECRET not in str(e.value) and "PATH" not in str(e.value)


def test_note_errors_never_quote_the_input() -> None:
    for text in (f"{SECRET}", f"name+zzzz{SECRET}+AAAA", f"n+01234567+{SECRET}!"):
        with pytest.raises(NoteError) as e:
            Verifier.parse(text)
        assert SECRET not in str(e.value)
    with pytest.raises(NoteError) as e:
        Signer.parse(f"PRIVATE+KEY+n+01234567+{SECRET}")
    assert SECRET not in str(e.value)


def test_proof_files_are_bounded(tmp_path: Path) -> None:
    fifo = tmp_path / "proof.fifo"
    os.mkfifo(fifo)
    with pytest.raises(HarnessAuditError, match="not a regular file"):
        read_proof(fifo)
    big = tmp_path / "proof.json"
    with big.open("wb") as f:
        f.truncate(65 << 20)
    with pytest.raises(HarnessAuditError, match="67,108,864"):
        read_proof(big)


def _with_long_line(tmp: Path, length: int) -> Path:
    t = write_trail(tmp / "t", 6)
    seg = sorted(t.glob("*.jsonl"))[0]
    lines = seg.read_bytes().splitlines(keepends=True)
    with seg.open("wb") as f:
        f.writelines(lines[:3])
        f.write(b'{"x":"' + b"a" * length + b'"}\n')
        f.writelines(lines[3:])
    return t


def test_the_reader_skips_an_over_long_line_without_holding_it(tmp_path: Path) -> None:
    """Old code: the reader held the whole line (a 10 GB line reached 9 GB RSS)."""
    t = _with_long_line(tmp_path, 40 << 20)
    stats = ReadStats()
    tracemalloc.start()
    try:
        got = [ev.seq for _, _, _, ev in read_decoded([t], stats)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == list(range(6)) and (stats.skipped, stats.too_long) == (1, 1)
    assert peak < 20 << 20, f"peak {peak:,} bytes for a 40 MiB line"


def test_the_strict_reader_names_the_over_long_line(tmp_path: Path) -> None:
    t = _with_long_line(tmp_path, 6 << 20)  # past a chunk: what the verifier marks too
    with pytest.raises(
        TrailError,
        match=r"trail-000001\.jsonl:4: line of 6,291,\d+ bytes is "
        f"longer than the {MAX_LINE:,}-byte limit",
    ):
        list(read_decoded([t], strict=True))
    seq = [ev.seq for _, n, _, ev in read_decoded([t])]
    assert seq == list(range(6))
