"""One exception family for everything gdlab refuses.

Every message is written for a person: what was wrong, where (position in a
formula, file/row/column in data), and what to try.  The CLI turns any
``GdlabError`` into one line on stderr and exit code 2.

All of them subclass ``ValueError`` as well, so code written for numpy, scipy
and scikit-learn (which raise ``ValueError`` for bad input) catches them too.
"""

from __future__ import annotations


class GdlabError(ValueError):
    """Base class of every error gdlab raises on purpose."""


class FormulaError(GdlabError):
    """Formula text that gdlab refuses to parse.

    Attributes
    ----------
    text : str
        The formula (possibly shortened for display).
    position : int or None
        0-based character offset of the problem in ``text``, when known.
    hint : str or None
        A suggestion such as ``"did you mean 2*x?"``.
    """

    def __init__(self, message: str, text: str = "", position: int | None = None,
                 hint: str | None = None):
        self.reason = message
        self.text = text
        self.position = position
        self.hint = hint
        full = message
        if position is not None:
            full += f" (at position {position + 1})"
        if hint:
            full += f"; {hint}"
        super().__init__(full)


class DataError(GdlabError):
    """Bad data: names the file, the row (1-based, header excluded) and column when known."""

    def __init__(self, message: str, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.reason = message
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ModelFileError(GdlabError):
    """A model or checkpoint file that is truncated, edited, foreign or of an unknown version."""


class ParameterError(GdlabError, TypeError):
    """A bad argument to a gdlab function (wrong type, out of range, unknown name)."""
