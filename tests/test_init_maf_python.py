"""Microsoft Agent Framework Python, read with ``ast`` (never run), on modules written in this
project's own words in the shapes of the framework's public samples: ``Agent(client=…)`` and
``ChatAgent(chat_client=…)``, ``<client>.as_agent(…)``/``.create_agent(…)``, a model from the
client or from the environment (unknown, with a note), ``@tool``/``@ai_function`` functions with
``approval_mode`` (``always_require`` a gate, ``never_require`` none), hosted and MCP tools,
agents as tools, workflow builders as edges; a module that builds no agent is refused with its
file; the journey ``init`` then ``scan --no-trails`` runs and fails closed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness_audit.cli._cli import app

from .test_init_openai_agents import _draft, _tools

runner = CliRunner()

SUPPORT = """\
import os
from typing import Annotated
from agent_framework import ChatAgent, HostedCodeInterpreterTool, HostedMCPTool, HostedWebSearchTool
from agent_framework import MCPStdioTool, ai_function, tool
from agent_framework.openai import OpenAIChatClient, OpenAIResponsesClient
from agent_framework.azure import AzureOpenAIChatClient

DEFAULT_MODEL = os.getenv("SUPPORT_MODEL", "gpt-4.1-mini")


@ai_function(approval_mode="always_require")
def close_account(account_id: Annotated[str, "the account"]) -> str:
    \"\"\"Closes a customer account.\"\"\"
    return "closed"


@tool(name="order_lookup", approval_mode="never_require")
def find_order(order_id: str) -> str:
    return "shipped"


def plain_helper(x: str) -> str:
    return x


def get_tools():
    return []


async def main() -> None:
    chat = OpenAIChatClient(model_id="gpt-4o-mini")
    billing = ChatAgent(
        chat_client=chat,
        name="billing",
        instructions="You settle billing questions.",
        tools=[close_account, find_order, plain_helper],
    )
    researcher = OpenAIResponsesClient(model_id=DEFAULT_MODEL).create_agent(
        name="researcher",
        instructions="You look things up.",
        tools=[
            HostedWebSearchTool(),
            HostedCodeInterpreterTool(),
            HostedMCPTool(
                name="docs",
                url="https://learn.example.com/api/mcp",
                approval_mode="always_require",
            ),
        ],
    )
    async with MCPStdioTool(
        name="files",
        command="npx",
        args=["-y", "@modelcontextprotocol/server-filesystem", "/srv/data"],
    ) as files:
        archivist = AzureOpenAIChatClient().as_agent(
            name="archivist", instructions="You file things.", tools=files
        )
    dynamic = ChatAgent(
        chat_client=OpenAIChatClient(model_id=os.environ["DYNAMIC_MODEL"]),
        name="dynamic",
        tools=get_tools(),
    )
    coordinator = ChatAgent(
        chat_client=chat,
        name="coordinator",
        instructions="You delegate.",
        tools=[billing.as_tool(name="ask_billing", approval_mode="always_require")],
    )
"""


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_agents_models_tools_effects_and_gates(tmp_path: Path) -> None:
    agents, text = _draft(tmp_path, _write(tmp_path, "support.py", SUPPORT))
    assert set(agents) == {"billing", "researcher", "archivist", "dynamic", "coordinator"}
    assert agents["billing"]["model"]["name"] == "gpt-4o-mini"
    # the environment's default, with a comment saying it is chosen at run time
    assert agents["researcher"]["model"]["name"] == "gpt-4.1-mini"
    assert "$SUPPORT_MODEL" in text
    # no model stated by the client, or one read from the environment: unknown, with a note
    assert "model" not in agents["archivist"]
    assert "AzureOpenAIChatClient(...) states no model" in text
    assert "model" not in agents["dynamic"]
    assert "DYNAMIC_MODEL" in text
    # always_require is a gate, never_require (and no decorator) is none; unknown effects
    # fail closed as destructive
    assert _tools(agents["billing"]) == {
        "close_account": ("destructive", True),
        "order_lookup": ("destructive", False),
        "plain_helper": ("destructive", False),
    }
    assert "never_require" in text
    assert _tools(agents["researcher"]) == {
        "HostedWebSearchTool": ("read", False),
        "HostedCodeInterpreterTool": ("destructive", False),  # runs code
        "docs": ("destructive", True),  # an MCP server nobody knows: unknown, gated
    }
    assert _tools(agents["archivist"]) == {"files": ("write", False)}  # a well-known server
    # tools computed at run time: an unknown tool, never none
    assert set(_tools(agents["dynamic"])) == {"unknown"}
    # an agent used as a tool: a spawn edge, and the wrapper's own gate
    assert agents["coordinator"]["spawns"] == ["billing"]
    assert _tools(agents["coordinator"]) == {"ask_billing": ("destructive", True)}


FLOWS = """\
from agent_framework import Agent, Executor, WorkflowBuilder, handler
from agent_framework.foundry import FoundryChatClient
from agent_framework.orchestrations import HandoffBuilder, MagenticBuilder, SequentialBuilder


class Relay(Executor):
    @handler
    async def go(self, msg, ctx) -> None:
        await ctx.send_message(msg)


def make_team(client):
    lead = Agent(client=client, name="lead", instructions="You route.")
    helper = Agent(client=client, name="helper", instructions="You help.")
    return lead, helper


def build() -> None:
    client = FoundryChatClient(model="gpt-4o")
    drafter = Agent(client=client, name="drafter", instructions="Write.")
    checker = Agent(client=client, name="checker", instructions="Check.")
    relay = Relay(id="relay")
    flow = WorkflowBuilder(start_executor=drafter).add_edge(drafter, relay)
    flow.add_edge(relay, checker).build()

    a = client.as_agent(name="step_a", instructions="First.")
    b = client.as_agent(name="step_b", instructions="Second.")
    c = client.as_agent(name="step_c", instructions="Third.")
    SequentialBuilder(participants=[a, b, c]).build().as_agent()

    lead, helper = make_team(client)
    builder = HandoffBuilder(participants=[lead, helper]).with_start_agent(lead)
    builder.add_handoff(lead, [helper])
    builder.build()

    boss = Agent(client=client, name="boss", instructions="You plan.")
    MagenticBuilder(participants=[a, helper], manager_agent=boss).build()
"""


def test_workflow_builders_are_edges(tmp_path: Path) -> None:
    agents, _ = _draft(tmp_path, _write(tmp_path, "flows.py", FLOWS))
    assert {"drafter", "checker", "step_a", "step_b", "step_c", "lead", "helper", "boss"} == set(
        agents
    )
    # through an executor that is no agent: the checker still depends on the drafter
    assert agents["checker"]["depends_on"] == ["drafter"]
    assert agents["step_b"]["depends_on"] == ["step_a"]
    assert agents["step_c"]["depends_on"] == ["step_b"]
    # add_handoff states the handoffs: the helper hands back to nobody
    assert agents["lead"]["spawns"] == ["helper"]
    assert "spawns" not in agents["helper"]
    assert agents["boss"]["spawns"] == ["step_a", "helper"]
    assert agents["drafter"]["model"]["name"] == "gpt-4o"


def test_handoff_without_add_handoff_is_every_participant_to_every_other(tmp_path: Path) -> None:
    src = """\
from agent_framework import ChatAgent
from agent_framework.openai import OpenAIChatClient
from agent_framework.orchestrations import HandoffBuilder

client = OpenAIChatClient(model_id="gpt-4o")
front = ChatAgent(chat_client=client, name="front")
refunds = ChatAgent(chat_client=client, name="refunds")
HandoffBuilder(participants=[front, refunds]).build()
"""
    agents, _ = _draft(tmp_path, _write(tmp_path, "mesh.py", src))
    assert agents["front"]["spawns"] == ["refunds"]
    assert agents["refunds"]["spawns"] == ["front"]


def test_a_module_that_builds_no_agent_is_refused(tmp_path: Path) -> None:
    src = """\
from agent_framework import Executor, WorkflowBuilder, handler


class Upper(Executor):
    @handler
    async def run(self, text: str, ctx) -> None:
        await ctx.send_message(text.upper())


upper = Upper(id="upper")
workflow = WorkflowBuilder(start_executor=upper).build()
"""
    out = tmp_path / "harness.yaml"
    p = _write(tmp_path, "executors.py", src)
    r = runner.invoke(app, ["init", str(p), "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert "executors.py" in r.output and "no agent found" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


WORKFLOW = """\
kind: Workflow
trigger:
  kind: OnConversationStart
  id: pipeline
  actions:
    - kind: InvokeAzureAgent
      id: first
      agent:
        name: Planner
    - kind: InvokeAzureAgent
      id: second
      agent:
        name: Doer
"""

MAIN = """\
import os
from agent_framework import Agent, tool
from agent_framework.openai import OpenAIChatClient


@tool(approval_mode="always_require")
def wire_money(amount: int) -> str:
    return "sent"


client = OpenAIChatClient(model_id=os.getenv("PIPE_MODEL", "gpt-4o"))
planner = Agent(client=client, name="Planner", instructions="Plan.")
doer = Agent(client=client, name="Doer", instructions="Do.", tools=[wire_money])
"""


def test_python_beside_declarative_yaml_fills_the_agents_it_invokes(tmp_path: Path) -> None:
    # a declarative sample: main.py builds the agents the workflow YAML invokes by name
    _write(tmp_path, "main.py", MAIN)
    _write(tmp_path, "workflow.yaml", WORKFLOW)
    agents, text = _draft(tmp_path, tmp_path)
    assert set(agents) == {"Planner", "Doer"}  # one agent each, not a copy per file
    assert agents["Doer"]["depends_on"] == ["Planner"]  # the workflow's order
    assert agents["Doer"]["model"]["name"] == "gpt-4o"  # the Python's client
    assert _tools(agents["Doer"]) == {"wire_money": ("destructive", True)}
    assert "unknown" not in _tools(agents["Planner"])
    assert "$PIPE_MODEL" in text


def test_python_beside_yaml_with_no_agent_is_said(tmp_path: Path) -> None:
    _write(tmp_path, "run.py", "from agent_framework import WorkflowBuilder\nWorkflowBuilder()\n")
    _write(tmp_path, "workflow.yaml", WORKFLOW)
    agents, text = _draft(tmp_path, tmp_path)
    assert set(agents) == {"Planner", "Doer"}
    assert "run.py" in text and "no agent found" in text


def test_agent_executors_and_executor_participants_are_followed(tmp_path: Path) -> None:
    src = """\
from agent_framework import Agent, AgentExecutor, Executor, WorkflowBuilder, handler
from agent_framework.openai import OpenAIChatClient
from agent_framework.orchestrations import SequentialBuilder


class Tidy(Executor):
    @handler
    async def tidy(self, msg, ctx) -> None:
        await ctx.send_message(msg)


def make_classifier() -> Agent:
    return Agent(client=OpenAIChatClient(model_id="gpt-4o-mini"), name="classifier")


def make_replier() -> Agent:
    return Agent(client=OpenAIChatClient(model_id="gpt-4o-mini"), name="replier")


def main() -> None:
    classify = AgentExecutor(make_classifier(), id="classify")
    reply = AgentExecutor(make_replier(), id="reply")
    tidy = Tidy(id="tidy")
    WorkflowBuilder(start_executor=classify).add_edge(classify, tidy).add_edge(tidy, reply)
    SequentialBuilder(participants=[make_replier(), Tidy(id="t2"), make_classifier()])
"""
    agents, text = _draft(tmp_path, _write(tmp_path, "mail.py", src))
    assert set(agents) == {"classifier", "replier"}  # an executor of the module is no agent
    assert agents["replier"]["depends_on"] == ["classifier"]
    assert agents["classifier"]["depends_on"] == ["replier"]  # the sequential chain
    assert "unknown_agents" not in text


def test_tools_given_to_a_run_are_the_agents_tools(tmp_path: Path) -> None:
    src = """\
from agent_framework import ChatAgent, ai_function
from agent_framework.openai import OpenAIChatClient


@ai_function(approval_mode="always_require")
def refund(order: str) -> str:
    return order


def status(order: str) -> str:
    return "ok"


async def main() -> None:
    agent = ChatAgent(chat_client=OpenAIChatClient(model_id="gpt-4o"), name="desk")
    await agent.run("where is 12?", tools=[status])
    await agent.run("refund 12", tools=[status, refund])
"""
    agents, _ = _draft(tmp_path, _write(tmp_path, "desk.py", src))
    assert _tools(agents["desk"]) == {
        "status": ("destructive", False),
        "refund": ("destructive", True),
    }


def test_methods_of_a_plugin_object_are_tools_by_their_own_names(tmp_path: Path) -> None:
    src = """\
from agent_framework import ChatAgent, ai_function
from agent_framework.openai import OpenAIChatClient


class Mailbox:
    def read_inbox(self) -> list[str]:
        return []

    @ai_function(approval_mode="always_require")
    def send(self, to: str, body: str) -> None:
        return None


box = Mailbox()
clerk = ChatAgent(
    chat_client=OpenAIChatClient(model_id="gpt-4o"),
    name="clerk",
    tools=[box.read_inbox, box.send],
)
"""
    agents, _ = _draft(tmp_path, _write(tmp_path, "mail_clerk.py", src))
    assert _tools(agents["clerk"]) == {
        "read_inbox": ("destructive", False),
        "send": ("destructive", True),
    }
