"""``capture`` catches errors in reading the line too, and ``preserve`` ends with its do-file
(issue 12, item 5)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runner import runner


@pytest.fixture
def run(tmp_path: Path):
    run = runner(cwd=tmp_path, data=pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}))
    run.folder = tmp_path
    return run


def _do(run, text: str, rc: int = 0) -> list[str]:
    (run.folder / "f.do").write_text(text)
    return run("do f", rc=rc).splitlines()


def test_capture_of_a_line_that_is_no_command_lets_the_do_file_go_on(run):
    assert _do(run, 'capture (\ndi "reached"\ndi _rc\n') == [
        ". capture (", '. di "reached"', "reached", ". di _rc", "199", "", "end of do-file"]


@pytest.mark.parametrize("line, rc", [("capture (", 199), ("capture ☃mixed y x || id:", 199),
                                      ("capture by x", 198), ("cap by x, bogus: list", 198)])
def test_capture_keeps_the_return_code_of_a_line_it_cannot_read(run, line, rc):
    assert run(line) == ""
    assert run.session.rc == rc


def test_capture_noisily_shows_the_message_without_the_return_code(run):
    assert run("capture noisily ☃mixed y x || id:") == "☃mixed is not a valid command name\n"
    assert run.session.rc == 199


def test_without_capture_the_line_fails(run):
    assert run("☃mixed y x", rc=199) == "☃mixed is not a valid command name\nr(199);\n"


def test_preserve_in_a_do_file_is_restored_when_it_ends(run):
    _do(run, "preserve\ndrop in 1/3\nreplace x = -x\n")
    assert run.session.data["x"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert run.session.preserved is None
    assert run("restore", rc=622) == "nothing to restore\nr(622);\n"


def test_preserve_in_a_do_file_that_fails_is_restored(run):
    lines = _do(run, "preserve\ndrop in 1/3\nnosuchcommand\n", rc=199)
    assert lines[-1] == "r(199);"
    assert run.session.data["x"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert run.session.preserved is None


def test_preserve_in_a_program_is_restored_when_it_ends(run):
    _do(run, "program define shrink\n    preserve\n    keep in 1\n    di _N\nend\n")
    assert run("shrink") == "(3 observations deleted)\n1\n"
    assert run.session.nobs == 4


def test_a_do_file_that_restores_itself_keeps_what_it_did_after(run):
    _do(run, "preserve\ndrop in 1/3\nrestore\ndrop in 1\n")
    assert run.session.data["x"].tolist() == [2.0, 3.0, 4.0]


def test_a_preserve_made_at_the_prompt_outlives_a_do_file(run):
    run("preserve")
    _do(run, "drop in 1/2\n")
    assert run.session.nobs == 2
    run("restore")
    assert run.session.nobs == 4
