"""A2A agent cards (``/.well-known/agent.json``, ``agent-card.json``; the Agent2Agent protocol's
``AgentCard``): one agent per card, read as data.

A card states a remote agent's ``name``, ``description``, ``url``, ``skills`` and its
``securitySchemes``/``security``; it states no model and no effect. So each skill is an
operation the agent offers, drafted as a tool whose effect is unknown (destructive until
declared, fail closed) and ungated; the security schemes and the requirements that use them are
access facts, each with its line, said on the agent (never declared as enforcement: the card
says what a caller must present, not what the agent may reach). A card with no security
requirement says so: anyone who reaches its URL may call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from harness_audit.importers.base import as_dict, fail, load_json, read_document
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, safe_id
from harness_audit.importers.probe import Probe

NAME = "a2a"
DESCRIPTION = "A2A agent cards (agent.json, agent-card.json)"

MAX_CARD_BYTES = 4 << 20
MAX_SKILLS = 1000
"""A card with more skills than this is read up to it, and says so."""

_CARD_KEYS = ("capabilities", "defaultInputModes", "protocolVersion", "preferredTransport", "url")


def is_card(doc: Any) -> bool:
    """An A2A agent card: a name, a list of skills, and one of the fields only cards have."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("name"), str)
        and isinstance(doc.get("skills"), list)
        and any(k in doc for k in _CARD_KEYS)
    )


def sniff(probe: Probe) -> str | None:
    """What A2A file the source is (None: not one)."""
    if probe.path.suffix == ".json" and is_card(probe.json):
        return "an A2A agent card"
    return None


def _line_of(raw: bytes, key: str, start: int = 0) -> tuple[int, int]:
    """(line, offset) of the first ``"key"`` at or after ``start`` (line 1 when absent)."""
    idx = raw.find(orjson.dumps(key), start)
    if idx < 0:
        return 1, start
    return raw[:idx].count(b"\n") + 1, idx


def _scheme(name: str, s: dict[str, Any]) -> str:
    """One security scheme in words: ``bearer (http bearer)``, ``oauth (oauth2: scopes a, b)``."""
    kind = str(s.get("type") or "?")
    if kind == "http":
        return f"{name} (http {s.get('scheme', '?')})"
    if kind == "apiKey":
        return f"{name} (API key in {s.get('in', '?')} {s.get('name', '?')!s})"
    if kind == "oauth2":
        scopes: set[str] = set()
        for flow in as_dict(s.get("flows")).values():
            scopes |= {str(x) for x in as_dict(as_dict(flow).get("scopes"))}
        listed = ", ".join(sorted(scopes)) or "none listed"
        return f"{name} (oauth2: scopes {listed})"
    if kind == "openIdConnect":
        return f"{name} (OpenID Connect)"
    if kind == "mutualTLS":
        return f"{name} (mutual TLS)"
    return f"{name} ({kind})"


def read(paths: list[Path]) -> Draft:
    """One agent per card: its skills as tools (effect unknown), its security as access facts."""
    d = Draft(NAME, "a2a", list(paths))
    for p in paths:
        raw = read_document(p, MAX_CARD_BYTES)
        doc = load_json(p, raw)
        if not is_card(doc):
            continue
        f = str(p)
        name_line, _ = _line_of(raw, "name")
        base = aid = safe_id(str(doc["name"]))
        for n in range(2, 10_000):
            if d.agent(aid) is None:
                break
            aid = f"{base}_{n}"
        a = DraftAgent(aid, Where(f, name_line))
        desc = doc.get("description")
        if isinstance(desc, str) and desc.strip():
            a.role = desc
        url = doc.get("url")
        a.notes.append(
            f"a remote A2A agent at {url!s}: its card states no model"
            if isinstance(url, str)
            else "a remote A2A agent: its card states no model"
        )
        skills = doc["skills"]
        _, at = _line_of(raw, "skills")
        seen: set[str] = set()
        for s in skills[:MAX_SKILLS]:
            s = as_dict(s)
            sid = s.get("id") or s.get("name")
            if not isinstance(sid, str) or not sid:
                continue
            line, at = _line_of(raw, sid, at)
            tid = safe_id(sid)
            if tid in seen:
                continue
            seen.add(tid)
            t = DraftTool(tid, Where(f, line))
            t.gate_note = (
                "an A2A skill: what it does is not stated by the card, and the card states no "
                "approval before it"
            )
            a.tools.append(t)
        if len(skills) > MAX_SKILLS:
            d.notes.append(f"{aid}: more than {MAX_SKILLS} skills: the first {MAX_SKILLS} read")
            d.unknown.append(f"the skills of {aid} past the first {MAX_SKILLS}")
        if not a.tools:
            t = DraftTool("unknown", Where(f, _line_of(raw, "skills")[0]))
            t.gate_note = "the card lists no skill: what the agent does is not stated"
            a.tools.append(t)
        _access(a, doc, raw, f, d)
        d.agents.append(a)
    if not d.agents:
        raise fail(
            str(paths[0]) if paths else "-",
            "no A2A agent card found",
            expected='{"name": …, "url": …, "skills": […]}',
        )
    return d


def _access(a: DraftAgent, doc: dict[str, Any], raw: bytes, f: str, d: Draft) -> None:
    """The card's security schemes and requirements, as access facts on the agent."""
    schemes = as_dict(doc.get("securitySchemes"))
    old = as_dict(doc.get("authentication")).get("schemes")  # cards before A2A 0.2
    if not schemes and isinstance(old, list) and old:
        schemes = {str(x): {"type": str(x)} for x in old}
        raw_key = "authentication"
    else:
        raw_key = "securitySchemes"
    reqs = doc.get("security")
    where = Where(f, _line_of(raw, raw_key)[0]) if schemes else None
    if schemes:
        listed = "; ".join(_scheme(str(k), as_dict(v)) for k, v in schemes.items())
        a.notes.append(f"access stated by the card ({where}): security schemes {listed}")
    if isinstance(reqs, list) and reqs:
        alts = []
        for r in reqs:
            parts = [
                f"{k}" + (f" [{', '.join(str(x) for x in v)}]" if isinstance(v, list) and v else "")
                for k, v in as_dict(r).items()
            ]
            alts.append(" and ".join(parts) or "none")
        line = _line_of(raw, "security")[0]
        a.notes.append(
            f"access stated by the card ({Path(f).name}:{line}): a caller presents "
            + " or ".join(alts)
        )
    elif not schemes:
        a.notes.append("the card states no security scheme: anyone who reaches its URL may call it")
        d.notes.append(f"{a.id}: the card states no authentication ({Path(f).name})")
    if doc.get("supportsAuthenticatedExtendedCard") is True:
        a.notes.append(
            "an authenticated caller gets an extended card: skills beyond these may exist"
        )
        d.unknown.append(f"the extended card's skills of {a.id}")
