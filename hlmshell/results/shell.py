"""Results the shell itself prints (not a command's)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ByHeader:
    """``-> sector = 0, female = 1`` before each by-group's output; values as the data hold them,
    with their value labels where they have one."""

    values: tuple[tuple[str, float | str, str | None], ...]   # (variable, value, label)


@dataclass(frozen=True)
class Displayed:
    """What ``display`` prints; ``continued``: the line stays open (``_continue``)."""

    text: str
    continued: bool = False


@dataclass(frozen=True)
class Text:
    """Ready text (a note, a message, a listing built line by line)."""

    text: str
