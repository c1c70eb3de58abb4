"""Issue 24, item 5: ``init --check MANIFEST [PATH...]``, the drift gate. Exit 0 when the code
and the manifest are in step; exit 1 with one line per difference (the code's file and line, or
the manifest's) when the code has an agent, tool, edge, model or gate the manifest does not
declare, or the manifest declares one the code no longer has."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness_audit.cli._cli import app

runner = CliRunner()

APP = """\
from agents import Agent, function_tool

@function_tool
def lookup(q: str) -> str:
    return q

@function_tool(needs_approval=True)
def refund(order: str) -> str:
    return order

billing = Agent(name="Billing", model="gpt-4o", instructions="Bill.", tools=[lookup, refund])
front = Agent(name="Front", model="gpt-4o", instructions="Route.", handoffs=[billing])
"""


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    code = tmp_path / "app.py"
    code.write_text(APP)
    manifest = tmp_path / "harness.yaml"
    r = runner.invoke(app, ["init", str(code), "-o", str(manifest)])
    assert r.exit_code == 0, r.output
    return code, manifest


def _check(manifest: Path, *paths: Path) -> tuple[int, str, str]:
    r = runner.invoke(app, ["init", "--check", str(manifest), *map(str, paths)])
    return r.exit_code, r.stdout, r.stderr


def test_in_step_exits_0_from_the_recorded_sources(tmp_path: Path) -> None:
    _, manifest = _setup(tmp_path)
    code, out, err = _check(manifest)
    assert code == 0 and out == "" and "in step" in err, (out, err)


def test_code_changes_are_drift_with_the_code_line(tmp_path: Path) -> None:
    code, manifest = _setup(tmp_path)
    code.write_text(
        APP.replace('model="gpt-4o", instructions="Bill."', 'model="gpt-4.1", instructions="Bill."')
        .replace("tools=[lookup, refund]", "tools=[lookup, refund, search]")
        .replace("@function_tool(needs_approval=True)", "@function_tool")
        + 'audit = Agent(name="Audit", instructions="Check.")\n'
        + "billing.handoffs.append(audit)\n"
    )
    rc, out, _ = _check(manifest, code)
    assert rc == 1
    f = str(code)
    assert f"{f}:13: agent: the code has agent 'Audit'" in out
    assert f"{f}:11: model: agent 'Billing': the code states model 'gpt-4.1'" in out
    assert f"{f}:11: tool: agent 'Billing': the code has tool 'search'" in out
    assert f"{manifest}:" in out and "manifest declares a human gate before tool 'refund'" in out
    assert f"{f}:14: edge: agent 'Billing' spawns 'Audit' in the code" in out


def test_what_the_code_no_longer_has_is_drift_with_the_manifest_line(tmp_path: Path) -> None:
    code, manifest = _setup(tmp_path)
    code.write_text(
        APP.replace("tools=[lookup, refund]", "tools=[lookup]").replace(", handoffs=[billing]", "")
    )
    rc, out, _ = _check(manifest, code)
    assert rc == 1
    assert "the manifest declares tool 'refund', the code no longer has it" in out
    assert "agent 'Front' spawns 'Billing' in the manifest, the code no longer has it" in out
    assert all(line.startswith(f"{manifest}:") for line in out.splitlines()), out


def test_a_gate_the_code_adds_is_drift(tmp_path: Path) -> None:
    code, manifest = _setup(tmp_path)
    code.write_text(
        APP.replace("@function_tool\ndef lookup", "@function_tool(needs_approval=True)\ndef lookup")
    )
    rc, out, _ = _check(manifest, code)
    assert rc == 1
    assert f"{code}:3: gate: agent 'Billing': the code gates tool 'lookup'" in out


def test_run_time_lists_are_not_compared_but_said(tmp_path: Path) -> None:
    code = tmp_path / "app.py"
    code.write_text(APP + "front.tools.extend(load_tools())\n")
    manifest = tmp_path / "harness.yaml"
    assert runner.invoke(app, ["init", str(code), "-o", str(manifest)]).exit_code == 0
    rc, out, err = _check(manifest)
    assert rc == 0, out
    assert "not compared (computed at run time)" in err and f"{code}:13:" in err


def test_agents_declared_for_a_run_time_list_are_not_drift(tmp_path: Path) -> None:
    code = tmp_path / "app.py"
    code.write_text(APP + "front.handoffs.extend(specialists())\n")
    manifest = tmp_path / "harness.yaml"
    assert runner.invoke(app, ["init", str(code), "-o", str(manifest)]).exit_code == 0
    text = manifest.read_text().replace('- id: "unknown_agents_app_13"', '- id: "Specialist"')
    text = text.replace('- "unknown_agents_app_13"', '- "Specialist"')
    manifest.write_text(text)
    rc, out, err = _check(manifest)
    assert rc == 0, out
    assert "agent 'Specialist' may be one the code computes at run time" in err
