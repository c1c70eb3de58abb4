"""Issue 24, Tests: every definition under ``../shared/real`` and ``../shared/real/set2`` drafts
with its agents, tools, edges, gates and models asserted against what was read in the file by
hand (provenance in that folder's README), and each draft goes through ``init`` -> ``scan`` ->
``report`` -> ``report verify``. Files that other tests assert in detail are named there; this
file holds the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import SHARED
from .test_init_h24_langgraph import agents, draft, tools

REAL = SHARED / "real"
SET2 = REAL / "set2"
pytestmark = pytest.mark.skipif(not SET2.is_dir(), reason="../shared/real/set2 is absent")


def test_maf_customer_support_edges_follow_the_dispatch(tmp_path: Path) -> None:
    """CustomerSupport.yaml: the ``ConditionGroup`` branches and ``GotoAction: all_done`` decide
    who runs after whom, not the document order: escalation follows routing (no Windows team)
    or support (not resolved), never the resolution agent, whose branch ends the workflow."""
    doc = draft(tmp_path, SET2 / "maf-declarative" / "CustomerSupport.yaml", "agent-framework")
    ag = agents(doc)
    assert list(ag) == [
        "SelfServiceAgent",
        "TicketingAgent",
        "TicketRoutingAgent",
        "WindowsSupportAgent",
        "TicketResolutionAgent",
        "TicketEscalationAgent",
    ]
    assert "depends_on" not in ag["SelfServiceAgent"]
    assert ag["TicketingAgent"]["depends_on"] == ["SelfServiceAgent"]
    assert ag["TicketRoutingAgent"]["depends_on"] == ["TicketingAgent"]
    assert ag["WindowsSupportAgent"]["depends_on"] == ["TicketRoutingAgent"]
    assert ag["TicketResolutionAgent"]["depends_on"] == ["WindowsSupportAgent"]
    escalation = ag["TicketEscalationAgent"]["depends_on"]
    assert escalation == ["TicketRoutingAgent", "WindowsSupportAgent"]
    # Foundry agents, invoked by name: their model and tools are in Foundry, not in the file
    # (the escalation agent mails people): an unknown tool each, never no tool
    assert all("model" not in a for a in ag.values())
    assert all([t["name"] for t in a["tools"]] == ["unknown"] for a in ag.values())
    # externalLoop: the agent runs again with the user's input while a condition holds, no
    # bound stated (no maxTurns): a cycle whose bound the draft asks for
    looped = {i for i, a in ag.items() if a.get("max_iterations") == 1}
    assert looped == {"SelfServiceAgent", "WindowsSupportAgent", "TicketEscalationAgent"}
    assert (
        "externalLoop at CustomerSupport.yaml:24: runs again with the user's input"
        in (doc["_text"])
    )


def test_maf_microsoft_learn_prompt_agent(tmp_path: Path) -> None:
    """MicrosoftLearnAgent.yaml: one Prompt agent, its model id from ``=Env`` (not a model), the
    MCP tool's ``allowedTools`` entry as its tool with ``approvalMode: never`` (no gate)."""
    doc = draft(tmp_path, SET2 / "maf-declarative" / "MicrosoftLearnAgent.yaml", "agent-framework")
    (a,) = doc["agents"]
    assert a["id"] == "MicrosoftLearnAgent"
    assert "model" not in a
    assert tools(a) == {"microsoft_docs_search": ("destructive", False)}
    assert "approvalMode 'never' does not always require approval" in doc["_text"]


def test_langgraph_two_modules_with_the_same_node_names_stay_apart(tmp_path: Path) -> None:
    """agents-from-scratch: email_assistant.py and email_assistant_hitl.py both name their nodes
    ``llm_call`` and ``triage_router``; read together, the graph without ``interrupt()`` keeps
    its ungated run-time tools and the HITL graph its gated ones (never one merged agent whose
    gates come from the other file)."""
    doc = draft(tmp_path, SET2 / "langgraph" / "agents-from-scratch", "langgraph")
    ag = agents(doc)
    placeholders = {i for i in ag if i.startswith("unknown_agents_langgraph_")}
    assert len(placeholders) == 6  # langgraph.json's graphs: their src/ paths are not here
    assert set(ag) - placeholders == {
        "llm_call",
        "triage_router",
        "email_assistant_hitl_llm_call",
        "email_assistant_hitl_triage_router",
        "interrupt_handler",
        "triage_interrupt_handler",
    }
    assert tools(ag["llm_call"]) == {"unknown": ("destructive", False)}
    assert tools(ag["email_assistant_hitl_llm_call"]) == {
        "write_email": ("destructive", True),
        "schedule_meeting": ("destructive", True),
        "check_calendar_availability": ("destructive", False),
        "Question": ("destructive", True),
        "Done": ("destructive", False),
    }
    assert ag["llm_call"]["depends_on"] == ["triage_router"]
    assert "interrupt_handler" in ag["email_assistant_hitl_llm_call"]["depends_on"]
    assert ag["interrupt_handler"]["depends_on"] == ["email_assistant_hitl_llm_call"]
    assert {
        a["model"]["name"] for i, a in ag.items() if "handler" not in i and i not in placeholders
    } == {"openai:gpt-4.1"}


LOOPED = """kind: Workflow
trigger:
  kind: OnConversationStart
  id: start
  actions:
    - kind: InvokeAzureAgent
      id: intake
      agent: {name: IntakeAgent}
    - kind: Foreach
      id: each_item
      items: =Local.Items
      actions:
        - kind: InvokeAzureAgent
          id: per_item
          agent: {name: ItemAgent}
    - kind: ConditionGroup
      id: done_yet
      conditions:
        - condition: =Local.Stop
          actions:
            - kind: EndWorkflow
              id: stop
      elseActions:
        - kind: GotoAction
          id: somewhere
          actionId: =Local.NextStep
    - kind: InvokeAzureAgent
      id: never_reached
      agent: {name: OrphanAgent}
"""


def test_maf_loops_ends_and_a_computed_goto(tmp_path: Path) -> None:
    """A ``Foreach`` body runs again after itself and may be skipped; ``EndWorkflow`` ends a
    branch; a ``GotoAction`` whose target is a PowerFx expression is an edge not stated: named
    unread with its line (never guessed as the next action in the document)."""
    doc = draft(tmp_path, LOOPED, "agent-framework", "wf.yaml")
    ag = agents(doc)
    assert ag["ItemAgent"]["depends_on"] == ["IntakeAgent"]
    assert "depends_on" not in ag["OrphanAgent"]
    notes = " ".join(doc["x-import"]["notes"])
    assert "wf.yaml:24: edges computed at run time (GotoAction to '=Local.NextStep'" in notes


def test_langgraph_json_names_its_graphs(tmp_path: Path) -> None:
    """langgraph.json (agents-from-scratch): six graphs by ``./src/…py:attribute``; none of
    those paths is in the folder read, so each is a placeholder agent with the config's line
    (no model, an unknown tool), never a refusal that offers other formats."""
    doc = draft(tmp_path, SET2 / "langgraph" / "agents-from-scratch" / "langgraph.json", "auto")
    ag = agents(doc)
    assert len(ag) == 6
    assert all(tools(a) == {"unknown": ("destructive", False)} for a in ag.values())
    notes = " ".join(doc["x-import"]["notes"])
    for line, graph in ((4, "langgraph101"), (9, "cron")):
        assert (
            f"langgraph.json:{line}: agents not stated in the files read (graph {graph!r}" in notes
        )


def test_langgraph_json_reads_the_modules_it_names(tmp_path: Path) -> None:
    """A config whose module is in the project reads it (once, hashed); a module missing, or
    outside the config's folder, is a placeholder."""
    app = tmp_path / "proj" / "src" / "app"
    app.mkdir(parents=True)
    (app / "graph.py").write_text(
        "from langgraph.prebuilt import create_react_agent\n"
        "agent = create_react_agent('openai:gpt-4.1', tools=[send_mail], name='mailer')\n"
    )
    (tmp_path / "proj" / "langgraph.json").write_text(
        '{"graphs": {"mailer": "./src/app/graph.py:agent",\n'
        ' "gone": "./src/app/missing.py:graph",\n "out": "../outside.py:g"},\n'
        ' "dependencies": ["."]}'
    )
    (tmp_path / "outside.py").write_text("x = 1\n")
    doc = draft(tmp_path, tmp_path / "proj", "auto")
    ag = agents(doc)
    assert doc["x-import"]["format"] == "langgraph"
    assert tools(ag["mailer"]) == {"send_mail": ("destructive", False)}
    placeholders = [i for i in ag if i.startswith("unknown_agents_")]
    assert len(placeholders) == 2
    files = sorted(Path(s["file"]).name for s in doc["x-import"]["sources"])
    assert files == ["graph.py", "langgraph.json"]


def test_openai_financial_research_manager(tmp_path: Path) -> None:
    """financial_research_agent (manager.py, writer_agent.py, verifier_agent.py; the planner,
    search, financials and risk agents' files are not in the set): the writer and verifier on
    gpt-5.6-sol; the writer cloned with two agents-as-tools imported from files not given
    (placeholders it spawns); the planner and search agents the manager runs itself are
    placeholders too, each with its ``Runner.run`` line; the revision clone keeps the model."""
    doc = draft(tmp_path, SET2 / "openai-agents-sdk" / "financial_research_agent", "openai-agents")
    ag = agents(doc)
    named = {"VerificationAgent", "FinancialWriterAgent", "writer_with_tools", "revision_agent"}
    placeholders = set(ag) - named
    assert named <= set(ag) and len(placeholders) == 4
    assert {a["model"]["name"] for i, a in ag.items() if i in named} == {"gpt-5.6-sol"}
    assert tools(ag["writer_with_tools"]) == {
        "fundamentals_analysis": ("destructive", False),
        "risk_analysis": ("destructive", False),
    }
    assert ag["writer_with_tools"]["spawns"] == [
        "unknown_agents_manager_186",
        "unknown_agents_manager_191",
    ]
    notes = " ".join(doc["x-import"]["notes"])
    assert "Runner.run(planner_agent): planner_agent is imported at manager.py:16" in notes
    assert "Runner.run(search_agent): search_agent is imported at manager.py:18" in notes
    assert all(tools(ag[p]) == {"unknown": ("destructive", False)} for p in placeholders)


def test_openai_human_in_the_loop_pattern(tmp_path: Path) -> None:
    """agent_patterns/human_in_the_loop.py: one agent, no model stated (the SDK's default);
    ``get_temperature``'s ``needs_approval`` is a callable (Oakland only): a conditional gate,
    drafted as not required with that said; ``get_weather`` has none."""
    doc = draft(tmp_path, SET2 / "openai-agents-sdk" / "agent_patterns" / "human_in_the_loop.py")
    (a,) = doc["agents"]
    assert a["id"] == "Weather_Assistant" and "model" not in a
    assert tools(a) == {
        "get_weather": ("destructive", False),
        "get_temperature": ("destructive", False),
    }
    assert "needs_approval is a callable: a conditional gate decided at run time" in doc["_text"]


def test_adk_multi_agent_config_models_and_dotted_tool(tmp_path: Path) -> None:
    """multi_agent_llm_config: three LlmAgents on gemini-2.5-flash, the root spawning both
    sub-agents by config_path, its tool named by a dotted path whose module is not in the set
    (no effect proposed: destructive until declared), the sub-agents' tools ungated."""
    doc = draft(tmp_path, SET2 / "adk-config" / "multi_agent_llm_config", "adk")
    ag = agents(doc)
    assert list(ag) == ["prime_agent", "roll_agent", "root_agent"]
    assert {a["model"]["name"] for a in ag.values()} == {"gemini-2.5-flash"}
    assert ag["root_agent"]["spawns"] == ["roll_agent", "prime_agent"]
    assert tools(ag["root_agent"]) == {"example_tool": ("destructive", False)}
    assert tools(ag["prime_agent"]) == {"check_prime": ("destructive", False)}
    assert tools(ag["roll_agent"]) == {"roll_die": ("destructive", False)}
    assert "proposed effect" not in doc["_text"]


def test_adk_filesystem_mcp_agent(tmp_path: Path) -> None:
    """tool_mcp_stdio_file_system_config: one agent on gemini-2.0-flash holding the filesystem
    MCP server (no tool_filter: one tool for the server, ``write`` from rules/tool_effects.yaml,
    ungated), its allowed directory stated as scope."""
    doc = draft(tmp_path, SET2 / "adk-config" / "tool_mcp_stdio_file_system_config", "adk")
    (a,) = doc["agents"]
    assert a["id"] == "filesystem_agent" and a["model"]["name"] == "gemini-2.0-flash"
    assert tools(a) == {"server-filesystem": ("write", False)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "claude_desktop_config.json",
            {
                "brave-search": ("read", False),
                "filesystem": ("write", False),
                "github": ("external", False),
                "gdrive": ("destructive", False),
                "google-workspace-mcp": ("destructive", False),
            },
        ),
        ("home-assistant.vscode-mcp.json", {"home-assistant-mcp": ("destructive", False)}),
    ],
)
def test_mcp_configs(tmp_path: Path, name: str, expected: dict[str, tuple[str, bool]]) -> None:
    """Claude Desktop (five servers; Gmail/Calendar over docker unknown: destructive) and VS
    Code's mcp.json with comments and trailing commas (a remote Home Assistant server that
    switches physical devices: unknown, destructive); one client agent, no model, no gate."""
    doc = draft(tmp_path, SET2 / "mcp-config" / name, "mcp")
    (a,) = doc["agents"]
    assert a["id"] == "mcp_client" and "model" not in a
    assert tools(a) == expected


def test_crewai_gmail_automation_tools_edges_and_gates(tmp_path: Path) -> None:
    """gmail-automation (agents.yaml, tasks.yaml, crew.py): each agent's tools from crew.py
    (FileReadTool a read by rules/tool_effects.yaml; the Gmail, Slack and draft tools are the
    project's own, imported from files not in the set: destructive until declared), no gate
    anywhere (no human_input), edges from the tasks' ``context``, no delegation."""
    doc = draft(tmp_path, SET2 / "crewai" / "gmail-automation", "crewai")
    ag = agents(doc)
    assert tools(ag["categorizer"]) == {"FileReadTool": ("read", False)}
    assert tools(ag["organizer"]) == {
        "GmailOrganizeTool": ("destructive", False),
        "FileReadTool": ("read", False),
    }
    assert tools(ag["response_generator"]) == {"SaveDraftTool": ("destructive", False)}
    assert tools(ag["notifier"]) == {"SlackNotificationTool": ("destructive", False)}
    assert tools(ag["cleaner"]) == {
        "GmailDeleteTool": ("destructive", False),
        "EmptyTrashTool": ("destructive", False),
    }
    assert "depends_on" not in ag["categorizer"]
    assert ag["organizer"]["depends_on"] == ["categorizer"]
    assert ag["response_generator"]["depends_on"] == ["categorizer", "organizer"]
    assert ag["notifier"]["depends_on"] == ["categorizer"]
    assert ag["cleaner"]["depends_on"] == ["categorizer", "organizer"]
    assert not any(a.get("spawns") or a.get("verifies") for a in ag.values())
