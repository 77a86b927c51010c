"""Scanning command text at top level: outside quotes, parentheses and brackets."""

from __future__ import annotations

from typing import Iterator


def top_level_positions(text: str) -> Iterator[tuple[int, str]]:
    """Yield (index, char) for characters outside quotes, parentheses and brackets."""
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c == '"':
            quote = '"'
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0:
            yield i, c
        i += 1


def closing_paren(text: str, start: int = 0) -> int | None:
    """The index of the ``)`` that closes the ``(`` at ``start`` (parentheses inside double quotes
    not counted), or None when it is never closed."""
    depth, quote = 0, False
    for j in range(start, len(text)):
        c = text[j]
        if c == '"':
            quote = not quote
        elif not quote and c == "(":
            depth += 1
        elif not quote and c == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it stands outside quotes and parentheses."""
    parts, start = [], 0
    positions = {i for i, _ in top_level_positions(text)}
    i = 0
    while i <= len(text) - len(sep):
        if i in positions and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
        else:
            i += 1
    parts.append(text[start:])
    return parts


def _find_keyword(text: str, word: str) -> int:
    """Index of the top-level keyword ``word`` standing alone (e.g. ``if``), or -1."""
    for i, _ in top_level_positions(text):
        if text.startswith(word, i):
            before = text[i - 1] if i > 0 else " "
            after = text[i + len(word)] if i + len(word) < len(text) else " "
            if before in " \t" and (after in " \t" or (word != "in" and after in '("!')) and i > 0:
                return i
            if i == 0 and after in " \t":
                return i
    return -1


def _find_assign(text: str) -> int:
    """Index of a top-level ``=`` that is not part of ``==``, ``!=``, ``<=``, ``>=``, ``~=``."""
    for i, c in top_level_positions(text):
        if c == "=":
            prev = text[i - 1] if i > 0 else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if prev not in "=!<>~" and nxt != "=":
                return i
    return -1


def split_options(text: str) -> tuple[str, str]:
    """Split at the first top-level comma: (before, after); after is '' when there is none."""
    for i, c in top_level_positions(text):
        if c == ",":
            return text[:i], text[i + 1:]
    return text, ""


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    if text.startswith('`"') and text.endswith("\"'"):
        return text[2:-2]
    return text
