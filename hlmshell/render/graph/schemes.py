"""Graph schemes: the overall look (Stata's ``set scheme``).

``stcolor`` is Stata 18's default: 7.5 × 4.5 inch graphs, white background, the stc colour cycle,
horizontal y-axis labels, dashed light grid lines, small markers, a one-column legend on the right,
histograms filled stc1*.9 and outlined stc1*.7.  ``s2color`` (the default before Stata 18: 5.5 × 4,
a light bluish-gray outer region, horizontal grid lines only, legend below), ``s1color`` (s2color on
white), ``s1mono`` (gray scales and varying symbols) and ``sj`` (the Stata Journal: s2mono's grays
and line patterns, 3.575 × 2.6) follow Stata's scheme files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scheme:
    name: str
    palette: tuple[str, ...]
    symbols: tuple[str, ...] = ("circle",)
    patterns: tuple[str, ...] = ("solid",)
    size: tuple[float, float] = (7.5, 4.5)
    background: str = "white"
    plotregion: str = "white"
    grid: str = "gs14"
    grid_dashed: bool = True
    xgrid: bool = False
    ygrid: bool = True
    ylabel_angle: float = 0.0
    legend_position: int = 3
    legend_cols: int = 1
    marker_size: str = "small"
    histogram_fill: str = "stc1*.9"
    histogram_line: str = "stc1*.7"
    refline: str = "black"
    box_fill: str | None = None       # None: the plot's colour
    ci_area: str = "gs13"             # lfitci's band


_STC = tuple(f"stc{i}" for i in range(1, 16))
_S2 = ("navy", "maroon", "forest_green", "dkorange", "teal", "cranberry", "lavender", "khaki",
       "sienna", "emidblue", "emerald", "brown", "erose", "gold", "bluishgray")
_S1 = ("dkgreen", "orange_red", "navy", "maroon", "teal", "sienna", "orange", "magenta", "cyan",
       "red", "lime", "brown", "purple", "olive_teal", "ltblue")
_GRAYS = ("gs6", "gs10", "gs8", "gs4", "black", "gs12", "gs2", "gs7", "gs9", "gs11", "gs13", "gs5",
          "gs3", "gs12", "gs5")
_MONO_SYMBOLS = ("circle", "diamond", "square", "triangle", "x", "plus", "circle_hollow",
                 "diamond_hollow", "square_hollow", "triangle_hollow")
_MONO_PATTERNS = ("solid", "dash", "vshortdash", "longdash_dot", "longdash")

SCHEMES: dict[str, Scheme] = {
    "stcolor": Scheme("stcolor", _STC),
    "s2color": Scheme("s2color", _S2, size=(5.5, 4.0), background="ltbluishgray",
                      grid="ltbluishgray", grid_dashed=False, ylabel_angle=90.0, legend_position=6,
                      legend_cols=2, marker_size="medium", histogram_fill="khaki",
                      histogram_line="stone", refline="gs0"),
    "s1color": Scheme("s1color", _S1, size=(5.5, 4.0), grid_dashed=False, ylabel_angle=90.0,
                      legend_position=6, legend_cols=2, marker_size="medium",
                      histogram_fill="khaki", histogram_line="stone", refline="gs0"),
    "s1mono": Scheme("s1mono", _GRAYS, _MONO_SYMBOLS, _MONO_PATTERNS, size=(5.5, 4.0),
                     grid_dashed=False, ylabel_angle=90.0, legend_position=6, legend_cols=2,
                     marker_size="medium", histogram_fill="gs8", histogram_line="black",
                     refline="black", box_fill="gs10"),
    "sj": Scheme("sj", _GRAYS, _MONO_SYMBOLS, _MONO_PATTERNS, size=(3.575, 2.6), grid_dashed=False,
                 ylabel_angle=90.0, legend_position=6, legend_cols=2, marker_size="medium",
                 histogram_fill="gs8", histogram_line="black", refline="black", box_fill="gs10"),
}
DEFAULT_SCHEME = "stcolor"
