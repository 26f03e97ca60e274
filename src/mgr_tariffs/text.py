"""Characters no document can carry: the one rule for text from hour logs, invoices and YAML files.

XML 1.0 (the UBL e-invoice) and the workbook format cannot hold the C0 control characters other than
tab, line feed and carriage return, the noncharacters U+FFFE and U+FFFF, or a lone surrogate; lxml and
openpyxl raise on them. Text from an input is therefore checked where it is read, and such text is a
problem with a file and line there, never a traceback later in a writer.
"""

from __future__ import annotations

import re

FORBIDDEN_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
"""The pattern (also for Polars' ``str.contains``): what valid UTF-8 text may hold but no document can."""
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # lone surrogates: from escapes


def forbidden_character(text: str) -> str | None:
    """The first character of ``text`` that no document can carry, or ``None``."""
    found = _FORBIDDEN.search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    """``the control character U+001B`` (or ``the noncharacter U+FFFE``, ``the lone surrogate U+D800``)."""
    code = ord(char)
    kind = "noncharacter" if code >= 0xFFFE else "lone surrogate" if code >= 0xD800 else "control character"
    return f"the {kind} U+{code:04X}"
