"""MCP servers as the clients people run keep them, beyond Claude Desktop's ``mcpServers`` map
and VS Code's ``servers``: Zed's ``context_servers`` in its settings (JSON with comments and
trailing commas; a server's ``command`` an object of ``path`` and ``args`` in older settings, a
string in newer ones, and servers an extension provides with no command at all), Codex's
``config.toml`` (``[mcp_servers.NAME]`` tables, a URL server among them) and Continue's YAML
config (``mcpServers`` a list of entries, each with its ``name``). Each is drafted as the
other MCP configs are: one client agent, a tool per server, its effect known only from
rules/tool_effects.yaml, else destructive until declared, and ungated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness_audit.cli._cli import app
from harness_audit.importers import mcp

from .test_init_unseen import _draft, _scan

ZED_SETTINGS = """\
// Zed settings: the editor's own keys beside the servers
{
  "vim_mode": true,
  "context_servers": {
    "pg": {
      "command": {
        "path": "npx",
        "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/app"],
        "env": {}
      },
      "settings": {},
    },
    "docs-fs": {
      "source": "custom",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"]
    },
    "from-extension": {"source": "extension", "settings": {"token": "x"}},
  },
}
"""

CODEX_CONFIG = """\
model = "gpt-5-codex"
approval_policy = "on-request"

[mcp_servers.fetcher]
command = "uvx"
args = ["mcp-server-fetch"]

[mcp_servers.tracker]
url = "https://tracker.example/mcp"
bearer_token_env_var = "TRACKER_TOKEN"
"""

CONTINUE_CONFIG = """\
name: Team assistant
version: 1.0.0
schema: v1
models:
  - name: Sonnet
    provider: anthropic
    model: claude-sonnet-4-5
mcpServers:
  - name: Local SQLite
    command: npx
    args: ["-y", "mcp-sqlite", "/data/app.db"]
"""


def _tools(doc: dict[str, Any], agent: str = "mcp_client") -> dict[str, dict[str, Any]]:
    a = next(a for a in doc["agents"] if a["id"] == agent)
    return {t["name"]: t for t in a.get("tools", [])}


def test_zed_context_servers_in_both_command_shapes(tmp_path: Path) -> None:
    doc, _ = _draft(tmp_path, {"settings.json": ZED_SETTINGS})
    tools = _tools(doc)
    assert set(tools) == {"pg", "docs-fs", "from-extension"}
    assert tools["pg"]["effect"] == "read"  # the object form's path and args were read
    assert tools["docs-fs"]["effect"] == "write"
    assert tools["from-extension"]["effect"] == "destructive"  # no command: unknown
    text = (tmp_path / "harness.yaml").read_text()
    assert "allowed only '/srv/docs'" in text  # the filesystem server's stated reach
    assert '- name: "pg"  # from settings.json:5' in text
    assert _scan(tmp_path / "harness.yaml")["mcp_client"]["human_gate_for_destructive_ops"] == (
        "fail"
    )


def test_codex_config_toml_tables_and_a_url_server(tmp_path: Path) -> None:
    doc, _ = _draft(tmp_path, {"config.toml": CODEX_CONFIG})
    tools = _tools(doc)
    assert set(tools) == {"fetcher", "tracker"}
    assert tools["fetcher"]["effect"] == "read"
    assert tools["tracker"]["effect"] == "destructive"  # a URL nobody describes
    assert '- name: "tracker"  # from config.toml:8' in (tmp_path / "harness.yaml").read_text()


def test_continue_yaml_servers_are_a_list_by_name(tmp_path: Path) -> None:
    doc, _ = _draft(tmp_path, {"config.yaml": CONTINUE_CONFIG})
    (tool,) = _tools(doc).values()
    assert tool["name"] == "Local_SQLite" and tool["effect"] == "destructive"
    assert "config.yaml:9" in (tmp_path / "harness.yaml").read_text()


def test_a_broken_toml_config_is_named_with_its_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[mcp_servers.x\ncommand = 'npx'\n")
    r = CliRunner().invoke(app, ["init", str(bad), "-o", str(tmp_path / "h.yaml")])
    assert r.exit_code == 2, r.output
    assert "config.toml" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "h.yaml").exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=12,
)
server_keys = st.sampled_from([*mcp.SERVER_KEYS, "mcp", "command", "url", "name", "args"])


@settings(max_examples=300)
@given(st.dictionaries(server_keys, json_values, max_size=3) | json_values)
def test_any_document_gives_a_server_map_or_none(doc: object) -> None:
    """Whatever a config holds where servers go, the reader's view is a map of entries (each a
    mapping) or None: never an exception."""
    got = mcp._servers(doc)
    assert got is None or (got and all(isinstance(s, dict) for s in got.values()))
