"""Linear expressions in estimated coefficients, as ``test`` and ``lincom`` read them.

``ses + 1.sector#c.ses``, ``2.sized - 3.sized``, ``_b[ses]``, ``[mathach]ses``, ``2*ses + 1``, and
the free parameters of the me commands, ``/lnalpha``, ``_b[/var(_cons[herd])]``,
``[/]cov(x[g],_cons[g])``: each
becomes a weight on every column of e(b) plus a constant.  Names are looked up in the first (the
dependent variable's) equation unless an equation is given; a unique abbreviation of a plain variable
name is accepted, as Stata accepts it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from hlmshell.errors import StataError, syntax_error

_TOKEN = re.compile(r"""\s*(?:
    (?P<b>_b\[(?:[^\[\]]|\[[^\[\]]*\])*\])
  | (?P<eqname>\[[^\]]*\]\s*(?:[A-Za-z_]+\([^()]*\)|[A-Za-z0-9_.#~]*))
  | (?P<free>/[A-Za-z_][A-Za-z0-9_]*(?:\([^()]*\))?)
  | (?P<fv>\d+[bno]*\.[A-Za-z_][A-Za-z0-9_.#]*)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.#]*)
  | (?P<op>[-+*/]))""", re.VERBOSE)


@dataclass
class Coefficients:
    """The columns of e(b): equation and name of each, and the default equation."""

    equations: list[str]
    names: list[str]

    @classmethod
    def from_colnames(cls, colnames: list[str]) -> "Coefficients":
        eqs, names = [], []
        for col in colnames:
            eq, sep, name = col.rpartition(":")
            eqs.append(eq if sep else "")
            names.append(name)
        return cls(eqs, names)

    @property
    def default_equation(self) -> str:
        return self.equations[0] if self.equations else ""

    def label(self, j: int) -> str:
        """How Stata writes a coefficient in a constraint: ``[mathach]ses`` (or ``ses`` without eqs)."""
        return f"[{self.equations[j]}]{self.names[j]}" if self.equations[j] else self.names[j]

    def find(self, ref: str) -> int:
        """The column ``ref`` names (``ses``, ``eq:ses``, ``[eq]ses``, ``_b[ses]``); r(111) if none."""
        ref = ref.strip()
        if ref.startswith("_b[") and ref.endswith("]"):
            ref = ref[3:-1].strip()
        eq, name = self.default_equation, ref
        if ref.startswith("/"):         # a free parameter: /lnalpha, /var(_cons[herd])
            eq, name = "/", ref[1:]
        elif ref.startswith("["):
            eq, _, name = ref[1:].partition("]")
            eq, name = eq.strip(), name.strip()
            if not name:
                raise StataError(f"equation [{eq}] requires a coefficient", 198)
        elif ":" in ref:
            eq, _, name = ref.partition(":")
        candidates = [j for j, e in enumerate(self.equations) if e == eq]
        if not candidates and eq:
            raise StataError(f"equation [{eq}] not found", 303)
        for form in (name, _normalise(name)):
            for j in candidates:
                if self.names[j] == form or _normalise(self.names[j]) == form:
                    return j
        plain = [j for j in candidates if self.names[j].startswith(name) and "." not in self.names[j]
                 and "#" not in self.names[j] and "." not in name]
        if len(plain) == 1:
            return plain[0]
        raise StataError(f"{name} not found", 111)


def _normalise(name: str) -> str:
    """Drop ``c.`` from continuous parts and base/omitted markers: ``1.sector#c.ses`` → ``1.sector#ses``."""
    parts = []
    for part in name.split("#"):
        part = part[2:] if part.startswith("c.") else part
        part = re.sub(r"^(\d+)[bno]+\.", r"\1.", part)
        part = re.sub(r"^c?o\.", "", part)
        parts.append(part)
    return "#".join(parts)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise syntax_error()
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind).strip()))
        pos = m.end()
    return out


def linear_form(text: str, coefs: Coefficients) -> tuple[np.ndarray, float]:
    """``text`` as weights on e(b)'s columns and a constant: value = w'b + c."""
    tokens = _tokens(text)
    if not tokens:
        raise syntax_error()
    weights = np.zeros(len(coefs.names))
    constant = 0.0
    i, n = 0, len(tokens)
    while True:
        sign = 1.0
        while i < n and tokens[i][0] == "op" and tokens[i][1] in "+-":
            sign = -sign if tokens[i][1] == "-" else sign
            i += 1
        factor, column, i = _term(tokens, i, coefs)
        if column is None:
            constant += sign * factor
        else:
            weights[column] += sign * factor
        if i == n:
            return weights, constant
        if tokens[i][0] != "op" or tokens[i][1] not in "+-":
            raise syntax_error()


def _term(tokens: list[tuple[str, str]], i: int, coefs: Coefficients) -> tuple[float, int | None, int]:
    """A product/quotient of numbers with at most one coefficient."""
    factor, column = 1.0, None
    op = "*"
    while True:
        if i >= len(tokens):
            raise syntax_error()
        kind, value = tokens[i]
        if kind == "num":
            number = float(value)
            if not math.isfinite(number) or (op == "/" and number == 0):
                raise syntax_error()          # 1/0, 1e309: a missing weight or constant
            factor = factor * number if op == "*" else factor / number
        elif kind in ("b", "eqname", "fv", "name", "free"):
            if column is not None or op == "/":
                raise StataError("not possible with test/lincom: nonlinear expression", 198)
            column = coefs.find(value)
        else:
            raise syntax_error()
        i += 1
        if i < len(tokens) and tokens[i][0] == "op" and tokens[i][1] in "*/":
            op = tokens[i][1]
            i += 1
            continue
        return factor, column, i


def constraint_text(weights: np.ndarray, constant: float, coefs: Coefficients) -> str:
    """Stata's display of a constraint: ``[mathach]2.sized - [mathach]3.sized = 0``."""
    parts: list[str] = []
    for j in np.flatnonzero(weights):
        w = float(weights[j])
        magnitude = "" if abs(w) == 1 else f"{abs(w):g}*"
        term = magnitude + coefs.label(int(j))
        if not parts:
            parts.append(("- " if w < 0 else "") + term)
        else:
            parts.append(("- " if w < 0 else "+ ") + term)
    return f"{' '.join(parts) or '0'} = {(-constant or 0.0):g}"
