"""Issue 24, CrewAI: a model set as a class attribute (``llm = LLM(model=…)`` then
``llm=self.llm``) is stated; a YAML-only agent no code builds is not drafted as an agent (a
note says so); the crew is not named after its ``config`` folder; tools computed at run time are
an explicit unknown; ``max_execution_time`` is noted as a time bound. On the real
gmail-automation crew (``../shared/real/set2``) and on a crew written in the shape of the
public crewAI-examples projects (``src/<crew>/config/*.yaml`` beside ``crew.py``; this project's
own text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app

from .conftest import SHARED

runner = CliRunner()
GMAIL = SHARED / "real" / "set2" / "crewai" / "gmail-automation"


def _draft(tmp: Path, *paths: Path) -> tuple[dict[str, Any], str]:
    out = tmp / "harness.yaml"
    r = runner.invoke(app, ["init", *map(str, paths), "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output
    s = runner.invoke(app, ["scan", str(out), "--no-trails"])
    assert s.exit_code == 1, s.output
    text = out.read_text()
    return yaml.safe_load(text), text


@pytest.mark.skipif(not GMAIL.is_dir(), reason="../shared/real/set2 is absent")
def test_gmail_crew_models_from_the_class_attribute(tmp_path: Path) -> None:
    # crew.py:63 `llm = LLM(model="openai/gpt-4o-mini", ...)` on the class; every @agent
    # passes llm=self.llm. agents.yaml:70 `trash_cleaner` has no @agent method nor task.
    doc, text = _draft(tmp_path, GMAIL)
    agents = {a["id"]: a for a in doc["agents"]}
    assert set(agents) == {"categorizer", "organizer", "response_generator", "notifier", "cleaner"}
    for a in agents.values():
        assert a["model"]["name"] == "openai/gpt-4o-mini"
    assert 'name: "openai/gpt-4o-mini"}  # from crew.py:63' in text
    assert any("'trash_cleaner'" in n and "not drafted" in n for n in doc["x-import"]["notes"])


AGENTS = """\
scout:
  role: Market scout
  goal: Find leads
  backstory: Curious.
closer:
  role: Deal closer
  goal: Close deals
  backstory: Persuasive.
  max_execution_time: 300
archivist:
  role: Archivist
  goal: Keep records
  backstory: Tidy.
"""
TASKS = """\
find_leads:
  description: Find leads.
  expected_output: A list.
  agent: scout
close_deals:
  description: Close them.
  expected_output: Contracts.
  agent: closer
  human_input: true
"""
CREW = """\
from crewai import Agent, Crew, LLM, Process, Task
from crewai.project import CrewBase, agent, crew, task
from crewai_tools import SerperDevTool

@CrewBase
class LeadCrew:
    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"
    llm = LLM(model="anthropic/claude-3-5-sonnet-20241022")

    def __init__(self, mcp):
        self.remote = mcp.tools

    @agent
    def scout(self) -> Agent:
        return Agent(config=self.agents_config["scout"], llm=self.llm, tools=[SerperDevTool()],
                     max_iter=5)

    @agent
    def closer(self) -> Agent:
        return Agent(config=self.agents_config["closer"], llm=self.llm,
                     tools=[SerperDevTool(), *self.remote], allow_delegation=True)

    @task
    def find_leads(self) -> Task:
        return Task(config=self.tasks_config["find_leads"])

    @task
    def close_deals(self) -> Task:
        return Task(config=self.tasks_config["close_deals"])

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
"""


def test_crew_in_the_examples_layout(tmp_path: Path) -> None:
    root = tmp_path / "lead_gen" / "src" / "lead_gen"
    (root / "config").mkdir(parents=True)
    (root / "config" / "agents.yaml").write_text(AGENTS)
    (root / "config" / "tasks.yaml").write_text(TASKS)
    (root / "crew.py").write_text(CREW)
    doc, text = _draft(tmp_path, root / "config", root / "crew.py")
    assert doc["metadata"]["name"] == "lead_gen"  # not "config"
    agents = {a["id"]: a for a in doc["agents"]}
    assert set(agents) == {"scout", "closer", "human_review_closer"}
    for a in ("scout", "closer"):
        assert agents[a]["model"]["name"] == "anthropic/claude-3-5-sonnet-20241022"
    assert agents["scout"]["max_iterations"] == 5
    assert agents["closer"]["spawns"] == ["scout"]  # allow_delegation (Delegate work to coworker)
    assert agents["human_review_closer"]["verifies"] == ["closer"]  # human_input: true
    tools = {t["name"]: t for t in agents["closer"]["tools"]}
    assert tools["unknown"]["effect"] == "destructive"  # *self.remote: loaded at run time
    assert "tools loaded at run time at crew.py:22 (tools=self.remote)" in text
    assert "max_execution_time=300s at agents.yaml:9" in text
    assert any("'archivist'" in n and "not drafted" in n for n in doc["x-import"]["notes"])


def test_agent_method_named_apart_from_its_yaml_entry_is_one_agent(tmp_path: Path) -> None:
    """crewAI-examples' stock analysis shape: ``def research_agent(self)`` builds its agent from
    ``agents_config["researcher"]``; the YAML entry is its configuration, not a second agent."""
    (tmp_path / "agents.yaml").write_text(
        "researcher:\n  role: Staff researcher\n  goal: Research\n  backstory: Keen.\n"
        "  max_iter: 4\n"
    )
    (tmp_path / "tasks.yaml").write_text(
        "dig:\n  description: Dig.\n  expected_output: Notes.\n  agent: researcher\n"
    )
    (tmp_path / "crew.py").write_text(
        "from crewai import Agent, Crew, Task\n"
        "from crewai.project import CrewBase, agent, crew, task\n\n"
        "@CrewBase\nclass C:\n"
        "    @agent\n"
        "    def research_agent(self) -> Agent:\n"
        '        return Agent(config=self.agents_config["researcher"], llm="gpt-4o")\n'
    )
    doc, _ = _draft(tmp_path, tmp_path)
    agents = {a["id"]: a for a in doc["agents"]}
    assert set(agents) == {"research_agent"}
    assert agents["research_agent"]["role"] == "Staff researcher"
    assert agents["research_agent"]["max_iterations"] == 4
    assert any("'researcher'" in n and "not a second one" in n for n in doc["x-import"]["notes"])
