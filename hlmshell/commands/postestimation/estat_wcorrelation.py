"""``estat wcorrelation``: the within-cluster correlation (or covariance) matrix that a linear mixed
model implies for one cluster's observations: by default the first cluster of the innermost
level in the estimation sample; ``at(level = value ...)`` chooses one; ``all`` takes every
observation."""

from __future__ import annotations

import re

import numpy as np

from hlmshell.commands.estimation.mixed_display import equation_infos
from hlmshell.commands.postestimation.estat_mixed import _multilevel
from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.lang.numfmt import fmt_num
from hlmshell.results.stored import Results, StataMatrix
from hlmshell.results.wcorrelation import WCorrelation
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_FORMAT = re.compile(r"^%-?\d+\.\d+[fgeFGE]c?$")


def _cluster(session: Session, args: Args, levels: list[str], rows: np.ndarray
             ) -> tuple[np.ndarray, str]:
    """The rows of the cluster and its description (``id = 1224``)."""
    data = session.data
    if args.all:
        return rows, "all the data"
    named = [v for v in levels if v != "_all"]
    if args.at:
        wanted: list[tuple[str, float]] = []
        for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([-+.\d]+)", args.at):
            var = varlist.resolve(named, name) if name not in named else name
            wanted.append((var, float(value)))
        if not wanted or re.sub(r"[A-Za-z_][A-Za-z0-9_]*\s*=\s*[-+.\d]+", "", args.at).strip():
            raise StataError("invalid at() specification", 198)
    else:
        if not named:
            return rows, "all the data"
        first = int(np.flatnonzero(rows)[0])
        wanted = [(v, data[v].iloc[first]) for v in named]
    chosen = rows.copy()
    for var, value in wanted:
        if isinstance(value, str) != session.is_string(var):      # at(id=1) of a string id
            raise StataError("type mismatch", 109)
        chosen &= data[var].to_numpy() == value
    if not chosen.any():
        raise StataError("no observations", 2000)
    return chosen, " and ".join(f"{v} = {x if isinstance(x, str) else fmt_num(x, '%9.0g').strip()}"
                                for v, x in wanted)


@command("estat WCORrelation", "[, AT(string) ALL COVariance FORmat(string)]",
         requires=_multilevel)
def estat_wcorrelation(session: Session, args: Args) -> WCorrelation:
    """Within-cluster correlations and standard deviations of the marginal model."""
    from hlmshell.inference.wcorrelation import correlation, marginal_covariance

    e = session.e
    if e is None or e.model is None:
        raise StataError("last estimates not found", 301)
    model = e.model
    fmt = args.format or "%6.3f"
    if not _FORMAT.match(fmt):
        raise StataError(f"invalid format {fmt}", 120)
    if args.all and args.at:
        raise StataError("options at() and all may not be combined", 184)
    structure, fit = model.structure, model.fit
    levels = list(structure.levels)
    rows, cluster = _cluster(session, args, levels, session.in_sample(e))
    data = session.data.loc[rows].reset_index(drop=True)
    blocks, Zs, Gs = [], [], []
    for eq, G in zip(structure.equations, fit.Sigma):
        Z = eq.z(data)
        blocks.append((Z, G, structure.row_groups(eq.level, data)))
        Zs.append(Z)
        Gs.append(G)
    V = marginal_covariance(blocks, fit.sigma2)
    sd, corr = correlation(V)
    obs = [str(i + 1) for i in range(len(data))]
    names = [n for info in equation_infos(model) for n in info.names]
    res = Results()
    res.matrices["sd"] = StataMatrix(sd.reshape(1, -1), ["sd"], obs)
    res.matrices["Corr"] = StataMatrix(corr, list(obs), list(obs))
    res.matrices["Cov"] = StataMatrix(V, list(obs), list(obs))
    q = sum(G.shape[0] for G in Gs)
    G_all = np.zeros((q, q))
    k = 0
    for G in Gs:
        G_all[k:k + len(G), k:k + len(G)] = G
        k += len(G)
    res.matrices["G"] = StataMatrix(G_all, list(names), list(names))
    res.matrices["Z"] = StataMatrix(np.column_stack(Zs) if Zs else np.zeros((len(obs), 0)),
                                    list(obs), list(names))
    res.matrices["R"] = StataMatrix(fit.sigma2 * np.eye(len(obs)), list(obs), list(obs))
    session.r = res
    matrix = V if args.covariance else corr
    return WCorrelation(cluster, tuple(float(v) for v in sd),
                        tuple(tuple(float(v) for v in row) for row in matrix), args.covariance, fmt)
