"""scalar: define, list and drop named scalars (numbers or strings)."""

from __future__ import annotations

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.expr import evaluate_scalar
from hlmshell.lang.scan import split_top_level
from hlmshell.render.datacmds import ScalarList
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("scalar", 3, usage="scalar [define] name = exp | scalar list [names] | scalar drop names")
def scalar(session: Session, cmd: Command) -> ScalarList | None:
    """Define, list or drop scalars."""
    text = cmd.rest.strip()
    parts = split_top_level(text, "=")
    if len(parts) >= 2 and not parts[1].startswith("="):
        head = parts[0].split()
        if head and head[0] in ("define", "de", "def", "defi", "defin"):
            head = head[1:]
        if len(head) != 1:
            raise syntax_error()
        name = head[0]
        if not varlist.is_valid_name(name):
            raise StataError(f"{name} invalid name", 198)
        exp = text[len(parts[0]) + 1:].strip()
        if not exp:
            raise syntax_error()
        value = evaluate_scalar(session, exp)
        session.scalars = {**session.scalars, name: value}
        return None
    words = text.split()
    sub = words[0] if words else "list"
    names = words[1:]
    if sub in ("list", "li", "dir", "di"):
        chosen = list(session.scalars) if not names or "_all" in names else names
        for n in chosen:
            if n not in session.scalars:
                raise StataError(f"scalar {n} not found", 111)
        return ScalarList([(n, session.scalars[n]) for n in chosen])
    if sub == "drop":
        if not names:
            raise syntax_error()
        keep = dict(session.scalars)
        for n in names:
            if n == "_all":
                keep = {}
            elif n in keep:
                del keep[n]
            else:
                raise StataError(f"scalar {n} not found", 111)
        session.scalars = keep
        return None
    raise syntax_error()
