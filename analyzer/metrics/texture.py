"""Texture: roughness, fine lines and wrinkles, pores -- as far as one photo shows them.

A photo sees relief only through shading: a furrow is darker because less
light reaches its floor and walls. Texture is therefore measured on the
*shading* component of optical density (:func:`analyzer.color.unmix`), which
a red patch or a brown spot does not touch, at physical scales:

* **Roughness**: RMS of the band-pass (difference of Gaussians, 0.25 to 2 mm)
  shading over the area, in relief units (100 x natural-log OD): pores,
  micro-relief, acne-scar edges.
* **Fine lines and wrinkles**: a multi-scale Hessian ridge filter (Frangi et
  al. 1998, doi:10.1007/BFb0056195; Ng et al. 2014's Hybrid Hessian Filter
  for facial wrinkles, doi:10.1007/978-3-319-16634-6_10) at line widths of
  about 0.3 to 1.2 mm, thresholded, keeping only line-shaped pieces at least
  3 mm long; reported as % of the area on a line.
* **Pores**: dark round blobs 0.15 to 0.5 mm across (scale-normalised
  Laplacian of Gaussian maxima), per cm².

What a single 2D photo cannot tell: depth. An ice-pick or boxcar acne scar
shows as a dark pit or a ring of shading whose contrast depends on the light's
angle; its depth in millimetres needs 3D capture (fringe projection,
photometric stereo). With the same lamp and pose each session, a change in
these figures is a change in how much relief casts shading -- which is what
a patient sees -- but not a depth measurement.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from analyzer.metrics.filters import gaussian, inner

__all__ = ["MIN_PX_PER_MM", "find_pores", "relief_map", "roughness_map", "texture", "wrinkle_map"]

# Below this resolution fine lines (0.3 mm) and pores (0.35 mm) are under two pixels across:
# measured on the demo patient at half resolution (3.1 px/mm), pore density fell by half and
# wrinkle density by 13 %, so they are reported as not measurable instead.
MIN_PX_PER_MM = 5.0

_BAND_MM = (0.25, 2.0)  # roughness band: Gaussian sigmas, mm
_LINE_SIGMAS_MM = (0.15, 0.3, 0.5)  # ridge filter scales (sigma), mm: lines ~0.3..1.2 mm wide
_LINE_THRESHOLD = 2.0  # relief units of ridge strength: lines of ~0.05 OD and deeper (below, JPEG noise)
_MIN_LINE_MM = 3.0
# The ridge filter at its largest scale (0.5 mm) reaches 3 sigma = 1.5 mm around a pixel: nearer the
# skin's edge it responds to what lies beyond (lashes, eyelid folds, lip line, hair), not to skin.
# Measured as a Euclidean distance, so it is the same 1.5 mm at any resolution (a structuring
# element rounded to odd pixels was 0.81 mm at 8 px/mm and 0.70 mm at 5 px/mm, and the band
# between, dense in edge ridges, read as 8 % more lines at half resolution).
_EDGE_MM = 3.0 * _LINE_SIGMAS_MM[-1]
_PORE_SIGMA_MM = 0.12  # a pore of ~0.35 mm across
_PORE_THRESHOLD = 1.5  # relief units of scale-normalised blob strength (a pore of 0.03 OD)
_RELIEF_SCALE = np.float32(100.0)


def relief_map(amounts: np.ndarray) -> np.ndarray:
    """Shading optical density in relief units (100 x OD); (H, W) float32, higher = darker/deeper."""
    return amounts[..., 2] * _RELIEF_SCALE


def _blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    return gaussian(image, sigma_px)


def roughness_map(relief: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Band-pass relief (difference of Gaussians, sigma 0.25 and 2 mm); (H, W) float32, relief units."""
    return _blur(relief, _BAND_MM[0] * px_per_mm) - _blur(relief, _BAND_MM[1] * px_per_mm)


def wrinkle_map(relief: np.ndarray, mask: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Pixels on fine lines and wrinkles.

    Parameters
    ----------
    relief : (H, W) float32 ndarray
        From :func:`relief_map` (lines are ridges of higher optical density).
    mask : (H, W) bool ndarray
        Skin; lines within 1.5 mm of its edge (eyelids, lips, hairline) are not counted.
    px_per_mm : float

    Returns
    -------
    (H, W) bool ndarray
    """
    strength = np.zeros(relief.shape, np.float32)
    for sigma_mm in _LINE_SIGMAS_MM:
        s = sigma_mm * px_per_mm
        smooth = _blur(relief, s)
        dxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=1)
        dyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=1)
        dxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3) / 4.0
        half_trace = (dxx + dyy) / 2
        root = np.sqrt(((dxx - dyy) / 2) ** 2 + dxy**2)
        across = half_trace - root  # most negative curvature: across a ridge
        along = half_trace + root
        # a ridge: strongly curved across, flat along (Frangi's blobness penalty, simplified)
        ridge = np.maximum(-across - np.abs(along), 0.0) * np.float32(max(s, 0.4) ** 2)
        np.maximum(strength, ridge, out=strength)
    lines = (strength > _LINE_THRESHOLD) & inner(mask, _EDGE_MM * px_per_mm)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lines.astype(np.uint8), connectivity=8)
    if n <= 1:
        return lines
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    length = np.hypot(w, h)
    area = stats[1:, cv2.CC_STAT_AREA]
    elongated = (length >= _MIN_LINE_MM * px_per_mm) & (area < 0.5 * length * length)
    keep = np.concatenate([[False], elongated])
    # (Counting each line along its centre line at a standard width steadied it under the
    # phantom's relighting, 20 -> 15 % of a planted line's effect, but the centre lines of
    # broad natural folds branch differently from photo to photo: repeat-capture CV rose from
    # 4 to 26 %. Measured with bench/repeatability.py; so the thresholded area is kept.)
    return keep[labels]


def find_pores(relief: np.ndarray, mask: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Pore centres: (N, 2) int array of (row, col) where a dark round blob peaks.

    Blob strength is the scale-normalised Laplacian of Gaussian, ``-sigma^2 * LoG``
    (Lindeberg 1998, doi:10.1023/A:1008045108935), at a pore's scale; a pore is a
    local maximum above the threshold, at least 0.5 mm from the next.
    """
    s = max(_PORE_SIGMA_MM * px_per_mm, 0.6)
    smooth = _blur(relief, s)
    log = cv2.Laplacian(smooth, cv2.CV_32F, ksize=1)
    blob = -log * np.float32(s * s)
    spacing = max(3, int(0.5 * px_per_mm) | 1)
    local_max = blob == cv2.dilate(blob, np.ones((spacing, spacing), np.uint8))
    peaks = local_max & (blob > _PORE_THRESHOLD) & mask
    return np.argwhere(peaks)


def texture(band: np.ndarray, mask: np.ndarray, lines: np.ndarray, pores: np.ndarray,
            *, px_per_mm: float) -> dict[str, float]:
    """Texture metrics over `mask`.

    Parameters
    ----------
    band : (H, W) float32 ndarray
        From :func:`roughness_map`.
    mask, lines : (H, W) bool ndarray
        The area, and pixels on lines (:func:`wrinkle_map`).
    pores : (N, 2) int ndarray
        From :func:`find_pores`.
    px_per_mm : float

    Returns
    -------
    dict
        ``roughness`` (relief units), ``wrinkle_density`` (% of the area on a
        line), ``pore_density`` (pores per cm²); the last two are NaN below
        :data:`MIN_PX_PER_MM`.
    """
    if not mask.any():
        return {"roughness": math.nan, "wrinkle_density": math.nan, "pore_density": math.nan}
    fine = px_per_mm >= MIN_PX_PER_MM
    area_cm2 = np.count_nonzero(mask) / (10.0 * px_per_mm) ** 2
    inside = int(np.count_nonzero(mask[pores[:, 0], pores[:, 1]])) if len(pores) else 0
    return {
        "roughness": float(np.sqrt(np.mean(band[mask] ** 2))),
        "wrinkle_density": float(100.0 * np.count_nonzero(lines & mask) / np.count_nonzero(mask))
        if fine else math.nan,
        "pore_density": float(inside / area_cm2) if fine else math.nan,
    }
