"""Issue 24, item 4: the property of ``tests/test_init_unseen.py`` (no agent of a draft that
``scan`` accepts has a check that passes or is ``n/a`` because of something the reader skipped)
on the inputs the issue-24 gaps added: ADK Python modules (tools and sub-agents computed at run
time, imported from files not given, chosen by a conditional), A2A cards with an authenticated
extended card, and CrewAI YAML without its crew module."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_init_unseen import GOOD, _draft, _scan

ADK_TOOLS = {
    "none": ("", False),
    "stated": ("tools=[google_search],", False),
    "call": ("tools=load_tools(),", True),
    "imported": ("tools=[helpers.wipe],", False),  # a name: its effect unknown, destructive
    "choice": ("tools=[(google_search if FAST else other_tool)],", False),
    "unpacked": ("tools=[google_search, *extra],", True),
}
ADK_SUBS = {
    "none": ("", False),
    "stated": ("sub_agents=[{prev}],", False),
    "imported": ("sub_agents=[far_agent],", True),
    "computed": ("sub_agents=make_team(),", True),
}
REVEALED_TOOLS = "tools=[google_search, wipe_everything],"
REVEALED_SUBS = "sub_agents=[hidden],"
HIDDEN = 'hidden = Agent(name="hidden", model="gemini-2.0-flash", tools=[wipe_everything])\n'


def _adk(plan: list[tuple[str, str]], reveal: bool) -> str:
    lines = [
        "from google.adk.agents import Agent",
        "from google.adk.tools import google_search",
        "from elsewhere.team import far_agent",
        HIDDEN if reveal else "",
    ]
    for i, (tf, sf) in enumerate(plan):
        tsrc, tunseen = ADK_TOOLS[tf]
        ssrc, sunseen = ADK_SUBS[sf]
        if reveal and tunseen:
            tsrc = REVEALED_TOOLS
        if reveal and sunseen:
            ssrc = REVEALED_SUBS
        if sf == "stated":
            ssrc = ssrc.format(prev=f"a{i - 1}") if i else ""
        lines.append(f'a{i} = Agent(name="a{i}", model="gemini-2.0-flash", {tsrc} {ssrc})')
    return "\n".join(lines) + "\n"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(ADK_TOOLS)), st.sampled_from(sorted(ADK_SUBS))),
        min_size=1,
        max_size=3,
    )
)
def test_adk_python_no_check_passes_because_the_reader_skipped_something(
    tmp_path: Path, plan: list[tuple[str, str]]
) -> None:
    n = len(list(tmp_path.glob("adk*")))
    seen_dir, shown_dir = tmp_path / f"adk{n}", tmp_path / f"adk{n}r"
    _, unseen = _draft(seen_dir, {"agent.py": _adk(plan, reveal=False)}, "adk")
    _draft(shown_dir, {"agent.py": _adk(plan, reveal=True)}, "adk")
    drafted = _scan(seen_dir / "harness.yaml")
    revealed = _scan(shown_dir / "harness.yaml")
    assert len(unseen) >= sum(ADK_TOOLS[t][1] for t, _ in plan) + sum(
        ADK_SUBS[s][1] for _, s in plan
    ), unseen
    for aid, checks in revealed.items():
        if aid not in drafted:
            continue
        for check, status in checks.items():
            if status not in GOOD:
                assert drafted[aid][check] not in GOOD, (aid, check, plan)


def _card(extended: bool, skills: list[str]) -> str:
    card = {
        "name": "Desk",
        "supportedInterfaces": [{"url": "https://desk.example.invalid", "protocolVersion": "1.0"}],
        "capabilities": {"extendedAgentCard": extended},
        "skills": [{"id": s, "name": s} for s in skills],
    }
    return json.dumps(card, indent=2)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.booleans(), st.lists(st.sampled_from(["lookup", "status"]), max_size=2, unique=True))
def test_a2a_extended_card_never_hides_a_destructive_skill(
    tmp_path: Path, extended: bool, skills: list[str]
) -> None:
    """The public card's skills, and (revealed) the extended card's destructive one: the
    drafted card's checks are never better than the revealed card's."""
    n = len(list(tmp_path.glob("a2a*")))
    seen_dir, shown_dir = tmp_path / f"a2a{n}", tmp_path / f"a2a{n}r"
    _draft(seen_dir, {"agent-card.json": _card(extended, skills)}, "a2a")
    shown = [*skills, "purge_all"] if extended else skills
    _draft(shown_dir, {"agent-card.json": _card(False, shown)}, "a2a")
    drafted = _scan(seen_dir / "harness.yaml")
    revealed = _scan(shown_dir / "harness.yaml")
    for check, status in revealed["Desk"].items():
        if status not in GOOD:
            assert drafted["Desk"][check] not in GOOD, (check, extended, skills)


AGENTS = (
    "lead:\n  role: Lead\n  goal: g\n  backstory: b\n"
    "helper:\n  role: Helper\n  goal: g\n  backstory: b\n"
)
TASKS = "work:\n  description: d\n  expected_output: o\n  agent: lead\n"
CREW = """from crewai import Agent, Crew, Task
from crewai.project import CrewBase, agent, crew, task
from crewai_tools import NL2SQLTool


@CrewBase
class Team:
    @agent
    def lead(self) -> Agent:
        return Agent(config=self.agents_config["lead"], tools=[NL2SQLTool()], allow_delegation=True)

    @agent
    def helper(self) -> Agent:
        return Agent(config=self.agents_config["helper"], tools=[NL2SQLTool()])
"""


def test_crewai_yaml_without_its_crew_module(tmp_path: Path) -> None:
    """YAML alone, then with a crew module that holds a destructive tool and delegation:
    nothing the YAML-only draft says passes or is n/a where the crew module's draft fails."""
    _draft(tmp_path / "yaml", {"agents.yaml": AGENTS, "tasks.yaml": TASKS}, "crewai")
    _draft(tmp_path / "code", {"agents.yaml": AGENTS, "tasks.yaml": TASKS, "crew.py": CREW})
    drafted = _scan(tmp_path / "yaml" / "harness.yaml")
    revealed = _scan(tmp_path / "code" / "harness.yaml")
    for aid, checks in revealed.items():
        for check, status in checks.items():
            if status not in GOOD:
                assert drafted[aid][check] not in GOOD, (aid, check)
