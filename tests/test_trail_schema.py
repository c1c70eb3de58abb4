"""schemas/trail-event.schema.json and the decoder's structs say the same thing."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest

from harness_audit.trail import events as ev
from harness_audit.trail.seal import seal_event

from .conftest import ROOT
from .trailkit import event

SCHEMA = json.loads((ROOT / "schemas" / "trail-event.schema.json").read_text())
VARIANTS = {v["title"]: v for v in SCHEMA["oneOf"]}


def struct_fields(cls: type[ev.Event]) -> tuple[set[str], set[str]]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    required = {f.encode_name for f in info.fields if f.required} | {"kind"}
    return required, {f.encode_name for f in info.fields} | {"kind"}


def test_same_kinds() -> None:
    assert set(VARIANTS) == set(ev.KIND_NAMES) == set(SCHEMA["properties"]["kind"]["enum"])


@pytest.mark.parametrize("cls", ev.KINDS, ids=ev.KIND_NAMES)
def test_same_fields_per_kind(cls: type[ev.Event]) -> None:
    variant = VARIANTS[cls.__struct_config__.tag]
    required, every = struct_fields(cls)
    assert set(variant["required"]) == required
    assert set(variant["properties"]) == every


@pytest.mark.parametrize("cls", ev.KINDS, ids=ev.KIND_NAMES)
def test_same_enumerations(cls: type[ev.Event]) -> None:
    variant = VARIANTS[cls.__struct_config__.tag]
    hints = typing.get_type_hints(cls, include_extras=True)
    for name, spec in variant["properties"].items():
        if "enum" in spec:
            assert set(typing.get_args(hints[name])) == set(spec["enum"]), name


def test_same_patterns() -> None:
    common = VARIANTS["error"]["properties"]
    assert common["ts"]["pattern"] == ev.TS_PATTERN
    assert common["hash"]["pattern"] == ev.HEX64_PATTERN
    assert VARIANTS["model_call"]["properties"]["input_digest"]["pattern"] == ev.HEX64_PATTERN


def sealed(i: int) -> dict[str, Any]:
    line, _ = seal_event(event(i), i, "0" * 64)
    return typing.cast(dict[str, Any], json.loads(line))


@pytest.mark.parametrize("i", range(4))
def test_written_events_are_valid_against_the_schema(i: int) -> None:
    jsonschema.validate(sealed(i), SCHEMA)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"kind": "nope"}, None),
        ({"effect": "delete"}, None),
        ({"seq": -1}, None),
        ({"input_tokens": "12"}, None),
    ],
)
def test_schema_and_decoder_both_refuse(change: dict[str, Any], path: Path | None) -> None:
    bad = sealed(1) | change if "effect" in change else sealed(0) | change
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(bad, ev.AnyEvent, strict=True)


MARKERS = [("model_call", "x_cost"), ("model_call", "x_cost_estimated")]
MARKERS += [("tool_call", "x_outcome"), ("verification", "x_verdict")]
MARKERS += [("model_call", "x_time"), ("tool_call", "x_agent_from")]
BAD_VALUES: list[Any] = [1.5, [1, 2.5], {"a": {"b": 0.5}}, 2**60, -(2**53), [[2**53]]]


def _of_kind(kind: str) -> dict[str, Any]:
    for i in range(200):
        e = sealed(i)
        if e["kind"] == kind:
            return e
    base = sealed(0)
    if kind == "verification":
        model = {"provider": "a", "family": "b", "name": "c"}
        return base | {"kind": kind, "target": "s0", "verdict": "pass", "model": model}
    raise AssertionError(kind)


@pytest.mark.parametrize(("kind", "marker"), MARKERS)
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_a_marker_is_held_to_the_rules_of_every_field(
    kind: str, marker: str, value: Any, tmp_path: Path
) -> None:
    """Issue 28.1: an x_ marker the structs name (typed ``Any``) with a fraction or an integer
    beyond 2^53-1, nested or not, is refused by the schema, by the pattern check beside the
    decoder and by the pure verifier as any other field beyond the kind's is (an invalid
    event; it was taken as valid: the three copies of the schema disagreed)."""
    from harness_audit.trail import _core
    from harness_audit.trail.canonical import canonicalize_general
    from harness_audit.trail.verify import verify_trail

    bad = _of_kind(kind) | {marker: value}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    assert ev.pattern_problem(msgspec.convert(bad, ev.AnyEvent, strict=True), links=False)
    details = []
    for name in (marker, "x_other"):
        e = {k: x for k, x in _of_kind(kind).items() if k != "hash"} | {name: value}
        e["seq"], e["prev"] = 0, "0" * 64
        import hashlib

        body = canonicalize_general(e)
        e["hash"] = hashlib.sha256(b"\x00" + body).hexdigest()
        d = tmp_path / name
        d.mkdir()
        (d / "trail-000001.jsonl").write_bytes(canonicalize_general(e) + b"\n")
        for core in ("python", "c") if _core.available() else ("python",):
            with _core.using(core):
                r = verify_trail([d], allow_unanchored=True)
            details.append([(p.kind, p.line) for p in r.problems])
    assert all(x == details[0] for x in details) and details[0][0][0] == "invalid_event", details
    ok = _of_kind(kind) | {marker: ["unknown", None, True, -(2**53 - 1), {"k": [2**53 - 1]}]}
    jsonschema.validate(ok, SCHEMA)
    assert ev.pattern_problem(msgspec.convert(ok, ev.AnyEvent, strict=True), links=False) is None
