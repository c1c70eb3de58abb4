"""Safe, bounded YAML reading that keeps where every value came from.

PyYAML's safe composer builds a node graph in which an alias is the same node object as its
anchor, so a "billion laughs" file composes in memory proportional to its size. Expansion to plain
Python values happens here, counting every value produced, so an alias bomb is refused after
``max_nodes`` values, in bounded time and memory. Only the YAML 1.1 core tags are accepted
(no ``!!python/…`` or custom tags); duplicate mapping keys are errors, not silent overrides.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness_audit.errors import Diagnostic, InputError, ManifestError

try:  # LibYAML's parser is ~10x faster; the pure-Python one gives the same nodes and marks.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_NODES = 200_000
MAX_DEPTH = 64

Path_ = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class YamlDocument:
    """A parsed document and, for every path in it, where its value (and key) starts."""

    file: str
    data: Any
    sha256: str = ""
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)

    def mark(self, path: Path_) -> Mark | None:
        """The mark of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if p in self.values:
                return self.values[p]
            if not p:
                return None
            p = p[:-1]

    def key_mark(self, path: Path_) -> Mark | None:
        return self.keys.get(tuple(path)) or self.mark(path)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, file: str, max_nodes: int) -> None:
        self.file = file
        self.max_nodes = max_nodes
        self.count = 0
        self.doc = YamlDocument(file=file, data=None)
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def fail(self, node: yaml.Node, message: str, expected: str | None = None) -> ManifestError:
        m = _mark(node)
        return ManifestError(Diagnostic(self.file, message, m.line, m.column, expected))

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise self.fail(
                node,
                f"document expands to more than {self.max_nodes:,} values "
                "(an alias bomb, or a manifest far larger than any real pipeline)",
                "a manifest without deeply repeated aliases",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag not in (_TAG + "map",):
                raise self.fail(node, f"tag {node.tag!r} is not allowed", "a plain mapping")
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                raise self.fail(node, f"tag {node.tag!r} is not allowed", "a plain list")
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f"tag {node.tag!r} is not allowed", "a plain scalar")
        if node.tag == _TAG + "timestamp":
            return str(node.value)  # dates stay text; the schema decides what they mean
        value = self.constructor.construct_object(node)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{node.value!r} is not a finite number", "a finite number")
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                for source in self._merge_sources(value_node, path, depth):
                    for k, v in source.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise self.fail(key_node, "mapping key is not a plain scalar", "a text key")
            key = str(self.constructor.construct_object(key_node))
            if key in out:
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (the second would silently replace the first)",
                    "each key once",
                )
            self.count += 1
            self.doc.keys[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def _merge_sources(self, node: yaml.Node, path: Path_, depth: int) -> list[dict[str, Any]]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = []
        for n in nodes:
            if not isinstance(n, yaml.MappingNode):
                raise self.fail(n, "merge key '<<' needs a mapping", "a mapping or list of them")
            sources.append(self._mapping(n, ("<<", *path), depth + 1))
        return sources


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a whole input file, refusing one over ``max_bytes`` before reading it."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                Diagnostic(name, f"file is {size:,} bytes", expected=f"at most {max_bytes:,} bytes")
            )
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except IsADirectoryError as e:
        raise InputError(Diagnostic(name, "is a directory", expected="a file")) from e
    except FileNotFoundError as e:
        raise InputError(Diagnostic(name, "no such file")) from e
    except OSError as e:
        raise InputError(Diagnostic(name, f"cannot be read: {e.strerror or e}")) from e
    if len(data) > max_bytes:
        raise InputError(Diagnostic(name, "file grew past the size limit while being read"))
    return data


def load_yaml(
    path: Path,
    *,
    display: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> YamlDocument:
    """Parse one YAML document safely, with limits, keeping positions."""
    name = display or str(path)
    raw = read_bytes(path, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ManifestError(
            Diagnostic(name, f"invalid UTF-8 at byte {e.start}", line, expected="UTF-8 text")
        ) from e
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "YAML syntax error"
        raise ManifestError(
            Diagnostic(
                name,
                f"YAML syntax error: {problem}",
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
            )
        ) from None
    except yaml.YAMLError as e:
        raise ManifestError(Diagnostic(name, f"YAML error: {e}")) from None
    except RecursionError:
        raise ManifestError(
            Diagnostic(name, "nesting too deep to parse", expected=f"at most {MAX_DEPTH} levels")
        ) from None
    finally:
        loader.dispose()
    if root is None:
        raise ManifestError(Diagnostic(name, "the file is empty", 1, expected="a YAML mapping"))
    builder = _Builder(name, max_nodes)
    builder.doc.sha256 = hashlib.sha256(raw).hexdigest()
    builder.doc.data = builder.build(root, (), 0)
    return builder.doc
