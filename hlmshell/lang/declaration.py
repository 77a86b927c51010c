"""Syntax declarations in Stata's ``syntax`` convention, and parsing a command line against one.

A command declares what it accepts once, e.g.::

    varlist(fv numeric) [if] [in] [, NOConstant Level(cilevel) ITERate(integer 300) noLOg]

Capitals mark the shortest abbreviation; ``[...]`` marks an optional part; ``noLOg`` declares the
option ``log``, on by default and turned off by ``nolog``.  :func:`parse_declaration` reads the text
into a :class:`Declaration`, which drives parsing (:meth:`Declaration.parse` → :class:`Args`),
``help`` (:meth:`Declaration.usage`), tab completion (what the arguments are and which options
exist) and nothing else needs to know the command's options.

Elements (the part before the comma), as in Stata's ``syntax``:

``varlist[(mods)]``     variables in memory; mods: ``fv`` (factor-variable notation), ``numeric``,
                        ``min=#``, ``max=#``, ``default=none``; ``newvarlist(stub)`` also takes
                        ``stub*`` (kept as typed: the command names stub1, stub2, ...)
``varname[(mods)]``     exactly one variable
``newvarlist``/``newvarname``  names of new variables (an optional storage type may precede them)
``namelist``/``name``   Stata names
``anything``            any text, read by the command itself; ``anything(raw)``: the whole line is
                        the command's to read (``mixed`` has options after each ``||`` equation),
                        the declared options are still what ``help`` and completion show
``filename[(.ext)]``    a file name (our extension of the convention: it drives file completion)
``=exp``                an expression after ``=``
``if``, ``in``, ``using``

Option types: a flag (no parentheses), ``integer #``, ``real #``, ``cilevel``, ``string``, ``asis``,
``name``, ``varlist``, ``varname``, ``numlist``, ``passthru``; ``string optional`` may also be typed
without parentheses (``se`` or ``se(%9.3f)``: the value is then ``""``); ``asis repeat`` may be
typed several times and gives the tuple of the values (``margins``' ``at()``); ``*`` keeps every other
option for the command (``args.rest_options``).  An option that is not declared is refused: ``option x not
allowed r(198);``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.abbrev import Pattern, Table
from hlmshell.lang.limits import MAX_INT, whole
from hlmshell.lang.numlist import parse_numlist
from hlmshell.lang.syntax import Syntax, parse_syntax
from hlmshell.lang.varlist import expand, new_name, resolve

ELEMENTS = ("varlist", "varname", "newvarlist", "newvarname", "namelist", "name", "anything",
            "filename", "=exp", "if", "in", "using")
OPTION_TYPES = ("integer", "real", "cilevel", "string", "asis", "name", "varlist", "varname",
                "numlist", "passthru")
STORAGE_TYPES = ("byte", "int", "long", "float", "double")
DEFAULT_LEVEL = 95.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Element:
    """One part before the comma."""

    kind: str                       # one of ELEMENTS
    optional: bool
    mods: tuple[str, ...] = ()      # ("fv", "numeric", "min=1", ...) or (".dta",) for filename;
    #                                 ``id=word``: the word ``help`` shows (``anything(id=#)`` → ``#``)

    def mod(self, key: str) -> str | None:
        for m in self.mods:
            k, eq, v = m.partition("=")
            if k == key:
                return v if eq else ""
        return None


@dataclass(frozen=True)
class OptionSpec:
    """One declared option."""

    pattern: Pattern
    kind: str = "flag"              # "flag" or one of OPTION_TYPES
    default: Any = None
    negatable: bool = False         # declared ``noLOg``: ``log`` on by default, ``nolog`` turns it off
    required: bool = False          # declared outside the ``[, ...]`` brackets
    bare: bool = False              # ``string optional``: may be typed without an argument
    repeat: bool = False            # ``asis repeat``: may be typed several times; a list of values

    @property
    def name(self) -> str:
        return self.pattern.name

    def usage(self) -> str:
        shown = ("no" if self.negatable else "") + self.name
        if self.kind == "flag":
            return shown
        arg = {"integer": "#", "real": "#", "cilevel": "#", "numlist": "numlist",
               "varlist": "varlist", "varname": "varname", "name": "name"}.get(self.kind, "...")
        return f"{shown}({arg})"


@dataclass(frozen=True)
class Declaration:
    """A parsed syntax declaration."""

    text: str
    elements: tuple[Element, ...]
    options: tuple[OptionSpec, ...]
    star: bool = False              # ``*``: other options pass through

    def element(self, kind: str) -> Element | None:
        return next((e for e in self.elements if e.kind == kind), None)

    @property
    def has_variables(self) -> bool:
        """Whether the arguments are variables in memory (for completion)."""
        return any(e.kind in ("varlist", "varname") for e in self.elements)

    @property
    def needs_variables(self) -> bool:
        """Whether parsing needs the names of the variables in memory."""
        return any(e.kind in ("varlist", "varname", "newvarlist", "newvarname")
                   for e in self.elements) or any(o.kind in ("varlist", "varname")
                                                  for o in self.options)

    @property
    def filename_ext(self) -> str | None:
        """The extension files are completed with (``""`` any file), None when no file is read."""
        e = self.element("filename")
        if e is not None:
            return e.mods[0] if e.mods else ""
        return "" if self.element("using") else None

    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    def usage(self) -> str:
        """The syntax as ``help`` shows it: ``[varlist] [if] [in] [, detail meanonly separator(#)]``."""
        parts = []
        for e in self.elements:
            word = "exp" if e.kind == "=exp" else (e.mod("id") or e.kind)
            word = "= exp" if e.kind == "=exp" else ("using filename" if e.kind == "using" else word)
            parts.append(f"[{word}]" if e.optional else word)
        opts = [o.usage() for o in self.options if not o.required]
        required = [o.usage() for o in self.options if o.required]
        if self.star:
            opts.append("...")
        tail = ""
        if required:
            tail = ", " + " ".join(required) + (f" [{' '.join(opts)}]" if opts else "")
        elif opts:
            tail = f" [, {' '.join(opts)}]"
        return " ".join(parts) + tail

    def parse(self, text: str, variables: list[str] | None = None) -> "Args":
        """Parse the text after the command word; Stata's errors for what does not fit."""
        return _parse(self, text, list(variables or []))


# -- reading declarations ----------------------------------------------------------------------
_ELEMENT = re.compile(r"(=exp|[A-Za-z]+)(?:\(([^()]*)\))?/?$")
_OPTION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\(([^()]*)\))?$")


def parse_declaration(text: str) -> Declaration:
    """Read a declaration such as ``[varlist] [if] [in] [, Detail MEANonly SEParator(integer 5)]``."""
    head, opts, required = _split_declaration(text)
    elements = []
    for optional, word in _bracketed_words(head):
        m = _ELEMENT.match(word)
        if not m or m.group(1) not in ELEMENTS:
            raise ValueError(f"bad syntax element {word!r} in {text!r}")
        mods = tuple(x.strip() for x in (m.group(2) or "").split() if x.strip())
        elements.append(Element(m.group(1), optional, mods))
    options, star = [], False
    for words, is_required in ((required, True), (opts, False)):
        for word in words:
            if word == "*":
                star = True
                continue
            options.append(_option(word, is_required, text))
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate option in {text!r}")
    return Declaration(text, tuple(elements), tuple(options), star)


def _split_declaration(text: str) -> tuple[str, list[str], list[str]]:
    """(elements text, optional option words, required option words)."""
    text = text.strip()
    optional_opts = re.search(r"\[\s*,([^\[\]]*)\]\s*$", text)
    required: list[str] = []
    opts: list[str] = []
    if optional_opts:
        opts = _option_words(optional_opts.group(1))
        text = text[:optional_opts.start()].rstrip()
    if "," in text:
        text, _, req = text.partition(",")
        req_text = req.strip()
        inner = re.search(r"\[([^\[\]]*)\]\s*$", req_text)
        if inner:
            opts = _option_words(inner.group(1)) + opts
            req_text = req_text[:inner.start()]
        required = _option_words(req_text)
    return text, opts, required


def _option_words(text: str) -> list[str]:
    """Split on blanks outside parentheses and brackets."""
    words, cur, depth = [], "", 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch.isspace() and depth == 0:
            if cur:
                words.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        words.append(cur)
    return words


def _bracketed_words(text: str) -> list[tuple[bool, str]]:
    """``varlist(min=1 max=2) [if] [in]`` → [(False, "varlist(min=1 max=2)"), (True, "if"), ...]."""
    out = []
    for word in _option_words(text):
        if word.startswith("[") and word.endswith("]"):
            out.append((True, word[1:-1].strip()))
        else:
            out.append((False, word))
    return out


def _option(word: str, required: bool, decl: str) -> OptionSpec:
    m = _OPTION.match(word)
    if not m:
        raise ValueError(f"bad option {word!r} in {decl!r}")
    name, arg = m.group(1), m.group(2)
    negatable = len(name) > 2 and name.startswith("no") and name[2].isupper()
    pattern = Pattern.parse(name[2:] if negatable else name)
    if arg is None:
        return OptionSpec(pattern, "flag", True if negatable else False, negatable, required)
    kind, _, default_text = arg.strip().partition(" ")
    if kind not in OPTION_TYPES:
        raise ValueError(f"bad option type {kind!r} in {decl!r}")
    if default_text.strip() == "optional":
        return OptionSpec(pattern, kind, None, False, required, bare=True)
    if default_text.strip() == "repeat":
        return OptionSpec(pattern, kind, (), False, required, repeat=True)
    default: Any = None
    if default_text.strip():
        default = {"integer": int, "real": float}.get(kind, str)(default_text.strip())
    elif kind == "cilevel":
        default = DEFAULT_LEVEL
    return OptionSpec(pattern, kind, default, False, required)


# -- parsed arguments ----------------------------------------------------------------------------
@dataclass
class Args:
    """What a command line held, by element and by option (full option names)."""

    text: str = ""
    varlist: list[str] = field(default_factory=list)
    varlist_text: str = ""          # as typed (factor-variable notation kept), for fv varlists
    newvars: list[str] = field(default_factory=list)
    storage_type: str | None = None
    names: list[str] = field(default_factory=list)
    anything: str = ""
    filename: str | None = None
    exp: str | None = None
    if_: str | None = None
    in_: str | None = None
    using: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)     # options typed (not defaults)
    rest_options: str = ""          # with ``*``: the options that were not declared
    by: Any = None                  # the by-groups, for a byable(onecall) command under ``by``
    block: Any = None               # the block the line opens, for a command declared ``block=True``

    def __getattr__(self, name: str) -> Any:
        options = self.__dict__.get("options", {})
        if name in options:
            return options[name]
        raise AttributeError(name)

    @property
    def varname(self) -> str:
        return self.varlist[0]


_WEIGHT = re.compile(r"\[\s*(?:fw|fweight|aw|aweight|pw|pweight|iw|iweight|weight)\s*=",
                     re.IGNORECASE)


def _parse(decl: Declaration, text: str, variables: list[str]) -> Args:
    raw = decl.element("anything")
    if raw is not None and raw.mod("raw") is not None:
        return Args(text=text, anything=text.strip())
    syn = parse_syntax(text, allow_exp=decl.element("=exp") is not None)
    if any(_WEIGHT.search(part or "") for part in (syn.anything, syn.exp)):
        raise StataError("weights not allowed", 101)      # no command here takes weights yet
    args = Args(text=text, exp=syn.exp, if_=syn.if_, in_=syn.in_, using=syn.using)
    for kind, value, message in (("if", syn.if_, "if not allowed"), ("in", syn.in_, "in range not allowed"),
                                 ("using", syn.using, "using not allowed")):
        element = decl.element(kind)
        if value is not None and element is None:
            raise StataError(message, 101)
        if value is None and element is not None and not element.optional:
            raise StataError(f"{'using required' if kind == 'using' else kind + ' required'}", 100)
    exp_element = decl.element("=exp")
    if exp_element is not None and syn.exp is None and not exp_element.optional:
        raise StataError("= exp required", 100)
    _parse_head(decl, syn, args, variables)
    _parse_options(decl, syn, args, variables)
    return args


def _parse_head(decl: Declaration, syn: Syntax, args: Args, variables: list[str]) -> None:
    head = syn.anything
    kinds = [e for e in decl.elements if e.kind not in ("=exp", "if", "in", "using")]
    if not kinds:
        if head:
            raise syntax_error()
        return
    element = kinds[0]
    if element.kind == "filename" and len(kinds) > 1 and kinds[1].kind == "anything" and head:
        head, args.anything = _split_filename(head)     # ``filename [anything]``: do's arguments
    if not head:
        if not element.optional:
            message = _required_message(element)
            raise StataError(message, 100 if message.endswith("required") else 198)
        if element.kind == "varlist" and element.mod("default") != "none":
            args.varlist = list(variables)
        return
    kind = element.kind
    if kind == "anything":
        args.anything = head
    elif kind == "filename":
        args.filename = _one_filename(head)
    elif kind in ("varlist", "varname"):
        _parse_varlist(element, head, args, variables)
    elif kind in ("newvarlist", "newvarname"):
        words = head.split()
        if words and words[0] in STORAGE_TYPES or (words and re.fullmatch(r"str(\d+|L)?", words[0])):
            args.storage_type, words = words[0], words[1:]
        if not words:
            raise StataError("varlist required", 100)
        if kind == "newvarname" and len(words) > 1:
            raise StataError("too many variables specified", 103)
        if element.mod("stub") is not None and len(words) == 1 and words[0].endswith("*") \
                and _NAME.match(words[0][:-1] or "?"):
            args.newvars = words        # ``stub*``: the command makes stub1, stub2, ...
            return
        args.newvars = [new_name(variables, w) for w in words]
    else:  # namelist, name
        words = head.split()
        for w in words:
            if not _NAME.match(w):
                raise StataError(f"{w} invalid name", 198)
        if kind == "name" and len(words) > 1:
            raise StataError("too many names specified", 198)
        args.names = words


def _required_message(element: Element) -> str:
    return {"varlist": "varlist required", "varname": "varlist required",
            "newvarlist": "varlist required", "newvarname": "varlist required",
            "filename": "invalid file specification"}.get(element.kind, "invalid syntax")


def _split_filename(head: str) -> tuple[str, str]:
    """``"my file.do" a b`` → (``"my file.do"``, ``a b``): the file name, and what follows it."""
    head = head.strip()
    if head.startswith('"'):
        end = head.find('"', 1)
        if end < 0:
            raise StataError("invalid file specification", 198)
        return head[:end + 1], head[end + 1:].strip()
    name, _, rest = head.partition(" ")
    return name, rest.strip()


def _one_filename(head: str) -> str:
    head = head.strip()
    if head.startswith('"'):
        end = head.find('"', 1)
        if end < 0 or head[end + 1:].strip():
            raise StataError("invalid file specification", 198)
        return head[1:end]
    if len(head.split()) > 1:
        raise StataError("invalid file specification", 198)
    return head


def _parse_varlist(element: Element, head: str, args: Args, variables: list[str]) -> None:
    fv = element.mod("fv") is not None
    args.varlist_text = head
    if fv:
        from hlmshell.lang.fvnotation import fv_variables

        names = fv_variables(head, variables)
    else:
        if re.search(r"[.#]", head.replace("..", "")) and re.search(r"\b\w+\.\w", head):
            raise StataError("factor-variable and time-series operators not allowed", 101)
        names = expand(variables, head)
    count = len(names)
    if element.kind == "varname":
        if count > 1 or len(head.split()) > 1:
            raise StataError("too many variables specified", 103)
        names = [resolve(variables, head.strip())] if not fv else names
    lo, hi = element.mod("min"), element.mod("max")
    if lo is not None and count < int(lo):
        raise StataError("too few variables specified", 102)
    if hi is not None and count > int(hi):
        raise StataError("too many variables specified", 103)
    args.varlist = names


def _parse_options(decl: Declaration, syn: Syntax, args: Args, variables: list[str]) -> None:
    table: Table[OptionSpec] = Table()
    for spec in decl.options:
        table.add(spec.pattern, spec)
        args.options[spec.name] = spec.default
    rest: list[str] = []
    for word, arg in syn.options.items:
        spec, negated = table.get(word), False
        if spec is None and word.startswith("no"):
            candidate = table.get(word[2:])
            if candidate is not None and candidate.negatable:
                spec, negated = candidate, True
        if spec is None:
            if decl.star:
                rest.append(word if arg is None else f"{word}({arg})")
                continue
            shown = word if arg is None else f"{word}()"
            raise StataError(f"option {shown} not allowed", 198)
        value = _option_value(spec, word, arg, negated, variables)
        args.options[spec.name] = (*args.options[spec.name], value) if spec.repeat else value
        args.given.add(spec.name)
    for spec in decl.options:
        if spec.required and spec.name not in args.given:
            raise StataError(f"option {spec.name}() required", 198)
    args.rest_options = " ".join(rest)


def _option_value(spec: OptionSpec, word: str, arg: str | None, negated: bool,
                  variables: list[str]) -> Any:
    name = spec.name
    if spec.kind == "flag":
        if arg is not None:
            raise StataError(f"option {word}() not allowed", 198)
        return not negated if spec.negatable else True
    if arg is None:
        if spec.bare:
            return ""
        raise StataError(f"option {name}() incorrectly specified", 198)
    converters: dict[str, Callable[[str], Any]] = {
        "integer": _integer, "real": _real, "cilevel": _cilevel, "string": _unquote,
        "asis": lambda a: a, "passthru": lambda a: f"{name}({a})",
        "name": _name, "numlist": parse_numlist,
        "varlist": lambda a: expand(variables, a),
        "varname": lambda a: _varname(variables, a),
    }
    try:
        return converters[spec.kind](arg)
    except _BadValue:
        raise StataError(f"option {name}() incorrectly specified", 198) from None


class _BadValue(Exception):
    pass


def _integer(text: str) -> int:
    """A whole number that fits Stata's integers (``iterate(inf)``, ``iterate(.)`` are refused)."""
    try:
        value = whole(float(text), -MAX_INT, MAX_INT)
    except ValueError:
        raise _BadValue from None
    if value is None:
        raise _BadValue
    return value


def _real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _BadValue from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _BadValue
    return value


def _cilevel(text: str) -> float:
    value = _real(text)
    if not 10 <= value <= 99.99:
        raise StataError("level() must be between 10 and 99.99 inclusive", 198)
    return value


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def _name(text: str) -> str:
    text = text.strip()
    if not _NAME.match(text):
        raise StataError(f"{text} invalid name", 198)
    return text


def _varname(variables: list[str], text: str) -> str:
    words = text.split()
    if len(words) != 1:
        raise StataError("too many variables specified" if words else "varlist required",
                         103 if words else 100)
    return resolve(variables, words[0])
