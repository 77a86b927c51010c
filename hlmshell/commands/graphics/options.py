"""The options every graph takes (Stata's *twoway_options*): titles, axes, legend, by(), name().

They are declared once here (:data:`TWOWAY_OPTIONS`, Stata's names and abbreviations) and appear in
every graph command's declaration; Stata lets them be typed inside any plot's options, and the
rightmost wins.  Their contents have small syntaxes of their own, each read here with a declaration
so that a suboption that is not implemented is refused, never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Pattern, Table
from hlmshell.lang.declaration import Args, parse_declaration
from hlmshell.lang.numlist import parse_numlist
from hlmshell.lang.scan import closing_paren, split_options, top_level_positions
from hlmshell.lang.syntax import parse_options
from hlmshell.results.graph import Axis, Legend, Titles

TWOWAY_OPTIONS = ("TItle(asis) SUBtitle(asis) NOTE(asis) CAPtion(asis) XTItle(asis) YTItle(asis) "
                  "XLABel(asis) YLABel(asis) XSCale(asis) YSCale(asis) XLIne(numlist) "
                  "YLIne(numlist) LEGend(asis) BY(asis) NAME(asis) SCHeme(name) XSIZe(real) "
                  "YSIZe(real) noDRAW SAVing(asis)")
TWOWAY_NAMES = tuple(Pattern.parse(w.split("(")[0].removeprefix("no")).name
                     for w in TWOWAY_OPTIONS.split())

_AXIS_LABEL = parse_declaration("[anything] [, ANGle(real) noGRid FORMat(string)]")
_AXIS_SCALE = parse_declaration("[, LOG REVerse Range(numlist)]")
_BY = parse_declaration("varlist [, TOTal COLs(integer) ROWs(integer) TItle(asis) NOTE(asis) "
                        "MISSing]")
_NAME = parse_declaration("name [, REPLACE]")
_SAVING = parse_declaration("anything [, REPLACE]")
_LEGEND_WORDS: Table[str] = Table()
for _word in ("OFF", "ON", "ORDer", "LABel", "COLs", "ROWs", "POSition"):
    _LEGEND_WORDS.add(Pattern.parse(_word), Pattern.parse(_word).name)


@dataclass
class GraphOptions:
    """The twoway options as given (rightmost wins), read into plot-description pieces."""

    given: dict[str, Any] = field(default_factory=dict)

    def merge(self, args: Args) -> None:
        for name in TWOWAY_NAMES:
            if name in args.given:
                self.given[name] = args.options[name]

    def text(self, name: str) -> str | None:
        value = self.given.get(name)
        return None if value is None else title_text(value)

    def titles(self, defaults: Titles = Titles()) -> Titles:
        return Titles(*(self.text(k) if k in self.given else getattr(defaults, k)
                        for k in ("title", "subtitle", "note", "caption")))

    def axis(self, which: str, default: Axis) -> Axis:
        axis = default
        if f"{which}title" in self.given:
            axis = replace(axis, title=title_text(self.given[f"{which}title"]))
        if f"{which}label" in self.given:
            axis = axis_labels(self.given[f"{which}label"], axis)
        if f"{which}scale" in self.given:
            axis = axis_scale(self.given[f"{which}scale"], axis)
        return axis

    def lines(self, which: str) -> tuple[float, ...]:
        return tuple(self.given.get(f"{which}line") or ())

    def legend(self, keys: tuple[tuple[int, str], ...], show: bool) -> Legend:
        """The legend over the plots' ``keys`` (1-based), shown by default when ``show``."""
        if "legend" in self.given:
            return legend(self.given["legend"], keys, show)
        return Legend(keys if show else ())

    def name(self) -> tuple[str | None, bool]:
        if "name" not in self.given:
            return None, False
        args = _NAME.parse(self.given["name"])
        return args.names[0], bool(args.replace)


def title_text(value: str) -> str:
    """``"Main" "second line"`` → two lines; an unquoted text as typed; suboptions are refused."""
    text, opts = split_options(value)
    if opts.strip():
        word = opts.split("(")[0].split()[0]
        raise StataError(f"option {word}() not allowed" if "(" in opts else f"option {word} "
                         "not allowed", 198)
    text = text.strip()
    if not text.startswith('"'):
        return text
    lines, i = [], 0
    while i < len(text):
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise StataError("unmatched quote", 198)
            lines.append(text[i + 1:end])
            i = end + 1
        elif text[i].isspace():
            i += 1
        else:
            raise StataError("invalid syntax", 198)
    return "\n".join(lines)


def axis_labels(value: str, axis: Axis) -> Axis:
    """``xlabel(0(5)25)``, ``xlabel(1 "low" 2 "high", angle(45) nogrid)``, ``xlabel(, format(%4.1f))``."""
    args = _AXIS_LABEL.parse(value)
    ticks, labels = _label_values(args.anything)
    grid = axis.grid
    if "grid" in args.given:
        grid = bool(args.grid)
    if args.format is not None and not args.format.startswith("%"):
        raise StataError(f"invalid format {args.format}", 120)
    return replace(axis, ticks=ticks if ticks is not None else axis.ticks,
                   tick_labels=labels if ticks is not None else axis.tick_labels,
                   angle=args.angle if args.angle is not None else axis.angle, grid=grid,
                   format=args.format or axis.format)


def _label_values(text: str) -> tuple[tuple[float, ...] | None, tuple[str, ...] | None]:
    text = text.strip()
    if not text:
        return None, None
    if '"' not in text:
        return tuple(parse_numlist(text)), None
    ticks: list[float] = []
    labels: list[str] = []
    pieces = _quoted_pieces(text)
    for kind, piece in pieces:
        if kind == "text":
            if not ticks or len(labels) >= len(ticks):
                raise StataError("invalid label specifier", 198)
            labels[-1] = piece
        else:
            for v in parse_numlist(piece):
                ticks.append(v)
                labels.append(_plain(v))
    return tuple(ticks), tuple(labels)


def _plain(v: float) -> str:
    from hlmshell.lang.numfmt import fmt_num

    return fmt_num(v, "%9.0g").strip()


def _quoted_pieces(text: str) -> list[tuple[str, str]]:
    out, i = [], 0
    while i < len(text):
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise StataError("unmatched quote", 198)
            out.append(("text", text[i + 1:end]))
            i = end + 1
        else:
            end = text.find('"', i)
            end = len(text) if end < 0 else end
            if text[i:end].strip():
                out.append(("numbers", text[i:end].strip()))
            i = end
    return out


def axis_scale(value: str, axis: Axis) -> Axis:
    """``xscale(log)``, ``xscale(range(0 10) reverse)``."""
    args = _AXIS_SCALE.parse(", " + value)
    lower, upper = axis.lower, axis.upper
    if args.range is not None:
        values = list(args.range)
        lower = min(values) if lower is None else min(lower, *values)
        upper = max(values) if upper is None else max(upper, *values)
    return replace(axis, log=axis.log or bool(args.log), reverse=axis.reverse or bool(args.reverse),
                   lower=lower, upper=upper)


def legend(value: str, available: tuple[tuple[int, str], ...], show: bool) -> Legend:
    """``legend(off)``, ``legend(order(2 1) label(1 "Data") cols(1) position(6))``."""
    items = parse_options(value).items
    keys = dict(available)
    order: list[int] | None = None
    cols: int | None = None
    rows: int | None = None
    position: int | None = None
    off = not show
    for word, arg in items:
        name = _LEGEND_WORDS.get(word)
        if name is None:
            raise StataError(f"option {word}{'()' if arg is not None else ''} not allowed", 198)
        if name in ("off", "on"):
            if arg is not None:
                raise StataError(f"option {word}() not allowed", 198)
            off = name == "off"
        elif arg is None:
            raise StataError(f"option {name}() incorrectly specified", 198)
        elif name == "label":
            number, _, text = arg.strip().partition(" ")
            keys[_key_number(number, name)] = title_text(text)
        elif name == "order":
            order = []
            for kind, piece in _quoted_pieces(arg):
                if kind == "text":
                    if not order:
                        raise StataError("option order() incorrectly specified", 198)
                    keys[order[-1]] = piece
                else:
                    order += [_key_number(w, name) for w in piece.split()]
        else:
            number = _key_number(arg, name)
            cols, rows, position = ((number, None, position) if name == "cols" else
                                    (None, number, position) if name == "rows" else
                                    (cols, rows, number))
    if off:
        return Legend((), cols, rows, position)
    numbers = order if order is not None else [k for k, _ in available]
    return Legend(tuple((k, keys.get(k, "")) for k in numbers if k in keys), cols, rows, position)


def _key_number(text: str, option: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise StataError(f"option {option}() incorrectly specified", 198) from None


@dataclass(frozen=True)
class ByOption:
    variables: tuple[str, ...]
    total: bool
    cols: int | None
    rows: int | None
    title: str | None
    note: str | None
    missing: bool


def by_option(value: str, variables: list[str]) -> ByOption:
    args = _BY.parse(value, variables)
    return ByOption(tuple(args.varlist), bool(args.total), args.cols, args.rows,
                    title_text(args.title) if args.title is not None else None,
                    title_text(args.note) if args.note is not None else None, bool(args.missing))


def saving_option(value: str) -> tuple[str, bool]:
    args = _SAVING.parse(value)
    return args.anything.strip().strip('"'), bool(args.replace)


def split_plots(text: str) -> tuple[list[str], str]:
    """``(scatter y x) (lfit y x) if z, title(a)`` or ``scatter y x || lfit y x, title(a)`` →
    (the plots' texts, what follows the plots: a global ``if``/``in`` and the options)."""
    plots: list[str] = []
    tail = ""
    for chunk in _split_bars(text):
        chunk = chunk.strip()
        while chunk.startswith("("):
            end = _closing(chunk)
            plots.append(chunk[1:end].strip())
            chunk = chunk[end + 1:].strip()
        if not chunk:
            continue
        if chunk.startswith(",") or chunk.split()[0] in ("if", "in"):
            tail = chunk
        else:
            plots.append(chunk)
    return [p for p in plots if p], tail


def _split_bars(text: str) -> list[str]:
    cuts = [i for i, c in top_level_positions(text) if c == "|" and text.startswith("||", i)]
    pieces, start, skip = [], 0, -1
    for i in cuts:
        if i == skip:
            continue
        pieces.append(text[start:i])
        start, skip = i + 2, i + 1
    pieces.append(text[start:])
    return pieces


def _closing(text: str) -> int:
    end = closing_paren(text)
    if end is None:
        raise StataError("unmatched parenthesis", 198)
    return end
