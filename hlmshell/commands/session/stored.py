"""Storing results from programs ([P] return): ``return scalar|local|matrix|add``, ``ereturn
post|scalar|local|matrix|display|clear``, ``sreturn local|clear`` and ``sreturn list``.

Inside a program the class it was defined with decides what it may set (``non r-class program may
not set r()`` r(151), likewise e() r(152) and s() r(153)).  An ``rclass`` program's results are kept
aside and become r() when it ends, so the commands it runs (``summarize``...) do not overwrite them;
``ereturn`` and ``sreturn`` change e() and s() at once.  At the top level of a session or do-file
they set r(), e() and s() directly.
"""

from __future__ import annotations

import numpy as np

from hlmshell.commands.session.macro import definition
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.results.estimation import CoefRow, CoefTable
from hlmshell.results.postest import ResultsListing
from hlmshell.results.stored import EResults, Results, StataMatrix
from hlmshell.shell.registry import command, parent
from hlmshell.shell.session import Session

_CLASS_RC = {"rclass": ("r", 151), "eclass": ("e", 152), "sclass": ("s", 153)}


def _allowed(session: Session, klass: str) -> None:
    running = session.frame.klass
    if running is not None and running != klass:
        letter, rc = _CLASS_RC[klass]
        raise StataError(f"non {letter}-class program may not set {letter}()", rc)


def _r(session: Session) -> Results:
    """Where ``return`` writes: the running rclass program's pending results, else r()."""
    _allowed(session, "rclass")
    if session.frame.returns is not None:
        return session.frame.returns
    return session.r


def _scalar_value(session: Session, exp: str) -> float:
    from hlmshell.lang.expr import evaluate_scalar

    value = evaluate_scalar(session, exp)
    if isinstance(value, str):
        raise StataError("type mismatch", 109)
    return float(value)


def _take_matrix(session: Session, name: str, copy: bool) -> StataMatrix:
    if name not in session.matrices:
        raise StataError(f"matrix {name} not found", 111)
    matrix = session.matrices[name]
    if not copy:
        session.matrices = {k: v for k, v in session.matrices.items() if k != name}
    return StataMatrix(matrix.values.copy(), list(matrix.rownames), list(matrix.colnames))


def _matrix_names(args: Args) -> tuple[str, str]:
    """``name [=] matname`` → (name, matname)."""
    words = args.anything.replace("=", " = ").split()
    if len(words) == 3 and words[1] == "=":
        words = [words[0], words[2]]
    if len(words) != 2 or "=" in words:
        raise syntax_error()
    return words[0], words[1]


def _set_scalar(session: Session, target: Results, args: Args) -> None:
    target.scalars = {**target.scalars, args.names[0]: _scalar_value(session, args.exp)}


def _set_local(session: Session, target: Results, args: Args) -> None:
    name, value = definition(session, args.anything)
    target.macros = {**target.macros, name: value or ""}


def _set_matrix(session: Session, target: Results, args: Args) -> None:
    name, source = _matrix_names(args)
    target.matrices = {**target.matrices, name: _take_matrix(session, source, args.copy)}


SCALAR, LOCAL, MATRIX = ("name =exp", "anything(raw id=name_[=exp|string])",
                         "anything(id=name_[=]_matname) [, copy]")


# -- return --------------------------------------------------------------------------------------
@command("RETurn SCAlar", SCALAR)
def return_scalar(session: Session, args: Args) -> None:
    """Return a scalar in r(): ``return scalar name = exp``."""
    _set_scalar(session, _r(session), args)


@command("RETurn LOCal", LOCAL)
def return_local(session: Session, args: Args) -> None:
    """Return a macro in r(): ``return local name ["string" | = exp]``."""
    _set_local(session, _r(session), args)


@command("RETurn MATrix", MATRIX)
def return_matrix(session: Session, args: Args) -> None:
    """Return a matrix in r() (moved there unless ``copy``)."""
    _set_matrix(session, _r(session), args)


@command("RETurn add", "")
def return_add(session: Session, args: Args) -> None:
    """Keep the r() results already there (those not returned by name)."""
    target = _r(session)
    if target is session.r:
        return
    r = session.r
    target.scalars = {**r.scalars, **target.scalars}
    target.macros = {**r.macros, **target.macros}
    target.matrices = {**r.matrices, **target.matrices}


# -- ereturn -------------------------------------------------------------------------------------
def _e(session: Session) -> EResults:
    _allowed(session, "eclass")
    if session.e is None:
        raise StataError("last estimates not found", 301)
    return session.e


@command("ereturn post", "[anything(id=b_[V])] [, DEPname(string) Obs(integer 0) DOF(integer 0) "
                         "ESAMPle(varname) PROPerties(string)]")
def ereturn_post(session: Session, args: Args) -> None:
    """Clear e() and post the coefficient vector b and its variance matrix V (moved from the
    matrices), with the sample marked by ``esample()``."""
    _allowed(session, "eclass")
    names = args.anything.split()
    if len(names) > 2:
        raise syntax_error()
    matrices: dict[str, StataMatrix] = {}
    if names:
        b = _take_matrix(session, names[0], False)
        if b.shape[0] != 1:
            raise StataError("conformability error", 503)
        matrices["b"] = b
    if len(names) == 2:
        v = _take_matrix(session, names[1], False)
        k = matrices["b"].shape[1]
        if v.shape != (k, k):
            raise StataError("conformability error", 503)
        if not np.allclose(v.values, v.values.T):
            raise StataError("matrix not symmetric", 505)
        v.rownames = v.colnames = list(matrices["b"].colnames)
        matrices["V"] = v
    e = EResults(matrices=matrices)
    if args.obs:
        e.scalars["N"] = float(args.obs)
    if args.dof:
        e.scalars["df_r"] = float(args.dof)
    if args.depname:
        e.macros["depvar"] = args.depname
    e.macros["properties"] = args.properties or " ".join(matrices)
    if args.esample:
        if session.is_string(args.esample):
            raise StataError("type mismatch", 109)
        mask = session.data[args.esample].to_numpy(dtype=float)
        e.sample = session.sample_keys(np.nan_to_num(mask) != 0)
        session.set_data(session.data.drop(columns=[args.esample]), changed=session.changed)
    session.e = e


@command("ereturn SCAlar", SCALAR)
def ereturn_scalar(session: Session, args: Args) -> None:
    """Add a scalar to e()."""
    _set_scalar(session, _e(session), args)


@command("ereturn LOCal", LOCAL)
def ereturn_local(session: Session, args: Args) -> None:
    """Add a macro to e()."""
    _set_local(session, _e(session), args)


@command("ereturn MATrix", MATRIX)
def ereturn_matrix(session: Session, args: Args) -> None:
    """Add a matrix to e() (moved there unless ``copy``)."""
    _set_matrix(session, _e(session), args)


@command("ereturn DIsplay", "[, Level(cilevel)]")
def ereturn_display(session: Session, args: Args) -> CoefTable:
    """The coefficient table of the posted e(b) and e(V): z statistics, p-values and confidence
    intervals (t with e(df_r))."""
    from hlmshell.inference.wald import coef_stats

    e = _e(session)
    if "b" not in e.matrices or "V" not in e.matrices:
        raise StataError("last estimates not found", 301)
    b, v = e.matrices["b"], e.matrices["V"]
    df = e.scalars.get("df_r")
    rows = []
    for k, name in enumerate(b.colnames):
        st = coef_stats(float(b.values[0, k]), float(np.sqrt(v.values[k, k])), level=args.level,
                        df=df)
        rows.append(CoefRow(label=name.split(":")[-1], coef=st.estimate, se=st.se, z=st.stat,
                            p=st.p, lower=st.lower, upper=st.upper))
    return CoefTable(e.macros.get("depvar", ""), tuple(rows), args.level, t=df is not None)


@command("ereturn clear", "")
def ereturn_clear(session: Session, args: Args) -> None:
    """Clear e()."""
    _allowed(session, "eclass")
    session.e = None


# -- sreturn -------------------------------------------------------------------------------------
parent("SRETurn", subcommand_error="sreturn {word} is not supported",
       summary="Set, list or clear the s() results of an sclass program.")


@command("sreturn LOCal", LOCAL)
def sreturn_local(session: Session, args: Args) -> None:
    """Set a macro in s()."""
    _allowed(session, "sclass")
    name, value = definition(session, args.anything)
    session.s = {**session.s, name: value or ""}


@command("sreturn clear", "")
def sreturn_clear(session: Session, args: Args) -> None:
    """Clear s()."""
    _allowed(session, "sclass")
    session.s = {}


@command("sreturn LIst", "")
def sreturn_list(session: Session, args: Args) -> ResultsListing | None:
    """List the s() results."""
    if not session.s:
        return None
    return ResultsListing(prefix="s", scalars=[], macros=list(session.s.items()), matrices=[])
