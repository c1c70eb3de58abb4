"""Issue 24: the OpenAI Agents SDK reader on the SDK's own customer-service example
(``../shared/real/set2``) and on modules written in the shapes of public Agents SDK apps (an
airline demo split into agents and tools modules; this project's own text): ``Agent[Context](…)``,
handoffs assigned after construction (``x.handoffs = […]``, ``.append``, ``.extend``,
``handoff(agent=…)``), agents used as tools, ``from agents.decorators import tool``,
``needs_approval`` gates and ``max_turns`` as a loop bound with its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app

from .conftest import SHARED

runner = CliRunner()
CS = SHARED / "real" / "set2" / "openai-agents-sdk" / "customer_service"


def _draft(tmp: Path, *paths: Path) -> tuple[dict[str, dict[str, Any]], str]:
    out = tmp / "harness.yaml"
    r = runner.invoke(app, ["init", *map(str, paths), "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output
    s = runner.invoke(app, ["scan", str(out), "--no-trails"])
    assert s.exit_code == 1, s.output  # a draft fails closed
    text = out.read_text()
    return {a["id"]: a for a in yaml.safe_load(text)["agents"]}, text


def _tools(a: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {t["name"]: (t["effect"], t["human_gate"]["required"]) for t in a.get("tools") or []}


@pytest.mark.skipif(not CS.is_dir(), reason="../shared/real/set2 is absent")
def test_sdk_customer_service_example_drafts_every_agent_tool_and_handoff(tmp_path: Path) -> None:
    # read in main.py: three Agent[AirlineAgentContext](...) (lines 94, 107, 121); the tools
    # faq_lookup_tool (@tool(name_override=...)) and update_seat (@tool); triage hands off to
    # both with handoff(agent=...) (129-134); both hand back with .handoffs.append (138-143)
    agents, text = _draft(tmp_path, CS)
    assert set(agents) == {"FAQ_Agent", "Seat_Booking_Agent", "Triage_Agent"}
    assert _tools(agents["FAQ_Agent"]) == {"faq_lookup_tool": ("destructive", False)}
    assert _tools(agents["Seat_Booking_Agent"]) == {"update_seat": ("destructive", False)}
    assert "tools" not in agents["Triage_Agent"]
    assert agents["Triage_Agent"]["spawns"] == ["FAQ_Agent", "Seat_Booking_Agent"]
    assert agents["FAQ_Agent"]["spawns"] == ["Triage_Agent"]
    assert agents["Seat_Booking_Agent"]["spawns"] == ["Triage_Agent"]
    assert '- "Triage_Agent"  # from main.py:139' in text
    assert "model" not in agents["Triage_Agent"]  # the SDK's default: not stated


AIRLINE_TOOLS = """\
from agents import RunContextWrapper, function_tool

@function_tool(name_override="lookup_faq", description_override="Answers common questions.")
async def faq(question: str) -> str:
    return "..."

@function_tool
async def change_seat(ctx: RunContextWrapper, seat: str) -> str:
    return seat

@function_tool(needs_approval=True)
async def cancel_booking(ctx: RunContextWrapper, ref: str) -> str:
    return ref

@function_tool(needs_approval=lambda ctx, params, call_id: params["amount"] > 100)
async def refund(ctx: RunContextWrapper, amount: int) -> str:
    return "ok"
"""

AIRLINE_AGENTS = """\
from agents import Agent, Runner, handoff
from .tools import faq, change_seat, cancel_booking, refund
from .guards import tone_guard

MODEL = "gpt-4.1-mini"


def on_seat_handoff(ctx):
    ctx.context.flight = "FLT-1"


seats = Agent[TravelContext](
    name="Seats",
    model=MODEL,
    instructions="You change seats.",
    tools=[change_seat],
)
bookings = Agent[TravelContext](
    name="Bookings",
    model=MODEL,
    instructions="You cancel bookings.",
    tools=[cancel_booking, refund],
)
answers = Agent[TravelContext](name="Answers", model=MODEL, instructions="FAQ.", tools=[faq])
front = Agent[TravelContext](
    name="Front Desk",
    model=MODEL,
    instructions="Route the traveller.",
    handoffs=[],
    tools=[
        answers.as_tool(tool_name="ask_answers", tool_description="Ask the FAQ agent."),
    ],
)

front.handoffs = [
    handoff(agent=seats, on_handoff=on_seat_handoff),
    bookings,
]
answers.handoffs.append(front)
seats.handoffs.extend([bookings, front])
bookings.handoffs.extend(extra_routes())


async def serve(text):
    return await Runner.run(front, text, max_turns=12)
"""


def test_airline_demo_shape(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text(AIRLINE_TOOLS)
    (tmp_path / "agents.py").write_text(AIRLINE_AGENTS)
    agents, text = _draft(tmp_path, tmp_path)
    assert set(agents) == {
        "Seats",
        "Bookings",
        "Answers",
        "Front_Desk",
        "unknown_agents_agents_41",
    }
    for a in ("Seats", "Bookings", "Answers", "Front_Desk"):
        assert agents[a]["model"]["name"] == "gpt-4.1-mini"
    assert agents["Front_Desk"]["spawns"] == ["Answers", "Seats", "Bookings"]
    assert agents["Answers"]["spawns"] == ["Front_Desk"]
    assert agents["Seats"]["spawns"] == ["Bookings", "Front_Desk"]
    assert agents["Bookings"]["spawns"] == ["unknown_agents_agents_41"]  # extend(extra_routes())
    assert _tools(agents["Front_Desk"]) == {"ask_answers": ("destructive", False)}
    assert _tools(agents["Bookings"]) == {
        "cancel_booking": ("destructive", True),
        "refund": ("destructive", False),
    }
    assert "needs_approval=True" in text
    assert "needs_approval is a callable: a conditional gate decided at run time" in text
    # max_turns=12 of the run that starts at Front Desk bounds every agent it reaches
    for a in ("Front_Desk", "Seats", "Bookings", "Answers"):
        assert agents[a]["max_iterations"] == 12
    assert "# from agents.py:45; max_turns of the run that starts at 'Front_Desk'" in text
    assert "not its cost" in text


DECORATORS_ONLY = """\
from agents import Agent
from agents.decorators import tool

@tool
def lookup(q: str) -> str:
    return q

helper = Agent[None](name="Helper", tools=[lookup])
"""


def test_detected_through_agents_decorators_and_subscripted_agent(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(DECORATORS_ONLY)
    agents, _ = _draft(tmp_path, tmp_path / "helper.py")
    assert _tools(agents["Helper"]) == {"lookup": ("destructive", False)}


def test_agents_and_tools_imported_under_another_name(tmp_path: Path) -> None:
    """``from pkg.helpers import helper as assistant`` then ``handoffs=[assistant]``, and a
    function tool imported as ``lookup as find``: the agent and the tool of the file read, not
    an agent "from a file not given" nor a tool named ``find``; an alias of a name from a file
    not given still fails closed."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text(
        "from agents import Agent, function_tool\n\n"
        "@function_tool(needs_approval=True)\n"
        "def lookup(q: str) -> str:\n"
        '    """Look it up."""\n'
        "    return q\n\n"
        'helper = Agent(name="Helper", model="gpt-4.1", tools=[lookup])\n'
    )
    (pkg / "main.py").write_text(
        "from agents import Agent\n"
        "from pkg.helpers import helper as assistant, lookup as find\n"
        "from elsewhere import other_agent as outsider\n\n"
        'triage = Agent(name="Triage", model="gpt-4.1-mini", tools=[find],\n'
        "               handoffs=[assistant, outsider])\n"
    )
    ag, text = _draft(tmp_path, pkg)
    assert _tools(ag["Triage"]) == {"lookup": ("destructive", True)}
    assert ag["Triage"]["spawns"][0] == "Helper"
    (unseen,) = [a for a in ag if a.startswith("unknown_agents")]
    assert ag["Triage"]["spawns"] == ["Helper", unseen]
    assert "outsider is imported at main.py:3 from a file not given" in text
    assert "assistant is imported" not in text


def test_a_model_object_built_from_a_parameter_is_unknown_with_its_line(tmp_path: Path) -> None:
    """``model=LitellmModel(model=model, …)`` inside ``main(model)``: the model is chosen at
    run time. No model is drafted (never the parameter's name) and the TODO names the line
    and what the source holds there, so the reviewer knows where to look."""
    src = tmp_path / "run.py"
    src.write_text(
        "from agents import Agent, Runner\n"
        "from agents.extensions.models.litellm_model import LitellmModel\n\n\n"
        "async def main(model: str, key: str) -> None:\n"
        "    agent = Agent(\n"
        '        name="Helper",\n'
        "        model=LitellmModel(model=model, api_key=key),\n"
        "    )\n"
        '    await Runner.run(agent, "hi")\n'
    )
    ag, text = _draft(tmp_path, src)
    assert "model" not in ag["Helper"]
    assert (
        "# TODO: declare model: set at run time at run.py:8 "
        "(LitellmModel(...) without a literal model)" in text
    )


def test_a_tool_instance_with_needs_approval_in_the_list_is_gated(tmp_path: Path) -> None:
    """``tools=[ShellTool(executor=…, needs_approval=True)]``: the approval is stated on the
    instance written in the list, so the tool is gated with that line; a callable there is a
    conditional gate (not required, said)."""
    src = tmp_path / "shell.py"
    src.write_text(
        "from agents import Agent, ShellTool\n\n"
        "def ask(ctx, params, call_id):\n    return True\n\n"
        'agent = Agent(name="Ops", model="gpt-4.1", tools=[\n'
        "    ShellTool(executor=None, needs_approval=True),\n"
        "])\n"
        'other = Agent(name="Ops2", model="gpt-4.1", tools=[ShellTool(needs_approval=ask)])\n'
    )
    ag, text = _draft(tmp_path, src)
    assert _tools(ag["Ops"]) == {"ShellTool": ("destructive", True)}
    assert _tools(ag["Ops2"]) == {"ShellTool": ("destructive", False)}
    assert "needs_approval is a callable" in text
