"""Issue 24, items 1-3 for LangGraph: modules written (our own text) in the shapes of public
LangGraph applications: open_deep_research (a model from ``init_chat_model(configurable_fields=…)``
bound inside each node and chained with ``with_retry``/``with_config``, ``Command(goto=…)`` edges,
a supervisor subgraph as a node, and a node that runs a compiled research graph once per tool
call), langgraph-supervisor's hierarchical teams (compiled supervisors as workers of a top
supervisor, ``create_handoff_tool``), and the LangGraph docs' ``add_human_in_the_loop(tool)``
wrapper. Each goes through ``init`` -> ``scan`` -> ``report`` -> ``report verify``."""

from __future__ import annotations

from pathlib import Path

from .test_init_h24_langgraph import agents, draft, tools

RESEARCH = """
import asyncio
from typing import Literal

from langchain.chat_models import init_chat_model
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from pydantic import BaseModel

from .helpers import collect_tools, reflect

model = init_chat_model(configurable_fields=("model", "max_tokens", "api_key"))


class Delegate(BaseModel):
    topic: str


class Finished(BaseModel):
    pass


async def scope(state, config) -> Command[Literal["plan", "__end__"]]:
    asker = model.with_structured_output(Clarify).with_config(settings(config))
    answer = await asker.ainvoke(state["messages"])
    if answer.need_more:
        return Command(goto=END)
    return Command(goto="plan")


async def plan(state, config) -> Command[Literal["lead_team"]]:
    brief = await model.with_structured_output(Brief).ainvoke(state["messages"])
    return Command(goto="lead_team", update={"brief": brief.text})


async def lead(state, config) -> Command[Literal["lead_tools"]]:
    bound = model.bind_tools([Delegate, Finished, reflect]).with_retry(stop_after_attempt=3)
    msg = await bound.ainvoke(state["lead_messages"])
    return Command(goto="lead_tools", update={"lead_messages": [msg]})


async def lead_tools(state, config) -> Command[Literal["lead", "__end__"]]:
    last = state["lead_messages"][-1]
    if not last.tool_calls:
        return Command(goto=END)
    runs = [
        worker_graph.ainvoke({"worker_messages": [HumanMessage(c["args"]["topic"])]}, config)
        for c in last.tool_calls
        if c["name"] == "Delegate"
    ]
    await asyncio.gather(*runs)
    return Command(goto="lead")


async def worker(state, config) -> Command[Literal["worker_tools"]]:
    tools = await collect_tools(config)
    bound = model.bind_tools(tools)
    msg = await bound.ainvoke(state["worker_messages"])
    return Command(goto="worker_tools", update={"worker_messages": [msg]})


async def worker_tools(state, config) -> Command[Literal["worker", "summarise"]]:
    tools = {t.name: t for t in await collect_tools(config)}
    last = state["worker_messages"][-1]
    outs = [await tools[c["name"]].ainvoke(c["args"]) for c in last.tool_calls]
    if not outs:
        return Command(goto="summarise")
    return Command(goto="worker", update={"worker_messages": [ToolMessage(o) for o in outs]})


async def summarise(state, config):
    out = await model.with_config(settings(config)).ainvoke(state["worker_messages"])
    return {"summary": out.content}


async def write_report(state, config):
    out = await model.with_config(settings(config)).ainvoke(state["brief"])
    return {"report": out.content}


lead_builder = StateGraph(dict)
lead_builder.add_node("lead", lead)
lead_builder.add_node("lead_tools", lead_tools)
lead_builder.add_edge(START, "lead")
lead_graph = lead_builder.compile()

worker_builder = StateGraph(dict)
worker_builder.add_node("worker", worker)
worker_builder.add_node("worker_tools", worker_tools)
worker_builder.add_node("summarise", summarise)
worker_builder.add_edge(START, "worker")
worker_builder.add_edge("summarise", END)
worker_graph = worker_builder.compile()

main_builder = StateGraph(dict)
main_builder.add_node("scope", scope)
main_builder.add_node("plan", plan)
main_builder.add_node("lead_team", lead_graph)
main_builder.add_node("write_report", write_report)
main_builder.add_edge(START, "scope")
main_builder.add_edge("lead_team", "write_report")
main_builder.add_edge("write_report", END)
app = main_builder.compile()
"""


def test_deep_research_shape(tmp_path: Path) -> None:
    """Every node that calls the run-time model is an agent with no model (a note with the
    line); a node that runs a compiled graph per tool call spawns its entry agent, attributed
    to the agent upstream when the node itself is none; tools gathered at run time are an
    unknown tool; ``Command(goto=…)`` and the subgraph node give the edges."""
    doc = draft(tmp_path, RESEARCH, "langgraph", "research.py")
    ag = agents(doc)
    assert set(ag) == {"scope", "plan", "lead", "worker", "summarise", "write_report"}
    assert all("model" not in a for a in ag.values())
    assert ag["lead"]["spawns"] == ["worker"]
    assert tools(ag["lead"]) == {
        "Delegate": ("destructive", False),
        "Finished": ("destructive", False),
        "reflect": ("destructive", False),
    }
    assert tools(ag["worker"]) == {"unknown": ("destructive", False)}
    assert ag["plan"]["depends_on"] == ["scope"]
    assert ag["lead"]["depends_on"] == ["plan"]
    assert ag["summarise"]["depends_on"] == ["worker"]
    assert ag["write_report"]["depends_on"] == ["lead"]
    notes = " ".join(doc["x-import"]["notes"])
    assert "model chosen at run time: init_chat_model(configurable_fields=...) at" in notes
    assert "agent 'worker': tools computed at run time (tools=tools)" in notes


TEAMS = '''
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent
from langgraph_supervisor import create_handoff_tool, create_supervisor

model = ChatOpenAI(model="gpt-4o")


def web_search(query: str) -> str:
    """Search the web."""
    return "results"


def publish_post(text: str) -> str:
    """Publish to the blog."""
    return "ok"


searcher = create_react_agent(model=model, tools=[web_search], name="searcher")
writer = create_react_agent(model=model, tools=[publish_post], name="writer")

research_team = create_supervisor(
    [searcher], model=model, supervisor_name="research_lead"
).compile(name="research_team")

writing_team = create_supervisor(
    [writer],
    model=model,
    tools=[create_handoff_tool(agent_name="writer", name="assign_to_writer")],
    supervisor_name="writing_lead",
).compile(name="writing_team")

top = create_supervisor(
    [research_team, writing_team],
    model=ChatOpenAI(model="gpt-4o-mini"),
    supervisor_name="chief",
    output_mode="last_message",
).compile(name="top")
'''


def test_hierarchical_supervisors_and_handoff_tools(tmp_path: Path) -> None:
    """A compiled supervisor is a worker of the top one; ``create_handoff_tool(agent_name=…)``
    is a handoff to that worker, not a tool with an effect of its own."""
    doc = draft(tmp_path, TEAMS, "langgraph", "teams.py")
    ag = agents(doc)
    assert set(ag) == {"searcher", "writer", "research_lead", "writing_lead", "chief"}
    assert ag["research_lead"]["depends_on"] == ["chief"]
    assert ag["writing_lead"]["depends_on"] == ["chief"]
    assert ag["searcher"]["depends_on"] == ["research_lead"]
    assert ag["writer"]["depends_on"] == ["writing_lead"]
    assert "tools" not in ag["writing_lead"]
    assert tools(ag["writer"]) == {"publish_post": ("destructive", False)}
    assert ag["chief"]["model"]["name"] == "openai/gpt-4o-mini"


WRAPPED = '''
from langchain_core.tools import BaseTool, tool as create_tool
from langgraph.prebuilt import create_react_agent
from langgraph.types import interrupt


def add_human_in_the_loop(tool, *, interrupt_config=None):
    """Wrap a tool so that a person reviews each call."""
    if not isinstance(tool, BaseTool):
        tool = create_tool(tool)

    @create_tool(tool.name, description=tool.description, args_schema=tool.args_schema)
    def call_tool_with_interrupt(config, **tool_input):
        response = interrupt([{"action": tool.name, "args": tool_input}])[0]
        if response["type"] == "accept":
            return tool.invoke(tool_input, config)
        return "rejected"

    return call_tool_with_interrupt


def book_hotel(hotel_name: str):
    """Book a hotel."""
    return f"booked {hotel_name}"


def cancel_booking(booking_id: str):
    """Cancel a booking."""
    return "cancelled"


agent = create_react_agent(
    "anthropic:claude-3-5-sonnet-latest",
    tools=[add_human_in_the_loop(book_hotel), cancel_booking],
    name="concierge",
)
'''


def test_a_tool_wrapped_behind_interrupt_is_gated(tmp_path: Path) -> None:
    """``tools=[add_human_in_the_loop(book_hotel), cancel_booking]``: the wrapped tool is
    ``book_hotel``, gated at the wrapper's ``interrupt()`` line; the other is not."""
    doc = draft(tmp_path, WRAPPED, "langgraph", "wrap.py")
    (a,) = doc["agents"]
    assert tools(a) == {
        "book_hotel": ("destructive", True),
        "cancel_booking": ("destructive", False),
    }
    assert "human_gate: {required: true}  # from wrap.py:14" in doc["_text"]
