"""What every importer shares; compiled by mypyc (see the last paragraph).

The error type, bounded reading, time and number conversion, the agent/tool mapping, and the
counts that go into ``import.json``.

Compiled by mypyc (``setup.py``'s ``MYPYC``), so four rules bite here: an ``except … as e``
name holds one exception type per function (a second handler of another type binding ``e``
raises TypeError when compiled); no msgspec ``Struct`` is defined here (those stay Python
classes elsewhere); monkeypatching a name here is invisible to compiled callers, which call
it directly (patch at the caller or test through the entry point); in an editable install
the built ``.so`` shadows this file, so rebuild after an edit (``pip install -e .``) or
install with ``HARNESS_AUDIT_BUILD_EXT=0``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec
import orjson

from harness_audit.errors import Diagnostic, HarnessAuditError
from harness_audit.importers import reads
from harness_audit.trail.source import RawEvent

MAX_DOCUMENT_BYTES = 256 << 20
"""A whole-document source (JSON, YAML, Python) larger than this is refused before parsing."""
MAX_LINE_BYTES = 64 << 20
"""One JSON Lines record larger than this is refused."""
GZIP_MAGIC = b"\x1f\x8b"
READ_BUFFER = 1 << 16
MAX_DOCUMENT_VALUES = 8_000_000
"""A whole JSON document (or one JSON Lines record) of more than this many values is refused
before it is parsed. Parsing makes a Python object of every value (some 60 to 90 bytes each,
for 2 or 3 bytes of text: ``{},`` repeated), so the bytes limit alone lets a small gzip file
take gigabytes; this bounds a parse at under a gigabyte beyond the text. The count is an upper
bound read from the bytes (separators and brackets, inside strings too), so it costs no parse.
Larger traces are read as JSON Lines, one record at a time."""
VALUES_CHECKED_FROM = 1 << 20
"""Texts shorter than this cannot hold :data:`MAX_DOCUMENT_VALUES` values' worth of harm and
are not counted (one JSON Lines record each, the common case)."""


class ImportFormatError(HarnessAuditError):
    """A source that is not the format asked for (or no supported format), or is malformed."""


class BoundError(ImportFormatError):
    """A source refused by a bound on reading it (its size, decompressed or not; its number of
    values), not for what it says: ``--from FORMAT`` hands it to the reader, which says so."""


def fail(
    file: str, message: str, line: int | None = None, expected: str | None = None
) -> ImportFormatError:
    """An :class:`ImportFormatError` with one diagnostic."""
    return ImportFormatError(Diagnostic(file, message, line, None, expected))


# -- reading ----------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes as stored (a gzip file's compressed bytes)."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise fail(str(path), f"cannot be read: {e.strerror or e}") from e
    return h.hexdigest()


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    try:
        with path.open("rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def open_binary(path: Path) -> IO[bytes]:
    """The file's content as a binary stream, transparently decompressing gzip; while a
    :class:`~harness_audit.importers.reads.ReadLog` is active, the stored bytes are digested
    as they are read (the digest ``import.json`` records)."""
    try:
        raw = path.open("rb", buffering=0)
    except IsADirectoryError as directory:
        raise fail(str(path), "is a directory", expected="a file") from directory
    except OSError as e:
        raise fail(str(path), f"cannot be read: {e.strerror or e}") from e
    log = reads.active()
    stream = io.BufferedReader(
        raw if log is None else reads.HashingRaw(raw, log, str(path)), READ_BUFFER
    )
    try:
        magic = stream.peek(2)[:2]
    except OSError as e:
        stream.close()
        raise fail(str(path), f"cannot be read: {e.strerror or e}") from e
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def read_head(path: Path, size: int = 64 << 10) -> bytes:
    """The first ``size`` bytes of the (decompressed) content, for detection."""
    try:
        with open_binary(path) as f:
            return f.read(size)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise fail(str(path), f"cannot be read: {e}", expected="a readable file") from e


def read_document(path: Path, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The whole (decompressed) content, refusing more than ``max_bytes``: a plain file by its
    size, before a byte is read; a gzip file as it inflates, never past ``max_bytes + 1`` (so
    a gzip bomb costs at most that)."""
    data = b""
    compressed = too_large = False
    try:
        with open_binary(path) as f:
            compressed = isinstance(f, gzip.GzipFile)
            too_large = not compressed and os.fstat(f.fileno()).st_size > max_bytes
            if not too_large:
                data = f.read(max_bytes + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise fail(str(path), f"cannot be read: {e}", expected="a readable file") from e
    if too_large or len(data) > max_bytes:
        raise BoundError(
            Diagnostic(
                str(path),
                f"content is larger than {max_bytes:,} bytes"
                + (" once decompressed" if compressed else ""),
                None,
                None,
                "a smaller document, or JSON Lines (read as a stream)",
            )
        )
    return data


_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_RUN = b"0" * 20
_NOT_BEFORE_A_NUMBER = frozenset(
    b'.eE+"_' + bytes(range(48, 58)) + bytes(range(65, 91)) + bytes(range(97, 123))
)


def _has_big_int(raw: bytes) -> bool:
    """Whether a JSON text may hold an integer of 20 digits or more (past 64 bits). A JSON
    number is never preceded by a quote, a letter, a point or an exponent sign, so a run of
    digits inside a string (an all-digit id) is passed over; a run that may be a number costs
    only the slower parse. Byte-level finds, no per-byte Python."""
    runs = raw.translate(_DIGITS_AS_ZERO)
    at = runs.find(_RUN)
    while at >= 0:
        if at == 0 or raw[at - 1] not in _NOT_BEFORE_A_NUMBER:
            return True
        end = runs.find(b" ", at)
        if end < 0:
            return False
        at = runs.find(_RUN, end)
    return False


def json_loads(raw: bytes) -> Any:
    """orjson, except for text with integers past 64 bits (orjson would make them floats; SDK
    span dumps carry 128-bit trace ids as integers): msgspec keeps them exact (as the standard
    library does, at several times its speed: a document of SDK span dumps is all such text)."""
    if _has_big_int(raw):
        try:
            return msgspec.json.decode(raw)
        except (msgspec.DecodeError, RecursionError) as e:
            raise orjson.JSONDecodeError(str(e), raw.decode("utf-8", "replace"), 0) from None
    return orjson.loads(raw)


def count_values(raw: bytes) -> int:
    """An upper bound of the values (keys included) in a JSON text: every value but the first
    follows a comma or a colon, or opens its container's first element after a bracket.
    Byte-level counts, no parse (a separator inside a string counts too): one pass that keeps
    only those four bytes (four ``count`` passes took three times as long, more than a third of
    the parse itself)."""
    return len(raw.translate(None, _NOT_SEPARATORS)) + 1


_NOT_SEPARATORS = bytes(b for b in range(256) if b not in b",:[{")


def check_values(file: str, raw: bytes, line: int | None = None) -> None:
    """Refuse a JSON text of more than :data:`MAX_DOCUMENT_VALUES` values before parsing it."""
    if len(raw) < VALUES_CHECKED_FROM:
        return
    n = count_values(raw)
    if n > MAX_DOCUMENT_VALUES:
        raise BoundError(
            Diagnostic(
                file,
                f"holds up to {n:,} JSON values, more than the {MAX_DOCUMENT_VALUES:,} one "
                "document or record may (parsing it would take gigabytes)",
                line,
                None,
                "a smaller document, or JSON Lines (read a record at a time)",
            )
        )


def load_json(path: Path, data: bytes | None = None) -> Any:
    """Parse a whole JSON document, bounded (:data:`MAX_DOCUMENT_BYTES`,
    :data:`MAX_DOCUMENT_VALUES`); errors name the file."""
    raw = read_document(path) if data is None else data
    check_values(str(path), raw)
    try:
        return json_loads(raw)
    except orjson.JSONDecodeError as e:
        line = raw[: e.pos].count(b"\n") + 1 if e.pos else None
        raise fail(str(path), f"not JSON: {e.msg}", line, "a JSON document") from None


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line) of a JSON Lines source, bounded per line, blank lines skipped."""
    name = str(path)
    with open_binary(path) as f:
        n = 0
        try:
            while True:
                raw = f.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                n += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise fail(name, f"line is longer than {MAX_LINE_BYTES:,} bytes", n)
                if not raw.isspace():  # (no copy of the line, as strip() would make)
                    yield n, raw
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise fail(name, f"cannot be read: {e}", n + 1) from e


def parse_line(file: str, n: int, raw: bytes) -> Any:
    """One JSON Lines record (bounded: :data:`MAX_LINE_BYTES`, :data:`MAX_DOCUMENT_VALUES`)."""
    check_values(file, raw, n)
    try:
        return json_loads(raw)
    except orjson.JSONDecodeError as e:
        raise fail(file, f"not JSON: {e.msg}", n, "one JSON value a line") from None


# -- time and numbers -------------------------------------------------------------------------


def ns_to_ts(ns: int) -> str:
    """Unix nanoseconds as RFC 3339 UTC with ``Z`` (milli, micro or nano digits as needed)."""
    if ns < 0:
        ns = 0
    elif ns > 4_000_000_000_000_000_000 and ns > 253402300799_999999999:  # (small ints first)
        ns = 253402300799_999999999
    secs = ns // 1_000_000_000
    frac = ns - secs * 1_000_000_000
    base = _SECONDS.get(secs)
    if base is None:
        # a trace's events fall in few seconds: the date is formatted once per second seen
        base = dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[secs] = base
    # three digits at a time from a table: a format per event was a tenth of collect's mapping
    if frac % 1_000_000 == 0:
        return f"{base}.{_DIGITS3[frac // 1_000_000]}Z"
    if frac % 1000 == 0:
        micros = frac // 1000
        return f"{base}.{_DIGITS3[micros // 1000]}{_DIGITS3[micros % 1000]}Z"
    millis, rest = frac // 1_000_000, frac % 1_000_000
    return f"{base}.{_DIGITS3[millis]}{_DIGITS3[rest // 1000]}{_DIGITS3[rest % 1000]}Z"


_SECONDS: dict[int, str] = {}
"""``YYYY-MM-DDTHH:MM:SS`` of a Unix second, remembered (bounded)."""
_DIGITS3 = [f"{i:03d}" for i in range(1000)]


def run_start(run: str, span: str, ts_ns: int | None, pipeline: str) -> dict[str, Any]:
    """The ``run_start`` an importer synthesises for a source trace (IMPORT.md): the harness
    opens the run, at its first moment (``ts`` none when the source states no time)."""
    return {
        "ts": None if ts_ns is None else ns_to_ts(ts_ns),
        "run": run,
        "span": span,
        "parent": None,
        "agent": "harness",
        "kind": "run_start",
        "pipeline": pipeline,
    }


def emit_run(
    file: str,
    start: tuple[int, dict[str, Any]],
    events: Iterable[tuple[int, dict[str, Any]]],
    end: tuple[int, dict[str, Any]],
    stats: ImportStats,
) -> Iterator[RawEvent]:
    """A session-shaped run in trail order: its ``run_start`` (line, event), its ``events``
    ((line, event), in trail order), then its ``run_end``, each counted. An
    event's ``parent`` is its ``target`` when that is an earlier event of the run, else the
    ``run_start``; a span seen before gets its kind appended (one span, one event)."""
    begin = start[1]["span"]
    yield RawEvent(file, start[0], start[1])
    stats.events["run_start"] += 1
    seen = {begin}
    for line, ev in events:
        tgt = ev.get("target")
        ev["parent"] = tgt if isinstance(tgt, str) and tgt in seen else begin
        if ev["span"] in seen:
            ev["span"] = f"{ev['span']}:{ev['kind']}"
        seen.add(ev["span"])
        stats.events[ev["kind"]] += 1
        yield RawEvent(file, line, ev)
    yield RawEvent(file, end[0], end[1])
    stats.events["run_end"] += 1
    stats.runs += 1


def run_end(
    run: str, start_span: str, ts_ns: int | None, pipeline: str, outcome: str
) -> dict[str, Any]:
    """The synthesised ``run_end`` (span ``<run>:run_end``, under the run's ``run_start``;
    ``ts`` none when the source states no time)."""
    return {
        "ts": None if ts_ns is None else ns_to_ts(ts_ns),
        "run": run,
        "span": f"{run}:run_end",
        "parent": start_span,
        "agent": "harness",
        "kind": "run_end",
        "pipeline": pipeline,
        "outcome": outcome,
    }


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9})\d*)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def ts_to_ns(value: Any) -> int | None:
    """An RFC 3339 / ISO 8601 text, or Unix nanoseconds (int or decimal text), as nanoseconds."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 64:
        return int(value)  # the common case: OTLP/JSON's decimal nanoseconds
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            return None
        return int(value * 1e9) if value < 1e11 else int(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    fast = _utc_ns(text)
    if fast >= 0:
        return fast
    m = _RFC3339.match(text)
    if not m:
        return None
    _, _, _, h, mi, s, frac, tz = m.groups()
    hour, minute = int(h), int(mi)
    days = _days_of(text[:10])
    if days is None or hour > 23 or minute > 59:
        return None  # what datetime refuses: no such day, hour or minute
    offset = 0
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + min(int(s), 59) - offset
    nanos = int((frac or "0").ljust(9, "0")[:9])
    return max(0, seconds * 1_000_000_000 + nanos)


def _utc_ns(text: str) -> int:
    """:func:`ts_to_ns` of the shapes nearly every trace writes, ``YYYY-MM-DDTHH:MM:SS[.f…]``
    then ``Z`` or an offset ``±HH:MM`` (Phoenix and Python's ``isoformat()`` write
    ``+00:00``), read without the pattern (its match and groups were most of a timestamp's
    reading), its minute remembered; -1 for any other text, which the pattern then reads (the
    same value: tests)."""
    n = len(text)
    offset = 0
    if n >= 25 and text[n - 3] == ":" and text[n - 6] in "+-":
        hh, mm = text[n - 5 : n - 3], text[n - 2 :]
        if not (hh.isdigit() and mm.isdigit()):
            return -1
        offset = int(hh) * 3600 + int(mm) * 60  # not bounded: the pattern takes +99:99 too
        if text[n - 6] == "-":
            offset = -offset
        end = n - 6
    elif n >= 20 and text[n - 1] == "Z":
        end = n - 1
    else:
        return -1
    if text[16] != ":" or not text.isascii():
        return -1
    head = text[:16]
    minute = _MINUTES.get(head)
    if minute is None:
        minute = _minute_of(head)
        if len(_MINUTES) >= 4096:
            _MINUTES.clear()
        _MINUTES[head] = minute
    ss = text[17:19]
    if minute < 0 or not ss.isdigit():
        return -1
    nanos = 0
    if end > 19:
        frac = text[20:end]
        if text[19] not in ".," or not frac.isdigit():
            return -1
        nanos = int(frac[:9].ljust(9, "0"))
    return max(0, (minute + min(int(ss), 59) - offset) * 1_000_000_000 + nanos)


_MINUTES: dict[str, int] = {}
"""Seconds since the epoch of a ``YYYY-MM-DDTHH:MM`` text (-1: not one), remembered: a trace's
timestamps share a few minutes."""


def _minute_of(head: str) -> int:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM`` (ASCII), -1 for any other text or for
    no such day, hour or minute (what the pattern's reading refuses too)."""
    if head[4] != "-" or head[7] != "-" or head[10] != "T" or head[13] != ":":
        return -1
    parts = (head[:4], head[5:7], head[8:10], head[11:13], head[14:16])
    if not all(p.isdigit() for p in parts):
        return -1
    hour, minute = int(parts[3]), int(parts[4])
    days = _days_of(head[:10])
    if days is None or hour > 23 or minute > 59:
        return -1
    return days * 86400 + hour * 3600 + minute * 60


_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_DAYS: dict[str, int | None] = {}
"""Days since 1970-01-01 of a ``YYYY-MM-DD`` text (None: no such day), remembered: a trace's
timestamps share a few days, and a datetime per timestamp was most of its parse."""


def _days_of(ymd: str) -> int | None:
    """Days since the epoch of ``YYYY-MM-DD`` (digits checked by the caller), None for no such
    date (as ``datetime`` refuses it)."""
    if ymd in _DAYS:
        return _DAYS[ymd]
    try:
        got: int | None = dt.date(int(ymd[:4]), int(ymd[5:7]), int(ymd[8:10])).toordinal()
    except ValueError:
        got = None
    days = None if got is None else got - _EPOCH_DAY
    if len(_DAYS) >= 4096:
        _DAYS.clear()
    _DAYS[ymd] = days
    return days


def epoch_ns(value: Any) -> Any:
    """An epoch number in the unit its size says (s, ms, µs or ns) as nanoseconds; anything
    else as is (RFC 3339 text for :func:`ts_to_ns`). LangSmith's JS SDK and Phoenix's
    dataframe write epoch milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if value < 0:
        return None
    for limit, scale in ((1e11, 1_000_000_000), (1e14, 1_000_000), (1e17, 1_000)):
        if value < limit:
            return int(value * scale)
    return int(value)


def as_int(value: Any) -> int | None:
    """A non-negative integer from an int, an integral float or decimal text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 2**53 - 1 else None
    if isinstance(value, float):
        if math.isfinite(value) and value >= 0 and value == int(value) and value <= 2**53 - 1:
            return int(value)
        return None
    if isinstance(value, str) and 0 < len(value) <= 20:
        text = value.strip()
        if text.isascii() and text.isdigit():
            return as_int(int(text))
        try:
            return as_int(float(text))
        except ValueError:
            return None
    return None


def as_float(value: Any) -> float | None:
    """A finite number from a number or decimal text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            f = float(value.strip())
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def usd_to_microusd(value: Any) -> int | None:
    """US dollars as rounded integer micro-dollars; None when not a non-negative number."""
    f = as_float(value)
    if f is None or f < 0 or f > 9e9:
        return None
    return round(f * 1_000_000)


def text(value: Any, limit: int = 512) -> str | None:
    """A string value cut to ``limit`` characters, or None when not a non-empty string."""
    if isinstance(value, str) and value:
        return value[:limit]
    return None


def hex_id(value: Any, width: int) -> str | None:
    """A span or trace id as lowercase hex: integers zero-padded to ``width`` digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return format(value, f"0{width}x") if value >= 0 else None
    if isinstance(value, str) and value and len(value) <= 128:
        v = value.strip()
        if v.startswith(("0x", "0X")):
            v = v[2:]
        return v.lower() if re.fullmatch(r"[0-9A-Za-z_\-:.]+", v) else None
    return None


def normalise_id(name: str) -> str:
    """An id normalised as ``--manifest`` matching does: lower-case, non-alphanumerics to ``_``."""
    return re.sub(r"[^a-z0-9]", "_", name.lower())


def role_key(role: str) -> str:
    """A role as ``--manifest`` matches it: one line (as a draft writes it, at most 300
    characters), then :func:`normalise_id`."""
    return normalise_id(" ".join(role.split())[:300])


# -- mapping ----------------------------------------------------------------------------------

EFFECTS = ("read", "write", "destructive", "external")
MAX_LISTED = 10_000
"""Agent and tool names listed in ``import.json``'s mapping, each: the listing is bounded, as
the reading is, when a source names a new tool in every span (the events keep every name)."""


@dataclass(frozen=True)
class ScoreRule:
    """When a numeric score passes: below ``pass_below`` and/or at or above
    ``pass_at_or_above`` (both given: both hold)."""

    pass_below: float | None = None
    pass_at_or_above: float | None = None

    def verdict(self, value: float) -> str:
        """``pass`` or ``fail`` of ``value`` under this rule."""
        ok = (self.pass_below is None or value < self.pass_below) and (
            self.pass_at_or_above is None or value >= self.pass_at_or_above
        )
        return "pass" if ok else "fail"

    def __str__(self) -> str:
        parts = []
        if self.pass_below is not None:
            parts.append(f"pass_below {self.pass_below:g}")
        if self.pass_at_or_above is not None:
            parts.append(f"pass_at_or_above {self.pass_at_or_above:g}")
        return ", ".join(parts)


SCORE_RULE_HINT = "scores: {toxicity: {pass_below: 0.5}, helpfulness: {pass_at_or_above: 0.8}}"


def score_rules(data: Any, name: str, line: int | None) -> dict[str, ScoreRule]:
    """The score pass rules of a ``scores:`` mapping (a clear error for anything else)."""
    import math

    if not isinstance(data, dict):
        raise fail(name, "`scores:` must map score names to a pass rule", line, SCORE_RULE_HINT)
    out: dict[str, ScoreRule] = {}
    for k, v in data.items():
        keys = {"pass_below", "pass_at_or_above"}
        if not isinstance(v, dict) or not v or not set(v) <= keys:
            raise fail(
                name,
                f"score {str(k)[:80]!r}: a pass rule is pass_below and/or pass_at_or_above",
                line,
                SCORE_RULE_HINT,
            )
        nums: dict[str, float] = {}
        for rk, rv in v.items():
            if isinstance(rv, bool) or not isinstance(rv, (int, float)) or not math.isfinite(rv):
                raise fail(
                    name,
                    f"score {str(k)[:80]!r}: {rk} must be a finite number",
                    line,
                    SCORE_RULE_HINT,
                )
            nums[rk] = float(rv)
        out[str(k)] = ScoreRule(nums.get("pass_below"), nums.get("pass_at_or_above"))
    return out


@dataclass
class Mapping:
    """Source agent and tool names -> manifest ids, effects, scopes (``--map``, ``--manifest``)."""

    agents: dict[str, str] = field(default_factory=dict)
    tools: dict[str, tuple[str, str]] = field(default_factory=dict)
    manifest_agents: dict[str, str] = field(default_factory=dict)  # normalised id -> id
    manifest_tools: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    manifest_roles: dict[str, str] = field(default_factory=dict)  # normalised role -> id
    scores: dict[str, ScoreRule] = field(default_factory=dict)
    """Pass rules of numeric evaluation scores by score name (``--map``'s ``scores:``, the
    manifest's ``x-scores:``); a numeric score with none is ``not_proven`` (issue 25, item 4)."""
    source: list[str] = field(default_factory=list)
    used_agents: dict[str, str] = field(default_factory=dict)
    used_tools: dict[str, dict[str, str]] = field(default_factory=dict)
    unlisted: Counter[str] = field(default_factory=Counter)  # uses past MAX_LISTED names

    def agent(self, name: str) -> str:
        """The manifest id for a source agent name (the name itself when nothing maps it)."""
        got = self._agent(name)
        if name in self.used_agents or len(self.used_agents) < MAX_LISTED:
            self.used_agents.setdefault(name, got)
        else:
            self.unlisted["agents"] += 1
        return got

    def _agent(self, name: str) -> str:
        if name in self.agents:
            return self.agents[name]
        if self.manifest_agents:
            if name in self.manifest_agents.values():
                return name
            norm = normalise_id(name)
            if norm in self.manifest_agents:
                return self.manifest_agents[norm]
            # a framework naming agents by their role (CrewAI spans): the manifest agent whose
            # `role` it is (issue 25, item 5); an ambiguous role maps to nothing
            got = self.manifest_roles.get(role_key(name))
            if got:
                return got
        return name

    def tool(self, name: str, agent: str) -> tuple[str, str]:
        """(effect, scope) of a tool; ``unknown``/``unscoped`` when nothing declares it."""
        got = self.tools.get(name)
        how = "map"
        if got is None:
            per_agent = self.manifest_tools.get(agent, {})
            got = per_agent.get(name)
            how = "manifest"
            if got is None:
                for tools in self.manifest_tools.values():
                    if name in tools:
                        got = tools[name]
                        break
        if got is None:
            got, how = ("unknown", "unscoped"), "undeclared"
        if name in self.used_tools or len(self.used_tools) < MAX_LISTED:
            self.used_tools.setdefault(name, {"effect": got[0], "scope": got[1], "from": how})
        else:
            self.unlisted["tools"] += 1
        return got

    def summary(self) -> dict[str, Any]:
        """The mapping used, for ``import.json``: every name up to :data:`MAX_LISTED` agents and
        tools; past that, how many uses of names not listed (``unlisted``)."""
        out: dict[str, Any] = {
            "sources": list(self.source),
            "agents": dict(sorted(self.used_agents.items())),
            "tools": dict(sorted(self.used_tools.items())),
        }
        if self.unlisted:
            out["unlisted"] = {
                "listed_at_most": MAX_LISTED,
                **dict(sorted(self.unlisted.items())),
            }
        return out


def load_mapping(
    map_file: Path | None = None, manifest: Path | None = None, named: str | None = None
) -> Mapping:
    """A :class:`Mapping` from ``--map FILE`` (YAML) and/or ``--manifest M`` (``named`` so in
    the import's record when the run made it: a draft in a temporary folder)."""
    from harness_audit.manifest import load_manifest
    from harness_audit.manifest.yamlsafe import load_yaml

    m = Mapping()
    if manifest is not None:
        pipeline = load_manifest(manifest)
        for a in pipeline.agents:
            m.manifest_agents[normalise_id(a.id)] = a.id
            m.manifest_tools[a.id] = {t.name: (t.effect, t.scope or "unscoped") for t in a.tools}
            if a.role:
                k = role_key(a.role)
                # two agents with one role: the name says neither, so it maps to neither
                m.manifest_roles[k] = "" if k in m.manifest_roles else a.id
        raw = load_yaml(manifest).data
        rules = raw.get("x-scores") if isinstance(raw, dict) else None
        if rules is not None:
            m.scores.update(score_rules(rules, f"{manifest}: x-scores", None))
        m.source.append(named or str(manifest))
    if map_file is not None:
        doc = load_yaml(map_file)
        data = doc.data
        name = str(map_file)
        if not isinstance(data, dict) or not set(data) <= {"agents", "tools", "scores"}:
            raise fail(
                name,
                "a map has only `agents:`, `tools:` and `scores:` mappings",
                1,
                "agents: {source name: manifest id}, tools: {name: {effect, scope}}, "
                "scores: {name: {pass_below: N}}",
            )
        if data.get("scores") is not None:
            mk = doc.mark(("scores",))
            m.scores.update(score_rules(data["scores"], name, mk.line if mk else None))
        agents = data.get("agents") or {}
        tools = data.get("tools") or {}
        if not isinstance(agents, dict) or not all(isinstance(v, str) for v in agents.values()):
            mk = doc.mark(("agents",))
            raise fail(
                name, "`agents:` must map source names to manifest ids", mk.line if mk else None
            )
        m.agents.update({str(k): v for k, v in agents.items()})
        if not isinstance(tools, dict):
            raise fail(name, "`tools:` must be a mapping", None)
        for k, v in tools.items():
            mk = doc.mark(("tools", k))
            if not isinstance(v, dict) or v.get("effect") not in EFFECTS:
                raise fail(
                    name,
                    f"tool {k!r} needs an effect",
                    mk.line if mk else None,
                    "effect: read|write|destructive|external",
                )
            scope = v.get("scope", "unscoped")
            if not isinstance(scope, str) or not scope:
                raise fail(name, f"tool {k!r}: scope must be text", mk.line if mk else None)
            m.tools[str(k)] = (str(v["effect"]), scope)
        m.source.append(name)
    return m


# -- counts -----------------------------------------------------------------------------------


@dataclass
class ImportStats:
    """Counts for ``import.json``: events per kind mapped, source records dropped per reason."""

    events: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    records: int = 0
    mapped: int = 0  # source records that became (or went into) an event
    runs: int = 0
    notes: list[str] = field(default_factory=list)
    units: Counter[str] = field(default_factory=Counter)  # traces, sessions: not records

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` source records dropped for ``reason`` (nothing when ``n`` is 0). Every
        record read is either mapped (``mapped``) or dropped, once: read = mapped + dropped."""
        if n > 0:
            self.dropped[reason] += n

    def unit(self, reason: str, n: int = 1) -> None:
        """Count ``n`` traces or sessions (groups of records, not records) that made no run;
        their records are counted one by one already."""
        if n > 0:
            self.units[reason] += n

    def note(self, message: str) -> None:
        """Remember a caveat once (bounded)."""
        if message not in self.notes and len(self.notes) < 50:
            self.notes.append(message)


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, else an empty one."""
    return value if isinstance(value, list) else []
