"""Safe, bounded YAML reading that keeps where every value came from.

PyYAML's safe composer builds a node graph in which an alias is the same node object as its
anchor, so a "billion laughs" file composes in memory proportional to its size. Before anything is
expanded to Python values, the size the document *would* expand to is computed on that graph
(memoised per node, so in time proportional to the file); a document whose aliases multiply it
more than ``ALIAS_FACTOR`` times (and past ``EXPANSION_FLOOR`` values) is refused, whatever its
size, in bounded time and memory. Only the YAML 1.1 core tags are accepted
(no ``!!python/…`` or custom tags); duplicate mapping keys are errors, not silent overrides.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness_audit.errors import Diagnostic, InputError, ManifestError

try:  # LibYAML's parser is the faster (bench/README.md, Scan); the pure-Python one gives the
    # same nodes and marks.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
EXPANSION_FLOOR = 100_000
ALIAS_FACTOR = 10
MAX_DEPTH = 64
MAX_INT_BITS = 14_000
"""Integers are refused past this many bits (~4,200 digits): Python cannot turn a longer one
into text (``sys.get_int_max_str_digits``), and no manifest needs one."""

Path_ = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _TIMESTAMP = _TAG + "str", _TAG + "int", _TAG + "timestamp"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in the source file, 1-based."""

    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class YamlDocument:
    """A parsed document and, for every path in it, where its value (and key) starts.

    PyYAML's own marks are kept as they are and turned into 1-based :class:`Mark` on request.
    """

    file: str
    data: Any
    sha256: str = ""
    values: dict[Path_, Any] = field(default_factory=dict)
    keys: dict[Path_, Any] = field(default_factory=dict)

    def mark(self, path: Path_) -> Mark | None:
        """The mark of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if p in self.values:
                return _to_mark(self.values[p])
            if not p:
                return None
            p = p[:-1]

    def key_mark(self, path: Path_) -> Mark | None:
        """The mark of the mapping key at ``path``, or of its value (or nearest ancestor) where
        there is no key, as for list items."""
        raw = self.keys.get(tuple(path))
        return _to_mark(raw) if raw is not None else self.mark(path)


def _quote(text: str) -> str:
    """A scalar's text for a message: quoted, and cut to 40 characters."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _to_mark(raw: Any) -> Mark:
    return Mark(raw.line + 1, raw.column + 1)


def _mark(node: yaml.Node) -> Mark:
    return _to_mark(node.start_mark)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.doc = YamlDocument(file=file, data=None)
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def fail(self, node: yaml.Node, message: str, expected: str | None = None) -> ManifestError:
        m = _mark(node)
        return ManifestError(Diagnostic(self.file, message, m.line, m.column, expected))

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        self.doc.values.setdefault(path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag not in (_TAG + "map",):
                raise self.fail(node, f"tag {_short(node.tag)!r} is not allowed", "a plain mapping")
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                raise self.fail(node, f"tag {_short(node.tag)!r} is not allowed", "a plain list")
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f"tag {_short(node.tag)!r} is not allowed", "a plain scalar")
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """The value of a scalar of a core tag, or an error at it (never the constructor's)."""
        if node.tag in (_STR, _TIMESTAMP):
            return node.value  # dates stay text; the schema decides what they mean
        value = node.value
        if node.tag == _INT and value.isascii() and value.isdigit() and len(value) <= 4000:
            return int(value)  # the common case, without the constructor's generality
        kind = _short(node.tag)
        if len(node.value) > 4000 and node.tag == _INT:
            raise self.fail(
                node,
                f"an integer of {len(node.value):,} characters",
                "an integer of at most 4,000 digits",
            )
        try:
            value = self.constructor.construct_object(node)
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
            yaml.YAMLError,
        ):
            raise self.fail(
                node, f"{_quote(node.value)} is not a valid {kind}", f"a {kind} value, or no tag"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{_quote(node.value)} is not a finite number", "a finite number")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise self.fail(
                node,
                f"an integer of {value.bit_length():,} bits",
                "an integer of at most 4,000 digits",
            )
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
            key = (
                key_node.value if key_node.tag in (_STR, _TIMESTAMP) else str(self.scalar(key_node))
            )
            if key in out:
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (the second would silently replace the first)",
                    "each key once",
                )
            self.doc.keys[(*path, key)] = key_node.start_mark
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


def _check_expansion(file: str, root: yaml.Node) -> None:
    """Refuse alias amplification: expanded size over ALIAS_FACTOR x the unique nodes."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        m = _mark(node)
        if key in active:
            raise ManifestError(
                Diagnostic(
                    file, "recursive alias", m.line, m.column, "an alias to a finished anchor"
                )
            )
        if depth > MAX_DEPTH:
            raise ManifestError(
                Diagnostic(file, f"nesting deeper than {MAX_DEPTH} levels", m.line, m.column)
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(c, depth + 1) for c in node.value)
        active.discard(key)
        sizes[key] = total
        return total

    expanded = size(root, 0)
    limit = max(EXPANSION_FLOOR, ALIAS_FACTOR * len(sizes))
    if expanded > limit:
        raise ManifestError(
            Diagnostic(
                file,
                f"aliases expand {len(sizes):,} YAML nodes to {expanded:,} values (an alias bomb)",
                1,
                1,
                f"at most {limit:,} values after alias expansion",
            )
        )


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a whole input file, refusing one over ``max_bytes`` before reading it.

    Only a regular file is read: a directory, device, FIFO or socket is refused before it is
    opened (so a FIFO cannot block the read), and again after, on the open file.
    """
    name = str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(Diagnostic(name, "is a directory", expected="a file"))
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                Diagnostic(
                    name, "is not a regular file (a device, FIFO or socket)", expected="a file"
                )
            )
        if info.st_size > max_bytes:
            raise InputError(
                Diagnostic(
                    name, f"file is {info.st_size:,} bytes", expected=f"at most {max_bytes:,} bytes"
                )
            )
        with path.open("rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since the stat
                raise InputError(Diagnostic(name, "is not a regular file", expected="a file"))
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
) -> YamlDocument:
    """Parse one YAML document safely, with limits, keeping positions."""
    return parse_yaml(read_bytes(path, max_bytes), display or str(path))


def parse_yaml(raw: bytes, name: str) -> YamlDocument:
    """Parse one YAML document of bytes already read (``name`` is the file errors name)."""
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
    if b"*" in raw:  # no alias syntax anywhere: nothing can expand
        _check_expansion(name, root)
    builder = _Builder(name)
    builder.doc.sha256 = hashlib.sha256(raw).hexdigest()
    builder.doc.data = builder.build(root, (), 0)
    return builder.doc
