"""Each command's typer parameters, built from ``options.toml`` (its options and help, declared
once, as data). A command function takes one :class:`Options`: its settings by parameter name,
each already resolved by Click (the flag, else the project config's value, from
:func:`harness_audit.config.config_default_map`, else the option's default).

The parameters are built as real objects (a ``__signature__``), so typer evaluates no string
annotation at start-up.
"""

from __future__ import annotations

import functools
import inspect
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import typer

from harness_audit.errors import ExitCode

SPEC = tomllib.loads(Path(__file__).with_name("options.toml").read_text(encoding="utf-8"))
TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool, "path": Path}
KEYWORDS = ("metavar", "min", "max", "show_default")


class Options(dict[str, Any]):
    """A command's settings by parameter name, with where each came from."""

    def __init__(self, ctx: typer.Context, path: str, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.ctx, self.path = ctx, path

    @property
    def from_config(self) -> set[str]:
        """The settings whose value came from the project config."""
        source = self.ctx.get_parameter_source
        return {n for n in self if getattr(source(n), "name", "") == "DEFAULT_MAP"}

    def targets(self, *inputs: Path) -> list[tuple[str, Path]]:
        """The ``--output`` targets (format, path), none of them one of ``inputs``."""
        from harness_audit.report.outputs import output_targets

        return output_targets(registry(self.path), self["fmt"], self["output"], inputs)

    def render(self, result: Any, targets: list[tuple[str, Path]]) -> None:
        """Render ``result`` in this command's ``--format`` (see :func:`_app.emit`)."""
        from harness_audit.cli._app import emit

        emit(registry(self.path), result, self["fmt"] or registry(self.path).names[0], targets)


def registry(path: str) -> Any:
    """The renderer registry of the command ``path``."""
    from harness_audit.report import REGISTRIES

    return next(r for r in REGISTRIES if r.command == path)


def _choices(choices: str | list[str], path: str) -> tuple[str, ...]:
    from harness_audit import import_formats as formats
    from harness_audit.findings import FailOn

    if isinstance(choices, list):
        return tuple(choices)
    named = {"@traces": formats.TRACE_CHOICES, "@definitions": formats.DEFINITION_CHOICES}
    named["@fail-on"] = get_args(FailOn)
    return registry(path).names if choices == "@registry" else named[choices]


def _type(spec: str, choices: Any, path: str) -> Any:
    if spec.endswith("?"):
        return _type(spec[:-1], choices, path) | None
    if spec.startswith("["):
        return list[_type(spec[1:-1], choices, path)]  # type: ignore[misc]
    if spec.startswith("("):
        return tuple[tuple(_type(t, choices, path) for t in spec[1:-1].split(","))]  # type: ignore[misc]
    return Literal[_choices(choices, path)] if spec == "choice" else TYPES[spec]


def helped(text: str) -> str:
    """Help text with the trace and definition formats' labels filled in."""
    from harness_audit.import_formats import DEFINITIONS, TRACES, labels

    return text.replace("{traces}", labels(TRACES)).replace("{definitions}", labels(DEFINITIONS))


def option(path: str, ref: str) -> dict[str, Any]:
    """The declaration ``ref`` of the command ``path``: its own, else the shared one."""
    own = SPEC["command"][path].get("option", {})
    return dict(own[ref] if ref in own else SPEC["option"][ref])


def parameter(path: str, ref: str) -> inspect.Parameter:
    """The typer parameter of ``ref`` in the command ``path``."""
    e = option(path, ref)
    kw = {k: e[k] for k in KEYWORDS if k in e}
    if "help" in e:
        kw["help"] = helped(e["help"])
    info = typer.Argument(**kw) if e.get("argument") else typer.Option(*e["flags"], **kw)
    default = e.get("default", None if e["type"].endswith("?") else inspect.Parameter.empty)
    if isinstance(default, str) and e["type"] == "path":
        default = Path(default)
    hint = Annotated[_type(e["type"], e.get("choices"), path), info]  # type: ignore[valid-type]
    return inspect.Parameter(
        e.get("param", ref), inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint
    )


class Command:
    """The typer callback of the command ``path``: it calls ``func`` with the settings and
    exits with the code ``func`` returns. Its parameters (from ``options.toml``) are built when
    typer first asks for its signature, so a run builds those of the commands it meets."""

    def __init__(self, path: str, func: Callable[[Options], int | None]) -> None:
        self.path, self.func = path, func
        self.__name__ = self.__qualname__ = func.__name__
        self.__annotations__: dict[str, Any] = {}  # every parameter's is in the signature

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        ctx = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
        refs = SPEC["command"][self.path]["params"]
        return inspect.Signature([ctx, *(parameter(self.path, ref) for ref in refs)])

    def __call__(self, ctx: typer.Context, **values: Any) -> None:
        code = self.func(Options(ctx, self.path, values))
        if code:
            raise typer.Exit(ExitCode(code))
