"""Definition importers: CrewAI (real crews and flows), MCP, ADK, Agent Framework, OpenAI
Agents, LangGraph; the draft fails closed and loads; models and rules tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_audit.checks import assess_pipeline
from harness_audit.importers import detect_definition, draft_manifest
from harness_audit.importers.base import ImportFormatError
from harness_audit.importers.registry import DEFINITION_CHOICES, DEFINITION_FORMATS
from harness_audit.importers.tables import entries_without_source, resolve_model
from harness_audit.manifest import load_manifest
from tests.conftest import SHARED

REAL = SHARED / "real"


def load(paths: list[Path], tmp_path: Path, fmt: str = "auto"):  # type: ignore[no-untyped-def]
    text = draft_manifest(paths, fmt)
    p = tmp_path / "draft.harness.yaml"
    p.write_text(text)
    return load_manifest(p), text


# Agents read from each agents.yaml (keys); tasks.yaml names an agent only in the email crew.
CREWS = {
    "email_auto_responder_flow-email_filter_crew": ["email_followup_agent"],
    "game_builder_crew": ["senior_engineer_agent", "qa_engineer_agent", "chief_qa_engineer_agent"],
    "landing_page_generator": [
        "senior_idea_analyst",
        "senior_strategist",
        "senior_react_engineer",
        "senior_content_editor",
    ],
    "marketing_strategy": [
        "lead_market_analyst",
        "chief_marketing_strategist",
        "creative_content_creator",
        "chief_creative_director",
    ],
    "recruitment": ["researcher", "matcher", "communicator", "reporter"],
    "stock_analysis": ["financial_analyst", "research_analyst", "investment_advisor"],
}


@pytest.mark.parametrize("crew", sorted(CREWS))
def test_real_crews(crew: str, tmp_path: Path) -> None:
    assert detect_definition([REAL / "crewai" / crew])[0] == "crewai"
    pipeline, text = load([REAL / "crewai" / crew], tmp_path)
    assert [a.id for a in pipeline.agents] == CREWS[crew]
    ids = [a.id for a in pipeline.agents]
    for a in pipeline.agents:  # YAML alone states no tools, models or edges: what crew.py
        # sets is unseen, so each agent holds an unknown tool and may delegate to every
        # coworker (fail closed; until issue 24's gaps these were drafted empty, on purpose
        # changed: the human-gate check was n/a for want of the code)
        assert [(t.name, t.effect) for t in a.tools] == [("unknown", "destructive")]
        assert a.depends_on == ()
        assert list(a.spawns) == [x for x in ids if x != a.id]
        assert a.model is None
    assert "crew.py was not given" in text
    assert "tools set in crew.py, which was not given" in text
    assert "x-import:" in text and "sha256:" in text
    assert "# from agents.yaml:1" in text


def test_role_and_todos(tmp_path: Path) -> None:
    _, text = load([REAL / "crewai" / "recruitment"], tmp_path)
    assert 'role: "Job Candidate Researcher"  # from agents.yaml:1' in text
    assert "enforced_by: none" in text and "integrity: none" in text
    assert "# TODO: declare model" in text


def test_agents_yaml_alone_is_a_near_miss() -> None:
    with pytest.raises(ImportFormatError, match=r"a CrewAI agents\.yaml without tasks\.yaml"):
        detect_definition([REAL / "crewai" / "recruitment" / "agents.yaml"])
    assert (
        detect_definition([REAL / "crewai" / "recruitment" / "agents.yaml"], "crewai")[0]
        == "crewai"
    )


def test_declarative_flows(tmp_path: Path) -> None:
    flow = REAL / "other/crewai-declarative-flow"
    p, _ = load([flow / "flow_definition_example.yaml"], tmp_path)
    # crew researcher -> reviewer (sequential tasks); router agent; follow-up agent
    assert {a.id: set(a.depends_on) for a in p.agents} == {
        "researcher": set(),
        "reviewer": {"researcher"},
        "route_followup": {"researcher", "reviewer"},
        "write_followup": {"route_followup"},
    }
    p, text = load([flow / "lead_scoring_flow.yaml"], tmp_path)
    assert next(a.id for a in p.agents) == "scorer"
    assert "calls a tool directly" in text


CREW_PY = """
import os
from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task
from langchain_google_community import GmailToolkit
from tools import DeleteEmailTool
from crewai_tools import SerperDevTool

MODEL = os.getenv("MODEL", "gpt-4o-mini")

@CrewBase
class MailCrew:
    @agent
    def triager(self) -> Agent:
        return Agent(config=self.agents_config["triager"], tools=[SerperDevTool()],
                     llm=MODEL, allow_delegation=True)

    @agent
    def cleaner(self) -> Agent:
        return Agent(config=self.agents_config["cleaner"], tools=[DeleteEmailTool()],
                     llm="anthropic/claude-3-5-sonnet-20241022")

    @task
    def triage(self) -> Task:
        return Task(config=self.tasks_config["triage"], agent=self.triager())

    @task
    def clean(self) -> Task:
        return Task(config=self.tasks_config["clean"], agent=self.cleaner(), human_input=True)

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
"""


def _mail_crew(tmp_path: Path) -> Path:
    d = tmp_path / "crew"
    d.mkdir()
    (d / "agents.yaml").write_text("triager:\n  role: triage mail\ncleaner:\n  role: delete spam\n")
    (d / "tasks.yaml").write_text(
        "triage:\n  description: x\n  expected_output: y\n"
        "clean:\n  description: x\n  expected_output: y\n"
    )
    (d / "crew.py").write_text(CREW_PY)
    return d


def test_crew_py_and_destructive_tool_fails_gate(tmp_path: Path) -> None:
    d = _mail_crew(tmp_path)
    p, text = load([d], tmp_path)
    by = {a.id: a for a in p.agents}
    assert set(by) == {"triager", "cleaner", "human_review_cleaner"}
    assert by["triager"].model is not None and by["triager"].model.family == "gpt-4o"
    assert "resolved at run time from $MODEL" in text
    assert by["cleaner"].model is not None and by["cleaner"].model.provider == "anthropic"
    assert by["cleaner"].depends_on == ("triager",)
    assert "cleaner" in by["triager"].spawns
    assert [t.effect for t in by["triager"].tools] == ["read"]
    (delete,) = by["cleaner"].tools
    assert delete.name == "DeleteEmailTool" and delete.effect == "destructive"
    assert "unknown: assumed destructive until declared" in text
    assert by["human_review_cleaner"].verifies == ("cleaner",)
    result = assess_pipeline(p)
    cleaner = next(r for r in result.agents if r.agent.id == "cleaner")
    assert cleaner.checks["human_gate_for_destructive_ops"].status == "fail"


def test_mcp_config(tmp_path: Path) -> None:
    c = tmp_path / "mcp.json"
    c.write_text(
        '{"mcpServers": {"fs": {"command": "npx", "args": ["-y", '
        '"@modelcontextprotocol/server-filesystem", "/tmp"]}, "mystery": {"command": '
        '"mystery-mcp"}, "ann": {"url": "https://x", "tools": [{"name": "q", '
        '"annotations": {"readOnlyHint": true}}]}}}'
    )
    assert detect_definition([c])[0] == "mcp"
    p, _ = load([c], tmp_path)
    (a,) = p.agents
    assert {t.name: t.effect for t in a.tools} == {
        "fs": "write",
        "mystery": "destructive",
        "ann": "destructive",  # readOnlyHint is the server's own hint: proposed, not the effect
    }


def test_adk(tmp_path: Path) -> None:
    (tmp_path / "root.yaml").write_text(
        "agent_class: LlmAgent\nname: root\nmodel: gemini-2.0-flash\ninstruction: x\n"
        "tools:\n  - name: google_search\n  - name: transfer\n    require_confirmation: true\n"
        "sub_agents:\n  - config_path: child.yaml\n"
    )
    (tmp_path / "child.yaml").write_text(
        "agent_class: LlmAgent\nname: child\nmodel: gemini-2.5-pro\ninstruction: y\n"
    )
    fmt, _ = detect_definition([tmp_path / "root.yaml"])
    assert fmt == "adk"
    p, _ = load([tmp_path / "root.yaml"], tmp_path)
    by = {a.id: a for a in p.agents}
    assert by["root"].spawns == ("child",)
    gates = {t.name: t.human_gate.required if t.human_gate else None for t in by["root"].tools}
    assert gates == {"google_search": False, "transfer": True}


def test_agent_framework(tmp_path: Path) -> None:
    f = tmp_path / "agent.yaml"
    f.write_text(
        "kind: Prompt\nname: helper\ninstructions: x\nmodel:\n  id: gpt-4.1\n"
        "tools:\n  - kind: mcp\n    serverLabel: docs\n    allowedTools: [search, "
        "delete_page]\n    approvalMode: always_require\n"
    )
    p, _ = load([f], tmp_path)
    (a,) = p.agents
    assert a.model is not None and a.model.family == "gpt-4.1"
    assert [(t.name, t.human_gate.required if t.human_gate else None) for t in a.tools] == [
        ("search", True),
        ("delete_page", True),
    ]


def test_openai_agents(tmp_path: Path) -> None:
    f = tmp_path / "app.py"
    f.write_text("""
from agents import Agent, function_tool

@function_tool(needs_approval=True)
def refund(order: str) -> str:
    return "ok"

@function_tool
def lookup(order: str) -> str:
    return "ok"

billing = Agent(name="Billing", instructions="refunds", model="gpt-4o", tools=[refund, lookup])
triage = Agent(name="Triage", instructions="route", model="o3-mini", handoffs=[billing],
               tools=[billing.as_tool(tool_name="ask_billing", tool_description="x")])
""")
    assert detect_definition([f])[0] == "openai-agents"
    p, _ = load([f], tmp_path)
    by = {a.id: a for a in p.agents}
    assert by["Triage"].spawns == ("Billing",)
    assert by["Triage"].model is not None and by["Triage"].model.family == "o-series"
    gates = {t.name: t.human_gate.required if t.human_gate else None for t in by["Billing"].tools}
    assert gates == {"refund": True, "lookup": False}


def test_langgraph(tmp_path: Path) -> None:
    f = tmp_path / "graph.py"
    f.write_text("""
from langgraph.graph import StateGraph
from langchain.chat_models import init_chat_model
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt

llm = init_chat_model("openai:gpt-4.1")
tools = ToolNode([send_email])

def agent(state):
    return llm.invoke(state)

def act(state):
    interrupt("ok?")
    return tools.invoke(state)

g = StateGraph(dict)
g.add_node("agent", agent)
g.add_node("act", act)
g.add_edge("agent", "act")
""")
    assert detect_definition([f])[0] == "langgraph"
    p, _ = load([f], tmp_path)
    by = {a.id: a for a in p.agents}
    assert by["agent"].model is not None and by["agent"].model.family == "gpt-4.1"
    assert by["act"].depends_on == ("agent",)
    (t,) = by["act"].tools
    assert t.name == "send_email" and t.human_gate is not None and t.human_gate.required


def test_langgraph_prebuilt_agents_and_supervisor(tmp_path: Path) -> None:
    """The shapes of langgraph-supervisor's README and LangChain 1's human-in-the-loop docs."""
    f = tmp_path / "team.py"
    f.write_text("""
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent
from langgraph_supervisor import create_supervisor

model = ChatOpenAI(model="gpt-4o")

def add(a: float, b: float) -> float:
    return a + b

def delete_records(table: str) -> str:
    return "deleted"

def web_search(query: str) -> str:
    return "..."

math_agent = create_react_agent(model=model, tools=[add], name="math_expert", prompt="math")
ops_agent = create_react_agent(model, [delete_records], name="ops", interrupt_before=["tools"])
research_agent = create_react_agent(
    model="anthropic:claude-3-7-sonnet-latest", tools=[web_search], name="research_expert"
)
workflow = create_supervisor([research_agent, math_agent, ops_agent], model=model)
app = workflow.compile()
""")
    assert detect_definition([f])[0] == "langgraph"
    p, _ = load([f], tmp_path)
    by = {a.id: a for a in p.agents}
    assert set(by) == {"math_expert", "ops", "research_expert", "supervisor"}
    for worker in ("math_expert", "ops", "research_expert"):
        assert by[worker].depends_on == ("supervisor",)
    assert by["research_expert"].model is not None
    assert by["research_expert"].model.provider == "anthropic"
    assert by["supervisor"].model is not None and by["supervisor"].model.family == "gpt-4o"
    (rm,) = by["ops"].tools
    assert rm.name == "delete_records" and rm.human_gate is not None and rm.human_gate.required
    (plus,) = by["math_expert"].tools
    assert plus.human_gate is None or not plus.human_gate.required


def test_langchain_create_agent_with_human_in_the_loop(tmp_path: Path) -> None:
    f = tmp_path / "agent.py"
    f.write_text("""
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langgraph.checkpoint.memory import InMemorySaver

agent = create_agent(
    model="gpt-4o",
    tools=[write_file_tool, execute_sql_tool, read_data_tool, send_mail_tool],
    middleware=[
        HumanInTheLoopMiddleware(
            interrupt_on={
                "write_file_tool": True,
                "execute_sql_tool": {"allowed_decisions": ["approve", "reject"]},
                "read_data_tool": False,
                "send_mail_tool": PAUSE_FOR_MAIL,
            },
        ),
    ],
    checkpointer=InMemorySaver(),
)
""")
    assert detect_definition([f])[0] == "langgraph"
    p, _ = load([f], tmp_path)
    (a,) = p.agents
    assert a.id == "agent"
    gates = {t.name: bool(t.human_gate and t.human_gate.required) for t in a.tools}
    assert gates == {
        "write_file_tool": True,
        "execute_sql_tool": True,
        "read_data_tool": False,
        "send_mail_tool": False,  # decided at run time: no gate until declared
    }


def test_prebuilt_agents_of_one_name_stay_distinct(tmp_path: Path) -> None:
    f = tmp_path / "two.py"
    f.write_text("""
from langgraph.prebuilt import create_react_agent

def make_a():
    agent = create_react_agent("openai:gpt-4.1", tools=[search])
    return agent

def make_b():
    agent = create_react_agent("openai:gpt-4.1", tools=[delete_rows])
    return agent
""")
    p, _ = load([f], tmp_path)
    assert sorted(a.id for a in p.agents) == ["agent", "agent_2"]


def test_a_prebuilt_agent_as_a_graph_node_takes_its_id(tmp_path: Path) -> None:
    f = tmp_path / "graph.py"
    f.write_text("""
from langgraph.graph import StateGraph, START
from langgraph.prebuilt import create_react_agent

researcher = create_react_agent("openai:gpt-4.1", tools=[web_search], name="research_expert")
writer = create_react_agent("openai:gpt-4.1", tools=[publish_post])

g = StateGraph(dict)
g.add_node("research", researcher)
g.add_node("write", writer)
g.add_edge(START, "research")
g.add_edge("research", "write")
""")
    p, _ = load([f], tmp_path)
    by = {a.id: a for a in p.agents}
    assert set(by) == {"research", "write"}
    assert by["write"].depends_on == ("research",)


def test_agent_framework_workflow_tool_actions_and_their_approval(tmp_path: Path) -> None:
    """The documented InvokeMcpTool/InvokeFunctionTool shapes: ``requireApproval`` decides."""
    f = tmp_path / "wf.yaml"
    f.write_text("""
kind: Workflow
name: orders
trigger:
  kind: OnConversationStart
  id: start
  actions:
    - kind: InvokeAzureAgent
      id: plan
      agent: {name: Planner}
    - kind: InvokeMcpTool
      id: remove
      serverUrl: http://localhost:8080/mcp
      toolName: delete_order
      requireApproval: true
    - kind: InvokeMcpTool
      id: look
      serverUrl: https://learn.microsoft.com/api/mcp
      toolName: microsoft_docs_search
      requireApproval: false
    - kind: InvokeFunctionTool
      id: weather
      functionName: get_weather
      requireApproval: =Workflow.Inputs.requireApproval
""")
    p, _ = load([f], tmp_path)
    by = {a.id: a for a in p.agents}
    assert set(by) == {"orders_actions", "Planner"}
    gates = {
        t.name: t.human_gate.required if t.human_gate else None for t in by["orders_actions"].tools
    }
    assert gates == {"delete_order": True, "microsoft_docs_search": False, "get_weather": False}


def test_env_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL", "claude-3-opus")
    p, _ = load([_mail_crew(tmp_path)], tmp_path)
    triager = next(a for a in p.agents if a.id == "triager")
    assert triager.model is not None and triager.model.name == "gpt-4o-mini"


def test_definition_choices() -> None:
    assert set(DEFINITION_CHOICES) == {"auto", *DEFINITION_FORMATS}
    assert set(DEFINITION_FORMATS) == {
        "crewai",
        "adk",
        "agent-framework",
        "openai-agents",
        "langgraph",
        "agno",
        "autogen",
        "mcp",
        "a2a",
    }


def test_autogen_is_read() -> None:
    if not REAL.is_dir():
        pytest.skip("../shared/real is absent")
    fmt, _ = detect_definition([REAL / "other/autogen-agentchat/default_gallery.json"])
    assert fmt == "autogen"


# every model string seen in shared/real
MODELS = {
    "mistral/mistral-small-latest": ("mistral", "mistral"),
    "gpt-4o-mini": ("openai", "gpt-4o"),
    "gpt-4o-mini-2024-07-18": ("openai", "gpt-4o"),
    "gpt-4o": ("openai", "gpt-4o"),
    "gpt-4": ("openai", "gpt-4"),
    "gpt-4.1-2025-04-14": ("openai", "gpt-4.1"),
    "gpt-5-mini": ("openai", "gpt-5"),
    "gpt-5-mini-2025-08-07": ("openai", "gpt-5"),
    "o1-mini": ("openai", "o-series"),
    "o1-mini-2024-09-12": ("openai", "o-series"),
    "gemini-2.0-flash": ("google", "gemini"),
    "claude-opus-4-8": ("anthropic", "claude"),
    "claude-3-7-sonnet-20250219": ("anthropic", "claude"),
    "TheBloke/Mistral-7B-Instruct-v0.2-GGUF": ("huggingface", "mistral"),
    "ollama/llama3.1": ("ollama", "llama"),
    # the spec's examples
    "global.anthropic.claude-haiku-4-5-20251001-v1:0": ("aws.bedrock", "claude"),
    "gpt-4o-2024-08-06": ("openai", "gpt-4o"),
    "o3-mini": ("openai", "o-series"),
    "openrouter/anthropic/claude-3.5-sonnet": ("openrouter", "claude"),
    "azure/gpt-4o": ("azure", "gpt-4o"),
    "vertex_ai/gemini-1.5-pro": ("vertex", "gemini"),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models(name: str) -> None:
    m = resolve_model(name)
    assert (m.provider, m.family) == MODELS[name]


def test_every_rule_entry_has_a_source() -> None:
    assert entries_without_source() == []
