"""The cached manifest of every command's declaration, so that the shell starts without importing
the command modules.

Importing every command module (and with them the result types, renderers and numerics they use)
to learn what each command declares was half of the start-up time.  The first start does it and
writes what the declarations say — name and abbreviation, syntax text, flags, summary, and the
module and name of the function — to ``$HLMSHELL_CACHE`` (default ``~/.cache/hlmshell``); later
starts rebuild the same specs from that file, with each function a :class:`LazyFunction` that
imports its module when the command first runs.  The manifest holds the size and modification time
of every file under ``hlmshell/commands`` and is used only while they are all unchanged, so an edit
or an upgrade rebuilds it; it is never the source of a declaration, only a copy of them.  Any
problem reading or writing it means the command modules are imported, as before.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any

import hlmshell
from hlmshell.lang.abbrev import Pattern
from hlmshell.shell.registry import CommandSpec, LazyFunction

FORMAT = 1


def _folder() -> Path:
    configured = os.environ.get("HLMSHELL_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hlmshell"


def _path() -> Path:
    """One manifest per installed copy of the package (a clone beside an install does not share)."""
    package = os.path.dirname(hlmshell.__file__)
    return _folder() / f"commands-{zlib.crc32(package.encode()):08x}.json"


def _fingerprint() -> list[list[Any]]:
    """Each source file the declarations come from, with its size and modification time."""
    root = Path(hlmshell.__file__).parent
    files = [*sorted((root / "commands").rglob("*.py")), root / "shell" / "registry.py",
             root / "shell" / "manifest.py"]
    out: list[list[Any]] = [[hlmshell.__version__, FORMAT]]
    for file in files:
        st = file.stat()
        out.append([str(file.relative_to(root)), st.st_size, st.st_mtime_ns])
    return out


def _name(fn: Any) -> list[str] | None:
    """[module, qualified name] of a function the manifest can import again, else None."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    obj: Any = sys.modules.get(module or "")
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return [module, qualname] if obj is fn and "<" not in qualname else None


def _entry(spec: CommandSpec) -> dict[str, Any] | None:
    fn = _name(spec.fn) if spec.fn is not None else None
    requires = _name(spec.requires) if spec.requires is not None else None
    if (spec.fn is not None and fn is None) or (spec.requires is not None and requires is None):
        return None
    return {"name": spec.pattern.name, "minlen": spec.pattern.minlen, "syntax": spec.syntax,
            "fn": fn, "summary": spec.summary, "byable": spec.byable,
            "aliases": list(spec.aliases), "parent": spec.parent,
            "subcommand_error": spec.subcommand_error, "subcommand_rc": spec.subcommand_rc,
            "otherwise": spec.otherwise, "requires": requires, "block": spec.block}


def _spec(entry: dict[str, Any]) -> CommandSpec:
    lazy = (lambda pair: LazyFunction(*pair) if pair else None)
    return CommandSpec(Pattern(entry["name"], entry["minlen"]), entry["syntax"], lazy(entry["fn"]),
                       entry["summary"], entry["byable"], tuple(entry["aliases"]),
                       parent=entry["parent"], subcommand_error=entry["subcommand_error"],
                       subcommand_rc=entry["subcommand_rc"], otherwise=entry["otherwise"],
                       requires=lazy(entry["requires"]), block=entry["block"])


def load() -> list[CommandSpec] | None:
    """The specs of a current manifest, or None (none yet, unreadable, or out of date)."""
    try:
        stored = json.loads(_path().read_text(encoding="utf-8"))
        if stored["fingerprint"] != _fingerprint():
            return None
        return [_spec(entry) for entry in stored["commands"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(specs: list[CommandSpec]) -> None:
    """Write the manifest of ``specs`` when every function in them can be imported by name."""
    entries = [_entry(spec) for spec in specs]
    if any(entry is None for entry in entries):
        return
    from hlmshell.data.atomic import replacing
    from hlmshell.errors import StataError

    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, path.name, binary=False) as handle:
            json.dump({"fingerprint": _fingerprint(), "commands": entries}, handle)
    except (OSError, StataError):
        pass
