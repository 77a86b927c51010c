"""Stata's message and return code for each :class:`hlmshell.model.errors.ModelError`."""

from __future__ import annotations

from hlmshell.errors import StataError
from hlmshell.model.errors import ModelError

_MESSAGES = {
    "string_factor": ("{var}: string variables may not be used as factor variables", 109),
    "string_variable": ("string variables not allowed in varlist;\n{var} is a string variable", 109),
    "negative_factor": ("{var}:  factor variables may not contain negative values", 452),
    "noninteger_factor": ("{var}:  factor variables may not contain noninteger values", 452),
    "level_not_found": ("{var}: level #{k} not found", 111),
    "exchangeable_too_small": ("exchangeable covariance requires at least two random effects", 198),
    "insufficient_observations": ("insufficient observations", 2001),
    "infeasible_start": ("initial values not feasible", 1400),
    "too_many_levels": ("R.{var}: too many levels ({levels:,}) for this data size", 908),
    "exact_too_large": ("table too large for Fisher's exact test", 910),
    "outcome_constant": ("outcome does not vary; remember:\n"
                         "                                  0 = negative outcome,\n"
                         "        all other nonmissing values = positive outcome", 2000),
    "bad_trials": ("the number of binomial trials must be a positive integer", 459),
    "bad_binomial": ("the outcome must be an integer between 0 and the number of binomial trials",
                     459),
    "negative_count": ("{depvar} must be greater than or equal to zero", 459),
    "modes_not_found": ("initial values not feasible", 1400),
    "collinear_effects": ("{level}: random effect {effect} is collinear with {other}; the model is "
                          "not identified", 459),
    "singleton_groups": ("{level}: every group has one observation; its random effects cannot be "
                         "told from the residual and the model is not identified", 459),
    "too_many_nodes": ("intpoints() too large: {nodes:,} integration points per group; "
                       "use fewer points or intmethod(laplace)", 198),
}


def stata_error(err: ModelError) -> StataError:
    template, rc = _MESSAGES[err.kind]
    return StataError(template.format(**err.details), rc)
