"""LangGraph nodes that act without a model (session 6).

A graph node whose function calls no model but acts, by its own code or through a helper of
the app (an inbox assistant's node that sends the reply through a Gmail helper, a clean-up
node that removes files through a module of its own), is a step of the pipeline holding a
tool for that action: its effect proposed from the code (a comment) and drafted unknown,
destructive until declared; gated only by an ``interrupt()`` in the node or the graph's
``compile(interrupt_before=[node])``. It was not drafted at all, so the human-gate check
could never fail for the pipeline's most destructive step. A node that neither calls a model
nor acts (it reshapes the state) stays out of the agents, and the graph's edges still pass
through it. A node that runs a tool object itself (``shell.invoke(...)``) holds that tool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .test_init_unseen import _draft, _scan

INBOX_GRAPH = """\
from langgraph.graph import END, START, StateGraph
from langchain_anthropic import ChatAnthropic

from inbox.mail import deliver_reply

writer_llm = ChatAnthropic(model="claude-3-5-sonnet-latest")


def write_reply(state):
    return {"messages": [writer_llm.invoke(state["messages"])]}


def reply_node(state, config):
    call = state["messages"][-1].tool_calls[0]
    deliver_reply(state["email"]["id"], call["args"]["content"], config["configurable"]["me"])


def tidy(state):
    return {"count": len(state["messages"])}


builder = StateGraph(dict)
builder.add_node(write_reply)
builder.add_node(tidy)
builder.add_node(reply_node)
builder.add_edge(START, "write_reply")
builder.add_edge("write_reply", "tidy")
builder.add_edge("tidy", "reply_node")
builder.add_edge("reply_node", END)
graph = builder.compile(%s)
"""

MAIL_HELPERS = """\
from googleapiclient.discovery import build


def _service(address):
    return build("gmail", "v1", credentials=address)


def _post(service, body):
    return service.users().messages().send(userId="me", body=body).execute()


def deliver_reply(email_id, text, address):
    service = _service(address)
    original = service.users().messages().get(userId="me", id=email_id).execute()
    return _post(service, {"threadId": original["threadId"], "raw": text})
"""


def _inbox(tmp: Path, compile_args: str = "") -> tuple[dict[str, Any], Path]:
    pkg = tmp / "inbox"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mail.py").write_text(MAIL_HELPERS)
    graph = INBOX_GRAPH % compile_args
    doc, _ = _draft(tmp, {"inbox/graph.py": graph})
    return doc, tmp / "harness.yaml"


def _agents(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in doc["agents"]}


def test_a_node_sending_mail_through_a_helper_is_an_ungated_step(tmp_path: Path) -> None:
    doc, manifest = _inbox(tmp_path)
    agents = _agents(doc)
    assert "reply_node" in agents
    tools = {t["name"]: t for t in agents["reply_node"]["tools"]}
    assert tools["reply_node"]["effect"] == "destructive"  # unknown until declared
    text = manifest.read_text()
    assert "external, from its code: messages.send at mail.py:" in text
    assert "through deliver_reply()" in text
    # the data-shaping node between them is no agent, and the edge passes through it
    assert "tidy" not in agents
    assert "write_reply" in agents["reply_node"].get("depends_on", [])
    assert _scan(manifest)["reply_node"]["human_gate_for_destructive_ops"] != "pass"


def test_interrupt_before_the_acting_node_gates_it(tmp_path: Path) -> None:
    doc, manifest = _inbox(tmp_path, 'interrupt_before=["reply_node"]')
    tools = {t["name"]: t for t in _agents(doc)["reply_node"]["tools"]}
    assert tools["reply_node"]["human_gate"]["required"] is True
    assert _scan(manifest)["reply_node"]["human_gate_for_destructive_ops"] == "pass"


CLEANUP_GRAPH = """\
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from ops import housekeeping


def plan(state):
    return {"paths": sorted(state["paths"])}


def sweep(state):
    for p in state["paths"]:
        housekeeping.forget(p)
    return {}


def purge_rows(state, conn):
    ok = interrupt({"purge": state["table"]})
    if ok:
        conn.execute("DELETE FROM events WHERE day < ?", (state["day"],))
    return {}


builder = StateGraph(dict)
builder.add_node(plan)
builder.add_node(sweep)
builder.add_node(purge_rows)
builder.add_edge(START, "plan")
builder.add_edge("plan", "sweep")
builder.add_edge("sweep", "purge_rows")
builder.add_edge("purge_rows", END)
graph = builder.compile()
"""

HOUSEKEEPING = """\
import shutil


def forget(path):
    shutil.rmtree(path, ignore_errors=True)
"""


def test_a_node_deleting_through_another_module_and_a_gated_sql_delete(tmp_path: Path) -> None:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "__init__.py").write_text("")
    (tmp_path / "ops" / "housekeeping.py").write_text(HOUSEKEEPING)
    doc, _ = _draft(tmp_path, {"graph.py": CLEANUP_GRAPH})
    agents = _agents(doc)
    assert "plan" not in agents  # reshapes the state: no agent
    sweep = {t["name"]: t for t in agents["sweep"]["tools"]}["sweep"]
    assert sweep["effect"] == "destructive"
    assert sweep.get("human_gate", {}).get("required") is not True
    purge = {t["name"]: t for t in agents["purge_rows"]["tools"]}["purge_rows"]
    assert purge["human_gate"]["required"] is True  # interrupt() in the node before the DELETE
    text = (tmp_path / "harness.yaml").read_text()
    assert "shutil.rmtree at housekeeping.py:5" in text
    assert "SQL DELETE at graph.py:" in text
    checks = _scan(tmp_path / "harness.yaml")
    assert checks["sweep"]["human_gate_for_destructive_ops"] == "fail"
    assert agents["purge_rows"].get("human") is not True


def test_a_graph_of_pure_nodes_beside_an_acting_one_drafts_only_the_acting_one(
    tmp_path: Path,
) -> None:
    only = CLEANUP_GRAPH.replace("housekeeping.forget(p)", "print(p)")
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "__init__.py").write_text("")
    (tmp_path / "ops" / "housekeeping.py").write_text(HOUSEKEEPING)
    doc, _ = _draft(tmp_path, {"graph.py": only})
    assert sorted(_agents(doc)) == ["purge_rows"]


SHELL_STEP = """\
from langchain_community.tools import ShellTool
from langgraph.graph import END, START, StateGraph

shell = ShellTool()
docs = vectorstore.as_retriever()


def build(state):
    return {"log": shell.invoke({"commands": ["make dist"]})}


def look_up(state):
    return {"context": docs.invoke(state["question"])}


builder = StateGraph(dict)
builder.add_node(look_up)
builder.add_node(build)
builder.add_edge(START, "look_up")
builder.add_edge("look_up", "build")
builder.add_edge("build", END)
graph = builder.compile()
"""


def test_a_node_running_a_tool_object_itself_holds_that_tool(tmp_path: Path) -> None:
    doc, _ = _draft(tmp_path, {"graph.py": SHELL_STEP})
    agents = _agents(doc)
    tools = {t["name"]: t for t in agents["build"]["tools"]}
    assert tools["ShellTool"]["effect"] == "destructive"
    assert "look_up" not in agents  # a retriever is no tool the node acts with
    assert _scan(tmp_path / "harness.yaml")["build"]["human_gate_for_destructive_ops"] == "fail"


GRAPH_WITH_IMPORTED_HANDLER = """\
from langchain.chat_models import init_chat_model
from langgraph.graph import END, START, StateGraph
from inbox.tools import pick_tools
from inbox.people import review

tools = pick_tools(["send_reply", "read_calendar"])
caller = init_chat_model("openai:gpt-4.1").bind_tools(tools)


def call(state):
    return {"messages": [caller.invoke(state["messages"])]}


g = StateGraph(dict)
g.add_node("call", call)
g.add_node("review", review)
g.add_edge(START, "call")
g.add_edge("call", "review")
g.add_edge("review", END)
app = g.compile()
"""

PEOPLE = """\
from langgraph.types import interrupt


def review(state):
    for c in state["messages"][-1].tool_calls:
        if c["name"] in ("send_reply",):
            interrupt([c])
    return state
"""


def test_a_handler_imported_from_another_module_is_cited_in_its_own_file(
    tmp_path: Path,
) -> None:
    """The gate an imported handler's ``interrupt()`` gives carries that module's file and
    line, not the graph's (the note said graph.py for a line of people.py)."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "__init__.py").write_text("")
    (tmp_path / "inbox" / "people.py").write_text(PEOPLE)
    _draft(tmp_path, {"graph.py": GRAPH_WITH_IMPORTED_HANDLER})
    text = (tmp_path / "harness.yaml").read_text()
    gated = [x for x in text.splitlines() if "human_gate: {required: true}" in x]
    assert gated and all("people.py" in x and "graph.py" not in x for x in gated), gated
