"""c() ([P] creturn): the system values a do-file asks for, in expressions (``c(N)``) and macros
(`` `c(current_date)' ``).  An unknown name is missing (an expression) or empty (a macro)."""

from __future__ import annotations

import datetime as _dt
import math
import os
import tempfile
from typing import Any, Callable

from hlmshell.lang.command import RELEASE


def system_value(session: Any, name: str) -> float | str | None:
    """The value of c(name): a number or a string; None when there is no such value."""
    now = _dt.datetime.now()
    values: dict[str, Callable[[], float | str]] = {
        "current_date": lambda: f"{now.day:2d} {now:%b %Y}",
        "current_time": lambda: f"{now:%H:%M:%S}",
        "pwd": lambda: str(session.cwd),
        "N": lambda: float(session.nobs),
        "k": lambda: float(len(session.variables)),
        "filename": lambda: session.filename or "",
        "changed": lambda: float(session.changed),
        "version": lambda: float(session.version),
        "stata_version": lambda: float(RELEASE),
        "linesize": lambda: float(session.linesize or 80),
        "varabbrev": lambda: "on" if session.varabbrev else "off",
        "more": lambda: "off",
        "scheme": lambda: session.graph_scheme,
        "graphics": lambda: "on" if session.graphics else "off",
        "level": lambda: 95.0,
        "rc": lambda: float(session.rc),
        "pi": lambda: math.pi,
        "os": lambda: "Unix" if os.name == "posix" else "Windows",
        "dirsep": lambda: "/",
        "tmpdir": tempfile.gettempdir,
        "username": lambda: os.environ.get("USER", ""),
    }
    return values[name]() if name in values else None
