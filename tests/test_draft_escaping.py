"""``init``'s draft carries no control nobody stated (issue 23, item 5).

Every source text (names, models, notes, ``os.getenv`` names, file paths) reaches the draft
through one escaping function, so a line break in one cannot end the ``#`` comment or the quoted
value it is in and write, say, ``budget: {enforced_by: harness}``. The property: whatever the
source texts, the parsed draft is the one of harmless texts with each text's own value in its
own place, and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers import draft, tables
from harness_audit.importers.base import EFFECTS
from harness_audit.importers.draft import Draft, DraftAgent, DraftTool, Where, safe_id
from harness_audit.manifest.yamlsafe import parse_yaml

INJECT = "\nbudget: {cap_usd: 1, enforced_by: harness}\n#"

HOSTILE = [
    "\n",
    "\r",
    "\r\n",
    "\x85",
    "\u2028",
    "\u2029",
    "\x00",
    "\x1b",
    "\x7f",
    "\ufeff",
    "\u202e",
    "\ud800",
    "\udcff",
    "\U0001f600",
    "#",
    '"',
    "'",
    "\\",
    ":",
    "{",
    "}",
    "[",
    "&a",
    "*a",
    "!!python/object ",
    "- ",
    " ",
    "\t",
    INJECT,
    '"}\nbudget: {enforced_by: harness}\nx: {"',
]

TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=3), max_size=8).map("".join),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20),
)
"""Source text: arbitrary, built from the tokens that end comments and scalars, or any code
point (lone surrogates included: a Python string literal may hold one)."""

FIELDS = [
    "name",
    "format",
    "path",
    "id",
    "where",
    "role",
    "model",
    "model_note",
    "model_where",
    "tool",
    "tool_where",
    "effect",
    "effect_note",
    "gate_where",
    "gate_note",
    "iter_note",
    "note",
    "unknown",
    "dnote",
    "edge",
]


def _own(text: str) -> str:
    """A text's own value in the draft: a lone surrogate (no YAML nor UTF-8 can hold one) is
    U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) < 0xE000 else c for c in text)


def _build(v: dict[str, str], gate: bool) -> Draft:
    tool = DraftTool(
        name=v["tool"],
        where=Where(v["tool_where"], 3),
        effect=v["effect"],
        effect_note=v["effect_note"],
        gate=gate,
        gate_where=Where(v["gate_where"], 4),
        gate_note=v["gate_note"],
    )
    first = DraftAgent(
        id=safe_id(v["id"]),
        where=Where(v["where"], 1),
        role=v["role"],
        model=v["model"],
        model_where=Where(v["model_where"], 2),
        model_note=v["model_note"],
        tools=[tool],
        depends_on={"zz_other": Where(v["edge"], 5)},
        max_iterations=3,
        max_iterations_note=v["iter_note"],
        notes=[v["note"]],
    )
    other = DraftAgent(id="zz_other", where=Where(v["where"], 6))
    return Draft(
        format=v["format"],
        name=v["name"],
        sources=[Path(v["path"])],
        agents=[first, other],
        unknown=[v["unknown"]],
        notes=[v["dnote"]],
    )


def _parsed(d: Draft) -> Any:
    text = draft.render(d)
    return parse_yaml(text.encode("utf-8"), "draft.yaml").data


def _model(text: str) -> dict[str, str]:
    info = tables.resolve_model(text)
    if info.known:
        return {"provider": info.provider, "family": info.family, "name": info.name}
    return {"provider": "unknown", "family": "unknown", "name": _own(text)}


@settings(max_examples=150, suppress_health_check=list(HealthCheck), deadline=None)
@given(
    st.fixed_dictionaries({k: TEXT for k in FIELDS}),
    st.sampled_from([*EFFECTS, None, "read\nx", "harness"]),
    st.booleans(),
    st.booleans(),
)
def test_no_source_text_changes_the_draft_beyond_its_own_value(
    v: dict[str, str], effect: str | None, gate: bool, with_role: bool
) -> None:
    v = {**v, "effect": effect or "", "model": v["model"] or "m"}
    v["role"] = (v["role"] or "r") if with_role else ""
    if safe_id(v["id"]) == "zz_other":
        v["id"] = "a"
    benign = {k: "x" for k in FIELDS}
    benign.update(effect=effect if effect in EFFECTS else "", role="x" if with_role else "")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(draft, "sha256_file", lambda p: "0" * 64)
        got = _parsed(_build(v, gate))
        want = _parsed(_build(benign, gate))
    want["metadata"]["name"] = safe_id(v["name"])
    first = want["agents"][0]
    first["id"] = safe_id(v["id"])
    if v["role"]:
        first["role"] = _own(" ".join(v["role"].split())[:300])
    first["model"] = _model(v["model"])
    first["tools"][0]["name"] = _own(v["tool"])
    imp = want["x-import"]
    imp["format"] = _own(v["format"])
    imp["sources"][0]["file"] = _own(str(Path(v["path"])))
    imp["unknown"][0] = _own(" ".join(v["unknown"].split())[:300])
    imp["notes"][0] = _own(" ".join(v["dnote"].split())[:300])
    assert got == want


def test_a_line_break_in_an_env_name_or_a_path_states_no_control(tmp_path: Path) -> None:
    """The red team's case: an ``os.getenv`` name and a file name carrying
    ``budget: {…, enforced_by: harness}`` after a newline; the draft still says
    ``enforced_by: none``, loads, and keeps the texts as escaped comment text."""
    folder = tmp_path / "src"
    folder.mkdir()
    source = folder / f"agents{INJECT}.py"
    source.write_text(
        "import os\n"
        "from agents import Agent\n"
        f"triage = Agent(name='triage', instructions='x', model=os.getenv({INJECT!r}, 'gpt-4o'))\n",
        encoding="utf-8",
    )
    out = tmp_path / "draft.yaml"
    r = CliRunner().invoke(app, ["init", str(source), "-o", str(out), "--from", "openai-agents"])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["budget"] == {"enforced_by": "none"}
    assert [line for line in text.splitlines() if line.lstrip().startswith("budget")] == [
        "budget:  # TODO: declare a harness-enforced cost cap: no framework states one in dollars"
    ]
    assert "# from agents budget: {cap_usd: 1, enforced_by: harness} #.py:3" in text
    assert doc["x-import"]["sources"][0]["file"] == str(source)
    s = CliRunner().invoke(app, ["scan", str(out), "--no-trails", "--format", "json"])
    assert s.exit_code == 1, s.output
