"""The one list of the formats the importers read: names (the ``--from`` choices, the module
of each under ``importers/``) and the labels the help text shows.

Light on purpose, and outside ``importers/``: the command line reads it for ``--help`` without
importing an importer;
:mod:`harness_audit.importers.registry` loads the modules from it.
"""

from __future__ import annotations

TRACES: tuple[tuple[str, str], ...] = (
    ("otlp", "OTLP"),
    ("langfuse", "Langfuse"),
    ("langsmith", "LangSmith"),
    ("anthropic-sessions", "Anthropic sessions"),
    ("openhands", "OpenHands"),
    ("swe-agent", "SWE-agent"),
    ("claude-code", "Claude Code"),
    ("codex", "OpenAI Codex"),
    ("gemini-cli", "Gemini CLI"),
    ("phoenix", "Arize Phoenix"),
    ("openhands-sdk", "OpenHands 1.x SDK"),
    ("mini-swe-agent", "mini-swe-agent"),
    ("agentcore-logs", "AWS AgentCore log records"),
)
"""(``--from`` name, label) of every trace format, in detection order."""

DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("crewai", "CrewAI"),
    ("adk", "Google ADK"),
    ("agent-framework", "Microsoft Agent Framework"),
    ("openai-agents", "OpenAI Agents SDK"),
    ("langgraph", "LangGraph"),
    ("agno", "Agno"),
    ("autogen", "AutoGen AgentChat configs"),
    ("mcp", "MCP configs"),
    ("a2a", "A2A agent cards"),
)
"""(``--from`` name, label) of every framework definition format, in detection order."""

TRACE_CHOICES: tuple[str, ...] = ("auto", *(name for name, _ in TRACES))
"""``trail import --from`` choices."""
DEFINITION_CHOICES: tuple[str, ...] = ("auto", *(name for name, _ in DEFINITIONS))
"""``init --from`` choices."""


def module_name(name: str) -> str:
    """The importer module of a format: ``harness_audit.importers.<name with _ for ->``."""
    return "harness_audit.importers." + name.replace("-", "_")


def labels(formats: tuple[tuple[str, str], ...]) -> str:
    """The formats' labels as the help text lists them: ``OTLP, Langfuse, ...``."""
    return ", ".join(label for _, label in formats)


def names(formats: tuple[tuple[str, str], ...]) -> str:
    """The formats' ``--from`` names as messages list them: ``crewai, adk, ...``."""
    return ", ".join(name for name, _ in formats)
