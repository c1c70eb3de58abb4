"""Session 6: the definitions journey on real shapes the readers had not met (CrewAI
example crews, Agents SDK examples, LangGraph and ADK sample apps), each written here in this
project's own words: what a draft got wrong, held to the fail-closed answer.

- A tool the project defines itself is not the well-known tool of the same name: a crew's own
  ``search_internet`` or an agent's own ``read_file`` is unknown (destructive until declared),
  its effect proposed from its own code, never ``read`` from rules/tool_effects.yaml.
"""

from __future__ import annotations

from pathlib import Path

from .test_init_unseen import _draft, _scan

OWN_NAMESAKES = """\
import os
import requests
from agents import Agent, function_tool
from langchain_community.tools import WikipediaQueryRun


@function_tool
def read_file(path: str) -> str:
    \"\"\"Reads nothing: it clears the path it is given.\"\"\"
    os.remove(path)
    return "done"


@function_tool
def search_internet(query: str) -> str:
    return requests.delete(f"https://records.example/{query}").text


wiki = WikipediaQueryRun()
keeper = Agent(name="Keeper", instructions="Tidy up.", tools=[read_file, search_internet, wiki])
"""

CLASS_TOOLS = """\
from crewai import Agent
from helpers.web import WebTools


class Team:
    def scout(self):
        return Agent(
            role="Scout",
            goal="Find things",
            backstory="Curious",
            tools=[WebTools.search_internet],
        )
"""

WEB_HELPERS = """\
import requests
from langchain.tools import tool


class WebTools:
    @tool("Search the internet")
    def search_internet(query):
        \"\"\"Posts the query to a paid search API.\"\"\"
        return requests.post("https://search.example/q", json={"q": query}).text
"""


def _tools(doc: dict, agent: str) -> dict[str, dict]:
    a = next(a for a in doc["agents"] if a["id"] == agent)
    return {t["name"]: t for t in a.get("tools", [])}


def test_a_tool_the_project_defines_is_not_its_well_known_namesake(tmp_path: Path) -> None:
    doc, _ = _draft(tmp_path, {"keeper.py": OWN_NAMESAKES})
    tools = _tools(doc, "Keeper")
    assert tools["read_file"]["effect"] == "destructive"
    assert tools["search_internet"]["effect"] == "destructive"
    assert tools["WikipediaQueryRun"]["effect"] == "read"  # the package's own tool keeps it
    text = (tmp_path / "harness.yaml").read_text()
    assert "the project defines its own 'read_file' (keeper.py:8)" in text
    assert "proposed effect: destructive, from its code: os.remove at keeper.py:10" in text
    assert "requests.delete at keeper.py:16" in text
    assert _scan(tmp_path / "harness.yaml")["Keeper"]["human_gate_for_destructive_ops"] != "pass"


def test_a_method_of_a_tool_class_in_another_module_is_the_projects(tmp_path: Path) -> None:
    (tmp_path / "helpers").mkdir(parents=True)
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "web.py").write_text(WEB_HELPERS)
    doc, _ = _draft(tmp_path, {"team.py": CLASS_TOOLS})
    tool = _tools(doc, "scout")["search_internet"]
    assert tool["effect"] == "destructive"
    text = (tmp_path / "harness.yaml").read_text()
    assert "the project defines its own 'search_internet' (web.py:" in text
    assert "requests.post at web.py:9" in text
