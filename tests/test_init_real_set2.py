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
    assert all("model" not in a and not a.get("tools") for a in ag.values())  # Foundry agents


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
