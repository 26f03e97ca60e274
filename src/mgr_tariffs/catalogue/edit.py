"""Edit ``tariffs.yaml`` in place, keeping every comment, anchor and the layout.

The file is read with ruamel.yaml's round-trip loader, which keeps comments, anchors, quotes and
block scalars; only the nodes an indexation touches change: ``until`` is added to the period that
is closed (after its ``from``), a new period is appended, or a provisional period's ``amount`` and
``indexation`` are replaced. A comment that followed the old last period (the heading of the next
product) moves behind the new one, so it stays where it was in the text.

A price list shared through an anchor (``prices: &from_2021_50_40`` ... ``prices: *from_2021_50_40``)
is edited once when every product sharing it is indexed. When only some are, the products whose
list would change differently get a list of their own: the sharing is undone there and nowhere else.

Amounts and percentages are written from their ``Decimal`` text (``48.60``), never through a float.
:func:`index_text` plans the indexation, makes it and checks the result with the catalogue rules;
whoever writes the text refuses it when it has errors.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.util import load_yaml_guess_indent

from mgr_tariffs.catalogue.indexation import IndexationError, IndexRequest, PeriodChange, plan_indexation
from mgr_tariffs.catalogue.loader import parse_catalogue
from mgr_tariffs.catalogue.models import Indexation
from mgr_tariffs.problems import Problem, errors_only, has_errors


class EditError(Exception):
    """The text cannot be edited (it is not the catalogue the plan was made for)."""


class _Representer(RoundTripRepresenter):
    """Round-trip output that writes ``Decimal`` as its text and never invents an anchor for a date or number.

    ruamel.yaml writes a value it meets twice as an anchor and an alias (``&id001``); a date or an
    amount used by two periods is two values, not one shared node. Anchors from the file are kept.
    """

    def ignore_aliases(self, data: Any) -> bool:
        if isinstance(data, dt.date | Decimal):
            return True
        return bool(super().ignore_aliases(data))


def _represent_decimal(representer: RoundTripRepresenter, value: Decimal) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


_Representer.add_representer(Decimal, _represent_decimal)


def _yaml(text: str) -> YAML:
    """A round-trip YAML that writes lists indented as ``text`` does (the shipped file: ``  - `` under a key)."""
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was not folded
    sequence, offset = 4, 2
    try:
        _, guessed, dash = load_yaml_guess_indent(text)
    except YAMLError:
        guessed = dash = None
    if isinstance(guessed, int) and isinstance(dash, int):
        sequence, offset = guessed, dash
    yaml.indent(mapping=max(2, sequence - offset), sequence=sequence, offset=offset)
    return yaml


def apply_changes(text: str, changes: Sequence[PeriodChange]) -> str:
    """The text of the catalogue with ``changes`` made; everything else as it was."""
    windows = "\r\n" in text
    if windows:
        text = text.replace("\r\n", "\n")
    yaml = _yaml(text)
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise EditError(f"cannot be read for editing: {exc}") from None
    products = _products(document)
    wanted = {change.code: change for change in changes}
    missing = [code for code in wanted if code not in products]
    if missing:
        raise EditError(f"products {', '.join(missing)} are not in the file")
    _unshare(list(products.values()), wanted)
    done: set[int] = set()
    for code, change in wanted.items():
        prices = products[code]["prices"]
        if id(prices) not in done:
            done.add(id(prices))
            _apply(prices, change)
    out = io.StringIO()
    yaml.dump(document, out)
    result = out.getvalue()
    return result.replace("\n", "\r\n") if windows else result  # Windows line ends stay


def _products(document: Any) -> dict[str, CommentedMap]:
    items = document.get("products") if isinstance(document, CommentedMap) else None
    if not isinstance(items, CommentedSeq):
        raise EditError("has no list of products")
    found = {}
    for item in items:
        if isinstance(item, CommentedMap) and isinstance(item.get("prices"), CommentedSeq):
            found[str(item.get("code"))] = item
    return found


def _unshare(products: list[CommentedMap], wanted: dict[str, PeriodChange]) -> None:
    """Give a product its own price list where sharing it would index a product that was not asked for.

    The first product of a shared list is where its anchor is written. When that product keeps the
    shared list, every other sharer that must differ gets a copy; when it must differ itself, it is
    the one that is edited in place and the others get (unedited) copies.
    """
    sharers: dict[int, list[CommentedMap]] = {}
    for product in products:
        sharers.setdefault(id(product["prices"]), []).append(product)
    for group in sharers.values():
        changes = {_change_key(wanted.get(str(p["code"]))) for p in group}
        if len(group) == 1 or len(changes) == 1:
            continue
        keeper = _change_key(wanted.get(str(group[0]["code"])))
        for product in group[1:]:
            if _change_key(wanted.get(str(product["code"]))) != keeper:
                product["prices"] = _copy(product["prices"])


def _change_key(change: PeriodChange | None) -> tuple[Any, ...] | None:
    return None if change is None else (change.start, change.amount, change.indexation, change.replaces is None)


def _copy(node: Any) -> Any:
    """A fresh list or mapping with the same scalars: no anchor, no comments (they stay with the original).

    Scalars are shared, so an anchored one (``assumption: &participation_start``) is written as its alias.
    """
    if isinstance(node, CommentedMap):
        fresh = CommentedMap()
        for key, value in node.items():
            fresh[key] = _copy(value)
        return fresh
    if isinstance(node, CommentedSeq):
        return CommentedSeq(_copy(value) for value in node)
    return node


def _apply(prices: CommentedSeq, change: PeriodChange) -> None:
    last = prices[-1]
    expected = change.start if change.replaces is not None else change.closes.start if change.closes else None
    if not isinstance(last, CommentedMap) or (expected is not None and _day(last.get("from")) != expected):
        raise EditError(f"{change.code}: the last price in the file is not the one the indexation was planned for")
    comment = _take_trailing_comment(last)
    if last.anchor.value is not None:  # a period shared through an anchor: this list gets its own copy
        last = _copy(last)
        prices[-1] = last
    if change.replaces is not None:
        last["amount"] = change.amount
        last["indexation"] = _indexation_map(change.indexation)
        _put_trailing_comment(last, comment)
        return
    if change.closes is not None:
        last.insert(list(last.keys()).index("from") + 1, "until", change.start - dt.timedelta(days=1))
    period = CommentedMap()
    period["from"] = change.start
    period["amount"] = change.amount
    period["indexation"] = _indexation_map(change.indexation)
    prices.append(period)
    _put_trailing_comment(period, comment)


def _put_trailing_comment(mapping: CommentedMap, comment: Any) -> None:
    if comment is not None:
        holder = _deepest_last(mapping)
        holder.ca.items[_last_key(holder)] = comment


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _indexation_map(index: Indexation) -> CommentedMap:
    fields = index.model_dump(exclude_none=True)
    order = ("base", "percent", "ova", "ppc", "weights", "rounding", "precision", "replaces", "note")
    result = CommentedMap()
    for key in order:
        if key in fields:
            value = fields[key]
            result[key] = value.value if hasattr(value, "value") else value
    return result


def _deepest_last(mapping: CommentedMap) -> CommentedMap:
    """The mapping that holds the last line of ``mapping`` (its last value, while that is a mapping)."""
    while mapping and isinstance(mapping[_last_key(mapping)], CommentedMap):
        mapping = mapping[_last_key(mapping)]
    return mapping


def _last_key(mapping: CommentedMap) -> Any:
    return list(mapping.keys())[-1]


def _take_trailing_comment(mapping: CommentedMap) -> Any:
    """Remove and return the comment written after the last line of ``mapping`` (``None`` when there is none)."""
    holder = _deepest_last(mapping)
    if not holder:
        return None
    key = _last_key(holder)
    entry = holder.ca.items.get(key)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None:
        return None
    line, newline, rest = token.value.partition("\n")
    moved = copy.copy(token)
    if line.strip():  # a comment at the end of the line itself stays there; what follows it moves
        kept = copy.copy(token)
        kept.value = line + newline
        entry[2] = kept
        moved.value = "\n" + rest if rest else ""
        if not rest:
            return None
    else:
        entry[2] = None
    result = [None, None, moved, None]
    return result


@dataclass(frozen=True)
class IndexOutcome:
    """What an indexation did to a catalogue's text: the changes, the new text and its problems."""

    changes: list[PeriodChange]
    text: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)


def index_text(text: str, file: str, request: IndexRequest) -> IndexOutcome:
    """Index the catalogue ``text`` as ``request`` asks; the result is checked like ``mgr validate`` does.

    Raises :class:`IndexationError` when the catalogue is invalid or the indexation cannot be made.
    """
    loaded = parse_catalogue(text, file)
    if loaded.catalogue is None or not loaded.ok:
        raise IndexationError([str(p) for p in errors_only(loaded.problems)] or [f"{file}: invalid catalogue"])
    changes = plan_indexation(loaded.catalogue, request)
    try:
        new_text = apply_changes(text, changes)
    except EditError as exc:
        raise IndexationError([f"{file}: {exc}"]) from None
    return IndexOutcome(changes, new_text, parse_catalogue(new_text, file).problems)
