"""The importers' lookup tables: model strings -> provider and family, well-known tool and MCP
server effects, OTel attribute names and span kinds, as ``rules/models.yaml``,
``rules/tool_effects.yaml`` and ``rules/otel_attributes.yaml`` hold them. (Not the rule book
of the checks: that is ``checks/``.)

Every entry carries a ``source``; :func:`entries_without_source` lets a test keep it that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from harness_audit._resources import load_rules

UNKNOWN = "unknown"


@cache
def models_table() -> dict[str, Any]:
    """``rules/models.yaml`` as loaded."""
    return load_rules("models.yaml")


@cache
def tool_effects_table() -> dict[str, Any]:
    """``rules/tool_effects.yaml`` as loaded."""
    return load_rules("tool_effects.yaml")


@cache
def otel_table() -> dict[str, Any]:
    """``rules/otel_attributes.yaml`` as loaded."""
    return load_rules("otel_attributes.yaml")


def entries_without_source() -> list[str]:
    """Every entry of the three tables that lacks a ``source`` (empty when all is well)."""
    missing: list[str] = []
    m = models_table()
    for i, e in enumerate(m["prefixes"]):
        if not e.get("source"):
            missing.append(f"models.yaml prefixes[{i}]")
    for i, e in enumerate(m["families"]):
        if not e.get("source"):
            missing.append(f"models.yaml families[{i}]")
    for key in ("bedrock", "huggingface", "otel_providers"):
        if not m[key].get("source"):
            missing.append(f"models.yaml {key}")
    t = tool_effects_table()
    for section in ("tools", "mcp_servers"):
        for i, e in enumerate(t[section]):
            if not e.get("source"):
                missing.append(f"tool_effects.yaml {section}[{i}]")
    o = otel_table()
    for key, names in o["attributes"].items():
        for i, e in enumerate(names):
            if not e.get("source"):
                missing.append(f"otel_attributes.yaml attributes.{key}[{i}]")
    for i, e in enumerate(o["span_kinds"]):
        if not e.get("source"):
            missing.append(f"otel_attributes.yaml span_kinds[{i}]")
    return missing


# -- models -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model string resolved to provider and family (``unknown`` when no rule matches)."""

    provider: str
    family: str
    name: str

    @property
    def known(self) -> bool:
        """True when the family was recognised."""
        return self.family != UNKNOWN

    def as_dict(self) -> dict[str, str]:
        """The trail's ``model`` object."""
        return {"provider": self.provider, "family": self.family, "name": self.name}


@cache
def _families() -> list[tuple[re.Pattern[str], str, str]]:
    return [
        (re.compile(e["match"], re.IGNORECASE), str(e["family"]), str(e["provider"]))
        for e in models_table()["families"]
    ]


@cache
def _bedrock() -> re.Pattern[str]:
    return re.compile(models_table()["bedrock"]["pattern"], re.IGNORECASE)


@cache
def _vertex_resource() -> re.Pattern[str]:
    return re.compile(models_table()["vertex_resource"]["pattern"], re.IGNORECASE)


def _family_of(bare: str) -> tuple[str, str] | None:
    for pattern, family, provider in _families():
        if pattern.match(bare):
            return family, provider
    return None


@lru_cache(maxsize=4096)  # bounded: an export may name a new model string in every span
def resolve_model(model: str, provider_hint: str | None = None) -> ModelInfo:
    """Provider and family of a model string, by ``rules/models.yaml``.

    ``provider_hint`` (an OTel provider name, LangSmith ``ls_provider``) wins over the family's
    default provider but not over a hosting prefix in the string itself.
    """
    name = model.strip()
    bare = name
    provider: str | None = None
    for e in models_table()["prefixes"]:
        prefix = str(e["prefix"])
        if bare.lower().startswith(prefix):
            provider = str(e["provider"])
            bare = bare[len(prefix) :]
            if e.get("vendor_segment") and "/" in bare:
                bare = bare.split("/", 1)[1]
            break
    vertex = _vertex_resource().match(bare) if provider is None else None
    if vertex:
        provider = str(models_table()["vertex_resource"]["provider"])
        bare = vertex.group(1)
    m = _bedrock().match(bare)
    if m:
        provider = provider or str(models_table()["bedrock"]["provider"])
        bare = m.group(2)
    elif provider is None and "/" in bare:
        provider = str(models_table()["huggingface"]["provider"])
        bare = bare.rsplit("/", 1)[1]
    hint = normalise_provider(provider_hint) if provider_hint else None
    found = _family_of(bare)
    if found is None:
        return ModelInfo(provider or hint or UNKNOWN, UNKNOWN, name)
    family, default_provider = found
    return ModelInfo(provider or hint or default_provider, family, name)


def normalise_provider(value: str | None) -> str | None:
    """An OTel ``gen_ai.provider.name``/``gen_ai.system`` value as a provider, or None."""
    if not value:
        return None
    values: dict[str, str] = models_table()["otel_providers"]["values"]
    return values.get(value.strip().lower())


# -- tools ------------------------------------------------------------------------------------


@cache
def _tool_index() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    for e in tool_effects_table()["tools"]:
        for n in e["names"]:
            index.setdefault(str(n).lower(), (str(e["effect"]), str(e["source"])))
    return index


def known_tool_effect(name: str) -> tuple[str, str] | None:
    """(effect, source) of a well-known tool by class or tool name, or None."""
    return _tool_index().get(name.strip().lower())


def known_mcp_effect(text: str) -> tuple[str, str] | None:
    """(effect, source) of a well-known MCP server named in a command line or URL, or None."""
    low = text.lower()
    for e in tool_effects_table()["mcp_servers"]:
        if str(e["match"]).lower() in low:
            return str(e["effect"]), str(e["source"])
    return None


# -- OTel attributes --------------------------------------------------------------------------


@cache
def attribute_names(meaning: str) -> tuple[str, ...]:
    """The attribute names that carry ``meaning``, in priority order."""
    return tuple(str(e["name"]) for e in otel_table()["attributes"].get(meaning, ()))


@cache
def attribute_index() -> dict[str, tuple[tuple[str, int], ...]]:
    """Attribute name -> every (meaning, rank) it carries: :func:`attribute_names` inverted."""
    index: dict[str, list[tuple[str, int]]] = {}
    for meaning, names in otel_table()["attributes"].items():
        for rank, e in enumerate(names):
            index.setdefault(str(e["name"]), []).append((str(meaning), rank))
    return {name: tuple(hits) for name, hits in index.items()}


@cache
def span_kind_rules() -> dict[tuple[str, str], str]:
    """(meaning, value) -> event kind (model_call, tool_call, agent, evaluation)."""
    return {
        (str(e["attribute"]), str(e["value"])): str(e["kind"]) for e in otel_table()["span_kinds"]
    }


@cache
def prices_table() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    """``rules/prices.yaml``'s entries, each with its compiled ``match``."""
    doc = load_rules("prices.yaml")
    return [
        (re.compile(str(e["match"]), re.IGNORECASE), e)
        for e in doc.get("models", [])
        if isinstance(e, dict) and "match" in e
    ]


def estimate_cost(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_write: int = 0,
    cache_read: int = 0,
    cache_write_1h: int = 0,
) -> tuple[int, str] | None:
    """(micro-dollars, what the estimate rests on) of a call by ``rules/prices.yaml``; None when
    no entry prices the model (its cost stays unknown). ``input_tokens`` excludes the cache;
    ``cache_write_1h`` is the part of ``cache_write`` written for an hour (priced higher)."""
    bare = model.rsplit("/", 1)[-1]
    long_write = min(max(cache_write_1h, 0), cache_write)
    for pattern, e in prices_table():
        if pattern.match(bare):
            write_price = float(e.get("cache_write", e["input"]))
            usd_per_mtok = (
                input_tokens * float(e["input"])
                + output_tokens * float(e["output"])
                + (cache_write - long_write) * write_price
                + long_write * float(e.get("cache_write_1h", write_price))
                + cache_read * float(e.get("cache_read", e["input"]))
            )
            source = f"rules/prices.yaml {e['match']!r} ({e['source']}, {e['date']})"
            return round(usd_per_mtok), source
    return None
