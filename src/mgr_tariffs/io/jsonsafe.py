"""JSON text that cannot hurt the parser: bounded in size and nesting before :func:`json.loads` sees it.

Python's JSON decoder recurses once per level of nesting; ``[[[[...]]]]`` a hundred thousand levels deep
ends in a ``RecursionError`` (or worse, a crash of the interpreter's stack) instead of a message. The
nesting is therefore measured first, in one pass over the bytes, and refused above :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import re
from itertools import accumulate
from pathlib import Path

from mgr_tariffs.io.files import read_bounded
from mgr_tariffs.problems import InputError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "depth", "read_json_text"]

MAX_BYTES = 1024**3
"""Largest JSON file read (1 GiB), as for tables: ``mgr bill --json`` of a million rows is about 400 MB."""
MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (``mgr bill --json`` output has 4 levels)."""

_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do not count).

    Linear, in C-speed passes: escaped backslashes and quotes are dropped (left to right, as JSON reads
    them), then everything but quotes and brackets; two adjacent quotes enclose no bracket and go too, so
    only strings with a bracket in them are left to remove. The running sum of the brackets left is the
    depth. Broken JSON gives some number; the parser reports what is wrong with it.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _STRING.sub(b"", skeleton)
    return max(accumulate(_STEP.get(byte, 0) for byte in skeleton), default=0)


def read_json_text(path: Path, file: str) -> str:
    """The text of a JSON file, or :class:`InputError` when it is missing, too large, not UTF-8 or nested
    more than :data:`MAX_DEPTH` levels deep."""
    data = read_bounded(path, file, MAX_BYTES, "1 GiB")
    found = depth(data)
    if found > MAX_DEPTH:
        raise InputError(file, f"is JSON nested {found:,} levels deep; at most {MAX_DEPTH} are accepted")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(file, f"cannot be read: not UTF-8 text (invalid byte at offset {exc.start})") from None
