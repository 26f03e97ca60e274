"""YAML that cannot hurt: safe composing only, line marks kept, duplicate keys caught.

PyYAML's loaders keep the last of two equal keys without a word and build floats from
``48.60``. Here the document is *composed* (never constructed), every node is turned into a
plain value by hand, and each value's line is remembered by its path, so later rules can say
``tariffs.yaml:12: ...``. Scalars tagged as floats become ``Decimal`` straight from their text.

Hostile input is bounded: at most :data:`MAX_BYTES` of text, :data:`MAX_DEPTH` levels of nesting,
:data:`MAX_NODES` values (aliases counted every time they are used) and :data:`MAX_TEXT` characters
in one key or value, so neither a deeply nested file, an alias bomb ("billion laughs") nor a name of
150,000 characters can exhaust the stack, the memory or the clock.
Only the standard tags (str, int, float, bool, null, timestamp, map, seq) are accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from mgr_tariffs.problems import InputError, Problem, error
from mgr_tariffs.text import describe, forbidden_character

MAX_BYTES = 2 * 1024 * 1024
"""Largest YAML file accepted (2 MiB); a tariff or parties file is a few kilobytes."""
MAX_NODES = 100_000
"""Most values one document may expand to, aliases counted each time they are used."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted (the tariff file needs 5)."""
MAX_TEXT = 10_000
"""Longest key or value accepted, in characters (the longest text of the tariff file has about 260)."""

Path_ = tuple[str | int, ...]
_TAG = "tag:yaml.org,2002:"
_SAFE_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}
_DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")


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


class _Limit(Exception):
    """A bound was exceeded; composing or building stops at once."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _too_many(line: int) -> _Limit:
    return _Limit(line, f"the document expands to more than {MAX_NODES:,} values (alias bomb?)")


def _too_deep(line: int) -> _Limit:
    return _Limit(line, f"the document is nested more than {MAX_DEPTH} levels deep")


class _Bounds:
    """A depth and a node budget on PyYAML's composer, so it never recurses without end."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        line = self.peek_event().start_mark.line + 1  # type: ignore[attr-defined]
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _too_many(line)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _too_deep(line)
            return super().compose_node(parent, index)  # type: ignore[misc, no-any-return]
        finally:
            self._depth -= 1


class _BoundedLoader(_Bounds, yaml.SafeLoader):
    """The pure-Python scanner and parser with the bounded composer (used where libyaml is missing)."""


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


@dataclass
class _Builder:
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        line = node.start_mark.line + 1
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _too_many(line)
        if len(path) > MAX_DEPTH:
            raise _too_deep(line)
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node)
        if node.tag not in _SAFE_TAGS:
            self.problems.append(error(self.file, line, f"tag {_short_tag(node.tag)} is not allowed"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            if key in result:
                first = self.lines.get((*path, key))
                line = key_node.start_mark.line + 1
                self.problems.append(error(self.file, line, f"duplicate key {key!r} (first on line {first})"))
                continue
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result

    def _key(self, node: yaml.Node) -> str | None:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node)
        if not isinstance(node, yaml.ScalarNode) or node.tag == f"{_TAG}merge":
            self.problems.append(error(self.file, line, "keys must be plain text (no merge keys or complex keys)"))
            return None
        if node.tag not in _SAFE_TAGS:
            self.problems.append(error(self.file, line, f"tag {_short_tag(node.tag)} is not allowed"))
            return None
        return str(node.value)

    def _scalar(self, node: yaml.Node) -> Any:
        return self.scalar(node.tag, str(node.value), node.start_mark.line + 1)

    def scalar(self, tag: str, text: str, line: int) -> Any:
        """The plain value of a scalar with a safe tag, or its text and a problem."""
        kind = tag.removeprefix(_TAG)
        try:
            return convert_scalar(kind, text)
        except _Refused as exc:
            self.problems.append(error(self.file, line, f"{text!r} is not a valid {kind}: {exc}"))
        except (ValueError, InvalidOperation):
            self.problems.append(error(self.file, line, f"{text!r} is not a valid {kind}"))
        return text


def _check_scalar(node: yaml.ScalarNode) -> None:
    _check_text(str(node.value), node.start_mark.line + 1)


def _check_text(text: str, line: int) -> None:
    """A key or value over :data:`MAX_TEXT` characters, or one holding a character no document can carry
    (a double-quoted ``"\\0"``, ``"\\x1b"`` or ``"\\uFFFE"`` escape), stops the document at its line."""
    size = len(text)
    if size > MAX_TEXT:
        raise _Limit(line, f"a key or value of {size:,} characters; at most {MAX_TEXT:,} are accepted")
    char = forbidden_character(text)
    if char is not None:
        raise _Limit(line, f"a key or value holds {describe(char)}, which no document can carry")


class _Refused(ValueError):
    """A scalar YAML would read, but as something its writer hardly meant; the message says what to write."""


def convert_scalar(kind: str, text: str) -> Any:
    """The plain value of a scalar with a standard tag; numbers are exact (int or ``Decimal``)."""
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in {"true", "yes", "on"}
    if kind == "int":
        return _to_int(text)
    if kind == "float":
        return _to_decimal(text)
    if kind == "timestamp":
        return _to_date(text)
    return text


def _to_date(text: str) -> dt.date | str:
    """A date or date-time; what only looks like one (2019-02-30) stays text for the schema to report."""
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        return text


def _to_int(text: str) -> int:
    if not _DECIMAL_INT.match(text):  # YAML 1.1 octal 0777, 0x1F, 0b101, 1:30 (base 60)
        raise _Refused("write a plain decimal number, or quote the value if it is text")
    return int(text.replace("_", ""))


def _to_decimal(text: str) -> Decimal:
    if text.lower().lstrip("+-") in {".inf", ".nan"}:
        raise _Refused("write a finite number")
    return Decimal(text.replace("_", ""))  # exact: from the text, never via a binary float


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
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), exc.strerror or "cannot be read") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(str(path), f"a binary file, not text (NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def load_yaml(text: str, file: str) -> Located:
    """Compose one YAML document safely into plain values with line marks and all problems.

    libyaml (C) reads the text when it is installed; a text it finds broken is read again by PyYAML's
    pure-Python parser, whose messages say more ("found character '\\t' that cannot start any token").
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return _failed(file, 1, f"the text is {size:,} bytes; at most {MAX_BYTES:,} are accepted")
    fast = _load_fast(text, file) if yaml.__with_libyaml__ else None
    return fast if fast is not None else _load_slow(text, file)


def _load_slow(text: str, file: str) -> Located:
    try:
        nodes = _compose_all(text)
    except _Limit as exc:
        return _failed(file, exc.line, exc.message)
    except yaml.YAMLError as exc:
        return _failed(file, *_yaml_error(exc, text))
    if len(nodes) != 1:
        what = "empty" if not nodes else f"{len(nodes)} documents; exactly one is expected"
        return _failed(file, 1, f"the file is {what}")
    builder = _Builder(file)
    try:
        value = builder.build(nodes[0], ())
    except _Limit as exc:
        return _failed(file, exc.line, exc.message)
    return Located(value, builder.lines, builder.problems)


def _compose_all(text: str) -> list[yaml.Node]:
    loader = _BoundedLoader(text)
    try:
        nodes = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        return nodes
    finally:
        loader.dispose()


class _Events:
    """One document built straight from libyaml's event stream (C: ~5x faster than composing nodes in Python
    on a large catalogue), with the same values, lines, problems and bounds as :class:`_Builder` on nodes.

    An alias is built again from the events of its anchor each time it is used, so the node budget counts
    every use (an alias bomb stops at :data:`MAX_NODES`).
    """

    def __init__(self, events: list[yaml.Event], builder: _Builder) -> None:
        self.events = events
        self.builder = builder
        self.anchors: dict[str, int] = {}
        self.at = 0
        self.resolver = yaml.resolver.Resolver()
        self.tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def _tag(self, event: yaml.ScalarEvent) -> str:
        """The scalar's tag as PyYAML's composer resolves it (plain scalars by their text), once per text."""
        if event.tag is not None and event.tag != "!":
            return event.tag
        key = (event.value, event.implicit)
        found = self.tags.get(key)
        if found is None:
            found = self.tags[key] = str(self.resolver.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, event.value, event.implicit))
        return found

    def node(self, path: Path_) -> Any:
        """Build the node at the cursor (and move past it)."""
        event = self.events[self.at]
        line = _line(event)
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, line, path)
        b = self.builder
        b.nodes += 1
        if b.nodes > MAX_NODES:
            raise _too_many(line)
        if len(path) > MAX_DEPTH:
            raise _too_deep(line)
        if event.anchor is not None:  # type: ignore[attr-defined]
            self.anchors[event.anchor] = self.at  # type: ignore[attr-defined]
        b.lines.setdefault(path, line)
        if isinstance(event, yaml.ScalarEvent):
            self.at += 1
            _check_text(event.value, line)
            tag = self._tag(event)
            if tag not in _SAFE_TAGS:
                b.problems.append(error(b.file, line, f"tag {_short_tag(tag)} is not allowed"))
                return None
            return b.scalar(tag, event.value, line)
        tag = event.tag if event.tag not in (None, "!") else (  # type: ignore[attr-defined]
            f"{_TAG}map" if isinstance(event, yaml.MappingStartEvent) else f"{_TAG}seq")
        if tag not in _SAFE_TAGS:
            b.problems.append(error(b.file, line, f"tag {_short_tag(tag)} is not allowed"))
            self._skip()
            return None
        self.at += 1
        return self._sequence(path) if isinstance(event, yaml.SequenceStartEvent) else self._mapping(path)

    def _alias(self, event: yaml.AliasEvent, line: int, path: Path_) -> Any:
        start = self.anchors.get(event.anchor or "")
        self.at += 1
        if start is None:
            raise _Limit(line, f"not valid YAML: found undefined alias {event.anchor!r}")
        back, self.at = self.at, start
        try:
            return self.node(path)
        finally:
            self.at = back

    def _sequence(self, path: Path_) -> list[Any]:
        items: list[Any] = []
        while not isinstance(self.events[self.at], yaml.SequenceEndEvent):
            items.append(self.node((*path, len(items))))
        self.at += 1
        return items

    def _mapping(self, path: Path_) -> dict[str, Any]:
        b = self.builder
        result: dict[str, Any] = {}
        while not isinstance(self.events[self.at], yaml.MappingEndEvent):
            event = self.events[self.at]
            line = _line(event)
            key = self._key(event, line)
            if key is None:
                self._skip()
                self._skip()
                continue
            self.at += 1
            if key in result:
                first = b.lines.get((*path, key))
                b.problems.append(error(b.file, line, f"duplicate key {key!r} (first on line {first})"))
                self._skip()
                continue
            b.lines[(*path, key)] = line
            result[key] = self.node((*path, key))
        self.at += 1
        return result

    def _key(self, event: yaml.Event, line: int) -> str | None:
        b = self.builder
        if isinstance(event, yaml.ScalarEvent):
            _check_text(event.value, line)
        tag = self._tag(event) if isinstance(event, yaml.ScalarEvent) else None
        if tag is None or tag == f"{_TAG}merge" or isinstance(event, yaml.AliasEvent):
            b.problems.append(error(b.file, line, "keys must be plain text (no merge keys or complex keys)"))
            return None
        if tag not in _SAFE_TAGS:
            b.problems.append(error(b.file, line, f"tag {_short_tag(tag)} is not allowed"))
            return None
        return str(event.value)  # type: ignore[attr-defined]

    def _skip(self) -> None:
        """Move past the node at the cursor without building it (anchors in it are still remembered)."""
        depth = 0
        while True:
            event = self.events[self.at]
            if getattr(event, "anchor", None) is not None and not isinstance(event, yaml.AliasEvent):
                self.anchors[event.anchor] = self.at  # type: ignore[attr-defined]
            self.at += 1
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if depth == 0:
                return


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _events(text: str) -> list[yaml.Event]:
    """libyaml's events of the text, with the nesting bounded before anything is built."""
    parser: Any = yaml.CSafeLoader(text)
    events: list[yaml.Event] = []
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(_line(event))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            events.append(event)
            if len(events) > 4 * MAX_NODES:
                raise _too_many(_line(event))
    finally:
        parser.dispose()
    return events


def _load_fast(text: str, file: str) -> Located | None:
    """:func:`load_yaml` through libyaml; ``None`` when libyaml finds the text broken (the pure-Python parser
    then says why, in its clearer words)."""
    try:
        events = _events(text)
    except yaml.YAMLError:
        return None
    except _Limit as exc:
        return _failed(file, exc.line, exc.message)
    documents = [i for i, e in enumerate(events) if isinstance(e, yaml.DocumentStartEvent)]
    if len(documents) != 1:
        what = "empty" if not documents else f"{len(documents)} documents; exactly one is expected"
        return _failed(file, 1, f"the file is {what}")
    builder = _Builder(file)
    reader = _Events(events, builder)
    reader.at = documents[0] + 1
    try:
        value = reader.node(())
    except _Limit as exc:
        return _failed(file, exc.line, exc.message)
    return Located(value, builder.lines, builder.problems)


def _failed(file: str, line: int | None, message: str) -> Located:
    return Located(None, problems=[error(file, line, message)])


def _yaml_error(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """Line and one-line message of a scanner, parser, composer or reader error."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return (mark.line + 1 if mark else None), f"not valid YAML: {exc.problem or exc.context}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return line, f"not valid YAML: character #x{code:04x} is not allowed ({exc.reason})"
    return None, f"not valid YAML: {' '.join(str(exc).split())}"
