"""Writing files the way every output is written: whole, or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a whole file or nothing: temp file in the same folder, fsync, rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; an output is read by others
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """A regular file's bytes, at most ``limit`` of them, or an error that names the file.

    Devices, FIFOs and sockets are refused before a byte is read (a FIFO is opened without
    blocking), and a file larger than ``limit`` is refused without reading past the limit.
    The message never quotes the file's content.
    """
    import stat

    from harness_audit.errors import Diagnostic, InputError

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputError(Diagnostic(str(path), f"the {what} cannot be read: "
                                    f"{e.strerror or e}")) from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(Diagnostic(str(path), f"the {what} is not a regular file",
                                        expected=f"a {what} file"))
        if info.st_size > limit:
            raise InputError(Diagnostic(str(path), f"the {what} is {info.st_size:,} bytes, more "
                                        f"than the {limit:,} allowed"))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputError(Diagnostic(str(path), f"the {what} cannot be read: "
                                    f"{e.strerror or e}")) from e
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(Diagnostic(str(path), f"the {what} is more than the {limit:,} bytes "
                                    "allowed"))
    return b"".join(chunks)


PROJECT_MARKERS = ("pyproject.toml", ".harness-audit.yaml", ".git")


def project_root(file: Path) -> Path:
    """The project a config, manifest or waiver file belongs to (CLI.md, Paths from
    untrusted places): the nearest enclosing folder holding ``pyproject.toml``,
    ``.harness-audit.yaml`` or ``.git``, else the file's own folder."""
    start = file.resolve().parent
    for folder in (start, *start.parents):
        if any((folder / m).exists() for m in PROJECT_MARKERS):
            return folder
    return start


def confined(path: Path, base: Path, root: Path, setting: str, where: str) -> Path:
    """``path`` (relative to ``base``) if it resolves, symlinks followed, inside ``root``;
    else exit 2 naming the file, the setting and the resolved path."""
    from harness_audit.errors import Diagnostic, UsageError

    resolved = (base / path).resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(Diagnostic(where, f"{setting} resolves to {resolved}, outside the "
                                    f"project {root}", expected="a path inside the project "
                                    "(only paths typed on the command line may point "
                                    "anywhere)"))
    return base / path
