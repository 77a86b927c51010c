"""reshape long|wide stubs, i(varlist) j(varname) [string]: between one observation per i with
variables stub#, and one observation per (i, j).

As Stata's reshape.ado: ``@`` in a stub marks where j goes (``inc@r`` for ``inc80r``); j values are
whole numbers unless ``string``; reshape long puts i, j, the stubs and then the other variables
(which are copied to every j), sorted by i and j; reshape wide drops j, checks that i and j identify
the observations and that the other variables are constant within i, and sorts by i.  Either
direction remembers its settings in the dataset's characteristics, so a plain ``reshape long`` or
``reshape wide`` goes back.  The new observations have new keys (an earlier e(sample) matches
none).  The report is Stata 17's (``(j = 80 81 82)``, then the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_DECLARATION = "[anything] [, i(varlist) j(string) String]"
RULE = "-" * 77


@dataclass(frozen=True)
class Settings:
    """What a reshape was asked to do (kept for the reshape back)."""

    stubs: tuple[str, ...]
    i: tuple[str, ...]
    j: str
    string: bool
    values: tuple[Any, ...] = ()        # the j values, as the last reshape found them


def _name(stub: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(int(value))
    return stub.replace("@", text) if "@" in stub else stub + text


def _stub_name(stub: str) -> str:
    return stub.replace("@", "")


def _settings(session: Session, args: Args) -> Settings:
    """The settings typed, or those of the last reshape when nothing is."""
    if not args.anything and args.i is None and args.j is None:
        last = session.chars.get("reshape")
        if last is None:
            raise StataError("data have not been reshaped yet", 111)
        return last
    if not args.anything:
        raise StataError("varlist required", 100)
    if args.i is None:
        raise StataError("option i() required", 198)
    j = (args.j or "_j").split()
    if len(j) != 1 or not varlist.is_valid_name(j[0]):
        raise StataError("j() invalid", 198)
    stubs = tuple(args.anything.split())
    for stub in stubs:
        if stub.count("@") > 1 or not re.fullmatch(r"[A-Za-z_@][A-Za-z0-9_@]*", stub):
            raise StataError(f"{stub} invalid name", 198)
    return Settings(stubs, tuple(args.i), j[0], bool(args.string))


def _wide_names(stub: str, variables: list[str], string: bool) -> dict[Any, str]:
    """The variables of a stub and their j values (``inc80`` → 80)."""
    head, _, tail = stub.partition("@") if "@" in stub else (stub, "", "")
    pattern = re.compile(re.escape(head) + (r"(.+)" if string else r"(-?\d+)") + re.escape(tail) + "$")
    found: dict[Any, str] = {}
    for v in variables:
        m = pattern.match(v)
        if m:
            found[m.group(1) if string else int(m.group(1))] = v
    return found


def _check_unique(data: pd.DataFrame, keys: list[str], message: str) -> None:
    if data.duplicated(subset=keys).any():
        raise StataError(message, 9)


def _common_type(columns: list[pd.Series]) -> str:
    from hlmshell.data.files import storage_type

    kinds = [storage_type(c) for c in columns]
    if any(k.startswith("str") for k in kinds):
        if not all(k.startswith("str") for k in kinds):
            raise StataError("variable type mismatch", 109)
        return "str"
    order = ("byte", "int", "long", "float", "double")
    return max(kinds, key=order.index)


def _long(session: Session, s: Settings) -> tuple[pd.DataFrame, Settings, list[str]]:
    import pandas as pd

    from hlmshell.data import storage
    from hlmshell.data.sorting import sort_order

    data, variables = session.data, session.variables
    if s.j in variables:
        raise StataError(f"variable {s.j} already defined", 110)
    found = {stub: _wide_names(stub, [v for v in variables if v not in s.i], s.string)
             for stub in s.stubs}
    for stub, names in found.items():
        if not names:
            raise StataError(f"no xij variables found for {stub}", 111)
    values = sorted({v for names in found.values() for v in names})
    _check_unique(data, list(s.i), f"variable {' '.join(s.i)} does not uniquely identify the "
                                   "observations")
    used = {name for names in found.values() for name in names.values()}
    others = [v for v in variables if v not in used and v not in s.i]
    n, k = len(data), len(values)
    out: dict[str, Any] = {name: np.repeat(data[name].to_numpy(), k) for name in s.i}
    jcol = np.tile(np.array(values, dtype=object if s.string else float), n)
    if s.string:
        out[s.j] = storage.string_series(jcol).to_numpy()
    else:
        out[s.j] = storage.numeric_series(jcol, _int_type(values)).to_numpy()
    for stub, names in found.items():
        kind = _common_type([data[v] for v in names.values()])
        blank: Any = "" if kind == "str" else np.nan
        stacked = np.column_stack([data[names[v]].to_numpy(dtype=object) if v in names
                                   else np.full(n, blank, dtype=object) for v in values])
        flat = stacked.reshape(-1)
        out[_stub_name(stub)] = (storage.string_series(flat) if kind == "str" else
                                 storage.numeric_series(flat.astype(float), kind)).to_numpy()
    for name in others:
        out[name] = np.repeat(data[name].to_numpy(), k)
    frame = pd.DataFrame(out)
    frame = frame.iloc[sort_order(frame, [*s.i, s.j])].reset_index(drop=True)
    lines = [f"{' '.join(_list(list(names.values())))}".rjust(39) + "   ->   " + _stub_name(stub)
             for stub, names in found.items()]
    return frame, Settings(s.stubs, s.i, s.j, s.string, tuple(values)), lines


def _wide(session: Session, s: Settings) -> tuple[pd.DataFrame, Settings, list[str]]:
    import pandas as pd

    from hlmshell.data.sorting import sort_order

    data, variables = session.data, session.variables
    if s.j not in variables:
        raise StataError(f"variable {s.j} not found", 111)
    stubs = [varlist.resolve(variables, _stub_name(stub)) for stub in s.stubs]
    jv = data[s.j]
    if (jv.astype(str).str.strip() == "").any() if s.string else jv.isna().any():
        raise StataError(f"variable {s.j} contains missing values", 498)
    if not s.string and (session.is_string(s.j) or (jv != np.round(jv)).any()):
        raise StataError(f"variable {s.j} contains noninteger values; specify option string", 109)
    _check_unique(data, [*s.i, s.j], f"values of variable {s.j} not unique within "
                                     f"{' '.join(s.i)}")
    others = [v for v in variables if v not in stubs and v not in s.i and v != s.j]
    for name in others:
        if data.groupby(list(s.i), dropna=False)[name].nunique(dropna=False).max() > 1:
            raise StataError(f"variable {name} not constant within {' '.join(s.i)}", 9)
    values = sorted(jv.unique()) if s.string else sorted(int(v) for v in jv.unique())
    order = data.iloc[sort_order(data, list(s.i))].reset_index(drop=True)
    first = order.drop_duplicates(subset=list(s.i)).reset_index(drop=True)
    rows = pd.MultiIndex.from_frame(first[list(s.i)])
    keyed = order.assign(**{s.j: jv.loc[order.index].to_numpy() if s.string else
                            order[s.j].astype(float).astype(int)})
    out: dict[str, Any] = {}
    for name in variables:
        if name == s.j:
            continue
        if name not in stubs:
            out[name] = first[name].to_numpy()
            continue
        stub = s.stubs[stubs.index(name)]
        table = keyed.pivot(index=list(s.i), columns=s.j, values=name)
        table.index = pd.MultiIndex.from_frame(table.index.to_frame())
        table = table.reindex(index=rows, columns=values)
        string = session.is_string(name)
        whole = data[name].dtype.kind in "iu"
        for v in values:
            col = table[v]
            if string:
                out[_name(stub, v)] = col.where(col.notna(), "").to_numpy(dtype=object)
            elif whole and col.notna().all():
                out[_name(stub, v)] = col.to_numpy().astype(data[name].dtype)
            else:
                out[_name(stub, v)] = col.to_numpy(dtype=float)
    frame = pd.DataFrame(out)
    lines = [name.rjust(39) + "   ->   " + " ".join(_list([_name(stub, v) for v in values]))
             for name, stub in zip(stubs, s.stubs)]
    return frame, Settings(s.stubs, s.i, s.j, s.string, tuple(values)), lines


def _int_type(values: list) -> str:
    from hlmshell.data.files import smallest_int

    small = smallest_int(np.array(values, dtype=float))
    return {np.int8: "byte", np.int16: "int", np.int32: "long"}.get(small, "double")


def _list(names: list[str]) -> list[str]:
    """Stata's short form of a list: up to three names, else the first two, ``...``, the last."""
    return names if len(names) <= 3 else [names[0], names[1], "...", names[-1]]


def _value_text(v: Any) -> str:
    return v if isinstance(v, str) else str(int(v))


def _report(direction: str, old: tuple[int, int], new: tuple[int, int], s: Settings,
            lines: list[str]) -> Text:
    from hlmshell.lang.numfmt import fmt_fc

    before, after = ("Wide", "Long") if direction == "long" else ("Long", "Wide")
    j_line = (f"j variable ({len(s.values)} values)".ljust(42) + "->   " + s.j if direction == "long"
              else f"j variable ({len(s.values)} values)".ljust(39 - len(s.j)) + s.j
              + "   ->   (dropped)")
    body = [f"(j = {' '.join(_value_text(v) for v in s.values)})", "",
            "Data".ljust(35) + before + "   ->   " + after, RULE,
            "Number of observations" + fmt_fc(old[0], 17) + "   ->   " + fmt_fc(new[0], 0),
            "Number of variables" + fmt_fc(old[1], 20) + "   ->   " + fmt_fc(new[1], 0),
            j_line, "xij variables:", *lines, RULE]
    return Text("\n".join(body))


def _reshape(session: Session, args: Args, direction: str) -> Text:
    s = _settings(session, args)
    for name in s.i:
        if name == s.j:
            raise syntax_error()
    old = (session.nobs, len(session.variables))
    frame, done, lines = (_long if direction == "long" else _wide)(session, s)
    labels, attached = dict(session.var_labels), dict(session.label_names)
    session.set_data(frame, new=True)
    session.var_labels = {k: v for k, v in labels.items() if k in frame.columns}
    session.label_names = {k: v for k, v in attached.items() if k in frame.columns}
    session.sortedby = [*s.i, s.j] if direction == "long" else list(s.i)
    session.chars = {**session.chars, "reshape": done}
    return _report(direction, old, (session.nobs, len(session.variables)), done, lines)


@command("reshape", "", subcommand_error="reshape {word} not allowed", subcommand_rc=198)
def reshape(session: Session, args: Args) -> None:
    """Convert data between wide and long forms (reshape long / reshape wide)."""
    raise syntax_error()


@command("reshape long", _DECLARATION)
def reshape_long(session: Session, args: Args) -> Text:
    """From wide to long: ``reshape long inc, i(id) j(year)``."""
    return _reshape(session, args, "long")


@command("reshape wide", _DECLARATION)
def reshape_wide(session: Session, args: Args) -> Text:
    """From long to wide: ``reshape wide inc, i(id) j(year)``."""
    return _reshape(session, args, "wide")
