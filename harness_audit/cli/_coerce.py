"""Typer's parameter coercion without pydantic for plain values (issue 28, item 4): typer 0.29
builds a pydantic ``TypeAdapter`` for every parameter it processes, most of a small ``verify``
(bench/README.md). A text, a path (with typer's own path checks), an integer within its bounds,
a ``Literal``'s choice and lists of those are taken here as typer takes them; anything else, and
every value these would refuse, goes to typer's own coercion, so each error stays typer's, word
for word (``tests/test_cli_structure.py`` holds the two to the same result for every option).
Installed by :func:`install` over typer's private ``get_runtime_param`` (typer pinned to 0.29).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from typer import _coercion, core
from typer._param_types import coerce_cli_path

_REFUSED = object()
_INT = re.compile(r"0|[1-9][0-9]{0,17}")


def plain(value: Any, annotation: Any, info: Any, param: Any = None, ctx: Any = None) -> Any:
    """``value`` as typer makes it of ``annotation``, or ``_REFUSED`` to leave it to typer."""
    if get_origin(annotation) is list:
        if not isinstance(value, (list, tuple)):
            return _REFUSED
        (item,) = get_args(annotation)
        done = [plain(v, item, info, param, ctx) for v in value]
        return _REFUSED if any(d is _REFUSED for d in done) else done
    if info.parser is not None:
        return _REFUSED
    if annotation is str:
        return value if isinstance(value, str) else _REFUSED
    if annotation is Path and isinstance(value, (str, Path)):
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    if annotation is int:
        if isinstance(value, str) and _INT.fullmatch(value):
            value = int(value)
        if type(value) is not int or info.clamp:
            return _REFUSED
        if (info.min is not None and value < info.min) or (
            info.max is not None and value > info.max
        ):
            return _REFUSED
        return value
    if get_origin(annotation) is Literal and info.case_sensitive:
        return value if isinstance(value, str) and value in get_args(annotation) else _REFUSED
    return _REFUSED


class PlainRuntimeParam(_coercion.RuntimeParam):
    """:func:`plain`, else typer's own coercion (built on first need)."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        done = plain(value, self.annotation, self.parameter_info, param, ctx)
        if done is not _REFUSED:
            return done
        typer_own = _coercion.build_runtime_param(param.type_descriptor)
        return typer_own._coerce_value(value, param=param, ctx=ctx)


def _get_runtime_param(self: Any) -> Any:
    if self._runtime_param is None:
        d = self.type_descriptor
        self._runtime_param = (
            _coercion.build_runtime_param(d)
            if d.file_annotation is not None
            else PlainRuntimeParam(d.parameter_info, d.annotation)
        )
    return self._runtime_param


def install() -> None:
    """Route typer's parameters through :class:`PlainRuntimeParam` (idempotent)."""
    core._TyperParameter.get_runtime_param = _get_runtime_param  # type: ignore[method-assign]
