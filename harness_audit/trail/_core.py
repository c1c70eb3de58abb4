"""Which verifier core scans a trail's lines: the compiled one or the pure-Python one.

The compiled core (``_cverify``, C over OpenSSL's libcrypto, built by the package's build
when a compiler and ``libssl-dev`` are there; SHA-256 by the CPU's SHA-NI where it has them,
two lines' leaves at once, else OpenSSL's) takes every line it can decide on its own: the
canonical form of a valid event whose hash, link and ``seq`` are all right, fields beyond
its kind's (the ``x_`` fields of imported and collected events) and text beyond ASCII
included. Any other line (a problem of any kind, an escape RFC 8785 does not write, a key
with an escape or beyond ASCII inside a field beyond the kind's, the first line of a range)
comes back to the Python code of ``verify``, which reports on it exactly as the
pure core does; so the two cores give the same results by construction. Without the
extension, or with ``HARNESS_AUDIT_CORE=python`` in the environment, the pure core runs
(``HARNESS_AUDIT_CORE=c`` makes a missing extension an error instead).

The windows the compiled core reads are the pure core's chunks (``scan.CHUNK`` bytes from
the range's start, the unfinished line carried over, over-long lines read as a marker), read
into one reused buffer from the file the trail store opened rather than split into lines
(:func:`harness_audit.trail.store.windows`), so every line, marker and report lands in the
same place and order; the range loop around the core is ``scan._scan_range_compiled``. They
are read, not mapped: a file cut under a mapping kills the reader with SIGBUS, where a read
that ends early is reported (issue 23, item 12).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from types import ModuleType

ENV = "HARNESS_AUDIT_CORE"


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


def core() -> ModuleType | None:
    """The compiled core's module when it is in use, else None."""
    return _C
