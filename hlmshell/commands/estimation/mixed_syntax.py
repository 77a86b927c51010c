"""Reading ``mixed`` / ``xtmixed`` command lines.

``mixed depvar [fe_vars] [if] [in] [, noconstant] [|| level: [re_vars] [, re_options]] ... [, options]``

The options after the last equation hold both that equation's options (``covariance()``,
``noconstant``) and the command's own, as in Stata; a model with no ``||`` has the command's options
(and the fixed part's ``noconstant``) after its comma.  Each kind of option is declared once here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hlmshell.errors import StataError
from hlmshell.lang.abbrev import match
from hlmshell.lang.declaration import Args, Declaration, parse_declaration
from hlmshell.lang.scan import split_options, split_top_level
from hlmshell.lang.syntax import parse_syntax

COVARIANCES = ("INDependent", "EXchangeable", "IDentity", "UNstructured")
FIT_OPTIONS = ("MLe REML DFMethod(string) ITERate(integer 300) TOLerance(real 1e-8) "
               "LTOLerance(real 1e-10) NRTOLerance(real 1e-12) noLOg")
DISPLAY_OPTIONS = ("VARiance STDDEViations LEVel(cilevel) NOHEader NOGRoup NOFEtable NORETable "
                   "NOLRtest ESTMetric SMALL")
DF_METHODS = ("KRoger", "SATterthwaite", "RESidual", "REPeated", "ANOVA")
RE_OPTIONS = "NOConstant COVariance(string)"

REPLAY = parse_declaration(f"[, {DISPLAY_OPTIONS}]")
_FIXED_ONLY = parse_declaration(f"[, NOConstant {FIT_OPTIONS} {DISPLAY_OPTIONS}]")
_FIXED = parse_declaration("[, NOConstant]")
_LAST_EQUATION = parse_declaration(f"[, {RE_OPTIONS} {FIT_OPTIONS} {DISPLAY_OPTIONS}]")
_EQUATION = parse_declaration(f"[, {RE_OPTIONS}]")
SYNTAX = (f"anything(raw) [, {RE_OPTIONS} {FIT_OPTIONS} "
          f"{DISPLAY_OPTIONS}]")


@dataclass
class REPart:
    """One ``|| level: varlist, options`` equation as typed."""

    level: str
    varspec: str
    noconstant: bool = False
    cov: str | None = None


@dataclass(frozen=True)
class MixedDisplay:
    """How ``mixed`` shows its results (kept with them for replay)."""

    sd: bool = False               # sd/corr instead of var/cov
    level: float = 95.0
    noheader: bool = False
    nogroup: bool = False
    nofetable: bool = False
    noretable: bool = False
    nolrtest: bool = False
    estmetric: bool = False
    small: bool = False            # the small-sample (t and F) tables of a dfmethod() fit


@dataclass
class MixedSpec:
    cmd: str                       # "mixed" or "xtmixed"
    depvar_spec: str               # the depvar and fixed-effect terms as typed
    if_: str | None = None
    in_: str | None = None
    noconstant: bool = False
    equations: list[REPart] = field(default_factory=list)
    reml: bool = False
    log: bool = True
    iterate: int = 300
    tolerance: float = 1e-8
    ltolerance: float = 1e-10
    nrtolerance: float = 1e-12
    dfmethod: str | None = None    # dfmethod() as typed; dfmethod_spec() reads it
    using: str | None = None       # ``mixed ... using file.parquet``: fit by streaming the file
    display: MixedDisplay = field(default_factory=MixedDisplay)


def covariance_name(text: str) -> str:
    """``un`` → ``unstructured``; Stata accepts ``ind``, ``ex``, ``id``, ``un`` and longer."""
    name = match(text.strip(), COVARIANCES)
    if name is None:
        raise StataError(f"covariance({text}) invalid", 198)
    return name


def display_options(args: Args, default: MixedDisplay) -> MixedDisplay:
    """The display options typed, over ``default`` (the fit's, on replay)."""
    if args.variance and args.stddeviations:
        raise StataError("options variance and stddeviations may not be combined", 198)
    sd = default.sd
    if args.variance or args.stddeviations:
        sd = bool(args.stddeviations)
    return replace(default, sd=sd, level=args.level if "level" in args.given else default.level,
                   **{flag: getattr(args, flag) or getattr(default, flag)
                      for flag in ("noheader", "nogroup", "nofetable", "noretable", "nolrtest",
                                   "estmetric", "small")})


def _fit_options(args: Args, spec: MixedSpec) -> None:
    if args.mle and args.reml:
        raise StataError("options ml and reml may not be combined", 198)
    if args.mle or args.reml:
        spec.reml = bool(args.reml)
    spec.log = args.log
    spec.iterate = args.iterate
    if args.dfmethod is not None:
        spec.dfmethod = args.dfmethod
    if args.small:
        raise StataError("option small is allowed only upon replay and requires that option "
                         "dfmethod() is specified with mixed during estimation", 198)
    for name in ("tolerance", "ltolerance", "nrtolerance"):
        value = getattr(args, name)
        if not 0 < value < 1:
            raise StataError(f"option {name}() incorrectly specified", 198)
        setattr(spec, name, value)
    if spec.iterate < 0:
        raise StataError("option iterate() incorrectly specified", 198)
    spec.display = display_options(args, spec.display)


@dataclass
class EquationLine:
    """A multilevel command line split at its ``||``: the fixed part (depvar and terms, if/in), the
    equations as typed, and the options of the fixed part and of the last equation."""

    depvar_spec: str
    if_: str | None
    in_: str | None
    fixed_args: Args
    equations: list[REPart]
    last_args: Args | None            # None without equations: the fixed part's options rule
    using: str | None = None          # ``using filename`` in the fixed part (allow_using only)


def split_equations(rest: str, variables: list[str], *, fixed_only: Declaration,
                    fixed: Declaration, equation: Declaration, last: Declaration,
                    allow_using: bool = False) -> EquationLine:
    """Read ``depvar [fe] [if] [in] [, fe_opts] [|| level: [re] [, re_opts]] ... [, opts]`` with the
    declarations of each place's options (``fixed_only``: the fixed part's when there is no ``||``;
    ``last``: the last equation's, which hold the command's own options as well)."""
    parts = split_top_level(rest, "||")
    head, fixed_opts = split_options(parts[0])
    syn = parse_syntax(head, allow_exp=False)
    if syn.using is not None and not allow_using:
        raise StataError("using not allowed", 101)
    if not syn.anything:
        raise StataError("varlist required", 100)
    fixed_args = (fixed if len(parts) > 1 else fixed_only).parse("," + fixed_opts, variables)
    line = EquationLine(syn.anything, syn.if_, syn.in_, fixed_args, [], None, syn.using)
    for k, text in enumerate(parts[1:]):
        body, opt_text = split_options(text)
        level, colon, varspec = body.partition(":")
        if not colon or not level.strip() or len(level.split()) != 1:
            raise StataError("invalid random-effects specification", 198)
        rspec = parse_syntax(varspec, allow_exp=False)
        if rspec.if_ is not None or rspec.in_ is not None:
            line.if_ = _and(line.if_, rspec.if_)
            line.in_ = line.in_ or rspec.in_
        is_last = k == len(parts) - 2
        args = (last if is_last else equation).parse("," + opt_text, variables)
        part = REPart(level=level.strip(), varspec=rspec.anything, noconstant=args.noconstant)
        if args.covariance is not None:
            part.cov = covariance_name(args.covariance)
        if is_last:
            line.last_args = args
        line.equations.append(part)
    return line


def parse_mixed(rest: str, cmd: str, variables: list[str]) -> MixedSpec:
    """Split a ``mixed`` command line into its fixed part, random-effects equations and options."""
    line = split_equations(rest, variables, fixed_only=_FIXED_ONLY, fixed=_FIXED,
                           equation=_EQUATION, last=_LAST_EQUATION, allow_using=True)
    xt = cmd == "xtmixed"
    spec = MixedSpec(cmd=cmd, depvar_spec=line.depvar_spec, if_=line.if_, in_=line.in_, reml=xt,
                     display=MixedDisplay(sd=xt), noconstant=line.fixed_args.noconstant,
                     equations=line.equations, using=line.using)
    _fit_options(line.last_args or line.fixed_args, spec)
    return spec


def dfmethod_spec(spec: MixedSpec) -> tuple[str, bool] | None:
    """(method, expected information) from ``dfmethod(method[, eim|oim])``, with Stata's checks
    (``_xtmixed_estimate``'s ``CheckDfType``); None without the option."""
    if spec.dfmethod is None:
        return None
    if spec.cmd == "xtmixed":
        raise StataError("option dfmethod() is available only with mixed", 198)
    fixed = spec.depvar_spec.strip().split(None, 1)[1:]
    if spec.noconstant and not fixed:
        raise StataError("option dfmethod() is not allowed for a model with no fixed effects", 198)
    text, _, sub = spec.dfmethod.partition(",")
    words = text.split()
    if not words:
        raise StataError("invalid syntax", 198)
    info: list[str] = []
    for word in sub.split():
        name = match(word, ("EIM", "OIM"))
        if name is None:
            raise StataError(f"suboption {word} in option dfmethod() is not valid", 198)
        info.append(name)
    methods = []
    for word in words:
        name = match(word, DF_METHODS)
        if name is None:
            raise StataError(f"invalid method {word} in option dfmethod()", 198)
        methods.append(name)
    if len(methods) > 1:
        raise StataError("only one method is allowed in option dfmethod()", 198)
    method = methods[0]
    if not spec.reml and method in ("kroger", "satterthwaite"):
        raise StataError(f"option dfmethod({method}) is allowed only with REML estimation", 198)
    if len(set(info)) > 1:
        raise StataError("only one of eim or oim is allowed in option dfmethod()", 198)
    if info and method not in ("kroger", "satterthwaite"):
        raise StataError(f"suboption {info[0]} can only be specified when option dfmethod() "
                         "contains kroger or satterthwaite", 198)
    if not spec.equations and method != "residual":
        raise StataError("model is linear regression;  option dfmethod(residual) should be used",
                         198)
    if method == "repeated" and len({p.level for p in spec.equations}) > 1:
        raise StataError("option dfmethod(repeated) is not available for models with more than "
                         "two levels", 198)
    return method, "oim" not in info


def _and(a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"({a}) & ({b})"
    return a or b
