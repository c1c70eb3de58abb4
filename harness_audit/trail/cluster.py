"""Verification on a Dask cluster (issue 27, item 3): ``verify``/``scan``/``report --dask ADDRESS``.

The verifier is the one of ``--jobs``: :func:`~harness_audit.trail.scan.scan_range` over
line-aligned byte ranges of every segment, joined in trail order by
:func:`~harness_audit.trail.pieces.join_ranges` (aligned Merkle subtrees, chain and sequence
seams). Here the ranges run on the workers of a Dask scheduler at ``ADDRESS``:

- The client reads each range through the trail's store (a local folder, or ranged GETs from
  ``s3://``) and sends it to the cluster as bytes (``scatter``; no temporary file, and the
  workers need no access to the trail or its credentials). A worker scans those bytes under
  the segment's own name (:func:`~harness_audit.trail.store.held`), so a problem names the
  segment and line exactly as a local scan does. The client holds the range it is sending;
  the cluster holds at most two ranges more than it has worker threads (a new one is sent as
  each result comes back).
- The result is the local ``verify``'s, byte for byte: when every range is clean, in order and
  its seams join, the joined ranges are what one scan in order finds (nothing to report, the
  same tree). Otherwise (a damaged trail: a problem anywhere, a range's ``seq`` hint wrong, a
  problem list cut at its limit) each segment is scanned again whole, with its global index
  known from the first pass, one task per segment: exactly the local scan in order, on the
  workers (a worker then holds one whole segment).
- Dask is an optional extra (``pip install 'harness-audit[dask]'``); without it, or with a
  scheduler that cannot be reached, an error says so (exit 2). The scheduler is the user's:
  this module starts and binds nothing, it connects to the address given (the tests and the
  benchmark bind theirs to 127.0.0.1). A Dask scheduler runs the code its clients send, so it
  belongs on loopback or a private network with TLS (``tls://``, Dask's own security
  settings); the connect timeout is Dask's (``distributed.comm.timeouts.connect``, also
  ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``).
- The workers run the same version of harness-audit (each range checks it); its verifier core
  (compiled or pure Python) is each worker's own: both give the same results. Bytes go straight
  to a worker (``scatter(direct=True)``), through the scheduler where the client cannot reach
  the workers.
"""

from __future__ import annotations

import io
import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from harness_audit.errors import Diagnostic, HarnessAuditError, TrailError, UsageError
from harness_audit.trail.pieces import join_ranges
from harness_audit.trail.problem import RangeResult
from harness_audit.trail.scan import scan_range
from harness_audit.trail.store import changed_under, held, name_of, store_of

__all__ = ["EXTRA", "RANGE_BYTES", "connect", "scan_on_cluster"]

EXTRA = "pip install 'harness-audit[dask]'"
"""How to install the Dask engine."""

RANGE_BYTES = 32 << 20
"""The largest range sent to a worker (at least two ranges per worker thread are made)."""

Task = tuple[str, int, int, int | None, bool]
"""One range to scan: segment, start, end, global index of its first event (None: from its
``seq``), and whether the segment is the trail's last."""


# --- the worker's side ----------------------------------------------------------------------


class _RangeFile(io.BytesIO):
    """The bytes of ``segment[base:base+len(data)]`` read at the segment's own offsets."""

    def __init__(self, data: bytes, base: int, name: str) -> None:
        super().__init__(data)
        self.base = base
        self.name = name

    def seek(self, pos: int, whence: int = 0, /) -> int:
        """Go to ``pos`` of the segment (``whence`` 0), or relative as a file does."""
        if whence == 0:
            if pos < self.base:
                raise ValueError(f"byte {pos} is before the range sent ({self.base})")
            return super().seek(pos - self.base) + self.base
        return super().seek(pos, whence) + self.base

    def tell(self) -> int:
        """The position in the segment."""
        return super().tell() + self.base


class HeldRange:
    """A store of one range's bytes, for reading (what a worker scans): the segment ``name``
    of ``size`` bytes, of which ``data`` starts at ``base``."""

    resumable: ClassVar[bool] = False

    def __init__(self, name: str, base: int, data: bytes, size: int) -> None:
        self.name, self.base, self.data, self._size = name, base, data, size

    def segments(self) -> list[str]:
        """The one segment."""
        return [self.name]

    def size(self, segment: str) -> int:
        """The whole segment's length (so a torn last line is told from a cut range)."""
        return self._size

    def open_range(self, segment: str, start: int = 0) -> BinaryIO:
        """The bytes sent, read at the segment's offsets."""
        f = _RangeFile(self.data, self.base, segment)
        if start:
            f.seek(start)
        return f

    def _read_only(self) -> TrailError:
        return TrailError(Diagnostic(self.name, "a range sent to a worker is read, not written"))

    def segment(self, number: int) -> str:
        """Not for writing."""
        raise self._read_only()

    def create(self) -> None:
        """Not for writing."""
        raise self._read_only()

    def lock(self) -> None:
        """Not for writing."""
        raise self._read_only()

    def unlock(self) -> None:
        """Nothing held."""

    def open_append(self, segment: str) -> BinaryIO:
        """Not for writing."""
        raise self._read_only()

    def sync(self, handle: BinaryIO) -> None:
        """Not for writing."""
        raise self._read_only()

    def cut(self, segment: str, length: int, torn: bytes) -> None:
        """Not for writing."""
        raise self._read_only()

    def publish_checkpoint(self, data: bytes) -> None:
        """Not for writing."""
        raise self._read_only()

    def link_checkpoint(self, data: bytes, size: int) -> None:
        """Not for writing."""
        raise self._read_only()

    def discard(self) -> None:
        """Nothing to drop."""


def scan_bytes(
    name: str,
    start: int,
    end: int,
    size: int,
    data: bytes,
    start_index: int | None,
    cuts: tuple[int, ...],
    last_file: bool,
    version: str | None = None,
) -> RangeResult:
    """On a worker: :func:`~harness_audit.trail.scan.scan_range` of ``name[start:end]``, whose
    bytes are ``data`` (the segment is ``size`` bytes long). ``version``: the client's
    harness-audit version, which the worker must run (else a
    :class:`~harness_audit.errors.UsageError`)."""
    from harness_audit import __version__

    if version is not None and version != __version__:
        raise UsageError(
            Diagnostic(
                "--dask",
                f"a worker runs harness-audit {__version__}, this is {version}; every worker "
                "needs the same version",
            )
        )
    if len(data) != end - start:
        got = f"the range {start}-{end} arrived with {len(data)} bytes"
        raise TrailError(Diagnostic(name, got))
    with held(name, HeldRange(name, start, data, size)):
        return scan_range(name, start, end, start_index, cuts, last_file)


# --- the client's side ----------------------------------------------------------------------


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise UsageError(
            Diagnostic(
                "--dask",
                f"the Dask engine is not installed ({e.name or 'distributed'} is missing)",
                expected=EXTRA,
            )
        ) from None
    return distributed


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``address`` with at least one worker,
    closed after the block; a missing extra, an address that does not parse, a scheduler that
    cannot be reached or has no worker is a :class:`~harness_audit.errors.UsageError` (a
    worker of another version is one when it is sent a range: :func:`scan_bytes`)."""
    distributed = _distributed()

    class Client(distributed.Client):  # type: ignore[misc, name-defined]
        connected = False

        def __del__(self) -> None:  # a client that never connected has nothing to close
            if self.connected:
                super().__del__()

    def refused(why: str) -> UsageError:
        return UsageError(
            Diagnostic(
                address,
                f"cannot use the Dask scheduler: {why}",
                expected="the address of a running scheduler, e.g. tcp://127.0.0.1:8786",
            )
        )

    try:
        client = Client(address, set_as_default=False)
    except (OSError, ValueError, TypeError) as e:
        raise refused(str(e) or type(e).__name__) from None
    client.connected = True
    try:
        import dask

        timeout = dask.config.get("distributed.comm.timeouts.connect")
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            raise refused(f"it has no worker (none joined within {timeout})") from None
        yield client
    finally:
        client.close()


def _threads(client: Any) -> int:
    return max(1, int(sum(client.nthreads().values())))


def _split(f: Path, size: int, parts: int) -> list[int]:
    from harness_audit.trail.verify import _split_points

    return _split_points(f, parts) if parts > 1 else [0, size]


def plan(files: Sequence[Path], threads: int) -> list[Task]:
    """The ranges of every segment: each at most :data:`RANGE_BYTES` (give or take a line),
    and at least two per worker thread over the trail, cut at line starts."""
    import itertools

    sizes = [store_of(name_of(f)).size(name_of(f)) for f in files]
    total = sum(sizes) or 1
    last = name_of(files[-1]) if files else ""
    tasks: list[Task] = []
    for f, size in zip(files, sizes, strict=True):
        parts = max(1, math.ceil(size / RANGE_BYTES), round(size / total * threads * 2))
        for a, b in itertools.pairwise(_split(f, size, parts)):
            tasks.append((name_of(f), a, b, None, name_of(f) == last))
    return tasks


def _read(name: str, start: int, end: int) -> bytes:
    """``name[start:end]``, read through the segment's store."""
    want = end - start
    parts: list[bytes] = []
    got = 0
    with store_of(name).open_range(name, start) as f:
        while got < want:
            block = f.read(want - got)
            if not block:
                raise changed_under(f, start + got, end)
            parts.append(block)
            got += len(block)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def run_ranges(
    client: Any,
    tasks: Sequence[Task],
    cuts: tuple[int, ...],
    progress: Callable[[int], None] | None = None,
) -> list[RangeResult]:
    """Scan every range on the cluster, a bounded number in flight; the results in order."""
    distributed = _distributed()
    window = _threads(client) + 2
    sizes: dict[str, int] = {}
    out: list[RangeResult | None] = [None] * len(tasks)
    pending = distributed.as_completed(loop=client.loop)
    where: dict[str, int] = {}
    run = uuid.uuid4().hex[:12]
    from harness_audit import __version__

    direct = [
        True
    ]  # straight to a worker; through the scheduler when the workers are not reachable

    def scatter(data: bytes) -> Any:
        if direct[0]:
            try:
                return client.scatter(data, hash=False, direct=True)
            except OSError:
                direct[0] = False
        return client.scatter(data, hash=False, direct=False)

    def submit(i: int) -> None:
        name, a, b, index, last = tasks[i]
        if name not in sizes:
            sizes[name] = store_of(name).size(name)
        data = scatter(_read(name, a, b))
        fut = client.submit(
            scan_bytes,
            name,
            a,
            b,
            sizes[name],
            data,
            index,
            cuts,
            last,
            __version__,
            key=f"harness-audit-scan-{run}-{i}",
            pure=False,
        )
        where[fut.key] = i
        pending.add(fut)

    nxt = 0
    while nxt < min(window, len(tasks)):
        submit(nxt)
        nxt += 1
    try:
        for fut in pending:
            i = where.pop(fut.key)
            r: RangeResult = fut.result()
            out[i] = r
            fut.release()
            if progress:
                progress(r.end - r.start)
            if nxt < len(tasks):
                submit(nxt)
                nxt += 1
    except HarnessAuditError:
        raise
    except Exception as e:  # the cluster's failure, not the trail's
        raise UsageError(
            Diagnostic(
                str(client.scheduler.address),
                f"the Dask cluster failed while verifying: {type(e).__name__}: {e}",
            )
        ) from None
    return [r for r in out if r is not None]


def _clean(results: Sequence[RangeResult]) -> bool:
    """Whether the ranges joined are what one scan in order finds: each range's ``seq`` hint
    sound, nothing reported in any range or at any seam."""
    index = 0
    for r in results:
        if r.problems or r.dropped:
            return False
        if r.events and (not r.seq_ok or r.start_index != index):
            return False
        index += r.events
    joined = join_ranges(results, ())
    return not joined.problems and not joined.dropped


def scan_on_cluster(
    files: Sequence[Path],
    cuts: Sequence[int],
    address: str,
    progress: Callable[[int], None] | None = None,
) -> list[RangeResult]:
    """:func:`~harness_audit.trail.verify.scan_files` on the Dask cluster at ``address``: the
    ranges of every segment scanned on the workers, the same results as a local scan (see the
    module's docstring)."""
    cut = tuple(sorted(set(cuts)))
    if not files:
        return []
    with connect(address) as client:
        results = run_ranges(client, plan(files, _threads(client)), cut, progress)
        if _clean(results):
            return results
        # a damaged trail: each segment whole, its index known, as the scan in order does it
        events: dict[str, int] = {}
        for r in results:
            events[r.file] = events.get(r.file, 0) + r.events
        last = name_of(files[-1])
        tasks: list[Task] = []
        index = 0
        for f in files:
            name = name_of(f)
            tasks.append((name, 0, store_of(name).size(name), index, name == last))
            index += events.get(name, 0)
        return run_ranges(client, tasks, cut)
