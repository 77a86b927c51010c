"""Why a model cannot be built or fitted, said without Stata's words.

Numerical code raises :class:`ModelError` with a ``kind`` and the details; the command layer
(:mod:`hlmshell.commands.model_errors`) reports it with Stata's message and return code.
"""

from __future__ import annotations

from typing import Any


class ModelError(Exception):
    """A model that cannot be built or fitted as asked."""

    KINDS = ("string_factor", "string_variable", "negative_factor", "noninteger_factor",
             "level_not_found", "exchangeable_too_small", "insufficient_observations",
             "infeasible_start", "too_many_levels", "exact_too_large",
             "outcome_constant", "bad_trials", "bad_binomial", "negative_count", "modes_not_found",
             "too_many_nodes", "collinear_effects", "singleton_groups")

    def __init__(self, kind: str, **details: Any) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown model error {kind}")
        super().__init__(kind, details)
        self.kind = kind
        self.details = details
