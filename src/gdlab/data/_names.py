"""Words for messages: how a parameter is named (``--target`` on the command line,
``target=`` in Python), "did you mean" suggestions and short listings of names.

The command line runs its commands inside :func:`command_line`, so a message raised deep in
the data layer names the flag a person typed rather than the Python keyword.
"""

from __future__ import annotations

import contextvars
import difflib
from contextlib import contextmanager
from typing import Iterator, Sequence

_CLI: contextvars.ContextVar[bool] = contextvars.ContextVar("gdlab_command_line",
                                                            default=False)

#: names longer than this are shortened in messages
_SHOWN_CHARS = 40
#: "did you mean" compares against at most this many names (difflib is slow on many)
_SUGGEST_LIMIT = 20_000


@contextmanager
def command_line() -> Iterator[None]:
    """Inside this block, :func:`option` names command-line flags."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


def on_command_line() -> bool:
    return _CLI.get()


def option(name: str, value: str | None = None) -> str:
    """The parameter ``name`` as a person gives it: ``--test-fraction`` or ``test_fraction``;
    with a ``value``, ``--target COLUMN`` or ``target=COLUMN``."""
    if _CLI.get():
        flag = "--" + name.replace("_", "-")
        return flag if value is None else f"{flag} {value}"
    return name if value is None else f"{name}={value}"


def shown(name: object) -> str:
    """``repr`` of a name, shortened past :data:`_SHOWN_CHARS` characters."""
    text = str(name)
    if len(text) > _SHOWN_CHARS:
        return repr(text[:_SHOWN_CHARS - 3] + "...") + f" ({len(text):,} characters)"
    return repr(text)


def listing(names: Sequence[object], limit: int = 12) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b', ... (1,000 in all)`` for long lists."""
    head = ", ".join(shown(n) for n in names[:limit])
    return head if len(names) <= limit else f"{head}, ... ({len(names):,} in all)"


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """The choice ``word`` was probably meant to be: the same name in another case, else
    the closest by :mod:`difflib` (``None`` when none is close)."""
    if not isinstance(word, str) or len(word) > 200:
        return None
    lower = word.casefold()
    for c in choices:
        if c.casefold() == lower:
            return c
    pool = [c for c in choices[:_SUGGEST_LIMIT] if len(c) <= 200]
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not close:
        by_lower = {c.casefold(): c for c in pool}
        close = [by_lower[m] for m in difflib.get_close_matches(lower, list(by_lower), n=1,
                                                                 cutoff=0.6)]
    return close[0] if close else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'y'?"`` or ``""``."""
    hit = suggest(word, choices)
    return f"; did you mean {hit!r}?" if hit is not None else ""
