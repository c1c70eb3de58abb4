"""Issue 24, item 1: fail closed on the unseen. A tool, agent, edge or gate list the source
computes at run time is drafted as an explicit unknown (an ``unknown`` tool assumed destructive
and ungated, a placeholder agent, a gate "not a gate until declared"), listed with its file and
line in ``x-import.notes`` and on screen; and the property: no agent of a draft that ``scan``
accepts has a check that passes or is ``n/a`` because of something the reader skipped.

The modules here are written in the shapes of public Agents SDK and CrewAI applications (tools
loaded from an MCP client, handoff lists built by a function, tool lists extended by
unpacking), in this project's own words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers import draft_manifest

runner = CliRunner()

GOOD = ("pass", "n/a")
"""Statuses a check may only have from what the source states."""


def _scan(manifest: Path) -> dict[str, dict[str, str]]:
    """agent id -> check -> status, of ``scan`` on the manifest (asserted to accept it)."""
    r = runner.invoke(app, ["scan", str(manifest), "--no-trails", "-f", "json"])
    assert r.exit_code in (0, 1), r.output
    doc = json.loads(r.stdout)
    return {
        a["id"]: {c: v["status"] for c, v in a["checks"].items()}
        for p in doc["pipelines"]
        for a in p["agents"]
    }


def _draft(tmp: Path, files: dict[str, str], fmt: str = "auto") -> tuple[dict[str, Any], list[str]]:
    tmp.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp / name).write_text(text)
    unseen: list[str] = []
    text = draft_manifest([tmp / n for n in files], fmt, None, unseen)
    (tmp / "harness.yaml").write_text(text)
    return yaml.safe_load(text), unseen


# -- the shapes of the issue ------------------------------------------------------------------

MCP_LOADED = """\
import asyncio
from agents import Agent, Runner
from agents.mcp import MCPServerStdio

async def main(client):
    github = MCPServerStdio(params={"command": "npx", "args": ["-y", "some-github-server"]})
    remote_tools = await client.get_tools()
    mailer = Agent(
        name="Mailer",
        instructions="Answer mail.",
        tools=remote_tools,
    )
    coder = Agent(
        name="Coder",
        instructions="Fix issues.",
        mcp_servers=[github],
    )
    lister = Agent(name="Lister", instructions="List.", tools=[t for t in picked()])
    await Runner.run(mailer, "hi")
"""


def test_tools_loaded_at_run_time_draft_an_unknown_destructive_tool(tmp_path: Path) -> None:
    doc, unseen = _draft(tmp_path, {"app.py": MCP_LOADED})
    agents = {a["id"]: a for a in doc["agents"]}
    for aid, line in (("Mailer", 11), ("Coder", 16), ("Lister", 18)):
        tools = {t["name"]: t for t in agents[aid]["tools"]}
        assert tools["unknown"]["effect"] == "destructive"
        assert tools["unknown"]["human_gate"] == {"required": False}
        assert any(u.startswith(f"{tmp_path / 'app.py'}:{line}:") for u in unseen), unseen
    text = (tmp_path / "harness.yaml").read_text()
    assert "# TODO: declare: tools loaded at run time at app.py:11 (tools=remote_tools)" in text
    notes = doc["x-import"]["notes"]
    assert sum(n.startswith("could not read: ") for n in notes) == len(unseen) == 3
    checks = _scan(tmp_path / "harness.yaml")
    for aid in ("Mailer", "Coder", "Lister"):
        assert checks[aid]["human_gate_for_destructive_ops"] == "fail"
        assert checks[aid]["independent_verification"] not in GOOD


def test_the_unseen_is_said_on_screen(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MCP_LOADED)
    r = runner.invoke(app, ["init", str(tmp_path / "app.py"), "-o", str(tmp_path / "h.yaml")])
    assert r.exit_code == 0, r.output
    assert "could not read 3 thing(s)" in r.stderr
    assert f"{tmp_path / 'app.py'}:11: agent 'Mailer': tools computed at run time" in r.stderr


HANDOFFS_BUILT = """\
from agents import Agent, handoff

def specialists():
    return [Agent(name=n) for n in ("a", "b")]

desk = Agent(name="Desk", instructions="Route.", handoffs=specialists())
helper = Agent(name="Helper", instructions="Help.", tools=[])
helper.handoffs.extend(more_handoffs())
"""


def test_agents_computed_at_run_time_are_a_placeholder_that_fails(tmp_path: Path) -> None:
    doc, unseen = _draft(tmp_path, {"desk.py": HANDOFFS_BUILT})
    agents = {a["id"]: a for a in doc["agents"]}
    assert agents["Desk"]["spawns"] == ["unknown_agents_desk_6"]
    assert agents["Helper"]["spawns"] == ["unknown_agents_desk_8"]
    ph = agents["unknown_agents_desk_6"]
    assert "model" not in ph and ph["tools"][0]["effect"] == "destructive"
    assert len(unseen) == 2 and all("placeholder agent" in u for u in unseen)
    checks = _scan(tmp_path / "harness.yaml")
    assert checks["unknown_agents_desk_6"]["human_gate_for_destructive_ops"] == "fail"


# -- the property -----------------------------------------------------------------------------

TOOL_FORMS = {
    # form -> (stated source, unseen?)
    "none": ("", False),
    "read": ("tools=[WebSearchTool()],", False),
    "named_read": ("tools=READ_TOOLS,", False),
    "call": ("tools=load_tools(),", True),
    "comprehension": ("tools=[t for t in registry],", True),
    "unpacked": ("tools=[WebSearchTool(), *extra_tools],", True),
    "sum": ("tools=READ_TOOLS + plugin_tools(),", True),
    "mcp": ("mcp_servers=[server],", True),
}
HANDOFF_FORMS = {
    "none": ("", False),
    "stated": ("handoffs=[{prev}],", False),
    "call": ("handoffs=route_to(),", True),
}
REVEALED_TOOLS = "tools=[WebSearchTool(), DeleteFileTool()],"
REVEALED_HANDOFF = "handoffs=[hidden],"
HIDDEN = 'hidden = Agent(name="Hidden", tools=[DeleteFileTool()])\n'


def _module(plan: list[tuple[str, str]], reveal: bool) -> str:
    lines = [
        "from agents import Agent, Runner, WebSearchTool",
        "READ_TOOLS = [WebSearchTool()]",
        HIDDEN if reveal else "",
    ]
    for i, (tf, hf) in enumerate(plan):
        tsrc, tunseen = TOOL_FORMS[tf]
        hsrc, hunseen = HANDOFF_FORMS[hf]
        if reveal and tunseen:
            tsrc = REVEALED_TOOLS
        if reveal and hunseen:
            hsrc = REVEALED_HANDOFF
        hsrc = hsrc.format(prev=f"agent_{i - 1}" if i else "READ_TOOLS[0]")
        if hf == "stated" and not i:
            hsrc = ""
        lines.append(f'agent_{i} = Agent(name="A{i}", instructions="Work.", {tsrc} {hsrc})')
    return "\n".join(lines) + "\n"


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(TOOL_FORMS)), st.sampled_from(sorted(HANDOFF_FORMS))),
        min_size=1,
        max_size=3,
    )
)
def test_no_check_passes_or_is_na_because_the_reader_skipped_something(
    tmp_path: Path, plan: list[tuple[str, str]]
) -> None:
    """Draft the module as written (run-time lists) and as revealed (each run-time list
    replaced by what it might hold: a destructive tool, a handoff to an agent holding one):
    an agent's check that fails on the revealed draft never passes nor is n/a on the drafted
    one, and every run-time list is named with its line."""
    n = len(list(tmp_path.glob("case*")))
    seen_dir, shown_dir = tmp_path / f"case{n}", tmp_path / f"case{n}r"
    _, unseen = _draft(seen_dir, {"m.py": _module(plan, reveal=False)})
    _draft(shown_dir, {"m.py": _module(plan, reveal=True)})
    drafted = _scan(seen_dir / "harness.yaml")
    revealed = _scan(shown_dir / "harness.yaml")
    expected_unseen = sum(TOOL_FORMS[t][1] for t, _ in plan) + sum(
        HANDOFF_FORMS[h][1] for _, h in plan
    )
    assert len(unseen) >= expected_unseen, unseen
    for aid, checks in revealed.items():
        if aid not in drafted:
            continue
        for check, status in checks.items():
            if status not in GOOD:
                assert drafted[aid][check] not in GOOD, (aid, check, plan)


GRAPH = """\
from langchain_openai import ChatOpenAI
from langgraph.graph import StateGraph, END
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph_supervisor import create_supervisor

llm = ChatOpenAI(model="gpt-4o")
bound = llm.bind_tools(registry.load())


def think(state):
    return {"messages": [bound.invoke(state["messages"])]}


async def make_mail_agent(client):
    mail_tools = await client.get_tools()
    agent = create_react_agent(llm, mail_tools, name="mail")
    return agent


team = create_supervisor(agents=build_agents(), model=llm, supervisor_name="boss")

g = StateGraph(dict)
g.add_node("think", think)
g.add_node("act", ToolNode(TOOLS_FROM_CONFIG))
g.add_edge("think", "act")
app = g.compile(interrupt_before=gates)
"""


def test_langgraph_run_time_lists(tmp_path: Path) -> None:
    """The issue's shapes: ``tools=await client.get_tools()``, ``create_supervisor(agents=
    build_agents())``, ``compile(interrupt_before=gates)``, ``bind_tools(registry.load())``."""
    doc, unseen = _draft(tmp_path, {"graph.py": GRAPH}, "langgraph")
    agents = {a["id"]: a for a in doc["agents"]}
    for aid in ("mail", "think", "act"):
        assert [t["name"] for t in agents[aid]["tools"]] == ["unknown"], agents[aid]
    assert agents["boss"]["spawns"] == ["unknown_agents_graph_20"]
    text = (tmp_path / "harness.yaml").read_text()
    assert "tools loaded at run time at graph.py:16 (tools=mail_tools)" in text
    assert "tools loaded at run time at graph.py:7 (tools=registry.load())" in text
    assert "gate decided at run time at graph.py:26 (interrupt_before=gates)" in text
    assert any(
        u.endswith("gates decided at run time (interrupt_before=gates); not a gate until declared")
        for u in unseen
    ), unseen
    checks = _scan(tmp_path / "harness.yaml")
    for aid in ("mail", "think", "act", "unknown_agents_graph_20"):
        assert checks[aid]["human_gate_for_destructive_ops"] == "fail", aid


CREW_TOOL_FORMS = {
    "none": ("", False),
    "read": ("tools=[SerperDevTool()],", False),
    "class_attr": ("tools=self.read_tools,", False),
    "call": ("tools=load_tools(),", True),
    "comprehension": ("tools=[t for t in registry],", True),
    "unpacked": ("tools=[SerperDevTool(), *self.remote],", True),
    "sum": ("tools=READ + plugin_tools(),", True),
}


def _crew(plan: list[str], reveal: bool) -> str:
    lines = [
        "from crewai import Agent, Crew, Task",
        "from crewai.project import CrewBase, agent",
        "from crewai_tools import SerperDevTool",
        "READ = [SerperDevTool()]",
        "",
        "@CrewBase",
        "class Team:",
        "    read_tools = [SerperDevTool()]",
        "",
    ]
    for i, form in enumerate(plan):
        src, unseen = CREW_TOOL_FORMS[form]
        if reveal and unseen:
            src = "tools=[SerperDevTool(), NL2SQLTool()],"
        lines += [
            "    @agent",
            f"    def a{i}(self) -> Agent:",
            f'        return Agent(role="R{i}", goal="g", backstory="b", {src})',
            "",
        ]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(sorted(CREW_TOOL_FORMS)), min_size=1, max_size=3))
def test_crewai_no_check_passes_because_the_reader_skipped_something(
    tmp_path: Path, plan: list[str]
) -> None:
    """The same property for CrewAI crews (tool lists from the class, calls, unpacking)."""
    n = len(list(tmp_path.glob("crew*")))
    seen_dir, shown_dir = tmp_path / f"crew{n}", tmp_path / f"crew{n}r"
    _, unseen = _draft(seen_dir, {"crew.py": _crew(plan, reveal=False)})
    _draft(shown_dir, {"crew.py": _crew(plan, reveal=True)})
    drafted = _scan(seen_dir / "harness.yaml")
    revealed = _scan(shown_dir / "harness.yaml")
    assert len(unseen) >= sum(CREW_TOOL_FORMS[f][1] for f in plan), unseen
    for aid, checks in revealed.items():
        for check, status in checks.items():
            if status not in GOOD and aid in drafted:
                assert drafted[aid][check] not in GOOD, (aid, check, plan)
