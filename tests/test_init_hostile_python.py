"""``init`` on hostile Python (issue 23, item 16): every walk over a module is bounded, and what
passes a bound is refused with its file and line, never a RecursionError.

The red team's four: ``M = M``; ``A = B; B = A``; a 300,000-term ``+`` chain (Python's own
parser gives up building its tree); a 3,000-deep attribute. Plus a tree that parses but is
deeper than the walks allow, and a long name chain.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers.pyast import MAX_AST_DEPTH, MAX_NAME_HOPS

HEADS = {
    "openai-agents": (
        "from agents import Agent\na = Agent(name='a', instructions='x', model=M)\n",
        2,
    ),
    "langgraph": (
        "from langgraph.prebuilt import create_react_agent\na = create_react_agent(M, tools=[])\n",
        2,
    ),
    "crewai": (
        "from crewai import Agent, Crew\n"
        "@CrewBase\n"
        "class C:\n"
        "    @agent\n"
        "    def a(self):\n"
        "        return Agent(role='r', goal='g', backstory='b', llm=M)\n"
        "    @crew\n"
        "    def crew(self):\n"
        "        return Crew(agents=self.agents, tasks=[])\n",
        9,
    ),
}
"""Format -> (a module whose one agent's model is the name ``M``, its number of lines)."""

CASES = {
    "self": ("M = M\n", 1, "cycle (M -> M)"),
    "pair": ("M = A\nA = B\nB = A\n", 3, "cycle (M -> A -> B -> A)"),
    "plus": ("M = " + "+".join(["'a'"] * 300_000) + "\n", 1, "too deeply"),
    "attribute": ("M = os" + ".x" * 3_000 + "\n", 1, "too deeply"),
    "deep": ("M = " + "+".join(["'a'"] * (MAX_AST_DEPTH + 10)) + "\n", 1, "levels deep"),
    "chain": (
        "".join(f"N{i} = N{i + 1}\n" for i in range(MAX_NAME_HOPS + 5)) + "M = N0\n",
        MAX_NAME_HOPS + 1,
        f"more than {MAX_NAME_HOPS} names",
    ),
}
"""Case -> (the module's tail, the line of it the refusal names, what the refusal says)."""


@pytest.mark.parametrize("fmt", sorted(HEADS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_module_is_refused_with_file_and_line(tmp_path: Path, fmt: str, case: str) -> None:
    head, head_lines = HEADS[fmt]
    tail, line, says = CASES[case]
    src = tmp_path / "agents.py"
    src.write_text(head + tail, encoding="utf-8")
    r = CliRunner().invoke(app, ["init", str(src), "-o", "-", "--from", fmt])
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output and "Recursion" not in r.output
    if case == "chain":  # refused where the walk passes its bound
        assert re.search(rf"{re.escape(str(src))}:\d+: ", r.output), r.output
    else:
        assert f"{src}:{head_lines + line}: " in r.output, r.output
    assert says in r.output, r.output


@pytest.mark.parametrize("fmt", sorted(HEADS))
def test_a_module_within_the_bounds_still_drafts(tmp_path: Path, fmt: str) -> None:
    """A name chain and an expression inside the bounds are read as before."""
    head, _ = HEADS[fmt]
    tail = "X = " + "+".join(["'a'"] * (MAX_AST_DEPTH // 2)) + "\nM = N1\nN1 = N2\nN2 = 'gpt-4o'\n"
    src = tmp_path / "agents.py"
    src.write_text(head + tail, encoding="utf-8")
    r = CliRunner().invoke(app, ["init", str(src), "-o", "-", "--from", fmt])
    assert r.exit_code == 0, r.output
    assert 'name: "gpt-4o"' in r.output, r.output
