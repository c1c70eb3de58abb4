"""Bounded, confined reads of small inputs (keys, checkpoints, proofs, waivers, config)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness_audit._fs import read_bounded
from harness_audit.errors import InputError


def test_a_regular_file_within_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "k"
    f.write_bytes(b"x" * 100)
    assert read_bounded(f, 100, "key") == b"x" * 100


def test_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "k"
    f.write_bytes(b"x" * 101)
    with pytest.raises(InputError, match="more than the 100"):
        read_bounded(f, 100, "key")


def test_devices_fifos_and_dirs_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for p in (Path("/dev/zero"), fifo, tmp_path):
        with pytest.raises(InputError, match=r"not a regular file|cannot be read"):
            read_bounded(p, 1 << 20, "key")


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "trail.checkpoint"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        read_bounded(link, 1 << 20, "checkpoint")


def test_the_message_never_quotes_the_content(tmp_path: Path) -> None:
    f = tmp_path / "k"
    f.write_bytes(b"SECRET=hunter2\n" * 10)
    with pytest.raises(InputError) as e:
        read_bounded(f, 10, "key")
    assert "hunter2" not in str(e.value)
