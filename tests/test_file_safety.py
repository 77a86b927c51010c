"""Nothing lost on disk: a failed write leaves the old file as it was (issue 12, item 1).

Every file the shell writes (save, export delimited, log using, graph export/save) goes through
hlmshell.data.atomic: a temporary file in the target folder, fsync, rename.  These tests make the
write fail every way a user can — an empty dataset, a full disk, a file-size limit, Ctrl-C, a
killed process, a FIFO, a name the system cannot hold — and check that the old file still loads.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hlmshell.data import atomic
from hlmshell.data.files import read_dta
from runner import runner
from test_cli import hlmshell_command


def _old_file(tmp_path: Path) -> tuple:
    """keep.dta holding two observations of x, and a session in tmp_path."""
    run = runner(cwd=tmp_path)
    run("set obs 2")
    run("gen x = _n")
    run("save keep")
    return run, (tmp_path / "keep.dta").read_bytes()


def _no_temporaries(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("setup", [["clear"], ["clear", "set obs 5"]])
def test_save_of_no_variables_is_refused_and_keeps_the_file(tmp_path, setup):
    run, before = _old_file(tmp_path)
    for line in setup:
        run(line)
    out = run("save keep, replace", rc=111)
    assert out.splitlines() == ["no variables defined", "r(111);"]
    assert (tmp_path / "keep.dta").read_bytes() == before
    _no_temporaries(tmp_path)


def test_a_full_disk_during_save_keeps_the_old_file(tmp_path, monkeypatch):
    run, before = _old_file(tmp_path)
    run("set obs 50")
    real_write = atomic.os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    out = run("save keep, replace", rc=699)
    assert out.splitlines() == ["insufficient disk space", "r(699);"]
    monkeypatch.setattr(atomic.os, "fsync", real_write)
    assert (tmp_path / "keep.dta").read_bytes() == before
    assert run.session.changed            # the data were not saved
    _no_temporaries(tmp_path)


def test_ctrl_c_during_export_keeps_the_old_file(tmp_path, monkeypatch):
    run = runner(cwd=tmp_path)
    run("set obs 3")
    run("gen x = _n")
    (tmp_path / "out.csv").write_text("old\n")

    def interrupted(self, handle, *args, **kwargs):
        handle.write("x\n1\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    out = run("export delimited using out.csv, replace", rc=1)
    assert "--Break--" in out
    assert (tmp_path / "out.csv").read_text() == "old\n"
    _no_temporaries(tmp_path)


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _cli(args: list[str], cwd: Path, limit: int | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*hlmshell_command(), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=None if limit is None else _limit_file_size(limit), **kwargs)


def test_a_file_size_limit_during_save_keeps_the_old_file(tmp_path):
    """``ulimit -f``: the new file would be larger than allowed; the write fails with EFBIG."""
    run, before = _old_file(tmp_path)
    proc = _cli(["-e", "set obs 100000", "-e", "gen double x = _n", "-e", "save keep, replace",
                 "-e", "di 1"], tmp_path, limit=64_000)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 255, out         # r(693) does not fit an exit status
    assert "file keep.dta could not be written: file I/O error on write\nr(693);" in out
    assert (tmp_path / "keep.dta").read_bytes() == before
    _no_temporaries(tmp_path)


def _kill_mid_save(tmp_path: Path, sig: int) -> subprocess.Popen:
    """Start a large save over keep.dta and send ``sig`` once its temporary file has data."""
    proc = _cli(["-e", "set obs 2000000", "-e", "gen double a = runiform()",
                 "-e", "gen double b = -a", "-e", "save keep, replace"], tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".keep.dta.")]
        if temps and temps[0].stat().st_size > 0:
            proc.send_signal(sig)
            return proc
        time.sleep(0.001)
    proc.kill()
    pytest.fail("the save never started writing")


def test_sigkill_during_a_large_save_leaves_the_old_file_loadable(tmp_path):
    run, before = _old_file(tmp_path)
    proc = _kill_mid_save(tmp_path, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "keep.dta").read_bytes() == before
    run("use keep, clear")
    assert run.session.data["x"].tolist() == [1, 2]


def test_sigint_during_a_large_save_breaks_and_keeps_the_old_file(tmp_path):
    _, before = _old_file(tmp_path)
    proc = _kill_mid_save(tmp_path, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert "--Break--\nr(1);" in out
    assert (tmp_path / "keep.dta").read_bytes() == before
    _no_temporaries(tmp_path)


class _Alarm(BaseException):
    pass


@pytest.fixture
def no_blocking():
    """Fail (rather than hang) if a command waits more than 10 seconds."""
    def ring(*_):
        raise _Alarm
    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("line, shown", [
    ("save fifo.dta, replace", "fifo.dta"),
    ("export delimited using fifo.dta, replace", "fifo.dta"),
    ("log using fifo.dta, replace", "fifo.dta"),
])
def test_writing_to_a_fifo_is_refused_at_once(tmp_path, no_blocking, line, shown):
    os.mkfifo(tmp_path / "fifo.dta")
    run = runner(cwd=tmp_path)
    run("set obs 1")
    run("gen x = 1")
    assert run(line, rc=603).splitlines() == [f"file {shown} could not be opened", "r(603);"]
    assert (tmp_path / "fifo.dta").is_fifo()
    assert run.session.out.logs == {}


def test_a_save_through_a_symbolic_link_replaces_the_linked_file(tmp_path):
    run, _ = _old_file(tmp_path)
    (tmp_path / "link.dta").symlink_to(tmp_path / "keep.dta")
    os.chmod(tmp_path / "keep.dta", 0o640)
    run("replace x = 10*x")
    run("save link, replace")
    assert (tmp_path / "link.dta").is_symlink()
    assert read_dta(tmp_path / "keep.dta").data["x"].tolist() == [10, 20]
    assert oct((tmp_path / "keep.dta").stat().st_mode & 0o777) == oct(0o640)


@pytest.mark.parametrize("line, rc", [
    ("save {name}", 603), ("use {name}, clear", 603), ("log using {name}", 603),
    ("export delimited using {name}", 603), ("import delimited using {name}, clear", 603),
    ("do {name}", 603),
])
def test_file_names_the_system_cannot_hold(tmp_path, line, rc):
    run = runner(cwd=tmp_path)
    run("set obs 1")
    run("gen x = 1")
    name = "x" * 300
    assert run(line.format(name=name), rc=rc).splitlines()[-1] == f"r({rc});"
    assert list(tmp_path.iterdir()) == []


def test_log_using_replace_keeps_the_old_log_until_it_is_closed(tmp_path):
    (tmp_path / "x.log").write_text("old log\n")
    run = runner(cwd=tmp_path)
    run("log using x, replace")
    run('di "new"')
    assert (tmp_path / "x.log").read_text() == "old log\n"
    run("log close")
    assert "new" in (tmp_path / "x.log").read_text()
    _no_temporaries(tmp_path)


def test_log_append_adds_to_the_old_log(tmp_path):
    (tmp_path / "x.log").write_text("old log\n")
    run = runner(cwd=tmp_path)
    run("log using x, append")
    run('di "more"')
    run("log close")
    text = (tmp_path / "x.log").read_text()
    assert text.startswith("old log\n") and "\nmore\n" in text


def test_a_log_that_cannot_be_written_is_closed_and_the_session_carries_on(tmp_path, monkeypatch):
    (tmp_path / "x.log").write_text("old log\n")
    run = runner(cwd=tmp_path)
    run("log using x, replace")

    def full(self, text):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(atomic.AtomicFile, "write", full)
    out = run("di 1", rc=693)
    assert out.splitlines()[-3:] == [
        "file x.log could not be written: file I/O error on write",
        "(log <unnamed> closed; x.log left as it was)", "r(693);"]
    assert run.session.out.logs == {}
    assert run("di 2") == "2\n"
    assert run("log close", rc=606)
    assert (tmp_path / "x.log").read_text() == "old log\n"
    _no_temporaries(tmp_path)


def test_a_log_over_a_file_size_limit_stops_the_do_file_and_keeps_the_old_log(tmp_path):
    (tmp_path / "x.log").write_text("old log\n")
    (tmp_path / "big.do").write_text('log using x.log, replace\nuse hsb\nlist in 1/600\n'
                                     'di "after"\n')
    proc = _cli(["big.do"], tmp_path, limit=30_000)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in out + err
    assert "file x.log could not be written: file I/O error on write\n" \
           "(log <unnamed> closed; x.log left as it was)\nr(693);" in out
    assert '. di "after"' not in out
    assert proc.returncode == 255
    assert (tmp_path / "x.log").read_text() == "old log\n"


def test_graph_export_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    from hlmshell.render.graph import draw

    run = runner(cwd=tmp_path)
    run("set obs 3")
    run("gen x = _n")
    run("gen y = x^2")
    run("scatter y x")
    (tmp_path / "g.png").write_bytes(b"old")

    def broken(graph, handle, fmt, **kwargs):
        handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(draw, "export", broken)
    assert run("graph export g.png, replace", rc=699).splitlines()[0] == "insufficient disk space"
    assert (tmp_path / "g.png").read_bytes() == b"old"
    _no_temporaries(tmp_path)


def test_a_parquet_save_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    from pyarrow import parquet as pq

    run, _ = _old_file(tmp_path)
    run("save keep.parquet")
    before = (tmp_path / "keep.parquet").read_bytes()

    def broken(table, where, **kwargs):
        where.write(b"PAR1 partial")
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(pq, "write_table", broken)
    out = run("save keep.parquet, replace", rc=693)
    assert out.splitlines()[0] == "file keep.parquet could not be written: file I/O error on write"
    assert (tmp_path / "keep.parquet").read_bytes() == before
    _no_temporaries(tmp_path)


def test_save_of_a_number_beyond_statas_largest_double(tmp_path):
    run = runner(cwd=tmp_path)
    run("set obs 2")
    run("gen double x = 8.9e307")
    run("replace x = 1e308 in 2")     # above 8.988e307: missing, as in Stata
    run("save big")
    data = read_dta(tmp_path / "big.dta").data
    assert data["x"].iloc[0] == 8.9e307 and pd.isna(data["x"].iloc[1])


if sys.platform != "linux":         # RLIMIT_FSIZE and FIFOs as Linux has them
    pytestmark = pytest.mark.skip("Linux only")
