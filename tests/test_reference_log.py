"""Replay the whole Stata reference session and compare every printed figure with ours.

The session is ``tests/fixtures/hsb_stata_mixed.log``: data summaries, seven ``mixed`` fits,
``ereturn list``, ``mat list``, ``di``, ``estat icc/ic/recov``, ``est store`` and ``lrtest``.  Each of
its commands is run in one hlmshell session; our output (blank lines and the iteration log dropped,
as in the log) must have the log's lines, in order, with the same words and the same numbers within
the tolerances of ``tests/fixtures/stata_reference_README.md``:

- data summaries and tables, group counts, dimensions, df: as printed, give or take one unit in the
  last printed digit (our bundled .dta stores doubles where Stata's original stored floats, which moves
  disclim's mean in hsb from -.1318694 to -.1318695);
- fixed effects and their CIs: 2e-5 of the row's scale; their SEs 5e-5 relative; z to 0.01; P to 0.001;
- log likelihoods (and AIC/BIC) to 1e-3 (0.01 where Stata prints only two decimals);
  Wald and LR chi2 to 0.01 (a difference of one in the last printed digit);
- variance components, their SEs and CIs, ICCs, stored ln-sd parameters and what ``di`` computes
  from them: 2e-4 relative (Stata stops a Newton step short of the optimum on flat likelihoods);
- the near-boundary model ``c.ses##i[b1].sector || id: ses`` (corr(ses,_cons) → 1): its variance
  components to 1e-3 and their SEs/CIs to one significant digit (Stata's two parameterisations of
  the same model print SEs .0889 and .0669 for var(ses)); its fixed-effect SEs to 1e-4.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import reference_log
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

NUMBER = re.compile(r"(?<![\w.])-?(?:\d[\d,]*\.?\d*|\.\d+)(?:e[+-]\d+)?(?![\w])")
ITERATION_LOG = ("Iteration ", "Performing ", "Computing standard errors")
# Stata's datasignature is a proprietary checksum of the data; we do not post it.  e(ic), the number
# of iterations, belongs to the optimiser (Stata runs EM first, then Newton-Raphson; we do not).
SKIPPED = ("e(datasignature) :", "e(ic) =")
BOUNDARY = ("c.ses##i.sector || id: ses, cov(unstr)", "c.ses##ib1.sector || id: ses, cov(unstr)")


def _blocks() -> list[tuple[str, list[str]]]:
    """(command, printed lines) for each command of the log, without what we do not post."""
    return [(command, [line.rstrip() for line in lines
                       if line.strip() and not line.strip().startswith(SKIPPED)])
            for command, lines in reference_log()]


BLOCKS = _blocks()


@pytest.fixture(scope="module")
def replay() -> list[list[str]]:
    """Our output for each command of the log, run in order in one session."""
    out, buf = capture_output()
    session = Session(out=out, cwd=Path(__file__).resolve().parents[1] / "data")
    outputs = []
    for command, _ in BLOCKS:
        start = len(buf.getvalue())
        assert run_line(session, command) == 0, command
        text = buf.getvalue()[start:]
        outputs.append([line.rstrip() for line in text.splitlines()
                        if line.strip() and not line.startswith(ITERATION_LOG)
                        and not line.strip().startswith(SKIPPED)])
    return outputs


def _skeleton(line: str) -> str:
    return " ".join(NUMBER.sub("#", line).split())


def _numbers(line: str) -> list[float]:
    return [float(tok.replace(",", "")) for tok in NUMBER.findall(line)]


def _last_digit_units(line: str) -> list[float]:
    """The value of one unit in the last printed digit of each number (1e-7 for ``-.1318694``)."""
    units = []
    for tok in NUMBER.findall(line):
        mantissa, _, exponent = tok.replace(",", "").partition("e")
        decimals = len(mantissa.partition(".")[2])
        units.append(10.0 ** (int(exponent or 0) - decimals))
    return units


def _tolerances(command: str, section: str, line: str, n: int) -> list[tuple[float, float]]:
    """(relative, absolute) tolerance for each of the n numbers on a line."""
    exact = [(0.0, 0.0)] * n
    boundary = command.endswith(BOUNDARY)
    if command.startswith(("mixed", "qui mixed")):
        if "Log likelihood" in line:
            return [(0.0, 1e-3)] + [(0.0, 0.0)] * (n - 1)
        if "Wald chi2" in line or "LR test vs." in line:
            return [(0.0, 0.0)] + [(0.0, 0.011)] + [(0.0, 1e-4)] * (n - 2) if "chi2(" in NUMBER.sub(
                "#", line) and n == 3 else [(0.0, 0.011)] * n
        if section == "fe" and n == 6:
            se_rel = 1e-4 if boundary else 5e-5
            return [(2e-5, 0.0), (se_rel, 0.0), (0.0, 0.011), (0.0, 0.0011), (2e-5, 0.0), (2e-5, 0.0)]
        if section == "re" and n == 4:
            if boundary:
                return [(1e-3, 0.0), (0.5, 0.0), (0.5, 0.0), (0.5, 0.0)]
            return [(2e-4, 0.0)] * 4
        return exact
    if command.startswith(("ereturn", "mat list", "di ", "estat icc", "estat recov")):
        return [(2e-4, 0.0)] * n
    if command.startswith(("estat ic", "lrtest")):
        return [(0.0, 0.011)] * n
    return exact


def _section(section: str, line: str) -> str:
    if "Coefficient" in line:
        return "fe"
    if "Random-effects parameters" in line:
        return "re"
    return section


def _matches(expected: float, got: float, rel: float, absolute: float, scale: float,
             unit: float) -> bool:
    """Within the tolerance, or within one unit of the last printed digit."""
    return abs(expected - got) <= max(absolute + rel * max(abs(expected), scale), unit) * (1 + 1e-9)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[c for c, _ in BLOCKS])
def test_block_matches_stata(replay: list[list[str]], index: int) -> None:
    command, expected = BLOCKS[index]
    ours = replay[index]
    assert len(ours) >= len(expected), f"{command}: missing output\n" + "\n".join(ours)
    assert ours[len(expected):] == [], f"{command}: unexpected output {ours[len(expected):]}"
    section = ""
    for want, got in zip(expected, ours):
        section = _section(section, want)
        assert _skeleton(got) == _skeleton(want), f"{command}:\n  Stata: {want}\n  ours:  {got}"
        if "|" in want:   # a table row: its label exactly, then the numbers after the bar
            label, _, want = want.partition("|")
            assert got.partition("|")[0] == label, f"{command}:\n  Stata: {label}\n  ours:  {got}"
            got = got.partition("|")[2]
        w, g = _numbers(want), _numbers(got)
        scale = max((abs(x) for x in w), default=0.0) if section == "fe" else 0.0
        if section == "re" and len(w) == 4:
            scale = max(abs(w[0]), abs(w[2]), abs(w[3]))
        tolerances = _tolerances(command, section, want, len(w))
        for k, ((rel, absolute), a, b, unit) in enumerate(zip(tolerances, w, g, _last_digit_units(want))):
            assert _matches(a, b, rel, absolute, scale, unit), \
                f"{command}: number {k + 1} differs\n  Stata: {want}\n  ours:  {got}"


def test_every_command_of_the_log_is_replayed() -> None:
    commands = [c for c, _ in BLOCKS]
    assert len(commands) == 54
    assert sum(c.startswith("mixed") for c in commands) == 8


def test_the_log_parser_keeps_every_printed_line() -> None:
    """The log's 463 lines are 54 command echoes, 3 paragraphs of commentary and 406 printed lines."""
    raw = (Path(__file__).resolve().parent / "fixtures" / "hsb_stata_mixed.log").read_text(
        encoding="utf-8").splitlines()
    assert len(raw) == 463
    blocks = reference_log()
    assert len(blocks) == 54
    assert sum(len(lines) for _, lines in blocks) == 463 - 54 - 3
    assert not any(line.startswith(("Only one fixed effect", "Here,")) for _, lines in blocks
                   for line in lines)
    commands = [c for c, _ in blocks]
    # the two echoes with a stray leading blank, and the one that lost the word "mixed"
    assert commands[37] == "mixed mathach ses sector || id: ses, cov(unstr)"
    assert commands[-1] == "mixed mathach c.ses##i.sector || id:"
    assert "qui mixed mathach ses || id: ses, cov(unstructured)" in commands
    assert not any(c.startswith("qui mathach") for c in commands)
