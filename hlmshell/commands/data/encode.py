"""encode (a string variable → numbers with value labels) and decode (the reverse).

``encode`` numbers the distinct strings 1, 2, ... in sorted order and labels them with a value
label named after the new variable, stored ``long``; with ``label(name)`` it uses that label's
numbers, extending the label with new strings (numbered after its largest value) unless
``noextend``.  ``decode`` gives each value its label's text ("" where there is none), as ``str#``.
Observations outside ``if``/``in`` (and empty strings) get missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.commands.data.generate import insert_column
from hlmshell.errors import StataError
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def _target(session: Session, name: str) -> str:
    from hlmshell.lang.varlist import new_name

    return new_name(session.variables, name)


@command("encode", "varname [if] [in], Generate(name) [LAbel(name) NOEXTend]")
def encode(session: Session, args: Args) -> None:
    """Create a numeric variable from a string variable, with the strings as value labels."""
    from hlmshell.data import storage
    from hlmshell.lang.expr import column_values, row_mask

    source = args.varname
    if not session.is_string(source):
        raise StataError("not possible with numeric variable", 107)
    new = _target(session, args.generate)
    label = args.label or new
    strings = column_values(session.data, source)
    use = row_mask(session, args.if_, args.in_) & (strings != "")
    existing = dict(session.label_sets.get(label, {})) if args.label else {}
    codes = {text: value for value, text in existing.items()}
    unknown = sorted(set(strings[use]) - set(codes))
    if unknown and args.noextend:
        raise StataError(f"there are values of {source} not present in label {label}", 459)
    start = max(existing, default=0.0)
    for k, text in enumerate(unknown, start=1):
        codes[text] = start + k
    values = np.array([codes[s] if u else np.nan for s, u in zip(strings, use)], dtype=float)
    session.set_data(insert_column(session.data, new, storage.numeric_series(values, "long")))
    labels = {**existing, **{v: t for t, v in codes.items()}}
    session.label_sets = {**session.label_sets, label: dict(sorted(labels.items()))}
    session.label_names = {**session.label_names, new: label}
    if source in session.var_labels:
        session.var_labels = {**session.var_labels, new: session.var_labels[source]}
    return None


@command("decode", "varname [if] [in], Generate(name) [MAXLength(integer 2045)]")
def decode(session: Session, args: Args) -> None:
    """Create a string variable from the value labels of a numeric variable."""
    from hlmshell.data import storage
    from hlmshell.lang.expr import column_values, row_mask

    source = args.varname
    if session.is_string(source):
        raise StataError("not possible with string variable", 108)
    if source not in session.label_names:
        raise StataError(f"{source} not labeled", 182)
    if not 1 <= args.maxlength <= 32000:
        raise StataError("maxlength() must be between 1 and 32000", 198)
    new = _target(session, args.generate)
    values = column_values(session.data, source)
    use = row_mask(session, args.if_, args.in_)
    texts = np.array([(session.value_label(source, v) or "")[:args.maxlength]
                      if u and v == v else "" for v, u in zip(values, use)], dtype=object)
    session.set_data(insert_column(session.data, new, storage.string_series(texts)))
    if source in session.var_labels:
        session.var_labels = {**session.var_labels, new: session.var_labels[source]}
    return None
