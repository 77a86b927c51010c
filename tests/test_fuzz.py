"""Hostile command lines: never an internal error, a traceback or a hang; a failure changes nothing.

A seeded generator writes lines over the real grammar: every command and subcommand of the
registry with the elements and options its declaration names (options typed in full or
abbreviated, with arguments of their kind and hostile ones), factor-variable notation, ``||``
levels, expressions over every expression function, quotes, unicode, long and repeated tokens,
and random text.  Each line runs on a fresh session (the small data set, or after ``mixed y x ||
id:``), and for each the test asserts:

- no r(9999) (the dispatcher's code for a bug in a command) and no Python error text;
- a failure prints its ``r(#);`` (unless captured);
- the time bound (:data:`SECONDS` per line);
- after a failure, the data (values, types, names, labels, keys) and the stored results (e(), r(),
  estimates, scalars, matrices, macros) are what they were.

:data:`CHUNKS` x :data:`LINES_PER_CHUNK` lines (10,000) run in CI.  Commands that would leave the
shell, change the directory or write outside the session's folder are not generated.
``python tests/test_fuzz.py [N] [seed]`` lists every distinct problem of N lines instead of
stopping at the first.
"""

from __future__ import annotations

import random
import re
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from hlmshell.errors import StataError
from hlmshell.lang import expr
from hlmshell.lang.command import CommandLineError, parse_command
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.registry import CommandSpec, Registry
from hlmshell.shell.session import RESTORED_ON_ERROR, Session

CHUNKS = 10
LINES_PER_CHUNK = 1000
SECONDS = 2.0           # the time bound of one line (a fit on 12 observations takes milliseconds)
HANG = 20               # a line still running after this long is stopped and reported as a hang

WORKDIR = Path(tempfile.mkdtemp(prefix="hlmshell-fuzz-"))
COMMANDS = Registry.standard()

# Leaving the shell or the script, changing folder, writing files (their safety is
# tests/test_file_safety.py's), waiting for the user.
EXCLUDED = {"exit", "cd", "log", "save", "export", "pause", "graph export", "graph save",
            "estimates save"}

VARIABLES = ["id", "x", "y", "g", "s"]
VARS = VARIABLES + ["x*", "_all", "x-y", "id-g", "nosuch", "X", "_n", "_N", "_cons", "z", "g?",
                    "i.g", "c.x", "ib2.g", "ibn.g", "i.g#c.x", "g##c.x", "i(1 2).g", "ib(last).g",
                    "0b.g", "o.x", "L.x", "i.nosuch", "c.s", "i.s", "i.x", "#", "##", "i..g"]
NUMBERS = ["0", "1", "-1", "2", "2.5", "12", "13", "50", "95", "100", "101", "1e300", "1e309",
           "-1e309", ".", ".a", ".z", "nan", "inf", "-inf", "999999999999999999999", "1e10",
           "2147483621", "-2147483648", "0.5", "1e-300", "3e9", "-0", "0x10", "1,000", "1.", ".5"]
STRINGS = ['"abc"', '""', '"é☃"', '`"compound "quote""\'', '"\x1b[2J"', '"\x1b]2;t\x07"', '"a b"',
           '"%9.2f"', '"unterminated', "'", "`", "`x'", "$x", "${x}", '"\\"', '"' + "q" * 300 + '"']
FORMATS = ["%9.2f", "%9.0g", "%-12s", "%td", "%999999999.0f", "%0.0f", "%20.15e", "%tc",
           "%9.99999f", "%s", "%", "%5,2f"]
UNICODE = ["é", "☃", "日本語", "\u200b", "🙂", "שלום", "\ufeff", "\u0301", "Ⅻ", "ß", "\x00", "\x7f",
           "\ud800"]
FUNCTIONS = sorted(set(expr._MATH) | set(expr._STRING)) + [
    "runiform", "rnormal", "missing", "cond", "inlist", "inrange", "max", "min", "sum", "mean",
    "group", "tag", "total", "count", "sd", "rank", "I", "J", "nosuch", "e", "r", "el", "colsof",
    "rowsof", "_b", "_se", "strmatch", "regexm", "char", "uchar", "date", "mdy"]
LEVELS = ["|| id:", "|| g:", "|| _all: R.g", "|| id: x", "|| id: x, cov(un)", "|| id: x, nocons",
          "|| id: || g:", "|| nosuch:", "||", "|| :", "|| id: R.x", "|| _all: R.id || g:",
          "|| id: c.x", "|| id: i.g", "|| g: x, cov(bogus)", "|| id:, cov(ex)", "|| s:",
          "|| id: _cons", "|| id: x, cov(id) nocons"]
PREFIXES = ["quietly ", "capture ", "noisily ", "capture noisily ", "by g: ", "bysort id: ",
            "by g, sort: ", "bysort g (x): ", "qui cap ", "by nosuch: ", "version 11: ", "by : ",
            "cap by g: ", "by g, rc0: "]
PUNCT = ['"', "(", ")", "[", "]", ",", "{", "}", ";", ".", "..", "\\", "=", "==", "&", "|", "!",
         "+", "-", "*", "/", "^", "#", "##", ":", "||", "/*", "*/", "//", "///", "`", "'", "$", "~"]


def _specs() -> list[tuple[str, CommandSpec]]:
    """Every command and subcommand the registry declares, with the words that name it."""
    found = []
    for _, spec in COMMANDS._commands.items():
        if spec.fn is not None or spec.syntax:
            found.append((spec.name, spec))
        for _, sub in spec.subcommands.items():
            found.append((f"{spec.name} {sub.name}", sub))
    return [(name, spec) for name, spec in found if name not in EXCLUDED
            and name.split()[0] not in EXCLUDED]


SPECS = _specs()


class Generator:
    """Lines from one seeded random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.commands: set[str] = set()             # what was generated, for the coverage test
        self.options: set[tuple[str, str]] = set()

    def pick(self, items: list[Any]) -> Any:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- pieces -------------------------------------------------------------------------------
    def word(self, name: str, minlen: int = 1) -> str:
        """A name as typed: in full, abbreviated, or in capitals."""
        roll = self.rng.random()
        if roll < 0.6 or minlen >= len(name):
            return name
        if roll < 0.9:
            return name[:self.rng.randint(minlen, len(name))]
        return name.upper()

    def long_token(self) -> str:
        piece = self.pick(["x", "(", "-", "1", "é", "a ", "_", "||", '"', "i.", "1+"])
        return piece * self.rng.choice([33, 100, 300, 1000, 3000])

    def expression(self, depth: int = 0) -> str:
        roll = self.rng.random()
        if depth > 3 or roll < 0.35:
            return self.pick(VARIABLES + NUMBERS + STRINGS[:4] + [
                "_n", "_N", "_pi", "_b[x]", "_se[_cons]", "_b[nosuch]", "e(N)", "e(ll)", "r(mean)",
                "b0[1,1]", "b0[1,1e309]", "x[_n-1]", "x[0]", "s[3]", "c(N)", "e(b)", "_rc"])
        if roll < 0.55:
            return f"{self.expression(depth + 1)}{self.pick(list(expr._BINARY))}" \
                   f"{self.expression(depth + 1)}"
        if roll < 0.65:
            return f"{self.pick(['-', '!', '~', '('])}{self.expression(depth + 1)}" \
                   f"{')' if self.chance(0.5) else ''}"
        args = ",".join(self.expression(depth + 1) for _ in range(self.rng.randint(0, 3)))
        return f"{self.pick(FUNCTIONS)}({args}{')' if self.chance(0.9) else ''}"

    def argument(self, kind: str) -> str:
        """An option's argument of its declared kind, or a hostile one."""
        if self.chance(0.15):
            return self.pick(NUMBERS + STRINGS + UNICODE + VARS + [""])
        if kind in ("integer", "real"):
            return self.pick(NUMBERS)
        if kind == "cilevel":
            return self.pick(["95", "50", "99.9", "10", "101", "0", "nan", "-1", "1e309", "99.99"])
        if kind in ("varlist", "varname"):
            return " ".join(self.pick(VARS) for _ in range(self.rng.randint(1, 3)))
        if kind == "name":
            return self.pick(["m1", "a", "z", "_b", "x", "nosuch", "1a", "a" * 40])
        if kind == "numlist":
            return self.pick(["1/5", "1 2 3", "1(1)10", "10(-2)1", "1/1e9", "1(1)100000000",
                              "0(.1)1", "5/1", "1e309", ". 1"])
        return self.pick(FORMATS + NUMBERS[:6] + STRINGS + VARS[:6] + [
            "exchangeable", "un", "ind", "kroger", "satterthwaite", "mean x", "(mean) x",
            "x=1", "x=(1 2)", "asobserved", "i.g", "_all", "reml", "1, 2", ""])

    def option(self, spec: CommandSpec) -> str:
        options = spec.declaration.options
        if not options or self.chance(0.1):
            return self.pick(["nosuch", "detail", "clear", "replace", "level(95)", "gen(z)",
                              "cov(un)", "by(g)", "d(1)", "(", "x x", "nolog(1)"])
        opt = self.pick(list(options))
        name = opt.pattern.name
        self.options.add((self.command, name))
        if opt.negatable and self.chance(0.3):
            name = "no" + name
        typed = self.word(name, opt.pattern.minlen)
        if opt.kind == "flag":
            return typed + ("(1)" if self.chance(0.05) else "")
        if opt.bare and self.chance(0.3):
            return typed
        return f"{typed}({self.argument(opt.kind)})"

    def element(self, kind: str) -> str:
        if kind in ("varlist", "varname"):
            return " ".join(self.pick(VARS) for _ in range(self.rng.randint(1, 4)))
        if kind in ("newvarlist", "newvarname", "namelist", "name"):
            return " ".join(self.pick(["z", "w", "x", "_n", "1z", "z*", "double z", "m1", "a" * 33,
                                       "str5 z", "z1 z2", "é"])
                            for _ in range(self.rng.randint(1, 2)))
        if kind == "=exp":
            return "= " + self.expression()
        if kind == "if":
            return "if " + self.expression()
        if kind == "in":
            return "in " + self.pick(["1", "1/5", "-3/l", "f/l", "5/1", "0", "13", "2/", "l",
                                      "1e309", "-1", "1/1e10", "."])
        if kind == "using":
            return "using " + self.pick(["nosuch", "nosuch.dta", '"a b.csv"', "hsb", "x" * 300,
                                         "/dev/null", "..", "nosuch.parquet"])
        if kind == "filename":
            return self.pick(["nosuch", "hsb", "nosuch.csv", '""', "x" * 300, "/", "exam"])
        return self.anything()

    def anything(self) -> str:
        parts = [self.pick(VARS + NUMBERS + STRINGS + PUNCT + LEVELS + [self.expression()])
                 for _ in range(self.rng.randint(0, 6))]
        return " ".join(parts)

    # -- lines --------------------------------------------------------------------------------
    def declared(self) -> str:
        """A command as its declaration reads: elements, then options."""
        name, spec = self.pick(SPECS)
        self.command = name
        self.commands.add(name)
        words = name.split()
        head = " ".join(self.word(w) for w in words)
        decl = spec.declaration
        parts = [head]
        for element in decl.elements:
            if element.optional and self.chance(0.4):
                continue
            parts.append(self.element(element.kind))
        if decl.options or self.chance(0.2):
            parts.append(", " + " ".join(self.option(spec) for _ in range(self.rng.randint(1, 3))))
        line = " ".join(parts)
        return (self.pick(PREFIXES) + line) if self.chance(0.15) else line

    def model(self) -> str:
        """A mixed-model line: factor variables in the fixed part, ``||`` levels, options."""
        cmd = self.pick(["mixed", "xtmixed", "mixed", "melogit", "mepoisson", "meglm", "regress",
                         "xtreg", "logit", "mixed"])
        fixed = " ".join(self.pick(VARS) for _ in range(self.rng.randint(0, 3)))
        levels = " ".join(self.pick(LEVELS) for _ in range(self.rng.randint(0, 3)))
        opts = self.pick(["", ", reml", ", mle", ", nolog", ", variance", ", noconstant",
                          ", iterate(0)", ", iterate(1e309)", ", level(nan)", ", tolerance(inf)",
                          ", tolerance(1)", ", dfmethod(kroger)", ", dfm(sat)", ", cov(un)",
                          ", stddev noheader", ", bogus", ", ltol(0)", ", family(poisson)",
                          ", re", ", fe"])
        y = self.pick(["y", "y", "x", "g", "s", "nosuch", "i.g"])
        return f"{cmd} {y} {fixed} {levels}{opts}"

    def soup(self) -> str:
        pool = VARS + NUMBERS + STRINGS + PUNCT + UNICODE + LEVELS + PREFIXES + [
            name for name, _ in SPECS]
        tokens = [self.pick(pool) for _ in range(self.rng.randint(1, 12))]
        if self.chance(0.2):
            tokens.append(self.long_token())
        if self.chance(0.1):
            tokens = tokens * self.rng.randint(2, 50)
        return self.pick([" ", "", "  "]).join(tokens)

    def text(self) -> str:
        if self.chance(0.5):
            alphabet = [chr(c) for c in range(32, 127)]
        else:
            alphabet = UNICODE + ["a", " ", '"', "(", "é", "日", ","]
        return "".join(self.pick(alphabet) for _ in range(self.rng.randint(0, 60)))

    def line(self) -> str:
        roll = self.rng.random()
        if roll < 0.55:
            return self.declared()
        if roll < 0.7:
            return self.model()
        if roll < 0.8:
            return self.pick(["di ", "gen z = ", "replace x = ", "count if ", "assert ",
                              "scalar a = ", "matrix A = ", "local m = ", "egen z = ",
                              "list if ", "sum x if ", "di %9.2f "]) + self.expression()
        if roll < 0.93:
            return self.soup()
        return self.text()


# -- running a line -----------------------------------------------------------------------------
def _data() -> pd.DataFrame:
    return pd.DataFrame({
        "id": pd.array(["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"], dtype=object),
        "x": [0.5, -1.2, 0.3, 1.1, 0.0, 2.2, -0.7, 0.9, 1.4, -0.2, 0.6, np.nan],
        "y": [3.1, 2.0, 4.4, 5.2, 3.3, 6.1, 1.9, 4.0, 5.5, 2.7, 3.9, 4.2],
        "g": np.array([1, 1, 2, 2, 1, 2, 1, 2, 2, 1, 1, 2], dtype=np.int8),
        "s": pd.array(["u", "v", "", "w", "u", "v", "", "w", "u", "v", "w", "u"], dtype=object),
    })


class _Hang(BaseException):
    """Raised by the alarm in a line that runs too long (not an Exception: the dispatcher's
    catch-all lets it through)."""


def _alarm(*_: Any) -> None:
    raise _Hang


PYTHON_ERROR = re.compile(r"Traceback|^\w+(Error|Exception|Warning): |internal error", re.M)


WARM_UP = ["di normalden(1) + tden(1,1) + F(1,1,1) + invchi2(1,.5) + invttail(2,.1)",
           "quietly margins", "quietly estat wcorrelation", "quietly predict z, reffects",
           "quietly melogit g x || id:", "quietly mepoisson g x || id:", "quietly logit g x",
           "quietly xtset g", "quietly xtreg y x", "histogram x", "kdensity x", "scatter y x",
           "qnorm x", "tab g s, exact", "quietly nlcom _b[x]", "quietly lrtest m1 .",
           "quietly contrast g"]


class Bench:
    """Fresh sessions in two states (the small data set; after ``mixed y x || id:`` with
    ``estimates store m1`` and ``matrix b0 = (1,2)``), and the check of one line on one."""

    def __init__(self, registry: Registry = COMMANDS, *, warm: bool = True) -> None:
        self.registry = registry
        self.out, self.buf = capture_output()
        base = self._session()
        base.set_data(_data(), changed=False)
        base.var_labels = {"x": "a predictor", "y": "an outcome"}
        for line in ("label define yes 1 one 2 two", "label values g yes", "global x 1",
                     "matrix b0 = (1,2)", "scalar sc = 3"):
            assert run_line(base, line) == 0, self.buf.getvalue()
        self.plain = base.snapshot()
        for line in ("quietly mixed y x || id:", "estimates store m1", "quietly summarize x"):
            assert run_line(base, line) == 0, self.buf.getvalue()
        self.fitted = base.snapshot()
        self.data_signature = _signature(base)
        warming = self.session(fitted=True)   # the modules a first use imports, not timed later
        for line in WARM_UP if warm else []:
            run_line(warming, line)

    def _session(self) -> Session:
        return Session(out=self.out, cwd=WORKDIR, registry=self.registry)

    def session(self, fitted: bool) -> Session:
        s = self._session()
        snap = self.fitted if fitted else self.plain
        s.restore({k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in snap.items()})
        return s

    def check(self, line: str, fitted: bool) -> str | None:
        """Run ``line`` on a fresh session; what went wrong, or None."""
        s = self.session(fitted)
        before = _state(s), _stored(s)
        self.buf.seek(0)
        self.buf.truncate()
        start = time.perf_counter()
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(HANG)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rc = run_line(s, line)
        except _Hang:
            return f"still running after {HANG} s"
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        elapsed = time.perf_counter() - start
        text = self.buf.getvalue()
        failed = s.rc if _captured(line) else rc
        if PYTHON_ERROR.search(text):
            return f"Python error text in the output:\n{text}"
        if rc == 9999 or failed == 9999:
            return f"internal error r(9999):\n{text}"
        if rc and f"r({rc});" not in text.splitlines():
            return f"rc {rc} without an r({rc}); line:\n{text}"
        if elapsed > SECONDS:
            return f"took {elapsed:.1f} s (bound {SECONDS} s)"
        if failed and _state(s) != before[0]:
            return f"failed with r({failed}) but changed the data"
        if failed and _stored(s) != before[1]:
            return f"failed with r({failed}) but changed the stored results"
        return None

    def unchanged(self) -> bool:
        """Whether the frames every session starts from still hold what they held (no command
        changed one in place)."""
        return _signature(self.session(True)) == self.data_signature


def _captured(line: str) -> bool:
    """Whether the line runs under ``capture`` (its rc is then in session.rc)."""
    try:
        return parse_command(line).capture
    except CommandLineError as err:
        return err.command.capture


def _state(s: Session) -> tuple:
    """The data in memory, cheaply: the frame and keys by identity (a failure puts the same ones
    back; frames are replaced, not changed in place, which :meth:`Bench.unchanged` checks), the
    labels and sort order by value."""
    return (id(s.data), id(s.keys), dict(s.var_labels), repr(s.label_sets), dict(s.label_names),
            tuple(s.sortedby), s.changed, s.filename)


def _signature(s: Session) -> tuple:
    """The data in memory: names, storage, values, observation keys, labels, sort order."""
    data = s.data
    values = int(pd.util.hash_pandas_object(data, index=False).sum()) if len(data.columns) else 0
    return (tuple(data.columns), tuple(str(t) for t in data.dtypes), len(data), values,
            tuple(s.keys), dict(s.var_labels), repr(s.label_sets), dict(s.label_names),
            tuple(s.sortedby), s.changed, s.filename)


def _stored(s: Session) -> tuple:
    """The stored results and macros (e() and r() by identity: a failure puts the same ones back)."""
    names = [n for n in RESTORED_ON_ERROR if n not in ("_data", "_keys", "var_labels",
                                                       "label_sets", "label_names", "sortedby",
                                                       "changed", "filename")]
    return tuple((n, _shallow(getattr(s, n))) for n in names)


def _shallow(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, id(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(id(v) for v in value)
    return id(value)


@pytest.fixture(scope="module")
def bench() -> Bench:
    return Bench()


@pytest.fixture
def writes_stay_in_the_work_folder(monkeypatch) -> None:
    """A generated line may write files (statsby saving(), tempfile): only in the session's folder."""
    from hlmshell.data import atomic
    from hlmshell.errors import StataError

    real = atomic._destination

    def inside(target: Path, shown: str) -> Path:
        if WORKDIR.resolve() not in Path(target).resolve().parents:
            raise StataError(f"file {shown} could not be opened", 603)
        return real(target, shown)

    monkeypatch.setattr(atomic, "_destination", inside)


def run_chunk(bench: Bench, seed: int, n: int,
              report: Callable[[str, str], None] | None = None) -> list[str]:
    """Check n lines of the seed's stream, alternately on the plain and the fitted session."""
    gen = Generator(seed)
    problems = []
    window: list[str] = []
    for i in range(n):
        line = gen.line()
        window.append(line)
        problem = bench.check(line, fitted=bool(i % 2))
        if problem:
            problems.append(f"input {line!r} ({'after the fit' if i % 2 else 'plain'}): {problem}")
            if report is not None:
                report(line, problem)
        if i % 100 == 99 or i == n - 1:
            if not bench.unchanged():
                problems.append(f"one of these lines changed a frame in place: {window!r}")
                bench.__init__(bench.registry)
            window = []
    return problems


@pytest.mark.parametrize("seed", range(CHUNKS))
def test_generated_lines_fail_like_stata(bench, writes_stay_in_the_work_folder, seed):
    problems = run_chunk(bench, seed, LINES_PER_CHUNK)
    assert problems == [], f"{len(problems)} lines failed; the first:\n" + "\n".join(problems[:3])


def test_the_generator_covers_every_command_and_option():
    """Each declared command is generated, and nearly every option of each, within the lines the
    chunks run."""
    commands, options = set(), set()
    for seed in range(CHUNKS):
        gen = Generator(seed)
        for _ in range(LINES_PER_CHUNK):
            gen.line()
        commands |= gen.commands
        options |= gen.options
    assert commands == {name for name, _ in SPECS}
    declared = {(name, opt.pattern.name) for name, spec in SPECS
                for opt in spec.declaration.options}
    assert len(options & declared) > 0.9 * len(declared)
    assert len(SPECS) > 150 and len(declared) > 700


def _bug(session: Session, args: Any) -> None:
    raise RuntimeError("a bug")


def _half_done(session: Session, args: Any) -> None:
    session.set_data(session.data.assign(x=0.0), changed=True)
    raise StataError("failed half-way", 459)


def _forgets(session: Session, args: Any) -> None:
    session.e = None
    raise StataError("failed half-way", 459)


def _in_place(session: Session, args: Any) -> None:
    session.data.loc[0, "x"] = 99.0


def _slow(session: Session, args: Any) -> None:
    time.sleep(3)


@pytest.fixture
def buggy(monkeypatch) -> Bench:
    """A bench with commands that have the bugs the checks look for, and a dispatcher that does not
    put the session back after a failure."""
    registry = Registry.standard()
    for name, fn in [("fuzzbug", _bug), ("fuzzhalf", _half_done), ("fuzzforget", _forgets),
                     ("fuzzinplace", _in_place), ("fuzzslow", _slow)]:
        registry.declare(name, "", fn)
    bench = Bench(registry, warm=False)
    monkeypatch.setattr(Session, "snapshot", lambda self: {})
    monkeypatch.setattr(sys.modules[__name__], "HANG", 1)
    return bench


def test_the_checks_see_what_they_look_for(buggy, monkeypatch):
    assert buggy.check("nosuchcommand x", fitted=False) is None
    assert buggy.check("fuzzbug", fitted=False).startswith("Python error text")
    assert buggy.check("fuzzhalf", fitted=True) == "failed with r(459) but changed the data"
    assert buggy.check("capture fuzzhalf", fitted=True) == "failed with r(459) but changed the data"
    assert buggy.check("fuzzforget", fitted=True) == \
        "failed with r(459) but changed the stored results"
    assert buggy.check("fuzzslow", fitted=False) == "still running after 1 s"
    assert buggy.unchanged()
    assert buggy.check("fuzzinplace", fitted=False) is None      # it succeeds, but:
    assert not buggy.unchanged()
    monkeypatch.setattr(sys.modules[__name__], "SECONDS", 0.0)
    assert buggy.check("di 1", fitted=False).startswith("took ")


if __name__ == "__main__":        # list every distinct problem instead of stopping at the first
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    seen: dict[str, str] = {}

    def note(line: str, problem: str) -> None:
        detail = problem.splitlines()[-2] if problem.count("\n") > 1 else problem
        seen.setdefault(f"{line.split()[0] if line.split() else ''} {detail}",
                        f"{line!r}\n    {problem}")

    start = time.perf_counter()
    run_chunk(Bench(), seed, n, note)
    for text in seen.values():
        print(text, "\n")
    print(f"{len(seen)} distinct problems in {n} lines, {time.perf_counter() - start:.1f} s")
