"""The one error of the documents package, in a module of its own so that catching it loads nothing else."""

from __future__ import annotations


class DocumentError(Exception):
    """A document cannot be made: a party is missing or the invoice is inconsistent. Nothing is written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
