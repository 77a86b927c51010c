"""Reading the command lines of the me commands: ``melogit``, ``meprobit``, ``mecloglog``,
``mepoisson``, ``menbreg``, ``meglm`` and the older ``xtmelogit``, ``xtmepoisson``.

``melogit depvar [fe] [if] [in] [, fe_options] || level: [re] [, re_options] ... [, options]``, split
at the ``||`` as ``mixed``'s lines are (:func:`.mixed_syntax.split_equations`): the fixed part's
options (``noconstant``, ``offset()``, ``exposure()``, ``binomial()``, ``asis``) may also come after
the last equation, with the command's own.  Each command declares the options it has: a family's
(``binomial()`` for the binary responses, ``exposure()`` and ``irr`` for counts, ``dispersion()`` for
``menbreg``, ``family()`` and ``link()`` for ``meglm``), the integration (``intmethod()``,
``intpoints()``; ``laplace`` for the xt names) and the display (``or``/``irr``, ``level()``,
``noheader``, ``nogroup``, ``notable``, ``nofetable``, ``noretable``, ``nolrtest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hlmshell.commands.estimation.mixed_syntax import RE_OPTIONS, REPart, split_equations
from hlmshell.errors import StataError
from hlmshell.lang.abbrev import match
from hlmshell.lang.declaration import Args, parse_declaration

INTMETHODS = ("MVaghermite", "MCaghermite", "GHermite", "LAPlace")
FAMILY_NAMES = ("GAUssian", "BERnoulli", "BINomial", "POIsson", "NBinomial")
LINK_NAMES = ("IDentity", "LOGit", "PRobit", "CLOGlog", "LOG")
FIT = ("ITERate(integer 300) TOLerance(real 1e-8) LTOLerance(real 1e-10) NRTOLerance(real 1e-12) "
       "noLOg")
DISPLAY = "Level(cilevel) NOHEader NOGRoup NOTABle NOFEtable NORETable NOLRtest"


@dataclass(frozen=True)
class Command:
    """What one me command is: its family and link (or meglm's choice), its options."""

    name: str
    family: str | None                 # None: meglm, from family()
    link: str | None
    eform: str = ""                    # "or" | "irr": the option that exponentiates
    extra: str = ""                    # the family's own options
    integration: str = "INTMethod(string) INTPoints(integer 7)"
    xt: bool = False                   # the older name: meqrlogit's defaults and display

    @property
    def display(self) -> str:
        eform = self.eform.upper() if self.eform else ""
        return f"{eform} {DISPLAY}" + (" VARiance STDDEViations" if self.xt else "")

    @property
    def options(self) -> str:
        """The command's own options (after the last equation; not the equations' ``noconstant``)."""
        return " ".join(f"OFFset(varname) {self.extra} {self.integration} {FIT} {self.display}".split())

    @property
    def fixed(self) -> str:
        """The fixed part's options (after its comma)."""
        return " ".join(f"NOConstant OFFset(varname) {self.extra}".split())

    @property
    def syntax(self) -> str:
        return f"anything(raw) [, {RE_OPTIONS} {self.options}]"

    @property
    def replay_syntax(self) -> str:
        return f"[, {self.display}]"


BINARY = "BINomial(string) ASis"
COUNT = "EXPosure(varname)"
COMMANDS = {
    "melogit": Command("melogit", "bernoulli", "logit", "or", extra=BINARY),
    "meprobit": Command("meprobit", "bernoulli", "probit", extra=BINARY),
    "mecloglog": Command("mecloglog", "bernoulli", "cloglog", extra=BINARY),
    "mepoisson": Command("mepoisson", "poisson", "log", "irr", extra=COUNT),
    "menbreg": Command("menbreg", "nbinomial", "log", "irr", extra=f"{COUNT} DISPersion(string)"),
    "meglm": Command("meglm", None, None, "or irr", extra=f"{COUNT} Family(string) Link(string) ASis"),
    "xtmelogit": Command("xtmelogit", "bernoulli", "logit", "or", extra="BINomial(string)",
                         integration="INTPoints(integer 7) LAPlace", xt=True),
    "xtmepoisson": Command("xtmepoisson", "poisson", "log", "irr", extra=COUNT,
                           integration="INTPoints(integer 7) LAPlace", xt=True),
}


@dataclass(frozen=True)
class MEDisplay:
    """How an me command shows its results (kept with them for replay)."""

    eform: bool = False            # or / irr
    level: float = 95.0
    noheader: bool = False
    nogroup: bool = False
    notable: bool = False
    nolrtest: bool = False
    sd: bool = False               # xtmelogit/xtmepoisson: standard deviations and correlations


@dataclass
class MESpec:
    cmd: str
    family: str                    # bernoulli binomial poisson nbinomial gaussian
    link: str
    dispersion: str = ""           # nbinomial: mean | constant
    depvar_spec: str = ""
    if_: str | None = None
    in_: str | None = None
    noconstant: bool = False
    offset: str | None = None
    exposure: str | None = None
    binomial: str | None = None    # trials: a variable name or a number, as typed
    asis: bool = False
    equations: list[REPart] = field(default_factory=list)
    intmethod: str = "mvaghermite"
    intpoints: int = 7
    log: bool = True
    iterate: int = 300
    tolerance: float = 1e-8
    ltolerance: float = 1e-10
    nrtolerance: float = 1e-12
    display: MEDisplay = field(default_factory=MEDisplay)


def display_options(args: Args, default: MEDisplay, command: Command) -> MEDisplay:
    """The display options typed, over ``default`` (the fit's, on replay)."""
    sd = default.sd
    if command.xt:
        if args.variance and args.stddeviations:
            raise StataError("options variance and stddeviations may not be combined", 198)
        if args.variance or args.stddeviations:
            sd = bool(args.stddeviations)
    eform = default.eform or any(getattr(args, o, False) for o in command.eform.split())
    notable = args.notable or args.nofetable or args.noretable or default.notable
    return replace(default, eform=eform, sd=sd, notable=notable,
                   level=args.level if "level" in args.given else default.level,
                   **{flag: getattr(args, flag) or getattr(default, flag)
                      for flag in ("noheader", "nogroup", "nolrtest")})


def _family(args: Args, command: Command, spec: MESpec) -> None:
    """meglm's family() and link(), with their defaults (the canonical links)."""
    words = (args.family or "gaussian").split()
    name = match(words[0], FAMILY_NAMES)
    if name is None:
        raise StataError(f"unknown family {words[0]}", 198)
    spec.family = name
    rest = words[1:]
    if name == "binomial":
        if rest:
            spec.binomial = " ".join(rest)
            rest = []
        else:
            spec.binomial = "1"
    if name == "nbinomial":
        spec.dispersion = _dispersion(rest[0] if rest else "mean")
        rest = []
    if rest:
        raise StataError(f"family({args.family}) invalid", 198)
    canonical = {"gaussian": "identity", "bernoulli": "logit", "binomial": "logit",
                 "poisson": "log", "nbinomial": "log"}[name]
    link = canonical if args.link is None else match(args.link.strip(), LINK_NAMES)
    if link is None:
        raise StataError(f"unknown link {args.link}", 198)
    allowed = {"gaussian": ("identity",), "bernoulli": ("logit", "probit", "cloglog"),
               "binomial": ("logit", "probit", "cloglog"), "poisson": ("log",),
               "nbinomial": ("log",)}[name]
    if link not in allowed:
        raise StataError(f"link({link}) is not allowed with family({name})", 198)
    spec.link = link
    if name not in ("bernoulli", "binomial") and args.asis:
        raise StataError("option asis not allowed", 198)
    if name in ("bernoulli", "binomial", "gaussian") and args.exposure is not None:
        raise StataError(f"option exposure() not allowed with family({name})", 198)


def _dispersion(text: str) -> str:
    name = match(text.strip(), ("MEan", "CONstant"))
    if name is None:
        raise StataError(f"option dispersion({text}) invalid", 198)
    return name


def _intmethod(args: Args, command: Command, spec: MESpec) -> None:
    if command.xt:
        spec.intmethod = "laplace" if args.laplace else "mcaghermite"
    elif args.intmethod is not None:
        name = match(args.intmethod.strip(), INTMETHODS)
        if name is None:
            raise StataError(f"intmethod({args.intmethod}) not allowed", 198)
        spec.intmethod = name
    spec.intpoints = args.intpoints
    if spec.intpoints < 1 or spec.intpoints > 195:
        raise StataError("intpoints() must be an integer greater than 0 and less than 196", 198)
    if spec.intmethod == "laplace" and "intpoints" in args.given and spec.intpoints != 1:
        raise StataError("option intpoints() not allowed with intmethod(laplace)", 198)


def _model_options(args: Args, command: Command, spec: MESpec) -> None:
    """The command's own options (wherever they were typed)."""
    if command.family is None:
        _family(args, command, spec)
    elif getattr(args, "binomial", None) is not None:
        spec.family, spec.binomial = "binomial", args.binomial.strip()
    if getattr(args, "dispersion", None) is not None:
        spec.dispersion = _dispersion(args.dispersion)
    if args.offset is not None and getattr(args, "exposure", None) is not None:
        raise StataError("only one of offset() or exposure() can be specified", 198)
    spec.offset = args.offset
    spec.exposure = getattr(args, "exposure", None)
    spec.asis = bool(getattr(args, "asis", False))
    _intmethod(args, command, spec)
    spec.log = args.log
    spec.iterate = args.iterate
    if spec.iterate < 0:
        raise StataError("option iterate() incorrectly specified", 198)
    for name in ("tolerance", "ltolerance", "nrtolerance"):
        value = getattr(args, name)
        if not 0 < value < 1:
            raise StataError(f"option {name}() incorrectly specified", 198)
        setattr(spec, name, value)
    eform = [o for o in command.eform.split() if getattr(args, o, False)]
    if eform and command.family is None:
        ok = {"or": spec.link == "logit" and spec.family in ("bernoulli", "binomial"),
              "irr": spec.family in ("poisson", "nbinomial")}
        bad = [o for o in eform if not ok[o]]
        if bad:
            raise StataError(f"option {bad[0]} not allowed", 198)
    spec.display = display_options(args, spec.display, command)


def parse_me(rest: str, command: Command, variables: list[str]) -> MESpec:
    """Split an me command line into its fixed part, random-effects equations and options."""
    options = command.options
    fixed_only = parse_declaration(f"[, NOConstant {options}]")
    fixed = parse_declaration(f"[, {command.fixed}]")
    last = parse_declaration(f"[, {RE_OPTIONS} {options}]")
    equation = parse_declaration(f"[, {RE_OPTIONS}]")
    line = split_equations(rest, variables, fixed_only=fixed_only, fixed=fixed,
                           equation=equation, last=last)
    spec = MESpec(cmd=command.name, family=command.family or "gaussian", link=command.link or "identity",
                  dispersion="mean" if command.family == "nbinomial" else "",
                  depvar_spec=line.depvar_spec, if_=line.if_, in_=line.in_,
                  noconstant=line.fixed_args.noconstant, equations=line.equations,
                  display=MEDisplay(sd=command.xt))
    merged = _merge(line.fixed_args, line.last_args)
    _model_options(merged, command, spec)
    return spec


def _merge(fixed: Args, last: Args | None) -> Args:
    """The options typed after the fixed part and after the last equation, as one set (an option
    typed in both places: the last one wins, as Stata's ``_parse expand`` keeps it)."""
    if last is None:
        return fixed
    out = Args(text=last.text, options=dict(last.options), given=set(last.given))
    for name in fixed.given:
        if name != "noconstant" and name not in last.given:
            out.options[name] = fixed.options[name]
            out.given.add(name)
    return out
