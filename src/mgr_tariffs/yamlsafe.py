"""YAML that cannot hurt: safe composing only, line marks kept, duplicate keys caught.

PyYAML's loaders keep the last of two equal keys without a word and build floats from
``48.60``. Here the document is *composed* (never constructed), every node is turned into a
plain value by hand, and each value's line is remembered by its path, so later rules can say
``tariffs.yaml:12: ...``. Scalars tagged as floats become ``Decimal`` straight from their text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .problems import InputError, Problem, error

MAX_BYTES = 2 * 1024 * 1024
"""Largest YAML file accepted (2 MiB); a tariff or parties file is a few kilobytes."""
MAX_NODES = 100_000
"""Most values one document may expand to, aliases counted each time they are used."""

Path_ = tuple[str | int, ...]
_TAG = "tag:yaml.org,2002:"
_SAFE_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}


@dataclass
class Located:
    """A loaded document: its plain value, the line of every path in it, and what went wrong."""

    value: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: Path_) -> int | None:
        """The line of a path, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


class _Budget(Exception):
    pass


@dataclass
class _Builder:
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Budget
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _SAFE_TAGS:
            self.problems.append(error(self.file, node.start_mark.line + 1, f"tag {node.tag!r} is not allowed"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is None or key_node.tag == f"{_TAG}merge":
                self.problems.append(error(self.file, line, "keys must be plain text (no merge keys)"))
                continue
            if key in result:
                first = self.lines.get((*path, key))
                self.problems.append(error(self.file, line, f"duplicate key {key!r} (first on line {first})"))
                continue
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        text = str(node.value)
        line = node.start_mark.line + 1
        try:
            return _convert_scalar(node.tag.removeprefix(_TAG), text)
        except (ValueError, InvalidOperation):
            self.problems.append(error(self.file, line, f"{text!r} is not a valid {node.tag.removeprefix(_TAG)}"))
            return text


def _convert_scalar(kind: str, text: str) -> Any:
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in {"true", "yes", "on", "y"}
    if kind == "int":
        return int(text.replace("_", ""), 0)
    if kind == "float":
        return Decimal(text.replace("_", ""))  # exact: from the text, never via a binary float
    if kind == "timestamp":
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    return text


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """The text of a small file, or :class:`InputError` for what is not one."""
    if not path.exists():
        raise InputError(str(path), "no such file")
    if not path.is_file():
        raise InputError(str(path), "not a file")
    size = path.stat().st_size
    if size > limit:
        raise InputError(str(path), f"file is {size:,} bytes; at most {limit:,} are accepted")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(str(path), exc.strerror or "cannot be read") from None


def load_yaml(text: str, file: str) -> Located:
    """Compose one YAML document safely into plain values with line marks and all problems."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return Located(None, problems=[error(file, line, f"not valid YAML: {exc.problem or exc.context}")])
    except yaml.YAMLError as exc:
        return Located(None, problems=[error(file, None, f"not valid YAML: {exc}")])
    except RecursionError:
        return Located(None, problems=[error(file, 1, "the document is nested too deeply")])
    if len(nodes) != 1:
        what = "empty" if not nodes else f"{len(nodes)} documents; exactly one is expected"
        return Located(None, problems=[error(file, 1, f"the file is {what}")])
    builder = _Builder(file)
    try:
        value = builder.build(nodes[0], ())
    except (_Budget, RecursionError):
        msg = f"the document expands to more than {MAX_NODES:,} values (alias bomb?)"
        return Located(None, problems=[error(file, 1, msg)])
    return Located(value, builder.lines, builder.problems)
