"""Recovery tracking: how fast post-treatment redness fades.

After microneedling the skin is red for hours to days. Photos taken at known
times after a session, each compared with the photo taken just before it
(:func:`analyzer.compare`), give the excess erythema index over time. Its
fading is modelled as a single exponential,

    excess(t) = peak * exp(-t / tau),

the usual first-order model of erythema resolution (e.g. Lim et al. 2017,
doi:10.1111/srt.12352, for laser erythema). ``tau`` is the fading time
constant; half the redness is gone after ``tau * ln 2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Fading", "fit_fading"]


@dataclass(frozen=True)
class Fading:
    """The fitted fading of post-treatment redness.

    Attributes
    ----------
    peak : float
        Excess erythema index just after treatment (t = 0), EI units.
    tau_hours : float
        Time constant, hours.
    points : int
        Measurements the fit used.
    """

    peak: float
    tau_hours: float
    points: int

    @property
    def half_life_hours(self) -> float:
        return self.tau_hours * math.log(2)

    def settled_hours(self, noise: float) -> float:
        """Hours after treatment until the excess falls below `noise` (EI units), e.g. the MDC."""
        return self.tau_hours * math.log(self.peak / noise) if self.peak > noise else 0.0

    def excess_at(self, hours: float | np.ndarray) -> float | np.ndarray:
        """Modelled excess erythema index at `hours` after treatment."""
        return self.peak * np.exp(-np.asarray(hours, float) / self.tau_hours)

    def to_dict(self) -> dict:
        return {"peak": round(self.peak, 3), "tau_hours": round(self.tau_hours, 2),
                "half_life_hours": round(self.half_life_hours, 2), "points": self.points}


def fit_fading(hours: Sequence[float], excess: Sequence[float], *, noise: float) -> Fading | None:
    """Fit the exponential fading of excess redness.

    Parameters
    ----------
    hours : sequence of float
        Time of each photo after the treatment, hours (> 0).
    excess : sequence of float
        Erythema index of each photo minus the pre-treatment photo's (the
        ``redness.erythema_index`` delta of :func:`analyzer.compare`), EI units.
    noise : float
        Minimal detectable change of the erythema index; points below half of
        it carry no information on the shape of the curve and are left out.

    Returns
    -------
    Fading or None
        None when fewer than two usable points at different times remain, or
        when the redness does not fade (a flat or rising series).
    """
    t = np.asarray(hours, float)
    e = np.asarray(excess, float)
    if t.shape != e.shape:
        raise ValueError(f"{t.size} times but {e.size} measurements")
    use = np.isfinite(t) & np.isfinite(e) & (t > 0) & (e > noise / 2)
    if use.sum() < 2 or np.ptp(t[use]) <= 0:
        return None
    # log-linear least squares, weighted by e^2: the delta method's inverse variance of ln(e)
    # when every measurement has the same noise in EI units
    slope, intercept = np.polyfit(t[use], np.log(e[use]), 1, w=e[use])
    if slope >= 0:
        return None
    return Fading(peak=float(math.exp(intercept)), tau_hours=float(-1.0 / slope), points=int(use.sum()))
