"""Issue 24, item 6: refusals that help. Every refusal names what the file looks like, including
formats harness-audit does not read (AutoGen, Semantic Kernel, smolagents, LlamaIndex, …), and
never offers a trace format for a definition nor a definition format for a trace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness_audit.import_formats import DEFINITIONS, TRACES
from harness_audit.importers import ImportFormatError, detect_definition, detect_trace
from harness_audit.importers.detect import _identify, looks_like
from harness_audit.importers.probe import Probe

from .conftest import SHARED

TRACE_NAMES = re.compile(r"\b(" + "|".join(re.escape(n) for n, _ in TRACES) + r")\b")
DEF_NAMES = re.compile(r"\b(" + "|".join(re.escape(n) for n, _ in DEFINITIONS) + r")\b")

# (file name, content, what the refusal must say)
FOREIGN = [
    ("team.py", "from autogen_agentchat.agents import AssistantAgent\n", "an AutoGen (AG2) module"),
    (
        "k.py",
        "import semantic_kernel as sk\nfrom semantic_kernel.agents import ChatCompletionAgent\n",
        "a Semantic Kernel module",
    ),
    ("s.py", "from smolagents import CodeAgent, WebSearchTool\n", "a smolagents module"),
    ("l.py", "from llama_index.core.agent.workflow import FunctionAgent\n", "a LlamaIndex module"),
    (
        "p.py",
        "from pydantic_ai import Agent\nagent = Agent('openai:gpt-4o')\n",
        "a Pydantic AI module",
    ),
    ("h.py", "from haystack.components.agents import Agent\n", "a Haystack module"),
    ("d.py", "import dspy\n", "a DSPy module"),
    ("g.py", "from agno.agent import Agent\n", "an Agno (phidata) module"),
    ("m.ts", "import { Agent } from '@mastra/core/agent';\n", "a Mastra module (TypeScript)"),
    (
        "a.ts",
        "import { Agent, run } from '@openai/agents';\n",
        "OpenAI Agents SDK module (TypeScript)",
    ),
    ("k.cs", "using Microsoft.SemanticKernel;\n", "a Semantic Kernel module (C#)"),
    (
        "plain.py",
        "import os\nimport requests\n",
        "a Python module that uses none of the agent frameworks",
    ),
    (
        "ac.json",
        '{"provider": "autogen_agentchat.teams.RoundRobinGroupChat", "config": {}}',
        "an AutoGen AgentChat component config",
    ),
    (
        "sk.yaml",
        "type: chat_completion_agent\nname: Helper\ninstructions: Help.\n",
        "a Semantic Kernel declarative agent spec",
    ),
    ("agent.json", '{"class": "CodeAgent", "tools": [], "model": {}}', "a smolagents saved agent"),
    (
        "dify.yml",
        "kind: app\napp: {name: bot, mode: workflow}\nworkflow: {}\n",
        "a Dify app DSL export",
    ),
    ("flow.json", '{"data": {"nodes": [], "edges": []}, "name": "x"}', "a Langflow flow export"),
    ("n8n.json", '{"nodes": [], "connections": {}}', "an n8n workflow export"),
    (
        "asst.json",
        '{"object": "assistant", "instructions": "x", "model": "gpt-4o"}',
        "an OpenAI Assistants API assistant object",
    ),
]


@pytest.mark.parametrize(("name", "content", "needle"), FOREIGN, ids=[f[0] for f in FOREIGN])
def test_init_names_the_foreign_format_and_offers_no_trace_format(
    tmp_path: Path, name: str, content: str, needle: str
) -> None:
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(ImportFormatError) as e:
        detect_definition([p])
    msg = str(e.value)
    assert needle in msg, msg
    assert not TRACE_NAMES.search(msg), msg


@pytest.mark.parametrize(("name", "content", "needle"), FOREIGN, ids=[f[0] for f in FOREIGN])
def test_trail_import_says_a_definition_is_not_a_trace(
    tmp_path: Path, name: str, content: str, needle: str
) -> None:
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(ImportFormatError) as e:
        detect_trace(p)
    msg = str(e.value)
    assert needle in msg, msg
    assert "not a trace" in msg and "harness-audit init" in msg, msg
    assert not TRACE_NAMES.search(msg), msg  # no trace format offered for a definition


TRACE_LIKE = [
    ("j.json", '{"data": [{"traceID": "a", "spans": []}]}', "Jaeger"),
    ("z.json", '[{"traceId": "a", "id": "b", "name": "x"}]', "Zipkin"),
    ("o.json", '{"observations": []}', "Langfuse observations"),
    ("l.jsonl", '{"a": 1}\n{"a": 2}\n', "JSON Lines of objects"),
]


@pytest.mark.parametrize(("name", "content", "needle"), TRACE_LIKE, ids=[t[0] for t in TRACE_LIKE])
def test_init_sends_a_trace_to_trail_import(
    tmp_path: Path, name: str, content: str, needle: str
) -> None:
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(ImportFormatError) as e:
        detect_definition([p])
    msg = str(e.value)
    assert needle in msg and "trail import" in msg, msg
    assert not DEF_NAMES.search(msg), msg  # no definition format offered for a trace


def test_unknown_files_get_a_nearest_of_the_kind_asked(tmp_path: Path) -> None:
    for name, content in (
        ("x.txt", "hello\n"),
        ("x.json", '{"a": 1}'),
        ("x.yaml", "name: x\nsteps: []\n"),
        ("x.bin", "\x00\x01\x02"),
    ):
        p = tmp_path / name
        p.write_text(content)
        probe = Probe.of(p)
        _what, family, _ = _identify(probe, "trace")
        _, for_trace = looks_like(probe, "trace")
        _, for_init = looks_like(probe, "definition")
        assert not TRACE_NAMES.search(for_init), (name, for_init)
        if family != "definition":
            assert not DEF_NAMES.search(for_trace), (name, for_trace)
        else:
            assert for_trace.startswith("none: these are agent definitions"), for_trace


@pytest.mark.skipif(not (SHARED / "real").is_dir(), reason="../shared/real is absent")
def test_real_trace_given_to_init(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as e:
        detect_definition([SHARED / "real" / "langfuse" / "crewai-2025-07-11.trace.json"])
    msg = str(e.value)
    assert "Langfuse trace export" in msg and "trail import" in msg
