"""``mixed depvar [indepvars] using file.parquet || level: ...``: fit a nested model from a Parquet
file without loading it, in one pass over its row groups (:mod:`hlmshell.model.multilevel.streaming`).

The data in memory are untouched and are not the estimation sample (``e(sample)`` is 0 for them);
predictions afterwards evaluate the fitted model on the data in memory, by the values of their
variables.  What the pass cannot do is refused: factor variables in the fixed part (their levels
would have to be known before the pass), ``R.varname`` (crossed effects), ``if``/``in`` and
``dfmethod()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError

if TYPE_CHECKING:
    from hlmshell.commands.estimation.mixed_syntax import MixedSpec
    from hlmshell.shell.session import Session


def fit_using(session: Session, spec: MixedSpec):
    """The model fitted by streaming ``spec.using``, and an all-false sample for the data in memory."""
    from hlmshell.commands.estimation.mixed import model_inputs
    from hlmshell.data import files as datasets
    from hlmshell.data.parquet import row_groups
    from hlmshell.model.design import build_design
    from hlmshell.model.multilevel.streaming import fit_streamed
    from hlmshell.model.multilevel.structure import build_structure
    from hlmshell.shell.session import Session

    if spec.if_ is not None or spec.in_ is not None:
        raise StataError(f"{'if' if spec.if_ is not None else 'in'} not allowed with using", 101)
    if spec.dfmethod is not None:
        raise StataError("option dfmethod() not allowed with using", 198)
    path, shown = datasets.find_input(session.cwd, spec.using, ".parquet")
    if path.suffix.lower() != ".parquet":
        raise StataError(f"using {shown}: mixed reads Parquet files only", 198)
    first = next(row_groups(path, None), None)
    if first is None or not len(first):
        raise StataError("no observations", 2000)
    staged = Session(data=first, out=session.out, cwd=session.cwd)
    inputs = model_inputs(staged, spec.depvar_spec, spec.equations, None, None)
    if any(eq.factor is not None for eq in inputs.equations):
        raise StataError("R.varname not allowed with using: the streamed fit is for nested "
                         "levels", 198)
    template = first.loc[inputs.sample]
    design = build_design(template, inputs.terms, constant=not spec.noconstant)
    if any(c.kind not in ("continuous", "constant") or not c.estimable for c in design.columns):
        raise StataError("factor variables and omitted covariates not allowed with using", 101)
    structure = build_structure(template, inputs.levels, inputs.equations)
    used = list(dict.fromkeys(
        [inputs.depvar, *design.variables, *structure.variables]))

    def chunks():
        for chunk in row_groups(path, used):
            keep = np.ones(len(chunk), dtype=bool)
            for name in used:
                col = chunk[name]
                keep &= ~(col.isna().to_numpy() | (col.astype(str).to_numpy() == "")
                          if col.dtype == object else col.isna().to_numpy())
            yield chunk.loc[keep]

    model = fit_streamed(chunks(), inputs.depvar, design, inputs.levels,
                         list(structure.equations), reml=spec.reml, maxiter=spec.iterate,
                         tolerance=spec.tolerance, ltolerance=spec.ltolerance,
                         nrtolerance=spec.nrtolerance)
    return model, np.zeros(session.nobs, dtype=bool)
