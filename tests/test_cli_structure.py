"""The CLI's structure: registries, format choices, the error guard, config for every command."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import shutil
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import harness_audit.report as report_pkg
from harness_audit.cli._cli import app
from harness_audit.report import REGISTRIES, Registry
from harness_audit.report.base import Renderer

from .conftest import SAMPLES

runner = CliRunner()
HARDENED = SAMPLES / "loan-assessment-hardened"


def walk(group: typer.Typer, prefix: str = "") -> list[tuple[str, Any]]:
    """(command path, callback) for every command and group callback registered."""
    out = []
    if group.registered_callback is not None:
        out.append((prefix or "<root>", group.registered_callback.callback))
    for c in group.registered_commands:
        out.append(((prefix + " " + (c.name or c.callback.__name__)).strip(), c.callback))
    for g in group.registered_groups:
        out += walk(g.typer_instance, (prefix + " " + str(g.name)).strip())
    return out


def test_every_command_and_callback_is_guarded() -> None:
    found = walk(app)
    assert len(found) >= 12
    for name, cb in found:
        assert getattr(cb, "__harness_guarded__", False), f"{name} has no error guard"


def click_commands() -> dict[str, Any]:
    root = typer.main.get_command(app)
    out: dict[str, Any] = {}

    def visit(cmd: Any, path: str) -> None:
        out[path] = cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            visit(sub, (path + " " + name).strip())

    visit(root, "")
    return out


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.command)
def test_format_choices_are_the_registry(registry: Registry[Any]) -> None:
    cmd = click_commands()[registry.command]
    fmt = next(p for p in cmd.params if p.name == "fmt")
    choices = [a for a in typing.get_args(fmt.type_descriptor.annotation) if a is not None]
    if len(choices) == 1:  # Optional[Literal[...]]
        choices = list(typing.get_args(choices[0]))
    assert tuple(choices) == registry.names
    assert any(p.name == "output" for p in cmd.params), "every format command takes --output"


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.command)
def test_every_registered_renderer_loads(registry: Registry[Any]) -> None:
    for name in registry.names:
        renderer = registry.get(name)
        assert isinstance(renderer, Renderer)


def test_every_renderer_class_is_registered() -> None:
    """Exhaustiveness (as pip-audit's format interface test): no renderer outside a registry."""
    registered = {t for r in REGISTRIES for t in r.formats.values()}
    for info in pkgutil.iter_modules(report_pkg.__path__):
        module = importlib.import_module(f"harness_audit.report.{info.name}")
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Renderer)
                and obj is not Renderer
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
            ):
                assert f"{obj.__module__}:{name}" in registered, f"{name} is in no registry"


def test_output_format_equals_path_for_every_command(tmp_path: Path) -> None:
    trail = SAMPLES / "support-refunds" / "trails"
    manifest = SAMPLES / "support-refunds" / "harness.yaml"
    cases = {
        "verify": ["verify", str(trail), "--allow-unanchored"],
        "sla": ["sla", str(manifest)],
        "graph": ["graph", str(manifest)],
        "rules": ["rules"],
    }
    for name, args in cases.items():
        out = tmp_path / f"{name}.json"
        r = runner.invoke(app, [*args, "-o", f"json={out}"])
        assert r.exit_code in (0, 1), (name, r.output)
        json.loads(out.read_text())
        assert r.stdout == "", name


def test_report_reads_the_same_config_as_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        "waivers:\n  - rule: HA-106\n    pipeline: loan-assessment\n    agent: '*'\n"
        "    justification: retention is set by the archive\n    owner: a@example.com\n"
        "    ticket: SEC-1\n    expires: 2999-01-01\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness-audit]\npaths = ["loan"]\nwaivers = "w.yaml"\n'
    )
    shutil.copytree(SAMPLES / "loan-assessment", tmp_path / "loan")
    monkeypatch.chdir(tmp_path)
    scan = runner.invoke(app, ["scan", "-f", "json", "--no-trails"])
    rep = runner.invoke(app, ["report", "-o", str(tmp_path / "pack"), "--no-pdf", "--no-trails"])
    assert rep.exit_code in (0, 1), rep.output
    pack = json.loads((tmp_path / "pack" / "findings.json").read_text())
    scanned = json.loads(scan.stdout)

    def waived(d: dict[str, Any]) -> list[str]:
        return sorted(f["rule"] for p in d["pipelines"] for f in p["findings"] if f.get("waived"))

    assert waived(scanned) == waived(pack) != []


def test_a_bad_config_value_names_the_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.harness-audit]\nformat = "xml"\n')
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["scan"])
    assert r.exit_code == 2
    assert "pyproject.toml [tool.harness-audit]: format:" in r.stderr
    assert "'xml'" in r.stderr and "Traceback" not in r.output


def test_config_does_not_reach_commands_that_do_not_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.harness-audit]\nformat = "xml"\n')
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["rules", "-f", "json"]).exit_code == 0


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("300", "less than or equal to 64"),
        ("1e8", "expected an integer"),
        ("0", "greater than or equal to 1"),
    ],
)
def test_config_jobs_is_bounded(
    value: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.harness-audit]\njobs = {value}\n")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["scan"])
    assert r.exit_code == 2 and said in r.stderr


def test_commands_are_registered_one_way_without_an_import_circle() -> None:
    """Command modules import ``_app`` (the groups and ``command``), never ``_cli``, and
    register through ``command``/``callback`` only (``test_every_command_and_callback_is_
    guarded`` fails for any other way)."""
    import ast

    import harness_audit.cli as cli_pkg

    folder = Path(cli_pkg.__path__[0])
    for f in folder.glob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        imported = {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        } | {
            f"{n.module}.{a.name}"
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
            for a in n.names
        }
        if f.name not in ("__init__.py", "_cli.py"):
            assert "harness_audit.cli._cli" not in imported, f.name
        if f.name in ("_app.py", "_io.py", "_options.py"):
            assert not {"harness_audit.cli._commands", "harness_audit.cli._import"} & imported
        source = f.read_text(encoding="utf-8")
        assert ".command(" not in source.replace("group.command(", ""), f.name


def test_an_option_shared_by_commands_is_declared_once() -> None:
    """Every option (or argument) that more than one command takes with the same flags and
    help is one ``Annotated`` alias in ``cli/_options.py``, declared nowhere else."""
    import ast
    from collections import Counter

    import harness_audit.cli as cli_pkg

    uses: Counter[tuple[tuple[str, ...], str]] = Counter()
    for cmd in click_commands().values():
        for p in cmd.params:
            if getattr(p, "help", None):
                uses[(tuple(o for o in p.opts if o.startswith("-")), p.help)] += 1
    shared = {k for k, n in uses.items() if n > 1}
    assert shared, "the trust options at least are shared"
    declared: dict[str, Counter[tuple[tuple[str, ...], str]]] = {}
    for f in Path(cli_pkg.__path__[0]).glob("*.py"):
        found: Counter[tuple[tuple[str, ...], str]] = Counter()
        for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in ("Option", "Argument"):
                flags = tuple(
                    a.value
                    for a in n.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
                helps = [k.value for k in n.keywords if k.arg == "help"]
                if helps and isinstance(helps[0], ast.Constant):
                    found[(flags, helps[0].value)] += 1
        declared[f.name] = found
    for key in shared:  # (--format's help is built in _options.py, from its registry)
        assert declared["_options.py"][key] == (0 if key[0] == ("--format", "-f") else 1), key
        assert all(d[key] == 0 for name, d in declared.items() if name != "_options.py"), key


def _coerced(runtime: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except Exception as e:  # the same refusal, word for word
        return type(e).__name__, str(getattr(e, "message", e))


def test_plain_coercion_is_typers_own(tmp_path: Path) -> None:
    """``cli/_coerce.py`` takes plain values without pydantic: for every option of every
    command, on its default and on a spread of values, the result (or the refusal) is the
    one typer's own coercion gives."""
    import click
    from typer import _coercion

    from harness_audit.cli._coerce import PlainRuntimeParam

    (tmp_path / "file").write_text("x")
    values: list[Any] = ["", "0", "1", "2", "64", "65", "-1", "007", "1e8", "1.5", " 3", "abc"]
    values += [str(tmp_path), str(tmp_path / "file"), str(tmp_path / "none"), "-", "table"]
    values += ["json", "TABLE", "any", "risk", "auto", "otlp", "equal", 1, 0, 2, 100, True]
    values += [1.5, None, Path("."), ["a", "b"], ("1", "2"), (str(tmp_path),), ["x", 1]]
    checked = 0
    for cmd in click_commands().values():
        ctx = click.Context(cmd)
        for p in cmd.params:
            d = p.type_descriptor
            if d.file_annotation is not None:
                continue
            ours = PlainRuntimeParam(d.parameter_info, d.annotation)
            typers = _coercion.build_runtime_param(d)
            for v in [p.default, *values]:
                if p.multiple or p.nargs != 1:
                    v = v if isinstance(v, (list, tuple)) or v is None else [v]
                assert _coerced(ours, v, p, ctx) == _coerced(typers, v, p, ctx), (p.name, v)
                checked += 1
    assert checked > 1000


def test_a_small_verify_does_not_import_pydantic(tmp_path: Path) -> None:
    import subprocess
    import sys

    trail = HARDENED / "trails"
    code = (
        "import sys\nfrom harness_audit.cli import main\ntry:\n    main()\n"
        "except SystemExit:\n    pass\nprint('pydantic' in sys.modules, file=sys.stderr)\n"
    )
    args = ["verify", str(trail), "--key", str(HARDENED / "keys" / "trail.pub"), "-j", "1"]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert "Status: VERIFIED" in r.stdout, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "False"
