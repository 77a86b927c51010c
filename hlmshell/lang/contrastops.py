"""The termlist of ``contrast`` and ``pwcompare`` ([R] contrast, *Contrast operators*).

A term is one factor variable or an interaction of factor variables with at most one continuous
variable (``c.x``); each factor may carry a contrast operator: ``r.`` (each level against the
reference level; ``rb#.`` names it), ``a.`` (against the next level), ``ar.`` (against the previous
level), ``g.`` (against the grand mean of the levels); ``i.`` or no operator means the term's overall
test.  ``a##b`` expands to ``a b a#b``.  Variables may be abbreviated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.varlist import resolve

OPERATORS = ("r", "a", "ar", "g")
_PART = re.compile(r"^(?:(?P<op>ar|r|a|g)(?:b(?P<base>\d+))?\.|(?P<i>i)\.|(?P<c>c)\.)?"
                   r"(?P<var>[A-Za-z_][A-Za-z0-9_]*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Factor:
    """A factor variable of a term with its operator (``""``: none) and reference level."""

    var: str
    operator: str = ""
    base: float | None = None


@dataclass(frozen=True)
class ContrastTerm:
    factors: tuple[Factor, ...]
    continuous: str | None = None

    @property
    def name(self) -> str:
        """``sector``, ``sector#minority``, ``sector#c.ses``: as Stata titles the term."""
        names = [f.var for f in self.factors]
        if self.continuous is not None:
            names.append(f"c.{self.continuous}")
        return "#".join(names)

    @property
    def has_operators(self) -> bool:
        return any(f.operator for f in self.factors)


def _part(text: str, variables: list[str]) -> tuple[str, Factor | str]:
    m = _PART.match(text)
    if not m:
        if re.match(r"^[A-Za-z]+(\([^()]*\))?\.", text):
            op = text.split(".", 1)[0]
            raise StataError(f"{op}.: invalid contrast operator", 198)
        raise syntax_error()
    var = resolve(variables, m.group("var"))
    if m.group("c"):
        return "continuous", var
    op = (m.group("op") or "").lower()
    base = float(m.group("base")) if m.group("base") else None
    return "factor", Factor(var, op, base)


def parse_termlist(text: str, variables: list[str]) -> list[ContrastTerm]:
    """The terms typed, ``##`` expanded, in order."""
    terms: list[ContrastTerm] = []
    words = re.sub(r"\s*(##|#)\s*", r"\1", text.strip()).split()
    if not words:
        raise StataError("varlist required", 100)
    for word in words:
        factorial = "##" in word
        parts = [_part(p, variables) for p in re.split(r"##|#", word)]
        if any(not p for p in re.split(r"##|#", word)):
            raise syntax_error()
        groups = [parts]
        if factorial:
            groups = [[parts[i] for i in range(len(parts)) if mask >> i & 1]
                      for mask in range(1, 2 ** len(parts))]
            groups.sort(key=len)
        for group in groups:
            factors = tuple(p for kind, p in group if kind == "factor")
            conts = [p for kind, p in group if kind == "continuous"]
            if len(conts) > 1 or not factors:
                raise StataError(f"{word}: a term needs a factor variable and at most one "
                                 "continuous variable", 198)
            term = ContrastTerm(factors, conts[0] if conts else None)   # type: ignore[arg-type]
            if term not in terms:
                terms.append(term)
    return terms
