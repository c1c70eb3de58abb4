"""Issue 24, item 4: a tool's effect proposed from its own code (a comment with the call and its
line), never the drafted effect, which stays fail-closed until a person declares it."""

from __future__ import annotations

import ast
from pathlib import Path

from harness_audit.importers.effects import propose, table

from .test_init_h24_langgraph import agents, draft, tools

TOOLS_PY = """
import sqlite3
import subprocess
from pathlib import Path

import requests


def fetch_rate(cur: str) -> str:
    return requests.get(f"https://rates.example.invalid/{cur}").text


def save_note(text: str) -> None:
    with open("notes.txt", "a") as fh:
        fh.write(text)


def announce(client, text: str) -> None:
    client.chat_postMessage(channel="#ops", text=text)


def bin_mail(service, mid: str) -> None:
    service.users().messages().trash(userId="me", id=mid).execute()


def purge(db, table: str) -> None:
    db.execute("SELECT count(*) FROM t")
    db.execute(f"DELETE FROM {table}")


def tidy(name: str) -> str:
    return name.strip()
"""

AGENT_PY = """
from google.adk.agents import Agent
from .tools import announce, bin_mail, fetch_rate, purge, save_note, tidy

root_agent = Agent(
    name="ops",
    model="gemini-2.5-flash",
    tools=[fetch_rate, save_note, announce, bin_mail, purge, tidy],
)
"""


def test_effects_proposed_from_the_tools_code_beside_the_agent(tmp_path: Path) -> None:
    src = tmp_path / "ops"
    src.mkdir()
    (src / "tools.py").write_text(TOOLS_PY)
    (src / "agent.py").write_text(AGENT_PY)
    doc = draft(tmp_path, src / "agent.py", "adk")
    (a,) = agents(doc).values()
    # the drafted effect stays fail-closed: a proposal is not a declaration
    assert set(tools(a).values()) == {("destructive", False)}
    proposed = {
        line.split("proposed effect: ")[1].split(",")[0]: line
        for line in doc["_text"].splitlines()
        if "proposed effect:" in line
    }
    lines = [x for x in doc["_text"].splitlines() if "proposed effect:" in x]
    assert len(lines) == 5  # tidy calls nothing that says an effect
    text = "\n".join(lines)
    assert "read, from its code: requests.get at tools.py:10" in text
    assert "write, from its code: open(..., 'w') at tools.py:14" in text
    assert "external, from its code: chat_postMessage at tools.py:19" in text
    assert "write, from its code: messages.trash at tools.py:23" in text
    assert "destructive, from its code: SQL DELETE at tools.py:28" in text
    assert "1 more matching call(s)" in text
    assert proposed  # every proposal names its source
    assert all("https://" in x and "declare it to use it" in x for x in lines)


def test_langgraph_tool_in_the_same_file(tmp_path: Path) -> None:
    doc = draft(
        tmp_path,
        """
import shutil
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

@tool("wipe_cache")
def clear(path: str) -> str:
    shutil.rmtree(path)
    return "ok"

agent = create_react_agent("openai:gpt-4.1", tools=[clear])
""",
    )
    (a,) = doc["agents"]
    assert tools(a) == {"wipe_cache": ("destructive", False)}
    assert "proposed effect: destructive, from its code: shutil.rmtree at g.py:8" in doc["_text"]


def test_the_table_has_a_source_for_every_entry() -> None:
    t = table()
    assert t["_calls"] and all(src.startswith("https://") for _, _, src in t["_calls"])
    assert {e for _, e, _ in t["_calls"]} <= {"read", "write", "external", "destructive"}
    assert set(t["sql_verbs"].values()) <= {"read", "write", "destructive"}


def test_a_dict_get_is_no_http_read() -> None:
    fn = ast.parse("def f(d):\n    return d.get('x')\n").body[0]
    assert propose(fn, "x.py") is None
