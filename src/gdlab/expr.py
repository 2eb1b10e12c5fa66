"""Formula text -> sympy expression: the only door for untrusted formula text.

``parse("x**2 + 2*x*y + 3 + cos(x + 2*y)")`` returns a sympy expression whose
variables are real symbols (``sympy.Symbol(name, real=True)``).  The text is
never evaluated: it is checked by a linear scan, parsed by ``ast.parse`` (which
only parses) and the syntax tree is walked against a whitelist that builds the
sympy objects directly.  No ``eval``/``exec``/``sympify``/``parse_expr`` ever
sees the text.  :func:`to_text` prints a sympy expression back in this
language, so ``parse(to_text(e))`` reads every formula gdlab writes.

Grammar
-------
numbers (``3``, ``2.5``, ``.5``, ``1e-3``), variables (ASCII letters, digits and
``_``, not starting with ``_``), ``+ - * / **`` and ``^`` (also power),
unary ``-``/``+``, parentheses, the constants ``pi``, ``E`` and ``e`` (both
Euler's number) and the functions of ``ALLOWED_FUNCTIONS``:

* ``sin cos tan asin acos atan sinh cosh tanh exp sqrt abs sigmoid``;
* ``log`` and ``ln``, both the natural logarithm;
* ``max`` and ``min`` of 2 to ``MAX_ARGS`` arguments;
* ``sign`` (-1, 0 or 1, with ``sign(0) = 0``) and ``heaviside`` (the unit step: 0
  below zero, 1 above, ``heaviside(0) = 1/2`` as in sympy and ``np.heaviside(x, 0.5)``):
  the derivatives of ``abs``, ``max`` and ``min`` are written with them.

Whitespace and newlines are ignored.  Everything else is refused with a
:class:`gdlab.errors.FormulaError` carrying a message, the 0-based position in
the text and, where possible, a hint (``2x`` -> ``did you mean 2*x?``,
``sin x`` -> ``did you mean sin(x)?``).  No other exception escapes
:func:`parse`.

Variables are listed in natural order (:func:`natural_key`): ``x2`` before ``x10``.

Limits
------
Chosen so that every result or refusal comes back in well under a second:

* ``MAX_LENGTH`` = 10,000 characters, checked before anything else.
* ``MAX_DEPTH`` = 100 levels of parentheses, checked by a linear scan before
  Python's parser sees the text (deeply nested text crashes or exhausts it).
* ``MAX_NESTING`` = 40 levels of nested operations in the syntax tree
  (function calls, powers, unary signs, a product inside a sum, ...; a chain
  ``a + b - c + ...`` or ``a * b / c * ...`` counts as one level).
* ``MAX_NODES`` = 2,000 numbers, names and operators.
* ``MAX_NAME_LENGTH`` = 64 characters per name.
* ``MAX_DIGITS`` = 50 digits per number literal.
* ``MAX_NUMBER_BITS`` = 1,000: every number met while building (a literal or
  arithmetic on numbers, which sympy does eagerly) must stay below 2**1000
  (about 1e301) in magnitude and, unless zero, above 2**-1000; exact fractions
  need numerator and denominator below 2**1000.  Numeric powers are estimated
  *before* they are computed, so ``9**9**9**9`` or ``10**100000`` are refused
  at once ("number too large"), while ``10**300`` is fine.
* Sub-expressions without variables are also evaluated in floating point
  as they are built (``math`` functions): a constant that is not real
  (``sqrt(-1)``, ``acos(2)``, ``(-8)**(1/3)``), undefined (``log(0)``, ``1/0``)
  or beyond 2**1000 (``exp(1000)``) is refused before sympy sees it (sympy's
  handling of complex constants alone can take seconds).  The result keeps
  the exact sympy value; only the checks use floats, so a constant that is
  exactly on a domain edge may be refused (``sqrt(sin(1)**2 + cos(1)**2 - 1)``).
* ``MAX_POWER`` = 1,000: largest numeric exponent on a non-numeric base
  (``x**1000`` is accepted, ``x**(10**6)`` refused).
* ``MAX_ARGS`` = 16 arguments for ``max``/``min``.  They are built unevaluated
  (``sympy.Max(..., evaluate=False)``) unless all arguments are numbers,
  because sympy's pairwise simplification of Max/Min grows fast with argument
  size.  Likewise ``abs``, ``sign`` and ``heaviside`` of a constant that is not a
  plain number (``abs(-pi)``, ``sign(1 - sigmoid(10**300))``) stay as written:
  sympy decides them by evaluating the constant to ever more digits, which can
  take seconds.
* ``TIME_BUDGET`` = 0.5 s of wall clock for building the sympy expression: a
  backstop for sympy's eager simplification, which is superlinear for a few
  shapes (nested ``abs`` for instance).  Exceeding it refuses the formula as
  too complex.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
import time
import unicodedata
from typing import Callable

import sympy
from sympy.printing.str import StrPrinter

from gdlab.errors import FormulaError, ParameterError

__all__ = [
    "parse", "variables_of", "symbol", "natural_key", "to_text",
    "ALLOWED_FUNCTIONS", "CONSTANTS",
    "MAX_LENGTH", "MAX_DEPTH", "MAX_NESTING", "MAX_NODES", "MAX_NAME_LENGTH",
    "MAX_DIGITS", "MAX_NUMBER_BITS", "MAX_POWER", "MAX_ARGS", "TIME_BUDGET",
]

MAX_LENGTH = 10_000
MAX_DEPTH = 100
MAX_NESTING = 40
MAX_NODES = 2_000
MAX_NAME_LENGTH = 64
MAX_DIGITS = 50
MAX_NUMBER_BITS = 1_000
MAX_POWER = 1_000
MAX_ARGS = 16
TIME_BUDGET = 0.5

_SHOWN = 60          # at most this many characters of the text are echoed
_QUOTED = 20         # at most this many characters of one token are quoted


# --------------------------------------------------------------------------
# functions, constants, symbols

def _sigmoid(a: sympy.Expr) -> sympy.Expr:
    return sympy.S.One / (sympy.S.One + sympy.exp(-a))


def _minmax(cls: type) -> Callable[..., sympy.Expr]:
    def build(*args: sympy.Expr) -> sympy.Expr:
        if all(a.is_Number for a in args):
            return cls(*args)
        return cls(*args, evaluate=False)
    build.__name__ = cls.__name__
    return build


ALLOWED_FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
    "sigmoid": _sigmoid,
    "max": _minmax(sympy.Max), "min": _minmax(sympy.Min),
    "sign": sympy.sign, "heaviside": sympy.Heaviside,
}
"""Function name -> builder taking sympy arguments.  ``log`` and ``ln`` are the natural log;
``heaviside(0)`` is 1/2, ``sign(0)`` is 0."""

_ARITY: dict[str, tuple[int, int]] = {"max": (2, MAX_ARGS), "min": (2, MAX_ARGS)}

CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}

_SYMBOLS: dict[str, sympy.Symbol] = {}
_SYMBOL_CACHE_SIZE = 10_000
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def symbol(name: str) -> sympy.Symbol:
    """The real sympy symbol gdlab uses for variable ``name`` (one object per name)."""
    sym = _SYMBOLS.get(name) if isinstance(name, str) else None
    if sym is not None:
        return sym
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or len(name) > MAX_NAME_LENGTH \
            or keyword.iskeyword(name) or name in ALLOWED_FUNCTIONS or name in CONSTANTS:
        shown = name if isinstance(name, str) else type(name).__name__
        raise FormulaError(f"{_quote(shown)} is not a valid variable name",
                           hint="use ASCII letters, digits and '_', starting with a letter")
    sym = sympy.Symbol(name, real=True)
    if len(_SYMBOLS) < _SYMBOL_CACHE_SIZE:
        sym = _SYMBOLS.setdefault(name, sym)
    return sym


_DIGIT_RUNS = re.compile(r"([0-9]+)")


def natural_key(name: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key of gdlab's variable order: runs of digits compare as numbers, so ``x2``
    comes before ``x10`` (``x1, x2, x10, y``); otherwise alphabetical (ASCII)."""
    parts = _DIGIT_RUNS.split(name)   # text, number, text, number, ..., text
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def variables_of(expr: sympy.Basic) -> list[str]:
    """Names of the free symbols of ``expr`` in natural order (:func:`natural_key`)."""
    if not isinstance(expr, sympy.Basic):
        raise ParameterError(f"variables_of() needs a sympy expression, not {type(expr).__name__}; "
                             "call gdlab.expr.parse() on formula text first")
    return sorted((s.name for s in expr.free_symbols), key=natural_key)


# --------------------------------------------------------------------------
# printing in the parser's language

# sympy's names -> the parser's
_PRINTED_NAMES = {"Abs": "abs", "Max": "max", "Min": "min", "Heaviside": "heaviside",
                  "sign": "sign"}
_CHUNK = 45   # digits per piece of an integer longer than MAX_DIGITS


def _integer_text(n: int) -> str:
    """``n`` as the parser reads it: plain up to MAX_DIGITS digits, else ``(m*10**k)`` or a
    parenthesized sum of pieces of at most ``_CHUNK`` digits times powers of ten."""
    digits = str(abs(n))
    if len(digits) <= MAX_DIGITS:
        return str(n)
    sign = "-" if n < 0 else ""   # outside: sums print "x - (10**300)"
    if len(digits.rstrip("0")) <= MAX_DIGITS:
        return f"{sign}({_scaled(digits, 0)})"
    pieces = []
    for end in range(len(digits), 0, -_CHUNK):
        piece = digits[max(0, end - _CHUNK):end].lstrip("0")
        if piece:
            pieces.append(_scaled(piece, len(digits) - end))
    return f"{sign}({' + '.join(reversed(pieces))})"


def _scaled(digits: str, power: int) -> str:
    """``digits * 10**power`` written with the trailing zeros of ``digits`` in the power."""
    mantissa = digits.rstrip("0")
    power += len(digits) - len(mantissa)
    if not power:
        return mantissa
    return f"10**{power}" if mantissa == "1" else f"{mantissa}*10**{power}"


class _TextPrinter(StrPrinter):
    """sympy's ``str`` printer, with the parser's names (``abs``, ``max``, ``heaviside``,
    ...) and integers the parser accepts (at most MAX_DIGITS digits per literal)."""

    def _print_Function(self, expr: sympy.Function) -> str:
        name = expr.func.__name__
        return f"{_PRINTED_NAMES.get(name, name)}({self.stringify(expr.args, ', ')})"

    def _print_Heaviside(self, expr: sympy.Heaviside) -> str:
        return f"heaviside({self.stringify(expr.pargs, ', ')})"

    _print_Max = _print_Min = _print_Function

    def _print_Integer(self, expr: sympy.Integer) -> str:
        return _integer_text(int(expr.p))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        if expr.q == 1:
            return _integer_text(int(expr.p))
        return f"{_integer_text(int(expr.p))}/{_integer_text(int(expr.q))}"


_ORDERED_SIZE = 2_000


def _tree_size(expr: sympy.Basic) -> int:
    """Operations in ``expr``, shared parts counted each time (one pass over shared parts)."""
    memo: dict[sympy.Basic, int] = {}

    def walk(e: sympy.Basic) -> int:
        got = memo.get(e)
        if got is None:
            got = memo[e] = 1 + sum(walk(a) for a in e.args)
        return got

    return walk(expr)


def to_text(expr: sympy.Basic) -> str:
    """``expr`` as formula text that :func:`parse` reads back (sympy's ``str`` form with the
    parser's function names: ``abs``, ``max``, ``min``, ``sign``, ``heaviside``).

    Terms are ordered as sympy prints them (``2*x + 2``) up to 2,000 operations; larger
    expressions keep sympy's internal order (sorting them takes longer than
    differentiating).  Numbers beyond the parser's limits (about 1e301) and functions it
    does not know are printed as sympy writes them, which :func:`parse` refuses, as it
    refuses text beyond its size limits."""
    settings = {} if _tree_size(expr) <= _ORDERED_SIZE else {"order": "none"}
    return _TextPrinter(settings).doprint(expr)


# --------------------------------------------------------------------------
# helpers for messages

def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def _quote(s: str) -> str:
    if len(s) > _QUOTED:
        s = s[:_QUOTED - 3] + "..."
    return repr(s)


def _char_name(c: str) -> str:
    shown = f"{c!r} " if c.isprintable() else ""
    return f"{shown}(U+{ord(c):04X})"


# --------------------------------------------------------------------------
# stage 1: linear scan (characters, tokens, parentheses, limits)

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_SPACE = frozenset(" \t\n\r")
_OPERAND = r"((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[A-Za-z][A-Za-z0-9_]*)"
# one factor of a function's argument written without parentheses: x, 2, x^2 (sin 2x^2)
_ARGUMENT_ITEM = re.compile(r"[ \t\n\r]*" + _OPERAND + r"(?:[ \t\n\r]*(\*\*|\^)[ \t\n\r]*"
                            + _OPERAND + ")?")
_EXPONENT = re.compile(r"[ \t\n\r]*" + _OPERAND)
_SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5",
                 "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-"}

_ASCII_REFUSALS = {
    "'": ("strings are not allowed in a formula", None),
    '"': ("strings are not allowed in a formula", None),
    "[": ("square brackets are not allowed (no lists or indexing)", "use parentheses ( )"),
    "]": ("square brackets are not allowed (no lists or indexing)", "use parentheses ( )"),
    "{": ("braces are not allowed", "use parentheses ( )"),
    "}": ("braces are not allowed", "use parentheses ( )"),
    "=": ("'=' is not allowed: a formula is an expression, not an assignment, "
          "comparison or keyword argument", None),
    "<": ("comparisons are not allowed", None),
    ">": ("comparisons are not allowed", None),
    "!": ("'!' is not allowed (no comparisons or factorials)", None),
    "%": ("'%' (modulo) is not supported", None),
    "@": ("'@' (matrix multiplication) is not supported", "use '*'"),
    "&": ("bitwise operators are not supported", None),
    "|": ("'|' is not supported", "use abs(x) for an absolute value"),
    "~": ("'~' is not supported", None),
    ":": ("':' is not allowed (no lambdas, slices or annotations)", None),
    ";": ("';' is not allowed: a formula is a single expression", None),
    "#": ("comments ('#') are not allowed", None),
    "\\": ("backslashes are not allowed", None),
}

_KEYWORD_HINTS = {
    "and": "boolean logic is not supported", "or": "boolean logic is not supported",
    "not": "boolean logic is not supported",
    "if": "conditional expressions are not supported; max, min and abs may help",
    "else": "conditional expressions are not supported; max, min and abs may help",
    "lambda": "lambda functions are not supported",
    "for": "loops and comprehensions are not supported",
    "in": "loops and comprehensions are not supported",
    "is": "comparisons are not supported",
    "import": "imports are not allowed", "from": "imports are not allowed",
    "True": "use 1 or 0", "False": "use 1 or 0", "None": "use a number",
}


class _Scanner:
    """One left-to-right pass over the text; raises at the first problem."""

    def __init__(self, text: str):
        self.text = text
        self.prev: str | None = None      # kind of previous token
        self.prev_start = 0
        self.prev_end = 0
        self.prev_call_start: int | None = None   # for ')' : start of "name(" or "("
        self.stack: list[tuple[int, int | None]] = []   # (position of '(', start of call name)
        self.count = 0

    def fail(self, message: str, position: int | None, hint: str | None = None) -> FormulaError:
        return FormulaError(message, text=_shown(self.text), position=position, hint=hint)

    # -- snippets for "did you mean" hints
    def _left_snippet(self) -> str:
        if self.prev == ")":
            start = self.prev_call_start if self.prev_call_start is not None else self.prev_start
            s = self.text[start:self.prev_end]
            return s if len(s) <= _QUOTED and "\n" not in s else "(...)"
        return self.text[self.prev_start:self.prev_end][:_QUOTED]

    def _group(self, start: int) -> str:
        """The parenthesized group opening at ``start``, as written (short ones only)."""
        depth = 0
        for j in range(start, min(len(self.text), start + _QUOTED)):
            depth += {"(": 1, ")": -1}.get(self.text[j], 0)
            if depth == 0:
                s = self.text[start:j + 1]
                return s if "\n" not in s else "(...)"
        return "(...)"

    def _right_snippet(self, kind: str, start: int, end: int) -> str:
        if kind == "(":
            return self._group(start)
        name = self.text[start:end]
        if kind == "name" and name in ALLOWED_FUNCTIONS:
            return self._call_text(name, end) or name
        return name[:_QUOTED]

    def _call_text(self, name: str, pos: int) -> str | None:
        """How the call of function ``name`` whose argument starts at ``pos`` is written:
        ``sin(x)`` for ``sin(x)`` and for ``sin x``, ``cos(2*x)`` for ``cos 2x``."""
        j = pos
        while j < len(self.text) and self.text[j] in _SPACE:
            j += 1
        if j < len(self.text) and self.text[j] == "(":
            return name + self._group(j)
        items: list[str] = []
        while len(items) < 4:
            m = _ARGUMENT_ITEM.match(self.text, pos)
            if m is None or m.group(1) in ALLOWED_FUNCTIONS or keyword.iskeyword(m.group(1)):
                break
            items.append(m.group(1) + (m.group(2) + m.group(3) if m.group(2) else ""))
            pos = m.end()
        argument = "*".join(items)
        if not argument or len(argument) > _QUOTED:
            return None
        return f"{name}({argument})"

    def token(self, kind: str, start: int, end: int, counted: bool = True) -> None:
        if kind in ("num", "name", "(") and self.prev in ("num", "name", ")") \
                and not (kind == "(" and self.prev == "name"):
            self._refuse_juxtaposition(kind, start, end)
        if counted:
            self.count += 1
            if self.count > MAX_NODES:
                raise self.fail(f"formula too large: more than {MAX_NODES} numbers, names and "
                                "operators", start)
        self.prev, self.prev_start, self.prev_end = kind, start, end

    def _refuse_juxtaposition(self, kind: str, start: int, end: int) -> None:
        """Two operands side by side: a function called without parentheses (``sin x``) or
        a missing ``*`` (``2x``)."""
        left = self._left_snippet()
        if self.prev == "name" and left in ALLOWED_FUNCTIONS:
            call = self._call_text(left, self.prev_end)
            raise self.fail(f"{_quote(left)} is a function: its argument goes in parentheses",
                            start, hint=f"did you mean {call or left + '(...)'}?")
        right = self._right_snippet(kind, start, end)
        raise self.fail(f"missing operator between {_quote(left)} and {_quote(right)}",
                        start, hint=f"did you mean {left}*{right}?")

    def scan(self) -> None:
        text, n, i = self.text, len(self.text), 0
        while i < n:
            c = text[i]
            if c in _SPACE:
                i += 1
            elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
                i = self._number(i)
            elif c in _NAME_START:
                i = self._name(i)
            elif c in _PUNCTUATION:
                i = _PUNCTUATION[c](self, i)
            elif c in "+-*/^":
                i = self._operator(i)
            else:
                self._refuse_char(i)
        self._end()

    def _end(self) -> None:
        if self.stack:
            raise self.fail("unbalanced parentheses: this '(' is never closed", self.stack[-1][0])
        if self.prev is None:
            raise self.fail("empty formula", None, hint="write an expression such as x**2 + 1")
        if self.prev == "op":
            raise self.fail(f"formula ends with {_quote(self._prev_text())}; "
                            "something is missing after it", self.prev_start)

    def _prev_text(self) -> str:
        return self.text[self.prev_start:self.prev_end]

    def _dot(self, i: int) -> int:
        text, n, j = self.text, len(self.text), i + 1
        while j < n and text[j] in _SPACE:
            j += 1
        if self.prev in ("name", "num", ")") and j < n and text[j] in _NAME_START:
            raise self.fail("attribute access ('.name') is not allowed", i)
        raise self.fail("unexpected '.'", i)

    def _open(self, i: int) -> int:
        call = self.prev_start if self.prev == "name" else None
        self.token("(", i, i + 1, counted=False)
        self.stack.append((i, call))
        if len(self.stack) > MAX_DEPTH:
            raise self.fail(f"too deeply nested: more than {MAX_DEPTH} levels of "
                            "parentheses", i)
        return i + 1

    def _close(self, i: int) -> int:
        if not self.stack:
            raise self.fail("unbalanced parentheses: this ')' has no matching '('", i)
        if self.prev == "op":
            raise self.fail(f"missing operand after {_quote(self._prev_text())}",
                            self.prev_start)
        if self.prev == ",":
            raise self.fail("missing argument after ','", self.prev_start)
        open_pos, call = self.stack.pop()
        if self.prev == "(" and call is None:
            raise self.fail("empty parentheses", open_pos)
        self.token(")", i, i + 1, counted=False)
        self.prev_call_start = call if call is not None else open_pos
        return i + 1

    def _comma(self, i: int) -> int:
        if not self.stack or self.stack[-1][1] is None:
            raise self.fail("',' is only allowed between function arguments "
                            "(no tuples)", i)
        if self.prev in ("op", "(", ","):
            raise self.fail("missing argument before ','", i)
        self.token(",", i, i + 1, counted=False)
        return i + 1

    def _number(self, i: int) -> int:
        text, n = self.text, len(self.text)
        literal = _matched(_NUMBER, text, i)
        end = i + len(literal)
        nxt = text[end] if end < n else ""
        if nxt == "_" or (literal == "0" and nxt in ("x", "X", "o", "O", "b", "B")
                          and end + 1 < n and text[end + 1].isalnum()):
            raise self.fail("only plain decimal numbers are supported (no '_' separators, "
                            "hexadecimal, octal or binary)", i)
        if nxt == ".":
            if end + 1 < n and text[end + 1] in _NAME_START:
                raise self.fail("attribute access ('.name') is not allowed", end)
            raise self.fail(f"malformed number {_quote(text[i:end + 1])}", i)
        digits = sum(ch in _DIGITS for ch in literal)
        if digits > MAX_DIGITS:
            raise self.fail(f"number has too many digits ({digits}; at most {MAX_DIGITS})", i,
                            hint="use scientific notation such as 1.5e-30")
        if len(literal) > 1 and literal[0] == "0" and literal.isdigit() and literal.strip("0"):
            raise self.fail(f"leading zeros are not allowed in {_quote(literal)}", i,
                            hint=f"write {literal.lstrip('0')}")
        self.token("num", i, end)
        return end

    def _name(self, i: int) -> int:
        name = _matched(_NAME, self.text, i)
        end = i + len(name)
        if keyword.iskeyword(name):
            raise self.fail(f"{_quote(name)} is a Python keyword and cannot appear in a formula",
                            i, hint=_KEYWORD_HINTS.get(name))
        if self.prev == "num" and self.prev_end == i and name in ("j", "J"):
            lit = self.text[self.prev_start:i]
            raise self.fail("complex numbers are not supported", self.prev_start,
                            hint=f"if you meant a product, write {lit}*{name}")
        self.token("name", i, end)
        if name.startswith("_"):
            raise self.fail(f"names cannot start with '_' ({_quote(name)})", i)
        if len(name) > MAX_NAME_LENGTH:
            raise self.fail(f"name too long ({len(name)} characters; at most "
                            f"{MAX_NAME_LENGTH})", i)
        return end

    def _operator(self, i: int) -> int:
        text, n = self.text, len(self.text)
        c = text[i]
        end = i + 1
        if c == "*" and end < n and text[end] == "*":
            end += 1
        if c == "/" and end < n and text[end] == "/":
            raise self.fail("'//' (floor division) is not supported", i, hint="use '/'")
        op = text[i:end]
        if op in ("**", "^") and self.prev == "name" \
                and text[self.prev_start:self.prev_end] in ALLOWED_FUNCTIONS:
            self._refuse_function_power(text[self.prev_start:self.prev_end], op, end)
        if op in ("*", "**", "/", "^"):
            if self.prev in ("(", ",") and op in ("*", "**") and self.stack \
                    and self.stack[-1][1] is not None:
                raise self.fail("starred arguments (*x, **x) are not allowed", i)
            if self.prev is None:
                raise self.fail(f"formula cannot start with {_quote(op)}", i)
            if self.prev in ("op", "(", ","):
                before = text[self.prev_start:self.prev_end] if self.prev == "op" else self.prev
                raise self.fail(f"missing operand between {_quote(before)} and {_quote(op)}", i)
        self.token("op", i, end)
        return end

    def _refuse_function_power(self, name: str, op: str, end: int) -> None:
        """``sin^2(x)`` or ``sin^2 x``: the power of a call is written after the call."""
        m = _EXPONENT.match(self.text, end)
        power = m.group(1) if m else "2"
        call = self._call_text(name, m.end()) if m else None
        raise self.fail(f"{_quote(name)} is a function: a power of it goes after the call",
                        end - len(op), hint=f"did you mean {call or name + '(x)'}{op}{power}?")

    def _refuse_char(self, i: int) -> None:
        c = self.text[i]
        if c in _ASCII_REFUSALS:
            message, hint = _ASCII_REFUSALS[c]
            if c == "=" and i + 1 < len(self.text) and self.text[i + 1] == "=":
                message, hint = "comparisons ('==') are not allowed", None
            raise self.fail(message, i, hint=hint)
        if c in _SUPERSCRIPTS:
            j = i
            while j < len(self.text) and self.text[j] in _SUPERSCRIPTS:
                j += 1
            power = "".join(_SUPERSCRIPTS[ch] for ch in self.text[i:j])[:_QUOTED]
            base = self._left_snippet() if self.prev in ("num", "name", ")") else ""
            raise self.fail(f"superscript {_char_name(c)} is not supported", i,
                            hint=f"did you mean {base}**{power}?")
        code = ord(c)
        if code < 32 or code == 127:
            raise self.fail(f"control character {_char_name(c)} is not allowed", i)
        if code < 128:
            raise self.fail(f"character {_char_name(c)} is not allowed", i)
        self._refuse_unicode(c, i)

    def _refuse_unicode(self, c: str, i: int) -> None:
        name = unicodedata.name(c, "")
        category = unicodedata.category(c)
        if c in "×·⋅∗":
            raise self.fail(f"character {_char_name(c)} is not allowed", i, hint="use '*'")
        if c in "÷∕":
            raise self.fail(f"character {_char_name(c)} is not allowed", i, hint="use '/'")
        if c in "−–—‐‑":
            raise self.fail(f"character {_char_name(c)} is not allowed", i, hint="use '-'")
        if category == "Zs" or c in "\u2028\u2029\x85":
            raise self.fail(f"non-ASCII space {_char_name(c)} is not allowed", i,
                            hint="use an ordinary space")
        if category.startswith("L"):
            hint = "names use ASCII letters, digits and '_'"
            if name.startswith("GREEK ") and " LETTER " in name:
                word = name.rsplit(" ", 1)[-1].lower()
                if word.isalpha() and word.isascii():
                    hint = f"use the ASCII name {word!r}"
            raise self.fail(f"non-ASCII letter {_char_name(c)} is not allowed", i, hint=hint)
        if category.startswith("N"):
            raise self.fail(f"non-ASCII digit {_char_name(c)} is not allowed", i,
                            hint="use the digits 0-9")
        raise self.fail(f"character {_char_name(c)} is not allowed", i)


def _matched(pattern: re.Pattern[str], text: str, i: int) -> str:
    """The text ``pattern`` matches at ``i`` (the scanner calls it where it matches)."""
    m = pattern.match(text, i)
    return m.group() if m else text[i:i + 1]


_PUNCTUATION: dict[str, Callable[[_Scanner, int], int]] = {
    ".": _Scanner._dot, "(": _Scanner._open, ")": _Scanner._close, ",": _Scanner._comma,
}


# --------------------------------------------------------------------------
# stage 2: translation for ast.parse, with a position map back to the text

def _translate(text: str) -> tuple[str, list[int]]:
    """``^`` -> ``**``, whitespace -> one space, wrapped in parentheses.

    Returns the wrapped text and, for each of its characters, the position of
    the original character it came from (the wrapping parentheses map to 0
    and to the end of the text).
    """
    parts: list[str] = ["("]
    origin: list[int] = [0]
    for i, c in enumerate(text):
        if c == "^":
            parts.append("**")
            origin += (i, i)
        else:
            parts.append(" " if c in _SPACE else c)
            origin.append(i)
    parts.append(")")
    origin.append(max(len(text) - 1, 0))
    return "".join(parts), origin


# --------------------------------------------------------------------------
# stage 3: whitelist walk building sympy objects

_NODE_NAMES = {
    ast.Attribute: "attribute access ('.name')", ast.Subscript: "indexing ('x[...]')",
    ast.Lambda: "lambda functions", ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions", ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings", ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators (and/or)", ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignments (':=')", ast.Tuple: "tuples", ast.List: "lists",
    ast.Dict: "dictionaries", ast.Set: "sets", ast.Starred: "starred expressions (*x)",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
}
_OP_NAMES = {
    ast.FloorDiv: "'//' (floor division)", ast.Mod: "'%' (modulo)",
    ast.MatMult: "'@' (matrix multiplication)", ast.BitXor: "bitwise xor",
    ast.BitOr: "'|'", ast.BitAnd: "'&'", ast.LShift: "'<<'", ast.RShift: "'>>'",
    ast.Not: "'not'", ast.Invert: "'~'",
}
_UNDEFINED = (sympy.S.ComplexInfinity, sympy.S.NaN, sympy.S.Infinity, sympy.S.NegativeInfinity)
_LARGEST = 2.0 ** MAX_NUMBER_BITS
_SMALLEST = 2.0 ** -MAX_NUMBER_BITS
_TOO_LARGE = "number too large (numbers must stay between about 1e-301 and 1e301)"
_IMAGINARY = "imaginary value (square root, log or power of a negative number?)"


def within_limits(num: sympy.Expr) -> bool:
    """Whether the sympy number ``num`` is one the parser accepts (``MAX_NUMBER_BITS``):
    magnitude below about 2**1000 and, unless zero, above 2**-1000; an exact fraction's
    numerator and denominator below 2**1000."""
    if num.is_Rational:
        return not num.p or max(abs(num.p).bit_length(), num.q.bit_length()) <= MAX_NUMBER_BITS + 1
    if num.is_Float:
        _sign, man, exp, bits = num._mpf_
        return not man or abs(exp + bits) <= MAX_NUMBER_BITS + 1
    return True


def _float_sigmoid(a: float) -> float:
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    return math.exp(a) / (1.0 + math.exp(a))


def _float_sign(a: float) -> float:
    return float((a > 0) - (a < 0))


def _float_heaviside(a: float) -> float:
    return 1.0 if a > 0 else 0.0 if a < 0 else 0.5


# Floating-point twins of ALLOWED_FUNCTIONS, used on constant sub-expressions
# only, to refuse non-real or overflowing constants (sqrt(-1), acos(2),
# exp(1000)) before sympy sees them: sympy's handling of complex constants can
# take seconds.
_FLOAT_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "exp": math.exp, "log": math.log, "ln": math.log, "sqrt": math.sqrt, "abs": math.fabs,
    "sigmoid": _float_sigmoid, "max": max, "min": min,
    "sign": _float_sign, "heaviside": _float_heaviside,
}
_FLOAT_CONSTANTS = {"pi": math.pi, "E": math.e, "e": math.e}

# Of a constant that is not a plain number, these are kept as written (sympy decides their
# value by evaluating the constant to ever more digits: seconds for abs(sigmoid(10**300) - 1))
_KEPT: dict[str, Callable[..., sympy.Expr]] = {
    "abs": sympy.Abs, "sign": sympy.sign, "heaviside": sympy.Heaviside,
}

# A built node: the sympy expression and, when it contains no variable, its
# floating-point value (else None).
_Value = tuple[sympy.Expr, "float | None"]


class _Builder:
    def __init__(self, text: str, wrapped: str, origin: list[int]):
        self.text = text
        self.wrapped = wrapped
        self.origin = origin
        self.nodes = 0
        self.deadline = time.perf_counter() + TIME_BUDGET

    # -- positions and errors
    def pos(self, w: int) -> int:
        return self.origin[min(max(w, 0), len(self.origin) - 1)]

    def node_pos(self, node: ast.AST) -> int:
        return self.pos(getattr(node, "col_offset", 0))

    def op_pos(self, node: ast.BinOp, symbol: str) -> int:
        start, end = node.left.end_col_offset, node.right.col_offset
        k = self.wrapped.find(symbol, start, end) if start is not None and end is not None else -1
        return self.pos(k if k >= 0 else node.col_offset)

    def fail(self, message: str, position: int | None, hint: str | None = None) -> FormulaError:
        return FormulaError(message, text=_shown(self.text), position=position, hint=hint)

    def tick(self, node: ast.AST, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(f"formula too large: more than {MAX_NODES} operations",
                            self.node_pos(node))
        if depth > MAX_NESTING:
            raise self.fail(f"formula too deeply nested: more than {MAX_NESTING} levels of "
                            "operations", self.node_pos(node))
        if time.perf_counter() > self.deadline:
            raise self.fail("formula too complex: building it takes too long", self.node_pos(node))

    # -- value checks
    def check_approx(self, approx: float | None, position: int | None) -> float | None:
        if approx is not None and not abs(approx) <= _LARGEST:   # also catches inf and nan
            raise self.fail(_TOO_LARGE, position)
        return approx

    def check_number(self, num: sympy.Expr, position: int | None) -> None:
        if not within_limits(num):
            raise self.fail(_TOO_LARGE, position)

    def check_value(self, value: sympy.Expr, position: int | None) -> sympy.Expr:
        if any(value is u for u in _UNDEFINED):
            raise self.fail("undefined value (division by zero, log(0), tan(pi/2), ...)", position)
        if value is sympy.S.ImaginaryUnit or (value.is_Mul and any(a is sympy.S.ImaginaryUnit
                                                                    for a in value.args)):
            raise self.fail(_IMAGINARY, position)
        if value.is_Number:
            self.check_number(value, position)
        elif (value.is_Add or value.is_Mul) and value.args[0].is_Number:
            self.check_number(value.args[0], position)
        return value

    # -- the walk
    def build(self, node: ast.AST, depth: int) -> _Value:
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.Add, ast.Sub)):
                return self.chain(node, depth, (ast.Add, ast.Sub))
            if isinstance(node.op, (ast.Mult, ast.Div)):
                return self.chain(node, depth, (ast.Mult, ast.Div))
        self.tick(node, depth)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                base = self.build(node.left, depth + 1)
                exponent = self.build(node.right, depth + 1)
                return self.power(base, exponent, self.op_pos(node, "**"))
            what = _OP_NAMES.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"{what} is not supported", self.node_pos(node))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                value, approx = self.build(node.operand, depth + 1)
                if isinstance(node.op, ast.UAdd):
                    return value, approx
                return (self.check_value(-value, self.node_pos(node)),
                        None if approx is None else -approx)
            what = _OP_NAMES.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"{what} is not supported", self.node_pos(node))
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        raise self.fail(f"{what} not allowed in a formula", self.node_pos(node))

    def chain(self, node: ast.BinOp, depth: int, ops: tuple[type, ...]) -> _Value:
        """A run of + and - (or of * and /), built as one flat sympy Add (Mul)."""
        is_sum = ops[0] is ast.Add
        links: list[ast.BinOp] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp) and isinstance(left.op, ops):
            self.tick(left, depth)
            links.append(left)
            left = left.left
        first, approx = self.build(left, depth + 1)
        items = [first]
        for link in reversed(links):
            item, item_approx = self.build(link.right, depth + 1)
            if isinstance(link.op, ast.Sub):
                item = -item
                item_approx = None if item_approx is None else -item_approx
            elif isinstance(link.op, ast.Div):
                position = self.op_pos(link, "/")
                if (item.is_Number and item.is_zero) or item_approx == 0.0:
                    raise self.fail("division by zero", position)
                item = self.check_value(sympy.Pow(item, -1), position)
                item_approx = None if item_approx is None else 1.0 / item_approx
            items.append(item)
            if approx is not None and item_approx is not None:
                approx = approx + item_approx if is_sum else approx * item_approx
            else:
                approx = None
        position = self.node_pos(links[0])
        self.check_approx(approx, position)
        result = sympy.Add(*items) if is_sum else sympy.Mul(*items)
        return self.check_value(result, position), approx

    def power_approx(self, base: float, exponent: float, position: int) -> float:
        """The float value of a power of constants, refusing one that is not real, too
        large or, unless zero, too small (its text, ``1/c**n``, would hold a number beyond
        the limit)."""
        try:
            approx = math.pow(base, exponent)
        except ValueError:
            if base == 0.0:
                raise self.fail("division by zero (0 to a negative power)", position) from None
            raise self.fail(_IMAGINARY, position) from None
        except OverflowError:
            raise self.fail(_TOO_LARGE, position) from None
        if base != 0.0 and abs(approx) < _SMALLEST:
            raise self.fail(_TOO_LARGE.replace("large", "small"), position)
        return self.check_approx(approx, position) or 0.0

    def power(self, base_value: _Value, exponent_value: _Value, position: int) -> _Value:
        base, base_approx = base_value
        exponent, exponent_approx = exponent_value
        approx = None
        if base_approx is not None and exponent_approx is not None:
            approx = self.power_approx(base_approx, exponent_approx, position)
        if base.is_Number and exponent.is_Number:
            if base.is_zero:
                if exponent.is_negative:
                    raise self.fail("division by zero (0 to a negative power)", position)
            else:
                # estimate the size of the exact result before sympy computes it
                if base.is_Rational:
                    size = max(math.log2(abs(base.p)), math.log2(base.q))
                else:
                    size = abs(math.log2(abs(float(base))))
                if size * abs(float(exponent)) > MAX_NUMBER_BITS:
                    raise self.fail(_TOO_LARGE, position)
        elif exponent.is_Number and abs(exponent) > MAX_POWER:
            raise self.fail(f"exponent too large (at most {MAX_POWER} in absolute value)", position)
        result = self.check_value(sympy.Pow(base, exponent), position)
        if result.is_Pow and result.exp.is_Number and not result.base.is_Number \
                and abs(result.exp) > MAX_POWER:
            raise self.fail(f"exponent too large (at most {MAX_POWER} in absolute value)", position)
        return result, approx

    def constant(self, node: ast.Constant) -> _Value:
        value = node.value
        position = self.node_pos(node)
        literal = self.wrapped[node.col_offset:node.end_col_offset]
        if not isinstance(value, (int, float)) or isinstance(value, bool) \
                or not _NUMBER.fullmatch(literal):
            raise self.fail(f"{type(value).__name__} constants are not allowed in a formula",
                            position)
        if sum(ch in _DIGITS for ch in literal) > MAX_DIGITS:
            raise self.fail(f"number has too many digits (at most {MAX_DIGITS})", position)
        if type(value) is int:
            return self.check_value(sympy.Integer(value), position), float(value)
        if not math.isfinite(value):
            raise self.fail(f"number too large: {_quote(literal)} is not a finite float", position)
        number = sympy.Float(literal, 15)
        if value == 0.0 and not number.is_zero:
            raise self.fail(f"number too small: {_quote(literal)} underflows to 0", position)
        return self.check_value(number, position), value

    def name(self, node: ast.Name) -> _Value:
        name = node.id
        if name in ALLOWED_FUNCTIONS:
            raise self.fail(f"{name!r} is a function; call it like {name}(x)", self.node_pos(node))
        if name in CONSTANTS:
            return CONSTANTS[name], _FLOAT_CONSTANTS.get(name)
        try:
            return symbol(name), None
        except FormulaError as exc:
            raise self.fail(exc.reason, self.node_pos(node), exc.hint) from None

    def call(self, node: ast.Call, depth: int) -> _Value:
        position = self.node_pos(node)
        name = self.callee(node, position)
        if node.keywords:
            raise self.fail("keyword arguments are not allowed", position)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail("starred arguments (*x) are not allowed", self.node_pos(arg))
        low, high = _ARITY.get(name, (1, 1))
        count = len(node.args)
        if not low <= count <= high:
            if low == high:
                wanted = f"exactly {low} argument" + ("s" if low != 1 else "")
            else:
                wanted = f"{low} to {high} arguments"
            raise self.fail(f"{name}() takes {wanted} ({count} given)", position)
        built = [self.build(arg, depth + 1) for arg in node.args]
        approx = self.call_approx(name, built, position)
        try:
            if name in _KEPT and approx is not None and not built[0][0].is_Number:
                result = _KEPT[name](built[0][0], evaluate=False)
            else:
                result = ALLOWED_FUNCTIONS[name](*(value for value, _ in built))
        except (RecursionError, MemoryError):
            raise
        except OverflowError:
            raise self.fail(_TOO_LARGE, position) from None
        except Exception as exc:  # sympy refusing its arguments
            raise self.fail(f"cannot apply {name}() to these arguments ({type(exc).__name__})",
                            position) from None
        return self.check_value(result, position), approx

    def callee(self, node: ast.Call, position: int) -> str:
        """The name of the function ``node`` calls, one of ALLOWED_FUNCTIONS."""
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Constant):
                raise self.fail("a number cannot be called", position,
                                hint="write 3*(x+1), not 3(x+1)")
            raise self.fail("only the named functions can be called", position,
                            hint="for a product write (a)*(b)")
        name = func.id
        if name in ALLOWED_FUNCTIONS:
            return name
        if name in CONSTANTS:
            raise self.fail(f"{name!r} is a constant, not a function", position,
                            hint=f"did you mean {name}*(...)?")
        close = difflib.get_close_matches(name, list(ALLOWED_FUNCTIONS), n=1, cutoff=0.6)
        hint = (f"did you mean {close[0]}?" if close else
                f"known functions: {', '.join(sorted(ALLOWED_FUNCTIONS))}; "
                f"for a product write {name[:_QUOTED]}*(...)")
        raise self.fail(f"unknown function {_quote(name)}", position, hint=hint)

    def call_approx(self, name: str, built: list[_Value], position: int) -> float | None:
        """The float value of a call on constants (``None`` if an argument is not one),
        refusing values that are not real or too large."""
        twin = _FLOAT_FUNCTIONS.get(name)
        if twin is None or any(a is None for _, a in built):
            return None
        try:
            approx = twin(*(a for _, a in built))
        except ValueError:
            raise self.fail(f"{name}() is undefined or not real for this argument",
                            position) from None
        except OverflowError:
            raise self.fail(_TOO_LARGE, position) from None
        return self.check_approx(approx, position)


# --------------------------------------------------------------------------
# entry point

def _syntax_error(text: str, origin: list[int], exc: SyntaxError) -> FormulaError:
    position = None
    if exc.offset is not None and exc.lineno == 1:
        position = origin[min(max(exc.offset - 1, 0), len(origin) - 1)]
    message = str(exc.msg or "invalid syntax")[:100]
    return FormulaError(f"syntax error: {message}", text=_shown(text), position=position)


def parse(text: str) -> sympy.Expr:
    """Parse formula text into a sympy expression, whitelist only.

    Raises :class:`gdlab.errors.FormulaError` (and nothing else) for any text
    it refuses; see the module docstring for the grammar and the limits.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text (str), not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula too long: {len(text)} characters (at most {MAX_LENGTH})",
                           text=_shown(text), position=MAX_LENGTH)
    try:
        _Scanner(text).scan()
        wrapped, origin = _translate(text)
        try:
            tree = ast.parse(wrapped, mode="eval")
        except SyntaxError as exc:
            raise _syntax_error(text, origin, exc) from None
        except (RecursionError, MemoryError, ValueError, OverflowError):
            raise FormulaError("formula too complex for the parser", text=_shown(text)) from None
        if not isinstance(tree, ast.Expression):
            raise FormulaError("not an expression", text=_shown(text))
        builder = _Builder(text, wrapped, origin)
        expr, _approx = builder.build(tree.body, 1)
        if not isinstance(expr, sympy.Expr):
            raise FormulaError("formula does not describe a number", text=_shown(text))
        if expr.has(*_UNDEFINED):
            raise FormulaError("undefined value (division by zero, log(0), ...)", text=_shown(text))
        if expr.has(sympy.S.ImaginaryUnit):
            raise FormulaError(_IMAGINARY, text=_shown(text))
        return expr
    except FormulaError:
        raise
    except (RecursionError, MemoryError):
        raise FormulaError("formula too complex to process", text=_shown(text)) from None
    except Exception as exc:
        raise FormulaError(f"cannot parse formula ({type(exc).__name__})",
                           text=_shown(text)) from exc
