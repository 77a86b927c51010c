"""Stata's named colours (the colorstyle files of Stata's graphics) and the st family's stc1-stc15."""

from __future__ import annotations

NAMED: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "blue": (0, 0, 255),
    "bluishgray": (217, 230, 235),
    "bluishgray8": (210, 215, 228),
    "brown": (156, 136, 71),
    "chocolate": (128, 64, 0),
    "cranberry": (193, 5, 52),
    "cyan": (0, 255, 255),
    "dimgray": (232, 232, 232),
    "dkgreen": (0, 96, 0),
    "dknavy": (30, 45, 83),
    "dkorange": (227, 126, 0),
    "ebblue": (0, 139, 188),
    "ebg": (198, 211, 223),
    "edkbg": (178, 191, 203),
    "edkblue": (62, 100, 125),
    "eggshell": (255, 251, 240),
    "eltblue": (130, 192, 233),
    "eltgreen": (151, 182, 176),
    "emerald": (45, 109, 102),
    "emidblue": (123, 146, 168),
    "erose": (191, 161, 156),
    "forest_green": (85, 117, 47),
    "gold": (255, 210, 0),
    "gray": (128, 128, 128),
    "green": (0, 128, 0),
    "gs0": (0, 0, 0),
    "gs1": (16, 16, 16),
    "gs10": (160, 160, 160),
    "gs11": (176, 176, 176),
    "gs12": (192, 192, 192),
    "gs13": (208, 208, 208),
    "gs14": (224, 224, 224),
    "gs15": (240, 240, 240),
    "gs16": (255, 255, 255),
    "gs2": (32, 32, 32),
    "gs3": (48, 48, 48),
    "gs4": (64, 64, 64),
    "gs5": (80, 80, 80),
    "gs6": (96, 96, 96),
    "gs7": (112, 112, 112),
    "gs8": (128, 128, 128),
    "gs9": (144, 144, 144),
    "khaki": (202, 194, 126),
    "lavender": (147, 141, 210),
    "lime": (0, 255, 0),
    "ltblue": (173, 216, 230),
    "ltbluishgray": (234, 242, 243),
    "ltbluishgray8": (225, 230, 240),
    "ltkhaki": (229, 218, 165),
    "magenta": (255, 0, 255),
    "maroon": (144, 53, 59),
    "midblue": (0, 128, 255),
    "midgreen": (0, 176, 0),
    "mint": (0, 255, 128),
    "navy": (26, 71, 111),
    "navy8": (39, 63, 111),
    "olive": (92, 71, 23),
    "olive_teal": (192, 220, 192),
    "orange": (255, 127, 0),
    "orange_red": (255, 69, 0),
    "pink": (255, 0, 128),
    "purple": (128, 0, 128),
    "red": (255, 0, 0),
    "sand": (217, 194, 99),
    "sandb": (255, 228, 116),
    "sienna": (160, 82, 45),
    "stone": (215, 210, 158),
    "sunflowerlime": (234, 255, 170),
    "teal": (110, 142, 132),
    "white": (255, 255, 255),
    "yellow": (255, 255, 0),
    # the st family (Stata 18's default stcolor scheme)
    "stc1": (26, 133, 255), "stc2": (212, 17, 89), "stc3": (0, 191, 127), "stc4": (255, 212, 0),
    "stc5": (79, 44, 153), "stc6": (255, 99, 51), "stc7": (77, 183, 255), "stc8": (124, 0, 21),
    "stc9": (15, 239, 175), "stc10": (250, 163, 7), "stc11": (117, 139, 253),
    "stc12": (254, 217, 183), "stc13": (8, 35, 76), "stc14": (248, 141, 173), "stc15": (15, 81, 86),
    "stblue": (26, 133, 255), "stgreen": (0, 191, 127), "stred": (212, 17, 89),
    "styellow": (255, 212, 0),
}

RGBA = tuple[float, float, float, float]


def parse_color(text: str) -> RGBA | None:
    """A Stata colorstyle → RGBA in 0-1: ``navy``, ``"26 71 111"``, ``navy*.5`` (intensity),
    ``navy%30`` (opacity), ``none``; None when it is not a colour."""
    text = text.strip().strip('"').strip()
    opacity = 1.0
    if "%" in text:
        text, _, pct = text.partition("%")
        try:
            opacity = float(pct) / 100
        except ValueError:
            return None
        if not 0 <= opacity <= 1:
            return None
    if text in ("none", ""):
        return (1.0, 1.0, 1.0, 0.0) if text == "none" else None
    intensity = None
    if "*" in text:
        text, _, mult = text.partition("*")
        try:
            intensity = float(mult)
        except ValueError:
            return None
    words = text.split()
    if len(words) == 3:
        try:
            rgb = tuple(int(w) for w in words)
        except ValueError:
            return None
        if not all(0 <= c <= 255 for c in rgb):
            return None
    elif len(words) == 1 and words[0] in NAMED:
        rgb = NAMED[words[0]]
    else:
        return None
    r, g, b = (c / 255 for c in rgb)
    if intensity is not None:
        r, g, b = (_intensity(c, intensity) for c in (r, g, b))
    return (r, g, b, opacity)


def _intensity(c: float, k: float) -> float:
    """Stata's ``color*#``: below 1 towards white, above 1 towards black."""
    return 1 - (1 - c) * k if k <= 1 else c / k
