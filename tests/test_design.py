"""Factor-variable design matrices: Stata's column names, order, base levels and collinearity."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.commands.model_errors import stata_error
from hlmshell.errors import StataError
from hlmshell.lang.fvnotation import fv_variables as model_variables
from hlmshell.lang.fvnotation import parse_terms
from hlmshell.model import design as design_module
from hlmshell.model.errors import ModelError

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    return pd.read_stata(DATA / "hsb.dta")


def build_design(data, spec, **options):
    """The notation read as the commands read it, then the design; errors as the user sees them."""
    try:
        return design_module.build_design(data, parse_terms(spec, list(data.columns)), **options)
    except ModelError as err:
        raise stata_error(err) from None


def _summary(design):
    return [(c.name, c.term, c.level, c.kind, c.base, c.omitted) for c in design.columns]


def test_reference_interaction_columns(hsb):
    # mixed mathach c.ses##i.sector: e(b) has ses 0b.sector 1.sector 0b.sector#co.ses 1.sector#c.ses _cons;
    # the log prints ses, 1.sector, sector#c.ses / 1, _cons.
    d = build_design(hsb, "c.ses##i.sector")
    assert _summary(d) == [
        ("ses", "ses", "", "continuous", False, False),
        ("0b.sector", "sector", "0", "factor", True, False),
        ("1.sector", "sector", "1", "factor", False, False),
        ("0b.sector#co.ses", "sector#c.ses", "0", "interaction", True, False),
        ("1.sector#c.ses", "sector#c.ses", "1", "interaction", False, False),
        ("_cons", "_cons", "", "constant", False, False),
    ]
    assert d.estimable == [0, 2, 4, 5]
    assert d.variables == ["ses", "sector"]
    assert d.notes == []
    ses, sector = hsb["ses"].to_numpy(), hsb["sector"].to_numpy()
    expected = np.column_stack([ses, sector == 1, (sector == 1) * ses, np.ones(len(hsb))])
    np.testing.assert_array_equal(d.X, expected.astype(float))


def test_ib1_variant(hsb):
    # mixed mathach c.ses##ib1.sector prints 0.sector and sector#c.ses / 0.
    d = build_design(hsb, "c.ses##ib1.sector")
    assert d.names == ["ses", "0.sector", "1b.sector", "0.sector#c.ses", "1b.sector#co.ses", "_cons"]
    assert [d.columns[i].level for i in d.estimable] == ["", "0", "0", ""]
    sector = hsb["sector"].to_numpy()
    np.testing.assert_array_equal(d.X[:, 1], (sector == 0).astype(float))


def test_interaction_alone_has_no_base_when_main_effect_absent(hsb):
    # [U] 11.4.3: sex#c.age alone gives a slope for each sex.
    d = build_design(hsb, "i.sector#c.ses")
    assert d.names == ["0.sector#c.ses", "1.sector#c.ses", "_cons"]


def test_plain_varlist_abbreviations_ranges(hsb):
    assert build_design(hsb, "ses me").names == ["ses", "meanses", "_cons"]
    assert build_design(hsb, "ses-mathach", constant=False).names == ["ses", "mathach"]
    assert model_variables("c.ses##i.sec me*", list(hsb.columns)) == ["ses", "sector", "meanses"]


def test_collinear_multiple_is_omitted(hsb):
    data = hsb.assign(ses2=2 * hsb["ses"])
    d = build_design(data, "ses ses2")
    assert d.names == ["ses", "o.ses2", "_cons"]
    assert d.notes == ["note: ses2 omitted because of collinearity."]
    assert d.X.shape == (7185, 2)
    assert d.columns[1].omitted and not d.columns[1].base


def test_constant_column_collinear_with_cons(hsb):
    data = hsb.assign(one=1.0)
    d = build_design(data, "one ses")
    assert d.names == ["o.one", "ses", "_cons"]
    assert d.notes == ["note: one omitted because of collinearity."]
    # without a constant, a column of ones is fine
    assert build_design(data, "one ses", constant=False).names == ["one", "ses"]


def test_factor_by_factor(hsb):
    d = build_design(hsb, "i.sector##i.minority")
    assert d.names == ["0b.sector", "1.sector", "0b.minority", "1.minority",
                       "0b.sector#0b.minority", "0b.sector#1o.minority", "1o.sector#0b.minority",
                       "1.sector#1.minority", "_cons"]
    assert d.columns[7].term == "sector#minority" and d.columns[7].level == "1#1"
    s, m = hsb["sector"].to_numpy(), hsb["minority"].to_numpy()
    np.testing.assert_array_equal(d.X[:, 2], ((s == 1) & (m == 1)).astype(float))
    # a#b alone: only the all-base cell is a base
    assert build_design(hsb, "sector#minority").names == [
        "0b.sector#0b.minority", "0.sector#1.minority", "1.sector#0.minority",
        "1.sector#1.minority", "_cons"]


def test_empty_cell(hsb):
    rows = ((hsb["sector"] == 0) | (hsb["minority"] == 0)).to_numpy()
    d = build_design(hsb, "i.sector##i.minority", rows=rows)
    cell = d.columns[7]
    assert cell.name == "1o.sector#1o.minority" and cell.empty and cell.omitted
    assert d.notes == ["note: 1.sector#1.minority identifies no observations in the sample."]
    assert d.X.shape == (int(rows.sum()), 3)


def test_continuous_by_continuous(hsb):
    d = build_design(hsb, "c.ses##c.meanses")
    assert d.names == ["ses", "meanses", "c.ses#c.meanses", "_cons"]
    assert d.columns[2].kind == "interaction" and d.columns[2].level == ""
    np.testing.assert_allclose(d.X[:, 2], hsb["ses"] * hsb["meanses"])
    assert build_design(hsb, "c.ses##c.ses").names == ["ses", "c.ses#c.ses", "_cons"]


def test_base_options_and_groups(hsb):
    assert build_design(hsb, "ib(last).sector").names == ["0.sector", "1b.sector", "_cons"]
    assert build_design(hsb, "ibn.sector", constant=False).names == ["0.sector", "1.sector"]
    assert build_design(hsb, "i.(sector minority)").names == [
        "0b.sector", "1.sector", "0b.minority", "1.minority", "_cons"]
    assert build_design(hsb, "1.sector").names == ["1.sector", "_cons"]
    assert build_design(hsb, "sector##c.(ses meanses)").names == [
        "0b.sector", "1.sector", "ses", "0b.sector#co.ses", "1.sector#c.ses", "meanses",
        "0b.sector#co.meanses", "1.sector#c.meanses", "_cons"]


def test_levels_come_from_the_sample(hsb):
    rows = (hsb["sector"] == 1).to_numpy()
    d = build_design(hsb, "i.sector ses", rows=rows)
    assert d.names == ["1b.sector", "ses", "_cons"]
    assert d.X.shape == (int(rows.sum()), 2)


def test_missing_values_dropped_by_default(hsb):
    data = hsb.assign(ses=hsb["ses"].where(hsb.index >= 10))
    d = build_design(data, "ses")
    assert d.rows.sum() == 7175 and d.X.shape == (7175, 2)


@pytest.mark.parametrize("spec, message, rc", [
    ("i.id", "id: string variables may not be used as factor variables", 109),
    ("sess", "variable sess not found", 111),
    ("i.ses", "ses:  factor variables may not contain negative values", 452),
    ("i.pracad", "pracad:  factor variables may not contain noninteger values", 452),
    ("ses##sector", "ses:  factor variables may not contain negative values", 452),
    ("c.ses#", "invalid syntax", 198),
    ("ses (", "invalid syntax", 198),
])
def test_errors(hsb, spec, message, rc):
    with pytest.raises(StataError) as info:
        build_design(hsb, spec)
    assert info.value.message == message
    assert info.value.rc == rc


def test_model_variables_unknown(hsb):
    with pytest.raises(StataError) as info:
        model_variables("mathach c.ses##i.sectr", list(hsb.columns))
    assert info.value.rc == 111


def test_stata_names_auto_foreign_rep78():
    # Stata's e(b) for `regress price i.foreign##i.rep78` on the auto data, where foreign cars have
    # no rep78 of 1 or 2 (empty cells) and 1.foreign#5.rep78 is collinear with the rest.
    rng = np.random.default_rng(1)
    cells = [(0, r) for r in range(1, 6)] * 4 + [(1, r) for r in (3, 4, 5)] * 4
    data = pd.DataFrame(cells, columns=["foreign", "rep78"])
    data["price"] = rng.normal(size=len(data))
    d = build_design(data, "i.foreign##i.rep78")
    assert d.names == [
        "0b.foreign", "1.foreign", "1b.rep78", "2.rep78", "3.rep78", "4.rep78", "5.rep78",
        "0b.foreign#1b.rep78", "0b.foreign#2o.rep78", "0b.foreign#3o.rep78", "0b.foreign#4o.rep78",
        "0b.foreign#5o.rep78", "1o.foreign#1b.rep78", "1o.foreign#2o.rep78", "1.foreign#3.rep78",
        "1.foreign#4.rep78", "1o.foreign#5o.rep78", "_cons"]
    assert d.columns[13].empty and not d.columns[16].empty and d.columns[16].omitted
    assert d.notes == ["note: 1.foreign#2.rep78 identifies no observations in the sample.",
                       "note: 1.foreign#5.rep78 omitted because of collinearity."]
    assert d.X.shape[1] == 8
    assert [d.columns[i].label for i in (13, 16)] == ["1.foreign#2.rep78", "1.foreign#5.rep78"]
    # i.foreign##c.mpg: 0b.foreign 1.foreign mpg 0b.foreign#co.mpg 1.foreign#c.mpg _cons
    data["mpg"] = rng.normal(size=len(data))
    assert build_design(data, "i.foreign##c.mpg").names == [
        "0b.foreign", "1.foreign", "mpg", "0b.foreign#co.mpg", "1.foreign#c.mpg", "_cons"]


def test_single_level_indicator_without_observations(hsb):
    d = build_design(hsb, "3.sector ses")
    assert d.names == ["3o.sector", "ses", "_cons"]
    assert d.columns[0].empty and d.columns[0].label == "3.sector"
    assert d.notes == ["note: 3.sector identifies no observations in the sample."]


def test_matrix_on_other_rows(hsb):
    rows = (hsb["sector"] == 0).to_numpy()
    data = hsb.assign(ses=hsb["ses"].where(hsb.index != 5))
    d = build_design(data, "c.ses##i.sector", rows=rows & data["ses"].notna().to_numpy())
    assert d.names == ["ses", "0b.sector", "0b.sector#co.ses", "_cons"]
    full = d.matrix(data)
    assert full.shape == (len(data), len(d.estimable))
    np.testing.assert_array_equal(full[d.rows], d.X)
    assert np.isnan(full[5]).any() and not np.isnan(full[6]).any()
    d = build_design(hsb, "c.ses##i.sector i.minority#c.meanses")
    np.testing.assert_array_equal(d.matrix(hsb), d.X)
