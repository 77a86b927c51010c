"""The graphs in memory: graph export, save, use, display, combine, drop, dir; set scheme/graphics.

``graph export`` and ``graph save`` write through :func:`hlmshell.data.atomic.replacing`, so a
failed export never leaves a partial file or destroys the one that was there.  Formats: png, svg,
pdf, eps, ps and tif (Stata for Unix's list); png, tif and svg take ``width()``/``height()`` in
pixels (one of them keeps the aspect ratio).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from hlmshell.commands.graphics.assemble import scheme_name
from hlmshell.commands.graphics.options import GraphOptions, title_text
from hlmshell.commands.graphics.store import check_name, current, keep
from hlmshell.data.atomic import replacing
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.results.shell import Text
from hlmshell.results.graph import CombinedGraph, Titles
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command, parent
from hlmshell.shell.session import Session

FORMATS = {"png": "PNG", "svg": "SVG", "pdf": "PDF", "eps": "EPS", "ps": "PostScript",
           "tif": "TIFF"}
KNOWN_ELSEWHERE = ("wmf", "emf", "jpg", "jpeg", "gif")
SIZED = ("png", "tif", "svg")

parent("GRaph", subcommand_error="{word} is not a valid graph subcommand", summary="Graphs")


def _path(session: Session, name: str) -> Path:
    from hlmshell.data.files import user_path

    return user_path(session.cwd, name)


def _pixels(option: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = 0.5
    if number != int(number) or not 8 <= number <= 16000:
        raise StataError(f"{option}() must be an integer between 8 and 16,000", 198)
    return int(number)


@command("GRaph EXPort", "anything [, AS(name) NAME(name) REPLACE WIDth(string) HEIght(string)]")
def graph_export(session: Session, args: Args) -> Text:
    """Export a graph to a file (png, svg, pdf, eps, ps, tif)."""
    filename = args.anything.strip().strip('"')
    if not filename or len(args.anything.split()) > 1 and not args.anything.strip().startswith('"'):
        raise StataError("invalid file specification", 198)
    fmt = args.options["as"]
    if fmt is None:
        last = filename.replace("\\", "/").split("/")[-1]
        fmt = last.partition(".")[2] if "." in last else ""
        if fmt not in FORMATS and fmt not in KNOWN_ELSEWHERE:
            raise StataError(f'output-file suffix "{fmt}" not recognized\nspecify correct suffix '
                             "or specify as() option", 198)
    elif fmt not in FORMATS and fmt not in KNOWN_ELSEWHERE:
        raise StataError(f"option as({fmt}) invalid", 198)
    if fmt not in FORMATS:
        raise StataError(f"Stata for Unix cannot create {fmt} files", 198)
    for option in ("width", "height"):
        if args.options[option] is not None and fmt not in SIZED:
            raise StataError(f"option {option}() not allowed", 198)
    width, height = _pixels("width", args.width), _pixels("height", args.height)
    target = _path(session, filename)
    if target.exists() and not args.replace:
        raise StataError(f"file {filename} already exists", 602)
    if not target.parent.is_dir():
        raise StataError(f"file {filename} could not be opened", 603)
    _, graph = current(session, args.options["name"])
    from hlmshell.render.graph.draw import export

    with replacing(target, filename) as handle:
        export(graph, handle, fmt, width=width, height=height)
    return Text(f"file {target} saved as {FORMATS[fmt]} format")     # Stata prints the full path


def _gph(name: str) -> str:
    return name if Path(name).suffix else f"{name}.gph"


def save_graph(session: Session, name: str | None, filename: str, replace: bool) -> Text:
    """Save a graph in memory (the current one when ``name`` is None) to a .gph file."""
    from hlmshell.render.graph.gph import dumps

    filename = _gph(filename)
    target = _path(session, filename)
    existed = target.exists()
    if existed and not replace:
        raise StataError(f"file {filename} already exists", 602)
    if not target.parent.is_dir():
        raise StataError(f"file {filename} could not be opened", 603)
    _, graph = current(session, name)
    text = dumps(graph)
    with replacing(target, filename, binary=False) as handle:
        handle.write(text)
    notes = [f"(file {filename} not found)"] if replace and not existed else []
    return Text("\n".join([*notes, f"file {filename} saved"]))


@command("GRaph SAVE", "anything [, REPLACE]")
def graph_save(session: Session, args: Args) -> Text:
    """Save a graph in memory to disk: graph save [name] filename [, replace]."""
    words = args.anything.split()
    if not words:
        raise StataError("filename name required", 198)
    if len(words) > 2:
        raise StataError(f"invalid syntax, {' '.join(words[2:])} not allowed", 198)
    name, filename = (None, words[0]) if len(words) == 1 else words
    return save_graph(session, name, filename.strip('"'), bool(args.replace))


@command("GRaph USE", "anything [, NAME(asis) noDRAW SCHeme(name)]")
def graph_use(session: Session, args: Args) -> list[Text]:
    """Load a graph saved with graph save and make it the current graph."""
    from dataclasses import replace

    from hlmshell.render.graph.gph import loads

    filename = _gph(args.anything.strip().strip('"'))
    path = _path(session, filename)
    if not path.is_file():
        raise StataError(f"file {filename} not found", 601)
    try:
        graph = loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise StataError(f"file {filename} not a graph file", 610) from None
    opts = GraphOptions()
    opts.merge(args)
    name, replace_ok = opts.name()
    default = Path(filename).stem if name is None else name
    name = check_name(session, default, replace_ok or name is None)
    if "scheme" in opts.given:
        graph = replace(graph, scheme=scheme_name(session, opts))
    shown = keep(session, graph, name, draw="draw" not in args.given)
    return [shown] if shown is not None else []


@command("GRaph DISplay", "[name] [, SCHeme(name)]")
def graph_display(session: Session, args: Args) -> list[Text]:
    """Show a graph in memory again (and make it the current graph)."""
    from dataclasses import replace

    name, graph = current(session, args.names[0] if args.names else None)
    if args.scheme is not None:
        opts = GraphOptions({"scheme": args.scheme})
        graph = replace(graph, scheme=scheme_name(session, opts))
    shown = keep(session, graph, name)
    return [shown] if shown is not None else []


@command("GRaph COMBine", "anything [, COLs(integer) ROWs(integer) TItle(asis) SUBtitle(asis) "
         "NOTE(asis) CAPtion(asis) NAME(asis) SCHeme(name) XSIZe(real) YSIZe(real) noDRAW]")
def graph_combine(session: Session, args: Args) -> list[Text]:
    """Combine graphs in memory (or .gph files) into one."""
    from hlmshell.render.graph.gph import loads

    parts = []
    for word in args.anything.split():
        word = word.strip('"')
        if word in session.graphs:
            graph = session.graphs[word]
        else:
            path = _path(session, _gph(word))
            if not path.is_file():
                raise StataError(f"graph {word} not found", 111)
            try:
                graph = loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise StataError(f"file {_gph(word)} not a graph file", 610) from None
        if isinstance(graph, CombinedGraph):
            raise StataError(f"graph {word} is a combined graph", 198)
        parts.append(graph)
    if not parts:
        raise StataError("graph specification required", 198)
    opts = GraphOptions()
    opts.merge(args)
    name, replace_ok = opts.name()
    name = check_name(session, name, replace_ok)
    titles = Titles(*(title_text(args.options[k]) if args.options[k] is not None else ""
                      for k in ("title", "subtitle", "note", "caption")))
    combined = CombinedGraph(tuple(parts), titles, scheme_name(session, opts), args.cols, args.rows,
                             args.xsize, args.ysize, f"graph combine {args.text.strip()}")
    shown = keep(session, combined, name, draw="draw" not in args.given)
    return [shown] if shown is not None else []


def _matching(session: Session, patterns: list[str]) -> list[str]:
    if not patterns or patterns == ["_all"]:
        return list(session.graphs)
    found = []
    for pattern in patterns:
        hits = [n for n in session.graphs if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise StataError(f"graph {pattern} not found", 111)
        found += [h for h in hits if h not in found]
    return found


@command("GRaph DROP", "anything")
def graph_drop(session: Session, args: Args) -> None:
    """Drop graphs from memory: graph drop name ... | _all."""
    words = args.anything.split()
    if not words:
        raise StataError("nothing found where graph name or matching pattern expected", 198)
    for name in _matching(session, words):
        del session.graphs[name]


@command("GRaph DIR", "[anything] [, Memory Gph]")
def graph_dir(session: Session, args: Args) -> Text | None:
    """List the graphs in memory and the .gph files in the current folder."""
    pattern = args.anything.strip() or "*"
    both = not (args.memory or args.gph)
    names = sorted(n for n in session.graphs if fnmatch.fnmatchcase(n, pattern)) \
        if both or args.memory else []
    files = sorted(p.name for p in session.cwd.glob("*.gph")
                   if fnmatch.fnmatchcase(p.name, pattern)) if both or args.gph else []
    session.r = Results(macros={"list": " ".join(names + files)})
    shown = names + files
    if not shown:
        return None
    width = max(len(s) for s in shown) + 2
    per_line = max(1, 4)
    lines = ["".join(s.ljust(width) for s in shown[i:i + per_line]).rstrip()
             for i in range(0, len(shown), per_line)]
    return Text("\n".join("    " + line for line in lines))


@command("set scheme", "name")
def set_scheme(session: Session, args: Args) -> None:
    """Set the scheme new graphs are drawn in (stcolor, s2color, s1color, s1mono, sj)."""
    session.graph_scheme = scheme_name(session, GraphOptions({"scheme": args.names[0]}))


@command("set graphics", "name(id=on|off)")
def set_graphics(session: Session, args: Args) -> None:
    """Whether new graphs are shown in a window at the prompt (set graphics on|off)."""
    value = args.names[0]
    if value not in ("on", "off"):
        raise syntax_error()
    session.graphics = value == "on"
