"""Look-alike identities: a zero-width character or a homoglyph in a model's provider or family
cannot make a same-model verifier count as independent, in a manifest or in a trail event."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness_audit.errors import ManifestError
from harness_audit.manifest import load_manifest
from harness_audit.manifest.model import Model, identity, independence

from .conftest import base_manifest

OPENAI = Model("openai", "gpt-4o")


def with_verifier(provider: str, family: str) -> dict[str, Any]:
    m = base_manifest()
    m["agents"].append(
        {"id": "v", "verifies": ["a"], "model": {"provider": provider, "family": family}}
    )
    return m


@pytest.mark.parametrize(
    ("provider", "family", "field"),
    [
        ("openai\u200b", "claude", "provider"),
        ("anthropic", "gpt\u20114o", "family"),
        ("\uff4fpenai", "claude", "provider"),  # fullwidth o
        ("anthropic", "gpt-4\u043e", "family"),  # Cyrillic o
    ],
)
def test_a_non_ascii_provider_or_family_is_a_schema_error_with_its_line(
    write_manifest: Callable[..., Path], provider: str, family: str, field: str
) -> None:
    path = write_manifest(with_verifier(provider, family))
    with pytest.raises(ManifestError) as e:
        load_manifest(path)
    (d,) = e.value.diagnostics()
    line = max(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if text.strip().startswith(f"{field}:")
    )  # the verifier's, the last agent
    assert d.line == line and f"agents[1] (v).model.{field}" in d.message
    assert d.expected and "A-Za-z0-9" in d.expected


@pytest.mark.parametrize(
    ("provider", "family"),
    [
        ("openai", "gpt-4o"),
        ("anthropic", "claude"),
        ("aws.bedrock", "claude"),
        ("google", "gemini"),
        ("openai", "o-series"),
        ("meta", "llama"),
        ("mistral", "gpt-4.1"),
    ],
)
def test_ordinary_providers_and_families_are_valid(
    write_manifest: Callable[..., Path], provider: str, family: str
) -> None:
    load_manifest(write_manifest(with_verifier(provider, family)))


@pytest.mark.parametrize(
    "verifier",
    [
        Model("openai\u200b", "gpt\u20114o"),  # the two strings of the report
        Model("anthropic", "gpt\u20114o"),
        Model("anthropic", "gpt-4o\u200b"),
        Model("anthropic", "gpt\u00ad-4o"),  # soft hyphen
        Model("anthropic", "GPT-4O"),
        Model("anthropic", "\uff47pt-4o"),  # fullwidth g: NFKC makes it g
        Model("anthropic", "gpt-4\u043e"),  # Cyrillic o: not ASCII, fails closed
        Model("anthropic\u200b", " gpt-4o "),
    ],
)
def test_a_look_alike_family_is_not_independent(verifier: Model) -> None:
    assert independence("a", OPENAI, False, "v", verifier, False) == "not_independent"


def test_a_look_alike_provider_is_the_same_provider() -> None:
    for provider in ("openai\u200b", "OpenAI", "\uff4fpenai", "open\u2060ai"):
        assert (
            independence("a", OPENAI, False, "v", Model(provider, "claude"), False)
            == "same_provider"
        ), provider


def test_a_non_ascii_provider_fails_closed() -> None:
    assert (
        independence("a", OPENAI, False, "v", Model("\u043epenai", "claude"), False)
        == "not_independent"
    )
    assert (
        independence("a", Model("anthr\u043epic", "claude"), False, "v", OPENAI, False)
        == "not_independent"
    )


def test_a_look_alike_id_is_the_actor_itself() -> None:
    assert (
        independence("a", OPENAI, False, "a\u200b", Model("anthropic", "claude"), False) == "self"
    )


def test_independent_models_stay_independent() -> None:
    assert (
        independence("a", OPENAI, False, "v", Model("anthropic", "claude"), False) == "independent"
    )
    assert independence("a", OPENAI, False, "v", None, True) == "independent"


def test_identity() -> None:
    assert identity("Open\u200bAI") == "openai"
    assert identity("gpt\u20114o") is None
    assert identity("\u200b") is None
