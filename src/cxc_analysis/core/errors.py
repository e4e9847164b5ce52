"""The one exception type for input a user must fix (file, sheet, row, column).

The CLI prints it as one line on stderr and exits with code 2. Bugs raise normally.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Input that cannot be used, with where it is.

    >>> str(InputError("required column missing: status", file="t.xlsx", sheet="Exchanges"))
    "t.xlsx: sheet 'Exchanges': required column missing: status"
    """

    def __init__(self, message: str, *, file: str | Path | None = None, sheet: str | None = None,
                 row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message, self.file, self.sheet, self.row, self.column = message, file, sheet, row, column

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.sheet is not None:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ": ".join([*parts, " ".join(self.message.split())])
