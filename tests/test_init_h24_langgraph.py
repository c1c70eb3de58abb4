"""Issue 24 (items 2-3), LangGraph: what the graph states is drafted, with its line; what it
decides at run time is drafted unknown (fail closed). Inputs are written in the shapes of the
LangGraph examples, templates and docs (our own text), and every draft goes through ``init`` ->
``scan`` -> ``report`` -> ``report verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.trail.note import Signer

from .conftest import SHARED

SIGNER = Signer.from_seed("harness-audit/h24-init", b"\x24" * 32)
runner = CliRunner()


def draft(tmp_path: Path, src: str | Path, fmt: str = "auto", name: str = "g.py") -> dict[str, Any]:
    """``init`` on the source (text written to ``name``, or a path), then ``scan``, ``report``
    and ``report verify`` on the draft; the draft loaded."""
    if isinstance(src, str):
        path = tmp_path / name
        path.write_text(src)
    else:
        path = src
    out = tmp_path / "harness.yaml"
    r = runner.invoke(app, ["init", str(path), "-o", str(out), "--from", fmt])
    assert r.exit_code == 0, r.output
    s = runner.invoke(app, ["scan", str(out), "--no-trails"])
    assert s.exit_code == 1, s.output  # a draft fails closed
    key, pub = tmp_path / "k.key", tmp_path / "k.pub"
    key.write_text(SIGNER.text() + "\n")
    pub.write_text(SIGNER.verifier.text() + "\n")
    pack = tmp_path / "pack"
    rep = runner.invoke(
        app, ["report", str(out), "-o", str(pack), "--no-pdf", "--sign-key", str(key)]
    )
    assert rep.exit_code == 1, rep.output
    v = runner.invoke(app, ["report", "verify", str(pack), "--key", str(pub)])
    assert v.exit_code == 0, v.output
    doc = yaml.safe_load(out.read_text())
    doc["_text"] = out.read_text()
    return doc


def agents(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The drafted agents by id."""
    return {a["id"]: a for a in doc["agents"]}


def tools(agent: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """A drafted agent's tools: name -> (effect, gated)."""
    return {
        t["name"]: (t["effect"], bool(t["human_gate"]["required"]))
        for t in agent.get("tools") or []
    }


def line_of(doc: dict[str, Any], needle: str) -> str:
    """The draft's one line holding ``needle``."""
    (hit,) = [x for x in doc["_text"].splitlines() if needle in x]
    return hit


CONFIGURABLE = """
from langchain.chat_models import init_chat_model
from langgraph.graph import StateGraph, START, MessagesState
from langgraph.prebuilt import ToolNode, tools_condition
from my_project.tools import TOOLS

chooser = init_chat_model(configurable_fields=("model", "model_provider"), temperature=0)

def respond(state: MessagesState):
    bound = chooser.bind_tools([lookup_invoice, refund_invoice])
    return {"messages": [bound.invoke(state["messages"])]}

builder = StateGraph(MessagesState)
builder.add_node("respond", respond)
builder.add_node("tools", ToolNode(TOOLS))
builder.add_edge(START, "respond")
builder.add_conditional_edges("respond", tools_condition)
builder.add_edge("tools", "respond")
graph = builder.compile()
"""


def test_a_model_chosen_at_run_time_drafts_unknown_not_refused(tmp_path: Path) -> None:
    """``init_chat_model(configurable_fields=…)`` then ``.bind_tools`` in the node: an agent whose
    model is a TODO with its line; an imported tool list is one unknown tool (destructive)."""
    doc = draft(tmp_path, CONFIGURABLE)
    ag = agents(doc)
    assert set(ag) == {"respond", "tools"}
    assert "model" not in ag["respond"]
    assert tools(ag["respond"]) == {
        "lookup_invoice": ("destructive", False),
        "refund_invoice": ("destructive", False),
    }
    assert tools(ag["tools"]) == {"unknown": ("destructive", False)}
    notes = " ".join(doc["x-import"]["notes"])
    assert "init_chat_model(configurable_fields=...) at g.py:7" in notes
    assert "tools loaded at run time at g.py:15 (tools=TOOLS)" in doc["_text"]
    assert ag["respond"]["depends_on"] == ["tools"] and ag["tools"]["depends_on"] == ["respond"]


def test_a_model_built_inside_the_node(tmp_path: Path) -> None:
    """The template's shape: ``load_chat_model(cfg.model).bind_tools(TOOLS)`` inside the node."""
    doc = draft(
        tmp_path,
        """
from langgraph.graph import StateGraph
from react_agent.utils import load_chat_model
from react_agent.tools import TOOLS

async def call_model(state, runtime):
    model = load_chat_model(runtime.context.model).bind_tools(TOOLS)
    return {"messages": [await model.ainvoke(state.messages)]}

def call_anthropic(state, config):
    from langchain_anthropic import ChatAnthropic
    llm = ChatAnthropic(model=config["configurable"]["model"])
    return {"messages": [llm.invoke(state.messages)]}

builder = StateGraph(dict)
builder.add_node(call_model)
builder.add_node(call_anthropic)
builder.add_edge("__start__", "call_model")
builder.add_edge("call_model", "call_anthropic")
graph = builder.compile(name="ReAct Agent")
""",
    )
    ag = agents(doc)
    assert set(ag) == {"call_model", "call_anthropic"}
    assert "model" not in ag["call_model"] and "model" not in ag["call_anthropic"]
    assert tools(ag["call_model"]) == {"unknown": ("destructive", False)}
    assert ag["call_anthropic"]["depends_on"] == ["call_model"]
    notes = " ".join(doc["x-import"]["notes"])
    assert "tools loaded at run time at g.py:7 (tools=TOOLS)" in doc["_text"]
    assert "load_chat_model(runtime.context.model) at g.py:7" in notes
    assert "ChatAnthropic(model=config['configurable']['model']) at g.py:12" in notes


def test_two_graphs_in_one_file_do_not_merge(tmp_path: Path) -> None:
    doc = draft(
        tmp_path,
        """
from langgraph.graph import StateGraph, START
from langchain_openai import ChatOpenAI
from langchain_anthropic import ChatAnthropic

fast = ChatOpenAI(model="gpt-4o-mini")
careful = ChatAnthropic(model="claude-3-5-sonnet-latest")

def sales_agent(state):
    return fast.bind_tools([quote_price]).invoke(state)

def support_agent(state):
    return careful.bind_tools([close_ticket]).invoke(state)

sales = StateGraph(dict)
sales.add_node("agent", sales_agent)
sales.add_edge(START, "agent")

support = StateGraph(dict)
support.add_node("agent", support_agent)
support.add_node("review", support_agent)
support.add_edge(START, "agent")
support.add_edge("agent", "review")
""",
    )
    ag = agents(doc)
    assert set(ag) == {"sales_agent", "support_agent", "review"}
    assert ag["sales_agent"]["model"]["name"] == "openai/gpt-4o-mini"
    assert tools(ag["sales_agent"]) == {"quote_price": ("destructive", False)}
    assert ag["support_agent"]["model"]["provider"] == "anthropic"
    assert tools(ag["support_agent"]) == {"close_ticket": ("destructive", False)}
    assert "depends_on" not in ag["sales_agent"] and "depends_on" not in ag["support_agent"]
    assert ag["review"]["depends_on"] == ["support_agent"]


HITL = """
from typing import Literal
from langchain.chat_models import init_chat_model
from langgraph.graph import StateGraph, START, END
from langgraph.types import Command, interrupt
from inbox.tools import pick_tools

tools = pick_tools(["draft_reply", "send_reply", "read_calendar", "finish"])
model = init_chat_model("openai:gpt-4.1")
classifier = model.with_structured_output(Route)
caller = model.bind_tools(tools)

def classify(state) -> Command[Literal["ask_person", "worker", "__end__"]]:
    verdict = classifier.invoke(state["email"])
    if verdict.kind == "reply":
        goto = "worker"
    elif verdict.kind == "unsure":
        goto = "ask_person"
    else:
        goto = END
    return Command(goto=goto)

def ask_person(state):
    answer = interrupt({"question": "reply to this?"})
    return Command(goto="worker" if answer else END)

def call(state):
    return {"messages": [caller.invoke(state["messages"])]}

def review(state) -> Command[Literal["call", "__end__"]]:
    for c in state["messages"][-1].tool_calls:
        needs_person = ("send_reply", "draft_reply")
        if c["name"] in needs_person:
            reply = interrupt([c])[0]
    return Command(goto="call")

def route(state) -> Literal["review", "__end__"]:
    return "review"

inner = StateGraph(dict)
inner.add_node("call", call)
inner.add_node("review", review)
inner.add_edge(START, "call")
inner.add_conditional_edges("call", route, {"review": "review", END: END})
worker = inner.compile()

outer = (
    StateGraph(dict)
    .add_node(classify)
    .add_node(ask_person)
    .add_node("worker", worker)
    .add_edge(START, "classify")
)
app = outer.compile()
result = app.invoke({"email": "hi"}, {"recursion_limit": 12})
"""


def test_routers_handlers_interrupt_gates_command_edges_and_recursion_limit(
    tmp_path: Path,
) -> None:
    """A router node with a model, an ``interrupt()`` handler (a person), a handler that pauses
    before the tools it lists (a gate with its line; the others run without a person),
    ``Command(goto=…)`` edges into a compiled subgraph, and ``recursion_limit`` as a bound."""
    doc = draft(tmp_path, HITL)
    ag = agents(doc)
    assert set(ag) == {"classify", "ask_person", "call", "review"}
    assert ag["classify"]["model"]["family"] == "gpt-4.1"
    assert ag["ask_person"]["model"] == "human" and ag["review"]["model"] == "human"
    assert ag["ask_person"]["depends_on"] == ["classify"]
    assert sorted(ag["call"]["depends_on"]) == ["ask_person", "classify", "review"]
    assert ag["review"]["depends_on"] == ["call"]
    assert tools(ag["call"]) == {
        "draft_reply": ("destructive", True),
        "send_reply": ("destructive", True),
        "read_calendar": ("destructive", False),
        "finish": ("destructive", False),
    }
    gated = [x for x in doc["_text"].splitlines() if "human_gate: {required: true}" in x]
    assert len(gated) == 2 and all("from g.py:34; interrupt() in node 'review'" in x for x in gated)
    assert all("the tools listed at g.py:32" in x for x in gated)
    # the limit is given to the outer graph: its agents, not the subgraph's
    assert ag["classify"]["max_iterations"] == 12
    assert ag["call"]["max_iterations"] == 1  # the subgraph's cycle: still a TODO


def test_recursion_limit_bounds_its_graph_and_says_what_it_does_not(tmp_path: Path) -> None:
    doc = draft(
        tmp_path,
        """
from langgraph.graph import StateGraph, START
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o")

def write(state):
    return llm.bind_tools([save_draft]).invoke(state)

def critique(state):
    return llm.invoke(state)

g = StateGraph(dict)
g.add_node("write", write)
g.add_node("critique", critique)
g.add_edge(START, "write")
g.add_edge("write", "critique")
g.add_edge("critique", "write")
app = g.compile().with_config(recursion_limit=25)
""",
    )
    ag = agents(doc)
    assert ag["write"]["max_iterations"] == 25 and ag["critique"]["max_iterations"] == 25
    hits = [x for x in doc["_text"].splitlines() if "max_iterations: 25" in x]
    assert len(hits) == 2
    assert all("from g.py:19; recursion_limit=25" in x for x in hits)
    assert all("does not bound tokens, cost, time" in x for x in hits)


def test_tool_with_its_own_interrupt_is_gated(tmp_path: Path) -> None:
    doc = draft(
        tmp_path,
        """
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent
from langgraph.types import interrupt

@tool
def book_hotel(name: str) -> str:
    ok = interrupt({"book": name})
    return "booked" if ok else "cancelled"

@tool
def list_hotels(city: str) -> str:
    return "..."

agent = create_react_agent("anthropic:claude-3-7-sonnet-latest", tools=[book_hotel, list_hotels])
""",
    )
    (a,) = doc["agents"]
    assert tools(a) == {"book_hotel": ("destructive", True), "list_hotels": ("destructive", False)}


def test_supervisor_app_keeps_the_supervisor(tmp_path: Path) -> None:
    """``create_supervisor(...).compile()`` assigned at once, workers given by name; a worker list
    built at run time is said so (no agent drafted for it, a note with its line)."""
    doc = draft(
        tmp_path,
        """
from langgraph.prebuilt import create_react_agent
from langgraph_supervisor import create_supervisor
from langchain.agents.middleware import HumanInTheLoopMiddleware

approve = HumanInTheLoopMiddleware(interrupt_on={"wire_money": True})
payer = create_react_agent("openai:gpt-4.1", tools=[wire_money], name="payer")
app = create_supervisor([payer], model="openai:gpt-4.1", supervisor_name="boss").compile()
other = create_supervisor(agents=build_agents(), model="openai:gpt-4.1").compile()
""",
    )
    ag = agents(doc)
    assert set(ag) == {"payer", "boss", "supervisor", "unknown_agents_g_9"}
    assert ag["payer"]["depends_on"] == ["boss"]
    assert ag["supervisor"]["spawns"] == ["unknown_agents_g_9"]
    notes = " ".join(doc["x-import"]["notes"])
    assert "agents=build_agents()" in notes


def test_human_in_the_loop_middleware_in_a_variable(tmp_path: Path) -> None:
    doc = draft(
        tmp_path,
        """
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware

gate = HumanInTheLoopMiddleware(interrupt_on={"drop_table": True, "select_rows": False})
agent = create_agent(model="openai:gpt-4o", tools=[drop_table, select_rows], middleware=[gate])
""",
    )
    (a,) = doc["agents"]
    assert tools(a) == {"drop_table": ("destructive", True), "select_rows": ("destructive", False)}
    assert "from g.py:5; HumanInTheLoopMiddleware" in line_of(doc, "human_gate: {required: true}")


REAL = SHARED / "real" / "set2" / "langgraph" / "agents-from-scratch"


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is absent")
def test_real_email_assistant_with_human_review(tmp_path: Path) -> None:
    """agents-from-scratch's HITL assistant: two graphs (one a node of the other), a router, two
    interrupt handlers, tools picked by name, three of five gated at the handler's interrupt."""
    doc = draft(tmp_path, REAL / "email_assistant_hitl.py", "langgraph")
    ag = agents(doc)
    assert set(ag) == {"llm_call", "interrupt_handler", "triage_router", "triage_interrupt_handler"}
    assert ag["triage_router"]["model"]["name"] == "openai:gpt-4.1"
    assert ag["interrupt_handler"]["model"] == "human"
    assert ag["triage_interrupt_handler"]["depends_on"] == ["triage_router"]
    assert sorted(ag["llm_call"]["depends_on"]) == [
        "interrupt_handler",
        "triage_interrupt_handler",
        "triage_router",
    ]
    assert tools(ag["llm_call"]) == {
        "write_email": ("destructive", True),
        "schedule_meeting": ("destructive", True),
        "Question": ("destructive", True),
        "check_calendar_availability": ("destructive", False),
        "Done": ("destructive", False),
    }
    assert "from email_assistant_hitl.py:248" in line_of(doc, '- name: "write_email"') or (
        "email_assistant_hitl.py:248" in doc["_text"]
    )


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is absent")
def test_real_email_assistant_tools_at_run_time(tmp_path: Path) -> None:
    doc = draft(tmp_path, REAL / "email_assistant.py", "langgraph")
    ag = agents(doc)
    assert set(ag) == {"llm_call", "triage_router"}
    assert tools(ag["llm_call"]) == {"unknown": ("destructive", False)}
    assert ag["llm_call"]["depends_on"] == ["triage_router"]
    assert "tools loaded at run time at email_assistant.py:17 (tools=get_tools())" in doc["_text"]
    # llm_call -> environment (a step that is no agent) -> llm_call: a loop whose bound is asked
    assert "max_iterations: 1  # TODO: declare the bound of this cycle" in doc["_text"]


LOOPED = """from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph

llm = ChatOpenAI(model="gpt-4o")


def plan(state: MessagesState):
    return {"messages": [llm.invoke(state["messages"])]}


def write(state: MessagesState):
    return {"messages": [llm.invoke(state["messages"])]}


def publish(state: MessagesState):
    return {"messages": [llm.invoke(state["messages"])]}


steps = [("plan", plan), ("write", write)]
builder = StateGraph(MessagesState)
for i, (label, fn) in enumerate(steps):
    builder.add_node(label, fn)
    if i:
        builder.add_edge(steps[i - 1][0], label)
builder.add_node("publish", publish)
builder.add_edge(START, "plan")
builder.add_edge("publish", END)
graph = builder.compile()
"""


def test_nodes_added_in_a_loop_fail_closed_with_their_line(tmp_path: Path) -> None:
    """``add_node(label, fn)`` inside a loop over a list of (name, function) pairs: what the
    node runs is a loop variable, so the reader cannot say which nodes there are. They are
    drafted as a placeholder agent (no model, an unknown tool assumed destructive) with the
    ``add_node`` line, never dropped; a node added by name beside them is still read."""
    doc = draft(tmp_path, LOOPED)
    ag = agents(doc)
    (ph,) = [a for a in ag if a.startswith("unknown_agents_")]
    assert ph == "unknown_agents_g_22"
    assert tools(ag[ph]) == {"unknown": ("destructive", False)}
    assert "model" not in ag[ph]
    assert "publish" in ag and ag["publish"]["model"]["family"] == "gpt-4o"
    assert any("g.py:22" in n and "add_node(label, fn)" in n for n in doc["x-import"]["notes"])
