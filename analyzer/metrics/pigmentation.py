"""Pigmentation: melanin, brown spots, skin tone and its evenness.

Melanin is separated from haemoglobin and shading by unmixing optical density
along the chromophores' absorption directions (:func:`analyzer.color.unmix`;
Tsumura et al. 2003, doi:10.1145/882262.882344), so redness does not read as
pigment and the curvature of a cheek does not read as a darker tone.

* **Melanin index**: mean melanin over the area, in MI units (100 x decimal
  optical density along melanin's direction).
* **Brown spots**: blobs of melanin above the surrounding skin's (found as
  scale-space maxima of the Laplacian of Gaussian at radii 0.6 to 6 mm), at
  least 10 MI units (about 0.23 OD) darker at their centre and on average,
  outlined where they exceed half the centre's contrast (and at least 5 MI units); 1 to 20 mm across
  and not line-shaped: age spots, sun spots, post-inflammatory
  hyperpigmentation; and with skin all round it: a blob whose outline comes
  within 1 mm of the area's edge is not a spot (:data:`EDGE_MM`). Each spot's
  size and contrast is reported.
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

from analyzer.color import lab
from analyzer.metrics.filters import gaussian, inner, laplacian_of_gaussian

__all__ = ["APPEAR_BELOW", "APPEAR_MARGIN", "EDGE_MM", "Spot", "disc_means", "find_spots", "melanin_excess",
           "melanin_map", "outline_spots", "pigmentation", "still_visible", "tone_map"]

_MI_SCALE = np.float32(100 / math.log(10))  # natural-log OD -> MI units
_SPOT_LOW, _SPOT_HIGH = 5.0, 10.0  # MI units over the surrounding skin (hysteresis)
# A spot found in a later photo is new only where the baseline was clearly below the
# threshold: a blemish at 9.8 MI units in one photo and 10.1 in the next is not a new spot.
APPEAR_BELOW = _SPOT_HIGH - 3.0
# Compared over the same place in both photos, a spot is new only if it is this much darker than
# the baseline there (the same margin as the threshold's: 10 to be found, 7 to count as absent).
APPEAR_MARGIN = _SPOT_HIGH - APPEAR_BELOW
_SPOT_DIAMETER_MM = (1.0, 20.0)
_SPOT_RADII_MM = (0.6, 0.9, 1.3, 1.9, 2.8, 4.0, 6.0)  # blob scales searched
_MAX_ELONGATION = 4.0  # major / minor axis; longer shapes are lines or edges, not spots
_BACKGROUND_SIGMA_MM = 4.0
# A blob whose outline comes this near the measured area's edge is not counted: the melanin map,
# smoothed over 0.5 mm (sigma), still holds within 2 sigma of the edge what lies beyond it (lashes,
# an eyelid's or a nostril's shadow, a brow, the hairline, the jaw's shadow), and where the edge
# cuts a spot its size is unknown. Measured at algorithm 1.8, such blobs were 99 of the 117 spots
# found on the demo patient's baseline front view (5 of its 6 planted spots are found with or
# without the rule) and 45 of the astronaut phantom's 62 in its hand-drawn mask.
EDGE_MM = 1.0


@dataclass(frozen=True)
class Spot:
    """One brown spot, in the analysed photo's frame."""

    x: float  # centroid, px
    y: float
    diameter_mm: float  # equivalent diameter
    contrast: float  # mean melanin excess over the surrounding skin, MI units
    # How its outline was drawn, so that another photo of the same place is outlined alike
    # (:func:`outline_spots`): from the blob's peak (px), where the excess exceeds `level`
    # (MI units: half the peak's, at least 5), within 2.5 blob radii (mm) of the peak.
    peak_x: float = math.nan
    peak_y: float = math.nan
    radius_mm: float = math.nan
    level: float = math.nan


def melanin_map(amounts: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Melanin per pixel in MI units, smoothed over 0.5 mm (sigma; JPEG and sensor noise); (H, W) float32.

    `amounts` is :func:`analyzer.color.unmix` output, (H, W, 3) float32.
    """
    return gaussian(amounts[..., 1] * _MI_SCALE, 0.5 * px_per_mm)


def melanin_excess(mi: np.ndarray, mask: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Melanin above the surrounding skin's, MI units; 0 outside `mask`. (H, W) float32."""
    return np.where(mask, mi - _surround(mi, mask, px_per_mm), 0.0).astype(np.float32)


def still_visible(excess: np.ndarray, points: np.ndarray, *, px_per_mm: float,
                  level: float = _SPOT_LOW) -> np.ndarray:
    """Whether there is a spot at known places: excess of at least `level` MI units within 0.5 mm.

    By default the lower of the two detection thresholds, so that a spot found
    in the baseline is not lost to noise in a later photo (hysteresis across
    visits; see :data:`APPEAR_MARGIN` for the other direction).

    Parameters
    ----------
    excess : (H, W) float32 ndarray
        From :func:`melanin_excess`.
    points : (N, 2) float ndarray
        Spot centres (x, y) in `excess`'s pixels.

    Returns
    -------
    (N,) bool ndarray
    """
    reach = max(1, round(0.5 * px_per_mm))
    local = cv2.dilate(excess, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    h, w = excess.shape
    out = np.zeros(len(points), bool)
    for i, (x, y) in enumerate(points):
        c, r = int(round(x)), int(round(y))
        out[i] = 0 <= r < h and 0 <= c < w and local[r, c] >= level
    return out


def disc_means(excess: np.ndarray, mask: np.ndarray, points: np.ndarray, diameters_mm, *,
               px_per_mm: float) -> np.ndarray:
    """Mean melanin excess over the skin in a disc of each spot's equivalent diameter, MI units.

    The same statistic in two photos of the same place, so a spot can be
    compared with what the other photo shows there (NaN where the disc holds
    no skin or lies outside the map).

    Parameters
    ----------
    excess : (H, W) float32 ndarray
        From :func:`melanin_excess`.
    mask : (H, W) bool ndarray
        The measured skin.
    points : (N, 2) float ndarray
        Disc centres (x, y) in `excess`'s pixels.
    diameters_mm : (N,) float array-like

    Returns
    -------
    (N,) float ndarray
    """
    h, w = excess.shape
    out = np.full(len(points), np.nan)
    for i, ((x, y), d_mm) in enumerate(zip(points, diameters_mm, strict=True)):
        c, r = int(round(x)), int(round(y))
        if not (0 <= r < h and 0 <= c < w):
            continue
        reach = max(1, round(d_mm / 2 * px_per_mm))
        r0, c0 = max(0, r - reach), max(0, c - reach)
        r1, c1 = min(h, r + reach + 1), min(w, c + reach + 1)
        window = (slice(r0, r1), slice(c0, c1))
        yy, xx = np.ogrid[r0 - r:r1 - r, c0 - c:c1 - c]
        inside = (yy * yy + xx * xx <= reach * reach) & mask[window]
        if inside.any():
            out[i] = float(excess[window][inside].mean())
    return out


def find_spots(excess: np.ndarray, mask: np.ndarray, *, px_per_mm: float) -> tuple[list[Spot], np.ndarray]:
    """Brown spots in a melanin map.

    Parameters
    ----------
    excess : (H, W) float32 ndarray
        From :func:`melanin_excess`.
    mask : (H, W) bool ndarray
        The skin to search; a blob whose outline comes within :data:`EDGE_MM` of its edge
        (or the photo's) is left out, and so are the weaker blobs within its outline.
    px_per_mm : float

    Returns
    -------
    spots : list of Spot
    spot_mask : (H, W) bool ndarray
        Pixels on a spot.
    """
    near_edge = mask & ~inner(mask, EDGE_MM * px_per_mm)
    strength, radius = _blob_strength(excess, px_per_mm)
    window = max(3, int(2 * _SPOT_RADII_MM[0] * px_per_mm) | 1)
    peaks = (strength == cv2.dilate(strength, np.ones((window, window), np.uint8))) & (strength > 0) & mask
    rows, cols = np.nonzero(peaks)
    order = np.argsort(-strength[rows, cols])
    spots, spot_mask = [], np.zeros(mask.shape, bool)
    cut = np.zeros(mask.shape, bool)  # blobs left out at the edge
    lo, hi = (d * px_per_mm for d in _SPOT_DIAMETER_MM)
    for r, c in zip(rows[order], cols[order], strict=True):
        if spot_mask[r, c] or cut[r, c]:
            continue  # inside a stronger spot, or a blob cut by the edge
        contrast = float(excess[r, c])
        if contrast < _SPOT_HIGH:  # a spot's centre, and (below) its mean, are at least this dark
            continue
        level = max(_SPOT_LOW, contrast / 2)
        region, (r0, c0) = _region(excess, r, c, radius[r, c], level)
        box = (slice(r0, r0 + region.shape[0]), slice(c0, c0 + region.shape[1]))
        if (region & near_edge[box]).any():  # its outline reaches the edge: not a spot
            cut[box] |= region
            continue
        m = cv2.moments(region.astype(np.uint8), binaryImage=True)
        d = math.sqrt(4 * m["m00"] / math.pi)  # equivalent diameter, px
        mean = float(excess[box][region].mean())
        # principal axes from the second central moments (4 x the SD along each, as for an ellipse)
        cov = np.array([[m["mu20"], m["mu11"]], [m["mu11"], m["mu02"]]]) / max(m["m00"], 1.0)
        minor, major = 4 * np.sqrt(np.maximum(np.linalg.eigvalsh(cov), 0.0))
        if mean < _SPOT_HIGH or major > _MAX_ELONGATION * max(minor, 1.0) or not lo <= d <= hi:
            continue
        x, y = m["m10"] / m["m00"], m["m01"] / m["m00"]
        spots.append(Spot(x=float(x + c0), y=float(y + r0), diameter_mm=float(d / px_per_mm), contrast=mean,
                          peak_x=float(c), peak_y=float(r), radius_mm=float(radius[r, c] / px_per_mm),
                          level=level))
        spot_mask[box] |= region
    return spots, spot_mask


def outline_spots(excess: np.ndarray, peaks: np.ndarray, spots: list[Spot], *,
                  px_per_mm: float) -> np.ndarray:
    """Known spots outlined in a photo of the same place: the area each covers there.

    Each is drawn as :func:`find_spots` drew it where it was found: from its
    peak (or the darkest pixel within 0.5 mm of it, should the peak have
    moved), the connected area where the excess exceeds the spot's own level,
    within 2.5 blob radii. A later photo's followed spots are outlined at the
    baseline's levels, so an unchanged spot is outlined alike in both photos,
    a spot that fades shrinks until it is gone and one that darkens or
    spreads grows, and a faint blemish that one photo happens to find or miss
    adds or drops no area.

    Parameters
    ----------
    excess : (H, W) float32 ndarray
        From :func:`melanin_excess`.
    peaks : (N, 2) float ndarray
        Each spot's peak (x, y) in `excess`'s pixels.
    spots : list of N Spot
        Their levels and blob radii.

    Returns
    -------
    (H, W) bool ndarray
        Pixels on those spots (none for a spot no longer above its level).
    """
    out = np.zeros(excess.shape, bool)
    h, w = excess.shape
    reach = max(1, round(0.5 * px_per_mm))
    for (x, y), spot in zip(peaks, spots, strict=True):
        c, r = int(round(x)), int(round(y))
        if not (0 <= r < h and 0 <= c < w):
            continue
        if excess[r, c] <= spot.level:
            r0, c0 = max(0, r - reach), max(0, c - reach)
            near = excess[r0:r + reach + 1, c0:c + reach + 1]
            dr, dc = np.unravel_index(int(np.argmax(near)), near.shape)
            r, c = r0 + int(dr), c0 + int(dc)
            if excess[r, c] <= spot.level:
                continue
        region, (r0, c0) = _region(excess, r, c, spot.radius_mm * px_per_mm, spot.level)
        out[r0:r0 + region.shape[0], c0:c0 + region.shape[1]] |= region
    return out


def _blob_strength(excess: np.ndarray, px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale-normalised blob strength ``-sigma^2 LoG`` (Lindeberg 1998) maximised over spot radii.

    Returns the strength (MI units) and the radius (px) where it peaks, per pixel.
    """
    strength = np.zeros(excess.shape, np.float32)
    radius = np.zeros(excess.shape, np.float32)
    for radius_mm in _SPOT_RADII_MM:
        r = radius_mm * px_per_mm
        sigma = r / math.sqrt(2)  # the Laplacian of a Gaussian peaks on a disc of radius sigma * sqrt(2)
        if sigma < 0.7:
            continue
        response = -laplacian_of_gaussian(excess, sigma)
        better = response > strength
        strength[better] = response[better]
        radius[better] = r
    return strength, radius


def _region(excess: np.ndarray, row: int, col: int, radius: float, level: float):
    """The connected area around (row, col), within 2.5 radii, where `excess` exceeds `level`."""
    reach = int(math.ceil(2.5 * max(radius, 1.0)))
    r0, c0 = max(0, row - reach), max(0, col - reach)
    window = excess[r0:row + reach + 1, c0:col + reach + 1] > level
    _, labels = cv2.connectedComponents(window.astype(np.uint8), connectivity=8)
    return labels == labels[row - r0, col - c0], (r0, c0)


def _surround(mi: np.ndarray, mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Melanin of the skin around each pixel: a masked Gaussian mean that skips spots.

    Two passes: the second leaves out what the first found clearly darker, so
    a large spot does not raise its own background.
    """
    sigma = _BACKGROUND_SIGMA_MM * px_per_mm
    use = mask.astype(np.float32)
    for _ in range(2):
        weight = gaussian(use, sigma)
        background = gaussian(mi * use, sigma) / np.maximum(weight, 1e-3)
        use = (mask & (mi - background < _SPOT_LOW)).astype(np.float32)
    return background


def tone_map(mi: np.ndarray, *, px_per_mm: float) -> np.ndarray:
    """Melanin smoothed over 1 mm (sigma): the tone a viewer sees; (H, W) float32, MI units."""
    return gaussian(mi, 1.0 * px_per_mm)


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
    lightness, _, yellowness = lab(np.array(cv2.mean(reflectance, mask.astype(np.uint8))[:3]))
    return {
        "melanin_index": float(mi[mask].mean()),
        "spot_count": float(len(inside)),
        "spot_area_pct": float(100.0 * np.count_nonzero(spot_mask & mask) / np.count_nonzero(mask)),
        "ita_deg": float(math.degrees(math.atan2(lightness - 50.0, yellowness))),
        "tone_unevenness": float(tone[mask].std()),
    }
