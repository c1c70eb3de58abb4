"""``-o`` never replaces what is not a regular file (issue 23, item 21).

Every output is written by :func:`harness_audit._fs.write_atomic` (a temporary file renamed over
the target), which replaced ``/dev/null`` with a regular file under ``scan -o /dev/null`` run as
root. A character device or a FIFO is written in place, ``-`` is stdout, and a directory, a block
device or a socket is refused.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit._fs import write_atomic
from harness_audit.cli._cli import app
from harness_audit.errors import UsageError

from .conftest import SAMPLES

MANIFEST = next((SAMPLES / "support-refunds").glob("*.yaml"))


def _scan(*extra: object) -> tuple[int, str, str]:
    r = CliRunner().invoke(
        app, ["scan", str(MANIFEST), "--no-trails", "--format", "json", *map(str, extra)]
    )
    return r.exit_code, r.stdout, r.stderr


def _null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null in ``tmp_path`` (as root), else /dev/null itself."""
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        return Path(os.devnull)
    return dev


def test_a_character_device_stays_one(tmp_path: Path) -> None:
    dev = _null_device(tmp_path)
    before = os.stat(dev)
    code, _, err = _scan("-o", dev)
    assert code in (0, 1), err
    after = os.stat(dev)
    assert stat.S_ISCHR(after.st_mode), "the device was replaced by a regular file"
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in dev.parent.iterdir() if p.name.startswith(".null.")]


def test_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = _scan("-o", fifo)
    reader.join(30)
    assert code in (0, 1), err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(got[0])["pipelines"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.fifo"]


def test_a_symlink_to_a_fifo_is_followed(tmp_path: Path) -> None:
    """``/dev/stdout`` is a link to the process's pipe: the pipe is written, the link stays."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_atomic(link, "hello\n")
    reader.join(30)
    assert got == [b"hello\n"] and link.is_symlink()


def test_dash_is_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _scan("-o", "-")
    assert code in (0, 1), err
    assert json.loads(out)["pipelines"] and "wrote" not in err
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("kind", ["directory", "socket"])
def test_what_cannot_take_an_output_is_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / kind
    if kind == "directory":
        target.mkdir()
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
        sock.close()
    with pytest.raises(UsageError, match=f"is a {kind}: an output is never written over it"):
        write_atomic(target, "x")
    code, _, err = _scan("-o", target)
    assert code == 2 and f"is a {kind}" in err and "internal error" not in err


def test_a_regular_file_is_still_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")
    code, _, err = _scan("-o", out)
    assert code in (0, 1), err
    assert json.loads(out.read_text())["pipelines"] and stat.S_ISREG(os.stat(out).st_mode)
