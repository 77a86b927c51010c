"""recode: change values by rules such as ``(1/3 = 1) (4 5 = 2) (min/0 = 0) (missing = 9) (else = .)``.

Rules are tried in the order typed and the first that matches an observation wins (Stata's rule).
``min``/``max`` are the variable's smallest and largest nonmissing values; ``missing``/``nonmissing``
and ``else`` (or ``*``) match what their names say.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.commands.data.generate import insert_column
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_NUM = r"(?:-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\.[a-z]?|min|max)"


@dataclass
class Rule:
    ranges: list[tuple[float, float]]   # inclusive ranges; (nan, nan) matches missing
    missing: bool = False
    nonmissing: bool = False
    otherwise: bool = False
    value: float = math.nan


def _number(word: str, lo: float, hi: float) -> float:
    if word == "min":
        return lo
    if word == "max":
        return hi
    if word.startswith("."):
        if word == "." or re.fullmatch(r"\.[a-z]", word):
            return math.nan
    try:
        return float(word)
    except ValueError:
        raise syntax_error() from None


def parse_rules(text: str, lo: float, hi: float) -> list[Rule]:
    """The ``(...)`` rules in ``text``; ``lo``/``hi`` stand for ``min``/``max``."""
    rules = []
    pos = 0
    text = text.strip()
    for m in re.finditer(r"\(([^()]*)\)", text):
        if text[pos:m.start()].strip():
            raise syntax_error()
        pos = m.end()
        body = m.group(1)
        if body.count("=") != 1:
            raise StataError("invalid rule", 198)
        left, right = body.split("=")
        right = re.sub(r'"[^"]*"', "", right).strip()   # value labels are accepted and ignored
        if len(right.split()) != 1:
            raise syntax_error()
        rule = Rule([], value=_number(right.split()[0], lo, hi))
        words = re.sub(r"\s*/\s*", "/", left).split()
        if not words:
            raise syntax_error()
        for word in words:
            if word in ("else", "*"):
                rule.otherwise = True
            elif word in ("missing", "miss"):
                rule.missing = True
            elif word in ("nonmissing", "nonmiss"):
                rule.nonmissing = True
            elif "/" in word:
                a, _, b = word.partition("/")
                rule.ranges.append((_number(a, lo, hi), _number(b, lo, hi)))
            elif re.fullmatch(_NUM, word):
                v = _number(word, lo, hi)
                rule.ranges.append((v, v))
            else:
                raise syntax_error()
        rules.append(rule)
    if text[pos:].strip() or not rules:
        raise syntax_error()
    return rules


def apply_rules(values: np.ndarray, rules: list[Rule]) -> np.ndarray:
    out = values.copy()
    done = np.zeros(len(values), dtype=bool)
    miss = np.isnan(values)
    for rule in rules:
        hit = np.zeros(len(values), dtype=bool)
        if rule.otherwise:
            hit |= True
        if rule.missing:
            hit |= miss
        if rule.nonmissing:
            hit |= ~miss
        for a, b in rule.ranges:
            if math.isnan(a) and math.isnan(b):
                hit |= miss
            elif math.isnan(b):
                hit |= values >= a
            else:
                with np.errstate(invalid="ignore"):
                    hit |= (values >= a) & (values <= b)
        hit &= ~done
        out[hit] = rule.value
        done |= hit
    return out


def _split(anything: str) -> tuple[str, str]:
    k = anything.find("(")
    if k < 0:
        raise syntax_error()
    return anything[:k], anything[k:]


@command("RECode", "anything [if] [in] [, GENerate(string) PREfix(string) copyrest]")
def recode(session: Session, args: Args) -> Text:
    """Recode categorical variables."""
    import pandas as pd

    from hlmshell.lang.expr import row_mask

    spec, rules_text = _split(args.anything)
    names = varlist.expand(session.variables, spec)
    gen, prefix, copyrest = args.generate, args.prefix, args.copyrest
    if gen is not None and prefix is not None:
        raise StataError("generate() and prefix() may not be combined", 198)
    targets = names
    if gen is not None:
        targets = gen.split()
        if len(targets) != len(names):
            raise StataError("generate(): number of new variables differs from varlist", 198)
    elif prefix is not None:
        targets = [prefix + n for n in names]
    new_vars = gen is not None or prefix is not None
    if new_vars:
        for t in targets:
            varlist.new_name([v for v in session.variables], t)
    for n in names:
        if session.is_string(n):
            raise StataError(f"{n} not numeric", 108)
    mask = row_mask(session, args.if_, args.in_)
    data = session.data.copy()
    notes = []
    for name, target in zip(names, targets):
        values = session.data[name].to_numpy(dtype=float, na_value=np.nan)
        present = values[~np.isnan(values)]
        lo, hi = (float(present.min()), float(present.max())) if present.size else (math.nan,
                                                                                   math.nan)
        recoded = apply_rules(values, parse_rules(rules_text, lo, hi))
        if new_vars:
            base = values if copyrest or not (args.if_ or args.in_) else np.full(len(values), np.nan)
            result = np.where(mask, recoded, base)
            differ = (result != values) & ~(np.isnan(result) & np.isnan(values))
            data = insert_column(data, target, pd.Series(result))
            k = int(differ.sum())
            notes.append(f"({k:,} difference{'' if k == 1 else 's'} between {name} and {target})")
        else:
            result = np.where(mask, recoded, values)
            changed = (result != values) & ~(np.isnan(result) & np.isnan(values))
            col = session.data[name]
            integral = not np.isnan(result).any() and (np.trunc(result) == result).all()
            data[name] = result.astype(col.dtype) if (integral and
                                                      col.dtype.kind in "iu") else result
            k = int(changed.sum())
            notes.append(f"({name}: {k:,} change{'' if k == 1 else 's'} made)")
    session.set_data(data)
    return Text("\n".join(notes))
