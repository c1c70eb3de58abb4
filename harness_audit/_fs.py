"""Writing files the way every output is written: whole, or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a whole file or nothing: temp file in the same folder, fsync, rename.

    This is the one function every output goes through, so it never renames over what is not
    a regular file: ``-`` is stdout; a character device or a FIFO already at ``path``
    (``/dev/null``, ``/dev/stdout``, a named pipe) is written directly, in place, as a shell
    redirection would (a rename would replace ``/dev/null`` with a regular file when run as
    root); a directory, a block device or a socket is refused. A symbolic link is followed to
    decide (``/dev/stdout`` is one)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if str(path) == "-":
        _write_stdout(payload)
        return
    if _write_special(path, payload):
        return
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


def _write_stdout(payload: bytes) -> None:
    import sys

    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (some test runners)
        sys.stdout.write(payload.decode("utf-8", "replace"))
    else:
        buffer.write(payload)
        buffer.flush()


def _refuse_kind(path: Path, mode: int) -> None:
    import stat

    from harness_audit.errors import Diagnostic, UsageError

    what = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise UsageError(
        Diagnostic(
            str(path),
            f"is {what}: an output is never written over it",
            expected="a regular file, a character device or a FIFO, or - for stdout",
        )
    )


def _write_special(path: Path, payload: bytes) -> bool:
    """Write ``payload`` into the character device or FIFO at ``path`` (True), refuse any other
    file that is not regular, or leave a regular or missing file to the rename (False)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # missing (or unreachable: the rename path reports it)
    if stat.S_ISREG(mode):
        return False
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        _refuse_kind(path, mode)
    # no O_CREAT, no O_TRUNC: what is there is written to, never made or replaced
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):  # replaced by a regular file since: write that whole, by rename
            return False
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            _refuse_kind(path, mode)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return True


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
        raise InputError(
            Diagnostic(str(path), f"the {what} cannot be read: {e.strerror or e}")
        ) from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                Diagnostic(
                    str(path), f"the {what} is not a regular file", expected=f"a {what} file"
                )
            )
        if info.st_size > limit:
            raise InputError(
                Diagnostic(
                    str(path),
                    f"the {what} is {info.st_size:,} bytes, more than the {limit:,} allowed",
                )
            )
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputError(
            Diagnostic(str(path), f"the {what} cannot be read: {e.strerror or e}")
        ) from e
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(
            Diagnostic(str(path), f"the {what} is more than the {limit:,} bytes allowed")
        )
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
        raise UsageError(
            Diagnostic(
                where,
                f"{setting} resolves to {resolved}, outside the project {root}",
                expected="a path inside the project "
                "(only paths typed on the command line may point "
                "anywhere)",
            )
        )
    return base / path


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_overwriting(outputs: Iterable[Path], inputs: Iterable[Path]) -> None:
    """No output may be, or replace, an input of the same run (CLI.md): an output that is an
    input file (symlinks resolved, hard links by inode) or lies inside an input folder (a new
    file there would change the evidence: a segment, a checkpoint) is exit 2."""
    from harness_audit.errors import Diagnostic, UsageError

    files: set[Path] = set()
    folders: set[Path] = set()
    inodes: set[tuple[int, int]] = set()
    for p in inputs:
        resolved = p.resolve()
        (folders if resolved.is_dir() else files).add(resolved)
        ident = _identity(resolved)
        if ident is not None and not resolved.is_dir():
            inodes.add(ident)
    for o in outputs:
        r = o.resolve()
        clash = (
            r in files
            or r in folders
            or (_identity(r) in inodes and r.exists())
            or any(f in r.parents for f in folders)
        )
        if clash:
            raise UsageError(
                Diagnostic(
                    str(o),
                    "is an input of this run, or inside one, and would change it",
                    expected="an output path outside the run's inputs",
                )
            )


def fresh_folder(folder: Path, inputs: Iterable[Path], what: str = "export") -> None:
    """An export goes only into a new or empty folder that holds no input of the run."""
    from harness_audit.errors import Diagnostic, UsageError

    refuse_overwriting([folder], inputs)
    resolved = folder.resolve()
    for p in inputs:
        if resolved in p.resolve().parents:
            raise UsageError(
                Diagnostic(
                    str(folder),
                    f"holds an input of this run; an {what} goes into a new or empty folder",
                )
            )
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(
            Diagnostic(
                str(folder),
                f"exists and is not an empty folder; an {what} goes into a new or empty folder",
            )
        )


def _build_then_rename(folder: Path, fill: Callable[[Path], T]) -> T:
    """``fill`` a temporary folder beside ``folder``, then rename it into place (an existing
    ``folder`` is moved aside first and removed after): whole or not at all."""
    import shutil

    parent = folder.parent if str(folder.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    try:
        result = fill(tmp)
        os.chmod(tmp, 0o755)  # noqa: S103 - mkdtemp makes 0700; an output is read by others
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=parent))
            os.replace(folder, old / folder.name)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def write_folder_from(folder: Path, fill: Callable[[Path], T], inputs: Iterable[Path]) -> T:
    """Build a new output folder whole or not at all: ``fill`` writes into a temporary folder
    beside ``folder``, which is then renamed into place (``folder`` must be new or empty)."""
    fresh_folder(folder, list(inputs), "output")
    return _build_then_rename(folder, fill)


def check_output_folder(
    folder: Path, inputs: Iterable[Path], replaceable: Iterable[str] = ()
) -> None:
    """Refuse an output folder before anything is written: it must be new, empty, or hold
    only ``replaceable`` entries, and never be (or hold) an input."""
    from harness_audit.errors import Diagnostic, UsageError

    allowed = set(replaceable)
    if folder.exists():
        refuse_overwriting([folder], inputs)
        extra = [p.name for p in folder.iterdir()] if folder.is_dir() else [folder.name]
        if not folder.is_dir() or set(extra) - allowed:
            raise UsageError(
                Diagnostic(
                    str(folder),
                    "exists and holds other files than an earlier output of this command",
                    expected="a new or empty folder, or an earlier output to replace",
                )
            )
    else:
        fresh_folder(folder, inputs, "output")


def write_folder(
    folder: Path,
    files: Mapping[str, bytes | Path],
    inputs: Iterable[Path],
    replaceable: Iterable[str] = (),
) -> None:
    """Write a folder of outputs whole or not at all: into a temporary folder beside it, then
    renamed into place (a full disk leaves no partial pack). ``files`` maps a relative path
    (``a/b.csv`` makes ``a/``) to its bytes, or to a file whose bytes are copied (a large
    output is never held in memory). ``folder`` must be new, empty, or hold only
    ``replaceable`` entries (an earlier output of the same kind, replaced whole)."""
    import shutil

    check_output_folder(folder, inputs, replaceable)

    def fill(tmp: Path) -> None:
        for name, data in files.items():
            if isinstance(data, Path):
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(data, tmp / name)
                os.chmod(tmp / name, 0o644)
            else:
                write_atomic(tmp / name, data)
        for sub in {(tmp / name).parent for name in files} - {tmp}:
            os.chmod(sub, 0o755)  # noqa: S103 - an output is read by others

    _build_then_rename(folder, fill)
