"""Errors are values with a location.

Every loader returns what it could load plus a list of :class:`Problem`; the CLI prints them all
as ``file:line: severity: message`` and picks the exit code.
"""

from __future__ import annotations

from enum import StrEnum

from mgr_tariffs.frozen import Frozen


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Problem(Frozen):
    """One thing wrong with an input, where it is and how bad it is."""

    file: str
    line: int | None = None
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.severity.value}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(file: str, line: int | None, message: str) -> Problem:
    return Problem(file=file, line=line, message=message)


def warning(file: str, line: int | None, message: str) -> Problem:
    return Problem(file=file, line=line, message=message, severity=Severity.WARNING)


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def has_errors(problems: list[Problem]) -> bool:
    return any(p.is_error for p in problems)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """File order first, then line order; problems without a line come first in their file."""
    return sorted(problems, key=lambda p: (p.file, p.line if p.line is not None else -1))


class InputError(Exception):
    """An input that cannot be read at all (missing, a directory, not text): exit code 2."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message
