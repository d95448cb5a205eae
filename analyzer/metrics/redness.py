"""Redness: erythema from haemoglobin's absorption of green light.

Haemoglobin absorbs green strongly and red hardly at all, so the difference of
the two channels' optical densities rises with blood in the skin while
shading and exposure, which darken both alike, cancel. This is Dawson's
erythema index (Dawson et al. 1980, "A theoretical and experimental study of
light absorption and scattering by in vivo skin", doi:10.1088/0031-9155/25/4/008):

    EI = 100 * (log10(1/G) - log10(1/R))     (eq. 8, on reflectances)

computed here on illuminant-normalised linear RGB. Post-treatment erythema
after microneedling raises it by roughly 5-15 units; the red-area share
counts where skin is redder than the patient's own even skin by a fixed
margin, so a blush over the whole face and a red patch read differently.
"""

from __future__ import annotations

import math

import numpy as np

from analyzer.metrics.filters import gaussian

__all__ = ["RED_MARGIN", "erythema_map", "even_level", "redness"]

RED_MARGIN = 4.0  # EI units above even skin that count as "red": about +0.1 OD of haemoglobin
_EVEN_PERCENTILE = 25  # the patient's even skin: the less red quarter of the area


def erythema_map(od: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Per-pixel erythema index.

    Parameters
    ----------
    od : (H, W, 3) float32 ndarray
        Optical density (natural log) of illuminant-normalised linear RGB.
    px_per_mm : float
        Scale; the map is smoothed over 1 mm (sigma) so sensor and JPEG noise,
        and the edges of pores and lines, which are finer than any redness
        patch, average out.

    Returns
    -------
    (H, W) float32 ndarray
        EI units (100 x decimal optical density); higher = redder.
    """
    ei = (od[..., 1] - od[..., 0]) * np.float32(100 / math.log(10))
    return gaussian(ei, 1.0 * px_per_mm)


def even_level(ei: np.ndarray, mask: np.ndarray) -> float:
    """The patient's even-skin erythema: the 25th percentile of EI over `mask` (EI units)."""
    return float(np.percentile(ei[mask], _EVEN_PERCENTILE)) if mask.any() else math.nan


def redness(ei: np.ndarray, mask: np.ndarray, *, level: float) -> dict[str, float]:
    """Redness metrics over `mask`.

    Parameters
    ----------
    ei : (H, W) float32 ndarray
        From :func:`erythema_map`.
    mask : (H, W) bool ndarray
    level : float
        Even-skin EI the red areas are judged against; for a follow-up photo,
        the baseline's level, so that a blush over the whole area counts.

    Returns
    -------
    dict
        ``erythema_index`` (mean EI, EI units) and ``red_area_pct`` (% of the
        area more than :data:`RED_MARGIN` above `level`).
    """
    if not mask.any():
        return {"erythema_index": math.nan, "red_area_pct": math.nan}
    values = ei[mask]
    return {
        "erythema_index": float(values.mean()),
        "red_area_pct": float(100.0 * np.mean(values > level + RED_MARGIN)),
    }
