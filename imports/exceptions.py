"""What can go wrong with an import file, before any row is read."""

from __future__ import annotations


class ImportFileError(Exception):
    """The file cannot be read as the format and encoding given (a message for a person)."""


class RowError(Exception):
    """One row cannot become an item: `column` names the culprit when one is known."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column
