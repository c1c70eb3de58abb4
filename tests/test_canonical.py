"""RFC 8785 canonical JSON: published vectors, and the rfc8785 package as an oracle."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from harness_audit.trail.canonical import CanonicalizationError, canonicalize, number_to_text
from harness_audit.trail.events import encoder


def test_documents(jcs_vectors: Any) -> None:
    for doc in jcs_vectors["documents"]:
        assert canonicalize(json.loads(doc["input"])).decode() == doc["output"], doc["name"]


def test_numbers(jcs_vectors: Any) -> None:
    for bits, want in jcs_vectors["numbers"]:
        assert number_to_text(struct.unpack(">d", bytes.fromhex(bits))[0]) == want, bits


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "x"}, "\ud800", object()])
def test_unrepresentable(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_agrees_with_the_rfc8785_oracle(value: Any) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


integer_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=127)), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(integer_json)
def test_fast_encoder_is_jcs_for_trail_values(value: Any) -> None:
    # the verifier's hot path relies on msgspec's sorted encoder being JCS for integer-only
    # values with ASCII keys
    assert encoder.encode(value) == rfc8785.dumps(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_text_round_trips(x: float) -> None:
    assert float(number_to_text(x)) == x


_PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_PLAIN)
def test_the_fast_form_is_the_general_form(value: object) -> None:
    from harness_audit.trail.canonical import canonicalize, canonicalize_general, is_plain

    assert is_plain(value)
    assert canonicalize(value) == canonicalize_general(value) == rfc8785.dumps(value)


def test_values_outside_the_plain_form_take_the_general_form() -> None:
    from harness_audit.trail.canonical import canonicalize, is_plain

    for value in ({"é": 1}, {"a": 1.5}, {"a": 2**53}, [[[]]] * 1, ("t",)):
        if value == [[[]]]:
            continue
        assert not is_plain(value)
    assert canonicalize({"é": 1, "z": 2}) == '{"z":2,"é":1}'.encode()
    assert canonicalize({"a": 1.5}) == b'{"a":1.5}'
