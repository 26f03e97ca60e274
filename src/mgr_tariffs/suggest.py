""""Did you mean ...?" — one way to suggest the nearest known name for a misspelt one (columns, product
codes, municipalities, sheets)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name closest to ``word`` (compared without case), or ``None`` when none is close."""
    options = {name.casefold(): name for name in known}
    found = difflib.get_close_matches(word.strip().casefold(), list(options), n=1, cutoff=cutoff)
    return options[found[0]] if found else None


def did_you_mean(word: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'LN017'?"`` for the nearest known name, or ``""`` when none is close."""
    found = nearest(word, known, cutoff)
    return f"; did you mean {found!r}?" if found else ""
