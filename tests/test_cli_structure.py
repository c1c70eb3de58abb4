"""The CLI's structure: registries, format choices, the error guard, config for every command."""

from __future__ import annotations

import ast
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
    help is one ``[option.ID]`` of ``cli/options.toml``, repeated by no command's own
    options; no typer option is declared in ``cli/`` code but the root's own."""
    import ast
    from collections import Counter

    import harness_audit.cli as cli_pkg
    from harness_audit.cli._options import SPEC, helped

    uses: Counter[tuple[tuple[str, ...], str]] = Counter()
    for cmd in click_commands().values():
        for p in cmd.params:
            if getattr(p, "help", None):
                uses[(tuple(o for o in p.opts if o.startswith("-")), p.help)] += 1
    shared = {k for k, n in uses.items() if n > 1}
    assert shared, "the trust options at least are shared"

    def key(e: dict[str, Any]) -> tuple[tuple[str, ...], str]:
        return tuple(e.get("flags", ())), helped(e.get("help", ""))

    declared = Counter(key(e) for e in SPEC["option"].values())
    own = Counter(key(e) for c in SPEC["command"].values() for e in c.get("option", {}).values())
    for k in shared - {(("--format", "-f"), "Output format (default: table).")}:
        assert declared[k] == 1 and own[k] == 0, k
    assert all(n == 1 for n in declared.values())
    for f in Path(cli_pkg.__path__[0]).glob("*.py"):
        calls = [
            n
            for n in ast.walk(ast.parse(f.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call)
            and getattr(n.func, "attr", "") in ("Option", "Argument")
            and any(k.arg == "help" and isinstance(k.value, ast.Constant) for k in n.keywords)
        ]
        assert len(calls) == (2 if f.name == "_app.py" else 0), f.name  # --version, --debug


def _reads(tree: ast.Module, name: str) -> set[str]:
    """The settings a function reads as ``s["x"]`` or ``o["x"]``, and those of the functions
    of the same module it calls, transitively."""
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    seen, todo, keys = set(), [name], set()
    while todo:
        f = funcs[todo.pop()]
        seen.add(f.name)
        for n in ast.walk(f):
            if (
                isinstance(n, ast.Subscript)
                and isinstance(n.value, ast.Name)
                and n.value.id in ("s", "o")
                and isinstance(n.slice, ast.Constant)
            ):
                keys.add(n.slice.value)
            called = getattr(getattr(n, "func", None), "id", None)
            if isinstance(n, ast.Call) and called in funcs and called not in seen:
                todo.append(called)
    return keys


def test_each_command_reads_only_the_options_it_declares() -> None:
    """The option table (``cli/options.toml``) and the functions agree: every setting a
    command's function (and the :mod:`harness_audit.actions` function it calls) reads is
    one of the command's declared options, and every declared option is read."""
    import ast
    import dataclasses

    import harness_audit.actions as actions_mod
    import harness_audit.cli._commands as commands_mod
    from harness_audit.capture.collect import CollectSettings
    from harness_audit.cli._options import SPEC, option

    cli_tree = ast.parse(Path(commands_mod.__file__).read_text(encoding="utf-8"))
    core_tree = ast.parse(Path(actions_mod.__file__).read_text(encoding="utf-8"))
    optional = {"require_pinned", "max_manifest_bytes", "sealed_late_after"}  # s.get(...)
    checked = 0
    for f in cli_tree.body:
        marks = [d for d in getattr(f, "decorator_list", []) if isinstance(d, ast.Call)]
        if not marks or getattr(marks[0].func, "id", "") != "command":
            continue
        path = marks[0].args[0].value  # type: ignore[attr-defined]
        params = {option(path, ref).get("param", ref) for ref in SPEC["command"][path]["params"]}
        read = _reads(cli_tree, f.name)
        for n in ast.walk(f):
            if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") == "actions":
                read |= _reads(core_tree, n.attr)
        if path == "collect":
            read |= {x.name for x in dataclasses.fields(CollectSettings)}
        if path in ("rules", "rules show", "trail checkpoint verify", "sla", "graph"):
            read |= {"fmt", "output"}  # read by _targets and Options.render
        assert read <= params, (path, read - params)
        assert params - optional <= read, (path, params - read)
        checked += 1
    assert checked == len(SPEC["command"])


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


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--help"],
        ["trail", "checkpoint", "verify", "--help"],
        ["trail", "seal"],
        ["rules", "show", "--help"],
        ["trail", "sael"],
        ["verifyy"],
        ["--help"],
    ],
)
def test_building_only_the_command_run_changes_nothing(args: list[str]) -> None:
    """``main()`` builds only the command its arguments name (``_app.only``): the same output
    and exit code as the whole application gives."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    code = "from harness_audit.cli import main; main()"
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    whole = runner.invoke(app, args, prog_name="harness-audit", terminal_width=78)
    assert (r.returncode, r.stdout, r.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
