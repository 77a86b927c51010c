"""Parquet files (use/save file.parquet, import/export parquet) keep storage types, variable labels
and value labels; files from elsewhere are typed by Stata's rules; bad input leaves the session as
it was.  And the native CSV reader behind import delimited types columns as the text reader did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.data.files import storage_type
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session


def _session(cwd: Path):
    out, buf = capture_output()
    return Session(out=out, cwd=cwd), buf


def _labelled(s: Session) -> None:
    s.set_data(pd.DataFrame({
        "b": np.array([1, 0, 1, 1], dtype=np.int8),
        "i": np.array([300, -2, 7, 30000], dtype=np.int16),
        "l": np.array([70000, 1, 2, 3], dtype=np.int32),
        "f": np.array([0.5, np.nan, 1.25, -3.0], dtype=np.float32).astype(np.float64),
        "d": np.array([0.1, 1e300, np.nan, 2.0]),
        "s": ["a", "", "ccc", "dd"],
    }))
    assert run_line(s, 'label variable d "a double"') == 0
    assert run_line(s, 'label define yn 0 "no" 1 "yes"') == 0
    assert run_line(s, "label values b yn") == 0


def test_save_and_use_keep_types_and_labels(tmp_path):
    s, buf = _session(tmp_path)
    _labelled(s)
    before = s.data.copy()
    assert run_line(s, "save t.parquet") == 0 and "file t.parquet saved" in buf.getvalue()
    assert run_line(s, "use t.parquet, clear") == 0
    pd.testing.assert_frame_equal(s.data.reset_index(drop=True), before.reset_index(drop=True))
    assert [storage_type(s.data[c]) for c in s.data] == ["byte", "int", "long", "float", "double",
                                                         "str3"]
    assert s.var_labels == {"d": "a double"}
    assert s.label_names == {"b": "yn"} and s.label_sets["yn"] == {0.0: "no", 1.0: "yes"}
    assert not s.changed and s.filename.endswith("t.parquet")
    assert run_line(s, "tab b") == 0 and "yes |" in buf.getvalue()


def test_use_a_varlist_reads_only_those_columns(tmp_path):
    s, _ = _session(tmp_path)
    _labelled(s)
    assert run_line(s, "save t.parquet") == 0
    assert run_line(s, "use b s using t.parquet if b == 1, clear") == 0
    assert list(s.data.columns) == ["b", "s"] and s.data["s"].tolist() == ["a", "ccc", "dd"]
    assert s.label_names == {"b": "yn"} and s.var_labels == {}


def test_import_and_export_parquet(tmp_path):
    s, buf = _session(tmp_path)
    _labelled(s)
    assert run_line(s, "export parquet b d using part if i > 0") == 0
    assert "file part.parquet saved" in buf.getvalue()
    assert run_line(s, "export parquet part") == 602          # exists: not replaced
    assert run_line(s, "import parquet part, clear") == 0
    assert "(2 vars, 3 obs)" in buf.getvalue()
    assert list(s.data.columns) == ["b", "d"] and s.data["d"].tolist()[0] == 0.1
    assert s.changed and s.var_labels == {"d": "a double"}
    assert run_line(s, "import parquet part") == 4            # data changed: clear needed


def test_foreign_parquet_is_typed_by_stata_rules(tmp_path):
    import pyarrow as pa
    from pyarrow import parquet as pq

    pq.write_table(pa.table({
        "small": pa.array([1, 2, 3], type=pa.int64()),
        "big": pa.array([1, 2, 2**40 + 1], type=pa.int64()),
        "gap": pa.array([1, None, 3], type=pa.int32()),
        "flag": pa.array([True, False, True]),
        "cat": pa.array(["x", "y", "x"]).dictionary_encode(),
        "when": pa.array([pd.Timestamp("2020-01-02")] * 3),
    }), tmp_path / "other.parquet")
    s, _ = _session(tmp_path)
    assert run_line(s, "use other.parquet") == 0
    d = s.data
    assert [storage_type(d[c]) for c in d] == ["byte", "double", "float", "byte", "str1", "str26"]
    assert d["big"].tolist() == [1.0, 2.0, 2.0 ** 40 + 1] and np.isnan(d["gap"][1])
    assert d["cat"].tolist() == ["x", "y", "x"] and d["when"][0] == "2020-01-02 00:00:00.000000"


def test_not_parquet_is_refused_and_data_kept(tmp_path):
    (tmp_path / "bad.parquet").write_text("not parquet\n")
    s, buf = _session(tmp_path)
    _labelled(s)
    before = s.data.copy()
    assert run_line(s, "use bad.parquet, clear") == 610
    assert "file bad.parquet not Parquet format" in buf.getvalue()
    assert run_line(s, "use nosuch.parquet, clear") == 601
    pd.testing.assert_frame_equal(s.data, before)


def test_import_delimited_types_columns_as_stata(tmp_path):
    """Whole numbers are byte/int/long, any blank or "." makes them float, spaces around numbers are
    ignored, a literal nan or a date makes a string, a repeated name is v# (# its column); tabs are
    found."""
    (tmp_path / "t.csv").write_text(
        "a,b,c,c,d,e,f\n"
        "1,1.5,.,x, 2 ,nan,2020-01-01\n"
        "200,2,3,y,3,1,2020-01-02\n"
        "70000,,4,z,4,2,2020-01-03\n")
    s, _ = _session(tmp_path)
    assert run_line(s, "import delimited t.csv") == 0
    d = s.data
    assert list(d.columns) == ["a", "b", "c", "v4", "d", "e", "f"]
    assert [storage_type(d[c]) for c in d] == ["long", "float", "float", "str1", "byte", "str3",
                                               "str10"]
    assert np.isnan(d["b"][2]) and np.isnan(d["c"][0]) and d["d"].tolist() == [2, 3, 4]
    assert d["b"][0] == 1.5
    (tmp_path / "t.tsv").write_text("x\ty\n1\t0.1\n2\t0.2\n")
    assert run_line(s, "import delimited t.tsv, clear asdouble") == 0
    assert s.data["y"].tolist() == [0.1, 0.2] and storage_type(s.data["x"]) == "byte"
    assert s.data["y"].dtype == np.float64


def test_import_delimited_skips_a_byte_order_mark(tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfid,v\n1,2.5\n2,3.5\n")
    s, _ = _session(tmp_path)
    assert run_line(s, "import delimited bom.csv") == 0
    assert list(s.data.columns) == ["id", "v"] and s.data["id"].tolist() == [1, 2]


def test_import_delimited_unreadable_is_603(tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    s, _ = _session(tmp_path)
    assert run_line(s, "import delimited bin.csv") == 603
    assert s.nobs == 0


@pytest.mark.parametrize("rows", [1, 3])
def test_import_delimited_float_rounding_matches_stata(tmp_path, rows):
    """Decimals are held at single precision (a one-column file is one column, not split)."""
    (tmp_path / "f.csv").write_text("v\n" + "\n".join(["0.1", "2.675", "-1e-3"][:rows]) + "\n")
    s, _ = _session(tmp_path)
    assert run_line(s, "import delimited f.csv") == 0
    want = np.array([0.1, 2.675, -1e-3][:rows], dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(s.data["v"].to_numpy(), want)
