"""The fast paths of ``trail import`` against the general ones they stand in for: the typed
OTLP/JSON Lines reader against the general reader (a differential property test), sealing in a
second process against sealing in this one (the same bytes, the same errors), the big-integer
check of the JSON reader; and inputs with digits that are not ASCII digits."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness_audit.errors import HarnessAuditError, ManifestError, TrailError
from harness_audit.importers import import_trace, otlp, otlp_shape, tables
from harness_audit.importers.base import ImportFormatError, as_int, json_loads, ts_to_ns
from harness_audit.importers.spans import first, meanings
from harness_audit.trail.note import Signer
from harness_audit.trail.sealer import BATCH, seal_events
from harness_audit.trail.source import RawEvent
from harness_audit.trail.verify import verify_trail
from tests.conftest import SHARED
from tests.test_import_traces import ATTRIBUTE_KEYS

SIGNER = Signer.from_seed("harness-audit/pipeline", b"\x22" * 32)
REAL_OTLP = SHARED / "real" / "otel" / "genai-interlingua_openllmetry_in.otlp.json"


def imported(path: Path) -> tuple[list[tuple[str, int, dict[str, Any]]], dict[str, Any]]:
    job = import_trace([path])
    events = [(r.file, r.line, r.event) for r in job.events()]
    summary = job.summary()
    summary.pop("imported_at")
    return events, summary


def general_only(raw: bytes) -> Any:
    raise msgspec.DecodeError("the general reader, for the comparison")


# -- the typed OTLP reader is the general one, faster ------------------------------------------

hexid = st.text("0123456789abcdef", min_size=1, max_size=3).map(lambda s: s.rjust(16, "0"))
any_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=8,
)
value = st.one_of(
    st.fixed_dictionaries({"stringValue": st.sampled_from(["chat", "execute_tool", "gpt-4o", ""])}),
    st.fixed_dictionaries({"intValue": st.one_of(st.integers(-5, 2**65).map(str), st.integers())}),
    st.fixed_dictionaries({"boolValue": st.booleans()}),
    st.fixed_dictionaries({"doubleValue": st.floats(allow_nan=False, allow_infinity=False)}),
    st.fixed_dictionaries(
        {"arrayValue": st.fixed_dictionaries({"values": st.lists(any_json, max_size=3)})}
    ),
    st.fixed_dictionaries({"kvlistValue": any_json}),
    st.fixed_dictionaries({"bytesValue": st.just("AAEC")}),
    st.dictionaries(st.sampled_from(["stringValue", "intValue", "boolValue"]), any_json),
    any_json,
)
attribute = st.one_of(
    st.fixed_dictionaries(
        {
            "key": st.sampled_from([*ATTRIBUTE_KEYS, "service.name"]),
            "value": value,
        }
    ),
    st.fixed_dictionaries({"key": any_json}),
    any_json,  # not a key/value pair at all
)
span_fields = {
    "traceId": st.one_of(st.sampled_from(["a" * 32, "B" * 32, "0" * 31 + "1"]), any_json),
    "spanId": st.one_of(hexid, st.just("AAAAAAAAAAA="), any_json),
    "parentSpanId": st.one_of(st.just(""), hexid, st.just("0" * 16), any_json),
    "name": st.one_of(st.sampled_from(["chat", "execute_tool", "invoke_agent [x]"]), any_json),
    "startTimeUnixNano": st.one_of(st.integers(0, 2**62).map(str), st.integers(), any_json),
    "endTimeUnixNano": st.one_of(st.integers(0, 2**62).map(str), any_json),
    "status": st.one_of(st.fixed_dictionaries({"code": st.integers(0, 2)}), any_json),
    "attributes": st.one_of(st.lists(attribute, max_size=5), any_json),
    "events": st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["gen_ai.evaluation.result", "x"]),
                    "timeUnixNano": st.integers(0, 2**62).map(str),
                    "attributes": st.lists(attribute, max_size=2),
                }
            ),
            max_size=2,
        ),
        any_json,
    ),
    "kind": st.integers(0, 5),
    "parent_span_id": hexid,  # not the proto's field name: the general reader's case
}
span = st.fixed_dictionaries(
    {k: span_fields[k] for k in ("traceId", "spanId")},
    optional={k: v for k, v in span_fields.items() if k not in ("traceId", "spanId")},
)
request = st.fixed_dictionaries(
    {
        "resourceSpans": st.lists(
            st.fixed_dictionaries(
                {
                    "scopeSpans": st.lists(
                        st.fixed_dictionaries({"spans": st.lists(span, max_size=4)}), max_size=2
                    )
                },
                optional={"resource": st.one_of(st.just({"attributes": []}), any_json)},
            ),
            max_size=2,
        )
    }
)


@settings(max_examples=100, deadline=None)
@given(st.lists(request, min_size=1, max_size=4))
def test_property_typed_reader_is_the_general_reader(
    tmp_path_factory: pytest.TempPathFactory, lines: list[dict[str, Any]]
) -> None:
    src = tmp_path_factory.mktemp("d") / "spans.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines))
    try:
        fast = imported(src)
    except HarnessAuditError as e:
        fast_error: HarnessAuditError | None = e
    else:
        fast_error = None
    mp = pytest.MonkeyPatch()
    mp.setattr(otlp, "_decode_request", general_only)
    try:
        if fast_error is not None:
            with pytest.raises(HarnessAuditError) as general_error:
                imported(src)
            assert general_error.value.diagnostics() == fast_error.diagnostics()
        else:
            assert imported(src) == fast
    finally:
        mp.undo()


envelope = st.one_of(
    st.fixed_dictionaries(
        {"data": request},
        optional={"timestamp": st.just("2026-01-10T10:00:00Z"), "project_id": any_json},
    ),
    st.fixed_dictionaries({"data": request, "other": any_json}),  # not only the envelope's keys
    st.fixed_dictionaries({"data": any_json, "timestamp": st.just("t")}),  # no request inside
    st.fixed_dictionaries({"data": request, "resourceSpans": st.just([])}),  # a request itself
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(envelope, request), min_size=1, max_size=4))
def test_property_typed_envelopes_are_the_general_reader(
    tmp_path_factory: pytest.TempPathFactory, lines: list[dict[str, Any]]
) -> None:
    """Requests in envelopes (``{"timestamp", "project_id", "data"}``, one a line) are decoded
    typed as bare requests are: the same events, counts and named deviation as the general
    reader's dict reading of the same lines (which the envelope case of bench_import.py took)."""
    src = tmp_path_factory.mktemp("e") / "envelopes.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines))
    try:
        fast: Any = imported(src)
    except HarnessAuditError as e:
        fast = e.diagnostics()
    mp = pytest.MonkeyPatch()
    mp.setattr(otlp, "_decode_request", general_only)
    mp.setattr(otlp, "_decode_envelope", general_only)
    try:
        try:
            general: Any = imported(src)
        except HarnessAuditError as e:
            general = e.diagnostics()
        assert general == fast
    finally:
        mp.undo()


def test_an_envelope_of_the_common_shape_is_decoded_typed() -> None:
    """The envelope's request decodes typed (else None: the general reader's)."""
    req = json.loads(REAL_OTLP.read_text())
    line = json.dumps({"timestamp": "t", "project_id": "p", "data": req}).encode()
    assert isinstance(otlp._enveloped(line), otlp_shape.Request)
    assert otlp._enveloped(json.dumps({"data": req, "x": 1}).encode()) is None
    assert otlp._enveloped(json.dumps(req).encode()) is None


def test_the_typed_reader_takes_the_common_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.dumps(json.loads(REAL_OTLP.read_text())).encode()
    assert isinstance(otlp._decode_request(line), otlp_shape.Request)
    for other in (b'{"resource_spans": []}', b'{"resourceSpans": [{"scope_spans": []}]}'):
        with pytest.raises(msgspec.DecodeError):
            otlp._decode_request(other)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(request, any_json), min_size=1, max_size=3))
def test_fuzz_jsonl_reader_raises_only_ours(
    tmp_path_factory: pytest.TempPathFactory, lines: list[Any]
) -> None:
    src = tmp_path_factory.mktemp("f") / "x.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with contextlib.suppress(HarnessAuditError):
        list(import_trace([src], "otlp").events())


# -- sealing in a second process ---------------------------------------------------------------


def trail_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "import.json"
    }


def raw_events(path: Path) -> list[RawEvent]:
    return list(import_trace([path]).events())


def test_both_ways_seal_the_same_trail(tmp_path: Path) -> None:
    src = tmp_path / "many.jsonl"
    doc = json.loads(REAL_OTLP.read_text())
    lines = []
    for n in range(BATCH // 2 + 7):  # more events than one batch
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    s["traceId"] = f"{n:032x}"
        lines.append(json.dumps(doc))
    src.write_text("\n".join(lines) + "\n")
    events = raw_events(src)
    assert len(events) > BATCH
    counts = [
        seal_events(events, tmp_path / f"j{j}", "harness-audit/pipeline", SIGNER, jobs=j)
        for j in (1, 2)
    ]
    assert counts == [len(events)] * 2
    one, two = trail_bytes(tmp_path / "j1"), trail_bytes(tmp_path / "j2")
    assert set(one) == set(two) and "trail-000001.jsonl" in one and ".lock" not in one

    def body(data: bytes) -> list[str]:  # a checkpoint's text but its signing time
        text = data.decode().split("\n\n")[0]
        return [x for x in text.split("\n") if not x.startswith("harness-audit-signed ")]

    for name in one:  # the segments byte for byte; a checkpoint signed in another second
        if name.endswith(".checkpoint"):
            assert body(one[name]) == body(two[name]), name
        else:
            assert one[name] == two[name], name
    assert verify_trail([tmp_path / "j2"], [SIGNER.verifier]).ok
    assert not multiprocessing.active_children()


def good(n: int) -> RawEvent:
    return RawEvent(
        "src.jsonl",
        n,
        {
            "ts": "2026-01-01T00:00:00.000Z",
            "run": "r",
            "span": f"s{n}",
            "parent": None,
            "agent": "harness",
            "kind": "run_start",
            "pipeline": "p",
        },
    )


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_event_that_does_not_seal_names_its_source_record(tmp_path: Path, jobs: int) -> None:
    bad = RawEvent("src.jsonl", BATCH + 3, {**good(0).event, "kind": "bogus"})
    events = [*(good(n) for n in range(BATCH + 2)), bad, good(BATCH + 4)]
    with pytest.raises(TrailError) as e:
        seal_events(events, tmp_path / "t", "harness-audit/pipeline", SIGNER, jobs=jobs)
    (d,) = e.value.diagnostics()
    assert (d.file, d.line) == ("src.jsonl", BATCH + 3)
    assert d.message.startswith("record cannot be sealed: ")
    assert not multiprocessing.active_children()


def test_a_reading_error_stops_the_sealing_process(tmp_path: Path) -> None:
    def events() -> Iterator[RawEvent]:
        yield from (good(n) for n in range(3 * BATCH))
        raise ImportFormatError("src.jsonl: not JSON")

    with pytest.raises(ImportFormatError, match="not JSON"):
        seal_events(events(), tmp_path / "t", "harness-audit/pipeline", SIGNER, jobs=2)
    assert not multiprocessing.active_children()


def test_the_cli_seals_the_same_trail_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from typer.testing import CliRunner

    from harness_audit.cli._cli import app
    from harness_audit.trail import writer

    # the checkpoint says when it was signed (issue 22): one clock for both runs
    signed = dt.datetime(2026, 12, 7, 13, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(writer, "_now", lambda: signed)

    key = tmp_path / "k.key"
    key.write_text(SIGNER.text() + "\n")
    outs = []
    for j in ("1", "2"):
        out = tmp_path / f"t{j}"
        args = ["trail", "import", str(REAL_OTLP), "--key", str(key), "--origin", "o"]
        r = CliRunner().invoke(app, [*args, "-o", str(out), "--jobs", j])
        assert r.exit_code == 0, r.output
        outs.append(trail_bytes(out))
    assert outs[0] == outs[1]


# -- the JSON reader's big-integer check --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        (b'{"t": "00000000000000000000000000000001"}', False),  # an all-digit id: a string
        (b'{"t": 1.00000000000000000000001}', False),  # a fraction, not an integer
        (b'{"t": 123456789012345678901234567890}', True),
        (b"[1, -123456789012345678901234567890]", True),
        (b"123456789012345678901234567890", True),
        (b'{"t":\n  123456789012345678901}', True),
    ],
)
def test_integers_past_64_bits_stay_exact(text: bytes, exact: bool) -> None:
    value = json_loads(text)
    assert value == json.loads(text)
    from harness_audit.importers.base import _has_big_int

    assert _has_big_int(text) is exact


# -- digits that are not ASCII digits -----------------------------------------------------------


@pytest.mark.parametrize(("text", "number"), [("²", None), ("1²", None), ("١٢٣", 123)])
def test_non_ascii_digits_raise_nothing(text: str, number: int | None, tmp_path: Path) -> None:
    assert ts_to_ns(text) is None
    assert as_int(text) == number  # Arabic-Indic digits are decimal digits to float()
    from harness_audit.capture.server import parse_listen
    from harness_audit.manifest.yamlsafe import load_yaml

    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(f"127.0.0.1:{text}")
    f = tmp_path / "m.yaml"
    f.write_text(f'a: !!int "{text}"\n', encoding="utf-8")
    if number is None:
        with pytest.raises(ManifestError, match="not a valid !!int"):
            load_yaml(f)
    else:
        assert load_yaml(f).data == {"a": number}


def test_source_date_epoch_of_other_digits_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness_audit.report.pack import generated_at

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "²")
    assert generated_at().year >= 2026


# -- the attribute meanings in one pass ---------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*sorted(tables.attribute_index()), "other.name"]),
        st.none() | st.just("") | st.text(max_size=3) | st.integers() | st.lists(st.none()),
        max_size=12,
    )
)
def test_property_meanings_are_first_of_each_meaning(attrs: dict[str, Any]) -> None:
    m = meanings(attrs)
    for meaning in tables.otel_table()["attributes"]:
        assert m.get(meaning) == first(attrs, meaning), meaning


def test_the_mapping_listing_is_bounded() -> None:
    """A source with a new tool name in every span keeps ``import.json`` (and memory) bounded."""
    from harness_audit.importers.base import MAX_LISTED, Mapping

    m = Mapping()
    for i in range(MAX_LISTED + 5):
        assert m.tool(f"t{i}", "a") == ("unknown", "unscoped")
        m.agent(f"a{i}")
    m.tool("t0", "a")  # a listed name again: nothing unlisted
    summary = m.summary()
    assert len(summary["tools"]) == len(summary["agents"]) == MAX_LISTED
    assert summary["unlisted"] == {"listed_at_most": MAX_LISTED, "agents": 5, "tools": 5}
    assert "unlisted" not in Mapping().summary()


def test_ctrl_c_stops_both_processes_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C reaches the process group: the parent stops, the child leaves quietly."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys
        import time
        from pathlib import Path
        from harness_audit.trail.note import Signer
        from harness_audit.trail.sealer import seal_events
        from harness_audit.trail.source import RawEvent

        def events():
            n = 0
            while True:
                yield RawEvent("src", n, {"ts": "2026-01-01T00:00:00.000Z", "run": "r",
                    "span": f"s{n}", "parent": None, "agent": "harness", "kind": "run_start",
                    "pipeline": "p"})
                n += 1
                if n == 5000:  # two batches handed over: the child waits for the next
                    print("sealing", flush=True)
                    try:
                        time.sleep(60)
                    except KeyboardInterrupt:  # a parent slow to stop the child (as the CLI)
                        time.sleep(0.5)
                        raise

        signer = Signer.from_seed("o", bytes(32))
        try:
            seal_events(events(), Path(sys.argv[1]), "o", signer, jobs=2)
        except KeyboardInterrupt:
            sys.exit(130)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "t")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"sealing\n"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"Traceback" not in err, err.decode()
