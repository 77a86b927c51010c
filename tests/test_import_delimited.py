"""``import delimited`` keeps every column and every value, and says what it renamed (issue 12,
item 4): a one-column file, headers that collide after lower-casing or truncation, reserved names,
integers beyond the long range, a byte order mark, control characters in values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.data.files import storage_type
from runner import runner


@pytest.fixture
def run(tmp_path: Path):
    run = runner(cwd=tmp_path)
    run.folder = tmp_path
    return run


def _import(run, text: str | bytes, options: str = "", rc: int = 0) -> list[str]:
    path = run.folder / "f.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return run(f"import delimited f.csv, clear {options}", rc=rc).splitlines()


def test_a_one_column_file_is_one_column(run):
    assert _import(run, "score\n1\n2\n3\n") == ["(1 var, 3 obs)"]
    assert run.session.variables == ["score"]
    assert run.session.data["score"].tolist() == [1, 2, 3]


def test_headers_that_collide_after_lower_casing_are_named_by_their_column(run):
    assert _import(run, "X,x\n1,2\n") == ["(column 2, x: name x already used; named v2)",
                                          "(2 vars, 1 obs)"]
    assert run.session.variables == ["x", "v2"]
    assert run.session.data.iloc[0].tolist() == [1, 2]
    assert run.session.var_labels == {"v2": "x"}


def test_case_preserve_keeps_both(run):
    assert _import(run, "X,x\n1,2\n", "case(preserve)") == ["(2 vars, 1 obs)"]
    assert run.session.variables == ["X", "x"]


def test_headers_that_collide_after_truncation_to_32_characters(run):
    stem = "a" * 31
    out = _import(run, f"{stem}xx1,{stem}xx2,{stem}x\n1,2,3\n")
    assert out == [f"(column 2, {stem}xx2: name {stem}x already used; named v2)",
                   f"(column 3, {stem}x: name {stem}x already used; named v3)",
                   "(3 vars, 1 obs)"]
    assert run.session.variables == [stem + "x", "v2", "v3"]
    assert run.session.data.iloc[0].tolist() == [1, 2, 3]
    assert run.session.var_labels == {"v2": stem + "xx2", "v3": stem + "x"}


def test_a_generated_name_that_a_header_took_already(run):
    assert _import(run, "v2,A,a\n1,2,3\n")[0] == "(column 3, a: name a already used; named v3)"
    assert _import(run, "v3,A,a\n1,2,3\n")[0] == "(column 3, a: name a already used; named v3_2)"
    assert run.session.variables == ["v3", "a", "v3_2"]


def test_reserved_names_are_not_variable_names(run):
    out = _import(run, "_n,if,in,_cons,_all,ok\n1,2,3,4,5,6\n")
    assert out == ["(column 1, _n: a reserved name; named v1)",
                   "(column 2, if: a reserved name; named v2)",
                   "(column 3, in: a reserved name; named v3)",
                   "(column 4, _cons: a reserved name; named v4)",
                   "(column 5, _all: a reserved name; named v5)",
                   "(6 vars, 1 obs)"]
    assert run.session.variables == ["v1", "v2", "v3", "v4", "v5", "ok"]
    assert run("list v1 v3 ok").splitlines()[4] == " 1. |  1    3    6 |"
    assert run("di v1 + v3") == "4\n"


def test_a_header_that_is_no_name(run):
    assert _import(run, "1990,id\n5,6\n") == ["(column 1, 1990: not a valid name; named v1)",
                                              "(2 vars, 1 obs)"]
    assert run.session.var_labels == {"v1": "1990"}


def test_integers_beyond_the_long_range_are_doubles_and_distinct(run):
    assert _import(run, "id,v\n3000000001,1\n3000000002,2\n3000000003,3\n") == ["(2 vars, 3 obs)"]
    assert storage_type(run.session.data["id"]) == "double"
    assert run.session.data["id"].tolist() == [3000000001, 3000000002, 3000000003]
    run("egen g = group(id)")
    assert run.session.data["g"].tolist() == [1, 2, 3]
    assert run("di %12.0f id[3]") == "  3000000003\n"


def test_big_integers_with_a_missing_value_stay_exact(run):
    _import(run, "id,v\n3000000001,1\n,2\n3000000003,3\n")
    values = run.session.data["id"].to_numpy()
    assert values[0] == 3000000001 and np.isnan(values[1]) and values[2] == 3000000003


def test_integers_within_the_long_range_stay_long(run):
    _import(run, "id\n2147483620\n-5\n")
    assert storage_type(run.session.data["id"]) == "long"


def test_a_byte_order_mark_is_not_part_of_the_first_name(run):
    assert _import(run, b"\xef\xbb\xbfid,v\n1,2\n") == ["(2 vars, 1 obs)"]
    assert run.session.variables == ["id", "v"]


@pytest.mark.parametrize("option", ['delimiters("")', 'delimiters(";,")'])
def test_delimiters_must_be_one_character(run, option):
    run("set obs 2")
    run("gen keep = 1")
    before = run.session.data.copy()
    assert _import(run, "a,b\n1,2\n", option, rc=198) == ["delimiters() invalid", "r(198);"]
    pd.testing.assert_frame_equal(run.session.data, before)


def test_an_empty_file_cannot_be_read(run):
    assert _import(run, "", rc=603) == ["file f.csv could not be read", "r(603);"]
    assert run.session.nobs == 0


def test_control_characters_in_values_are_printed_escaped(run):
    _import(run, 'name,v\n"\x1b]2;pwned\x07",1\n"\x1b[2J",2\n')
    out = run("list")
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]2;pwned\\x07" in out and "\\x1b[2J" in out
    assert run("di name[2]") == "\\x1b[2J\n"
    assert run.session.data["name"].tolist() == ["\x1b]2;pwned\x07", "\x1b[2J"]


def test_a_value_past_the_first_block_that_breaks_its_types_is_read_whole(run):
    """The streaming reader types each column from its first 16 MiB block; a later text or
    fractional value makes the file be read again whole, typed from all its rows."""
    n = 800_000                                     # ~20 MB: past the first block
    body = "\n".join(f"{i},{i % 7},{i % 5},{i * 1_000_003}" for i in range(1, n))
    body += f"\n{n},abc,2.5,1\n"
    path = run.session.cwd / "big.csv"
    path.write_text("id,code,score,wide\n" + body)
    assert path.stat().st_size > 1 << 24
    run("import delimited big.csv")
    data = run.session.data
    assert len(data) == n and data["id"].iloc[-1] == n
    assert storage_type(data["code"]) == "str3" and data["code"].iloc[-1] == "abc"
    assert data["code"].iloc[0] == "1"
    assert storage_type(data["score"]) == "float" and data["score"].iloc[-1] == 2.5
    assert data["score"].iloc[:5].tolist() == [1, 2, 3, 4, 0]
