"""Pigmentation: melanin, brown spots, skin tone and its evenness.

Melanin is separated from haemoglobin and shading by unmixing optical density
along the chromophores' absorption directions (:func:`analyzer.color.unmix`;
Tsumura et al. 2003, doi:10.1145/882262.882344), so redness does not read as
pigment and the curvature of a cheek does not read as a darker tone.

* **Melanin index**: mean melanin over the area, in MI units (100 x decimal
  optical density along melanin's direction).
* **Brown spots**: connected areas whose melanin exceeds the surrounding
  skin's by a fixed contrast (hysteresis 5 / 10 MI units, about 0.12 / 0.23 OD), 1 to 20 mm
  across and not line-shaped: age spots, sun spots, post-inflammatory
  hyperpigmentation. Each spot's size and contrast is reported.
* **ITA**: individual typology angle, ``arctan((L* - 50) / b*)`` in degrees
  (Chardon et al. 1991, doi:10.1111/j.1467-2494.1991.tb00561.x); > 55 very
  light, < -30 dark. Computed on illuminant-normalised colour, so it depends
  on the reference surfaces being neutral; use it for change, not diagnosis.
* **Tone unevenness**: standard deviation of melanin (smoothed over 1 mm) in
  MI units; lower = more even.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.measure import label, regionprops

from analyzer.color import linear_to_srgb

__all__ = ["Spot", "find_spots", "melanin_map", "pigmentation", "tone_map"]

_MI_SCALE = np.float32(100 / math.log(10))  # natural-log OD -> MI units
_SPOT_LOW, _SPOT_HIGH = 5.0, 10.0  # MI units over the surrounding skin (hysteresis)
_SPOT_DIAMETER_MM = (1.0, 20.0)
_MAX_ELONGATION = 4.0  # major / minor axis; longer shapes are lines or edges, not spots
_BACKGROUND_SIGMA_MM = 4.0


@dataclass(frozen=True)
class Spot:
    """One brown spot, in the analysed photo's frame."""

    x: float  # centroid, px
    y: float
    diameter_mm: float  # equivalent diameter
    contrast: float  # mean melanin excess over the surrounding skin, MI units


def melanin_map(amounts: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Melanin per pixel in MI units, smoothed over 0.25 mm (sigma); (H, W) float32.

    `amounts` is :func:`analyzer.color.unmix` output, (H, W, 3) float32.
    """
    return cv2.GaussianBlur(amounts[..., 1] * _MI_SCALE, (0, 0), max(0.25 * px_per_mm, 0.5))


def find_spots(mi: np.ndarray, mask: np.ndarray, *, px_per_mm: float) -> tuple[list[Spot], np.ndarray]:
    """Brown spots in a melanin map.

    Parameters
    ----------
    mi : (H, W) float32 ndarray
        From :func:`melanin_map`.
    mask : (H, W) bool ndarray
        The skin to search.
    px_per_mm : float

    Returns
    -------
    spots : list of Spot
    spot_mask : (H, W) bool ndarray
        Pixels on a spot.
    """
    excess = mi - _surround(mi, mask, px_per_mm)
    strong = mask & (excess > _SPOT_HIGH)
    weak = mask & (excess > _SPOT_LOW)
    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    labels = np.where(keep[labels], labels, 0)
    spots, spot_mask = [], np.zeros(mask.shape, bool)
    lo, hi = (d * px_per_mm for d in _SPOT_DIAMETER_MM)
    for region in regionprops(label(labels > 0, connectivity=2), intensity_image=excess):
        d = region.equivalent_diameter_area
        if not lo <= d <= hi:
            continue
        if region.axis_major_length > _MAX_ELONGATION * max(region.axis_minor_length, 1.0):
            continue
        y, x = region.centroid
        spots.append(Spot(x=float(x), y=float(y), diameter_mm=float(d / px_per_mm),
                          contrast=float(region.intensity_mean)))
        r0, c0, r1, c1 = region.bbox
        spot_mask[r0:r1, c0:c1] |= region.image
    return spots, spot_mask


def _surround(mi: np.ndarray, mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Melanin of the skin around each pixel: a masked Gaussian mean that skips spots.

    Two passes: the second leaves out what the first found clearly darker, so
    a large spot does not raise its own background.
    """
    sigma = _BACKGROUND_SIGMA_MM * px_per_mm
    use = mask.astype(np.float32)
    for _ in range(2):
        weight = cv2.GaussianBlur(use, (0, 0), sigma)
        background = cv2.GaussianBlur(mi * use, (0, 0), sigma) / np.maximum(weight, 1e-3)
        use = (mask & (mi - background < _SPOT_LOW)).astype(np.float32)
    return background


def tone_map(mi: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Melanin smoothed over 1 mm (sigma): the tone a viewer sees; (H, W) float32, MI units."""
    return cv2.GaussianBlur(mi, (0, 0), max(1.0 * px_per_mm, 0.5))


def pigmentation(mi: np.ndarray, tone: np.ndarray, reflectance: np.ndarray, mask: np.ndarray,
                 spot_mask: np.ndarray, spots: list[Spot]) -> dict[str, float]:
    """Pigmentation metrics over `mask`.

    Parameters
    ----------
    mi : (H, W) float32 ndarray
        Melanin map, MI units.
    tone : (H, W) float32 ndarray
        From :func:`tone_map`.
    reflectance : (H, W, 3) float32 ndarray
        Illuminant-normalised linear RGB (for ITA).
    mask, spot_mask : (H, W) bool ndarray
    spots : list of Spot
        Spots whose centroid lies in `mask` are counted.

    Returns
    -------
    dict
        ``melanin_index``, ``spot_count``, ``spot_area_pct``, ``ita_deg``, ``tone_unevenness``.
    """
    if not mask.any():
        return dict.fromkeys(("melanin_index", "spot_count", "spot_area_pct", "ita_deg", "tone_unevenness"),
                             math.nan)
    inside = [s for s in spots if mask[min(int(round(s.y)), mask.shape[0] - 1),
                                       min(int(round(s.x)), mask.shape[1] - 1)]]
    mean_rgb = reflectance[mask].mean(axis=0).reshape(1, 1, 3).astype(np.float32)
    srgb = linear_to_srgb(np.clip(mean_rgb, 0.0, 1.0))
    lab = cv2.cvtColor(srgb, cv2.COLOR_RGB2Lab)[0, 0]
    return {
        "melanin_index": float(mi[mask].mean()),
        "spot_count": float(len(inside)),
        "spot_area_pct": float(100.0 * np.count_nonzero(spot_mask & mask) / np.count_nonzero(mask)),
        "ita_deg": float(math.degrees(math.atan2(float(lab[0]) - 50.0, float(lab[2])))),
        "tone_unevenness": float(tone[mask].std()),
    }
