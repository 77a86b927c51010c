"""Information criteria: AIC = -2 ll + 2 k, BIC = -2 ll + ln(N) k."""

from __future__ import annotations

import math


def aic(ll: float | None, k: float) -> float | None:
    return None if ll is None else -2 * ll + 2 * k


def bic(ll: float | None, k: float, n: float | None) -> float | None:
    if ll is None or n is None or n <= 0:
        return None
    return -2 * ll + math.log(n) * k
