"""Where each kind of change happened: redness, pigmentation and texture maps in the baseline's frame.

The maps behind the metrics (:class:`analyzer.compare.Maps`) of the later
photo are carried into the baseline's analysis frame through the alignment's
homography (the dense residual, a few pixels, does not matter at map scale),
differenced with the baseline's, and drawn over the baseline photo: warm where
the measure rose (redder, darker, rougher), blue where it fell, clear where
the change is within what repeat photos of unchanged skin show.

Display thresholds (``FAMILIES``) were read off the demo patient's first
and second visits (no change planted in redness, pigmentation or texture
between them): 99th percentile of the per-pixel change over the skin --
erythema 0.85 EI units, melanin 1.4 MI units (both after 1 mm smoothing),
local roughness 2.0 % -- times about 1.5; texture's was then raised to 8 %,
above the 98th percentile (4-7 %) that a change of light and JPEG 85 leave on
the smoother enlarged-astronaut phantom (tests/test_change_maps.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.compare import Comparison, Maps

__all__ = ["FAMILIES", "change_fields", "change_maps"]


@dataclass(frozen=True)
class _Family:
    label: str
    shown_from: float  # |change| below this is left clear
    full: float  # |change| drawn at full strength
    unit: str


FAMILIES = {
    "redness": _Family("Redness (erythema index)", 1.2, 8.0, "EI units"),
    "pigmentation": _Family("Pigmentation (melanin index)", 2.0, 8.0, "MI units"),
    "texture": _Family("Texture (local roughness)", 8.0, 30.0, "%"),
}
_RISE = np.array([214, 48, 39], np.float32)  # warm red: the measure rose
_FALL = np.array([49, 130, 189], np.float32)  # blue: it fell
_SMOOTH_MM = 1.0
_ROUGHNESS_WINDOW_MM = 1.5


def change_maps(before: np.ndarray, comparison: Comparison, *, max_side: int = 1400) -> dict[str, np.ndarray]:
    """Draw the change of each family over the baseline photo.

    Parameters
    ----------
    before : (H, W, 3) uint8 ndarray
        The baseline photo the comparison was made against (sRGB).
    comparison : Comparison
        From :func:`analyzer.compare`; must be aligned (``comparison.after`` not None).
    max_side : int
        Longest side of the returned images, px.

    Returns
    -------
    dict
        ``{"redness" | "pigmentation" | "texture": (h, w, 3) uint8 RGB}``: the
        baseline photo's analysed area (``comparison.before.maps.box``) with
        the change drawn over the skin compared; the rest dimmed.
    """
    fields = change_fields(comparison)
    b = comparison.before.maps
    x0, y0, x1, y1 = b.box
    size = (b.mask.shape[1], b.mask.shape[0])
    photo = cv2.resize(before[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA).astype(np.float32)
    scale = min(1.0, max_side / max(size))
    out = {}
    for name, change in fields.items():
        fam = FAMILIES[name]
        size_of = np.abs(np.nan_to_num(change))
        strength = np.clip((size_of - fam.shown_from) / (fam.full - fam.shown_from), 0, 1)
        colour = np.where((change > 0)[..., None], _RISE, _FALL)
        alpha = (0.8 * np.sqrt(strength))[..., None]
        image = photo * (1 - alpha) + colour * alpha
        image[~b.mask] *= 0.45  # outside the compared skin: dimmed
        image = np.clip(image, 0, 255).astype(np.uint8)
        if scale < 1.0:
            image = cv2.resize(image, (round(size[0] * scale), round(size[1] * scale)),
                               interpolation=cv2.INTER_AREA)
        out[name] = image
    return out


def change_fields(comparison: Comparison) -> dict[str, np.ndarray]:
    """The change of each family per pixel of the baseline's analysis frame (float32, NaN off the skin).

    ``redness``: erythema index, EI units; ``pigmentation``: melanin index, MI
    units (both smoothed over 1 mm); ``texture``: local roughness, % of the
    baseline's. Frame: ``comparison.before.maps`` (``box``, ``factor``).
    """
    if comparison.after is None:
        raise ValueError("the photos were not aligned: there is no change to draw")
    b, a = comparison.before.maps, comparison.after.maps
    px_mm = comparison.before.px_per_mm * b.factor
    to_after = _frame(a) @ np.linalg.inv(comparison.alignment.homography) @ np.linalg.inv(_frame(b))
    size = (b.mask.shape[1], b.mask.shape[0])

    def carried(values: np.ndarray) -> np.ndarray:
        return cv2.warpPerspective(values.astype(np.float32), to_after, size,
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=np.nan)

    sigma = _SMOOTH_MM * px_mm
    rough_b = _roughness(b.relief, px_mm)
    rough_a = carried(_roughness(a.relief, comparison.after.px_per_mm * a.factor))
    fields = {
        "redness": cv2.GaussianBlur(carried(a.erythema) - b.erythema, (0, 0), sigma),
        "pigmentation": cv2.GaussianBlur(carried(a.melanin) - b.melanin, (0, 0), sigma),
        "texture": 100.0 * (rough_a - rough_b) / np.maximum(rough_b, 1e-3),
    }
    for change in fields.values():
        change[~b.mask] = np.nan
    return fields


def _frame(m: Maps) -> np.ndarray:
    """3x3: photo px -> the maps' frame px."""
    x0, y0 = m.box[:2]
    f = m.factor
    return np.array([[f, 0, -x0 * f], [0, f, -y0 * f], [0, 0, 1.0]])


def _roughness(relief: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Local RMS of the relief over ~1.5 mm, relief units."""
    return np.sqrt(cv2.GaussianBlur(relief.astype(np.float32) ** 2, (0, 0), _ROUGHNESS_WINDOW_MM * px_per_mm))
