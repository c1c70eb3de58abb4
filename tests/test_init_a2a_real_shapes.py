"""Issue 24, items 1-3 for A2A agent cards: cards written (our own text) in the shapes of the
a2aproject samples: a folder of cards, one per agent of a travel system, names with spaces and
no security at all (the a2a_mcp sample); a 0.3 card with ``protocolVersion``/``preferredTransport``
(the ADK currency sample) and an OAuth2 client-credentials requirement with a scope (the Java
"security" sample); an A2A 1.0 card (``supportedInterfaces`` instead of ``url``, each security
scheme wrapped in its kind, ``securityRequirements`` of ``schemes``/``list``, a skill's own
requirement, ``capabilities.extendedAgentCard``). Each goes through ``init`` -> ``scan`` ->
``report`` -> ``report verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness_audit.importers import detect_definition

from .test_init_h24_langgraph import agents, draft, tools


def _card(name: str, skills: list[str], **more: Any) -> str:
    card: dict[str, Any] = {
        "name": name,
        "description": f"{name} for a travel desk",
        "url": "http://localhost:10100/",
        "version": "1.0.0",
        "capabilities": {"streaming": True, "pushNotifications": True},
        "defaultInputModes": ["text", "text/plain"],
        "defaultOutputModes": ["text", "text/plain"],
        "skills": [
            {"id": s, "name": s.replace("_", " ").title(), "description": s, "tags": [s]}
            for s in skills
        ],
    }
    card.update(more)
    return json.dumps(card, indent=4)


def test_a_folder_of_cards_one_agent_each_and_no_security_is_open(tmp_path: Path) -> None:
    """Every card of the folder is an agent (its name made an id), every skill a tool whose
    effect the card does not state (destructive until declared, ungated); a card with no
    security scheme says that anyone who reaches it may call it."""
    folder = tmp_path / "agent_cards"
    folder.mkdir()
    (folder / "planner.json").write_text(_card("Trip Planner Agent", ["plan_trip"]))
    (folder / "hotels.json").write_text(_card("Hotel Booking Agent", ["book_accommodation"]))
    (folder / "cars.json").write_text(_card("Car Rental Agent", ["book_car", "cancel_car"]))
    assert detect_definition([folder])[0] == "a2a"
    doc = draft(tmp_path, folder, "auto")
    ag = agents(doc)
    assert set(ag) == {"Trip_Planner_Agent", "Hotel_Booking_Agent", "Car_Rental_Agent"}
    assert tools(ag["Car_Rental_Agent"]) == {
        "book_car": ("destructive", False),
        "cancel_car": ("destructive", False),
    }
    assert all("model" not in a for a in ag.values())
    assert doc["_text"].count("anyone who reaches its URL may call it") == 3


def test_a_0_3_card_with_an_oauth2_scope(tmp_path: Path) -> None:
    """``security: [{oauth2: [profile]}]`` over a client-credentials flow: an access fact with
    its line, never an approval before the skill."""
    card = tmp_path / "agent.json"
    card.write_text(
        _card(
            "Fortune Agent",
            ["fortune"],
            protocolVersion="0.3.0",
            preferredTransport="JSONRPC",
            securitySchemes={
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "http://localhost:8180/token",
                            "scopes": {"openid": "openid", "profile": "profile"},
                        }
                    },
                }
            },
            security=[{"oauth2": ["profile"]}],
        )
    )
    doc = draft(tmp_path, card, "a2a")
    (a,) = doc["agents"]
    assert tools(a) == {"fortune": ("destructive", False)}
    text = doc["_text"]
    assert "security schemes oauth2 (oauth2: scopes openid, profile)" in text
    assert "a caller presents oauth2 [profile]" in text


V1 = {
    "name": "Ledger Agent",
    "description": "Posts and reads ledger entries",
    "version": "2.0.0",
    "supportedInterfaces": [
        {
            "url": "https://ledger.example.invalid/a2a",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0",
        },
        {
            "url": "https://ledger.example.invalid/rest",
            "protocolBinding": "HTTP+JSON",
            "protocolVersion": "1.0",
        },
    ],
    "capabilities": {"streaming": False, "extendedAgentCard": True},
    "defaultInputModes": ["application/json"],
    "defaultOutputModes": ["application/json"],
    "securitySchemes": {
        "staff": {"httpAuthSecurityScheme": {"scheme": "Bearer", "bearerFormat": "JWT"}},
        "svc": {"apiKeySecurityScheme": {"location": "header", "name": "X-Ledger-Key"}},
        "sso": {
            "oauth2SecurityScheme": {
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "https://id.example.invalid/auth",
                        "tokenUrl": "https://id.example.invalid/token",
                        "scopes": {"ledger.post": "post entries"},
                    }
                }
            }
        },
    },
    "securityRequirements": [{"schemes": {"staff": {"list": []}}}, {"schemes": {"svc": {}}}],
    "skills": [
        {"id": "read_entry", "name": "Read", "description": "Reads an entry", "tags": ["read"]},
        {
            "id": "post_entry",
            "name": "Post",
            "description": "Posts an entry",
            "tags": ["write"],
            "securityRequirements": [{"schemes": {"sso": {"list": ["ledger.post"]}}}],
        },
    ],
}


def test_an_a2a_1_0_card(tmp_path: Path) -> None:
    """The 1.0 shape: the endpoint from ``supportedInterfaces``, wrapped schemes read as their
    kind, ``securityRequirements`` as alternatives, a skill's own requirement said on its tool,
    and the authenticated extended card's skills an unknown tool (fail closed), with its line."""
    wk = tmp_path / "site" / ".well-known"
    wk.mkdir(parents=True)
    card = wk / "agent-card.json"
    card.write_text(json.dumps(V1, indent=2))
    assert detect_definition([tmp_path / "site"]) == ("a2a", [card])
    doc = draft(tmp_path, tmp_path / "site", "auto")
    (a,) = doc["agents"]
    assert a["id"] == "Ledger_Agent"
    assert tools(a) == {
        "read_entry": ("destructive", False),
        "post_entry": ("destructive", False),
        "unknown": ("destructive", False),
    }
    text = doc["_text"]
    assert "a remote A2A agent at https://ledger.example.invalid/a2a" in text
    assert (
        "security schemes staff (http Bearer); svc (API key in header X-Ledger-Key); "
        "sso (oauth2: scopes ledger.post)" in text
    )
    assert "a caller presents staff or svc" in text
    assert "a caller presents sso [ledger.post] (access, not approval)" in text
    assert "anyone who reaches" not in text
    notes = " ".join(doc["x-import"]["notes"])
    assert "agent-card.json:19: agent 'Ledger_Agent': tools computed at run time" in notes
