"""``predict`` after ``mixed`` and ``regress``: linear prediction, fitted values, residuals, BLUPs."""

from __future__ import annotations

import numpy as np

from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.syntax import parse_syntax
from hlmshell.model.multilevel.lmm import group_of_rows, random_effects
from hlmshell.render import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import EResults, Session

_STATISTICS = (("xb", 2), ("fitted", 3), ("residuals", 3), ("rstandard", 3), ("reffects", 3),
               ("reses", 4), ("stdp", 4))


def _statistic(syn_options) -> str:
    chosen = [name for name, minlen in _STATISTICS if syn_options.take(name, minlen)]
    if len(chosen) > 1:
        raise StataError("only one statistic may be specified", 198)
    return chosen[0] if chosen else "xb"


def _xb(session: Session, e: EResults) -> np.ndarray:
    """X b for every observation whose covariates are not missing (in or out of the sample)."""
    design = e.model.design
    beta = np.array([e.model.coef[design.columns[j].name] for j in design.estimable])
    return design.matrix(session.data) @ beta if len(beta) else np.zeros(session.nobs)


def _blups(session: Session, e: EResults, stat: str) -> list[np.ndarray]:
    """One column per random effect (Stata's order), each row taking its group's BLUP or SE."""
    model = e.model
    fit = model.fit
    sample = e.sample
    columns = []
    for k, (u, se) in enumerate(random_effects(fit)):
        rows = group_of_rows(fit, k)
        values = u if stat == "reffects" else se
        if k in model.factor_codes:   # R.x: one variable, each row taking its level's effect
            per_row = [values[rows, model.factor_codes[k]]]
        else:
            per_row = [values[rows, j] for j in range(values.shape[1])]
        for v in per_row:
            col = np.full(session.nobs, np.nan)
            col[np.flatnonzero(sample)] = v
            columns.append(col)
    return columns


def _mixed_fitted(session: Session, e: EResults) -> np.ndarray:
    """xb plus the BLUP part Z u, for the estimation sample."""
    model = e.model
    xb = _xb(session, e)
    data = session.data.loc[e.sample]
    zu = np.zeros(int(e.sample.sum()))
    for k, (u, _) in enumerate(random_effects(model.fit)):
        rows = group_of_rows(model.fit, k)
        if k in model.factor_codes:
            zu += u[rows, model.factor_codes[k]]
            continue
        names = model.fit.eq_names[k]
        Z = np.column_stack([np.ones(len(data)) if n == "_cons" else data[n].to_numpy(dtype=float)
                             for n in names])
        zu += np.einsum("ij,ij->i", Z, u[rows])
    out = np.full(session.nobs, np.nan)
    out[np.flatnonzero(e.sample)] = xb[e.sample] + zu
    return out


@command("predict", 3, usage="predict newvar(s) [if] [in] [, xb fitted residuals rstandard reffects reses]")
def predict(session: Session, cmd: Command) -> Text | None:
    """Predictions after estimation: xb, fitted, residuals, rstandard, reffects, reses."""
    e = session.e
    if e is None:
        raise StataError("last estimates not found", 301)
    syn = parse_syntax(cmd.rest, allow_exp=False)
    stat = _statistic(syn.options)
    syn.options.finish()
    names = syn.anything.split()
    for word in ("double", "float"):
        if names and names[0] == word:
            names = names[1:]
    if not names:
        raise StataError("varlist required", 100)
    for name in names:
        varlist.new_name(session.variables, name)
    mask = row_mask(session, syn.if_, syn.in_)
    if e.cmd not in ("mixed", "xtmixed") and stat not in ("xb", "residuals"):
        raise StataError(f"option {stat} not allowed", 198)
    if stat in ("reffects", "reses"):
        columns = _blups(session, e, stat)
        if len(names) != len(columns):
            raise StataError(f"you must specify {len(columns)} new variable"
                             f"{'s' if len(columns) > 1 else ''}", 103 if len(names) > len(columns) else 102)
        label = "BLUP r.e." if stat == "reffects" else "BLUP r.e. std. err."
    else:
        if len(names) != 1:
            raise StataError("too many variables specified", 103)
        if stat == "xb":
            columns, label = [_xb(session, e)], "Linear prediction, fixed portion"
        else:
            fitted = _mixed_fitted(session, e) if e.cmd != "regress" else _xb(session, e)
            if stat == "fitted":
                columns, label = [fitted], "Fitted values: xb + Zu"
            else:
                resid = session.data[e.macros["depvar"]].to_numpy(dtype=float) - fitted
                if stat == "rstandard":
                    resid = resid / np.sqrt(e.model.fit.sigma2)
                    label = "Standardized residuals"
                else:
                    label = "Residuals"
                columns = [resid]
    data = session.data.copy()
    missing = 0
    for name, col in zip(names, columns):
        col = np.where(mask, col, np.nan)
        data[name] = col
        missing = int(np.isnan(col).sum())
        session.var_labels[name] = label
    session.set_data(data)
    if missing:
        return Text(f"({missing:,} missing value{'s' if missing != 1 else ''} generated)")
    return None
