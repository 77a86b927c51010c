"""Macro functions (``local x : word count `list'``, [P] macro) and what macro references mean here.

:func:`macro_function` answers the text after the colon of ``local name : ...`` and of `` `:...' ``;
:func:`stored_value` the `` `e(N)' ``, `` `r(mean)' ``, `` `s(x)' `` and `` `c(pwd)' `` references;
:class:`SessionMacros` is the :class:`hlmshell.lang.macros.Source` of a session, used by the
dispatcher to expand every line before it is parsed.

Macro lists (``: list``) take local macro names, not their contents, as Stata's do: ``local u : list
a | b`` is the union of the words of the locals ``a`` and ``b``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Any, Callable

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.creturn import system_value
from hlmshell.lang.macros import as_number, number_text, quote_word, quoted_words, words
from hlmshell.lang.scan import unquote
from hlmshell.lang.varlist import resolve

_NUMBER = re.compile(r"^[-+]?\d+$")


class SessionMacros:
    """What macro references mean in a session: its ``locals`` and ``globals``, stored results, the
    expression evaluator and the macro functions."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def local(self, name: str) -> str:
        return self.session.locals.get(name, "")

    def global_(self, name: str) -> str:
        return self.session.globals.get(name, "")

    def increment(self, name: str, delta: int, before: bool) -> str:
        old = self.session.locals.get(name, "")
        new = number_text(as_number(old, name) + delta)
        self.session.locals[name] = new
        return new if before else (old or "0")

    def evaluate(self, exp: str) -> str:
        from hlmshell.lang.expr import evaluate_scalar

        value = evaluate_scalar(self.session, exp)
        return value if isinstance(value, str) else number_text(value)

    def function(self, text: str) -> str:
        return macro_function(self.session, text)

    def stored(self, kind: str, name: str) -> str:
        return stored_value(self.session, kind, name)


# -- stored results and system values ----------------------------------------------------------
def stored_value(session: Any, kind: str, name: str) -> str:
    """`` `e(name)' `` and the like: a scalar's value, a macro's text; empty when unset."""
    if kind == "c":
        value = system_value(session, name)
        return "" if value is None else value if isinstance(value, str) else number_text(value)
    if kind == "s":
        return session.s.get(name, "")
    res = session.e if kind == "e" else session.r
    if res is None:
        return ""
    if name in res.scalars:
        return number_text(res.scalars[name])
    if name in res.macros:
        return str(res.macros[name])
    if name in res.matrices:
        return "matrix"
    return ""


# -- macro functions -----------------------------------------------------------------------------
def macro_function(session: Any, text: str) -> str:
    """The value of the macro function ``text`` (what follows the colon)."""
    text = text.strip()
    m = re.match(r"([A-Za-z_]+)\b\s*", text)
    if not m:
        raise syntax_error()
    word, rest = m.group(1), text[m.end():]
    if word == "word":
        return _word(rest)
    if word == "piece":
        return _piece(rest)
    if word == "list":
        return list_function(session, rest)
    if word in ("variable", "type", "format", "data", "value"):
        return _data_attribute(session, word, rest)
    if word == "label":
        return _label(session, rest)
    if word == "sortedby":
        return " ".join(session.sortedby)
    if word in ("display", "di", "dis", "disp", "displ", "displa"):
        from hlmshell.commands.session.display import render_display

        return render_display(session, rest)
    if word in ("e", "r", "s") and rest.startswith("("):
        return _result_names(session, word, rest)
    if word in ("strlen", "ustrlen", "udstrlen", "length"):
        return str(len(_macro_contents(session, rest)))
    if word == "subinstr":
        return _subinstr(session, rest)
    if word in ("rownames", "colnames", "rowfullnames", "colfullnames", "roweq", "coleq"):
        return _matrix_names(session, word, rest)
    if word == "copy":
        return _macro_contents(session, rest)
    if word == "environment" or word == "env":
        return os.environ.get(rest.strip(), "")
    if word == "all":
        return _all(session, rest)
    if word == "dir":
        return _dir(session, rest)
    if word in ("results", "properties"):
        program = session.programs.get(rest.strip())
        return program.klass if program is not None and word == "results" else ""
    raise StataError(f"{word} invalid macro function", 198)


def _word(rest: str) -> str:
    if rest.startswith("count"):
        return str(len(words(rest[5:])))
    m = re.match(r"(\S+)\s+of\b\s?(.*)$", rest, re.S)
    if not m:
        raise syntax_error()
    k = _integer(m.group(1))
    items = words(m.group(2))
    return items[k - 1] if 1 <= k <= len(items) else ""


def _piece(rest: str) -> str:
    """``piece #piece #length of "string" [, nobreak]``: the string cut into pieces of at most
    #length characters, breaking at blanks."""
    body, _, opts = rest.partition(",")
    m = re.match(r"(\S+)\s+(\S+)\s+of\b\s?(.*)$", body, re.S)
    if not m or opts.strip() not in ("", "nobreak", "nobr", "nobre", "nobrea"):
        raise syntax_error()
    k, width, string = _integer(m.group(1)), _integer(m.group(2)), unquote(m.group(3))
    if width < 1:
        raise syntax_error()
    pieces: list[str] = []
    if opts.strip():
        pieces = [string[j:j + width] for j in range(0, len(string), width)]
    else:
        current = ""
        for w in string.split():
            if current and len(current) + 1 + len(w) > width:
                pieces.append(current)
                current = ""
            current = f"{current} {w}" if current else w
            while len(current) > width:
                pieces.append(current[:width])
                current = current[width:]
        if current:
            pieces.append(current)
    return pieces[k - 1] if 1 <= k <= len(pieces) else ""


def _integer(text: str) -> int:
    if not _NUMBER.match(text.strip()):
        raise syntax_error()
    return int(text)


def _data_attribute(session: Any, word: str, rest: str) -> str:
    """``variable label x``, ``type x``, ``format x``, ``data label``, ``value label x``."""
    from hlmshell.data.files import (  # not at start-up: pandas
        display_format,
        storage_type,
    )

    if word == "data":
        if rest.strip() != "label":
            raise syntax_error()
        return getattr(session, "data_label", "") or ""
    if word in ("variable", "value"):
        m = re.match(r"label\b\s*(.*)$", rest)
        if not m:
            raise syntax_error()
        rest = m.group(1)
    name = resolve(session.variables, rest.strip()) if rest.strip() else ""
    if not name:
        raise syntax_error()
    if word == "variable":
        return session.var_labels.get(name, "")
    if word == "value":
        return session.label_names.get(name, "")
    column = session.data[name]
    return storage_type(column) if word == "type" else display_format(column)


def _label(session: Any, rest: str) -> str:
    """``label lblname #`` / ``label (varname) #`` [``, strict``]: the value's label, else the value
    itself (nothing with ``strict``)."""
    body, _, opts = rest.partition(",")
    if opts.strip() not in ("", "strict"):
        raise syntax_error()
    m = re.match(r"\s*(\(\s*\S+\s*\)|\S+)\s+(\S+)(?:\s+(\d+))?\s*$", body)
    if not m:
        raise syntax_error()
    which, value = m.group(1), m.group(2)
    if which.startswith("("):
        name = session.label_names.get(resolve(session.variables, which[1:-1].strip()), "")
    elif which in session.label_sets:
        name = which
    else:
        raise StataError(f"value label {which} not found", 111)
    try:
        number = float(value)
    except ValueError:
        raise syntax_error() from None
    text = session.label_sets.get(name, {}).get(number)
    if text is None:
        text = "" if opts.strip() else value
    return text[:int(m.group(3))] if m.group(3) else text


def _result_names(session: Any, kind: str, rest: str) -> str:
    m = re.match(r"\(\s*(scalars|macros|matrices|functions)\s*\)\s*$", rest)
    if not m:
        raise syntax_error()
    what = m.group(1)
    if kind == "s":
        return " ".join(session.s) if what == "macros" else ""
    res = session.e if kind == "e" else session.r
    if res is None:
        return ""
    if what == "functions":
        return " ".join(getattr(res, "functions", []))
    return " ".join(getattr(res, what))


def _macro_contents(session: Any, rest: str) -> str:
    """``local name`` / ``global name`` → the macro's contents."""
    m = re.match(r"(local|global)\s+(\S+)\s*$", rest.strip())
    if not m:
        raise syntax_error()
    store = session.locals if m.group(1) == "local" else session.globals
    return store.get(m.group(2), "")


def _subinstr(session: Any, rest: str) -> str:
    """``subinstr local name "from" "to" [, all count(local c) word]``."""
    body, _, opts = rest.partition(",")
    parts = quoted_words(body)
    if len(parts) != 4 or parts[0][0] not in ("local", "global"):
        raise syntax_error()
    text = _macro_contents(session, f"{parts[0][0]} {parts[1][0]}")
    old, new = parts[2][0], parts[3][0]
    options = opts.split()
    everywhere = "all" in options
    counter = re.search(r"count\(\s*(local|global)\s+(\w+)\s*\)", opts)
    if any(o not in ("all", "word") and not o.startswith("count(") for o in
           re.sub(r"count\([^)]*\)", "count()", opts).split()):
        raise syntax_error()
    count = 0
    if "word" in options:
        items = text.split()
        for k, w in enumerate(items):
            if w == old and (everywhere or count == 0):
                items[k] = new
                count += 1
        result = " ".join(items)
    elif old:
        count = text.count(old) if everywhere else min(text.count(old), 1)
        result = text.replace(old, new, -1 if everywhere else 1)
    else:
        result = text
    if counter:
        store = session.locals if counter.group(1) == "local" else session.globals
        store[counter.group(2)] = str(count)
    return result


def _matrix_names(session: Any, word: str, rest: str) -> str:
    from hlmshell.commands.session.matrix import stored_matrix

    matrix = stored_matrix(session, rest.strip())
    names = matrix.rownames if word.startswith("row") else matrix.colnames
    if word.endswith("eq"):
        return " ".join(n.split(":")[0] if ":" in n else "_" for n in names)
    if "full" in word:
        return " ".join(names)
    return " ".join(n.split(":")[-1] for n in names)


def _all(session: Any, rest: str) -> str:
    """``all globals|scalars|matrices ["pattern"]``, ``all numeric|string scalars ["pattern"]``."""
    parts = quoted_words(rest)
    kinds = [w for w, _ in parts]
    pattern = "*"
    if kinds and parts[-1][1].startswith('"'):
        pattern = kinds.pop()
    if kinds == ["globals"]:
        names = list(session.globals)
    elif kinds == ["scalars"]:
        names = list(session.scalars)
    elif kinds == ["matrices"]:
        names = list(session.matrices)
    elif kinds in (["numeric", "scalars"], ["string", "scalars"]):
        want_string = kinds[0] == "string"
        names = [n for n, v in session.scalars.items() if isinstance(v, str) == want_string]
    else:
        raise syntax_error()
    return " ".join(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _dir(session: Any, rest: str) -> str:
    """``dir "dir" files|dirs "pattern"``: the names found, each in double quotes."""
    from hlmshell.data.files import user_path  # not at start-up: pandas

    body, _, opts = rest.partition(",")
    parts = [w for w, _ in quoted_words(body)]
    if len(parts) != 3 or parts[1] not in ("files", "dirs", "other"):
        raise syntax_error()
    folder = user_path(session.cwd, parts[0])
    respect = "respectcase" in opts
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        if "nofail" in opts:
            return ""
        raise StataError(f"directory {parts[0]} not found", 601) from None
    found = []
    for entry in entries:
        wanted = entry.is_dir() if parts[1] == "dirs" else entry.is_file()
        name = entry.name if respect else entry.name.lower()
        pattern = parts[2] if respect else parts[2].lower()
        if wanted and fnmatch.fnmatchcase(name, pattern):
            found.append(f'"{entry.name}"')
    return " ".join(found)


# -- macro lists ---------------------------------------------------------------------------------
def list_function(session: Any, rest: str) -> str:
    """``list uniq|dups|sort|clean|retokenize|sizeof|rev A``, ``list A |&-==,===,in B``,
    ``list posof "element" in A`` ([P] macro lists)."""
    def items(name: str) -> list[str]:
        return [raw for _, raw in quoted_words(session.locals.get(name, ""))]

    tokens = rest.split()
    if len(tokens) == 2 and tokens[0] in _UNARY:
        return _UNARY[tokens[0]](items(tokens[1]))
    m = re.match(r"posof\s+(.+?)\s+in\s+(\S+)\s*$", rest.strip())
    if m:
        target = quoted_words(m.group(1))
        if len(target) != 1:
            raise syntax_error()
        wanted = target[0][0]
        found = [k + 1 for k, (w, _) in
                 enumerate(quoted_words(session.locals.get(m.group(2), ""))) if w == wanted]
        return str(found[0] if found else 0)
    m = re.match(r"(\S+)\s*(===|==|\||&|-|in)\s*(\S+)\s*$", rest.strip())
    if not m:
        raise syntax_error()
    a, op, b = items(m.group(1)), m.group(2), items(m.group(3))
    if op == "|":
        return " ".join(_unique(a + b))
    if op == "&":
        return " ".join(_unique([w for w in a if w in b]))
    if op == "-":
        return " ".join(w for w in a if w not in b)
    if op == "==":
        return "1" if sorted(a) == sorted(b) else "0"
    if op == "===":
        return "1" if a == b else "0"
    return "1" if all(w in b for w in a) else "0"


def _unique(items: list[str]) -> list[str]:
    out: list[str] = []
    for w in items:
        if w not in out:
            out.append(w)
    return out


def _dups(items: list[str]) -> str:
    seen: list[str] = []
    out: list[str] = []
    for w in items:
        if w in seen:
            out.append(w)
        else:
            seen.append(w)
    return " ".join(out)


def _clean(items: list[str]) -> str:
    return " ".join(quote_word(quoted_words(raw)[0][0]) for raw in items)


_UNARY: dict[str, Callable[[list[str]], str]] = {
    "uniq": lambda xs: " ".join(_unique(xs)),
    "dups": _dups,
    "sort": lambda xs: " ".join(sorted(xs)),
    "clean": _clean,
    "retokenize": lambda xs: " ".join(xs),
    "sizeof": lambda xs: str(len(xs)),
    "rev": lambda xs: " ".join(reversed(xs)),
}
