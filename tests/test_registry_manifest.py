"""The cached manifest of declarations (hlmshell/shell/manifest.py): the registry it rebuilds is the
one the command modules declare, it is used only while current, and with it a session starts
without importing the command modules (issue 7, start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hlmshell.shell import manifest
from hlmshell.shell.registry import LazyFunction, Registry, declared_specs


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HLMSHELL_CACHE", str(tmp_path))
    return tmp_path


FIELDS = ("syntax", "summary", "byable", "aliases", "parent", "subcommand_error", "subcommand_rc",
          "otherwise", "block")


def test_the_manifest_rebuilds_every_declared_spec(cache):
    declared = declared_specs()
    manifest.save(declared)
    loaded = manifest.load()
    assert loaded is not None and len(loaded) == len(declared) > 150
    for want, got in zip(declared, loaded):
        assert got.pattern == want.pattern
        assert [getattr(got, f) for f in FIELDS] == [getattr(want, f) for f in FIELDS]
        if want.fn is None:
            assert got.fn is None
        else:
            assert isinstance(got.fn, LazyFunction) and got.fn.resolve() is want.fn
        if want.requires is not None:
            assert got.requires.resolve() is want.requires
        assert got.declaration.usage() == want.declaration.usage()


def test_a_registry_from_the_manifest_finds_commands_and_subcommands(cache):
    manifest.save(declared_specs())
    registry = Registry(manifest.load())
    assert registry.lookup("xtmixed").name == "xtmixed"
    assert registry.lookup("su").name == "summarize"
    assert registry.lookup("estat").subcommand("ic").name == "ic"
    assert registry.names() == Registry(declared_specs()).names()


def test_an_out_of_date_or_damaged_manifest_is_not_used(cache, monkeypatch):
    manifest.save(declared_specs())
    path = next(cache.glob("commands-*.json"))
    stored = json.loads(path.read_text())
    stored["fingerprint"][1][1] += 1           # a command file of another size
    path.write_text(json.dumps(stored))
    assert manifest.load() is None
    path.write_text("{not json")
    assert manifest.load() is None
    assert Registry.standard().lookup("regress").name == "regress"   # rebuilt and rewritten
    assert manifest.load() is not None


def test_an_unwritable_cache_folder_still_gives_the_commands(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("HLMSHELL_CACHE", str(blocker / "sub"))
    assert Registry.standard().lookup("mixed").name == "mixed"
    assert manifest.load() is None


PROBE = ("import sys; from hlmshell.shell.cli import main; main(['-e', 'di 1+1']); "
         "print(sorted(m for m in sys.modules if m.startswith(('hlmshell.commands.estimation', "
         "'hlmshell.commands.data', 'hlmshell.results.me', 'hlmshell.model.multilevel'))))")


def test_a_second_start_imports_no_command_module_it_does_not_run(cache):
    env = {"HLMSHELL_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                           check=True).stdout.splitlines()
    second = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                            check=True).stdout.splitlines()
    assert first[-2] == second[-2] == "2"
    assert "hlmshell.commands.estimation.mixed" in first[-1]        # the first start declared all
    assert second[-1] == "[]"
