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

from harness_audit.importers.base import as_dict, load_json, read_document
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, safe_id
from harness_audit.importers.probe import Probe

NAME = "a2a"
DESCRIPTION = "A2A agent cards (agent.json, agent-card.json)"

MAX_CARD_BYTES = 4 << 20
MAX_SKILLS = 1000
"""A card with more skills than this is read up to it, and says so."""

_CARD_KEYS = (
    "capabilities",
    "defaultInputModes",
    "protocolVersion",
    "preferredTransport",
    "url",
    "supportedInterfaces",
)

_V1_SCHEMES = {
    "apiKeySecurityScheme": "apiKey",
    "httpAuthSecurityScheme": "http",
    "oauth2SecurityScheme": "oauth2",
    "openIdConnectSecurityScheme": "openIdConnect",
    "mtlsSecurityScheme": "mutualTLS",
}
"""A2A 1.0 wraps each security scheme in one field naming its kind (the protocol's
``SecurityScheme`` oneof); 0.x cards say it in ``type``."""


def _unwrap(s: dict[str, Any]) -> dict[str, Any]:
    """A security scheme in the 0.x shape (``type``, ``in``), from either version's card."""
    for key, kind in _V1_SCHEMES.items():
        inner = as_dict(s.get(key))
        if inner:
            out = {**inner, "type": kind}
            if "location" in inner and "in" not in inner:
                out["in"] = inner["location"]
            return out
    return s


def _requirements(reqs: Any) -> list[dict[str, Any]]:
    """Security requirements of either version: 0.x ``[{name: [scopes]}]``, 1.0
    ``[{"schemes": {name: {"list": [scopes]}}}]``; each as ``{name: [scopes]}``."""
    out: list[dict[str, Any]] = []
    for r in reqs if isinstance(reqs, list) else []:
        r = as_dict(r)
        schemes = r.get("schemes")
        if isinstance(schemes, dict) and all(isinstance(v, dict) for v in schemes.values()):
            out.append({str(k): as_dict(v).get("list") or [] for k, v in schemes.items()})
        else:
            out.append(r)
    return out


def _alternatives(reqs: list[dict[str, Any]]) -> str:
    """Requirements in words: ``oauth [profile] or key``."""
    alts = []
    for r in reqs:
        parts = [
            f"{k}" + (f" [{', '.join(str(x) for x in v)}]" if isinstance(v, list) and v else "")
            for k, v in r.items()
        ]
        alts.append(" and ".join(parts) or "none")
    return " or ".join(alts)


def _url(doc: dict[str, Any]) -> str | None:
    """The card's endpoint: ``url`` (0.x), else the first of ``supportedInterfaces`` (1.0)."""
    if isinstance(doc.get("url"), str):
        return str(doc["url"])
    for key in ("supportedInterfaces", "additionalInterfaces"):
        for i in doc.get(key) or []:
            if isinstance(as_dict(i).get("url"), str):
                return str(as_dict(i)["url"])
    return None


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
        url = _url(doc)
        a.notes.append(
            f"a remote A2A agent at {url}: its card states no model"
            if url
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
            own = _requirements(s.get("securityRequirements", s.get("security")))
            if own:
                t.gate_note += f"; a caller presents {_alternatives(own)} (access, not approval)"
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
    return d.with_agents(
        paths,
        "no A2A agent card found",
        '{"name": …, "url": …, "skills": […]}',
    )


def _access(a: DraftAgent, doc: dict[str, Any], raw: bytes, f: str, d: Draft) -> None:
    """The card's security schemes and requirements, as access facts on the agent."""
    schemes = as_dict(doc.get("securitySchemes"))
    old = as_dict(doc.get("authentication")).get("schemes")  # cards before A2A 0.2
    if not schemes and isinstance(old, list) and old:
        schemes = {str(x): {"type": str(x)} for x in old}
        raw_key = "authentication"
    else:
        raw_key = "securitySchemes"
    req_key = "securityRequirements" if "securityRequirements" in doc else "security"
    reqs = _requirements(doc.get(req_key))
    where = Where(f, _line_of(raw, raw_key)[0]) if schemes else None
    if schemes:
        listed = "; ".join(_scheme(str(k), _unwrap(as_dict(v))) for k, v in schemes.items())
        a.notes.append(f"access stated by the card ({where}): security schemes {listed}")
    if reqs:
        line = _line_of(raw, req_key)[0]
        a.notes.append(
            f"access stated by the card ({Path(f).name}:{line}): a caller presents "
            + _alternatives(reqs)
        )
    elif not schemes:
        a.notes.append("the card states no security scheme: anyone who reaches its URL may call it")
        d.notes.append(f"{a.id}: the card states no authentication ({Path(f).name})")
    ext_key = (
        "supportsAuthenticatedExtendedCard"
        if doc.get("supportsAuthenticatedExtendedCard") is True
        else "extendedAgentCard"
        if as_dict(doc.get("capabilities")).get("extendedAgentCard") is True
        else None
    )
    if ext_key is not None:  # skills the public card does not show: fail closed
        a.notes.append(
            "an authenticated caller gets an extended card: skills beyond these may exist"
        )
        d.unknown.append(f"the extended card's skills of {a.id}")
        d.unseen_tools(
            a,
            f"{ext_key}: the skills of the authenticated extended card",
            Where(f, _line_of(raw, ext_key)[0]),
        )
