"""Stata's expression language, evaluated over the data with numpy.

Text is tokenized, parsed (Pratt parser) into a small AST of tuples and evaluated without Python's
``eval``.  A value is a Python ``float`` or ``str`` (a constant) or a numpy array over all observations
(``float64`` with NaN for missing, or ``object`` holding Python strings, ``""`` being missing).

Stata's rules: arithmetic with missing gives missing (so does division by zero and overflow); missing
compares greater than every number and equal to itself; comparisons and logical operators give 0/1,
never missing; in a logical context any nonzero value, missing included, is true.  Operator precedence
follows [U] 13.2.5: ``!`` first, then ``^`` (left associative), unary ``-``, ``* /``, ``+ -``,
comparisons, ``&``, ``|``.

Under ``by`` the observation numbers ``_n``/``_N``, explicit subscripts ``x[_n-1]`` and the running
``sum()`` work within groups: pass ``groups`` (one id per observation, groups contiguous) to
:func:`evaluate`.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.creturn import system_value
from hlmshell.lang.limits import (MAX_DYADIC, MAX_NESTING, MAX_STRING, expression_too_long,
                                  require_memory)
from hlmshell.lang.numfmt import fmt_num
from hlmshell.lang.varlist import abbreviated

if TYPE_CHECKING:
    import pandas as pd

Value = Any  # float | str | np.ndarray
MAX_DOUBLE = 8.988465674311579e307      # Stata's largest double: larger numbers are missing


class _OnFirstUse:
    """A module imported when one of its names is first used (``di 1`` never loads scipy)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


special = _OnFirstUse("scipy.special")
stats = _OnFirstUse("scipy.stats")

# -- tokens ---------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<missing>\.[a-z]?(?![A-Za-z0-9_]))
  | (?P<str>"[^"]*"|`"(?:.*?)"')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|~=|<=|>=|[-+*/^<>!~&|(),\[\]:=])
""", re.VERBOSE)


@dataclass(frozen=True)
class Tok:
    kind: str   # num missing str name op raw end
    text: str
    pos: int


def tokenize(text: str, *, partial: bool = False) -> list[Tok]:
    """Split ``text`` into tokens.  ``[...]`` after ``_b``/``_se`` and a leading ``[eq]`` stay raw.

    With ``partial`` an untokenizable character ends the token list instead of raising.
    """
    return list(_scan(text, 0, partial))


def _scan(text: str, start: int, partial: bool) -> Iterator[Tok]:
    """The tokens of ``text`` from ``start`` on, one at a time (a parser reads only what it needs:
    ``display`` parses one expression of many)."""
    prev: Tok | None = None
    i, n = start, len(text)
    while i < n:
        if text[i] == "[" and (prev is None or (prev.kind == "op" and prev.text not in (")", "]"))
                               or (prev.kind == "name" and prev.text in ("_b", "_se", "_coef"))):
            end = text.find("]", i)
            if end < 0:
                raise syntax_error()
            prev = Tok("raw", text[i + 1:end].strip(), i)
            yield prev
            i = end + 1
            continue
        m = _TOKEN.match(text, i)
        if not m:
            if partial:
                break
            raise syntax_error()
        kind = m.lastgroup or ""
        if kind != "ws":
            value = m.group(0)
            if kind == "str":
                value = value[1:-1] if value.startswith('"') else value[2:-2]
            prev = Tok(kind, value, i)
            yield prev
        i = m.end()
    yield Tok("end", "", i if partial else n)


# -- parser -----------------------------------------------------------------------------------------
# AST nodes are tuples: ("num", float) ("str", s) ("var", name) ("sys", "_n") ("bin", op, a, b)
# ("not", a) ("neg", a) ("call", fname, [args]) ("sub", base_node, [index nodes]) ("coef", kind, text)
_BINARY = {"|": 10, "&": 20, "==": 30, "!=": 30, "~=": 30, "<": 30, ">": 30, "<=": 30, ">=": 30,
           "+": 40, "-": 40, "*": 50, "/": 50, "^": 70}
_NEG_BP, _NOT_BP = 60, 80


class _Parser:
    """Pratt parser over the tokens as they are needed; at most :data:`MAX_DYADIC` binary operators
    and :data:`MAX_NESTING` levels of parentheses, unary operators, calls and subscripts (Stata's
    ``expression too long`` r(130)), so that neither parsing nor evaluation recurses without end."""

    def __init__(self, text: str, *, partial: bool = False, start: int = 0) -> None:
        self._tokens = _scan(text, start, partial)
        self.toks: list[Tok] = []
        self.i = 0
        self.dyadic = 0
        self.nesting = 0

    def peek(self) -> Tok:
        while len(self.toks) <= self.i:
            self.toks.append(next(self._tokens, None) or self.toks[-1])
        return self.toks[self.i]

    def next(self) -> Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def deeper(self) -> None:
        """One level deeper (the caller comes back up with ``self.nesting -= 1``; after an error
        the parser is not used again)."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise expression_too_long()

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.kind != "op" or tok.text != text:
            raise syntax_error()

    def parse(self) -> tuple:
        if self.peek().kind == "end":
            raise syntax_error()
        node = self.expr(0)
        if self.peek().kind != "end":
            raise syntax_error()
        return node

    def expr(self, rbp: int) -> tuple:
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind != "op":
                break
            bp = _BINARY.get(tok.text)
            if bp is None or bp <= rbp:
                break
            self.next()
            self.dyadic += 1
            if self.dyadic > MAX_DYADIC:
                raise expression_too_long()
            right = self.expr(bp)  # every binary operator is left associative, ^ included
            op = "!=" if tok.text == "~=" else tok.text
            left = ("bin", op, left, right)
        return left

    def prefix(self) -> tuple:
        tok = self.next()
        if tok.kind == "num":
            return self.postfix(("num", _clean(float(tok.text))))
        if tok.kind == "missing":
            return ("num", math.nan)
        if tok.kind == "str":
            return ("str", tok.text)
        if tok.kind == "raw":  # [eq]name  or  [eq]_b[name]
            nxt = self.next()
            if nxt.kind != "name":
                raise syntax_error()
            if nxt.text in ("_b", "_se", "_coef") and self.peek().kind == "raw":
                inner = self.next().text
                return ("coef", "_se" if nxt.text == "_se" else "_b", f"{tok.text}:{inner}")
            return ("coef", "_b", f"{tok.text}:{nxt.text}")
        if tok.kind == "op":
            if tok.text == "(":
                self.deeper()
                node = self.expr(0)
                self.expect(")")
                self.nesting -= 1
                return self.postfix(node)
            if tok.text in ("-", "+", "!", "~"):
                self.deeper()
                node = self.expr(_NOT_BP if tok.text in ("!", "~") else _NEG_BP)
                self.nesting -= 1
                return node if tok.text == "+" else ("neg" if tok.text == "-" else "not", node)
            raise syntax_error()
        if tok.kind == "name":
            name = tok.text
            if name in ("_b", "_se", "_coef"):
                raw = self.next()
                if raw.kind != "raw":
                    raise syntax_error()
                return ("coef", "_se" if name == "_se" else "_b", raw.text)
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text == "(":
                self.next()
                self.deeper()
                args = self.arguments(")")
                self.nesting -= 1
                return self.postfix(("call", name, args))
            return self.postfix(("name", name))
        raise syntax_error()

    def arguments(self, close: str) -> list[tuple]:
        args: list[tuple] = []
        if self.peek().kind == "op" and self.peek().text == close:
            self.next()
            return args
        while True:
            args.append(self.expr(0))
            tok = self.next()
            if tok.kind == "op" and tok.text == close:
                return args
            if not (tok.kind == "op" and tok.text == ","):
                raise syntax_error()

    def postfix(self, node: tuple) -> tuple:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "[":
            self.next()
            self.deeper()
            args = self.arguments("]")
            self.nesting -= 1
            return ("sub", node, args)
        return node


def parse(text: str) -> tuple:
    """Parse ``text`` to an AST (raises ``invalid syntax`` r(198))."""
    return _Parser(text).parse()


def parse_leading(text: str, start: int = 0) -> tuple[tuple, int]:
    """Parse the expression at ``start`` in ``text``; return its AST and where it ends.

    ``display`` uses this to split ``"x = " x*2 _n`` into its directives: the expression ends where
    the next token cannot continue it (only its own tokens are read).
    """
    parser = _Parser(text, partial=True, start=start)
    if parser.peek().kind == "end":
        raise syntax_error()
    node = parser.expr(0)
    return node, parser.peek().pos


# -- evaluation ---------------------------------------------------------------------------------
class _Ctx:
    """What evaluation needs: the session, the number of observations, by-groups and the if-mask."""

    def __init__(self, session: Any, groups: np.ndarray | None, rows: np.ndarray | None) -> None:
        self.session = session
        self.n = session.nobs
        self.rows = rows
        if groups is None:
            self.start = np.zeros(self.n, dtype=np.int64)
            self.size = np.full(self.n, self.n, dtype=np.int64)
        else:
            self.start, self.size = group_positions(np.asarray(groups))
        self.group_ids = groups

    def column(self, name: str) -> np.ndarray:
        return column_values(self.session.data, name)


def group_positions(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For contiguous group ids: each observation's group start index and group size."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.ones(n, dtype=bool)
    change[1:] = groups[1:] != groups[:-1]
    starts = np.flatnonzero(change)
    sizes = np.diff(np.append(starts, n))
    which = np.cumsum(change) - 1
    return starts[which], sizes[which]


def column_values(data: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64 with NaN for missing, or as an object array of str with '' for missing."""
    import pandas as pd

    col = data[name]
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(col.cat.categories.dtype if col.notna().all() else object)
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return np.array(["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v)
                     for v in col], dtype=object)


def _is_str(v: Value) -> bool:
    return isinstance(v, str) or (isinstance(v, np.ndarray) and v.dtype == object)


def _is_vec(v: Value) -> bool:
    return isinstance(v, np.ndarray)


def _num(v: Value) -> Value:
    if _is_str(v):
        raise StataError("type mismatch", 109)
    return v


def _str(v: Value) -> Value:
    if not _is_str(v):
        raise StataError("type mismatch", 109)
    return v


def _clean(v: Value) -> Value:
    """Infinities (overflow, division by zero) and numbers above Stata's largest double are
    missing in Stata."""
    if isinstance(v, np.ndarray):
        v = v.astype(float, copy=False)
        with np.errstate(invalid="ignore"):
            v[~np.isfinite(v) | (v > MAX_DOUBLE)] = np.nan
        return v
    v = float(v)
    return v if math.isfinite(v) and v <= MAX_DOUBLE else math.nan


def _key(v: Value) -> Value:
    """Comparison key: missing becomes +inf, greater than every number and equal to itself."""
    if isinstance(v, np.ndarray):
        return np.where(np.isnan(v), np.inf, v)
    return math.inf if math.isnan(v) else v


def _truth(v: Value) -> Value:
    """Logical value: nonzero (missing included) is true."""
    v = _num(v)
    if isinstance(v, np.ndarray):
        return v != 0
    return v != 0


def _bool(v: Value) -> Value:
    if isinstance(v, np.ndarray):
        return v.astype(float)
    return 1.0 if v else 0.0


def _str_vec(fn: Callable[..., Any], *args: Value, out: type = object) -> Value:
    """Apply a scalar string function elementwise when any argument is an array."""
    n = next((len(a) for a in args if isinstance(a, np.ndarray)), None)
    if n is None:
        return fn(*args)
    cols = [a if isinstance(a, np.ndarray) else [a] * n for a in args]
    return np.array([fn(*vals) for vals in zip(*cols)], dtype=out)


def _binary(op: str, a: Value, b: Value) -> Value:
    if _is_str(a) or _is_str(b):
        if op in ("&", "|"):
            raise StataError("type mismatch", 109)
        if op == "+":
            return _str_vec(lambda x, y: x + y, _str(a), _str(b))
        if op == "*":
            s, k = (a, b) if _is_str(a) else (b, a)
            return _str_vec(_repeat, s, _num(k))
        if op not in ("==", "!=", "<", ">", "<=", ">="):
            raise StataError("type mismatch", 109)
        _str(a), _str(b)
        cmp = {"==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
               ">": lambda x, y: x > y, "<=": lambda x, y: x <= y, ">=": lambda x, y: x >= y}[op]
        res = _str_vec(cmp, a, b, out=bool)
        return _bool(res)
    with np.errstate(all="ignore"):
        if op == "+":
            return _clean(np.add(a, b))
        if op == "-":
            return _clean(np.subtract(a, b))
        if op == "*":
            return _clean(np.multiply(a, b))
        if op == "/":
            return _clean(np.divide(a, b))
        if op == "^":
            return _clean(np.power(np.asarray(a, dtype=float), b) if _is_vec(a) or _is_vec(b)
                          else _power(a, b))
        if op in ("==", "!=", "<", ">", "<=", ">="):
            ka, kb = _key(a), _key(b)
            res = {"==": np.equal, "!=": np.not_equal, "<": np.less, ">": np.greater,
                   "<=": np.less_equal, ">=": np.greater_equal}[op](ka, kb)
            return _bool(res)
        if op == "&":
            return _bool(np.logical_and(_truth(a), _truth(b)))
        if op == "|":
            return _bool(np.logical_or(_truth(a), _truth(b)))
    raise syntax_error()


def _repeat(s: str, k: float) -> str:
    """``"ab"*3``: a result longer than a strL may be is refused (``"a"*1e300``)."""
    if math.isnan(k) or k < 1 or not s:
        return ""
    if len(s) * k > MAX_STRING:
        raise StataError("string too long", 1000)
    require_memory(4 * len(s) * k)
    return s * int(k)


def _power(a: float, b: float) -> float:
    try:
        r = a ** b
    except (OverflowError, ZeroDivisionError):
        return math.nan
    return math.nan if isinstance(r, complex) else r


def evaluate_node(node: tuple, ctx: _Ctx) -> Value:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "str":
        return node[1]
    if kind == "bin":          # a left-deep chain (a + b + c ...) by a loop, not by recursion
        chain = []
        while node[0] == "bin":
            chain.append(node)
            node = node[2]
        value = evaluate_node(node, ctx)
        for link in reversed(chain):
            value = _binary(link[1], value, evaluate_node(link[3], ctx))
        return value
    if kind == "neg":
        v = _num(evaluate_node(node[1], ctx))
        return -v
    if kind == "not":
        v = _truth(evaluate_node(node[1], ctx))
        return _bool(np.logical_not(v)) if isinstance(v, np.ndarray) else _bool(not v)
    if kind == "name":
        return _name(node[1], ctx)
    if kind == "call":
        return _call(node[1], node[2], ctx)
    if kind == "sub":
        return _subscript(node[1], node[2], ctx)
    if kind == "coef":
        return _coef(node[1], node[2], ctx)
    raise syntax_error()


def _name(name: str, ctx: _Ctx) -> Value:
    s = ctx.session
    if name == "_n":
        return (np.arange(ctx.n) - ctx.start + 1).astype(float)
    if name == "_N":
        return ctx.size.astype(float) if ctx.n else 0.0
    if name == "_pi":
        return math.pi
    if name == "_rc":
        return float(s.rc)
    if name in s.data.columns:
        return ctx.column(name)
    if name in s.scalars:
        v = s.scalars[name]
        return v if isinstance(v, str) else float(v)
    matches = abbreviated(s.variables, name)
    if len(matches) == 1:
        return ctx.column(matches[0])
    if len(matches) > 1:
        raise StataError(f"{name} ambiguous abbreviation", 111)
    if name in s.matrices:
        raise StataError("type mismatch", 109)
    raise StataError(f"{name} not found", 111)


def _matrix(node: tuple, ctx: _Ctx) -> Any:
    """The StataMatrix a node names: ``name`` (session matrix) or ``e(b)``/``r(x)``-style calls."""
    s = ctx.session
    if node[0] == "name":
        if node[1] in s.matrices:
            return s.matrices[node[1]]
        raise StataError(f"matrix {node[1]} not found", 111)
    if node[0] == "call" and node[1] in ("e", "r") and len(node[2]) == 1 and node[2][0][0] == "name":
        res = s.e if node[1] == "e" else s.r
        key = node[2][0][1]
        if res is not None and key in res.matrices:
            return res.matrices[key]
        raise StataError(f"matrix {node[1]}({key}) not found", 111)
    raise syntax_error()


def _matrix_index(m: Any, v: Value, axis: int) -> int:
    names = m.rownames if axis == 0 else m.colnames
    if isinstance(v, str):
        if v in names:
            return names.index(v)
        tails = [k for k, nm in enumerate(names) if nm.split(":")[-1] == v]
        if tails:
            return tails[0]
        raise StataError("matrix operators that return matrices not allowed in this context", 509)
    if _is_vec(v):
        raise StataError("type mismatch", 109)
    k = int(v) - 1 if not math.isnan(v) else -1
    if not 0 <= k < m.values.shape[axis]:
        raise StataError("subscript invalid", 503)
    return k


def _subscript(base: tuple, idx: list[tuple], ctx: _Ctx) -> Value:
    s = ctx.session
    is_var = base[0] == "name" and (base[1] in s.data.columns or
                                    (base[1] not in s.matrices and base[1] not in s.scalars))
    if is_var and len(idx) == 1:
        col = _name(base[1], ctx)
        if not _is_vec(col):
            raise syntax_error()
        pos = _num(evaluate_node(idx[0], ctx))
        pos = np.broadcast_to(np.asarray(pos, dtype=float), (ctx.n,))
        with np.errstate(invalid="ignore"):
            k = np.where(np.isnan(pos), -1, np.floor(pos)).astype(np.int64) - 1
        ok = (k >= 0) & (k < ctx.size)
        absolute = np.where(ok, ctx.start + np.where(ok, k, 0), 0)
        if col.dtype == object:
            return np.where(ok, col[absolute] if ctx.n else col, "").astype(object)
        return np.where(ok, col[absolute] if ctx.n else col, np.nan)
    m = _matrix(base, ctx)
    if len(idx) == 1 and m.values.shape[0] == 1:
        idx = [("num", 1.0), idx[0]]
    if len(idx) != 2:
        raise StataError("subscript invalid", 503)
    i = _matrix_index(m, evaluate_node(idx[0], ctx), 0)
    j = _matrix_index(m, evaluate_node(idx[1], ctx), 1)
    return float(m.values[i, j])


def _coef(kind: str, text: str, ctx: _Ctx) -> float:
    """``_b[name]``, ``_b[eq:name]``, ``_se[...]``: from e(b) and e(V), names read by the one grammar
    of coefficient names that ``test`` and ``lincom`` use (:mod:`hlmshell.lang.coefnames`)."""
    from hlmshell.lang.coefnames import Coefficients

    e = ctx.session.e
    if e is None or "b" not in e.matrices:
        raise StataError("last estimates not found", 301)
    b = e.matrices["b"]
    text = text.replace(" ", "")
    try:
        k = Coefficients.from_colnames(b.colnames).find(text)
    except StataError:
        raise StataError(f"[{text}] not found", 111) from None
    if kind == "_b":
        return float(b.values[0, k])
    V = e.matrices.get("V")
    if V is None:
        raise StataError(f"[{text}] not found", 111)
    var = float(V.values[k, k])
    return math.sqrt(var) if var > 0 else (0.0 if var == 0 else math.nan)


# -- functions --------------------------------------------------------------------------------------
def _elementwise(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Value]:
    def apply(x: Value) -> Value:
        with np.errstate(all="ignore"):
            out = fn(np.asarray(_num(x), dtype=float))
        out = _clean(out)
        return out if _is_vec(x) else float(out)
    return apply


def _nargs(name: str, args: list, lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        raise StataError(f"{'too few' if len(args) < lo else 'too many'} arguments", 198)


def _round(x: Value, y: Value = 1.0) -> Value:
    x, y = _num(x), _num(y)
    with np.errstate(all="ignore"):
        r = np.where(np.equal(y, 0), x, np.multiply(np.floor(np.divide(x, y) + 0.5), y))
    return _clean(r) if _is_vec(r) else _clean(float(r))


def _minmax(args: list[Value], fn: Callable) -> Value:
    arrs = [np.asarray(_num(a), dtype=float) for a in args]
    stacked = np.broadcast_arrays(*arrs)
    with np.errstate(all="ignore"), _warnings_off():
        out = fn(np.stack(stacked), axis=0)
    vec = any(_is_vec(a) for a in args)
    return out if vec else float(out)


class _warnings_off:
    def __enter__(self) -> None:
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: Any) -> None:
        self._w.__exit__(*exc)


def _missing(v: Value) -> Value:
    if _is_str(v):
        return _bool(v == "") if not _is_vec(v) else (v == "").astype(float)
    return _bool(np.isnan(v)) if not _is_vec(v) else np.isnan(v).astype(float)


def _substr(s: str, a: float, b: float) -> str:
    if math.isnan(a):
        return ""
    n = len(s)
    start = int(a) - 1 if a > 0 else n + int(a)
    if a == 0 or start < 0 or start >= n:
        return ""
    if math.isnan(b):
        return s[start:]
    return s[start:start + max(int(b), 0)]


def _real(s: str) -> float:
    try:
        return float(s.strip())
    except ValueError:
        return math.nan


def _format(x: float, fmt: str) -> str:
    try:
        return fmt_num(x, fmt).strip()
    except ValueError:
        raise StataError(f"invalid format {fmt}", 120) from None


def _running_sum(x: Value, ctx: _Ctx) -> Value:
    x = np.broadcast_to(np.asarray(_num(x), dtype=float), (ctx.n,)).copy()
    x[np.isnan(x)] = 0.0
    if ctx.rows is not None:
        x[~ctx.rows] = 0.0
    total = np.cumsum(x)
    before = np.concatenate([[0.0], total])[ctx.start]
    return total - before


def _cond(args: list[Value]) -> Value:
    c = _num(args[0])
    a, b = args[1], args[2]
    if _is_str(a) != _is_str(b):
        raise StataError("type mismatch", 109)
    if len(args) == 4:
        m = args[3]
        if _is_str(m) != _is_str(a):
            raise StataError("type mismatch", 109)
        if isinstance(c, np.ndarray):
            out = np.where(np.isnan(c), m, np.where(c != 0, a, b))
            return out.astype(object) if _is_str(a) else out.astype(float)
        return m if math.isnan(c) else (a if c != 0 else b)
    if isinstance(c, np.ndarray):
        out = np.where(c != 0, a, b)
        return out.astype(object) if _is_str(a) else out.astype(float)
    return a if c != 0 else b


def _inlist(args: list[Value]) -> Value:
    if len(args) < 2:
        raise StataError("too few arguments", 198)
    first = args[0]
    strs = {_is_str(a) for a in args}
    if len(strs) > 1:
        raise StataError("type mismatch", 109)
    res: Value = 0.0
    for a in args[1:]:
        res = _binary("|", res, _binary("==", first, a))
    return res


def _inrange(x: Value, a: Value, b: Value) -> Value:
    if _is_str(x):
        return _binary("&", _binary(">=", x, a), _binary("<=", x, b))
    x = np.asarray(x, dtype=float)
    a = np.where(np.isnan(np.asarray(a, dtype=float)), -np.inf, a)
    b = np.where(np.isnan(np.asarray(b, dtype=float)), np.inf, b)
    with np.errstate(invalid="ignore"):
        res = (~np.isnan(x)) & (x >= a) & (x <= b)
    return res.astype(float) if res.ndim else float(res)


def _rand(ctx: _Ctx, draw: Callable[[int], np.ndarray], scalar: bool) -> Value:
    if scalar:
        return float(draw(1)[0])
    return draw(ctx.n).astype(float)


def _safe(fn: Callable[..., Any]) -> Callable[..., Value]:
    """Wrap a numpy/scipy function of numbers: missing in, missing out, no warnings."""
    def apply(*args: Value) -> Value:
        vals = [_num(a) for a in args]
        with np.errstate(all="ignore"), _warnings_off():
            out = fn(*[np.asarray(v, dtype=float) for v in vals])
        out = np.asarray(out, dtype=float)
        out = _clean(out.copy() if out.ndim else float(out))
        return out
    return apply


_MATH: dict[str, tuple[int, int, Callable[..., Value]]] = {
    "exp": (1, 1, _elementwise(np.exp)),
    "ln": (1, 1, _elementwise(lambda x: np.where(x > 0, np.log(np.where(x > 0, x, 1)), np.nan))),
    "log": (1, 1, _elementwise(lambda x: np.where(x > 0, np.log(np.where(x > 0, x, 1)), np.nan))),
    "log10": (1, 1, _elementwise(lambda x: np.where(x > 0, np.log10(np.where(x > 0, x, 1)),
                                                    np.nan))),
    "sqrt": (1, 1, _elementwise(np.sqrt)),
    "abs": (1, 1, _elementwise(np.abs)),
    "floor": (1, 1, _elementwise(np.floor)),
    "ceil": (1, 1, _elementwise(np.ceil)),
    "int": (1, 1, _elementwise(np.trunc)),
    "trunc": (1, 1, _elementwise(np.trunc)),
    "sign": (1, 1, _elementwise(np.sign)),
    "round": (1, 2, _round),
    "mod": (2, 2, _safe(lambda x, y: np.where(y != 0, x - y * np.floor(x / y), np.nan))),
    "normal": (1, 1, _safe(lambda x: special.ndtr(x))),
    "invnormal": (1, 1, _safe(lambda p: np.where((p > 0) & (p < 1), special.ndtri(p), np.nan))),
    "normalden": (1, 3, _safe(lambda x, m=0.0, s=1.0: np.where(s > 0, stats.norm.pdf(x, m, s),
                                                                  np.nan))),
    "chi2": (2, 2, _safe(lambda df, x: stats.chi2.cdf(x, df))),
    "chi2tail": (2, 2, _safe(lambda df, x: stats.chi2.sf(x, df))),
    "invchi2": (2, 2, _safe(lambda df, p: stats.chi2.ppf(p, df))),
    "invchi2tail": (2, 2, _safe(lambda df, p: stats.chi2.isf(p, df))),
    "t": (2, 2, _safe(lambda df, x: stats.t.cdf(x, df))),
    "ttail": (2, 2, _safe(lambda df, x: stats.t.sf(x, df))),
    "invt": (2, 2, _safe(lambda df, p: stats.t.ppf(p, df))),
    "invttail": (2, 2, _safe(lambda df, p: stats.t.isf(p, df))),
    "tden": (2, 2, _safe(lambda df, x: stats.t.pdf(x, df))),
    "F": (3, 3, _safe(lambda d1, d2, x: stats.f.cdf(x, d1, d2))),
    "Ftail": (3, 3, _safe(lambda d1, d2, x: stats.f.sf(x, d1, d2))),
    "invF": (3, 3, _safe(lambda d1, d2, p: stats.f.ppf(p, d1, d2))),
    "invFtail": (3, 3, _safe(lambda d1, d2, p: stats.f.isf(p, d1, d2))),
    "logit": (1, 1, _safe(lambda p: np.log(p / (1 - p)))),
    "invlogit": (1, 1, _safe(lambda x: special.expit(x))),
    "lngamma": (1, 1, _safe(lambda x: special.gammaln(x))),
    "lnfactorial": (1, 1, _safe(lambda x: special.gammaln(np.floor(x) + 1))),
    "comb": (2, 2, _safe(lambda n, k: np.round(special.comb(n, k)))),
    "atanh": (1, 1, _safe(np.arctanh)),
    "tanh": (1, 1, _safe(np.tanh)),
    "sin": (1, 1, _safe(np.sin)),
    "cos": (1, 1, _safe(np.cos)),
    "tan": (1, 1, _safe(np.tan)),
    "atan": (1, 1, _safe(np.arctan)),
}

_STRING: dict[str, tuple[int, int, Callable[..., Any], type]] = {
    "strlen": (1, 1, lambda s: float(len(s)), float),
    "ustrlen": (1, 1, lambda s: float(len(s)), float),
    "lower": (1, 1, str.lower, object),
    "strlower": (1, 1, str.lower, object),
    "upper": (1, 1, str.upper, object),
    "strupper": (1, 1, str.upper, object),
    "trim": (1, 1, lambda s: s.strip(" "), object),
    "strtrim": (1, 1, lambda s: s.strip(" "), object),
    "ltrim": (1, 1, lambda s: s.lstrip(" "), object),
    "rtrim": (1, 1, lambda s: s.rstrip(" "), object),
    "itrim": (1, 1, lambda s: re.sub(" +", " ", s), object),
    "stritrim": (1, 1, lambda s: re.sub(" +", " ", s), object),
    "real": (1, 1, _real, float),
    "strpos": (2, 2, lambda s, t: float(s.find(t) + 1), float),
    "subinstr": (4, 4, None, object),   # handled specially (numeric 4th argument)
    "substr": (3, 3, None, object),
    "usubstr": (3, 3, None, object),
    "word": (2, 2, None, object),
    "strofreal": (1, 2, None, object),
    "string": (1, 2, None, object),
}


def _call(name: str, arg_nodes: list[tuple], ctx: _Ctx) -> Value:
    s = ctx.session
    if name in ("e", "r"):
        return _stored(name, arg_nodes, ctx)
    if name == "c" and len(arg_nodes) == 1 and arg_nodes[0][0] == "name":
        value = system_value(s, arg_nodes[0][1])
        return math.nan if value is None else value
    if name == "scalar":
        if len(arg_nodes) != 1 or arg_nodes[0][0] != "name":
            raise syntax_error()
        key = arg_nodes[0][1]
        if key not in s.scalars:
            raise StataError(f"scalar {key} not found", 111)
        v = s.scalars[key]
        return v if isinstance(v, str) else float(v)
    if name in ("rowsof", "colsof"):
        if len(arg_nodes) != 1:
            raise syntax_error()
        m = _matrix(arg_nodes[0], ctx)
        return float(m.values.shape[0 if name == "rowsof" else 1])
    if name == "el":
        if len(arg_nodes) != 3:
            raise syntax_error()
        m = _matrix(arg_nodes[0], ctx)
        i = _matrix_index(m, evaluate_node(arg_nodes[1], ctx), 0)
        j = _matrix_index(m, evaluate_node(arg_nodes[2], ctx), 1)
        return float(m.values[i, j])
    if name in ("runiform", "rnormal", "uniform", "invnormal_rand"):
        args = [_num(evaluate_node(a, ctx)) for a in arg_nodes]
        if any(_is_vec(a) for a in args):
            raise StataError("type mismatch", 109)
        scalar = ctx.n == 0 or getattr(ctx, "scalar", False)
        if name in ("runiform", "uniform"):
            lo, hi = (args + [0.0, 1.0][len(args):])[:2] if args else (0.0, 1.0)
            return _rand(ctx, lambda k: s.rng.uniform(lo, hi, k), scalar)
        m, sd = (args + [0.0, 1.0][len(args):])[:2] if args else (0.0, 1.0)
        return _rand(ctx, lambda k: s.rng.normal(m, sd, k), scalar)
    args = [evaluate_node(a, ctx) for a in arg_nodes]
    if name in _MATH:
        lo, hi, fn = _MATH[name]
        _nargs(name, args, lo, hi)
        return fn(*args)
    if name == "min":
        _nargs(name, args, 1, 10_000)
        return _minmax(args, np.nanmin)
    if name == "max":
        _nargs(name, args, 1, 10_000)
        return _minmax(args, np.nanmax)
    if name == "cond":
        _nargs(name, args, 3, 4)
        return _cond(args)
    if name in ("missing", "mi"):
        _nargs(name, args, 1, 10_000)
        res: Value = 0.0
        for a in args:
            res = _binary("|", res, _missing(a))
        return res
    if name == "inlist":
        return _inlist(args)
    if name == "inrange":
        _nargs(name, args, 3)
        return _inrange(*args)
    if name == "sum":
        _nargs(name, args, 1)
        return _running_sum(args[0], ctx)
    if name in _STRING:
        lo, hi, fn, out = _STRING[name]
        _nargs(name, args, lo, hi)
        if name in ("string", "strofreal"):
            _num(args[0])
            fmt = _str(args[1]) if len(args) > 1 else "%9.0g"
            return _str_vec(lambda x, f: "." if math.isnan(x) else _format(x, f),
                            args[0], fmt)
        if name in ("substr", "usubstr"):
            _str(args[0]), _num(args[1]), _num(args[2])
            return _str_vec(_substr, *args)
        if name == "subinstr":
            _str(args[0]), _str(args[1]), _str(args[2]), _num(args[3])
            return _str_vec(lambda a, b, c, k: a.replace(b, c) if math.isnan(k)
                            else a.replace(b, c, int(k)), *args)
        if name == "word":
            _str(args[0]), _num(args[1])
            return _str_vec(_word, *args)
        for a in args:
            _str(a)
        return _str_vec(fn, *args, out=out)
    if name in s.data.columns or name in s.matrices:
        raise syntax_error()
    raise StataError(f"unknown function {name}()", 133)


def _word(s: str, k: float) -> str:
    words = s.split()
    if math.isnan(k) or k == 0:
        return ""
    i = int(k) - 1 if k > 0 else len(words) + int(k)
    return words[i] if 0 <= i < len(words) else ""


def _stored(kind: str, arg_nodes: list[tuple], ctx: _Ctx) -> Value:
    """``e(name)``/``r(name)``: a scalar (missing if unset) or a macro (a string)."""
    if len(arg_nodes) != 1 or arg_nodes[0][0] != "name":
        raise syntax_error()
    key = arg_nodes[0][1]
    res = ctx.session.e if kind == "e" else ctx.session.r
    if kind == "e" and key == "sample":
        mask = ctx.session.in_sample(res)
        return mask.astype(float) if ctx.n else 0.0
    if res is None:
        return math.nan
    if key in res.scalars:
        return float(res.scalars[key])
    if key in res.macros:
        return str(res.macros[key])
    if key in res.matrices:
        raise StataError("type mismatch", 109)
    return math.nan


# -- public API -------------------------------------------------------------------------------------
def evaluate(session: Any, text: str, *, rows: np.ndarray | None = None,
             groups: np.ndarray | None = None) -> np.ndarray | float | str:
    """Evaluate ``text`` over the data in memory.

    Returns a numpy array of length ``session.nobs`` (or ``rows.sum()`` when ``rows`` is a boolean mask)
    if the expression involves the data (variables, ``_n``, ``_N``...), else a Python float or str.
    ``groups`` (one id per observation, contiguous) makes ``_n``/``_N``/subscripts/``sum()`` work
    within by-groups.  Numbers: float64 with NaN for missing; strings: object arrays, '' for missing.
    """
    node = parse(text)
    ctx = _Ctx(session, groups, rows)
    value = evaluate_node(node, ctx)
    if isinstance(value, np.ndarray):
        if value.dtype != object:
            value = value.astype(float)
        if value.ndim == 0:
            return str(value.item()) if value.dtype == object else float(value)
        if rows is not None:
            value = value[np.asarray(rows, dtype=bool)]
        return value
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    return value


def evaluate_scalar(session: Any, text: str) -> float | str:
    """Evaluate for ``display``/``scalar``: a variable means its first observation, as in Stata."""
    return evaluate_node_scalar(session, parse(text))


def evaluate_node_scalar(session: Any, node: tuple) -> float | str:
    """:func:`evaluate_scalar` for an already parsed AST (see :func:`parse_leading`).

    Under ``by`` (``by g: display x``, the command running on one group) a variable means the
    group's first observation and ``_n``/``_N`` count within the group.
    """
    rows = getattr(session, "by_rows", None)
    first, groups = 0, None
    if rows is not None and len(rows) == session.nobs and np.any(rows):
        rows = np.asarray(rows, dtype=bool)
        first = int(np.flatnonzero(rows)[0])
        groups = np.cumsum(np.r_[True, rows[1:] != rows[:-1]])    # the group is one of these runs
    ctx = _Ctx(session, groups, None)
    ctx.scalar = True  # type: ignore[attr-defined]
    value = evaluate_node(node, ctx)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            value = value.item()
        elif len(value) == 0:
            return "" if value.dtype == object else math.nan
        else:
            value = value[first]
    if isinstance(value, str):
        return value
    return float(value)


_RANGE_END = re.compile(r"^\s*(-?\d+|f|F|l|L)\s*$")


def _obs_number(word: str, n: int) -> int:
    m = _RANGE_END.match(word)
    if not m:
        raise syntax_error()
    w = m.group(1)
    if w in ("f", "F"):
        return 1
    if w in ("l", "L"):
        return n
    k = int(w)
    return n + k + 1 if k < 0 else k


def row_mask(session: Any, if_: str | None, in_: str | None, *,
             groups: np.ndarray | None = None) -> np.ndarray:
    """The observations selected by ``if exp`` and ``in range`` (Stata's ``in 1/10``, ``in -5/l``).

    ``groups`` evaluates the ``if`` expression within by-groups (``by id: drop if _n > 1``); while a
    byable(recall) command runs on one by-group (``session.by_rows``), ``_n`` and ``_N`` count within
    that group and only its observations are selected.
    """
    n = session.nobs
    if groups is not None and in_ is not None:
        raise StataError("in may not be combined with by", 190)
    mask = np.ones(n, dtype=bool)
    if in_ is not None:
        first_text, sep, last_text = in_.partition("/")
        first = _obs_number(first_text, n)
        last = _obs_number(last_text, n) if sep else first
        if first < 1 or last > n or first > last:
            if not (first == 1 and last == 0 and n == 0):
                raise StataError("Obs. nos. out of range", 198)
        mask[:] = False
        mask[first - 1:last] = True
    by_rows = getattr(session, "by_rows", None)
    if if_ is not None:
        if groups is None and by_rows is not None:
            groups = by_rows.astype(np.int64)   # a byable(recall) command's group: _n, _N within it
        value = evaluate(session, if_, groups=groups)
        if _is_str(value):
            raise StataError("type mismatch", 109)
        truth = np.asarray(value, dtype=float) != 0
        mask &= np.broadcast_to(truth, (n,))
    if by_rows is not None:
        mask &= by_rows
    return mask


def is_string_value(value: Value) -> bool:
    """True for a str or an object (string) array result of :func:`evaluate`."""
    return _is_str(value)
