"""The compiled verifier core and the pure one give the same reports, byte for byte.

Every trail in the test data, tampered variants like the property tests make, and
hypothesis-generated events (odd strings, escapes, non-ASCII, wrong types, extra fields) go
through both cores, serial and parallel, and the whole reports are compared. The compiled
core's own acceptance test (``_cverify.check``) is held to the rule that makes the results
equal by construction: it accepts a line only if the pure core reports nothing on it (its
fast path, or the slow path's quick check of events with ``x_`` fields). Issue 28.1: events
with ``x_`` fields and text beyond ASCII, valid and invalid, and the three trail kinds of the
bench (bench generator, schema generator, imported OTLP spans) through both cores.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_audit.trail import _core
from harness_audit.trail import events as ev_mod
from harness_audit.trail import verify as v
from harness_audit.trail.canonical import CanonicalizationError, canonicalize
from harness_audit.trail.merkle import CompactTree
from harness_audit.trail.note import Checkpoint, sign_note
from harness_audit.trail.pieces import Pieces

from .trailkit import SIGNER, write_trail

ROOT = Path(__file__).resolve().parent.parent
V = [SIGNER.verifier]

pytestmark = pytest.mark.skipif(
    not _core.available(), reason="the compiled core is not built (no compiler or libssl-dev)"
)


def _cverify() -> Any:
    from harness_audit.trail import _cverify as c  # type: ignore[attr-defined]

    return c


def report(paths: list[Path], jobs: int, **kw: Any) -> tuple[Any, ...]:
    r = v.verify_trail(paths, kw.pop("verifiers", V), jobs=jobs, **kw)
    return (
        r.files,
        r.events,
        r.size,
        [p.as_dict() for p in r.problems],
        r.dropped,
        r.anchor,
        r.checkpoints_found,
        r.checkpoints_valid,
        r.root,
        r.status,
    )


def same(paths: list[Path], jobs: tuple[int, ...] = (1, 2), **kw: Any) -> tuple[Any, ...]:
    """Both cores' reports for each --jobs, asserted equal; the serial one is returned."""
    first: tuple[Any, ...] | None = None
    for j in jobs:
        with _core.using("python"):
            a = report(paths, j, **dict(kw))
        with _core.using("c"):
            b = report(paths, j, **dict(kw))
        assert b == a, f"the cores differ with --jobs {j}"
        first = first or a
    assert first is not None
    return first


# --- events ---------------------------------------------------------------------------------


def ascii_event(i: int) -> dict[str, Any]:
    """Events like bench/gen_trail.py's: ASCII, so the compiled core takes them."""
    e: dict[str, Any] = {
        "v": 1,
        "seq": i,
        "ts": f"2026-09-14T03:{i // 60 % 60:02d}:{i % 60:02d}.345Z",
        "run": f"run-{i // 10}",
        "span": f"s{i}",
        "parent": f"s{i - 1}" if i % 10 else None,
        "agent": "credit_risk",
    }
    k = i % 10
    if k == 0:
        e.update(kind="run_start", agent="harness", pipeline="bench")
    elif k == 9:
        e.update(kind="run_end", agent="harness", pipeline="bench", outcome="ok")
    elif k in (1, 6):
        e.update(
            kind="model_call",
            model={"provider": "openai", "family": "gpt-4o", "name": "gpt-4o"},
            input_tokens=1234,
            output_tokens=321,
            cost_microusd=4567,
            input_digest=hashlib.sha256(b"%d" % i).hexdigest(),
        )
    elif k == 2:
        e.update(
            kind="tool_call",
            tool="lookup",
            effect="read",
            scope="bureau:read",
            outcome="ok",
            target="bureau",
            args_digest=hashlib.sha256(b"a").hexdigest(),
        )
    elif k == 3:
        e.update(
            kind="data_access",
            resource="applicant/1",
            scope="documents:read",
            data_class="pii",
            outcome="allowed",
        )
    elif k == 4:
        e.update(
            kind="decision",
            subject="app",
            outcome="approve",
            rationale='says "ok"\t\\ fine\u0001',
            evidence=[f"s{i - 1}", "s0"],
            confidence_bp=8700,
        )
    elif k == 5:
        e.update(
            kind="verification",
            target=f"s{i - 1}",
            verdict="pass",
            model="human:alice" if i % 20 == 5 else {"provider": "a", "family": "b", "name": "c"},
        )
    elif k == 7:
        e.update(kind="approval", target=f"s{i - 1}", approver="human:bob", verdict="approved")
    elif i // 10 % 4 == 0:
        e.update(kind="budget_check", spent_microusd=10, cap_microusd=100, outcome="ok")
    elif i // 10 % 4 == 1:
        e.update(kind="spawn", child="doc_check", depth=1)
    elif i // 10 % 4 == 2:
        e.update(kind="error", message="timeout\n")
    else:
        e.update(
            kind="approval_request", target=f"s{i - 1}", approver="human:bob", args_digest="ab" * 32
        )
    return e


def seal(
    events: list[dict[str, Any]], start_prev: str = "0" * 64, fix_hash: bool = True
) -> tuple[list[bytes], CompactTree]:
    """Chain and hash events as the writer does (prev and hash from JCS), as lines."""
    lines = []
    tree = CompactTree()
    prev = start_prev
    for e in events:
        e = dict(e)
        if fix_hash:
            e.setdefault("prev", prev)
        body = {k: x for k, x in e.items() if k != "hash"}
        try:
            digest = hashlib.sha256(b"\x00" + canonicalize(body)).digest()
        except CanonicalizationError:
            digest = bytes(32)
        if fix_hash:
            e.setdefault("hash", digest.hex())
        tree.push(digest)
        prev = e["hash"] if isinstance(e.get("hash"), str) else prev
        try:
            lines.append(canonicalize(e) + b"\n")
        except CanonicalizationError:
            lines.append(json.dumps(e).encode() + b"\n")
    return lines, tree


def write(
    folder: Path,
    lines: list[bytes],
    checkpoint_size: int | None = None,
    tree: CompactTree | None = None,
) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "trail-000001.jsonl").write_bytes(b"".join(lines))
    if tree is not None and checkpoint_size:
        note = sign_note(
            Checkpoint("harness-audit/test", checkpoint_size, tree.root()).text(), [SIGNER]
        )
        (folder / "trail.checkpoint").write_text(note)
    return folder


# --- the trails of the test data ------------------------------------------------------------


def data_trails() -> list[Path]:
    found = {
        p.parent for p in (ROOT / "sample_pipelines").rglob("*.jsonl") if p.parent.name == "trails"
    }
    singles = [p for p in (ROOT / "sample_pipelines").rglob("*.jsonl") if p.parent.name != "trails"]
    singles += list((ROOT / "tests" / "data").rglob("*.jsonl"))
    return sorted(found) + sorted(singles)


@pytest.mark.parametrize("trail", data_trails(), ids=lambda p: p.name)
def test_every_trail_of_the_test_data(trail: Path) -> None:
    keys = list((trail.parent / "keys").glob("*.pub")) if trail.is_dir() else []
    from harness_audit.trail.note import Verifier

    verifiers = [Verifier.parse(k.read_text().strip()) for k in keys] or V
    same([trail], verifiers=verifiers)


def test_the_compiled_core_takes_ascii_events(tmp_path: Path) -> None:
    lines, tree = seal([ascii_event(i) for i in range(200)])
    assert all(_cverify().check(line.rstrip(b"\n")) for line in lines)
    t = write(tmp_path / "t", lines, 200, tree)
    r = same([t], jobs=(1, 2, 3))
    assert r[-1] == "verified" and r[1] == 200


def test_clean_and_tampered_trails_of_the_writer(tmp_path: Path) -> None:
    t = write_trail(tmp_path / "t", 300, checkpoint_every=100, segment_bytes=30_000)
    assert same([t], jobs=(1, 3))[-1] == "verified"
    seg = sorted(t.glob("*.jsonl"))[1]
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"credit_risk"', b'"credit_rusk"')
    del lines[7]
    lines.insert(9, lines[9])
    lines[12] = b"not json\n"
    seg.write_bytes(b"".join(lines))
    assert same([t], jobs=(1, 3))[-1] == "failed"


# --- tampering ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine() -> list[bytes]:
    return seal([ascii_event(i) for i in range(40)])[0]


def _mutate(lines: list[bytes], ops: list[tuple[int, int, int, bytes]]) -> list[bytes]:
    lines = list(lines)
    for op, i, j, payload in ops:
        if not lines:
            break
        i %= len(lines)
        line = lines[i]
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[j % len(lines)])
        elif op == 2:
            k = j % len(lines)
            lines[i], lines[k] = lines[k], lines[i]
        elif op == 3:  # one byte changed
            k = j % len(line)
            lines[i] = line[:k] + payload[:1] + line[k + 1 :]
        elif op == 4:  # bytes inserted
            k = j % len(line)
            lines[i] = line[:k] + payload + line[k:]
        elif op == 5:  # bytes deleted
            k = j % len(line)
            lines[i] = line[:k] + line[k + 1 + len(payload) :]
        elif op == 6:  # a field's value replaced
            lines[i] = line.replace(b'"credit_risk"', b'"' + payload.replace(b'"', b"") + b'"')
        else:  # the file cut
            data = b"".join(lines)
            cut = j % (len(data) + 1)
            return data[:cut].splitlines(keepends=True)
    return lines


OPS = st.lists(
    st.tuples(
        st.integers(0, 7),
        st.integers(0, 1000),
        st.integers(0, 10_000),
        st.binary(min_size=1, max_size=6)
        | st.sampled_from(
            [
                b"\\",
                b'"',
                b"\\u00e9",
                b"\xc3\xa9",
                b" ",
                b"0",
                b"-",
                b"\n",
                b"A",
                b"\x00",
                b"1.5",
                b"99999999999999999",
            ]
        ),
    ),
    min_size=1,
    max_size=4,
)
CASES = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@CASES
@given(OPS)
def test_tampered_trails(
    pristine: list[bytes], tmp_path: Path, ops: list[tuple[int, int, int, bytes]]
) -> None:
    t = write(tmp_path / "t", _mutate(pristine, ops))
    same([t])


def reseal(line: bytes) -> bytes:
    """The line with its hash recomputed (an attacker who rewrote the event)."""
    try:
        obj = json.loads(line)
    except ValueError:
        return line
    obj.pop("hash", None)
    obj["hash"] = hashlib.sha256(b"\x00" + canonicalize(obj)).hexdigest()
    return canonicalize(obj) + b"\n"


@pytest.mark.parametrize("resealed", [False, True])
@pytest.mark.parametrize("field", [b'"prev":"', b'"hash":"', b'"seq":', b'"ts":"'])
@pytest.mark.parametrize("at", [0, 1, 31, 62, 63])
def test_one_character_of_a_checked_field(
    pristine: list[bytes], tmp_path: Path, field: bytes, at: int, resealed: bool
) -> None:
    lines = list(pristine)
    for k, new in ((5, b"f"), (6, b"A"), (7, b"g"), (8, b"1")):
        i = lines[k].index(field) + len(field)
        i += at % 2 if field == b'"seq":' else at % 20 if field == b'"ts":"' else at
        old = lines[k][i : i + 1]
        lines[k] = lines[k][:i] + (new if new != old else b"e") + lines[k][i + 1 :]
        if resealed and field != b'"hash":"':
            lines[k] = reseal(lines[k])
    same([write(tmp_path / "t", lines)])


def test_small_chunks_long_lines_and_the_problem_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows, markers for over-long lines and the per-range cap, with tiny chunks."""
    from harness_audit.trail import badline, scan

    for module in (v, scan, badline):
        for name, value in (("CHUNK", 2048), ("MAX_LINE", 700), ("MAX_PROBLEMS", 50)):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)
    rng = random.Random(7)
    events = [ascii_event(i) for i in range(400)]
    for i in range(0, 400, 3):
        events[i]["ts"] = "yesterday"  # a pattern problem, found per window
    for i in range(1, 400, 17):
        events[i]["message_text"] = "x" * rng.choice([10, 800, 1500, 3000])  # extra field
    lines, tree = seal(events)
    for i in range(5, 400, 23):
        lines[i] = lines[i].replace(b'"seq":', b'"seq": ')
    lines.insert(100, b"x" * 5000 + b"\n")
    t = write(tmp_path / "t", [*lines, b'{"torn":'], 400, tree)
    r = same([t], jobs=(1, 2, 4))
    assert r[4] > 0  # dropped: the cap was reached


# --- generated events -----------------------------------------------------------------------

TEXT = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    | st.text(st.sampled_from('ab"\\\x00\x01\x08\t\n\x0c\r\x1f\x7f é/'), max_size=8)
    | st.sampled_from(["", "human:x", "human:", "read", "ok", "pass", "approved", "denied"])
)
HEX = (
    st.text("0123456789abcdef", min_size=64, max_size=64)
    | st.text("0123456789abcdefA", min_size=64, max_size=64)
    | st.text("0123456789abcdefg", min_size=63, max_size=65)
)
TS = (
    st.sampled_from(
        [
            "2026-09-14T03:47:12.345Z",
            "2026-09-14T03:47:12Z",
            "2026-09-14T03:47:12.123456789Z",
            "2026-09-14T03:47:12.Z",
            "2026-09-14 03:47:12Z",
            "2026-09-14T03:47:12.1234567890Z",
        ]
    )
    | TEXT
)
INT = st.integers(0, 20) | st.integers(-2, 2**53 + 2) | st.sampled_from([10_000, 10_001])
ANY: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | INT | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
MODEL = st.fixed_dictionaries({"provider": TEXT, "family": TEXT, "name": TEXT}) | TEXT | ANY
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "pipeline": TEXT,
    "outcome": TEXT,
    "model": MODEL,
    "input_tokens": INT,
    "output_tokens": INT,
    "cost_microusd": INT,
    "input_digest": HEX,
    "output_digest": HEX,
    "tool": TEXT,
    "effect": st.sampled_from(["read", "write", "destructive", "external", "unknown", "x"]),
    "scope": TEXT,
    "target": TEXT,
    "args_digest": HEX,
    "resource": TEXT,
    "data_class": TEXT,
    "subject": TEXT,
    "rationale": TEXT,
    "evidence": st.lists(TEXT, max_size=3) | ANY,
    "confidence_bp": INT,
    "verdict": st.sampled_from(["pass", "fail", "approved", "rejected"]),
    "approver": TEXT,
    "child": TEXT,
    "depth": INT,
    "spent_microusd": INT,
    "cap_microusd": INT,
    "message": TEXT,
}
KIND_FIELDS = {
    k.__struct_config__.tag: [f for f in k.__struct_fields__ if f in FIELDS] for k in ev_mod.KINDS
}


COMMON: dict[str, st.SearchStrategy[Any]] = {
    "v": st.just(1) | INT,
    "seq": INT,
    "ts": TS,
    "run": TEXT,
    "span": TEXT,
    "parent": st.none() | TEXT,
    "agent": TEXT,
    "prev": HEX,
    "hash": HEX,
    "kind": st.sampled_from(sorted(KIND_FIELDS)) | TEXT,
}


@st.composite
def near_valid(draw: st.DrawFn, i: int) -> dict[str, Any]:
    """A valid ASCII event with up to three fields changed, dropped or added."""
    e = ascii_event(draw(st.integers(0, 79)))
    e["seq"] = i
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 5))
        if op == 0 and e:
            e.pop(draw(st.sampled_from(sorted(e))))
        elif op == 1:
            e[draw(st.sampled_from(["extra", "x_y", "hash2"]))] = draw(ANY)
        else:
            name = draw(
                st.sampled_from(sorted(e))
                if draw(st.integers(0, 3))
                else st.sampled_from(sorted({*COMMON, *FIELDS}))
            )
            e[name] = draw({**FIELDS, **COMMON}.get(name, ANY))
    return e


@st.composite
def events(draw: st.DrawFn, i: int) -> dict[str, Any]:
    if draw(st.integers(0, 3)):
        return draw(near_valid(i))
    kind = draw(st.sampled_from(sorted(KIND_FIELDS)) | TEXT)
    e: dict[str, Any] = {
        "v": draw(st.just(1) | INT),
        "seq": i,
        "ts": draw(TS),
        "run": draw(TEXT),
        "span": draw(TEXT),
        "parent": draw(st.none() | TEXT),
        "agent": draw(TEXT),
        "kind": kind,
    }
    for f in KIND_FIELDS.get(str(kind), []):
        if draw(st.integers(0, 9)):
            e[f] = draw(FIELDS[f])
    if not draw(st.integers(0, 7)):
        e[draw(st.sampled_from([*FIELDS, "extra", "v", "seq", "hash", "prev"]))] = draw(ANY)
    if not draw(st.integers(0, 9)):
        e.pop(draw(st.sampled_from(sorted(e))))
    return e


@st.composite
def trails(draw: st.DrawFn) -> list[bytes]:
    n = draw(st.integers(1, 8))
    evs = [draw(events(i)) if draw(st.booleans()) else ascii_event(i) for i in range(n)]
    lines, _ = seal(evs)
    if draw(st.booleans()):  # some not canonical: another JSON writer's escapes and spacing
        k = draw(st.integers(0, n - 1))
        obj = json.loads(lines[k])
        lines[k] = (
            json.dumps(
                obj,
                ensure_ascii=draw(st.booleans()),
                separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
                sort_keys=draw(st.booleans()),
            ).encode()
            + b"\n"
        )
    return lines


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(trails())
def test_generated_events(tmp_path: Path, lines: list[bytes]) -> None:
    same([write(tmp_path / "t", lines)], jobs=(1,))


LINK = (
    HEX
    | TEXT
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)  # lone surrogates
    | st.text(st.sampled_from("0af\ud800\udfff\u00e9\x00A"), min_size=63, max_size=65)
    | st.integers(-(2**64), 2**64)
    | st.none()
    | st.booleans()
    | st.lists(INT, max_size=2)
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.sampled_from(["prev", "hash", "seq", "v"]), LINK),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_hostile_link_fields(
    tmp_path: Path, changes: list[tuple[int, str, Any]], escaped: bool
) -> None:
    """Issue 23.11: the differential test, extended to the link fields (``prev``, ``hash``,
    ``seq``, ``v``): any value, lone surrogates (written as escapes) and non-ASCII included,
    in a line the compiled core hands back and in the line after it (whose chain starts
    there). A lone surrogate in a hash crashed the compiled core."""
    lines, tree = seal([ascii_event(i) for i in range(8)])
    for k, field, value in changes:
        obj = json.loads(lines[k])
        obj[field] = value
        lines[k] = (
            json.dumps(obj, ensure_ascii=escaped, sort_keys=True, separators=(",", ":")).encode(
                "utf-8", "surrogatepass"
            )
            + b"\n"
        )
    same([write(tmp_path / "t", lines, 8, tree)])


def fast_path_takes(line: bytes) -> bool:
    """What the pure core takes without a report (chain, seq and hash aside): its loop's
    fast path, or a valid event with fields beyond its kind's (``x_`` fields) that the slow
    path finds canonical and intact."""
    from harness_audit.trail.problem import RangeResult, Reporter
    from harness_audit.trail.scan import check_links_of, line_after

    try:
        obj = json.loads(line)
    except ValueError:
        return False
    if not isinstance(obj, dict) or not isinstance(obj.get("prev"), str):
        return False
    seq = obj.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return False
    res = RangeResult("t", 0, 0, 0)
    report = Reporter(res, 100)
    line_after(line, report, res, obj["prev"], seq, 1)
    check_links_of([(1, line)], report)
    # (the hash against the leaf aside, as ``check`` leaves it to the scan)
    return not res.dropped and all(p.kind == "modified_event" for p in res.problems)


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_the_compiled_core_accepts_only_what_python_accepts(data: st.DataObject) -> None:
    e = data.draw(events(data.draw(INT)))
    lines, _ = seal([e])
    line = lines[0].rstrip(b"\n")
    if data.draw(st.booleans()):  # and near misses of it
        k = data.draw(st.integers(0, len(line)))
        line = (
            line[:k] + data.draw(st.binary(max_size=3)) + line[k + data.draw(st.integers(0, 3)) :]
        )
    if _cverify().check(line):
        assert fast_path_takes(line), line


ODD_VALUES: list[Any] = [
    "",
    "x",
    "human:",
    "human:a",
    "human:\n",
    "read",
    "write",
    "destructive",
    "external",
    "ok",
    "error",
    "denied",
    "allowed",
    "blocked",
    "pass",
    "fail",
    "approved",
    "rejected",
    "run_end",
    0,
    1,
    2,
    -1,
    10_000,
    10_001,
    2**53 - 1,
    2**53,
    10**17,
    True,
    False,
    None,
    [],
    ["a"],
    ["a", 1],
    [["a"]],
    {},
    {"a": 1},
    "a" * 64,
    "0" * 63,
    "0" * 65,
    "0" * 63 + "g",
    "0" * 63 + "A",
    "A" + "0" * 63,
    "2026-09-14T03:47:12Z",
    "2026-09-14T03:47:12.1Z",
    "2026-09-14T03:47:12.123456789Z",
    "2026-09-14T03:47:12.1234567890Z",
    "2026-09-14T03:47:12.Z",
    "2026-09-14T03:47:12",
    "2026-09-14t03:47:12Z",
    "2026-9-14T03:47:12Z",
    "\x7f",
    "\x1f",
    "\x00",
    "\n",
    "\u2028",
    "é",
    '"',
    "\\",
    "a/b",
    {"family": "f", "name": "n", "provider": "p"},
    {"family": "f", "name": "n"},
    {"family": "f", "name": "n", "provider": "p", "x": "y"},
    {"family": 1, "name": "n", "provider": "p"},
]
ESCAPES = [
    (b"\\n", b"\\u000a"),
    (b"\\t", b"\\u0009"),
    (b"\\u0001", b"\\u0001".upper()),
    (b"\\u0001", b"\\u0041"),
    (b"\\\\", b"\\u005c"),
    (b'\\"', b"\\u0022"),
    (b"\\t", b"\\/"),
    (b":", b": "),
    (b",", b", "),
    (b"1", b"1.0"),
    (b"1", b"01"),
    (b"1", b"-1"),
    (b"1", b"1e0"),
    (b"null", b"nul"),
    (b"}", b"} "),
    (b"{", b" {"),
]


def test_odd_values_in_every_field_of_every_kind() -> None:
    """Every field of every kind set to each odd value (or dropped), and escapes and
    numbers in other forms: whatever the compiled core takes, the Python path takes."""
    check = _cverify().check
    taken = 0
    for base_i in [*range(10), 18, 28, 38]:
        base = ascii_event(base_i)
        for name in sorted({*base, *COMMON, *FIELDS, "extra"}):
            for value in [*ODD_VALUES, KeyError]:
                e = dict(base)
                if value is KeyError:
                    e.pop(name, None)
                else:
                    e[name] = value
                line = seal([e])[0][0].rstrip(b"\n")
                variants = [line] + [line.replace(a, b, 1) for a, b in ESCAPES if a in line]
                for x in variants:
                    if check(x):
                        taken += 1
                        assert fast_path_takes(x), x
    assert taken > 1000


def test_the_compiled_core_takes_the_common_events() -> None:
    lines, _ = seal([ascii_event(i) for i in range(20)])
    for line in lines:
        assert fast_path_takes(line.rstrip(b"\n")) and _cverify().check(line.rstrip(b"\n"))


# --- the Merkle pieces ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 70), st.integers(0, 300), st.lists(st.integers(-3, 400), max_size=4))
def test_merkle_pieces_are_the_pure_cores(start: int, n: int, cuts: list[int]) -> None:
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(n)]
    py = Pieces(start, sorted(set(cuts)))
    c = _cverify().Scanner(start, sorted(set(cuts)))
    for k in range(0, n, 7):
        py.extend(leaves[k : k + 7])
    for leaf in leaves:
        c.push(leaf)
    assert c.pieces() == py.result()


def test_the_scanner_checks_its_arguments() -> None:
    c = _cverify().Scanner(0, [])
    with pytest.raises(ValueError):
        c.push(b"short")
    with pytest.raises(ValueError):
        c.scan(b"{}\n", 0, 10, None, 0, 100)
    with pytest.raises(ValueError):
        c.scan(b"{}\n", 0, 3, None, 0, -1)
    assert c.scan(b"{}\n", 0, 3, "0" * 64, 0, 100) == (0, 0, "0" * 64, 0)
    assert c.scan(b"{}\n", 0, 3, None, 2**80, 100)[1] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("hash", "A" * 64), ("hash", "0" * 63), ("prev", "0" * 65), ("prev", "g" * 64)],
)
def test_a_malformed_prev_or_hash_is_an_invalid_event(
    tmp_path: Path, field: str, value: str
) -> None:
    """Not a modified event or a broken link: the value is not a hash at all (both cores)."""
    lines = list(seal([ascii_event(i) for i in range(6)])[0])
    obj = json.loads(lines[3])
    obj[field] = value
    lines[3] = canonicalize(obj) + b"\n"
    if field == "prev":  # its hash made right: only the value is wrong
        lines[3] = reseal(lines[3])
    found = [(p["kind"], p["seq"]) for p in same([write(tmp_path / "t", lines)])[3]]
    assert ("invalid_event", 3) in found
    assert ("modified_event", 3) not in found and ("broken_link", 3) not in found


EXTRA = st.dictionaries(
    st.sampled_from(["x_a", "x_b", "x_duration_ms", "zz", "é"]),
    st.integers(-5, 2**53)
    | st.text(max_size=5)
    | st.none()
    | st.lists(st.integers(0, 3), max_size=2),
    max_size=3,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extras=st.lists(EXTRA, min_size=1, max_size=6), data=st.data())
def test_events_with_extra_fields_the_quick_path_is_the_slow_path(
    extras: list[dict[str, Any]],
    data: Any,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Valid events with fields beyond their kind's take orjson's quick check in the slow
    path; tampered or not, the reports are those of the full slow path."""
    from harness_audit.trail import badline

    events = [ascii_event(i) | extra for i, extra in enumerate(extras)]
    lines, tree = seal(events)
    i = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["none", "edit", "dup", "space"]))
    if how == "edit":
        lines[i] = lines[i].replace(b'"run-', b'"rux-', 1)
    elif how == "dup":
        lines[i] = lines[i].replace(b'{"', b'{"x_a":1,"', 1)
    elif how == "space":
        lines[i] = lines[i].replace(b'":', b'": ', 1)
    t = write(tmp_path_factory.mktemp("x") / "t", lines, len(lines), tree)
    with _core.using("python"):
        quick = report([t], 1)
        monkeypatch.setattr(badline, "_canonical_with_extras", lambda *a: None)
        slow = report([t], 1)
        monkeypatch.undo()
    assert quick == slow
    same([t])


# --- issue 28, item 1: x_ fields and text beyond ASCII in the C loop ------------------------

VALID_EXTRAS: list[dict[str, Any]] = [
    {"x_cost": "unknown", "x_cost_estimated": True},
    {"x_outcome": "unknown"},
    {"x_verdict": "not_proven"},
    {"x_a": None, "x_b": False, "x_c": 0, "x_d": -(2**53 - 1), "x_e": 2**53 - 1},
    {"x_attrs": {"gen_ai.system": "openai", "n": [1, -2, [], {}], "z": {"a": {"b": [None]}}}},
    {"x_text": 'caf\u00e9 \u2028 \u00a0 \u4e2d\u6587 \U0001f600 \U0010ffff \x7f \n\t\x01"'},
    {"": "empty key", "A": 1, "_x": 2, "agent_": 3, "hasH": 4, "zzz": "last"},
    {"depth": -3, "tool": "another kind's field", "model": [1], "evidence": {"a": 1}},
    {"x_long": "y" * 20_000},
]
INVALID_EXTRAS: list[tuple[bytes, bytes]] = [  # (written as, then replaced by) in the x_ value
    (b'"x_q":1', b'"x_q":1.5'),  # a fraction
    (b'"x_q":1', b'"x_q":1e2'),  # an exponent
    (b'"x_q":1', b'"x_q":9007199254740992'),  # beyond 2^53 - 1
    (b'"x_q":1', b'"x_q":-9007199254740992'),
    (b'"x_q":1', b'"x_q":12345678901234567890'),  # over-long
    (b'"x_q":1', b'"x_q":-0'),
    (b'"x_q":1', b'"x_q":01'),
    (b'"x_q":1', b'"x_q": 1'),  # spacing
    (b'"x_q":1', b'"x_q":tru'),
    (b'"x_q":1', b'"x_q":{"b":1,"a":2}'),  # unsorted
    (b'"x_q":1', b'"x_q":{"a":1,"a":2}'),  # a key twice
    (b'"x_q":1', b'"x_q":{"\\u0061":1}'),  # an escaped key
    (b'"x_q":1', b'"x_q":{"\xc3\xa9":1}'),  # a key beyond ASCII: valid, but Python's to sort
    (b'"x_q":1', b'"x_q":"\\u0041"'),  # an escape with no place in JCS
    (b'"x_q":1', b'"x_q":"\\u000a"'),
    (b'"x_q":1', b'"x_q":"\\/"'),
    (b'"x_q":1', b'"x_q":"\xc3"'),  # a cut UTF-8 sequence
    (b'"x_q":1', b'"x_q":"\xed\xa0\x80"'),  # a surrogate in UTF-8
    (b'"x_q":1', b'"x_q":"\xc0\xaf"'),  # an overlong form
    (b'"x_q":1', b'"x_q":[1,]'),
    (b'"x_q":1', b'"x_q":[1'),
    (b'"x_q":1', b'"x_q":NaN'),
    (b'"x_q":1', b'"x_q":' + b"[" * 64 + b"]" * 64),  # deeper than 64 with the event
    (b'"x_q":1', b'"x_q":1,"x_q":1'),  # a field twice
    (b'"x_q":1', b'"x_p":1,"x_q":1,"x_o":1'),  # out of order
    (b'"x_q":1', b'"x_q":1,"zz":' + b'"' + b"z" * 1_100_000 + b'"'),  # an over-long line
]


def _with_extras(events: list[dict[str, Any]]) -> list[bytes]:
    return seal(events)[0]


def test_the_compiled_core_takes_x_fields_and_text_beyond_ascii(tmp_path: Path) -> None:
    """Every valid event, fields beyond its kind's (x_ fields) and text beyond ASCII included,
    is taken by the C loop (it went to the pure core's slow path), and the reports of both
    cores are the same; the deepest nesting allowed is taken, one more level is not."""
    check = _cverify().check
    table = _cverify().kinds()
    events = []
    for i in range(90):
        e = ascii_event(i)
        own = {*table[e["kind"]][0], *table[e["kind"]][1]}
        events.append(
            e | {k: x for k, x in VALID_EXTRAS[i % len(VALID_EXTRAS)].items() if k not in own}
        )
    events += [ascii_event(28 + d) | {"x_deep": json.loads("[" * d + "]" * d)} for d in (62, 63)]
    lines = _with_extras(events)
    for line in lines:
        assert check(line.rstrip(b"\n")), line[:200]
        assert fast_path_takes(line.rstrip(b"\n")), line[:200]
    deeper = _with_extras([ascii_event(0) | {"x_deep": json.loads("[" * 64 + "]" * 64)}])[0]
    assert not check(deeper.rstrip(b"\n")) and not fast_path_takes(deeper.rstrip(b"\n"))
    tree = seal(events)[1]
    r = same([write(tmp_path / "t", lines, len(lines), tree)], jobs=(1, 2, 3))
    assert r[-1] == "verified" and r[1] == len(lines)


@pytest.mark.parametrize(("was", "now"), INVALID_EXTRAS, ids=lambda b: b.decode("latin-1")[:30])
@pytest.mark.parametrize("resealed", [False, True])
def test_invalid_x_fields_are_the_pure_cores_to_report(
    tmp_path: Path, was: bytes, now: bytes, resealed: bool
) -> None:
    """An x_ field of the wrong type, over-long or not canonical: the C loop hands the line
    back and the report is the pure core's, with the hash made right for the new bytes or
    not; the events after it are taken again."""
    events = [ascii_event(i) | {"x_q": 1} for i in range(12)]
    lines = _with_extras(events)
    k = 5
    assert was in lines[k]
    lines[k] = lines[k].replace(was, now, 1)
    if resealed:
        body = lines[k].rstrip(b"\n")
        i = body.index(b',"hash":"')
        digest = hashlib.sha256(b"\x00" + body[:i] + body[i + 74 :]).hexdigest()
        lines[k] = body[: i + 9] + digest.encode() + body[i + 73 :] + b"\n"
        nxt = json.loads(lines[k + 1])
        nxt["prev"] = digest
        lines[k + 1] = reseal(canonicalize(nxt) + b"\n")
    if len(lines[k]) <= ev_mod.MAX_LINE:  # (a longer line is the scan's to refuse)
        assert not _cverify().check(lines[k].rstrip(b"\n"))
    found = same([write(tmp_path / "t", lines)])[3]
    if resealed and now == b'"x_q":{"\xc3\xa9":1}':  # valid: the C loop leaves it to Python
        assert not any(p["line"] == k + 1 for p in found), found
    else:
        assert any(p["line"] == k + 1 for p in found), found


def test_the_three_copies_of_the_event_schema_agree() -> None:
    """The C core's table of kinds and fields (``_cverify.kinds``), the decoder's structs and
    the published JSON Schema name the same fields per kind; the structs' x_ fields are the
    schema's optional markers, which the C core takes as any field beyond the kind's."""
    import msgspec

    schema = json.loads((ROOT / "schemas" / "trail-event.schema.json").read_text())
    variants = {v["title"]: v for v in schema["oneOf"]}
    table = _cverify().kinds()
    assert set(table) == set(ev_mod.KIND_NAMES) == set(variants)
    for cls in ev_mod.KINDS:
        name = cls.__struct_config__.tag
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        fields = {f.encode_name: f for f in info.fields if not f.encode_name.startswith("x_")}
        required = {n for n, f in fields.items() if f.required} | {"kind"}
        optional = {n for n, f in fields.items() if not f.required}
        assert set(table[name][0]) == required, name
        assert set(table[name][1]) == optional, name
        variant = variants[name]
        own = {n for n in variant["properties"] if not n.startswith("x_")}
        assert own == required | optional, name
        assert set(variant["required"]) == required, name
        for f in info.fields:  # markers: optional, any value (the generic rule decides)
            if f.encode_name.startswith("x_"):
                assert not f.required and isinstance(f.type, msgspec.inspect.AnyType), f
                assert variant["properties"][f.encode_name].get("$ref") == "#/$defs/integer_json"


def _bench_module(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def three_trails(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Small trails of the three kinds of issue 28: the bench generator's, the second
    generator's (written from the schema alone) and an imported one (OTLP spans through
    ``trail import``), each with its public key."""
    import os
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("three")
    out: dict[str, tuple[Path, Path]] = {}
    _bench_module("gen_trail").generate(root / "bench", 400)
    out["bench"] = (root / "bench", root / "bench" / "key.pub")
    _bench_module("gen_schema_trail").generate(root / "schema", 400, seed=3)
    out["schema"] = (root / "schema", root / "schema" / "key.pub")
    otlp = _bench_module("gen_otlp")
    rng = random.Random(5)
    (root / "spans.jsonl").write_bytes(b"".join(otlp.trace(i, rng) for i in range(70)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cli = [sys.executable, "-m", "harness_audit"]
    subprocess.run([*cli, "trail", "keygen", "t/import", "--dir", str(root)], env=env, check=True)
    args = ["trail", "import", str(root / "spans.jsonl"), "--key", str(root / "t_import.key")]
    args += ["--origin", "t/import", "-o", str(root / "import")]
    subprocess.run(
        [*cli, *args],
        env=env,
        check=True,
        capture_output=True,
    )
    out["import"] = (root / "import", root / "t_import.pub")
    return out


@pytest.mark.parametrize("kind", ["bench", "schema", "import"])
@pytest.mark.parametrize("tamper", ["none", "x_value", "x_resealed", "text", "float", "cut"])
def test_the_three_trail_kinds_both_cores(
    three_trails: dict[str, tuple[Path, Path]], kind: str, tamper: str, tmp_path: Path
) -> None:
    """Issue 28.1: the differential test on the three trail kinds, as generated and tampered
    with (an x_ value changed, changed and resealed, text beyond ASCII changed, a fraction in
    an x_ field, the file cut); the C loop takes every line of the untouched ones."""
    from harness_audit.trail.note import Verifier

    src, key = three_trails[kind]
    verifiers = [Verifier.parse(key.read_text().strip())]
    t = tmp_path / "t"
    shutil.copytree(src, t)
    segs = sorted(t.glob("*.jsonl"))
    lines = segs[0].read_bytes().splitlines(keepends=True)
    if tamper == "none":
        assert all(_cverify().check(line.rstrip(b"\n")) for s in segs for line in s.open("rb"))
    else:
        with_x = [i for i, line in enumerate(lines) if b'"x_' in line] or [len(lines) // 2]
        k = with_x[len(with_x) // 2]
        line = lines[k]
        if tamper in ("x_value", "x_resealed"):
            line = line.rstrip(b"\n")[:-1] + b',"x_zz":7}\n'
            if tamper == "x_resealed":
                line = reseal(line)
        elif tamper == "text":
            line = line.replace(b'"agent":"', b'"agent":"\xc3\xa9', 1)
        elif tamper == "float":
            line = reseal(line.replace(b'"seq":', b'"x_f":0.5,"seq":', 1))
        elif tamper == "cut":
            line = line[: len(line) // 2]
        lines[k] = line
        segs[0].write_bytes(b"".join(lines))
    r = same([t], verifiers=verifiers)
    assert (r[-1] == "verified") == (tamper == "none"), r[3][:3]


# --- text beyond ASCII: every UTF-8 edge, known answers and a property (issue 28.1) ---------

UTF8_EDGES: list[tuple[str, bytes, bool]] = [
    ("2-byte, lowest (U+0080)", b"\xc2\x80", True),
    ("2-byte, highest (U+07FF)", b"\xdf\xbf", True),
    ("2-byte e acute", "\u00e9".encode(), True),
    ("3-byte, lowest (U+0800)", b"\xe0\xa0\x80", True),
    ("3-byte, last before the surrogates (U+D7FF)", b"\xed\x9f\xbf", True),
    ("3-byte, first after the surrogates (U+E000)", b"\xee\x80\x80", True),
    ("3-byte U+2028", "\u2028".encode(), True),
    ("3-byte CJK", "\u4e2d\u6587".encode(), True),
    ("3-byte, highest (U+FFFF)", b"\xef\xbf\xbf", True),
    ("4-byte, lowest (U+10000)", b"\xf0\x90\x80\x80", True),
    ("4-byte emoji", "\U0001f600".encode(), True),
    ("4-byte, highest (U+10FFFF)", b"\xf4\x8f\xbf\xbf", True),
    ("mixed run", "a\u00e9\u4e2d\U0001f680b\u00ff".encode(), True),
    ("DEL", b"\x7f", True),
    ("overlong 2-byte C0", b"\xc0\x80", False),
    ("overlong 2-byte C1", b"\xc1\xbf", False),
    ("overlong 3-byte", b"\xe0\x80\x80", False),
    ("overlong 3-byte, highest", b"\xe0\x9f\xbf", False),
    ("overlong 4-byte", b"\xf0\x80\x80\x80", False),
    ("overlong 4-byte, highest", b"\xf0\x8f\xbf\xbf", False),
    ("high surrogate, lowest", b"\xed\xa0\x80", False),
    ("high surrogate, highest", b"\xed\xaf\xbf", False),
    ("low surrogate, lowest", b"\xed\xb0\x80", False),
    ("low surrogate, highest", b"\xed\xbf\xbf", False),
    ("surrogate pair in CESU-8", b"\xed\xa0\xbd\xed\xb8\x80", False),
    ("beyond U+10FFFF (F4 90)", b"\xf4\x90\x80\x80", False),
    ("beyond U+10FFFF (F5)", b"\xf5\x80\x80\x80", False),
    ("byte FF", b"\xff", False),
    ("byte FE", b"\xfe", False),
    ("lone continuation 80", b"\x80", False),
    ("lone continuation BF", b"\xbf", False),
    ("continuation after a complete character", b"\xc3\xa9\xa9", False),
    ("2-byte cut by the end of the string", b"\xc3", False),
    ("3-byte cut by the end of the string", b"\xe4\xb8", False),
    ("4-byte cut by the end of the string", b"\xf0\x9f\x98", False),
    ("lead then ASCII", b"\xc3A", False),
    ("3-byte lead then ASCII", b"\xe4\xb8A", False),
    ("4-byte lead then a 2-byte character", b"\xf0\x9f\xc3\xa9", False),
    ("lead then an escape", b"\xc3\\n", False),
    ("raw NUL", b"\x00", False),
    ("raw control 01", b"\x01", False),
    ("raw tab", b"\t", False),
    ("raw newline", b"\n", False),
    ("raw control 1F", b"\x1f", False),
    ("non-ASCII then a raw control", b"\xc3\xa9\x01", False),
]


def raw_line(
    text: bytes, field: str, prev: str, seq: int = 3, prefix: int = 0, suffix: int = 0
) -> bytes:
    """An error event whose ``field`` (its message, or x_zz: the last field, within 16 bytes
    of the line's end) is the raw bytes ``text`` between ASCII padding, sealed over the raw
    bytes (the hash the writer would give them, valid JSON or not): only the text decides."""
    e = ascii_event(28) | {"seq": seq, "prev": prev, "hash": "0" * 64, field: "@@"}
    body = canonicalize(e).replace(b"@@", b"p" * prefix + text + b"s" * suffix, 1)
    i = body.index(b',"hash":"')
    digest = hashlib.sha256(b"\x00" + body[:i] + body[i + 74 :]).hexdigest()
    return body[: i + 9] + digest.encode() + body[i + 73 :]


@pytest.mark.parametrize(("name", "text", "valid"), UTF8_EDGES, ids=[c[0] for c in UTF8_EDGES])
def test_utf8_edges_known_answers(tmp_path: Path, name: str, text: bytes, valid: bool) -> None:
    """Each edge of UTF-8 (valid 2-, 3- and 4-byte forms at their limits; overlong forms,
    surrogate halves, beyond U+10FFFF, stray and missing continuation bytes, a sequence cut
    by the string's end, raw control characters), at every offset against the compiled
    core's 16-byte blocks and at the line's end: the compiled core and the pure core take
    the line exactly when it is valid, and their reports on a trail of them are the same."""
    check = _cverify().check
    lines, _ = seal([ascii_event(i) for i in range(3)])
    prev = json.loads(lines[-1])["hash"]
    for field in ("message", "x_zz"):
        for prefix in range(0, 18):
            for suffix in (0, 1, 15, 16, 17) if field == "message" else (0, 1):
                line = raw_line(text, field, prev, prefix=prefix, suffix=suffix)
                assert check(line) == valid, (name, field, prefix, suffix, line)
                assert fast_path_takes(line) == valid, (name, field, prefix, suffix, line)
    for field, k in (("message", 13), ("x_zz", 0)):
        line = raw_line(text, field, prev, prefix=k)
        found = same([write(tmp_path / field, [*lines, line + b"\n"])])[3]
        assert any(p["line"] == 4 for p in found) != valid, found


TEXT_ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"])


@st.composite
def string_bytes(draw: st.DrawFn) -> bytes:
    """The raw bytes between a string's quotes: text as the canonical form writes it, text
    written raw (control characters, quotes and backslashes unescaped), arbitrary bytes, or
    valid text with arbitrary bytes spliced in."""
    text = draw(st.text(TEXT_ALPHABET, max_size=40))
    how = draw(st.sampled_from(["canonical", "raw", "bytes", "spliced"]))
    if how == "canonical":
        return canonicalize(text)[1:-1]
    if how == "raw":
        return text.encode()
    if how == "bytes":
        return draw(st.binary(max_size=40))
    data = text.encode()
    k = draw(st.integers(0, len(data)))
    return data[:k] + draw(st.binary(min_size=1, max_size=4)) + data[k:]


@settings(max_examples=1500, deadline=None)
@given(text=string_bytes(), field=st.sampled_from(["message", "x_zz", "agent", "subject"]))
def test_both_cores_take_the_same_text(text: bytes, field: str) -> None:
    """Any text in a string field, sealed over its raw bytes: the compiled core takes the
    line exactly when the pure core takes it (valid UTF-8, canonical escapes, no raw control
    character), so neither is more or less strict than the other."""
    line = raw_line(text, field, "ab" * 32)
    assert _cverify().check(line) == fast_path_takes(line), line


# --- the two ways to SHA-256 (issue 28.1): SHA-NI, two leaves at once, or OpenSSL -----------

SHA_WAYS = [True, False]  # use_sha_ni: the CPU's SHA extensions where it has them, or OpenSSL


def _padded_lines(lengths: list[int]) -> list[bytes]:
    """Sealed events with an x_ field of each length: leaf messages of every length modulo
    the 64-byte block, around the SHA-NI path's 8 KiB buffer, and beyond it."""
    return seal([ascii_event(i) | {"x_pad": "p" * n} for i, n in enumerate(lengths)])[0]


def _scan_in_c(lines: list[bytes], cuts: list[int], sha_ni: bool) -> tuple[int, int, Any]:
    """The compiled scanner over the lines after the first (that one pushed, as the caller
    does): bytes and lines taken, and the Merkle pieces."""
    from harness_audit.trail.badline import MAX_LINE
    from harness_audit.trail.scan import event_leaf

    c = _cverify()
    was = c.use_sha_ni(sha_ni)
    try:
        buf = b"".join(lines)
        sc = c.Scanner(0, cuts)
        sc.push(event_leaf(lines[0].rstrip(b"\n")))
        first = json.loads(lines[0])["hash"]
        pos, n, _, _ = sc.scan(buf, len(lines[0]), len(buf), first, 1, MAX_LINE)
        return pos, n, sc.pieces()
    finally:
        c.use_sha_ni(was)


@pytest.mark.parametrize("sha_ni", SHA_WAYS)
@pytest.mark.parametrize("cuts", [[], [2, 3, 64, 65, 129]])
def test_every_leaf_length_both_ways_to_hash(sha_ni: bool, cuts: list[int]) -> None:
    """Known answers: the leaves of events of every length modulo 64 (hashed two at once,
    pairs of unequal lengths, the last alone), and of some beyond the 8 KiB buffer, are
    hashlib's: the C loop takes every line, and its Merkle pieces are the pure core's."""
    from harness_audit.trail.scan import event_leaf

    lengths = [*range(150), 8000, 8050, 8085, 8086, 8087, 8100, 8200, 20_000, 3, 9000]
    lines = _padded_lines(lengths)
    pos, n, pieces = _scan_in_c(lines, cuts, sha_ni)
    assert (pos, n) == (sum(map(len, lines)), len(lines) - 1)
    py = Pieces(0, cuts)
    py.extend([event_leaf(line.rstrip(b"\n")) for line in lines])
    assert pieces == py.result()


@pytest.mark.parametrize("sha_ni", SHA_WAYS)
@pytest.mark.parametrize("bad", [1, 2, 5, 6, 9])
@pytest.mark.parametrize("how", ["content", "prev", "seq"])
def test_the_pair_stops_at_the_first_bad_line(sha_ni: bool, bad: int, how: str) -> None:
    """Two lines are hashed at once, but taken in order: the scan stops at the first line
    whose leaf, link or seq is wrong, whichever of a pair it is, having taken those before."""
    lines = _padded_lines([7 * i for i in range(10)])
    if how == "content":  # the hash no longer matches the bytes; the next link still holds
        lines[bad] = lines[bad].replace(b'"x_pad":"p', b'"x_pad":"q', 1)
    else:  # resealed: the leaf is right, the link or the seq is not
        obj = json.loads(lines[bad])
        obj["prev" if how == "prev" else "seq"] = "f" * 64 if how == "prev" else bad + 1
        lines[bad] = reseal(canonicalize(obj) + b"\n")
    pos, n, _ = _scan_in_c(lines, [], sha_ni)
    assert (pos, n) == (sum(map(len, lines[:bad])), bad - 1)
