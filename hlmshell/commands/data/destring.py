"""destring (strings that hold numbers → numbers) and tostring (numbers → strings).

As Stata's ``destring.ado``: a string variable converts only when every value is a number, a
blank or ``.`` (after removing the ``ignore()`` characters; ``percent`` also divides by 100), unless
``force`` makes the others missing; the result is stored in the smallest integer type that holds
it, else as double (float with ``float``).  ``tostring`` writes each value with ``format()``
(%12.0g by default) and refuses, unless ``force``, when the text would not give the value back.
Each variable gets its one-line report; variables that cannot be converted are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def _targets(session: Session, args: Args) -> list[str]:
    """The variables written: the originals with ``replace``, else the ``generate()`` names."""
    from hlmshell.lang.varlist import new_name

    if (args.generate is None) == (not args.replace):
        raise StataError("must specify either generate or replace option", 198)
    if args.replace:
        return list(args.varlist)
    names = args.generate.split()
    if len(names) != len(args.varlist):
        raise StataError("number of variables in varlist must equal number in generate()", 198)
    taken = list(session.variables)
    out = []
    for name in names:
        out.append(new_name(taken, name))
        taken.append(name)
    return out


def _numbers(text: np.ndarray, ignore: str, percent: bool, dpcomma: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """(values, which texts are not numbers) after Stata's cleaning of each string."""
    values = np.full(len(text), np.nan)
    bad = np.zeros(len(text), dtype=bool)
    for i, raw in enumerate(text):
        s = "".join(ch for ch in str(raw) if ch not in ignore).strip()
        if percent:
            s = s.replace("%", "")
        if dpcomma:
            s = s.replace(".", "").replace(",", ".")
        if s in ("", "."):
            continue
        try:
            values[i] = float(s) / (100.0 if percent else 1.0)
        except ValueError:
            bad[i] = True
            continue
        if not np.isfinite(values[i]):
            bad[i], values[i] = True, np.nan
    return values, bad


def _numeric_type(values: np.ndarray, as_float: bool) -> str:
    from hlmshell.data.files import smallest_int

    finite = values[~np.isnan(values)]
    if finite.size and np.all(finite == np.round(finite)):
        small = smallest_int(finite)
        if small is not None:
            return {np.int8: "byte", np.int16: "int", np.int32: "long"}[small]
    return "float" if as_float else "double"


@command("destring", "varlist [, Generate(string) REPLACE Ignore(string) FORCE FLOAT PERCENT "
         "DPCOMMA]")
def destring(session: Session, args: Args) -> Text:
    """Convert string variables that hold numbers into numeric variables."""
    from hlmshell.commands.data.generate import insert_column
    from hlmshell.data import storage

    verb = "replaced" if args.replace else "generated"
    notes, data = [], session.data.copy()
    missing = 0
    for source, target in zip(args.varlist, _targets(session, args)):
        if not session.is_string(source):
            notes.append(f"{source}: already numeric; no {'replace' if args.replace else 'generate'}")
            continue
        text = data[source].to_numpy(dtype=object)
        values, bad = _numbers(text, args.ignore or "", args.percent, args.dpcomma)
        if bad.any() and not args.force:
            notes.append(f"{source}: contains nonnumeric characters; no "
                         f"{'replace' if args.replace else 'generate'}")
            continue
        kind = _numeric_type(values, args.float)
        column = storage.numeric_series(values, kind)
        if args.replace:
            data[source] = column.to_numpy()
        else:
            data = insert_column(data, target, column, after=source)
        what = "contains nonnumeric characters" if bad.any() else "all characters numeric"
        notes.append(f"{source}: {what}; {verb} as {kind}")
        missing += int(bad.sum())
    session.set_data(data)
    if missing:
        notes.append(f"({missing:,} missing value{'s' if missing != 1 else ''} generated)")
    return Text("\n".join(notes))


@command("tostring", "varlist [, Generate(string) REPLACE Format(string) FORCE USEDisplayformat]")
def tostring(session: Session, args: Args) -> Text:
    """Convert numeric variables to string variables."""
    from hlmshell.commands.data.generate import insert_column
    from hlmshell.data import storage
    from hlmshell.data.files import display_format, storage_type
    from hlmshell.lang.numfmt import fmt_num

    if args.format is not None and args.usedisplayformat:
        raise StataError("options format() and usedisplayformat may not be combined", 198)
    notes, data = [], session.data.copy()
    for source, target in zip(args.varlist, _targets(session, args)):
        if session.is_string(source):
            notes.append(f"{source} already string; no {'replace' if args.replace else 'generate'}")
            continue
        col: pd.Series = data[source]
        fmt = args.format or (display_format(col) if args.usedisplayformat else "%12.0g")
        values = col.to_numpy(dtype=float, na_value=np.nan)
        try:
            texts = np.array(["" if v != v else fmt_num(v, fmt).strip() for v in values],
                             dtype=object)
        except ValueError:
            raise StataError(f"invalid format {fmt}", 120) from None
        back = np.array([float(t.replace(",", "")) if t else np.nan for t in texts])
        exact = np.array_equal(back, values, equal_nan=True)
        if not exact and not args.force:
            notes.append(f"{source} cannot be converted reversibly; no "
                         f"{'replace' if args.replace else 'generate'}")
            continue
        column = storage.string_series(texts)
        kind = storage_type(column)
        if args.replace:
            old = storage_type(col)
            data[source] = column.to_numpy()
            notes.append(f"{source} was {old} now {kind}")
        else:
            data = insert_column(data, target, column, after=source)
            notes.append(f"{target} generated as {kind}")
    session.set_data(data)
    if args.replace:       # a string variable carries no value label
        session.label_names = {k: v for k, v in session.label_names.items()
                               if k not in args.varlist}
    return Text("\n".join(notes))
