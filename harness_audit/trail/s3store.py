"""A trail in object storage: ``s3://bucket/prefix`` behind the :class:`TrailStore` seam.

The client is boto3 (the AWS SDK for Python; the optional extra ``harness-audit[s3]``): it
speaks every request this store needs by name (conditional ``PutObject`` and
``CompleteMultipartUpload`` with ``If-None-Match: *``, ranged ``GetObject`` streamed from its
body, Object Lock configuration, retention and legal holds), and reads the usual AWS settings
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, profiles, ...), so an S3-compatible server
(SeaweedFS, MinIO, Ceph) is one environment variable away.

Layout under the prefix, as in a local folder: ``<prefix>/trail-NNNNNN.jsonl`` segments and
``<prefix>/checkpoints/<size>.checkpoint``, one immutable object per signed checkpoint (the
newest is the largest size listed: no object is ever replaced, so no compare-and-swap). There
is no ``trail.checkpoint`` object: it would have to be overwritten.

Reading lists the prefix once and reads each segment with ranged GETs, streamed
(:class:`_RangeReader`). Writing stages the segments in a local folder (the writer's appends
and fsyncs are local) and uploads each segment once it is closed, never overwriting: a
conditional put (``If-None-Match: *``; multipart above :data:`MULTIPART`, its completion
conditional too); a checkpoint is uploaded once every segment it covers is. So what a
receiver acknowledges is what its local disk holds until the upload (the README says so),
unless it closes and uploads the segment of each request before answering it
(:meth:`S3Store.upload_closed`, ``collect --acknowledge uploaded``).
"""

from __future__ import annotations

import atexit
import dataclasses
import io
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from harness_audit.errors import Diagnostic, TrailError, UsageError

__all__ = ["MULTIPART", "S3Store", "StoreRetention", "client", "parse", "retention_evidence"]

MULTIPART = 64 << 20
"""Segments larger than this upload in parts (of this size)."""

INSTALL = "pip install 'harness-audit[s3]'"


def parse(url: str) -> tuple[str, str]:
    """(bucket, prefix without slashes at either end) of ``s3://bucket/prefix``."""
    m = re.fullmatch(r"s3:/+([^/]+)/*(.*?)/*", url)
    if not m or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", m[1]):
        raise UsageError(
            Diagnostic(url, "not an S3 location", expected="s3://bucket/prefix (a bucket name)")
        )
    return m[1], m[2]


_clients: dict[int, Any] = {}


def client() -> Any:
    """The process's S3 client (one per process, shared by its threads: a forked scanner makes
    its own)."""
    pid = os.getpid()
    if pid not in _clients:
        import importlib.util

        try:
            if importlib.util.find_spec("boto3") is None:  # the extra (botocore is its part)
                raise ImportError("boto3")
            import botocore.session
            from botocore.config import Config
        except ImportError as e:
            raise UsageError(
                Diagnostic(
                    "s3://",
                    f"reading or writing a trail in S3 needs the s3 extra: {INSTALL}",
                )
            ) from e
        # botocore's own session, not boto3's: the same client (boto3.client makes this one),
        # without importing boto3 and s3transfer, which this store does not use
        _clients[pid] = botocore.session.get_session().create_client(
            "s3",
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=16,  # STREAMS ranged GETs per reader, reused
            ),
        )
    return _clients[pid]


def _error(url: str, e: BaseException) -> TrailError:
    """A boto3 error as the trail error naming ``url``."""
    return TrailError(Diagnostic(url, f"S3: {e}"))


def _client_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


PIECE = 1 << 20
AHEAD = 8
"""A reader's GET body is read ahead by a thread, up to ``AHEAD`` pieces of ``PIECE`` bytes,
so the transfer overlaps the verifier's hashing (bench/README.md has the figures). The first
piece is a GET of its own: the rest of the range is asked for only when a second piece is
(a seek that reads a line, to find a split point, fetches one piece, not the read-ahead)."""


class _ReadAhead:
    """One ranged GET's body, read by a thread into a bounded queue of pieces."""

    def __init__(self, bucket: str, key: str, start: int, end: int, name: str) -> None:
        import queue
        import threading

        self.name = name
        self.pieces: queue.Queue[bytes | BaseException] = queue.Queue(AHEAD)
        self.stop = threading.Event()
        self.more = threading.Event()  # a second piece was asked for
        self.asked = 0
        self.args = (bucket, key, start, end)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        bucket, key, start, end = self.args
        try:
            first = min(end, start + PIECE)
            self._stream(bucket, key, start, first)
            if first < end:
                self.more.wait()  # a second piece asked for, or the reader closed
                if not self.stop.is_set():
                    self._stream(bucket, key, first, end)
            self.pieces.put(b"")
        except BaseException as e:  # handed to the reader, which raises it
            self.pieces.put(e)

    def _stream(self, bucket: str, key: str, start: int, end: int) -> None:
        """One ranged GET's body, piece by piece, into the queue."""
        body = client().get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
        try:
            while not self.stop.is_set():
                data = body.read(PIECE)
                if not data:
                    return
                self.pieces.put(data)
        finally:
            body.close()

    def get(self) -> bytes:
        """The next piece (empty at the end of the range)."""
        self.asked += 1
        if self.asked == 2:
            self.more.set()
        item = self.pieces.get()
        if isinstance(item, BaseException):
            if isinstance(item, _client_errors()):
                raise _error(self.name, item) from item
            raise item
        return item

    def close(self) -> None:
        """Stop the thread (it may be waiting to put a piece: make room)."""
        import contextlib
        import queue

        self.stop.set()
        self.more.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.pieces.get(timeout=0.05)


class _RangeReader(io.RawIOBase):
    """A seekable reader of one object: reads continue one ranged GET's body, streamed and read
    ahead (:class:`_ReadAhead`); a seek drops it and the next read opens a range from there."""

    def __init__(self, bucket: str, key: str, size: int, start: int = 0) -> None:
        self.bucket, self.key, self.length = bucket, key, size
        self.name = f"s3://{bucket}/{key}"
        self._pos = start
        self._body: _ReadAhead | None = None
        self._piece = memoryview(b"")

    def readable(self) -> bool:
        """Yes."""
        return True

    def seekable(self) -> bool:
        """Yes (a new ranged GET)."""
        return True

    def tell(self) -> int:
        """The position."""
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        """Go to ``pos`` (the body open is dropped when it moves)."""
        new = pos if whence == 0 else self._pos + pos if whence == 1 else self.length + pos
        if new != self._pos:
            self._drop()
            self._pos = new
        return self._pos

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None
        self._piece = memoryview(b"")

    def readinto(self, b: Any) -> int:
        """Read up to ``len(b)`` bytes from the open range (opening one from here on)."""
        if self._pos >= self.length or not len(b):
            return 0
        if not self._piece:
            if self._body is None:
                self._body = _ReadAhead(self.bucket, self.key, self._pos, self.length, self.name)
            self._piece = memoryview(self._body.get())
            if not self._piece:  # the object ended before its listed size
                self._drop()
                return 0
        n = min(len(b), len(self._piece))
        b[:n] = self._piece[:n]
        self._piece = self._piece[n:]
        self._pos += n
        return n

    def close(self) -> None:
        """Drop the body."""
        self._drop()
        super().close()


_tmp: list[str] = []


def _cleanup() -> None:
    for x in _tmp:
        shutil.rmtree(x, ignore_errors=True)


def _scratch() -> Path:
    """A private temporary folder, removed at exit."""
    d = tempfile.mkdtemp(prefix="harness-audit-s3-")
    if not _tmp:
        atexit.register(_cleanup)
    _tmp.append(d)
    return Path(d)


def fetched_checkpoints(url: str) -> list[tuple[str, Path]]:
    """The checkpoint objects of the trail at ``url``, each read whole into a private
    temporary folder under its own key (``<tmp>/<bucket>/<key>``), for the checkpoint reader:
    each its URL and the local copy."""
    store = S3Store(url)
    root = _scratch()
    out = []
    for name, data in store.checkpoints():
        path = root / name[len("s3://") :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append((name, path))
    return out


class S3Store:
    """A trail under ``s3://bucket/prefix``: segments read with ranged GETs; written once,
    staged locally and uploaded as each segment closes, never overwriting (module doc)."""

    resumable: ClassVar[bool] = False

    def __init__(self, url: str, prefix: str = "trail") -> None:
        self.bucket, self.key = parse(url)
        self.url = f"s3://{self.bucket}/{self.key}".rstrip("/")
        self.prefix = prefix
        self._sizes: dict[str, int] | None = None  # segment name -> size, listed once
        self._stage: Path | None = None
        self._uploaded: dict[str, int] = {}  # staged segment -> its lines
        self._pending: list[tuple[int, bytes]] = []  # checkpoints waiting for their segments
        self._dirty = False

    def _k(self, name: str) -> str:
        return f"{self.key}/{name}" if self.key else name

    def objects(self, under: str = "") -> dict[str, int]:
        """Every object key under the prefix (``under`` further in) and its size."""
        out: dict[str, int] = {}
        base = self._k(under)
        base = base + "/" if base and not base.endswith("/") else base
        try:
            pages = (
                client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base)
            )
            for page in pages:
                for o in page.get("Contents", []):
                    out[o["Key"]] = o["Size"]
        except _client_errors() as e:
            raise _error(self.url, e) from e
        return out

    # -- reading

    def _listing(self) -> dict[str, int]:
        if self._sizes is None:
            pat = re.compile(re.escape(self._k(self.prefix)) + r"-\d{6}\.jsonl")
            self._sizes = {
                f"s3://{self.bucket}/{k}": n
                for k, n in sorted(self.objects().items())
                if pat.fullmatch(k)
            }
        return self._sizes

    def segments(self) -> list[str]:
        """The segments in order: the writer's staged ones, else those listed under the
        prefix (``s3://bucket/prefix/trail-NNNNNN.jsonl``)."""
        if self._stage is not None:
            return [str(p) for p in sorted(self._stage.glob(f"{self.prefix}-*.jsonl"))]
        return list(self._listing())

    def size(self, segment: str) -> int:
        """The object's size (from the listing; a staged file's own)."""
        if not segment.startswith("s3:"):
            return os.path.getsize(segment)
        name = "s3://" + segment.split(":", 1)[1].lstrip("/")
        sizes = self._listing()
        if name not in sizes:
            bucket, key = parse(name)
            try:
                sizes[name] = client().head_object(Bucket=bucket, Key=key)["ContentLength"]
            except _client_errors() as e:
                raise _error(name, e) from e
        return sizes[name]

    def open_range(self, segment: str, start: int = 0) -> BinaryIO:
        """The object from ``start``, read with ranged GETs, buffered."""
        if not segment.startswith("s3:"):
            f = open(segment, "rb")  # noqa: SIM115 - the caller closes it
            f.seek(start)
            return f
        bucket, key = parse(segment)
        raw = _RangeReader(bucket, key, self.size(segment), start)
        return io.BufferedReader(raw, 1 << 20)

    def checkpoints(self) -> list[tuple[str, bytes]]:
        """(URL, bytes) of every checkpoint object: ``*.checkpoint`` under the prefix and its
        ``checkpoints/`` (each small: read whole)."""
        out = []
        for k in sorted(self.objects()):
            rest = k[len(self._k("")) :] if self.key else k
            if rest.endswith(".checkpoint") and (
                "/" not in rest or (rest.startswith("checkpoints/") and rest.count("/") == 1)
            ):
                try:
                    body = client().get_object(Bucket=self.bucket, Key=k)["Body"].read()
                except _client_errors() as e:
                    raise _error(f"s3://{self.bucket}/{k}", e) from e
                out.append((f"s3://{self.bucket}/{k}", body))
        return out

    # -- writing: staged locally, each closed segment uploaded once

    def segment(self, number: int) -> str:
        """The staged file of segment ``number``."""
        self.create()
        assert self._stage is not None
        return str(self._stage / f"{self.prefix}-{number:06d}.jsonl")

    def create(self) -> None:
        """Refuse a prefix that holds a trail already (a trail in object storage is written
        once, never resumed or appended to), and make the local staging folder."""
        if self._stage is not None:
            return
        found = [k for k in self.objects() if k.endswith((".jsonl", ".checkpoint"))]
        if found:
            raise TrailError(
                Diagnostic(
                    self.url,
                    f"holds a trail already ({len(found)} segment/checkpoint object(s)); a "
                    "trail in object storage is written once: choose a new prefix",
                )
            )
        self._stage = _scratch()

    def lock(self) -> None:
        """Nothing to take: every upload is conditional, so a second writer's first segment
        is refused by the store (no object is ever replaced)."""

    def unlock(self) -> None:
        """The writer is done: when its last act was a checkpoint (a close), upload what is
        left (the last segment, then the checkpoints waiting for it)."""
        if self._stage is not None and not self._dirty and self._pending:
            self._upload(everything=True)

    def open_append(self, segment: str) -> BinaryIO:
        """The staged segment for appending; a new segment closes the one before (upload)."""
        return open(segment, "ab")

    def sync(self, handle: BinaryIO) -> None:
        """Flush and fsync the staged segment."""
        handle.flush()
        os.fsync(handle.fileno())
        self._dirty = True

    def cut(self, segment: str, length: int, torn: bytes) -> None:
        """Never called: an S3 trail is not resumed."""
        raise AssertionError("an S3 trail is never resumed")  # pragma: no cover

    def publish_checkpoint(self, data: bytes) -> None:
        """Upload the closed segments (all but the newest) and every waiting checkpoint they
        cover; the newest checkpoint is the largest size listed (no object for it)."""
        self._dirty = False
        self._upload(everything=False)

    def link_checkpoint(self, data: bytes, size: int) -> None:
        """Queue the checkpoint: uploaded as ``checkpoints/<size>.checkpoint`` once every
        segment it covers is."""
        self._pending.append((size, data))

    def discard(self) -> None:
        """Drop the staging folder (what was not uploaded never appears)."""
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)

    def upload_closed(self) -> None:
        """Upload now every closed segment not uploaded yet, and the checkpoints they cover
        (``collect --acknowledge uploaded``: before the request is answered)."""
        self._upload(everything=False)

    def _upload(self, everything: bool) -> None:
        segs = self.segments()
        closed = segs if everything else segs[:-1]
        for s in closed:
            if s not in self._uploaded and os.path.getsize(s) == 0:
                self._uploaded[s] = 0  # a segment opened and never written: no object
            elif s not in self._uploaded:
                self._uploaded[s] = self.put_file(Path(s), f"{Path(s).name}")
        covered = sum(self._uploaded.values())
        from harness_audit.trail.checkpoints import history_name

        keep = []
        for size, data in sorted(self._pending):
            if size <= covered:
                self.put_bytes(data, f"checkpoints/{history_name(size, 0)}")
            else:
                keep.append((size, data))
        self._pending = keep

    def upload_folder(self, folder: Path) -> None:
        """Upload a local trail folder: its segments in order, its other files (``import.json``)
        and then its checkpoint history, each object once (never over one). The folder's
        ``<prefix>.checkpoint`` goes into the history when it is not there already (a folder
        written without one: a generator's); never as itself (the newest is the largest size
        listed; an object of that name would have to be replaced)."""
        from harness_audit.trail.checkpoints import HISTORY, history_name

        local = sorted(folder.glob(f"{self.prefix}-*.jsonl"))
        for p in local:
            self.put_file(p, p.name)
        for p in sorted(folder.iterdir()):
            if (
                p.is_file()
                and p.suffix not in (".jsonl", ".checkpoint")
                and not p.name.startswith(".")
            ):
                self.put_file(p, p.name)
        hist = folder / HISTORY
        kept = sorted(hist.glob("*.checkpoint")) if hist.is_dir() else []
        datas = {p.read_bytes() for p in kept}
        newest = folder / f"{self.prefix}.checkpoint"
        extra = None
        if newest.is_file() and newest.read_bytes() not in datas:  # a folder with no history
            from harness_audit.trail.note import Checkpoint, NoteError, parse_note

            data = newest.read_bytes()
            try:
                size = Checkpoint.parse(parse_note(data).text).size
            except NoteError as e:
                raise TrailError(Diagnostic(str(newest), f"not a checkpoint: {e}")) from e
            taken = {p.name for p in kept}
            n = 0
            while history_name(size, n) in taken:
                n += 1
            extra = (data, history_name(size, n))
        for p in kept:
            self.put_file(p, f"{HISTORY}/{p.name}")
        if extra is not None:
            self.put_bytes(extra[0], f"{HISTORY}/{extra[1]}")

    def put_bytes(self, data: bytes, name: str) -> None:
        """Upload ``data`` as ``<prefix>/<name>``, never replacing an object."""
        key = self._k(name)
        try:
            client().put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
        except _client_errors() as e:
            raise _error(f"s3://{self.bucket}/{key}", e) from e

    def put_file(self, path: Path, name: str) -> int:
        """Upload the file as ``<prefix>/<name>`` (in parts above :data:`MULTIPART`), never
        replacing an object; the lines it holds."""
        key = self._k(name)
        c = client()
        lines = 0
        try:
            size = path.stat().st_size
            with path.open("rb") as f:
                if size <= MULTIPART:
                    data = f.read()
                    lines = data.count(b"\n")
                    c.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
                    return lines
                up = c.create_multipart_upload(Bucket=self.bucket, Key=key)
                parts = []
                try:
                    n = 1
                    while data := f.read(MULTIPART):
                        lines += data.count(b"\n")
                        r = c.upload_part(
                            Bucket=self.bucket,
                            Key=key,
                            UploadId=up["UploadId"],
                            PartNumber=n,
                            Body=data,
                        )
                        parts.append({"PartNumber": n, "ETag": r["ETag"]})
                        n += 1
                    c.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=up["UploadId"],
                        MultipartUpload={"Parts": parts},
                        IfNoneMatch="*",
                    )
                except BaseException:
                    c.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up["UploadId"])
                    raise
        except _client_errors() as e:
            raise _error(f"s3://{self.bucket}/{key}", e) from e
        return lines


# --- retention as evidence: what the store shows (issue 27, item 2) -------------------------

SAMPLE = 1000
"""Objects whose retention is read one by one; past it a seeded random sample of this many
(the seed and the population size are stated), as the report's populations are sampled."""


@dataclasses.dataclass
class StoreRetention:
    """The Object Lock a trail's objects show: the bucket's configuration, and per segment and
    checkpoint its mode, retain-until date and legal hold, judged against the declared policy
    (``retain-until >= written + declared days``)."""

    location: str
    declared_days: int | None
    lock_enabled: bool
    default_mode: str | None
    objects: int  # segments and checkpoints listed
    checked: int  # of them read (all, or the sample)
    seed: int | None  # the sample's seed (None: every object read)
    modes: dict[str, int]  # COMPLIANCE / GOVERNANCE / none: objects checked
    short: list[str]  # retain-until before written + declared days
    unlocked: list[str]  # no retention at all
    legal_holds: list[str]
    overwritten: list[str]  # keys with more than one version (a plain put replaced one)
    earliest_until: str | None

    @property
    def proven(self) -> bool:
        """Every object checked is under COMPLIANCE retention to the declared policy or
        beyond, none was replaced, and the bucket has Object Lock."""
        return (
            self.lock_enabled
            and self.declared_days is not None
            and self.checked > 0
            and not self.short
            and not self.unlocked
            and not self.overwritten
            and set(self.modes) == {"COMPLIANCE"}
        )

    def problems(self) -> list[tuple[str, str]]:
        """(kind, message) for each way the store falls short of the declared retention."""
        out = []
        where = self.location
        if not self.lock_enabled:
            out.append(
                (
                    "no_lock",
                    f"{where}: the bucket has no Object Lock: nothing stops a "
                    "delete or overwrite of the trail (retention is declared, not enforced)",
                )
            )
        if self.declared_days is None:
            out.append(
                (
                    "undeclared",
                    f"{where}: no trail.retention_days is declared to hold "
                    "the store's retention against",
                )
            )
        if self.unlocked:
            out.append(
                (
                    "unlocked",
                    f"{len(self.unlocked):,} of {self.checked:,} object(s) "
                    f"checked have no retention (first: {self.unlocked[0]})",
                )
            )
        if self.short:
            out.append(
                (
                    "short",
                    f"{len(self.short):,} of {self.checked:,} object(s) checked "
                    f"are retained for less than the declared {self.declared_days} days "
                    f"(first: {self.short[0]})",
                )
            )
        if self.modes.get("GOVERNANCE"):
            out.append(
                (
                    "governance",
                    f"{self.modes['GOVERNANCE']:,} object(s) are under "
                    "GOVERNANCE retention, which a user with s3:BypassGovernanceRetention "
                    "can lift: COMPLIANCE mode is what no one can shorten",
                )
            )
        if self.overwritten:
            out.append(
                (
                    "overwritten",
                    f"{len(self.overwritten):,} object(s) have more than "
                    f"one version: replaced after writing (first: {self.overwritten[0]})",
                )
            )
        return out  # fmt: skip

    def describe(self) -> str:
        """One line: proven or not, and on what."""
        sample = (
            f"a sample of {self.checked:,} of {self.objects:,} objects (seed {self.seed})"
            if self.seed is not None
            else f"all {self.checked:,} objects"
        )
        holds = f"; legal holds on {len(self.legal_holds):,}" if self.legal_holds else ""
        if self.proven:
            return (
                f"retention proven by the store: Object Lock COMPLIANCE on {sample}, retained "
                f"at least the declared {self.declared_days} days (earliest retain-until "
                f"{self.earliest_until}){holds}"
            )
        return (
            f"retention not proven by the store ({sample}): "
            + "; ".join(m for _, m in self.problems())
            + holds
        )

    def as_dict(self) -> dict[str, object]:
        """The JSON form (``trail.retention`` of scan's per-pipeline object)."""
        d = dataclasses.asdict(self)
        d["proven"] = self.proven
        d["basis"] = "store"
        return d


def retention_evidence(
    url: str, declared_days: int | None, sample: int = SAMPLE, seed: int = 0
) -> StoreRetention:
    """Read the trail's retention from the store: the bucket's Object Lock configuration, the
    object versions (a key with two was replaced), and for every segment and checkpoint (or a
    seeded sample of ``sample`` of them) its mode, retain-until date and legal hold."""
    import datetime as dt
    import random

    store = S3Store(url)
    c = client()
    errors = _client_errors()
    enabled, default_mode = False, None
    try:
        conf = c.get_object_lock_configuration(Bucket=store.bucket)["ObjectLockConfiguration"]
        enabled = conf.get("ObjectLockEnabled") == "Enabled"
        default_mode = conf.get("Rule", {}).get("DefaultRetention", {}).get("Mode")
    except errors:
        pass  # no configuration: no Object Lock
    keys = [
        k
        for k in store.objects()
        if k.endswith(".jsonl") or (k.endswith(".checkpoint") and "/checkpoints/" in "/" + k)
    ]
    versions: dict[str, int] = {}
    try:
        base = store._k("")
        for page in c.get_paginator("list_object_versions").paginate(
            Bucket=store.bucket, Prefix=base
        ):
            for v in page.get("Versions", []):
                versions[v["Key"]] = versions.get(v["Key"], 0) + 1
    except errors:
        pass  # an unversioned store: replacement is not visible here
    chosen = keys
    used_seed = None
    if len(keys) > sample:
        chosen = sorted(random.Random(seed).sample(keys, sample))  # noqa: S311 - reproducible
        used_seed = seed
    modes: dict[str, int] = {}
    short, unlocked, holds = [], [], []
    earliest: dt.datetime | None = None
    for k in chosen:
        try:
            h = c.head_object(Bucket=store.bucket, Key=k)
        except errors as e:
            raise _error(f"s3://{store.bucket}/{k}", e) from e
        mode = h.get("ObjectLockMode")
        until = h.get("ObjectLockRetainUntilDate")
        name = f"s3://{store.bucket}/{k}"
        if h.get("ObjectLockLegalHoldStatus") == "ON":
            holds.append(name)
        if not mode or until is None:
            unlocked.append(name)
            modes["none"] = modes.get("none", 0) + 1
            continue
        modes[mode] = modes.get(mode, 0) + 1
        earliest = until if earliest is None else min(earliest, until)
        written = h["LastModified"]
        if declared_days is not None and until < written + dt.timedelta(days=declared_days):
            short.append(name)
    return StoreRetention(
        store.url,
        declared_days,
        enabled,
        default_mode,
        len(keys),
        len(chosen),
        used_seed,
        modes,
        short,
        unlocked,
        holds,
        sorted(f"s3://{store.bucket}/{k}" for k, n in versions.items() if n > 1 and k in keys),
        earliest.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if earliest else None,
    )
