"""``init`` on inputs written in the shapes of real framework files (ADK agent configs, Agent
Framework declarative YAML, Agents SDK and LangGraph modules, VS Code and Claude Desktop MCP
configs): the agents, tools (with effects and gates) and edges drafted, detection by ``--from
auto``, and that each draft loads in ``scan``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers.mcp import strip_jsonc

DATA = Path(__file__).parent / "data" / "init"

Tools = dict[str, tuple[str, bool]]


def _draft(tmp_path: Path, folder: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / "out.yaml"
    r = CliRunner().invoke(app, ["init", str(DATA / folder), "-o", str(out), "--from", "auto"])
    assert r.exit_code == 0, r.output
    s = CliRunner().invoke(app, ["scan", str(out), "--no-trails"])
    assert s.exit_code in (0, 1), s.output
    return yaml.safe_load(out.read_text()), r.output


def _agents(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in doc["agents"]}


def _tools(agent: dict[str, Any]) -> Tools:
    return {
        t["name"]: (t["effect"], bool(t["human_gate"]["required"]))
        for t in agent.get("tools") or []
    }


def test_adk_config_tree(tmp_path: Path) -> None:
    """Sub-agent files, SequentialAgent order, AgentTool, MCP toolsets, FunctionTool gates."""
    doc, _ = _draft(tmp_path, "adk")
    ag = _agents(doc)
    assert set(ag) == {
        "help_desk",
        "triage_pipeline",
        "classifier",
        "filer",
        "notes_helper",
        "escalation_agent",
    }
    assert ag["help_desk"]["spawns"] == ["notes_helper", "triage_pipeline", "escalation_agent"]
    assert _tools(ag["help_desk"]) == {
        "google_search": ("read", False),
        "lookup_ticket": ("destructive", False),
        "notes_helper": ("destructive", False),
    }
    assert ag["triage_pipeline"]["spawns"] == ["classifier", "filer"]
    assert ag["filer"]["depends_on"] == ["classifier"]
    assert _tools(ag["filer"]) == {
        "create_issue": ("external", False),
        "search_issues": ("external", False),
        "close_ticket": ("destructive", True),
    }
    assert _tools(ag["notes_helper"]) == {
        "notes-mcp": ("destructive", False),
        "mcp.example.invalid": ("destructive", False),
    }
    assert ag["filer"]["model"]["name"] == "gemini-2.5-pro"
    assert "model" not in ag["triage_pipeline"]


def test_agent_framework_prompt_agent(tmp_path: Path) -> None:
    """``=Env.X`` model ids are not models; ``approvalMode`` always/specify gates per tool."""
    doc, _ = _draft(tmp_path, "af_agent")
    (a,) = doc["agents"]
    assert a["id"] == "DocsAgent"
    assert "model" not in a
    assert _tools(a) == {
        "docs_search": ("destructive", False),
        "docs_feedback_submit": ("destructive", True),
        "tickets": ("destructive", True),
        "GetOrderStatus": ("destructive", False),
        "web": ("read", False),
        "code_interpreter": ("destructive", False),
    }


def test_agent_framework_workflow(tmp_path: Path) -> None:
    """Nested ``trigger.actions`` give the workflow order as ``depends_on``; the workflow's own
    ``InvokeMcpTool`` call is a tool of its ``_actions`` agent, with no gate said."""
    doc, _ = _draft(tmp_path, "af_workflow")
    ag = _agents(doc)
    assert list(ag) == [
        "DocsResearch_actions",
        "QueryPlannerAgent",
        "DocsAgent",
        "CitationReviewerAgent",
    ]
    assert ag["DocsAgent"]["depends_on"] == ["QueryPlannerAgent"]
    assert ag["CitationReviewerAgent"]["depends_on"] == ["DocsAgent"]
    assert _tools(ag["DocsResearch_actions"]) == {"model_details_get": ("destructive", False)}


def test_openai_agents_module(tmp_path: Path) -> None:
    """``Agent[Ctx](…)``, ``handoff(agent=…)``, ``HostedMCPTool``, ``as_tool`` and gates."""
    doc, _ = _draft(tmp_path, "openai_agents")
    ag = _agents(doc)
    assert set(ag) == {"Refund_Agent", "spanish_agent", "FAQ_Agent", "Triage_Agent"}
    assert ag["Triage_Agent"]["spawns"] == ["FAQ_Agent", "Refund_Agent", "spanish_agent"]
    assert _tools(ag["Triage_Agent"]) == {"update_address": ("destructive", False)}
    assert _tools(ag["Refund_Agent"]) == {
        "lookup_order": ("destructive", False),
        "issue_refund": ("destructive", True),
    }
    assert ag["FAQ_Agent"]["spawns"] == ["spanish_agent"]
    assert _tools(ag["FAQ_Agent"]) == {
        "WebSearchTool": ("read", False),
        "docs": ("destructive", True),
        "translate_to_spanish": ("destructive", False),
    }
    assert ag["FAQ_Agent"]["model"]["name"] == "gpt-4o-mini"
    assert ag["spanish_agent"]["model"]["provider"] == "anthropic"


def test_langgraph_module(tmp_path: Path) -> None:
    """``bind_tools(tools)`` by name, ``ToolNode(tools=…)``, ``tools_condition``, routing
    functions without a path map, ``interrupt_before`` and ``interrupt()`` gates."""
    doc, _ = _draft(tmp_path, "langgraph")
    ag = _agents(doc)
    assert list(ag) == ["chatbot", "tools", "reviewer", "cleanup"]
    assert _tools(ag["chatbot"]) == {
        "TavilySearch": ("read", False),
        "send_reply": ("destructive", False),
    }
    assert _tools(ag["tools"]) == {
        "TavilySearch": ("read", True),
        "send_reply": ("destructive", True),
    }
    assert _tools(ag["cleanup"]) == {"delete_ticket": ("destructive", True)}
    assert ag["tools"]["depends_on"] == ["chatbot"]
    assert ag["chatbot"]["depends_on"] == ["tools"]
    assert ag["reviewer"]["depends_on"] == ["chatbot"]
    assert ag["cleanup"]["depends_on"] == ["reviewer"]


@pytest.mark.parametrize(
    ("folder", "tools"),
    [
        (
            "mcp_vscode",
            {
                "github": ("external", False),
                "fetch": ("read", False),
                "playwright": ("external", False),
            },
        ),
        (
            "mcp_claude",
            {
                "filesystem": ("write", False),
                "sqlite": ("destructive", False),
                "weather": ("destructive", False),
            },
        ),
    ],
)
def test_mcp_configs(tmp_path: Path, folder: str, tools: Tools) -> None:
    """One client agent, one tool per server (VS Code JSON with comments included)."""
    doc, _ = _draft(tmp_path, folder)
    (a,) = doc["agents"]
    assert a["id"] == "mcp_client"
    assert _tools(a) == tools


@pytest.mark.parametrize(
    ("folder", "fmt"),
    [
        ("adk", "adk"),
        ("af_agent", "agent-framework"),
        ("af_workflow", "agent-framework"),
        ("openai_agents", "openai-agents"),
        ("langgraph", "langgraph"),
        ("mcp_vscode", "mcp"),
        ("mcp_claude", "mcp"),
    ],
)
def test_detected_by_auto(tmp_path: Path, folder: str, fmt: str) -> None:
    """``--from auto`` picks the format, and the draft records it."""
    doc, _ = _draft(tmp_path, folder)
    assert doc["x-import"]["format"] == fmt


def test_strip_jsonc_keeps_strings_and_lines() -> None:
    """Comments and trailing commas go; ``//`` inside a string and line numbers stay."""
    raw = b'{\n  // c\n  "u": "http://x", /* b\n */ "a": [1,],\n}'
    out = strip_jsonc(raw)
    assert out.count(b"\n") == raw.count(b"\n")
    assert yaml.safe_load(out) == {"u": "http://x", "a": [1]}
