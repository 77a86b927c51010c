"""Stata's factor-variable notation ([U] 11.4.3) read into terms: which variables, which operators.

``i.x`` (base = lowest level), ``ib#.x`` / ``b#.x``, ``ib(first|last|freq|#k).x``, ``ibn.x`` (no base),
``i(1 3).x`` (only those levels, no base), ``#.x`` (one level's indicator), ``c.x``, interactions
``a#b`` and full factorials ``a##b``, and parenthesised groups (``i.(a b)``, ``a##c.(x y)``);
abbreviations, ``a-b`` ranges and wildcards expand against the variables in memory.  Unprefixed
variables are continuous, except inside an interaction.  Terms come out in Stata's order: as typed,
``a##b`` expanded to ``a b a#b``, and factors before continuous variables inside a term.

Turning terms into design columns (levels, bases, omitted cells) is ``hlmshell.model.design``'s job.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.numlist import parse_numlist
from hlmshell.lang.varlist import expand as expand_varlist


@dataclass(frozen=True)
class Comp:
    """One variable of a term, with its factor-variable operator."""

    var: str
    factor: bool
    base: tuple = ("first",)          # ("first",) ("last",) ("freq",) ("nth", k) ("value", v) ("none",)
    only: tuple[float, ...] | None = None   # i(1 3).x / 1.x: these levels only


@dataclass(frozen=True)
class Term:
    comps: tuple[Comp, ...]          # factors first, then continuous, each in the order typed

    @property
    def key(self) -> tuple:
        return tuple(sorted((c.var, c.factor) for c in self.comps))


_PREFIX = re.compile(r"([A-Za-z0-9]+(?:\([^()]*\))?)\.")
_NAMECHARS = re.compile(r"^[A-Za-z_*?~][A-Za-z0-9_*?~-]*$")


def _split_blanks(text: str) -> list[str]:
    """Split on blanks outside parentheses, keeping ``a - b`` ranges and ``a # b`` together."""
    text = re.sub(r"\s*(##|#)\s*", r"\1", text.strip())
    text = re.sub(r"\s+-\s*|\s*-\s+", "-", text)
    out, cur, depth = [], "", 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise syntax_error()
        if ch.isspace() and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise syntax_error()
    if cur:
        out.append(cur)
    return out


def _split_hash(token: str) -> tuple[list[str], bool]:
    """``a##b#c`` → (["a", "b", "c"], True): the operands and whether ``##`` was used."""
    parts, cur, depth, i, factorial = [], "", 0, 0, False
    while i < len(token):
        ch = token[i]
        depth += ch == "("
        depth -= ch == ")"
        if ch == "#" and depth == 0:
            if token.startswith("##", i):
                factorial = True
                i += 1
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    if any(not p for p in parts):
        raise syntax_error()
    return parts, factorial


def _apply_prefix(op: str, comp: dict) -> None:
    """Update the component description ``comp`` with the operator ``op`` (the text before ``.``)."""
    low = op.lower()
    if low == "i":
        comp.update(factor=True)
    elif low == "c":
        comp.update(factor=False)
    elif low in ("ibn", "bn"):
        comp.update(factor=True, base=("none",))
    elif re.fullmatch(r"i?b\d+", low):
        comp.update(factor=True, base=("value", float(low.lstrip("ib"))))
    elif m := re.fullmatch(r"i?b\((first|last|freq|#\d+|\d+)\)", low):
        arg = m.group(1)
        base = (("nth", int(arg[1:])) if arg.startswith("#") else
                ("value", float(arg)) if arg.isdigit() else (arg,))
        comp.update(factor=True, base=base)
    elif m := re.fullmatch(r"i\(([^()]*)\)", low):
        comp.update(factor=True, base=("none",), only=tuple(parse_numlist(m.group(1))))
    elif low.isdigit():
        comp.update(factor=True, base=("none",), only=(float(low),))
    elif re.fullmatch(r"[lfds]\d*|[lfds]\(.*\)", low):
        raise StataError("time-series operators not allowed", 101)
    else:
        raise StataError(f"{op}.: invalid factor-variable operator", 198)


def _operand(text: str, variables: list[str], in_interaction: bool,
             inherited: dict | None = None) -> list[Comp]:
    """One operand (``ib1.sector``, ``c.(x y)``, ``ses``) → its components."""
    desc: dict = dict(inherited or {})
    rest = text
    while m := _PREFIX.match(rest):
        _apply_prefix(m.group(1), desc)
        rest = rest[m.end():]
    if rest.startswith("(") and rest.endswith(")"):
        out: list[Comp] = []
        for word in _split_blanks(rest[1:-1]):
            if "#" in word:
                raise syntax_error()
            out.extend(_operand(word, variables, in_interaction, desc))
        return out
    if not rest or not _NAMECHARS.match(rest):
        raise StataError(f"{text} invalid name" if rest else "invalid syntax", 198)
    factor = desc.get("factor", in_interaction)
    return [Comp(var, factor, desc.get("base", ("first",)) if factor else ("none",),
                  desc.get("only") if factor else None)
            for var in expand_varlist(variables, rest)]


def _order(comps) -> tuple[Comp, ...]:
    """Factors first, then continuous variables, each group in the order typed."""
    return tuple([c for c in comps if c.factor] + [c for c in comps if not c.factor])


def parse_terms(spec: str, variables: list[str]) -> list[Term]:
    """The terms of a factor-variable list, expanded and deduplicated, in Stata's order."""
    terms: list[Term] = []
    seen: set[tuple] = set()

    def add(comps) -> None:
        names = [c.var for c in comps]
        if len(set(names)) < len(names) and any(c.factor for c in comps):
            raise StataError("invalid interaction: a factor variable may not be interacted with itself",
                             198)
        term = Term(_order(comps))
        if term.key not in seen:
            seen.add(term.key)
            terms.append(term)

    for token in _split_blanks(spec):
        parts, factorial = _split_hash(token)
        inter = len(parts) > 1
        alternatives = [_operand(p, variables, inter) for p in parts]
        for combo in itertools.product(*alternatives):
            if not factorial:
                add(combo)
                continue
            for r in range(1, len(combo) + 1):
                for sub in itertools.combinations(combo, r):
                    add(sub)
    return terms


def variables_of(terms: list[Term]) -> list[str]:
    out: list[str] = []
    for term in terms:
        for comp in term.comps:
            if comp.var not in out:
                out.append(comp.var)
    return out


def fv_variables(spec: str, variables: list[str]) -> list[str]:
    """The source variables a factor-variable list uses (abbreviations resolved), in order of use.

    Parses only; raises Stata's r(111) for unknown variables and r(198) for bad syntax.
    """
    return variables_of(parse_terms(spec, variables))
