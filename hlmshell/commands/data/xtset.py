"""xtset panelvar [timevar] [, delta(#) clear]: declare the data a panel; ``xtset`` alone shows it.

The setting lives in the dataset's characteristics (it follows the data through preserve/restore
and is gone after ``use``).  As Stata's xtset: the panel variable must be numeric, time values may
not repeat within a panel, and the report says whether the panels are balanced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.data.dataset import PanelSetting
from hlmshell.errors import StataError
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def panel_setting(session: Session) -> PanelSetting:
    """The current xtset, or Stata's r(459) when there is none (or its variable is gone)."""
    xt = session.chars.get("xt")
    if xt is None or xt.panel not in session.variables:
        raise StataError("panel variable not set; use xtset varname ...", 459)
    return xt


def _numeric(session: Session, name: str) -> np.ndarray:
    if session.is_string(name):
        raise StataError(f"string variables not allowed in varlist;\n{name} is a string variable",
                         109)
    return session.data[name].to_numpy(dtype=float, na_value=np.nan)


def _report(session: Session, xt: PanelSetting) -> tuple[Text, Results]:
    from hlmshell.lang.numfmt import fmt_g

    panel = _numeric(session, xt.panel)
    ok = ~np.isnan(panel)
    counts = np.unique(panel[ok], return_counts=True)[1]
    scalars = {"imin": float(np.nanmin(panel)) if ok.any() else np.nan,
               "imax": float(np.nanmax(panel)) if ok.any() else np.nan}
    macros = {"panelvar": xt.panel}
    if xt.time is None:
        balance = "balanced" if len(set(counts)) <= 1 else "unbalanced"
        lines = ["", f"Panel variable: {xt.panel} ({balance})"]
    else:
        time = _numeric(session, xt.time)
        both = ok & ~np.isnan(time)
        times = {}
        for p, t in zip(panel[both], time[both]):
            times.setdefault(p, set()).add(t)
        patterns = {frozenset(v) for v in times.values()}
        balance = ("strongly balanced" if len(patterns) == 1 else
                   "weakly balanced" if len(set(counts)) == 1 else "unbalanced")
        tmin, tmax = float(np.nanmin(time)), float(np.nanmax(time))
        gaps = any(len(v) < (max(v) - min(v)) / xt.delta + 1 for v in times.values())
        span = f"{fmt_g(tmin).strip()} to {fmt_g(tmax).strip()}" + (", but with gaps" if gaps else "")
        unit = "unit" if xt.delta == 1 else "units"
        lines = ["", f"Panel variable: {xt.panel} ({balance})",
                 f" Time variable: {xt.time}, {span}",
                 f"         Delta: {fmt_g(xt.delta).strip()} {unit}"]
        scalars.update(tmin=tmin, tmax=tmax, tdelta=xt.delta, gaps=float(gaps))
        macros.update(timevar=xt.time, tdeltas=f"{fmt_g(xt.delta).strip()} {unit}")
    macros["balanced"] = balance
    return Text("\n".join(lines)), Results(scalars=scalars, macros=macros)


@command("xtset", "[varlist(max=2 default=none)] [, Delta(real 1) CLEAR]")
def xtset(session: Session, args: Args) -> Text | None:
    """Declare (or show) the panel variable and the time variable."""
    if args.clear:
        if args.varlist:
            raise StataError("option clear not allowed with a varlist", 198)
        session.chars = {k: v for k, v in session.chars.items() if k != "xt"}
        return None
    if not args.varlist:
        xt = panel_setting(session)
    else:
        if args.delta <= 0:
            raise StataError("delta() must be positive", 198)
        xt = PanelSetting(args.varlist[0], args.varlist[1] if len(args.varlist) > 1 else None,
                          args.delta)
        panel = _numeric(session, xt.panel)
        if xt.time is not None:
            time = _numeric(session, xt.time)
            ok = ~np.isnan(panel) & ~np.isnan(time)
            pairs = np.column_stack([panel[ok], time[ok]])
            if len(np.unique(pairs, axis=0)) < len(pairs):
                raise StataError("repeated time values within panel", 451)
    text, results = _report(session, xt)
    session.chars = {**session.chars, "xt": xt}
    session.r = results
    return text
