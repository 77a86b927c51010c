"""sysuse name [, clear] and sysuse dir: the datasets shipped in hlmshell's data/ folder.

``sysuse hsb`` loads data/hsb.dta from anywhere, as Stata's sysuse loads its example datasets; a
bundled dataset shipped as text (``sysuse exam``: data/exam.csv) is read as ``import delimited``
reads it.  ``sysuse dir`` lists them in columns, as Stata does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlmshell.errors import StataError, syntax_error
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_WIDTH = 16


def bundled_names() -> list[str]:
    from hlmshell.data.files import BUNDLED

    return sorted(p.name for p in BUNDLED.iterdir() if p.suffix in (".dta", ".csv"))


@command("sysuse", "anything [, clear]")
def sysuse(session: Session, args: Args) -> Text | None:
    """Load a dataset shipped with hlmshell (``sysuse dir`` lists them)."""
    from hlmshell.commands.data.datafiles import load_dta, load_delimited
    from hlmshell.data.files import BUNDLED
    from hlmshell.lang.scan import unquote

    words = args.anything.split()
    if len(words) != 1:
        raise syntax_error()
    name = unquote(words[0])
    if name == "dir":
        if args.clear:
            raise StataError("option clear not allowed", 198)
        return Text(_columns(bundled_names()))
    stem = name[:-4] if name.endswith((".dta", ".csv")) else name
    for ext, load in ((".dta", load_dta), (".csv", load_delimited)):
        path = BUNDLED / f"{stem}{ext}"
        if (name == stem or name.endswith(ext)) and path.is_file():
            return load(session, path, clear=args.clear)
    raise StataError(f"file {stem}.dta not found", 601)


def _columns(names: list[str]) -> str:
    """Column by column, as many columns (16 wide, or the longest name and 2) as fit in 80."""
    width = max([_WIDTH, *(len(n) + 2 for n in names)])
    per_line = max(1, 78 // width)
    rows = -(-len(names) // per_line)
    lines = []
    for r in range(rows):
        cells = [names[c * rows + r] for c in range(per_line) if c * rows + r < len(names)]
        lines.append("  " + "".join(n.ljust(width) for n in cells).rstrip())
    return "\n".join(lines)
