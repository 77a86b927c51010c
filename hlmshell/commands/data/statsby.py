"""statsby [exp_list], by(varlist) [clear saving(file[, replace]) total nodots nolegend]: command

Runs ``command`` once on each by-group (and with ``total`` on all the data) through the dispatcher,
as Stata's statsby.ado does: the group's observations are the data in memory while it runs;
each expression (``alpha=_b[_cons]``, ``_se[x]``, ``e(N)``, ``r(mean)``; ``_b``/``_se`` for every
coefficient) is evaluated after it, and a group where the command or an expression fails gets
missing values (an ``x`` in the dots).  The results become a dataset: the by-variables (with their
labels) and one ``float`` variable per expression, labelled with the expression, sorted by group.
It replaces the data in memory (``clear``) or is saved (``saving()``, the data in memory unchanged).
Without an expression list: ``_b`` after an estimation command, else every r() scalar.
The estimation results in force before statsby are restored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import parse_declaration
from hlmshell.lang.scan import top_level_positions, unquote
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_OPTIONS = parse_declaration("[anything] [, by(string) CLEAR SAving(string) Total NODots "
                             "NOLegend]")
_SAVING = parse_declaration("anything [, replace]")
_SHORT = re.compile(r"^(?:e|r)\((\w+)\)$")


@dataclass(frozen=True)
class Expression:
    name: str
    text: str


def _colon(text: str) -> tuple[str, str]:
    """``exps, by(g): regress y x`` → (``exps, by(g)``, ``regress y x``)."""
    for i, c in top_level_positions(text):
        if c == ":":
            return text[:i], text[i + 1:].strip()
    raise StataError("statsby requires a command after a colon", 198)


def _words(text: str) -> list[str]:
    text = re.sub(r"\s*=\s*", "=", text.strip())
    cuts = [i for i, c in top_level_positions(text) if c.isspace()]
    out, start = [], 0
    for i in [*cuts, len(text)]:
        if text[start:i].strip():
            out.append(text[start:i].strip())
        start = i + 1
    return out


def _default_name(text: str, k: int) -> str:
    """Stata's names for unnamed expressions: ``_b[x]`` → ``_b_x``, ``_b[_cons]`` → ``_b_cons``,
    ``e(N)`` → ``N``, else ``_stat_k``."""
    m = re.fullmatch(r"(_b|_se)\[(.+)\]", text)
    if m:
        return re.sub(r"\W", "_", f"{m.group(1)}_{m.group(2).lstrip('_')}")[:32]
    m = _SHORT.match(text)
    return m.group(1) if m else f"_stat_{k}"


def _expressions(session: Session, text: str) -> list[Expression]:
    """The expression list; ``_b``/``_se`` stand for every coefficient of the current e(b)."""
    out: list[Expression] = []
    for k, word in enumerate(_words(text), start=1):
        name, eq, exp = word.partition("=")
        if not eq:
            name, exp = "", word
        if exp in ("_b", "_se"):
            b = session.e.matrices.get("b") if session.e is not None else None
            if b is None:
                raise StataError("last estimates not found", 301)
            first_eq = b.colnames[0].rpartition(":")[0] if b.colnames else ""
            for col in b.colnames:
                eq, _, coef = col.rpartition(":")
                name = _default_name(f"{exp}[{coef}]", k)
                if eq and eq != first_eq:           # later equations: eq_b_coef (unique names)
                    name = re.sub(r"\W", "_", f"{eq}{name}")[:32]
                out.append(Expression(name, f"{exp}[{col}]"))
            continue
        out.append(Expression(name or _default_name(exp, k), exp))
    return out


def _default_expressions(session: Session) -> list[Expression]:
    if session.e is not None and "b" in session.e.matrices:
        return _expressions(session, "_b")
    return [Expression(name, f"r({name})") for name in session.r.scalars]


def _dots(results: list[bool]) -> list[str]:
    """``Statsby groups`` and its dots, 50 a line, ``x`` for a group that failed."""
    lines = ["Statsby groups", "----+--- 1 ---+--- 2 ---+--- 3 ---+--- 4 ---+--- 5 "]
    for start in range(0, len(results), 50):
        chunk = "".join("." if ok else "x" for ok in results[start:start + 50])
        end = start + len(chunk)
        lines.append(chunk + (f"{end:6d}" if len(chunk) == 50 else ""))
    return lines


def _legend(command: str, exps: list[Expression], by: list[str]) -> list[str]:
    width = max([13, *(len(e.name) for e in exps)])
    return [f"{'Command':>{width}}: {command}", *(f"{e.name:>{width}}: {e.text}" for e in exps),
            f"{'By':>{width}}: {' '.join(by) if by else '<none>'}"]


def _run(session: Session, command: str, exps: list[Expression]) -> tuple[bool, list[float]]:
    """Run the command on the data in memory; (whether it worked, the expressions' values)."""
    from hlmshell.lang.expr import evaluate_scalar
    from hlmshell.shell.dispatcher import run_line

    run_line(session, f"capture {command}")
    if session.rc:
        return False, [np.nan] * len(exps)
    values, ok = [], True
    for e in exps:
        try:
            v = evaluate_scalar(session, e.text)
            values.append(float(v) if not isinstance(v, str) else np.nan)
        except (StataError, ValueError, KeyError, ZeroDivisionError):
            values.append(np.nan)
            ok = False
    return ok, values


@command("statsby", "anything(raw) [, by(varlist) CLEAR SAving(string) Total NODots NOLegend]")
def statsby(session: Session, args: Args) -> list[Text]:
    """Collect statistics of a command run on each by-group into a dataset."""
    from hlmshell.data import files as datasets
    from hlmshell.lang import varlist
    from hlmshell.shell.dispatcher import run_line

    head, cmd = _colon(args.anything)
    if not cmd:
        raise syntax_error()
    opts = _OPTIONS.parse(head)
    if opts.clear and opts.saving is not None:
        raise StataError("clear and saving() are mutually exclusive options", 198)
    if opts.saving is None and session.changed and not opts.clear and session.nobs:
        raise StataError("no; dataset in memory has changed since last saved", 4)
    by_text, _, by_opts = (opts.options["by"] or "").partition(",")
    keep_missing = by_opts.strip() in ("mis", "miss", "missi", "missin", "missing")
    if by_opts.strip() and not keep_missing:
        raise StataError("by() incorrectly specified", 198)
    by = varlist.expand(session.variables, by_text) if by_text.strip() else []
    target = None
    if opts.saving is not None:
        saving = _SAVING.parse(opts.saving)
        target, shown = datasets.output_path(session.cwd, unquote(saving.anything))
        if target.exists() and not saving.replace:
            raise StataError(f"file {shown} already exists", 602)

    name = _command_name(session, cmd)
    snap = session.snapshot()
    run_line(session, f"capture {cmd}")
    if session.rc:
        rc = session.rc
        run_line(session, f"capture noisily {cmd}")       # the command's own message
        raise StataError(f"an error occurred when statsby executed {name}", rc)
    exps = _expressions(session, opts.anything) if opts.anything else _default_expressions(session)
    if not exps:
        raise StataError("no results to collect", 198)
    for e in exps:
        if not varlist.is_valid_name(e.name) or e.name in by:
            raise StataError(f"{e.name} already defined" if e.name in by else
                             f"{e.name} invalid name", 198)
    try:
        firsts, values, worked = _collect(session, cmd, exps, by, keep_missing, opts.total)
    finally:
        session.restore(snap)
    frame = _results(session, by, firsts, exps, values)
    out = [Text(f"(running {name} on estimation sample)")]
    if not opts.nolegend:
        out += [Text(""), Text("\n".join(_legend(cmd, exps, by)))]
    if not opts.nodots:
        out += [Text(""), Text("\n".join(_dots(worked)))]
    labels = {b: session.var_labels[b] for b in by if b in session.var_labels}
    labels.update({e.name: e.text[:80] for e in exps})
    attached = {b: session.label_names[b] for b in by if b in session.label_names}
    if target is not None:
        datasets.write_dta(frame, target, labels, session.label_sets, attached)
    else:
        session.set_data(frame, new=True)
        session.var_labels, session.label_names = labels, attached
        session.sortedby, session.chars, session.filename = list(by), {}, None
    session.r = Results(scalars={"N_groups": float(len(firsts) - bool(opts.total))},
                        macros={"by": " ".join(by)})
    return out


def _command_name(session: Session, cmd: str) -> str:
    """The command's full name (``reg`` → ``regress``), as statsby's note shows it."""
    word = cmd.split()[0]
    try:
        return session.commands.lookup(word).full_name
    except StataError:
        return word


def _collect(session: Session, cmd: str, exps: list[Expression], by: list[str],
             keep_missing: bool, total: bool) -> tuple[list[int | None], list[list[float]], list[bool]]:
    """Run the command on each group (the group's observations in memory): the first observation
    of each group (None for the total), the values, and which groups worked."""
    from hlmshell.data.sorting import group_ids, sort_order
    from hlmshell.lang.expr import column_values

    data, keys = session.data, session.keys.copy()
    use = np.ones(session.nobs, dtype=bool)
    if not keep_missing:
        for name in by:
            col = column_values(data, name)
            use &= (col != "") if col.dtype == object else ~np.isnan(col)
    positions = np.flatnonzero(use)
    if by:
        positions = positions[sort_order(data.iloc[positions].reset_index(drop=True), by)]
        ids = group_ids(data.iloc[positions].reset_index(drop=True), by)
    else:
        ids = np.ones(len(positions), dtype=np.int64)
    groups = ([np.arange(session.nobs)] if total else []) + [positions[ids == g]
                                                             for g in np.unique(ids)]
    firsts: list[int | None] = [None] * total + [int(m[0]) for m in groups[total:]]
    values, worked = [], []
    session.out.quiet += 1
    try:
        for members in groups:
            session.set_data(data.iloc[members], keys=keys[members])
            ok, row = _run(session, cmd, exps)
            values.append(row)
            worked.append(ok)
    finally:
        session.out.quiet -= 1
    return firsts, values, worked


def _results(session: Session, by: list[str], firsts: list[int | None], exps: list[Expression],
             values: list[list[float]]) -> "pd.DataFrame":
    """The by-variables of each group (as stored) and each expression's values (float)."""
    import pandas as pd

    from hlmshell.data import storage

    data = session.data
    result: dict[str, np.ndarray] = {}
    for b in by:
        col = data[b].to_numpy()
        blank = "" if session.is_string(b) else np.nan
        result[b] = np.array([blank if f is None else col[f] for f in firsts],
                             dtype=object if session.is_string(b) else float)
    for k, e in enumerate(exps):
        result[e.name] = storage.numeric_series(np.array([v[k] for v in values]), "float").to_numpy()
    frame = pd.DataFrame(result)
    for b in by:
        if data[b].dtype.kind in "iu" and frame[b].notna().all():
            frame[b] = frame[b].astype(data[b].dtype)
    return frame
