"""Issue 24 (items 2-3): ADK Python agents and ADK config sub-agent files, MCP scopes and flat
server maps. Inputs in the shapes of google/adk-samples, ADK's config docs and Claude Code
plugins (our own text); every draft goes through ``init`` -> ``scan`` -> ``report`` -> ``report
verify`` (:func:`draft`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_audit.importers import detect_definition

from .conftest import SHARED
from .test_init_h24_langgraph import agents, draft, tools

REAL = SHARED / "real" / "set2"

ADK_PY = """
from google.adk.agents import Agent, LlmAgent, LoopAgent, SequentialAgent
from google.adk.models.lite_llm import LiteLlm
from google.adk.runners import RunConfig
from google.adk.tools import FunctionTool, google_search
from google.adk.tools.agent_tool import AgentTool
from google.adk.tools.mcp_tool.mcp_toolset import MCPToolset, StdioConnectionParams
from mcp import StdioServerParameters

from .tools import cancel_booking, find_flights, guard, more_tools

docs = MCPToolset(
    connection_params=StdioConnectionParams(
        server_params=StdioServerParameters(
            command="npx", args=["-y", "@modelcontextprotocol/server-filesystem", "/srv/trips"]
        )
    ),
    tool_filter=["read_file", "list_directory"],
)

scout = Agent(name="scout", model="gemini-2.0-flash", tools=[google_search])

booker = LlmAgent(
    name="booker",
    model=LiteLlm(model="openai/gpt-4o"),
    description="Books and cancels trips.",
    tools=[find_flights, FunctionTool(func=cancel_booking, require_confirmation=True), docs],
    before_tool_callback=guard,
)

drafter = LlmAgent(name="drafter", model="gemini-2.5-flash", tools=more_tools())
checker = LlmAgent(name="checker", model="gemini-2.5-flash")
polish = LoopAgent(name="polish", sub_agents=[drafter, checker], max_iterations=3)
plan = SequentialAgent(name="plan", sub_agents=[booker, polish])

root_agent = Agent(
    name="coordinator",
    model="gemini-2.5-pro",
    tools=[AgentTool(agent=scout)],
    sub_agents=[plan],
)
config = RunConfig(max_llm_calls=40)
"""


def test_adk_python_agents(tmp_path: Path) -> None:
    """``Agent``/``LlmAgent``, ``sub_agents``, ``AgentTool``, ``MCPToolset(tool_filter=…)`` with
    its allowed directory, ``FunctionTool(require_confirmation=True)``, ``before_tool_callback``
    (not a gate), ``LoopAgent(max_iterations)``, ``RunConfig(max_llm_calls)``, tools computed at
    run time (unknown), all detected by ``--from auto``."""
    (tmp_path / "travel").mkdir()
    src = tmp_path / "travel" / "agent.py"
    src.write_text(ADK_PY)
    assert detect_definition([tmp_path / "travel"])[0] == "adk"
    doc = draft(tmp_path, src)
    ag = agents(doc)
    assert set(ag) == {"scout", "booker", "drafter", "checker", "polish", "plan", "coordinator"}
    assert ag["coordinator"]["spawns"] == ["scout", "plan"]
    assert ag["plan"]["spawns"] == ["booker", "polish"]
    assert ag["polish"]["depends_on"] == ["booker"]
    assert ag["booker"]["model"]["name"] == "openai/gpt-4o"
    assert tools(ag["booker"]) == {
        "find_flights": ("destructive", False),
        "cancel_booking": ("destructive", True),
        "read_file": ("read", False),
        "list_directory": ("read", False),
    }
    assert tools(ag["drafter"]) == {"unknown": ("destructive", False)}
    assert tools(ag["coordinator"]) == {"scout": ("destructive", False)}
    # the loop: its own bound; the rest: the run's model-call cap
    assert ag["drafter"]["max_iterations"] == 3 and ag["checker"]["max_iterations"] == 3
    assert ag["scout"]["max_iterations"] == 40
    text = doc["_text"]
    assert "human_gate: {required: true}  # from agent.py:27; FunctionTool" in text
    assert "before_tool_callback=guard at agent.py:28 is a code check" in text
    assert "allowed only '/srv/trips' by its arguments (agent.py:12)" in text
    assert "does not bound tokens, cost, time" in text
    assert "tools loaded at run time at agent.py:31 (tools: more_tools())" in text


def test_adk_config_path_followed_confined_and_hashed(tmp_path: Path) -> None:
    """A ``config_path`` sub-agent is read and its file hashed; one that leaves the project or is
    missing drafts an unknown agent (never nothing)."""
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (tmp_path / "outside.yaml").write_text(
        "name: outsider\nmodel: gemini-2.5-pro\ninstruction: x\n"
    )
    (proj / "sub" / "helper.yaml").write_text(
        "agent_class: LlmAgent\nname: helper\nmodel: gemini-2.5-flash\ninstruction: help\n"
    )
    root = proj / "root_agent.yaml"
    root.write_text(
        "agent_class: LlmAgent\nname: root\nmodel: gemini-2.5-flash\ninstruction: route\n"
        "sub_agents:\n  - config_path: ./sub/helper.yaml\n  - config_path: ../outside.yaml\n"
        "  - config_path: ./missing.yaml\n"
    )
    doc = draft(tmp_path, root, "adk")
    ag = agents(doc)
    assert set(ag) == {"root", "helper", "outside", "missing"}
    assert ag["root"]["spawns"] == ["helper", "outside", "missing"]
    assert tools(ag["outside"]) == {"unknown": ("destructive", False)}
    assert tools(ag["missing"]) == {"unknown": ("destructive", False)}
    files = [Path(s["file"]).name for s in doc["x-import"]["sources"]]
    assert files == ["root_agent.yaml", "helper.yaml"]
    notes = " ".join(doc["x-import"]["notes"])
    assert "'../outside.yaml' leaves the project" in notes


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is absent")
def test_real_adk_config_tree_hashes_every_file(tmp_path: Path) -> None:
    folder = REAL / "adk-config" / "multi_agent_llm_config"
    doc = draft(tmp_path, folder / "root_agent.yaml", "adk")
    ag = agents(doc)
    assert set(ag) == {"root_agent", "roll_agent", "prime_agent"}
    assert ag["root_agent"]["spawns"] == ["roll_agent", "prime_agent"]
    assert tools(ag["roll_agent"]) == {"roll_die": ("destructive", False)}
    files = sorted(Path(s["file"]).name for s in doc["x-import"]["sources"])
    assert files == ["prime_agent.yaml", "roll_agent.yaml", "root_agent.yaml"]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is absent")
def test_real_filesystem_server_scope(tmp_path: Path) -> None:
    doc = draft(tmp_path, REAL / "mcp-config" / "claude_desktop_config.json", "mcp")
    assert (
        "allowed only '/Users/YOUR_USERNAME/apps/MCP' by its arguments "
        "(claude_desktop_config.json:12)" in doc["_text"]
    )
    (tmp_path / "2").mkdir()
    doc = draft(tmp_path / "2", REAL / "adk-config" / "tool_mcp_stdio_file_system_config", "adk")
    assert "allowed only '/tmp/mcp-demo' by its arguments (root_agent.yaml:8)" in doc["_text"]


def test_claude_code_plugin_mcp_json(tmp_path: Path) -> None:
    """A plugin's ``.mcp.json`` is a flat server map: read, not refused."""
    (tmp_path / "plugin").mkdir()
    src = tmp_path / "plugin" / ".mcp.json"
    src.write_text(
        '{\n  "notes": {"command": "${CLAUDE_PLUGIN_ROOT}/bin/notes", "args": ["--db", "n.db"]},\n'
        '  "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem",'
        ' "${CLAUDE_PLUGIN_ROOT}/data"]},\n'
        '  "docs": {"type": "http", "url": "https://docs.example.invalid/mcp"}\n}\n'
    )
    assert detect_definition([src])[0] == "mcp"
    doc = draft(tmp_path, src)
    (a,) = doc["agents"]
    assert set(tools(a)) == {"notes", "files", "docs"}
    assert "allowed only '${CLAUDE_PLUGIN_ROOT}/data'" in doc["_text"]


def test_a_json_map_of_other_things_is_not_mcp(tmp_path: Path) -> None:
    src = tmp_path / "x.json"
    src.write_text('{"a": {"name": "x"}, "b": {"command": "run"}}')
    with pytest.raises(Exception, match="no supported definition format"):
        detect_definition([src])


CARD = """{
  "protocolVersion": "0.3.0",
  "name": "Expense Helper",
  "description": "Files and approves expense reports.",
  "url": "https://expenses.example.invalid/a2a",
  "preferredTransport": "JSONRPC",
  "version": "1.2.0",
  "capabilities": {"streaming": true, "pushNotifications": false},
  "defaultInputModes": ["text"],
  "defaultOutputModes": ["text", "application/json"],
  "securitySchemes": {
    "corp_oauth": {
      "type": "oauth2",
      "flows": {"clientCredentials": {"tokenUrl": "https://id.example.invalid/token",
        "scopes": {"expenses.read": "read reports", "expenses.write": "file reports"}}}
    },
    "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
  },
  "security": [{"corp_oauth": ["expenses.write"]}, {"key": []}],
  "supportsAuthenticatedExtendedCard": true,
  "skills": [
    {"id": "file_expense", "name": "File an expense", "description": "Files a report.",
     "tags": ["expenses"], "examples": ["file my taxi receipt"]},
    {"id": "approve_expense", "name": "Approve", "description": "Approves a report.",
     "tags": ["approval"]}
  ]
}
"""


def test_a2a_card(tmp_path: Path) -> None:
    """One agent per card, skills as tools (effect unknown: destructive, ungated), security
    schemes and requirements as access facts with their lines; detected by ``--from auto``, also
    under ``.well-known`` in a folder."""
    wk = tmp_path / "site" / ".well-known"
    wk.mkdir(parents=True)
    card = wk / "agent-card.json"
    card.write_text(CARD)
    assert detect_definition([tmp_path / "site"]) == ("a2a", [card])
    doc = draft(tmp_path, card)
    (a,) = doc["agents"]
    assert a["id"] == "Expense_Helper" and a["role"] == "Files and approves expense reports."
    assert "model" not in a
    assert tools(a) == {  # the extended card's skills: unseen, an unknown tool (fail closed)
        "file_expense": ("destructive", False),
        "approve_expense": ("destructive", False),
        "unknown": ("destructive", False),
    }
    text = doc["_text"]
    assert '- name: "file_expense"  # from agent-card.json:22' in text
    assert (
        "access stated by the card (agent-card.json:11): security schemes corp_oauth (oauth2: "
        "scopes expenses.read, expenses.write); key (API key in header X-Api-Key)" in text
    )
    assert "a caller presents corp_oauth [expenses.write] or key" in text
    assert any("extended card" in u for u in doc["x-import"]["unknown"])


def test_a2a_cards_without_security_and_of_the_old_shape(tmp_path: Path) -> None:
    (tmp_path / "open.json").write_text(
        '{"name": "Open", "url": "http://localhost:9999/", "capabilities": {}, "skills": []}'
    )
    (tmp_path / "old.json").write_text(
        '{"name": "Old", "url": "http://localhost:8000/", "version": "1",'
        ' "authentication": {"schemes": ["bearer"]}, "capabilities": {},'
        ' "skills": [{"id": "lookup", "name": "Look up"}]}'
    )
    doc = draft(tmp_path, tmp_path, "a2a")
    ag = agents(doc)
    assert set(ag) == {"Open", "Old"}
    assert tools(ag["Open"]) == {"unknown": ("destructive", False)}
    assert tools(ag["Old"]) == {"lookup": ("destructive", False)}
    text = doc["_text"]
    assert "anyone who reaches its URL may call it" in text
    assert "security schemes bearer (bearer)" in text


ORCHESTRATION = """kind: Workflow
maxTurns: 40
trigger:
  kind: OnConversationStart
  id: start
  actions:
    - kind: SetVariable
      id: roster
      variable: Local.Helpers
      value: |-
        =[
            {name: "MapsAgent", description: "Finds routes"},
            {name: "BillingAgent", description: "Charges cards"}
        ]
    - kind: InvokeAzureAgent
      id: ask_lead
      agent:
        name: LeadAgent
    - kind: SetVariable
      id: choose
      variable: Local.Chosen
      value: =Filter(Local.Helpers, name = Local.Plan.next)
    - kind: InvokeAzureAgent
      id: run_helper
      agent:
        name: =First(Local.Chosen).name
    - kind: InvokeAzureAgent
      id: run_mystery
      agent:
        name: =Global.SomeoneElse
    - kind: GotoAction
      id: again
      actionId: ask_lead
"""


def test_agent_framework_powerfx_dispatch_goto_and_max_turns(tmp_path: Path) -> None:
    """A PowerFx agent name is no agent: the agents its variables list are; one it cannot follow
    is an unknown agent (fail closed); ``GotoAction`` back is a loop bounded by ``maxTurns``."""
    doc = draft(tmp_path, ORCHESTRATION, "agent-framework", "wf.yaml")
    ag = agents(doc)
    assert set(ag) == {"LeadAgent", "MapsAgent", "BillingAgent", "dispatched_at_27"}
    assert not any(i.startswith("a_") or "First" in i for i in ag)
    assert ag["MapsAgent"]["depends_on"] == ["LeadAgent"]
    assert ag["BillingAgent"]["depends_on"] == ["LeadAgent"]
    assert ag["dispatched_at_27"]["depends_on"] == ["MapsAgent", "BillingAgent"]
    assert tools(ag["dispatched_at_27"]) == {"unknown": ("destructive", False)}
    assert ag["LeadAgent"]["depends_on"] == ["dispatched_at_27"]  # the goto: a loop
    assert all(a["max_iterations"] == 40 for a in ag.values())
    assert "from wf.yaml:2; the workflow's maxTurns=40" in doc["_text"]
    notes = " ".join(doc["x-import"]["notes"])
    assert (
        "'=First(Local.Chosen).name' (wf.yaml:23): its variables list MapsAgent, Billing" in notes
    )


def test_agent_framework_approval_mode_gate_has_its_line(tmp_path: Path) -> None:
    doc = draft(
        tmp_path,
        """kind: Prompt
name: Clerk
model:
  id: gpt-4.1-mini
tools:
  - kind: mcp
    name: ledger
    allowedTools: [post_entry, read_entry]
    approvalMode:
      kind: specify
      alwaysRequireApprovalTools: [post_entry]
""",
        "agent-framework",
        "clerk.yaml",
    )
    (a,) = doc["agents"]
    assert tools(a) == {"post_entry": ("destructive", True), "read_entry": ("destructive", False)}
    assert "human_gate: {required: true}  # from clerk.yaml:9; approvalMode" in doc["_text"]


FETCHING = """kind: workflow
trigger:
  kind: onconversationstart
  id: fetch_then_answer
  actions:
    - kind: setvariable
      id: pick
      variable: Local.Item
      value: =System.LastMessageText
    - kind: httprequestaction
      id: load_item
      method: DELETE
      url: =Concatenate("https://inventory.example.test/items/", Local.Item)
      response: Local.Result
    - kind: INVOKEAZUREAGENT
      id: explain
      agent:
        name: ExplainerAgent
    - kind: InvokeAzureAgent
      id: check
      agent:
        name: CheckerAgent
"""


def test_agent_framework_kinds_in_any_case_and_a_workflows_own_http_request(
    tmp_path: Path,
) -> None:
    """The runtime reads a kind whatever its case (``kind: workflow``, ``INVOKEAZUREAGENT``),
    so the reader does too; an ``HttpRequestAction`` is a call the workflow makes itself, so
    it is a tool (by its action id) of the agent that stands for the workflow's own actions,
    its effect unknown (assumed destructive) with its method and URL said, never left out."""
    doc = draft(tmp_path, FETCHING, "auto", "flow.yaml")
    ag = agents(doc)
    assert set(ag) == {"flow_actions", "ExplainerAgent", "CheckerAgent"}
    assert tools(ag["flow_actions"]) == {"load_item": ("destructive", False)}
    assert ag["CheckerAgent"]["depends_on"] == ["ExplainerAgent"]
    text = doc["_text"]
    assert "an HTTP DELETE request the workflow makes itself" in text
    assert "(computed at run time)" in text
