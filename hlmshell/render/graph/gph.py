"""hlmshell's .gph files: a graph's plot description as JSON (``graph save`` / ``graph use``).

Not Stata's binary .gph format: a file saved here is read back here, with every number of every
plot exactly as it was drawn.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from hlmshell.results import graph as kinds

FORMAT = "hlmshell-graph 1"
_TYPES = {cls.__name__: cls for cls in (kinds.Style, kinds.Points, kinds.Range, kinds.Bars,
                                        kinds.Box, kinds.Boxes, kinds.Axis, kinds.Panel,
                                        kinds.Legend, kinds.Titles, kinds.Graph,
                                        kinds.CombinedGraph)}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, **fields}
    if isinstance(value, np.ndarray):
        return {"__array__": [None if not np.isfinite(v) else float(v) for v in value]}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return kinds.frozen_array([np.nan if v is None else v for v in value["__array__"]])
        cls = _TYPES[value["__type__"]]
        return cls(**{k: _decode(v) for k, v in value.items() if k != "__type__"})
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def dumps(graph: kinds.AnyGraph) -> str:
    return json.dumps({"format": FORMAT, "graph": _encode(graph)})


def loads(text: str) -> kinds.AnyGraph:
    """The graph in ``text``; ValueError when it is not an hlmshell graph file."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError("not a graph file") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a graph file")
    try:
        return _decode(data["graph"])
    except (KeyError, TypeError) as err:
        raise ValueError("not a graph file") from err
