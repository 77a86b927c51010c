"""Stata-style errors: a message and a return code, printed as Stata prints them."""

from __future__ import annotations


class StataError(Exception):
    """An error a command reports to the user, e.g. ``variable sess not found`` with ``r(111);``."""

    def __init__(self, message: str, rc: int = 198) -> None:
        super().__init__(message)
        self.message = message
        self.rc = rc

    def __str__(self) -> str:
        return f"{self.message}\nr({self.rc});" if self.message else f"r({self.rc});"


def syntax_error(message: str = "invalid syntax") -> StataError:
    return StataError(message, 198)
