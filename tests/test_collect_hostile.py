"""`collect` against hostile clients and a hostile disk (issue 23, items 4, 6, 7, 8, 9, 17):
each case runs the real receiver (`harness-audit collect` in a subprocess, aiohttp on
loopback) and real clients; memory is read as counts (peak RSS from /proc, tracemalloc, trace
events), never as wall time."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import resource
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("opentelemetry.proto")

import requests

from harness_audit.capture import TrailSink
from harness_audit.trail.note import Signer
from tests.collectkit import Collect, events, keys, verify
from tests.test_collect import PB, pb_request


def history(folder: Path) -> list[int]:
    """The tree sizes of the checkpoints kept in the folder's history."""
    return sorted(int(p.name.split(".")[0]) for p in (folder / "checkpoints").glob("*.checkpoint"))


def newest_size(folder: Path) -> int | None:
    path = folder / "trail.checkpoint"
    return int(path.read_text().split("\n")[1]) if path.exists() else None


# -- item 4: no checkpoint of the empty tree -------------------------------------------------------


def test_collect_on_an_empty_folder_signs_no_empty_tree_checkpoint(tmp_path: Path) -> None:
    """Started on an empty folder, idle past --checkpoint-seconds, stopped: no checkpoint at all
    (a checkpoint of size 0 anchors nothing, and one kept forever would be an anchor whoever
    can write the folder keeps after deleting the later ones). With events, every checkpoint
    kept covers at least one event."""
    key, pub = keys(tmp_path)
    folder = tmp_path / "trail"
    c = Collect(folder, key, "--checkpoint-seconds", "0.2")
    with contextlib.suppress(subprocess.TimeoutExpired):
        c.proc.wait(1.5)  # several ticks of the checkpoint timer, nothing received
    assert c.stop() == 0
    assert "no event received: no checkpoint signed" in c.stderr()
    assert "final checkpoint at tree size 0" not in c.stderr()
    assert not (folder / "trail.checkpoint").exists()
    assert history(folder) == []

    c = Collect(folder, key, "--checkpoint-seconds", "0.2")
    with contextlib.suppress(subprocess.TimeoutExpired):
        c.proc.wait(1)
    body, _ = pb_request(5, 3)
    assert requests.post(c.url, data=body, headers=PB, timeout=10).status_code == 200
    assert c.stop() == 0
    assert history(folder) and min(history(folder)) > 0
    assert newest_size(folder) == len(events(folder)) == 5
    assert f"final checkpoint at tree size {5:,}" in c.stderr()
    assert verify(folder, pub).returncode == 0


def test_sink_and_exporter_sign_nothing_for_an_empty_trail(tmp_path: Path) -> None:
    from harness_audit.otel import TrailSpanExporter

    signer = Signer.generate("k")
    sink = TrailSink(tmp_path / "s", "o", signer, checkpoint_seconds=0.0)
    sink.tick()
    sink.checkpoint()
    sink.close()
    assert history(tmp_path / "s") == [] and newest_size(tmp_path / "s") is None
    assert sink.signed is None and not sink.closed_signed
    exp = TrailSpanExporter(tmp_path / "e", "o", signer)
    assert exp.force_flush()
    exp.shutdown()
    assert history(tmp_path / "e") == [] and newest_size(tmp_path / "e") is None


# -- item 17: a full disk ------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str) -> Iterator[Path | None]:
    """A tmpfs of ``size`` (root can mount one); None when it cannot be mounted."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mnt)],
        capture_output=True,
    )
    if r.returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path: Path) -> None:
    """Write ``path`` until the disk refuses: the disk is then full."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno in (errno.ENOSPC, errno.EFBIG)
    finally:
        os.close(fd)


def post_until_refused(c: Collect, first: int, extra: int) -> tuple[list[str], list[int]]:
    acked: list[str] = []
    codes: list[int] = []
    session = requests.Session()
    n = first
    while codes.count(503) < extra and len(codes) < 20_000:
        n += 1
        body, ids = pb_request(n, 4)
        r = session.post(c.url, data=body, headers=PB, timeout=30)
        codes.append(r.status_code)
        if r.status_code == 200:
            acked += ids
    return acked, codes


def test_full_disk_says_what_it_last_signed_and_leaves_no_torn_files(tmp_path: Path) -> None:
    """On a full disk (a small tmpfs): each refused request is a 503 that leaves nothing behind
    (no `.torn` file, empty or not); at SIGTERM, when even the final checkpoint cannot be
    written, collect exits 1 and names the newest checkpoint it did sign (never one it did
    not); restarted once there is room, it signs every acknowledged event, once each."""
    key, pub = keys(tmp_path)
    with small_disk(tmp_path, "512k") as mnt:
        if mnt is None:
            pytest.skip("no tmpfs (not root): test_full_disk_by_file_size_limit covers it")
        folder = mnt / "trail"
        (mnt / "filler").touch()  # made while there is room: a full tmpfs refuses a new file
        c = Collect(
            folder,
            key,
            "--checkpoint-every",
            "200",
            "--checkpoint-seconds",
            "0",
            stderr_dir=tmp_path,
        )
        acked, codes = post_until_refused(c, 0, 3)
        assert codes.count(200) > 50 and codes[-1] == 503
        fill(mnt / "filler")  # what the refused requests gave back is taken again
        for n in range(3):  # more refused requests on the full disk
            body, _ = pb_request(50_000 + n, 4)
            assert requests.post(c.url, data=body, headers=PB, timeout=30).status_code == 503
        assert c.stop() == 1
        err = c.stderr()
        assert not list(folder.glob("*.torn*")), sorted(p.name for p in folder.glob("*"))
        signed = newest_size(folder)
        assert signed is not None and signed == max(history(folder)) > 0
        assert "NO final checkpoint" in err and "No space left on device" in err
        assert f"the newest checkpoint signed is at tree size {signed:,}" in err
        assert "final checkpoint at tree size" not in err
        (mnt / "filler").unlink()
        subprocess.run(["mount", "-o", "remount,size=4m", str(mnt)], check=True)
        c2 = Collect(folder, key, stderr_dir=tmp_path)
        assert c2.stop() == 0
        size = len(events(folder))
        assert f"final checkpoint at tree size {size:,}" in c2.stderr()
        assert newest_size(folder) == size
        spans = Counter(e["span"] for e in events(folder))
        assert all(spans[i] == 1 for i in acked)
        assert not list(folder.glob("*.torn*"))
        v = verify(folder, pub)
        assert v.returncode == 0 and "VERIFIED" in v.stdout, v.stdout + v.stderr


def test_full_disk_by_file_size_limit(tmp_path: Path) -> None:
    """The same without a mount: the receiver runs under RLIMIT_FSIZE, so its segment cannot
    grow past a size (EFBIG, the way a quota refuses): refused requests leave no `.torn`
    file, the final checkpoint (a small file) is signed, and what it says it signed is what
    is on disk."""
    key, pub = keys(tmp_path)
    folder = tmp_path / "trail"
    c = Collect(
        folder,
        key,
        "--checkpoint-every",
        "200",
        "--checkpoint-seconds",
        "0",
        rlimits={resource.RLIMIT_FSIZE: 192 << 10},
    )
    acked, codes = post_until_refused(c, 0, 5)
    assert codes.count(200) > 50 and codes[-1] == 503
    assert c.stop() == 0
    assert not list(folder.glob("*.torn*"))
    size = len(events(folder))
    m = re.search(r"final checkpoint at tree size ([\d,]+)", c.stderr())
    assert m and int(m.group(1).replace(",", "")) == size == newest_size(folder)
    spans = Counter(e["span"] for e in events(folder))
    assert all(spans[i] == 1 for i in acked)
    assert verify(folder, pub).returncode == 0


def test_a_refused_batch_is_cut_back_not_kept_as_a_torn_line(tmp_path: Path) -> None:
    """The library: a write refused by the disk leaves the segment as it was before the batch
    (the next open finds no torn line to keep aside)."""
    signer = Signer.generate("k")
    folder = tmp_path / "t"
    sink = TrailSink(folder, "o", signer, checkpoint_seconds=0)
    from harness_audit.capture.decode import decode

    sink.write(decode(pb_request(1, 3)[0], "application/x-protobuf"))
    seg = folder / "trail-000001.jsonl"
    before = seg.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 1000, hard))
    try:
        from harness_audit.capture import Unavailable

        with pytest.raises(Unavailable, match="too large"):
            sink.write(decode(pb_request(2, 40)[0], "application/x-protobuf"))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert seg.read_bytes() == before
    sink.write(decode(pb_request(3, 2)[0], "application/x-protobuf"))
    sink.close()
    assert not list(folder.glob("*.torn*"))
    assert sink.closed_signed and newest_size(folder) == len(events(folder)) == 9
    assert os.path.getsize(seg) > len(before)


def test_a_torn_line_that_cannot_be_kept_aside_leaves_no_empty_copy(tmp_path: Path) -> None:
    """Reopening a trail whose last line is torn (a crash) on a disk that refuses the copy:
    the open fails, and leaves no empty `.torn` file behind; with room it keeps the copy."""
    from harness_audit.capture.decode import decode

    signer = Signer.generate("k")
    folder = tmp_path / "t"
    sink = TrailSink(folder, "o", signer, checkpoint_seconds=0)
    sink.write(decode(pb_request(1, 3)[0], "application/x-protobuf"))
    sink.close()
    seg = folder / "trail-000001.jsonl"
    with seg.open("ab") as f:
        f.write(b'{"agent":"x","kind":' + b"x" * 4000)  # a torn last line
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        for _ in range(3):
            with pytest.raises(OSError):
                TrailSink(folder, "o", signer)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not list(folder.glob("*.torn*"))
    TrailSink(folder, "o", signer).close()
    assert [p.name for p in folder.glob("*.torn*")] == ["trail-000001.jsonl.torn"]
