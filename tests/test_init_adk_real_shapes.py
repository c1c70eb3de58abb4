"""Issue 24, items 1-4 for Google ADK: inputs written (our own text) in the shapes of the public
ADK sample agents (google/adk-samples: a root package whose sub-agents each live in a package of
their own and are imported by the root, tools imported from a ``tools`` package by name or as a
module attribute, ``from . import tools`` then ``tools.fn``, a tool chosen by a conditional on a
setting, models from a settings object or ``os.getenv``, ``before_tool_callback``), and an ADK
agent config naming its tool by a dotted path. Each goes through ``init`` -> ``scan`` ->
``report`` -> ``report verify``."""

from __future__ import annotations

from pathlib import Path

from .test_init_h24_langgraph import agents, draft, line_of, tools


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


TRIP = {
    "trip/__init__.py": "",
    "trip/agent.py": '''"""A trip planner: the root agent, its sub-agents in packages."""
from google.adk.agents import Agent

from trip.sub_agents.booking.agent import booking_agent
from trip.tools import notes
from .tools.lookup import (
    find_flights,
    weather_at,
)

root_agent = Agent(
    model="gemini-2.0-flash-001",
    name="root_agent",
    description="Plans a trip with a booking helper",
    sub_agents=[booking_agent],
    tools=[notes.jot_down, find_flights, weather_at],
)
''',
    "trip/sub_agents/__init__.py": "",
    "trip/sub_agents/booking/__init__.py": "",
    "trip/sub_agents/booking/agent.py": """from google.adk.agents import Agent
from google.adk.tools import FunctionTool
from google.adk.tools.agent_tool import AgentTool

from trip.tools import payments

confirm_agent = Agent(
    model="gemini-2.0-flash-001",
    name="confirm_agent",
    tools=[payments.basket_total],
)

booking_agent = Agent(
    model="gemini-2.0-flash-001",
    name="booking_agent",
    tools=[
        AgentTool(agent=confirm_agent),
        payments.charge_card,
        FunctionTool(func=payments.refund_card, require_confirmation=True),
    ],
)
""",
    "trip/tools/__init__.py": "",
    "trip/tools/notes.py": """def jot_down(text: str) -> str:
    with open("notes.txt", "a") as fh:
        fh.write(text)
    return "ok"
""",
    "trip/tools/lookup.py": """import requests


def find_flights(origin: str) -> dict:
    return requests.get("https://flights.example.invalid", params={"o": origin}).json()


def weather_at(city: str) -> dict:
    return {"city": city}
""",
    "trip/tools/payments.py": """import requests


def basket_total(basket_id: str) -> float:
    return requests.get(f"https://pay.example.invalid/b/{basket_id}").json()["total"]


def charge_card(basket_id: str) -> str:
    return requests.post("https://pay.example.invalid/charge", json={"b": basket_id}).text


def refund_card(charge_id: str) -> str:
    return requests.delete(f"https://pay.example.invalid/charge/{charge_id}").text
""",
}


def test_sub_agents_imported_from_their_own_packages(tmp_path: Path) -> None:
    """``sub_agents=[booking_agent]`` imported from another module read in the same draft is
    that agent (a spawn), not "a sub-agent not read"; ``AgentTool`` across modules too."""
    doc = draft(tmp_path, _write(tmp_path / "src", TRIP), "adk")
    ag = agents(doc)
    assert list(ag) == ["root_agent", "confirm_agent", "booking_agent"]
    assert ag["root_agent"]["spawns"] == ["booking_agent"]
    assert ag["booking_agent"]["spawns"] == ["confirm_agent"]
    assert tools(ag["booking_agent"]) == {
        "confirm_agent": ("destructive", False),
        "charge_card": ("destructive", False),
        "refund_card": ("destructive", True),
    }
    assert {a["model"]["name"] for a in ag.values()} == {"gemini-2.0-flash-001"}
    assert "not read" not in doc["_text"]


def test_dotted_tool_names_get_an_effect_proposed_from_their_code(tmp_path: Path) -> None:
    """``notes.jot_down`` (a module imported from a package), ``find_flights`` (imported from
    ``.tools.lookup``), ``payments.refund_card`` inside ``FunctionTool``: each is followed to
    its definition in the project and its effect proposed, the drafted effect staying
    destructive until declared."""
    doc = draft(tmp_path, _write(tmp_path / "src", TRIP), "adk")
    text = doc["_text"]
    proposed = [x.strip() for x in text.splitlines() if "proposed effect" in x]
    assert proposed == [
        "# proposed effect: write, from its code: open(..., 'w') at notes.py:2 "
        "(https://docs.python.org/3/library/functions.html#open); declare it to use it",
        "# proposed effect: read, from its code: requests.get at lookup.py:5 "
        "(https://www.rfc-editor.org/rfc/rfc9110#section-9.2.1 (safe methods)); "
        "declare it to use it",
        "# proposed effect: read, from its code: requests.get at payments.py:5 "
        "(https://www.rfc-editor.org/rfc/rfc9110#section-9.2.1 (safe methods)); "
        "declare it to use it",
        "# proposed effect: external, from its code: requests.post at payments.py:9 "
        "(https://www.rfc-editor.org/rfc/rfc9110#section-9.3.3 (POST sends data to another "
        "service)); declare it to use it",
        "# proposed effect: destructive, from its code: requests.delete at payments.py:13 "
        "(https://www.rfc-editor.org/rfc/rfc9110#section-9.3.5 (DELETE removes the target "
        "resource)); declare it to use it",
    ]
    assert all(t["effect"] == "destructive" for a in doc["agents"] for t in a["tools"])


SHOP = {
    "shop/__init__.py": "",
    "shop/config.py": "class Settings:\n    model = 'x'\n    name = 'y'\n",
    "shop/callbacks.py": "def guard_tool(tool, args, tool_context):\n    return None\n",
    "shop/agent.py": """from google.adk import Agent

from .callbacks import guard_tool
from .config import Settings
from .sub_agents.db import agent as db
from .tools.store import (
    cancel_order,
    order_status,
)

settings = Settings()

root_agent = Agent(
    model=settings.model,
    name=settings.name,
    tools=[order_status, cancel_order],
    sub_agents=[db.db_agent],
    before_tool_callback=guard_tool,
)
""",
    "shop/sub_agents/__init__.py": "",
    "shop/sub_agents/db/__init__.py": "",
    "shop/sub_agents/db/agent.py": """import os

from google.adk.agents import Agent

from . import queries
from .fast import fast_queries

MODE = os.getenv("SQL_MODE", "plain")

db_agent = Agent(
    model=os.getenv("DB_AGENT_MODEL"),
    name="db_agent",
    tools=[
        (fast_queries.to_sql if MODE == "fast" else queries.to_sql),
        queries.run_query,
        queries.registry.purge_cache,
    ],
)
""",
    "shop/sub_agents/db/queries.py": """import shutil


class Registry:
    def purge_cache(self, key: str) -> None:
        shutil.rmtree(f"/tmp/cache/{key}")


registry = Registry()


def to_sql(question: str) -> str:
    return "SELECT 1"


def run_query(client) -> list:
    return list(client.query("DELETE FROM staging WHERE id = 1"))
""",
    "shop/sub_agents/db/fast.py": """class _Fast:
    def to_sql(self, q: str) -> str:
        return q


fast_queries = _Fast()
""",
    "shop/tools/__init__.py": "",
    "shop/tools/store.py": """import requests


def order_status(order_id: str) -> dict:
    return requests.get(f"https://shop.example.invalid/o/{order_id}").json()


def cancel_order(order_id: str) -> str:
    return requests.delete(f"https://shop.example.invalid/o/{order_id}").text
""",
}


def test_settings_models_env_models_conditional_tools_and_object_methods(tmp_path: Path) -> None:
    """A model from a settings object or ``os.getenv("X")`` (no default) is chosen at run time:
    no model, never the variable's name; a tool chosen by a conditional drafts the choices; a
    method of a module-level object (``queries.registry.purge_cache``) is followed to its
    class; ``before_tool_callback`` is said on each tool and is no gate."""
    doc = draft(tmp_path, _write(tmp_path / "src", SHOP), "adk")
    ag = agents(doc)
    assert list(ag) == ["root_agent", "db_agent"]
    assert ag["root_agent"]["spawns"] == ["db_agent"]
    assert "model" not in ag["root_agent"] and "model" not in ag["db_agent"]
    assert "DB_AGENT_MODEL" not in str(ag["db_agent"].get("model"))
    assert tools(ag["root_agent"]) == {
        "order_status": ("destructive", False),
        "cancel_order": ("destructive", False),
    }
    assert tools(ag["db_agent"]) == {
        "to_sql": ("destructive", False),
        "run_query": ("destructive", False),
        "purge_cache": ("destructive", False),
    }
    text = doc["_text"]
    assert "before_tool_callback=guard_tool at agent.py:18 is a code check" in text
    assert "destructive, from its code: SQL DELETE at queries.py:17" in text
    assert "destructive, from its code: shutil.rmtree at queries.py:6" in text
    assert "destructive, from its code: requests.delete at store.py:9" in text
    notes = " ".join(doc["x-import"]["notes"])
    assert "model chosen at run time: os.getenv('DB_AGENT_MODEL') at agent.py:11" in notes
    assert "a tool chosen at run time: fast_queries.to_sql if MODE == 'fast'" in notes


def test_unresolved_sub_agent_fails_closed(tmp_path: Path) -> None:
    """A sub-agent imported from a module that is not read is a placeholder the parent
    spawns (no model, an unknown tool assumed destructive), never just dropped."""
    src = _write(
        tmp_path / "src",
        {
            "solo/agent.py": """from google.adk.agents import Agent
from elsewhere.helpers import helper_agent

root_agent = Agent(name="root_agent", model="gemini-2.0-flash", sub_agents=[helper_agent])
"""
        },
    )
    doc = draft(tmp_path, src, "adk")
    ag = agents(doc)
    (ph,) = ag["root_agent"]["spawns"]
    assert tools(ag[ph]) == {"unknown": ("destructive", False)}


def test_adk_config_tool_by_dotted_path(tmp_path: Path) -> None:
    """An agent config's ``tools: - name: helpers.tools.wipe_cache`` is followed from the
    project's roots to its function, its effect proposed (the real multi_agent_llm_config
    names ``multi_agent_llm_config.example_tool`` this way)."""
    src = _write(
        tmp_path / "src",
        {
            "cfg/root_agent.yaml": """agent_class: LlmAgent
model: gemini-2.5-flash
name: root_agent
instruction: Keep the cache small.
tools:
  - name: helpers.tools.wipe_cache
""",
            "helpers/__init__.py": "",
            "helpers/tools.py": "import os\n\n\ndef wipe_cache(p):\n    os.remove(p)\n",
        },
    )
    doc = draft(tmp_path, src / "cfg" / "root_agent.yaml", "adk")
    (a,) = doc["agents"]
    assert tools(a) == {"wipe_cache": ("destructive", False)}
    assert "destructive, from its code: os.remove at tools.py:5" in line_of(doc, "os.remove")


def test_model_and_name_from_a_constants_module(tmp_path: Path) -> None:
    """The brand-search sample's shape: ``model=constants.MODEL``, ``name=constants.AGENT_NAME``
    after ``from .shared import constants``, and ``from ...shared.constants import MODEL`` in a
    sub-agent: followed to the constants module (an environment default said so, with that
    module's line)."""
    src = _write(
        tmp_path / "src",
        {
            "brand/__init__.py": "",
            "brand/shared/__init__.py": "",
            "brand/shared/constants.py": 'import os\n\nAGENT_NAME = "brand_helper"\n'
            'DESCRIPTION = "Finds keywords for a brand"\n'
            'MODEL = os.getenv("MODEL", "gemini-2.0-flash-001")\n',
            "brand/agent.py": """from google.adk.agents.llm_agent import Agent

from .shared import constants
from .sub_agents.compare.agent import compare_agent

root_agent = Agent(
    model=constants.MODEL,
    name=constants.AGENT_NAME,
    description=constants.DESCRIPTION,
    sub_agents=[compare_agent],
)
""",
            "brand/sub_agents/__init__.py": "",
            "brand/sub_agents/compare/__init__.py": "",
            "brand/sub_agents/compare/agent.py": """from google.adk.agents.llm_agent import Agent

from ...shared.constants import MODEL

compare_agent = Agent(model=MODEL, name="compare_agent", description="Compares titles")
""",
        },
    )
    doc = draft(tmp_path, src, "adk")
    ag = agents(doc)
    assert list(ag) == ["brand_helper", "compare_agent"]
    assert ag["brand_helper"]["role"] == "Finds keywords for a brand"
    assert ag["brand_helper"]["spawns"] == ["compare_agent"]
    assert {a["model"]["name"] for a in ag.values()} == {"gemini-2.0-flash-001"}
    assert "# from constants.py:5; resolved at run time from $MODEL" in doc["_text"]
    files = sorted(Path(x["file"]).name for x in doc["x-import"]["sources"])
    assert files == ["agent.py", "agent.py", "constants.py"]  # the model's file is hashed too


def test_adk_config_loop_agent_code_sub_agent_and_tools_package(tmp_path: Path) -> None:
    """An ADK config game in the shape of the agent-config tutorials: a ``LoopAgent`` root with
    ``max_iterations`` over two config sub-agents (a cycle, each bounded with that line and
    what it does not bound), a tool named ``tools.checker.check_guess`` beside the configs (its
    effect proposed from its code), and a ``code:`` sub-agent not among the files read (a
    placeholder, fail closed); without ``max_iterations`` the loop's bound is asked for."""
    src = _write(
        tmp_path / "game",
        {
            "root_agent.yaml": "agent_class: LoopAgent\nname: guessing_game_loop\n"
            "max_iterations: 10\nsub_agents:\n  - config_path: guesser_agent.yaml\n"
            "  - config_path: checker_agent.yaml\n",
            "guesser_agent.yaml": "name: guesser_agent\nmodel: gemini-2.0-flash\n"
            "instruction: Guess a number.\n",
            "checker_agent.yaml": "name: checker_agent\nmodel: gemini-2.0-flash\n"
            "instruction: Check it.\ntools:\n  - name: tools.checker.check_guess\n"
            "sub_agents:\n  - code: tools.helpers.hint_agent\n",
            "tools/__init__.py": "",
            "tools/checker.py": 'import os\n\n\ndef check_guess(n):\n    os.remove("/tmp/s")\n',
        },
    )
    doc = draft(tmp_path, src / "root_agent.yaml", "adk")
    ag = agents(doc)
    assert ag["guessing_game_loop"]["spawns"] == ["guesser_agent", "checker_agent"]
    assert ag["checker_agent"]["depends_on"] == ["guesser_agent"]
    assert ag["guesser_agent"]["depends_on"] == ["checker_agent"]  # the next round
    assert all(ag[i]["max_iterations"] == 10 for i in ("guessing_game_loop", "guesser_agent"))
    assert "from root_agent.yaml:3; LoopAgent max_iterations=10" in doc["_text"]
    assert tools(ag["hint_agent"]) == {"unknown": ("destructive", False)}
    assert "destructive, from its code: os.remove at checker.py:5" in doc["_text"]
    (tmp_path / "2").mkdir()
    (src / "root_agent.yaml").write_text(
        (src / "root_agent.yaml").read_text().replace("max_iterations: 10\n", "")
    )
    doc = draft(tmp_path / "2", src / "root_agent.yaml", "adk")
    ag = agents(doc)
    assert ag["guesser_agent"]["max_iterations"] == 1  # the TODO: the cycle's bound
    assert "TODO: declare the bound of this cycle" in doc["_text"]


def test_sub_agents_re_exported_by_a_package_init_under_another_name(tmp_path: Path) -> None:
    """The root imports its sub-agents from packages whose ``__init__.py`` makes no agent but
    re-exports one (``from .agent import root_agent as pricing_agent``): the name is followed
    through that file to the agent drafted from the package's module, for ``sub_agents`` and
    ``AgentTool`` alike, and the ``__init__.py`` is among the hashed sources."""
    files = {
        "shop/__init__.py": "from . import agent\n",
        "shop/agent.py": """from google.adk.agents import LlmAgent
from google.adk.tools.agent_tool import AgentTool

from .helpers import pricing_agent
from .helpers.stock import stock_agent

root_agent = LlmAgent(
    name="shop_root",
    model="gemini-2.5-flash",
    tools=[AgentTool(agent=stock_agent)],
    sub_agents=[pricing_agent],
)
""",
        "shop/helpers/__init__.py": "from .pricing.agent import root_agent as pricing_agent\n",
        "shop/helpers/pricing/__init__.py": "",
        "shop/helpers/pricing/agent.py": """from google.adk.agents import Agent

def quote(item: str) -> str:
    return item

root_agent = Agent(name="pricing", model="gemini-2.5-flash", tools=[quote])
""",
        "shop/helpers/stock/__init__.py": "from .agent import stock_agent\n",
        "shop/helpers/stock/agent.py": """from google.adk.agents import Agent

stock_agent = Agent(name="stock", model="gemini-2.5-flash")
""",
    }
    root = _write(tmp_path / "src", files)
    doc = draft(tmp_path, root / "shop", "adk")
    ag = agents(doc)
    assert set(ag) == {"shop_root", "pricing", "stock"}, list(ag)
    assert set(ag["shop_root"]["spawns"]) == {"pricing", "stock"}
    assert "stock" in tools(ag["shop_root"])
    assert tools(ag["pricing"]) == {"quote": ("destructive", False)}
    assert "unknown_agents" not in doc["_text"]
    hashed = {Path(s["file"]).relative_to(root).as_posix() for s in doc["x-import"]["sources"]}
    assert {"shop/helpers/__init__.py", "shop/helpers/stock/__init__.py"} <= hashed


def test_sub_agents_made_by_a_factory_in_a_comprehension(tmp_path: Path) -> None:
    """``ParallelAgent(sub_agents=[make(r) for r in REGIONS])`` where ``make`` returns the
    ``LlmAgent`` it builds (its name an f-string): the parallel agent spawns the factory's
    agent, drafted once with the model and tools the factory states (their number and names
    are computed at run time: said, with lines), not an orphan agent named for its class
    beside a placeholder."""
    files = {
        "fan/__init__.py": "",
        "fan/agent.py": """from google.adk.agents import LlmAgent, ParallelAgent, SequentialAgent

REGIONS = ["north", "south"]


def lookup(region: str) -> str:
    return region


def make(region):
    return LlmAgent(name=f"{region}_analyst", model="gemini-2.5-flash", tools=[lookup])


fanout = ParallelAgent(name="fanout", sub_agents=[make(r) for r in REGIONS])
merge = LlmAgent(name="merge", model="gemini-2.5-flash")
root_agent = SequentialAgent(name="pipeline", sub_agents=[fanout, merge])
""",
    }
    doc = draft(tmp_path, _write(tmp_path / "src", files) / "fan", "adk")
    ag = agents(doc)
    assert set(ag) == {"fanout", "merge", "pipeline", "make"}, list(ag)
    assert ag["fanout"]["spawns"] == ["make"]
    assert ag["make"]["model"]["name"] == "gemini-2.5-flash"
    assert tools(ag["make"]) == {"lookup": ("destructive", False)}
    assert ag["merge"]["depends_on"] == ["fanout"]
    notes = " ".join(doc["x-import"]["notes"])
    assert "each made as 'make' (agent.py:11): drafted once, their number unknown" in notes
    assert "its name is computed at run time" in notes
