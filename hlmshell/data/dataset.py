"""A dataset with its labels: what a .dta file holds, ``preserve`` keeps and ``use`` installs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Dataset:
    """Data, variable labels, value labels by name, and the value label of each variable."""

    data: "pd.DataFrame"
    var_labels: dict[str, str] = field(default_factory=dict)
    label_sets: dict[str, dict[float, str]] = field(default_factory=dict)
    label_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PanelSetting:
    """``xtset panelvar [timevar]``: kept in the dataset's characteristics (``chars["xt"]``)."""

    panel: str
    time: str | None = None
    delta: float = 1.0
