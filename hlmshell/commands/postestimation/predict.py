"""``predict``: new variables from the active model, through the fitted-model protocol.

The model says what it can compute (:attr:`FittedModel.statistics`) and computes it on the data in
memory, by the values of the variables (so a sort or a drop after estimation changes nothing).  A
statistic the model does not offer is refused like any undeclared option.
"""

from __future__ import annotations

import numpy as np

from hlmshell.errors import StataError
from hlmshell.lang.abbrev import match
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.varlist import new_name
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

STATISTICS = ("XB", "STDP", "FITted", "RESiduals", "RSTandard", "REFfects", "MU", "PR", "ETA",
              "PEArson", "DEViance", "ANScombe")
MODIFIERS = ("FIXEDonly", "MARGinal", "EBMEANs", "EBMODEs")
_ORDER = ("fixedonly", "marginal", "ebmodes")


PANEL = ("UE", "XBU", "U", "E")          # xtreg's u_i + e_it, xb + u_i, u_i and e_it


def stub_names(session: Session, names: list[str], count: int) -> list[str]:
    """``predict re*, reffects``: stub1, ..., stub#count as new names; other names as typed."""
    if len(names) == 1 and names[0].endswith("*"):
        return [new_name(session.variables, f"{names[0][:-1]}{k}") for k in range(1, count + 1)]
    return names


def _modifiers(args: Args) -> list[str]:
    """fixedonly, marginal, ebmeans/ebmodes and conditional(), in the canonical order of the
    statistics' names (ebmeans, the default, is no modifier)."""
    mods = {name.lower() for name in MODIFIERS if getattr(args, name.lower())}
    if args.conditional is not None:
        word = match(args.conditional.strip(), ("EBMEANs", "EBMODEs", "FIXEDonly"))
        if word is None:
            raise StataError("invalid conditional() option", 198)
        mods.add(word)
    if "ebmeans" in mods and "ebmodes" in mods:
        raise StataError("only one of ebmeans or ebmodes is allowed", 198)
    return [m for m in _ORDER if m in mods]


@command("PREDict", f"newvarlist(stub) [if] [in] [, {' '.join(STATISTICS + PANEL)} RESEs(string optional) "
         f"{' '.join(MODIFIERS)} CONDitional(string)]")
def predict(session: Session, args: Args) -> list[Text]:
    """Predictions after estimation: xb, stdp, fitted, residuals, mu, pr, eta, reffects, reses..."""
    from hlmshell.model.protocol import statistic

    e = session.e
    if e is None or e.model is None or not e.model.statistics:    # margins/nlcom, post: nothing
        raise StataError("last estimates not found", 301)
    model = e.model
    chosen = [name for name in (s.lower() for s in STATISTICS + PANEL) if getattr(args, name)]
    reses_names = args.reses.split() if args.reses else []
    if args.reses == "":            # typed bare: the statistic reses (mixed's)
        chosen.append("reses")
    if len(chosen) > 1:
        raise StataError("only one statistic may be specified", 198)
    mods = _modifiers(args)
    for flag in ("ebmeans", "ebmodes"):
        if getattr(args, flag) and chosen[:1] != ["reffects"]:
            raise StataError(f"option {flag} requires the reffects option", 198)
    default = not chosen
    base = chosen[0] if chosen else model.statistics[0].name
    stat = statistic(model, " ".join([base, *mods]))
    if stat is None:
        bad = base if statistic(model, base) is None else mods[0]
        raise StataError(f"option {bad} not allowed", 198)
    if reses_names and base != "reffects":
        raise StataError("option reses() requires the reffects option", 198)
    outputs = [(stat, stub_names(session, args.newvars, stat.count))]
    if reses_names:
        se = statistic(model, " ".join(["reses", *mods]))
        if se is None:
            raise StataError("option reses() not allowed", 198)
        outputs.append((se, [new_name(session.variables, n) for n in reses_names]))
    for st, names in outputs:
        if len(names) != st.count:
            if st.count == 1:
                raise StataError("too many variables specified", 103)
            raise StataError(f"you must specify {st.count} new variable"
                             f"{'s' if st.count > 1 else ''}", 103 if len(names) > st.count else 102)
    said = [Text(stat.assumed)] if default and stat.assumed else []
    said += [Text(note) for note in stat.notes]
    mask = row_mask(session, args.if_, args.in_)
    data = session.data.copy()
    missing = 0
    for st, names in outputs:
        columns = model.predict(st.name, session.data)
        labels = st.labels or (st.label,) * st.count
        for name, col, label in zip(names, columns, labels):
            col = np.where(mask, col, np.nan)
            if args.storage_type != "double":
                col = col.astype(np.float32).astype(np.float64)
            data[name] = col
            missing = int(np.isnan(col).sum())
            session.var_labels[name] = label
    session.set_data(data)
    if missing:
        said.append(Text(f"({missing:,} missing value{'s' if missing != 1 else ''} generated)"))
    return said
