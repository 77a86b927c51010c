"""Reading ``mixed`` / ``xtmixed`` command lines into a :class:`MixedSpec`.

``mixed depvar [fe_vars] [if] [in] [, fe_options] [|| level: [re_vars] [, re_options]] ... [, options]``

The options after the last equation hold both that equation's options (``covariance()``,
``noconstant``) and the command's own, as in Stata; a model with no ``||`` has only the latter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.scan import split_options, split_top_level
from hlmshell.lang.syntax import Options, parse_options, parse_syntax

COVARIANCES = ("independent", "exchangeable", "identity", "unstructured")


@dataclass
class REPart:
    """One ``|| level: varlist, options`` equation as typed."""

    level: str
    varspec: str
    noconstant: bool = False
    cov: str | None = None


@dataclass
class MixedSpec:
    cmd: str                       # "mixed" or "xtmixed"
    depvar_spec: str               # the depvar and fixed-effect terms as typed
    if_: str | None = None
    in_: str | None = None
    noconstant: bool = False
    equations: list[REPart] = field(default_factory=list)
    reml: bool = False
    sd: bool = False               # display sd/corr instead of var/cov
    log: bool = True
    level: float = 95.0
    iterate: int = 300
    tolerance: float = 1e-10
    noheader: bool = False
    nogroup: bool = False
    nofetable: bool = False
    noretable: bool = False
    nolrtest: bool = False


def covariance_name(text: str) -> str:
    """``un`` → ``unstructured``; Stata accepts ``ind``, ``ex``, ``id``, ``un`` and longer."""
    word = text.strip().lower()
    for name, minlen in (("independent", 3), ("exchangeable", 2), ("identity", 2), ("unstructured", 2)):
        if len(word) >= minlen and name.startswith(word):
            return name
    raise StataError(f"covariance({text}) invalid", 198)


def _take_re_options(opts: Options, part: REPart) -> None:
    cov = opts.take_arg("covariance", 3)
    if cov is not None:
        part.cov = covariance_name(cov)
    part.noconstant = opts.take("noconstant", 3)
    opts.take("collinear", 4)


def _take_global_options(opts: Options, spec: MixedSpec) -> None:
    ml = opts.take("mle", 2)
    reml = opts.take("reml", 4)
    if ml and reml:
        raise StataError("options ml and reml may not be combined", 198)
    if ml or reml:
        spec.reml = reml
    if opts.take("variance", 3):
        spec.sd = False
    if opts.take("stddeviations", 6):
        spec.sd = True
    if opts.take("nolog", 5):
        spec.log = False
    opts.take("log")
    for name, minlen, attr, kind in (("level", 3, "level", float), ("iterate", 4, "iterate", int),
                                     ("tolerance", 3, "tolerance", float)):
        value = opts.take_arg(name, minlen)
        if value is not None:
            try:
                setattr(spec, attr, kind(value))
            except ValueError:
                raise StataError(f"option {name}() incorrectly specified", 198) from None
    if not 10 <= spec.level <= 99.99:
        raise StataError("level() must be between 10 and 99.99 inclusive", 198)
    for flag, minlen in (("noheader", 5), ("nogroup", 5), ("nofetable", 5), ("noretable", 5),
                         ("nolrtest", 5)):
        if opts.take(flag, minlen):
            setattr(spec, flag, True)
    for ignored in ("emiterate", "emtolerance", "ltolerance", "nrtolerance"):
        opts.take_arg(ignored, len(ignored))
    for ignored in ("emonly", "emlog", "emdots", "difficult", "dfmethod"):
        opts.take(ignored)


def parse_mixed(rest: str, cmd: str) -> MixedSpec:
    """Split a ``mixed`` command line into its fixed part, random-effects equations and options."""
    parts = split_top_level(rest, "||")
    fixed = parse_syntax(parts[0], allow_exp=False)
    if fixed.using is not None:
        raise syntax_error()
    spec = MixedSpec(cmd=cmd, depvar_spec=fixed.anything, if_=fixed.if_, in_=fixed.in_,
                     reml=(cmd == "xtmixed"), sd=(cmd == "xtmixed"))
    if not spec.depvar_spec:
        raise StataError("varlist required", 100)
    spec.noconstant = fixed.options.take("noconstant", 3)
    if len(parts) == 1:
        _take_global_options(fixed.options, spec)
    fixed.options.finish()

    for k, text in enumerate(parts[1:]):
        body, opt_text = split_options(text)
        head, colon, varspec = body.partition(":")
        if not colon or not head.strip() or len(head.split()) != 1:
            raise StataError("invalid random-effects specification", 198)
        rspec = parse_syntax(varspec, allow_exp=False)
        if rspec.if_ is not None or rspec.in_ is not None:
            spec.if_ = _and(spec.if_, rspec.if_)
            spec.in_ = spec.in_ or rspec.in_
        part = REPart(level=head.strip(), varspec=rspec.anything)
        opts = parse_options(opt_text)
        _take_re_options(opts, part)
        if k == len(parts) - 2:
            _take_global_options(opts, spec)
        opts.finish()
        spec.equations.append(part)
    return spec


def _and(a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"({a}) & ({b})"
    return a or b
