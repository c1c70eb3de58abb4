"""Which verifier core scans a trail's lines: the compiled one or the pure-Python one.

The compiled core (``_cverify``, C over OpenSSL's libcrypto, built by the package's build
when a compiler and ``libssl-dev`` are there) takes every line it can decide on its own: the
canonical form of a valid event whose hash, link and ``seq`` are all right. Any other line
(a problem of any kind, non-ASCII text, an unusual escape, an unknown field, the first line
of a range) comes back to the Python code of ``verify``, which reports on it exactly as the
pure core does; so the two cores give the same results by construction. Without the
extension, or with ``HARNESS_AUDIT_CORE=python`` in the environment, the pure core runs
(``HARNESS_AUDIT_CORE=c`` makes a missing extension an error instead).

The windows the compiled core reads are the pure core's chunks (``verify.CHUNK`` bytes from
the range's start, the unfinished line carried over, over-long lines replaced by a marker),
mapped with ``mmap`` instead of copied, so every line, marker and report lands in the same
place and order.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness_audit.trail.scan import RangeResult

ENV = "HARNESS_AUDIT_CORE"
_PAGE = mmap.ALLOCATIONGRANULARITY
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)


def _load(want: str) -> ModuleType | None:
    want = want.strip().lower()
    if want == "python":
        return None
    try:
        from harness_audit.trail import _cverify  # type: ignore[attr-defined]
    except ImportError:
        if want == "c":
            raise
        return None
    module: ModuleType = _cverify
    return module


_C: ModuleType | None = _load(os.environ.get(ENV, ""))


def compiled() -> bool:
    """True when the compiled core is in use."""
    return _C is not None


def available() -> bool:
    """True when the compiled core was built (whether or not it is in use)."""
    try:
        return _load("c") is not None
    except ImportError:
        return False


def use(core: str) -> None:
    """Choose the core: ``"c"``, ``"python"`` or ``"auto"`` (the compiled one if built)."""
    global _C
    _C = _load(core)


@contextlib.contextmanager
def using(core: str) -> Iterator[None]:
    """Run a block with one core (for tests and benchmarks), then restore the previous one."""
    global _C
    saved = _C
    use(core)
    try:
        yield
    finally:
        _C = saved


def describe() -> str:
    """The core in use, for ``--version``: ``C, OpenSSL 3.0.19`` or ``Python``."""
    if _C is None:
        return "Python"
    words = str(_C.openssl_version).split()
    return "C, " + " ".join(words[:2])


# --- windows --------------------------------------------------------------------------------


def _mapped(f: Any, at: int, stop: int) -> tuple[Any, int]:
    """Bytes ``at:stop`` of the open file as a buffer and the offset of ``at`` in it."""
    off = at - at % _PAGE
    try:
        return mmap.mmap(
            f.fileno(), stop - off, flags=_MAP_FLAGS, prot=mmap.PROT_READ, offset=off
        ), at - off
    except (OSError, ValueError):  # a file that cannot be mapped: read it
        f.seek(at)
        return f.read(stop - at), 0


def _windows(
    path: str, start: int, end: int, chunk: int, max_line: int
) -> Iterator[tuple[Any, int, int, int, bytes | None]]:
    """``verify._chunks`` as (buffer, a, b, size, torn): the complete lines of a chunk are
    ``buffer[a:b]`` (each with its newline); ``size`` is the pure core's buffer length."""
    with open(path, "rb") as f:
        rest_at = start  # where the line not yet complete begins
        skipping = 0
        pos = start
        while pos < end:
            cs, ce = pos, min(pos + chunk, end)
            pos = ce
            if skipping:
                buf, a = _mapped(f, cs, ce)
                try:
                    nl = buf.find(b"\n", a)
                finally:
                    _close(buf)
                if nl < 0:
                    skipping += ce - cs
                    continue
                marker = b"\x00%d\n" % (skipping + nl - a)
                yield marker, 0, len(marker), 0, None
                skipping = 0
                rest_at = cs + nl - a + 1
            if rest_at >= ce:
                yield b"", 0, 0, 0, None
                continue
            buf, a = _mapped(f, rest_at, ce)
            try:
                last_nl = buf.rfind(b"\n", a)
                b = last_nl + 1 if last_nl >= 0 else a
                yield buf, a, b, ce - rest_at, None
            finally:
                _close(buf)
            rest_at += b - a
            if ce - rest_at > max_line:
                skipping, rest_at = ce - rest_at, ce
        if skipping:
            yield b"", 0, 0, 0, b"\x00%d" % skipping
        elif rest_at < end:
            f.seek(rest_at)
            yield b"", 0, 0, 0, f.read(end - rest_at)


def _close(buf: Any) -> None:
    if isinstance(buf, mmap.mmap):
        buf.close()


# --- one range ------------------------------------------------------------------------------


def scan_range(
    path: str,
    start: int,
    end: int,
    start_index: int | None,
    cuts: Sequence[int] = (),
    last_file: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RangeResult:
    """``verify.scan_range`` with the compiled core taking the lines it can decide."""

    from harness_audit.trail import scan as v
    from harness_audit.trail.badline import MAX_LINE

    core = _C
    if core is None:
        raise RuntimeError("the compiled verifier core is not in use")
    res = v.RangeResult(path, start, end, start_index)
    report = v.Reporter(res)
    classify = v._classify
    sc: Any = None if start_index is None else core.Scanner(start_index, cuts)
    expect = start_index if start_index is not None else -1
    last_hash: str | None = None
    base = 0  # lines before this window
    for buf, a, b, size, torn in _windows(path, start, end, v.CHUNK, MAX_LINE):
        lineno = base
        decided: list[tuple[int, bytes]] = []  # lines the Python code decided
        pos = a
        if res.events == 0 and pos < b:  # the range's first event: nothing to check it against
            nl = buf.find(b"\n", pos, b)
            line = buf[pos:nl]
            lineno += 1
            leaf, seq_, prev_, last_hash = classify(line, report, expect, lineno)
            if sc is None:  # a parallel range: its first event fixes the global index
                res.start_index = seq_ if seq_ is not None else 0
                res.seq_ok = seq_ is not None
                sc = core.Scanner(res.start_index, cuts)
            sc.push(leaf)
            res.events += 1
            res.first_seq, res.first_prev, res.first_line = seq_, prev_, lineno
            expect = (seq_ if seq_ is not None else res.start_index or 0) + 1
            decided.append((lineno, line))
            pos = nl + 1
        while pos < b:
            pos, n, last_hash, expect = sc.scan(buf, pos, b, last_hash, expect)
            lineno += n
            res.events += n
            if pos >= b:
                break
            # as the pure core's loop does it
            nl = buf.find(b"\n", pos, b)
            line = buf[pos:nl]
            lineno += 1
            leaf, last_hash, expect = v.line_after(line, report, res, last_hash, expect, lineno)
            sc.push(leaf)
            res.events += 1
            decided.append((lineno, line))
            pos = nl + 1
        if size:  # scan._check_patterns, on the lines handed back (the rest match)
            v.check_links_of(decided, report)
        base = lineno
        if torn is not None:
            base += 1
            v.report_torn(report, path, end, last_file, base)
        if progress:
            progress(size)
    res.last_hash = last_hash
    res.last_seq = expect - 1 if res.events else None
    res.lines = base
    res.pieces = sc.pieces() if sc is not None else []
    return res
