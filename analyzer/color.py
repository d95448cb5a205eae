"""Colour: the one place that converts between sRGB and linear light.

Photos arrive sRGB-encoded (``load_image`` converts any embedded profile to
sRGB); measurement of light -- optical density, colour difference, illuminant
correction -- needs linear RGB. The transfer function is IEC 61966-2-1's.

Skin colour is modelled as light absorbed by a few chromophores (the modified
Beer-Lambert law used by Dawson et al. 1980, doi:10.1088/0031-9155/25/4/008,
and Tsumura et al. 2003, doi:10.1145/882262.882344): optical density
``OD = -ln(linear RGB)`` is a sum of haemoglobin, melanin and shading
(geometry and exposure) each along its own direction in (R, G, B). Measuring
OD needs the light taken out first: :func:`estimate_illuminant` takes it from
what is **not** skin (background, clothing, hair), never from the skin being
measured, so a real rise in redness is not normalised away; where a photo
shows no such reference (a close-up) the camera's own white balance is
trusted and the result says so. Between two photos of one patient,
:func:`match_tone` fits the later photo's exposure, white balance and tone
curve to the baseline's on the same non-skin surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "HAEMOGLOBIN", "MELANIN", "SHADING", "Illuminant", "Tone", "estimate_illuminant", "linear_to_srgb",
    "match_tone", "normalize", "optical_density", "srgb_to_linear", "unmix",
]

# Absorption directions in optical density (R, G, B), largest component 1.
# Haemoglobin absorbs green most and red hardly at all (oxy-haemoglobin's
# 542/577 nm bands); melanin's absorption falls with wavelength roughly as
# lambda^-3.5 (Jacques 1998), sampled at 650, 550 and 460 nm; shading --
# surface orientation, distance, exposure -- is neutral.
HAEMOGLOBIN = np.array([0.04, 1.00, 0.55], np.float32)
MELANIN = np.array([0.30, 0.54, 1.00], np.float32)
SHADING = np.array([1.00, 1.00, 1.00], np.float32)
_UNMIX = np.linalg.inv(np.stack([HAEMOGLOBIN, MELANIN, SHADING], axis=1)).astype(np.float32)

_REFERENCE_GREY = 0.75  # linear reflectance the reference surfaces are taken to have
_MIN_REFERENCE_PIXELS = 2000  # fewer non-skin pixels than this: no reference
_DARKEST = 1.0 / 1024  # linear floor: OD at most ln(1024) = 6.9

_LUT = None


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB-encoded values to linear light.

    Parameters
    ----------
    image : ndarray
        uint8 (0..255) or float (0..1) sRGB values, any shape.

    Returns
    -------
    ndarray of float32, 0..1, same shape
    """
    global _LUT
    if image.dtype == np.uint8:
        if _LUT is None:
            _LUT = _decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
        return _LUT[image]
    return _decode(np.asarray(image, dtype=np.float32)).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light (float, clipped to 0..1) to sRGB-encoded float32 values 0..1."""
    v = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


def _decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


@dataclass(frozen=True)
class Illuminant:
    """The light a photo was taken under, as seen on its non-skin reference surfaces.

    ``rgb`` is the mean linear RGB (0..1) of the reference pixels; ``source`` is
    ``"reference"`` (background, clothing, hair) or ``"camera"`` when the photo
    shows too little that is not skin, and the camera's white balance is
    trusted as it is.
    """

    rgb: tuple[float, float, float]
    source: str
    pixels: int

    def to_dict(self) -> dict:
        return {"rgb": [round(v, 5) for v in self.rgb], "source": self.source, "pixels": self.pixels}


def estimate_illuminant(linear: np.ndarray, reference: np.ndarray) -> Illuminant:
    """Estimate the light from the photo's non-skin surfaces.

    The estimate is the mean colour of the reference pixels that rank between
    the 50th and 98th percentile of brightness (unclipped, not in shadow).
    Selecting by rank, not by value, makes the estimate scale exactly with
    exposure and with each channel's white-balance gain, so normalising by it
    cancels both.

    Parameters
    ----------
    linear : (H, W, 3) float32 ndarray
        Linear RGB, 0..1.
    reference : (H, W) bool ndarray
        Pixels that are not skin (see :func:`analyzer.skin.regions`).

    Returns
    -------
    Illuminant
    """
    usable = reference & (linear.max(axis=2) < 0.98) & (linear.min(axis=2) > _DARKEST)
    count = int(usable.sum())
    if count < _MIN_REFERENCE_PIXELS:
        return Illuminant(rgb=(1.0, 1.0, 1.0), source="camera", pixels=count)
    pixels = linear[usable]
    brightness = pixels.sum(axis=1)
    low, high = np.percentile(brightness, [50, 98])
    chosen = pixels[(brightness >= low) & (brightness <= high)]
    rgb = chosen.mean(axis=0, dtype=np.float64)
    return Illuminant(rgb=tuple(float(v) for v in rgb), source="reference", pixels=count)


def normalize(linear: np.ndarray, illuminant: Illuminant) -> np.ndarray:
    """Linear RGB under a standard light: the reference surfaces become neutral grey.

    Returns
    -------
    (H, W, 3) float32 ndarray
        Relative reflectance, the reference at 0.75; may exceed 1 on surfaces
        brighter than the reference.
    """
    if illuminant.source == "camera":
        return linear.astype(np.float32, copy=False)
    gains = (_REFERENCE_GREY / np.asarray(illuminant.rgb, np.float32)).astype(np.float32)
    return linear * gains


def optical_density(linear: np.ndarray) -> np.ndarray:
    """Optical density ``-ln(linear)``, float32, 0 (white) .. 6.9 (black); same shape."""
    return -np.log(np.maximum(linear, _DARKEST, dtype=np.float32))


def unmix(od: np.ndarray) -> np.ndarray:
    """Split optical density into haemoglobin, melanin and shading amounts.

    Solves ``od = h * HAEMOGLOBIN + m * MELANIN + s * SHADING`` per pixel.

    Parameters
    ----------
    od : (..., 3) float32 ndarray
        Optical density (natural log) of R, G, B.

    Returns
    -------
    (..., 3) float32 ndarray
        ``[h, m, s]``: amounts in optical density along each direction (each
        direction's largest component is 1, so 0.1 of melanin darkens blue by
        0.1 OD). A uniform exposure change moves ``s`` only.
    """
    return od @ _UNMIX.T


@dataclass(frozen=True)
class Tone:
    """Per-channel tone mapping ``ln(out) = offset + slope * ln(in)`` on linear RGB.

    A camera's exposure and white balance are the offsets; a different tone
    curve (gamma) is the slope.
    """

    offset: tuple[float, float, float]
    slope: tuple[float, float, float]
    pixels: int  # reference pixels the fit used; 0 = identity (nothing to fit on)

    def apply(self, linear: np.ndarray) -> np.ndarray:
        """Map linear RGB (H, W, 3) float32 through the tone curve; float32, clipped to 0..1."""
        if self.pixels == 0:
            return linear
        out = np.empty_like(linear, dtype=np.float32)
        for c in range(3):
            log = np.log(np.maximum(linear[..., c], _DARKEST))
            out[..., c] = np.exp(self.offset[c] + self.slope[c] * log)
        return np.minimum(out, 1.0)

    def to_dict(self) -> dict:
        return {"offset": [round(v, 4) for v in self.offset], "slope": [round(v, 4) for v in self.slope],
                "pixels": self.pixels}


IDENTITY_TONE = Tone(offset=(0.0, 0.0, 0.0), slope=(1.0, 1.0, 1.0), pixels=0)


def match_tone(moving: np.ndarray, fixed: np.ndarray, reference: np.ndarray) -> Tone:
    """Fit the tone curve that makes `moving` look like `fixed` on shared reference pixels.

    Both photos must be aligned (``moving`` resampled into ``fixed``'s frame).
    Quantiles of the two photos' reference pixels are matched (5th..95th
    percentile, per channel) and a line is fitted in log-log: a monotone
    relighting maps quantiles onto quantiles, so the fit is unaffected by a
    few surfaces that moved or changed.

    Parameters
    ----------
    moving, fixed : (H, W, 3) float32 ndarray
        Linear RGB, 0..1, same shape.
    reference : (H, W) bool ndarray
        Non-skin pixels both photos cover.

    Returns
    -------
    Tone
        Identity (``pixels == 0``) when fewer than 2000 reference pixels are
        usable; the slope is kept within 0.7..1.4 (a gamma change of +-30%).
    """
    usable = reference & (moving.max(axis=2) < 0.98) & (fixed.max(axis=2) < 0.98)
    usable &= (moving.min(axis=2) > _DARKEST) & (fixed.min(axis=2) > _DARKEST)
    count = int(usable.sum())
    if count < _MIN_REFERENCE_PIXELS:
        return IDENTITY_TONE
    q = np.arange(5, 96, 5)
    offsets, slopes = [], []
    for c in range(3):
        x = np.percentile(np.log(moving[..., c][usable]), q)
        y = np.percentile(np.log(fixed[..., c][usable]), q)
        slope, offset = np.polyfit(x, y, 1)
        slope = float(np.clip(slope, 0.7, 1.4))
        offsets.append(float(np.median(y - slope * x)))
        slopes.append(slope)
    return Tone(offset=tuple(offsets), slope=tuple(slopes), pixels=count)
