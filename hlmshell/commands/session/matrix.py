"""``matrix``: define matrices from stored results and simple expressions, list, rename, drop.

Expressions: ``e(b)``, ``e(V)``, ``r(name)``, a matrix name, ``(1,2\\3,4)``, ``J(r,c,v)``, ``I(n)``, the
transpose ``A'``, and ``+``, ``-``, ``*`` (matrix or scalar).  Names follow Stata: a copy keeps the
row and column names (``eq:name``), new matrices get ``r1 r2 ...`` and ``c1 c2 ...``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.lang.limits import MAX_MATRIX, require_memory, whole
from hlmshell.lang.scan import split_top_level
from hlmshell.results.postest import MatrixDir, MatrixListing
from hlmshell.results.stored import StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}$")
_STORED = re.compile(r"\s*([er])\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)")
_WORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_NUMBER = re.compile(r"\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def _default_names(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{k + 1}" for k in range(n)]


def _new(values: np.ndarray) -> StataMatrix:
    values = np.atleast_2d(np.asarray(values, dtype=float))
    return StataMatrix(values, _default_names("r", values.shape[0]), _default_names("c", values.shape[1]))


def stored_matrix(session: Session, text: str) -> StataMatrix:
    """``e(b)``, ``r(name)`` or a matrix name → the matrix; ``matrix x not found`` r(111) otherwise."""
    text = text.strip()
    m = _STORED.fullmatch(text)
    if m:
        res = session.e if m.group(1) == "e" else session.r
        if res is not None and m.group(2) in res.matrices:
            return res.matrices[m.group(2)]
        raise StataError(f"matrix {text} not found", 111)
    if text in session.matrices:
        return session.matrices[text]
    if not _NAME.match(text):
        raise syntax_error()
    raise StataError(f"matrix {text} not found", 111)


class _Parser:
    """Recursive descent over a matrix expression; values are StataMatrix or float."""

    def __init__(self, session: Session, text: str) -> None:
        self.session, self.text, self.pos = session, text, 0

    def parse(self) -> StataMatrix | float:
        value = self.expr()
        if self.text[self.pos:].strip():
            raise syntax_error()
        return value

    def peek(self) -> str:
        rest = self.text[self.pos:].lstrip()
        return rest[:1]

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos = self.text.index(char, self.pos) + 1
            return True
        return False

    def expr(self) -> StataMatrix | float:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.text[self.pos:].lstrip()[0]
            self.take(op)
            value = _add(value, self.term(), 1.0 if op == "+" else -1.0)
        return value

    def term(self) -> StataMatrix | float:
        value = self.factor()
        while self.take("*"):
            value = _multiply(value, self.factor())
        return value

    def factor(self) -> StataMatrix | float:
        if self.take("-"):
            return _add(0.0, self.factor(), -1.0)
        value = self.primary()
        while self.take("'"):
            if not isinstance(value, StataMatrix):
                raise StataError("type mismatch", 109)
            value = StataMatrix(value.values.T.copy(), list(value.colnames), list(value.rownames))
        return value

    def _closing(self) -> int:
        depth, i = 0, self.pos
        while i < len(self.text):
            c = self.text[i]
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and c == ")":
                return i
            i += 1
        raise StataError("unmatched parenthesis", 198)

    def primary(self) -> StataMatrix | float:
        rest = self.text[self.pos:]
        stored = _STORED.match(rest)
        if stored:
            self.pos += stored.end()
            return stored_matrix(self.session, stored.group(0))
        if self.peek() == "(":
            self.pos = self.text.index("(", self.pos)
            end = self._closing()
            inner = self.text[self.pos + 1:end]
            self.pos = end + 1
            if any(c in inner for c in ",\\"):
                return self.literal(inner)
            return _Parser(self.session, inner).parse()
        number = _NUMBER.match(rest)
        if number:
            self.pos += number.end()
            return float(number.group(1))
        word = _WORD.match(rest)
        if not word:
            raise syntax_error()
        self.pos += word.end()
        name = word.group(1)
        if self.peek() == "(" and name in ("J", "I"):
            self.pos = self.text.index("(", self.pos)
            end = self._closing()
            args = [a.strip() for a in split_top_level(self.text[self.pos + 1:end], ",")]
            self.pos = end + 1
            return self.function(name, args)
        return stored_matrix(self.session, name)

    def scalar(self, text: str) -> float:
        from hlmshell.lang.expr import evaluate_scalar

        value = evaluate_scalar(self.session, text)
        if isinstance(value, str):
            raise StataError("type mismatch", 109)
        return float(value)

    def dimension(self, text: str) -> int:
        """A row or column count: a whole number from 1 to Stata's largest matrix."""
        value = self.scalar(text)
        if math.isfinite(value) and value > MAX_MATRIX:
            raise StataError("matsize too small", 908)
        n = whole(math.floor(value) if math.isfinite(value) else value, 1, MAX_MATRIX)
        if n is None:
            raise StataError("matrix has missing values or invalid dimension", 504)
        return n

    def function(self, name: str, args: list[str]) -> StataMatrix:
        if len(args) != (1 if name == "I" else 3):
            raise syntax_error()
        r = self.dimension(args[0])
        c = r if name == "I" else self.dimension(args[1])
        require_memory(8.0 * r * c)
        if name == "I":
            return _new(np.eye(r))
        return _new(np.full((r, c), self.scalar(args[2])))

    def literal(self, inner: str) -> StataMatrix:
        rows = [[self.scalar(cell) for cell in split_top_level(row, ",")]
                for row in split_top_level(inner, "\\")]
        if len({len(r) for r in rows}) != 1:
            raise StataError("conformability error", 503)
        return _new(np.array(rows, dtype=float))


def _add(a: StataMatrix | float, b: StataMatrix | float, sign: float) -> StataMatrix | float:
    if isinstance(a, StataMatrix) and isinstance(b, StataMatrix):
        if a.shape != b.shape:
            raise StataError("conformability error", 503)
        return StataMatrix(a.values + sign * b.values, list(a.rownames), list(a.colnames))
    if isinstance(a, StataMatrix) or isinstance(b, StataMatrix):
        raise StataError("type mismatch", 109)
    return a + sign * b


def _multiply(a: StataMatrix | float, b: StataMatrix | float) -> StataMatrix | float:
    if isinstance(a, StataMatrix) and isinstance(b, StataMatrix):
        if a.shape[1] != b.shape[0]:
            raise StataError("conformability error", 503)
        return StataMatrix(a.values @ b.values, list(a.rownames), list(b.colnames))
    if isinstance(a, StataMatrix):
        return StataMatrix(a.values * b, list(a.rownames), list(a.colnames))
    if isinstance(b, StataMatrix):
        return StataMatrix(a * b.values, list(b.rownames), list(b.colnames))
    return a * b


def is_symmetric(m: StataMatrix) -> bool:
    r, c = m.shape
    return r == c and bool(np.array_equal(m.values, m.values.T, equal_nan=True))


def _define(session: Session, text: str) -> None:
    name, eq, expression = text.partition("=")
    name = name.strip()
    if not eq or not expression.strip():
        raise syntax_error()
    if not _NAME.match(name):
        raise StataError(f"{name} invalid name", 198)
    value = _Parser(session, expression).parse()
    if not isinstance(value, StataMatrix):
        value = _new(np.array([[value]]))
    session.matrices = {**session.matrices, name: value}


@command("MATrix", "anything(id=matname=exp)", otherwise=True)
def matrix(session: Session, args: Args) -> None:
    """Define, list, rename and drop matrices (``matrix b = e(b)``, ``matrix list b``)."""
    _define(session, args.anything)


@command("MATrix DEFine", "anything(id=matname=exp)")
def matrix_define(session: Session, args: Args) -> None:
    """Define a matrix: ``matrix define name = matrix_expression``."""
    _define(session, args.anything)


@command("MATrix INput", "anything(id=matname=exp)")
def matrix_input(session: Session, args: Args) -> None:
    """Enter a matrix: ``matrix input name = (1,2\\3,4)``."""
    _define(session, args.anything)


@command("MATrix List", "anything(id=matname) [, FORmat(string) noHEAder]")
def matrix_list(session: Session, args: Args) -> MatrixListing:
    """List a matrix (``e(b)``, ``r(name)`` or a matrix name)."""
    target = args.anything
    m = stored_matrix(session, target)
    return MatrixListing(title=re.sub(r"\s+", "", target), matrix=m, symmetric=is_symmetric(m),
                         fmt=args.format or "%10.0g", header=args.header)


@command("MATrix dir", "")
def matrix_dir(session: Session, args: Args) -> MatrixDir:
    """List the matrices with their dimensions."""
    return MatrixDir([(n, *m.shape) for n, m in session.matrices.items()])


@command("MATrix drop", "namelist(id=matnames|_all)")
def matrix_drop(session: Session, args: Args) -> None:
    """Drop matrices (``_all``: every one)."""
    names = args.names
    if "_all" in names:
        session.matrices = {}
        return
    for name in names:
        if name not in session.matrices:
            raise StataError(f"matrix {name} not found", 111)
    session.matrices = {k: v for k, v in session.matrices.items() if k not in names}


def _rename(session: Session, text: str, axis: str) -> None:
    name, eq, names_text = text.partition("=")
    name = name.strip()
    if not eq:
        raise syntax_error()
    m = stored_matrix(session, name)
    if name not in session.matrices:
        raise StataError(f"matrix {name} not found", 111)
    names = names_text.split()
    old = m.rownames if axis.startswith("row") else m.colnames
    if len(names) != len(old):
        raise StataError("conformability error", 503)
    if axis.endswith("eq"):
        names = [f"{eq_}:{o.partition(':')[2] if ':' in o else o}" for eq_, o in zip(names, old)]
    new = (StataMatrix(m.values.copy(), names, list(m.colnames)) if axis.startswith("row")
           else StataMatrix(m.values.copy(), list(m.rownames), names))
    session.matrices = {**session.matrices, name: new}


@command("MATrix ROWNames", "anything(id=matname=names)")
def matrix_rownames(session: Session, args: Args) -> None:
    """Name the rows: ``matrix rownames A = names``."""
    _rename(session, args.anything, "rownames")


@command("MATrix COLNames", "anything(id=matname=names)")
def matrix_colnames(session: Session, args: Args) -> None:
    """Name the columns: ``matrix colnames A = names``."""
    _rename(session, args.anything, "colnames")


@command("MATrix roweq", "anything(id=matname=names)")
def matrix_roweq(session: Session, args: Args) -> None:
    """Name the row equations: ``matrix roweq A = names``."""
    _rename(session, args.anything, "roweq")


@command("MATrix coleq", "anything(id=matname=names)")
def matrix_coleq(session: Session, args: Args) -> None:
    """Name the column equations: ``matrix coleq A = names``."""
    _rename(session, args.anything, "coleq")
