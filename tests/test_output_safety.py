"""The output layer cannot end the session (issue 12, item 3).

A terminal that cannot be written (stdout to /dev/full, a closed pipe), an encoding that cannot show
a character (PYTHONIOENCODING=ascii), bytes that are not UTF-8 on the command line, on standard input
or in a do-file: no traceback, a Stata-style message, the session carries on.  Control characters
from the data are printed escaped, so a value cannot retitle or clear the terminal.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pandas as pd

from hlmshell.shell.dispatcher import run_line
from hlmshell.lang.printable import printable
from hlmshell.shell.output import Output, _console
from hlmshell.shell.session import Session
from runner import runner
from test_cli import hlmshell_command


def _cli(args: list[str], cwd: Path, *, stdin: bytes | None = None, env: dict | None = None,
         stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([*hlmshell_command(), *args], cwd=cwd, input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=120,
                          env={**os.environ, **(env or {})})


def test_control_characters_from_data_are_escaped():
    data = pd.DataFrame({"s": ["\x1b]2;pwned\x07", "\x1b[2J", "ok\tx"]})
    run = runner(data=data)
    out = run("list s")
    assert "\x1b" not in out and "\x07" not in out and "\t" not in out
    assert "\\x1b]2;pwned\\x07" in out and "\\x1b[2J" in out and "ok\\x09x" in out
    assert run('di s[1]') == "\\x1b]2;pwned\\x07\n"
    # the column is as wide as the escaped text: every line of the box has one width
    box = [line for line in out.splitlines() if line.strip()]
    assert len(box) == 7 and len({len(line) for line in box}) == 1


def test_printable_keeps_newlines_and_text():
    assert printable("a\nb é ☃") == "a\nb é ☃"
    assert printable("\x00\x7f\x9b") == "\\x00\\x7f\\x9b"


def test_a_log_gets_the_escaped_text_too(tmp_path):
    run = runner(cwd=tmp_path, data=pd.DataFrame({"s": ["\x1b[2J"]}))
    run("log using x")
    run("list s")
    run("log close")
    text = (tmp_path / "x.log").read_text()
    assert "\x1b" not in text and "\\x1b[2J" in text


class _Full(io.TextIOBase):
    """A stream like /dev/full: every write fails."""

    encoding = "utf-8"

    def write(self, text):
        raise OSError(28, "No space left on device")


def test_a_terminal_that_cannot_be_written_fails_the_command_and_the_session_carries_on(tmp_path):
    out = Output(console=_console(_Full()))
    session = Session(out=out, cwd=tmp_path)
    assert run_line(session, "di 1") == 693
    assert not out.terminal
    assert run_line(session, "set obs 3") == 0       # carries on, output to the logs only
    assert session.nobs == 3
    run_line(session, "log using x")
    run_line(session, 'di "to the log"')
    run_line(session, "log close")
    assert "to the log" in (tmp_path / "x.log").read_text()


def test_stdout_to_dev_full_in_batch(tmp_path):
    with open("/dev/full", "w") as full:
        proc = _cli(["-e", "di 1", "-e", "di 2"], tmp_path, stdout=full)
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "standard output could not be written" in err
    assert proc.returncode == 255                     # r(693)


def test_an_ascii_terminal_shows_escapes(tmp_path):
    proc = _cli(["-e", 'di "é"', "-e", "di 2"], tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("ascii").splitlines() == ['. di "\\xe9"', "\\xe9", ". di 2", "2"]


def test_invalid_utf8_on_the_command_line(tmp_path):
    proc = _cli([b"-e", b'di "\xff"', b"-e", b"di 3"], tmp_path)  # type: ignore[list-item]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").splitlines() == ['. di "\ufffd"', "\ufffd", ". di 3", "3"]


def test_invalid_utf8_on_standard_input(tmp_path):
    proc = _cli([], tmp_path, stdin=b'di "\xff\xfe"\ndi 4\n')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").splitlines()[-2:] == [". di 4", "4"]
    assert b"Traceback" not in proc.stderr


def test_invalid_utf8_in_a_do_file(tmp_path):
    (tmp_path / "bad.do").write_bytes(b'di "\xff"\nlog using x\ndi "\xfe"\nlog close\ndi 5\n')
    proc = _cli(["bad.do"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").splitlines()[-4:] == [". di 5", "5", "", "end of do-file"]
    assert "\ufffd" in (tmp_path / "x.log").read_text(encoding="utf-8")


def test_a_lone_surrogate_is_written_as_an_escape(tmp_path):
    buf = io.StringIO()
    out = Output(console=_console(buf))
    session = Session(out=out, cwd=tmp_path)
    run_line(session, "log using x")
    out.emit("a\udcffb")
    run_line(session, "log close")
    assert "a\\udcffb" in buf.getvalue()
    assert "a\\udcffb" in (tmp_path / "x.log").read_text()
