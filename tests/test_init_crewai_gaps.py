"""Issue 24, item 3's CrewAI gaps, on the real game-builder crew's YAML (``../shared/real``)
with a crew module written in the shape of crewAI-examples' ``crew.py`` (our own text):

- ``Task(human_input=True)``: CrewAI asks a person for feedback on the task's final answer,
  after the agent's tools ran, so it is no gate before a destructive tool
  (``human_gate_for_destructive_ops``); it stays a reviewer, and the draft says so with its line;
- ``allow_delegation`` ("Delegate work to coworker") gives spawn edges only: the delegating agent
  may reach every coworker, including agents the crew computes at run time, and a delegation
  flag computed at run time is drafted as delegating (fail closed);
- YAML without its crew module: tools and delegation are unseen, never an agent whose checks
  are n/a for want of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers import draft_manifest

from .conftest import SHARED
from .test_init_h24_langgraph import SIGNER

GAME = SHARED / "real" / "crewai" / "game_builder_crew"
pytestmark = pytest.mark.skipif(not GAME.is_dir(), reason="../shared/real is absent")
runner = CliRunner()

CREW = """from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task
from .publish import PublishGameTool

from .settings import options


@CrewBase
class GameCrew:
    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    @agent
    def senior_engineer_agent(self) -> Agent:
        return Agent(config=self.agents_config["senior_engineer_agent"], allow_delegation=False)

    @agent
    def qa_engineer_agent(self) -> Agent:
        return Agent(config=self.agents_config["qa_engineer_agent"], allow_delegation=DELEGATE)

    @agent
    def chief_qa_engineer_agent(self) -> Agent:
        return Agent(
            config=self.agents_config["chief_qa_engineer_agent"],
            allow_delegation=True,
            tools=[PublishGameTool()],
        )

    @task
    def code_task(self) -> Task:
        return Task(config=self.tasks_config["code_task"], agent=self.senior_engineer_agent())

    @task
    def review_task(self) -> Task:
        return Task(config=self.tasks_config["review_task"], agent=self.qa_engineer_agent())

    @task
    def evaluate_task(self) -> Task:
        return Task(
            config=self.tasks_config["evaluate_task"],
            agent=self.chief_qa_engineer_agent(),
            human_input=True,
        )

    @crew
    def crew(self) -> Crew:
        return Crew(
            agents=self.agents + options.extra_agents(),
            tasks=self.tasks,
            process=Process.sequential,
        )
"""


def _scan(manifest: Path) -> dict[str, dict[str, str]]:
    r = runner.invoke(app, ["scan", str(manifest), "--no-trails", "-f", "json"])
    assert r.exit_code in (0, 1), r.output
    return {
        a["id"]: {c: v["status"] for c, v in a["checks"].items()}
        for p in json.loads(r.stdout)["pipelines"]
        for a in p["agents"]
    }


def _draft(tmp: Path, *paths: Path) -> tuple[dict[str, Any], str, Path]:
    """The draft of ``paths``, written, then ``report`` -> ``report verify`` on it."""
    text = draft_manifest(list(paths), "crewai")
    out = tmp / "harness.yaml"
    out.write_text(text)
    key, pub = tmp / "k.key", tmp / "k.pub"
    key.write_text(SIGNER.text() + "\n")
    pub.write_text(SIGNER.verifier.text() + "\n")
    pack = tmp / "pack"
    rep = runner.invoke(
        app, ["report", str(out), "-o", str(pack), "--no-pdf", "--sign-key", str(key)]
    )
    assert rep.exit_code == 1, rep.output  # a draft fails closed
    v = runner.invoke(app, ["report", "verify", str(pack), "--key", str(pub)])
    assert v.exit_code == 0, v.output
    return yaml.safe_load(text), text, out


def test_human_input_delegation_and_computed_coworkers(tmp_path: Path) -> None:
    (tmp_path / "crew.py").write_text(CREW)
    doc, text, out = _draft(
        tmp_path, GAME / "agents.yaml", GAME / "tasks.yaml", tmp_path / "crew.py"
    )
    ag = {a["id"]: a for a in doc["agents"]}
    (ph,) = [i for i in ag if i.startswith("unknown_agents_crew_")]
    coworkers = {"senior_engineer_agent", "qa_engineer_agent", "chief_qa_engineer_agent", ph}
    assert set(ag) == coworkers | {"human_review_chief_qa_engineer_agent"}
    # "Delegate work to coworker": every coworker, the ones computed at run time too
    assert set(ag["chief_qa_engineer_agent"]["spawns"]) == coworkers - {"chief_qa_engineer_agent"}
    # allow_delegation=DELEGATE is decided at run time: delegating until declared
    assert set(ag["qa_engineer_agent"]["spawns"]) == coworkers - {"qa_engineer_agent"}
    assert "spawns" not in ag["senior_engineer_agent"]  # allow_delegation=False, stated
    assert ag["qa_engineer_agent"]["depends_on"] == ["senior_engineer_agent"]
    assert ag["chief_qa_engineer_agent"]["depends_on"] == ["qa_engineer_agent"]
    # human_input: a reviewer of the final answer, not a gate before the file write
    assert ag["human_review_chief_qa_engineer_agent"]["verifies"] == ["chief_qa_engineer_agent"]
    (tool,) = ag["chief_qa_engineer_agent"]["tools"]
    assert tool["name"] == "PublishGameTool" and tool["human_gate"]["required"] is False
    line = next(x for x in text.splitlines() if "human_gate" in x and "human_input" in x)
    assert "Task human_input=True at crew.py:39" in line and "not a gate" in line
    assert "allow_delegation=DELEGATE is decided at run time (crew.py:19)" in text
    checks = _scan(out)
    assert checks["chief_qa_engineer_agent"]["human_gate_for_destructive_ops"] == "fail"
    assert checks[ph]["human_gate_for_destructive_ops"] == "fail"


def test_yaml_without_its_crew_module_fails_closed(tmp_path: Path) -> None:
    """The real game-builder YAML alone: no agent's human-gate or spawn check may pass or be
    n/a for want of the crew module."""
    doc, text, out = _draft(tmp_path, GAME)
    checks = _scan(out)
    for a in doc["agents"]:
        assert checks[a["id"]]["human_gate_for_destructive_ops"] == "fail", a["id"]
        assert len(a["spawns"]) == 2
    assert "allow_delegation is set in crew.py, which was not given" in text


MAIL_AGENTS = (
    "cleaner:\n  role: Cleaner\n  goal: Tidy the inbox\n  backstory: Neat.\n"
    "notifier:\n  role: Notifier\n  goal: Tell the team\n  backstory: Loud.\n"
)
MAIL_TASKS = (
    "cleanup_task:\n  description: Delete spam.\n  expected_output: A list.\n  agent: cleaner\n"
    "notify_task:\n  description: Post a summary.\n  expected_output: Done.\n  agent: notifier\n"
    "  context: [cleanup_task]\n"
)
MAIL_CREW = """from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task

from mail_crew.tools.gmail_tools import GmailDeleteTool
from mail_crew.tools.slack_tool import SlackNotificationTool


@CrewBase
class MailCrew:
    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    @agent
    def cleaner(self) -> Agent:
        return Agent(config=self.agents_config["cleaner"], tools=[GmailDeleteTool()])

    @agent
    def notifier(self) -> Agent:
        return Agent(config=self.agents_config["notifier"], tools=[SlackNotificationTool()])
"""
GMAIL_TOOLS = """import imaplib

from crewai.tools import BaseTool


class GmailDeleteTool(BaseTool):
    name: str = "delete_email"
    description: str = "Deletes an email for good"

    def _run(self, uid: str) -> str:
        box = imaplib.IMAP4_SSL("imap.gmail.com")
        box.store(uid, "+FLAGS", "\\\\Deleted")
        box.expunge()
        return "deleted"
"""
SLACK_TOOL = """from slack_sdk import WebClient

from crewai.tools import BaseTool


class SlackNotificationTool(BaseTool):
    name: str = "slack_notification"
    description: str = "Posts to a channel"

    def _run(self, text: str) -> str:
        WebClient(token="x").chat_postMessage(channel="#mail", text=text)
        return "posted"
"""


def test_tool_classes_imported_from_the_crews_tools_package(tmp_path: Path) -> None:
    """The gmail-automation layout (``src/<pkg>/crew.py``, ``config/``, ``tools/``): tool
    classes imported by the package's absolute name are followed to their ``_run`` and their
    effect proposed (IMAP EXPUNGE destructive, ``chat_postMessage`` external), the drafted
    effect staying destructive until declared."""
    pkg = tmp_path / "src" / "mail_crew"
    (pkg / "config").mkdir(parents=True)
    (pkg / "tools").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tools" / "__init__.py").write_text("")
    (pkg / "config" / "agents.yaml").write_text(MAIL_AGENTS)
    (pkg / "config" / "tasks.yaml").write_text(MAIL_TASKS)
    (pkg / "crew.py").write_text(MAIL_CREW)
    (pkg / "tools" / "gmail_tools.py").write_text(GMAIL_TOOLS)
    (pkg / "tools" / "slack_tool.py").write_text(SLACK_TOOL)
    doc, text, _ = _draft(tmp_path, pkg / "config", pkg / "crew.py")
    ag = {a["id"]: a for a in doc["agents"]}
    assert [t["effect"] for t in ag["cleaner"]["tools"]] == ["destructive"]
    assert ag["notifier"]["depends_on"] == ["cleaner"]
    assert "destructive, from its code: expunge at gmail_tools.py:13 (https://www.rfc-editor" in (
        text
    )
    assert "external, from its code: chat_postMessage at slack_tool.py:11" in text


_CREW_PY = """from crewai import Agent, Crew, LLM, Process, Task
from crewai.project import CrewBase, agent, crew, task
from crewai_tools import FileWriterTool, SerperDevTool

web = SerperDevTool()


@CrewBase
class {cls}:
    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    @agent
    def collector(self) -> Agent:
        saver = FileWriterTool()
        llm = LLM(model="{model}")
        return Agent(config=self.agents_config["collector"], tools=[web, saver], llm=llm)

    @agent
    def {second}(self) -> Agent:
        return Agent(config=self.agents_config["{second}"])

    @task
    def gather(self) -> Task:
        return Task(config=self.tasks_config["gather"])

    @task
    def use(self) -> Task:
        return Task(config=self.tasks_config["use"])

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
"""


def _crew(folder: Path, cls: str, second: str, model: str) -> None:
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "agents.yaml").write_text(
        f"collector:\n  role: Collector of {cls}\n  goal: g\n  backstory: b\n"
        f"{second}:\n  role: The {second}\n  goal: g\n  backstory: b\n"
    )
    (folder / "config" / "tasks.yaml").write_text(
        "gather:\n  description: d\n  expected_output: e\n  agent: collector\n"
        f"use:\n  description: d\n  expected_output: e\n  agent: {second}\n"
    )
    (folder / f"{folder.name}.py").write_text(_CREW_PY.format(cls=cls, second=second, model=model))


def test_two_crews_of_one_flow_that_share_an_agent_key_are_two_sets_of_agents(
    tmp_path: Path,
) -> None:
    """A flow project whose two crews (each its folder, ``config/`` YAML and crew module)
    both define an agent ``collector``: two agents, each id prefixed by its crew, each with
    its own crew's edges; not one agent whose tasks in both crews make a cycle between the
    crews. A tool instance made in the module or in the method (``web = SerperDevTool()``,
    ``saver = FileWriterTool()``) is drafted by its class, with the class's known effect, and
    a model the method builds (``llm = LLM(model=…)``) is read."""
    root = tmp_path / "flowproj" / "src" / "flowproj"
    _crew(root / "crews" / "plan_crew", "PlanCrew", "planner", "gpt-4o")
    _crew(root / "crews" / "draft_crew", "DraftCrew", "author", "gpt-4o-mini")
    (root / "main.py").write_text(
        "from crewai.flow import Flow, listen, start\n\n"
        "class BookFlow(Flow):\n"
        "    @start()\n    def plan(self):\n        return 1\n"
    )
    doc, text, _ = _draft(tmp_path, *sorted(p for p in root.rglob("*") if p.is_file()))
    ag = {a["id"]: a for a in doc["agents"]}
    assert set(ag) == {
        "plan_crew_collector", "planner", "draft_crew_collector", "author",
    }  # fmt: skip
    assert ag["planner"]["depends_on"] == ["plan_crew_collector"]
    assert ag["author"]["depends_on"] == ["draft_crew_collector"]
    assert "depends_on" not in ag["plan_crew_collector"]
    assert "depends_on" not in ag["draft_crew_collector"]
    assert "max_iterations" not in text  # no cycle was made up
    for cid, model in (("plan_crew_collector", "gpt-4o"), ("draft_crew_collector", "gpt-4o-mini")):
        assert ag[cid]["model"]["name"] == model
        assert {t["name"]: t["effect"] for t in ag[cid]["tools"]} == {
            "SerperDevTool": "read",
            "FileWriterTool": "write",
        }
    assert doc["metadata"]["name"] == "flowproj"


def test_classic_layout_tasks_from_factories_run_in_each_crews_order(tmp_path: Path) -> None:
    """The classic layout: agents made by methods of a factory class (``agents.py``), tasks
    by methods that take their agent as a parameter (``tasks.py``: positional or keyword,
    a file that imports only ``Task``), and ``Crew(tasks=[…])`` lists in a script, one at
    module level and one inside a function. Each crew's tasks chain in its list's order, by
    the agent passed to each; a task the reader cannot follow to an agent breaks the chain
    rather than link its neighbours; the two crews are not chained to each other."""
    (tmp_path / "agents.py").write_text(
        "from crewai import Agent\n\n"
        "class Staff:\n"
        "    def scout(self):\n        return Agent(role='Scout', goal='g', backstory='b')\n"
        "    def analyst(self):\n        return Agent(role='Analyst', goal='g', backstory='b')\n"
        "    def editor(self):\n        return Agent(role='Editor', goal='g', backstory='b')\n"
        "    def critic(self):\n        return Agent(role='Critic', goal='g', backstory='b')\n"
    )
    (tmp_path / "tasks.py").write_text(
        "from crewai import Task\n\n"
        "class Work:\n"
        "    def find(self, agent, topic):\n"
        "        return Task(description=topic, expected_output='e', agent=agent)\n"
        "    def weigh(self, topic, who):\n"
        "        return Task(description=topic, expected_output='e', agent=who)\n"
        "    def polish(self, agent):\n"
        "        return Task(description='p', expected_output='e', agent=agent)\n"
    )
    (tmp_path / "main.py").write_text(
        "from crewai import Crew\n"
        "from agents import Staff\n"
        "from tasks import Work\n\n"
        "staff, work = Staff(), Work()\n"
        "scout = staff.scout()\n"
        "analyst = staff.analyst()\n"
        "found = work.find(scout, 'x')\n"
        "weighed = work.weigh('x', who=analyst)\n"
        "first = Crew(agents=[scout, analyst], tasks=[found, weighed])\n\n"
        "def second(extra):\n"
        "    editor, critic = staff.editor(), staff.critic()\n"
        "    ed = staff.editor()\n"
        "    cr = staff.critic()\n"
        "    Crew(agents=[ed, cr], tasks=[work.polish(ed), work.polish(agent=cr)])\n"
        "    return Crew(agents=[ed, cr], tasks=[work.polish(cr), extra, work.polish(ed)])\n"
    )
    doc, _, _ = _draft(
        tmp_path, tmp_path / "agents.py", tmp_path / "tasks.py", tmp_path / "main.py"
    )
    ag = {a["id"]: a for a in doc["agents"]}
    assert set(ag) == {"scout", "analyst", "editor", "critic"}
    assert ag["analyst"]["depends_on"] == ["scout"]
    assert ag["critic"]["depends_on"] == ["editor"]
    for aid in ("scout", "editor"):  # `extra` is no task the reader can follow: no link
        assert "depends_on" not in ag[aid], aid  # across it, nor from the first crew's end


def test_agents_yaml_with_a_template_key_merged_by_anchors(tmp_path: Path) -> None:
    """An agents.yaml whose first key holds shared settings (no role, goal or backstory) that
    the agents merge with ``<<: *defaults``; a list anchored in one agent and aliased in
    another. The file is still a CrewAI agents.yaml; the template is no agent (a note says
    so); each agent gets the merged model, delegation and max_iter, and an agent's own key
    overrides the merged one."""
    (tmp_path / "agents.yaml").write_text(
        "x-defaults: &defaults\n"
        "  llm: anthropic/claude-3-5-haiku-20241022\n"
        "  allow_delegation: true\n"
        "  max_iter: 7\n"
        "finder:\n"
        "  <<: *defaults\n"
        "  role: Finder\n"
        "  goal: g\n"
        "  backstory: b\n"
        "  tools: &web [SerperDevTool]\n"
        "teller:\n"
        "  <<: *defaults\n"
        "  role: Teller\n"
        "  goal: g\n"
        "  backstory: b\n"
        "  allow_delegation: false\n"
        "  tools: *web\n"
    )
    (tmp_path / "tasks.yaml").write_text(
        "find:\n  description: d\n  expected_output: e\n  agent: finder\n"
        "tell:\n  description: d\n  expected_output: e\n  agent: teller\n  context: [find]\n"
    )
    doc, text, _ = _draft(tmp_path, tmp_path / "agents.yaml", tmp_path / "tasks.yaml")
    ag = {a["id"]: a for a in doc["agents"]}
    assert set(ag) == {"finder", "teller"}
    for a in ag.values():
        assert a["model"]["name"] == "anthropic/claude-3-5-haiku-20241022"
        assert a["max_iterations"] == 7
        assert ("SerperDevTool", "read") in {(t["name"], t["effect"]) for t in a["tools"]}
    assert ag["finder"]["spawns"] == ["teller"]
    assert "spawns" not in ag["teller"]
    assert ag["teller"]["depends_on"] == ["finder"]
    assert "'x-defaults' states none of role, goal, backstory" in text
