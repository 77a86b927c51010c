"""What every estimation command posts the same way: e(b), e(V), e(sample), the model and replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from hlmshell.results.stored import EResults, StataMatrix

if TYPE_CHECKING:
    from hlmshell.shell.session import Session


def post_model(session: Session, e: EResults, model: Any, sample: np.ndarray,
               output: Callable[[Any, Any], Any], display: Any) -> EResults:
    """Fill ``e`` with the model's e(b) and e(V) (named by its coef_names), e(sample) as the keys
    of ``sample``, and replay through ``output(model, display)``."""
    names = list(model.coef_names)
    e.matrices["b"] = StataMatrix(model.coef.reshape(1, -1), ["y1"], names)
    e.matrices["V"] = StataMatrix(model.vcov, list(names), list(names))
    e.sample = session.sample_keys(sample)
    e.model = model
    e.show, e.display = lambda e, d: [output(e.model, d)], display
    return e
