"""Programs ([P] program, args, syntax, marksample): ``program define name [, rclass eclass sclass
byable(recall|onecall)]`` ... ``end``, ``program drop|dir|list``, and what a program's body uses to read
its arguments.

A program is a command: the dispatcher finds it by its full name (after the built-in commands, as
Stata looks for them) and runs it like any other, refusing it under ``by`` unless it was declared
``byable(recall)`` (run once per group) or ``byable(onecall)`` (run once, with the by-variables in
`` `_byvars' `` and `` `_byrc0' ``).  It runs with its own local macros: `` `0' `` is everything typed after its
name, `` `1' ``, `` `2' ``... the words of it and `` `*' `` all of them.  ``syntax`` parses `` `0' ``
with the declaration language the commands themselves use (:mod:`hlmshell.lang.declaration`) and
leaves Stata's locals: ``varlist``, ``if`` (``if exp``), ``in``, ``using``, ``exp``, ``anything``,
``namelist``, one per option (``detail`` is ``"detail"`` or empty; ``noLOg`` gives ``log`` =
``"nolog"``; ``Level(cilevel)`` gives ``level`` = ``95`` unless typed), and ``options`` for ``*``.
An ``rclass`` program's ``return`` results become r() when it ends.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from hlmshell.commands.session.macro import temporary_name
from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Pattern
from hlmshell.lang.blocks import Block
from hlmshell.lang.declaration import Args, Declaration, parse_declaration
from hlmshell.lang.macros import arguments, number_text
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results
from hlmshell.shell.dofile import ExitRequest, local_frame, run_block
from hlmshell.shell.registry import CommandSpec, command
from hlmshell.shell.session import Frame, Session

MAX_NESTING = 100            # programs calling programs (recursion included)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_CLASSES = ("rclass", "eclass", "sclass", "nclass")
_running = 0


@dataclass(frozen=True)
class Program:
    """A program defined in the session."""

    name: str
    block: Block                # its lines as written (the header ``program define ...``, ``end``)
    klass: str                  # "", "rclass", "eclass" or "sclass"
    spec: CommandSpec           # how the dispatcher runs it


# -- program define / drop / dir / list --------------------------------------------------------
DEFINE_SYNTAX = "name [, RCLASS ECLASS SCLASS NCLASS BYable(string)]"


@command("PRogram", "[anything(raw id=name)]", otherwise=True, block=True,
         subcommand_error="invalid syntax")
def program(session: Session, args: Args) -> None:
    """Define a program: ``program [define] name [, rclass eclass sclass byable(recall|onecall)]``
    ... ``end``."""
    _define(session, parse_declaration(DEFINE_SYNTAX).parse(args.anything), args.block)


@command("PRogram DEFine", DEFINE_SYNTAX, block=True)
def program_define(session: Session, args: Args) -> None:
    """Define a program; its lines follow, up to ``end``."""
    _define(session, args, args.block)


def _define(session: Session, args: Args, block: Block | None) -> None:
    name = args.names[0]
    if block is None:
        raise StataError("unexpected end of file", 612)
    if not _NAME.match(name):
        raise StataError(f"{name} invalid name", 198)
    if name in session.programs or _is_command(session, name):
        raise StataError(f"program {name} already defined", 110)
    classes = [k for k in _CLASSES if args.options[k]]
    if len(classes) > 1:
        raise StataError("options " + " and ".join(classes) + " may not be combined", 198)
    byable = None
    if args.byable is not None:
        byable = args.byable.strip()
        if byable not in ("recall", "onecall"):
            raise StataError("option byable() incorrectly specified", 198)
    klass = classes[0] if classes and classes[0] != "nclass" else ""
    body = dataclasses.replace(block, echo=False)

    def run(session: Session, call: Args) -> None:
        # byable(onecall): run once; the body reads the by-variables from `_byvars' and `_byrc0'
        by = {} if call.by is None else {"_byvars": " ".join(call.by.variables),
                                          "_byrc0": ", rc0" if call.by.rc0 else ""}
        invoke(session, session.programs[name], call.anything, by)

    run.__doc__ = f"Program {name} (defined in this session)."
    spec = CommandSpec(Pattern(name, len(name)), "[anything(raw)]", run,
                       run.__doc__, byable)
    session.programs[name] = Program(name, body, klass, spec)


def _is_command(session: Session, name: str) -> bool:
    try:
        session.commands.lookup(name)
    except StataError:
        return False
    return True


@command("PRogram drop", "namelist")
def program_drop(session: Session, args: Args) -> None:
    """Drop programs from memory (``_all``: every one)."""
    kept = dict(session.programs)
    for name in args.names:
        if name in ("_all", "_allado"):
            kept = {} if name == "_all" else kept
            continue
        if name not in kept:
            raise StataError(f"program {name} not found", 111)
        del kept[name]
    session.programs = kept


@command("PRogram DIr", "")
def program_dir(session: Session, args: Args) -> Text | None:
    """List the programs defined in this session, with their sizes."""
    if not session.programs:
        return None
    sizes = {name: sum(len(ln.text) + 1 for ln in p.block.body)
             for name, p in session.programs.items()}
    lines = [f"{size:>14,}  {name}" for name, size in sizes.items()]
    lines.append(f"{'':>2}{'-' * 12}")
    lines.append(f"{sum(sizes.values()):>14,}")
    return Text("\n".join(lines))


@command("PRogram List", "[namelist]")
def program_list(session: Session, args: Args) -> Text | None:
    """Show the lines of programs (all of them without names)."""
    names = args.names or list(session.programs)
    out = []
    for name in names:
        if name == "_all":
            names = list(session.programs)
            break
    for name in names:
        p = session.programs.get(name)
        if p is None:
            raise StataError(f"program {name} not found", 111)
        out.append(f"\n{name}{', ' + p.klass if p.klass else ''}:")
        out.extend(f"{k:>3}.  {ln.text}" for k, ln in enumerate(p.block.body, start=1))
    return Text("\n".join(out)) if out else None


# -- running a program -------------------------------------------------------------------------
def invoke(session: Session, program: Program, text: str,
           extra: dict[str, str] | None = None) -> None:
    """Run ``program`` with the arguments ``text`` (and ``extra`` local macros)."""
    global _running
    if _running >= MAX_NESTING:
        raise StataError("system limit exceeded", 1000)
    frame = Frame(klass=program.klass,
                  returns=Results() if program.klass == "rclass" else None)
    frame.locals.update(arguments(text))
    frame.locals.update(extra or {})
    by_rows, session.by_rows = session.by_rows, None   # the body's commands see all the data
    frame.by_rows = by_rows                             # marksample keeps to the by-group
    _running += 1
    try:
        with local_frame(session, frame):
            try:
                run_block(session, program.block)
            except ExitRequest as request:
                if request.leave:
                    raise
                if request.rc:
                    raise StataError("", request.rc) from None
    finally:
        _running -= 1
        session.by_rows = by_rows
    if frame.returns is not None:
        session.r = frame.returns


@command("args", "namelist")
def args_(session: Session, args: Args) -> None:
    """Name the program's arguments: ``args a b`` makes `a' = `1' and `b' = `2'."""
    for k, name in enumerate(args.names, start=1):
        value = session.locals.get(str(k))
        if value is None:
            session.locals.pop(name, None)
        else:
            session.locals[name] = value


# -- syntax --------------------------------------------------------------------------------------
_WEIGHTS = re.compile(r"\[\s*(?:(?:fweight|aweight|pweight|iweight|fw|aw|pw|iw)\s*)+\]")


@command("syntax", "anything(raw id=description)")
def syntax(session: Session, args: Args) -> None:
    """Parse the program's arguments (`0') by a syntax declaration and leave them in locals."""
    text = args.anything
    bare = {kind for kind in ("if", "in", "using") if re.search(rf"\b{kind}/", text)}
    if "=/exp" in text:
        bare.add("exp")
    declared = _WEIGHTS.sub(" ", text).replace("=/exp", "=exp")
    declared = re.sub(r"\b(if|in|using)/", r"\1", declared)
    try:
        decl = parse_declaration(declared)
    except ValueError:
        raise StataError("invalid syntax", 197) from None
    typed = session.locals.get("0", "")
    parsed = decl.parse(typed, session.variables if decl.needs_variables else [])
    _check_types(session, decl, parsed)
    for name, value in syntax_locals(decl, parsed, bare).items():
        if value:
            session.locals[name] = value
        else:
            session.locals.pop(name, None)
    session.locals.pop("weight", None)


def _check_types(session: Session, decl: Declaration, parsed: Args) -> None:
    element = decl.element("varlist") or decl.element("varname")
    if element is None:
        return
    for var in parsed.varlist:
        string = session.is_string(var)
        if element.mod("numeric") is not None and string:
            raise StataError(f"string variables not allowed in varlist;\n{var} is a string variable",
                             109)
        if element.mod("string") is not None and not string:
            raise StataError(f"numeric variables not allowed in varlist;\n{var} is not a string "
                             "variable", 109)


def syntax_locals(decl: Declaration, parsed: Args, bare: set[str]) -> dict[str, str]:
    """The locals ``syntax`` leaves: one per element and option of the declaration."""
    out: dict[str, str] = {}
    for e in decl.elements:
        if e.kind in ("varlist", "varname", "newvarlist", "newvarname"):
            fv = e.mod("fv") is not None and parsed.varlist_text
            out["varlist"] = parsed.varlist_text if fv else " ".join(parsed.varlist or parsed.newvars)
            if e.kind.startswith("new"):
                out["typlist"] = " ".join([parsed.storage_type or "float"] * len(parsed.newvars))
        elif e.kind in ("namelist", "name"):
            out[e.mod("name") or "namelist"] = " ".join(parsed.names)
        elif e.kind == "anything":
            out[e.mod("name") or "anything"] = parsed.anything
        elif e.kind == "filename":
            out["filename"] = parsed.filename or ""
        elif e.kind in ("if", "in", "using", "=exp"):
            key = "exp" if e.kind == "=exp" else e.kind
            value = {"if": parsed.if_, "in": parsed.in_, "using": parsed.using,
                     "exp": parsed.exp}[key]
            keyword = {"if": "if ", "in": "in ", "using": "using ", "exp": "= "}[key]
            if key == "using" and value is not None:
                value = f'"{value}"'
            out[key] = "" if value is None else (value if key in bare else keyword + value)
    for spec in decl.options:
        value = parsed.options[spec.name]
        given = spec.name in parsed.given
        if spec.kind == "flag":
            if spec.negatable:
                out[spec.name] = "no" + spec.name if given and value is False else ""
            else:
                out[spec.name] = spec.name if value else ""
        elif value is None or (value == "" and not given):
            out[spec.name] = ""
        elif spec.kind in ("integer",):
            out[spec.name] = str(int(value))
        elif spec.kind in ("real", "cilevel"):
            out[spec.name] = number_text(float(value))
        elif spec.kind == "numlist":
            out[spec.name] = " ".join(number_text(x) for x in value)
        elif spec.kind == "varlist":
            out[spec.name] = " ".join(value)
        else:
            out[spec.name] = str(value)
    if decl.star:
        out["options"] = parsed.rest_options
    return out


# -- marksample / markout ----------------------------------------------------------------------
@command("marksample", "name [, NOVARlist STRok ZEROweight noBY]")
def marksample(session: Session, args: Args) -> None:
    """Mark the observations a program should use: the `if' and `in' of ``syntax``, the by-group,
    and no missing values in `varlist' (a temporary 0/1 variable named by the local)."""
    from hlmshell.lang.expr import row_mask

    if_text = session.locals.get("if", "")
    in_text = session.locals.get("in", "")
    saved, session.by_rows = session.by_rows, session.frame.by_rows if args.options["by"] else None
    try:
        mask = row_mask(session, _strip(if_text, "if") or None, _strip(in_text, "in") or None)
    finally:
        session.by_rows = saved
    if not args.novarlist:
        mask &= _complete(session, session.locals.get("varlist", ""), strok=args.strok)
    _mark(session, args.names[0], mask, new=True)


@command("markout", "anything(id=marker_varlist) [, STRok]")
def markout(session: Session, args: Args) -> None:
    """Set the marker variable to 0 where any of the variables is missing."""
    from hlmshell.lang.varlist import resolve

    marker, _, varlist = args.anything.partition(" ")
    marker = resolve(session.variables, marker)
    if session.is_string(marker):
        raise StataError("type mismatch", 109)
    mask = np.asarray(session.data[marker].to_numpy(dtype=float) != 0)
    mask &= _complete(session, varlist, strok=args.strok)
    _mark(session, marker, mask, new=False)


def _strip(text: str, keyword: str) -> str:
    text = text.strip()
    return text[len(keyword):].strip() if text.startswith(keyword + " ") else text


def _complete(session: Session, varlist: str, *, strok: bool) -> np.ndarray:
    """Observations with no missing value in the variables (factor notation allowed)."""
    from hlmshell.lang.expr import column_values
    from hlmshell.lang.fvnotation import fv_variables

    mask = np.ones(session.nobs, dtype=bool)
    if not varlist.strip():
        return mask
    for var in fv_variables(varlist, session.variables):
        values = column_values(session.data, var)
        if session.is_string(var):
            mask &= (values != "") if strok else False
        else:
            mask &= ~np.isnan(values.astype(float))
    return mask


def _mark(session: Session, name: str, mask: np.ndarray, *, new: bool) -> None:
    from hlmshell.data.storage import numeric_series

    data = session.data.copy()
    column = name
    if new:
        column = temporary_name(session)
        session.locals[name] = column
        session.frame.temporaries = [*session.frame.temporaries, ("var", column)]
    data[column] = numeric_series(mask.astype(float), "byte").to_numpy()
    session.set_data(data, changed=session.changed)

