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

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "HAEMOGLOBIN", "MELANIN", "SHADING", "SHAPE_LIMIT", "Illuminant", "Tone", "block_means", "block_shares",
    "departure_from_power", "estimate_illuminant",
    "linear_to_srgb", "lab", "match_tone", "match_tone_pairs", "match_tone_power", "normalize",
    "optical_density", "srgb_to_linear", "unmix",
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

_REFERENCE_GREY = 0.5  # linear reflectance the reference's mean is taken to have
_BAND = (0.50, 0.95)  # the reference pixels the light is estimated on: ranks 50..95 % per channel
_MIN_REFERENCE_PIXELS = 2000  # fewer non-skin pixels than this: no reference
_DARKEST = 1.0 / 1024  # linear floor: OD at most ln(1024) = 6.9

_LUT = None
_LOG_LUT = None


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

    The estimate is, per channel, the mean of the reference pixels ranked
    between that channel's 50th and 95th percentile: the brighter surfaces (backdrop,
    light clothing), away from clipped highlights and from near-black pixels,
    whose 8-bit values do not scale with the light. Chosen by rank, the same
    pixels are used whatever the exposure and each channel's white-balance
    gain, so the estimate scales exactly with both and normalising by it
    cancels them; and unlike a median, which can sit in the gap between a
    bright backdrop and dark hair, it moves little when the area gains or
    loses a strip of either at its edge.

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
    count = int(np.count_nonzero(reference))
    if count < _MIN_REFERENCE_PIXELS:
        return Illuminant(rgb=(1.0, 1.0, 1.0), source="camera", pixels=count)
    rgb = []
    first, last = int(count * _BAND[0]), max(int(count * _BAND[1]), int(count * _BAND[0]) + 1)
    for c in range(3):
        # the band by rank, not by value: 8-bit values tie in whole code values, and a
        # band bounded by value takes all of a tie or none of it -- a darker gain merges
        # neighbouring codes, and 2-3 % more pixels at the band's foot moved the estimate
        # by 1 % (0.8 MI units of melanin)
        ranked = np.sort(linear[..., c][reference])
        rgb.append(max(float(ranked[first:last].mean()), _DARKEST))
    return Illuminant(rgb=tuple(rgb), source="reference", pixels=count)


def normalize(linear: np.ndarray, illuminant: Illuminant) -> np.ndarray:
    """Linear RGB under a standard light: the reference surfaces become neutral grey.

    Returns
    -------
    (H, W, 3) float32 ndarray
        Relative reflectance, the reference's mean at 0.5; may exceed 1 on surfaces
        brighter than the reference.
    """
    if illuminant.source == "camera":
        return linear.astype(np.float32, copy=False)
    gains = (_REFERENCE_GREY / np.asarray(illuminant.rgb, np.float32)).astype(np.float32)
    return linear * gains


# linear sRGB -> CIE XYZ (D65), IEC 61966-2-1; and the D65 white point
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def lab(linear_rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of linear sRGB values, without clipping: (..., 3) float64 L*, a*, b*.

    Reflectances above 1 (surfaces brighter than the reference) give L* above
    100 rather than all reading as white.
    """
    xyz = np.asarray(linear_rgb, np.float64) @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    x, y, z = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116 * y - 16, 500 * (x - y), 200 * (y - z)], axis=-1)


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
    """A per-channel monotone tone mapping on linear RGB, fitted between two photos.

    Stored as matching quantiles of log-linear values (``knots_in`` ->
    ``knots_out``, one row per channel) and applied by linear interpolation in
    log space; beyond the knots, along the line fitted through all of them. Exposure and
    white balance shift the curve; a different tone curve (gamma, a phone's
    "look") bends it. No parametric form is assumed.
    """

    knots_in: tuple[tuple[float, ...], ...]
    knots_out: tuple[tuple[float, ...], ...]
    pixels: int  # reference pixels (or block means, see block_means) the fit used; 0 = identity
    slopes: tuple[float, ...] = ()  # per channel, of the straight line through all knots (log-log)
    # how far the reference's paired tones lie from one shared power of the sRGB values (gains
    # free): RMS, in 8-bit sRGB code steps (see departure_from_power); 0.0 when not measured
    departure: float = 0.0

    def apply(self, linear: np.ndarray) -> np.ndarray:
        """Map linear RGB (H, W, 3) float32 through the tone curve; float32, clipped to 0..1."""
        if self.pixels == 0:
            return linear
        out = np.empty_like(linear, dtype=np.float32)
        for c in range(3):
            x, y = np.asarray(self.knots_in[c]), np.asarray(self.knots_out[c])
            log = np.log(np.maximum(linear[..., c], _DARKEST))
            mapped = np.interp(log, x, y)
            low, high = log < x[0], log > x[-1]
            # beyond the reference's range (skin brighter than any backdrop pixel): the line
            # through all the knots, whose slope is steadier than the end segments'
            mapped[low] = y[0] + (log[low] - x[0]) * self.slopes[c]
            mapped[high] = y[-1] + (log[high] - x[-1]) * self.slopes[c]
            out[..., c] = np.exp(mapped)
        return np.minimum(out, 1.0)

    def gains(self) -> tuple[float, float, float]:
        """The mapping's factor at mid-grey (linear 0.18), per channel: its exposure and white balance."""
        if self.pixels == 0:
            return (1.0, 1.0, 1.0)
        grey = self.apply(np.full((1, 1, 3), 0.18, np.float32))[0, 0]
        return tuple(float(v / 0.18) for v in grey)

    def change(self) -> dict[str, float]:
        """How the mapped photo's light differed from the target's, each 1.0 when the same.

        ``brightness``: the mapped photo's mid-grey over the target's (>1: it was brighter);
        ``red_balance`` / ``blue_balance``: that ratio for red and blue over green's (white
        balance); ``power``: the power of the sRGB values its tone curve had over the
        target's (a gamma, as an editing app applies), from :meth:`srgb_power`. On the
        phantoms' 12 relightings the power came within 0.008 of the gamma applied and the
        balances within 1 %. ``departure`` (0.0 when the same, unlike the others): how far
        the two photos' tone curves differ in *shape*, beyond a power (another phone, camera
        app or "look"), in 8-bit code steps (:func:`departure_from_power`).
        """
        if self.pixels == 0:
            return {"brightness": 1.0, "red_balance": 1.0, "blue_balance": 1.0, "power": 1.0,
                    "departure": 0.0}
        r, g, b = self.gains()
        return {"brightness": 1 / g, "red_balance": g / r, "blue_balance": g / b, "power": self.srgb_power(),
                "departure": self.departure}

    def srgb_power(self) -> float:
        """The power ``p`` of the sRGB values, ``s_mapped = s_target ** p``, the knots read as.

        Exposure and white balance (gains in linear light) drop out. In log-log of linear
        light, a power of the sRGB values maps with the local slope ``p * e(s) / e(s ** (1 / p))``
        at the mapped photo's sRGB value ``s``, where ``e(s) = 2.4 s / (s + 0.055)`` (1 on
        the linear foot, s <= 0.04045) is the local exponent of the sRGB decoding curve (IEC
        61966-2-1): not ``p`` itself where ``e`` changes fast, in the dark. So per channel
        each segment between two knots is divided by that ratio at its middle, and ``p`` is the
        sum of the segments' rises so corrected over the sum of their runs (the target's log
        range), solved by fixed-point iteration (12 steps come within 2e-5 of the limit on the
        phantoms' relightings). Exact for knots on such a curve (within 0.0007 on the
        synthetic check, the rest being the knots' linear interpolation); on the phantoms' 12
        relightings within 0.006 and 0.008 of the gamma applied, where the knots' mean slope
        alone (before algorithm 1.8) came within 0.027 and 0.052 (the second face's reference
        is a dark cap and uniform).
        """
        if self.pixels == 0:
            return 1.0
        estimates = []
        for x, y in zip(self.knots_in, self.knots_out, strict=True):
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
            rise, run = np.diff(x), np.diff(y)  # log mapped photo, log target: linear light
            if run.sum() < 1e-6:
                continue
            middle = np.asarray(linear_to_srgb(np.exp((x[1:] + x[:-1]) / 2).astype(np.float32)), np.float64)
            power = rise.sum() / run.sum()
            for _ in range(_POWER_STEPS):
                ratio = _srgb_exponent(middle) / _srgb_exponent(middle ** (1.0 / power))
                power = float(np.clip((rise / ratio).sum() / run.sum(), 0.5, 2.0))
            estimates.append(power)
        return float(np.mean(estimates)) if estimates else 1.0

    def to_dict(self) -> dict:
        return {"gains_at_mid_grey": [round(v, 4) for v in self.gains()], "pixels": self.pixels,
                "change": {k: round(v, 4) for k, v in self.change().items()}}


def _srgb_exponent(srgb: np.ndarray) -> np.ndarray:
    """``d log(linear) / d log(srgb)`` of the sRGB decoding curve at sRGB values 0..1 (IEC 61966-2-1)."""
    return np.where(srgb <= 0.04045, 1.0, 2.4 * srgb / (srgb + 0.055))


_POWER_STEPS = 12  # fixed-point steps of Tone.srgb_power


IDENTITY_TONE = Tone(knots_in=(), knots_out=(), pixels=0, slopes=(1.0, 1.0, 1.0))
_QUANTILES = np.arange(2.0, 98.1, 2.0)
_POWER_GRID = 49  # powers per grid of _shared_power: 0.5..2 log-spaced, then the best's neighbours'
_POWER_KNOTS = 129  # knots of match_tone_power's curve: 0.054 apart in log light
_POWER_PLACES = 8000  # places the power is searched on (a regular subsample of the reference's)
# fits of _following at most, each leaving out what the last did not explain, until none changes:
# with another shirt (31 % of the demo front view's reference) 3 passes left erythema +1.3 EI
# units off, 6 converged (-0.03)
_ROBUST_PASSES = 10
_OUTLIER_SDS = 3.5  # residual, in robust standard deviations (1.4826 x median), that is left out
# A reference whose paired tones lie further than this from one shared power (RMS, 8-bit code
# steps) was taken through another tone curve's shape, not only another power: match_tone_power
# then bends its power (_bent_power). Measured (departure_from_power): 0.12 to 0.43 under the
# phantoms' 12 relightings (gains, powers, JPEG 85) of five photos (two faces, the demo front
# view, both close-ups); 0.35 to 5.8 under contrast curves of +-0.05 to +-0.15 (docs/metrics.md).
SHAPE_LIMIT = 0.5
# _bent_power's correction: linear in log light between 40 knots over the range, its second
# differences penalised so that between and beyond the reference's tones it runs on straight (a
# power's own bend is kept). First choices, not tuned: the close-ups' figures are their result.
_BEND_KNOTS = 40
_BEND_STIFFNESS = 30.0
# where a curve shared by R, G and B is tabulated (log-linear light, darkest usable value to 1)
_CURVE_GRID = np.linspace(math.log(_DARKEST), 0.0, _POWER_KNOTS)
_MIN_SURFACES = 8  # paired surfaces match_tone_pairs needs: a curve through fewer is a guess
# match_tone_pairs fits a cubic in log-log: smooth enough for exposure, white balance and a tone
# curve's bend over the card's range, and 4 parameters from 24 patches average JPEG's error on
# each uniform patch (its 8 x 8 blocks' means are quantised: about 1 % in blue at quality 85).
# On the close-up phantom's 12 relightings the melanin index moved by p90 0.56 MI units when
# the curve ran through every patch, 1.02 with a straight line, 0.44 with a quadratic, 0.37 with
# a cubic, and 0.19 with the exact inverse of each relighting (tests/test_card.py).
_PAIRS_DEGREE = 3


_STRIP_PX = 256  # rows of a photo that block_means converts to float at a time


def block_shares(mask: np.ndarray, block: int) -> np.ndarray:
    """The share of each ``block`` x ``block`` block that `mask` (H, W) bool covers, float32 0..1.

    On the grid of :func:`block_means` (the last partial row and column of blocks dropped).
    """
    rows, cols = mask.shape[0] // block, mask.shape[1] // block
    return cv2.resize(mask[: rows * block, : cols * block].astype(np.float32), (cols, rows),
                      interpolation=cv2.INTER_AREA)


def block_means(srgb: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Local means of a photo's light over square blocks, for fitting a tone curve.

    The mean is taken of log-linear values (a geometric mean), which commutes
    exactly with any gain and any power of linear light, and nearly with a
    power of the sRGB values: the blocks of two photos that differ by
    exposure, white balance and a tone curve differ by (nearly) the same
    mapping as their pixels. What a codec, demosaicing or a resampling does
    inside a block (JPEG's 8 x 8 transform, its chroma averaged over 2 x 2
    pixels) hardly moves the block's mean, but it does move single pixels and
    the quantiles of single pixels with them (JPEG 85 alone moved the melanin
    index by 0.3 MI units through the tone curve). Block means are also free of
    8-bit ties: quantiles of whole code values repeat, and a curve drawn through
    repeated knots is a staircase exactly at the code values the skin takes.

    Parameters
    ----------
    srgb : (H, W, 3) uint8 ndarray
    block : int
        Block side, px; the last partial row and column of blocks are dropped.

    Returns
    -------
    means : (H // block, W // block, 3) float32 ndarray
        Geometric mean of linear RGB per block.
    unclipped : (H // block, W // block) bool ndarray
        Every pixel of the block has all three channels strictly between the
        darkest usable value and 0.98 (clipped light does not follow a tone curve).
    """
    global _LOG_LUT
    if _LOG_LUT is None:
        _LOG_LUT = np.log(np.maximum(srgb_to_linear(np.arange(256, dtype=np.uint8)), _DARKEST))
    codes = srgb_to_linear(np.arange(256, dtype=np.uint8))
    low = int(np.flatnonzero(codes > _DARKEST)[0])  # first code above the floor
    high = int(np.flatnonzero(codes < 0.98)[-1])  # last code below clipping
    rows, cols = srgb.shape[0] // block, srgb.shape[1] // block
    lut = _LOG_LUT.reshape(1, 256).astype(np.float32)
    means = np.empty((rows, cols, 3), np.float32)
    unclipped = np.empty((rows, cols), bool)
    # OpenCV throughout (a 12 MP photo in 0.1 s rather than 0.8 s with NumPy's indexing), in strips
    # of whole blocks so that the float copies stay small (a 12 MP photo's would be 144 MB)
    step = max(1, _STRIP_PX // block)
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        img = np.ascontiguousarray(srgb[r0 * block: r1 * block, : cols * block])
        logs = cv2.resize(cv2.LUT(img, lut), (cols, r1 - r0), interpolation=cv2.INTER_AREA)
        means[r0:r1] = np.exp(logs).reshape(-1, cols, 3)
        inside = cv2.inRange(img, (low, low, low), (high, high, high))  # 255 where all three are unclipped
        share = cv2.resize(inside.astype(np.float32), (cols, r1 - r0), interpolation=cv2.INTER_AREA) / 255
        unclipped[r0:r1] = share.reshape(-1, cols) > 1 - 1e-6
    return means, unclipped


def match_tone_pairs(moving: np.ndarray, fixed: np.ndarray) -> Tone:
    """Fit the tone mapping that takes each of a few surfaces' colour in `moving` to its colour in `fixed`.

    For surfaces known to be the same in both photos (a colour card's patches,
    paired patch by patch): per channel, a cubic in log-log fitted through the
    surfaces' pairs by least squares, over the range they span (beyond it, the
    straight line through them). Quantiles of their pixels, as
    :func:`match_tone` pairs them, would map each patch's spread of noise onto
    one value and make the curve a staircase between patches; a curve through
    every patch's mean would carry each patch's JPEG error into the skin's
    values between them. Surfaces clipped or near black in either photo are
    left out.

    Parameters
    ----------
    moving, fixed : (N, 3) float ndarray
        Linear RGB (0..1) of N surfaces, e.g. geometric means over each patch.

    Returns
    -------
    Tone
        ``pixels`` is the number of surfaces used; identity when fewer than 8.
    """
    moving, fixed = np.asarray(moving, np.float64), np.asarray(fixed, np.float64)
    usable = (moving.max(axis=1) < 0.98) & (fixed.max(axis=1) < 0.98)
    usable &= (moving.min(axis=1) > _DARKEST) & (fixed.min(axis=1) > _DARKEST)
    if int(usable.sum()) < _MIN_SURFACES:
        return IDENTITY_TONE
    knots_in, knots_out, slopes = [], [], []
    for c in range(3):
        x, y = np.log(moving[usable, c]), np.log(fixed[usable, c])
        curve = np.polynomial.Polynomial.fit(x, y, _PAIRS_DEGREE)
        grid = np.linspace(x.min(), x.max(), 33)
        knots_in.append(tuple(float(v) for v in grid))
        knots_out.append(tuple(float(v) for v in np.maximum.accumulate(curve(grid))))
        slopes.append(float(np.clip(np.polyfit(x, y, 1)[0], 0.5, 2.0)) if np.ptp(x) > 1e-6 else 1.0)
    return Tone(knots_in=tuple(knots_in), knots_out=tuple(knots_out), pixels=int(usable.sum()),
                slopes=tuple(slopes))


def match_tone(moving: np.ndarray, fixed: np.ndarray, reference: np.ndarray) -> Tone:
    """Fit the tone mapping that makes `moving` look like `fixed` on shared reference pixels.

    Both photos must be aligned (``moving`` resampled into ``fixed``'s frame).
    Per channel, the 2nd..98th percentiles of the two photos' reference
    pixels are paired: any monotone relighting maps quantiles onto quantiles,
    so the mapping is exact for exposure, white balance and tone-curve
    changes where the reference has tones; beyond them, each channel's curve
    runs on straight in log-log, as a power does, or, when the reference shows
    a curve of another shape (its departure beyond :data:`SHAPE_LIMIT`: another
    phone's look), along the curve the three channels share
    (:func:`_quantiles_along_shared_curve`). Surfaces that changed or moved
    (another shirt, a lock of hair) would shift every quantile, so only the
    places that follow one change of light are paired (:func:`_following`).
    Pixels clipped in either photo are left out. :func:`analyzer.compare`
    passes block means (:func:`block_means`), not single pixels.

    Parameters
    ----------
    moving, fixed : (H, W, 3) float32 ndarray
        Linear RGB, 0..1, same shape (pixels or block means).
    reference : (H, W) bool ndarray
        Non-skin pixels both photos cover.

    Returns
    -------
    Tone
        Identity (``pixels == 0``) when fewer than 2000 reference pixels are usable.
    """
    fitted = _fitted_knots(moving, fixed, reference)
    if fitted is None:
        return IDENTITY_TONE
    x, y, count, power, departure = fitted
    if departure > SHAPE_LIMIT:
        return _quantiles_along_shared_curve(x, y, power, count, departure)
    slopes = tuple(float(np.clip(np.polyfit(xc, yc, 1)[0], 0.5, 2.0)) if np.ptp(xc) > 1e-6 else 1.0
                   for xc, yc in zip(x, y, strict=True))
    return Tone(knots_in=tuple(tuple(float(v) for v in xc) for xc in x),
                knots_out=tuple(tuple(float(v) for v in yc) for yc in y), pixels=count, slopes=slopes,
                departure=departure)


def _quantiles_along_shared_curve(x: np.ndarray, y: np.ndarray, power: float, count: int,
                                  departure: float) -> Tone:
    """Each channel's quantile curve, run on beyond its own tones along the one the three share.

    A tone curve of another shape (another phone's look) is no straight line in log-log
    beyond a channel's reference tones, where the skin's red may lie; the other channels'
    tones show the shared curve there (:func:`_bent_power`). Within each channel's range
    the knots are its quantile pairs, as :func:`match_tone` pairs them; beyond, the bent
    shared curve with that channel's gain, moved to meet its end knots.
    """
    grid = _CURVE_GRID
    curve, offsets = _bent_power(x, y, power)
    knots_in, knots_out = [], []
    for xc, yc, offset in zip(x, y, offsets, strict=True):
        shared = curve + offset
        below, above = grid < xc[0], grid > xc[-1]
        low = shared[below] + yc[0] - np.interp(xc[0], grid, shared)
        high = shared[above] + yc[-1] - np.interp(xc[-1], grid, shared)
        knots_in.append(tuple(float(v) for v in np.concatenate([grid[below], xc, grid[above]])))
        knots_out.append(tuple(float(v) for v in np.maximum.accumulate(np.concatenate([low, yc, high]))))
    return Tone(knots_in=tuple(knots_in), knots_out=tuple(knots_out), pixels=count,
                slopes=(_end_slope(curve),) * 3, departure=departure)


def match_tone_power(moving: np.ndarray, fixed: np.ndarray, reference: np.ndarray) -> Tone:
    """Fit a gain per channel and one power of the sRGB values shared by R, G and B, place by place.

    The mapping a camera's pipeline implies: white balance and exposure are
    gains on linear light, then one tone curve is applied alike to the three
    channels' sRGB values; over the range skin spans it is taken to be a power:
    ``fixed = gain[c] * decode(encode(moving) ** q)`` in linear light, with the
    sRGB curve's ``encode`` and ``decode`` (IEC 61966-2-1). :func:`match_tone`'s
    quantile curve assumes no form but is only known where the reference has
    tones. A close-up's surroundings are a few surfaces (a wall, dark hair,
    teeth) with gaps between their tones where the skin lies: between and
    beyond them the three channels' quantile curves are guesses that bend
    apart, and colour moves with them (on the demo close-ups under the
    phantoms' relightings, melanin by up to 65 % of a +0.1 OD tan; with this
    model, 7-9 %: docs/metrics.md). One power for three channels is pinned by
    whichever channel's tones the reference spans.

    Another phone, camera app or "look" changes the curve's shape too (a
    contrast S-curve), which no power takes up: when the reference's tones
    depart from the power by more than :data:`SHAPE_LIMIT` (0.5 code steps RMS),
    the shared curve is the power bent to follow them (:func:`_bent_power`). On
    the demo close-ups under contrast curves within +-0.15 (mid-grey's slope
    0.7..1.3) that cut melanin's move from 70-78 % of the tan to 27-36 %
    (bench/tone_looks.py); under the relightings above no reference departs so
    far, and the power is kept as it is.

    Fitted by least squares in log-linear light to the 2nd..98th percentiles of
    the reference places that follow one change of light, paired as
    :func:`match_tone` pairs them (:func:`_following` leaves out a surface that
    moved, such as a lock of hair now gone from over the wall). Fitted to the
    places' values themselves rather than their quantiles, melanin moved by
    10.6 and 11.9 % of the tan under the phantoms' relightings, against 9.0 and
    6.9 %: ranks average each place's JPEG error over the whole reference.

    Parameters
    ----------
    moving, fixed : (H, W, 3) float32 ndarray
        Linear RGB, 0..1, same shape (pixels or block means), `moving` aligned onto `fixed`.
    reference : (H, W) bool ndarray
        Non-skin places both photos cover.

    Returns
    -------
    Tone
        Knots on the fitted curve from the darkest usable value to 1, so that
        :meth:`Tone.change` reads its power back; ``pixels`` counts the places
        that followed it. Identity when fewer than 2000 places are usable.
    """
    fitted = _fitted_knots(moving, fixed, reference)
    if fitted is None:
        return IDENTITY_TONE
    xq, yq, count, power, departure = fitted
    curve, offsets = (_bent_power if departure > SHAPE_LIMIT else _power_curve)(xq, yq, power)
    knots_in = tuple(float(v) for v in _CURVE_GRID)
    return Tone(knots_in=(knots_in,) * 3,
                knots_out=tuple(tuple(float(v) for v in curve + offset) for offset in offsets),
                pixels=count, slopes=(_end_slope(curve),) * 3, departure=departure)


def _fitted_knots(moving: np.ndarray, fixed: np.ndarray, reference: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, int, float, float] | None:
    """:func:`_quantile_knots`, with the shared power through them and the departure from it."""
    knots = _quantile_knots(moving, fixed, reference)
    if knots is None:
        return None
    x, y, count = knots
    power = _shared_power(x, y, np.ones_like(x))
    return x, y, count, power, departure_from_power(x, y, power)


def _power_curve(x: np.ndarray, y: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    """The shared power on :data:`_CURVE_GRID` (log-linear) and each channel's offset (gain) onto `y`."""
    return _powered(_CURVE_GRID, power), (y - _powered(x, power)).mean(axis=1)


def _end_slope(curve: np.ndarray) -> float:
    """The slope of a curve on :data:`_CURVE_GRID` at white: beyond the grid, below it Tone.apply floors
    the light, above it clips; the end slope serves both."""
    return float((curve[-1] - curve[-2]) / (_CURVE_GRID[-1] - _CURVE_GRID[-2]))


def departure_from_power(x: np.ndarray, y: np.ndarray, power: float | None = None) -> float:
    """How far paired tones lie from one power of the sRGB values shared by R, G and B, gains free.

    Exposure, white balance and a gamma map a reference's tones onto the other
    photo's within JPEG's and rounding's noise; another phone, camera app or
    "look" bends the tone curve in shape (a contrast S-curve, a highlight
    shoulder) and leaves a departure no power takes up.

    Parameters
    ----------
    x, y : (3, N) float ndarray
        Paired log-linear tones per channel (e.g. :func:`_quantile_knots`'), `x` mapped onto `y`.
    power : float, optional
        The shared power, when already fitted (:func:`_shared_power`).

    Returns
    -------
    float
        RMS over the pairs of `y` less the best such mapping of `x`, in 8-bit sRGB code
        steps (0..255 scale), >= 0.
    """
    if power is None:
        power = _shared_power(x, y, np.ones_like(x))
    mapped = _powered(x, power)
    mapped += (y - mapped).mean(axis=1, keepdims=True)
    codes = 255.0 * (np.asarray(linear_to_srgb(np.exp(y)), np.float64)
                     - np.asarray(linear_to_srgb(np.exp(mapped)), np.float64))
    return float(np.sqrt(np.mean(codes**2)))


def _bent_power(x: np.ndarray, y: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    """One tone curve shared by R, G and B, a power bent where the reference's tones show it, and gains.

    ``y[c] = powered(x[c]) + d(x[c]) + offset[c]`` in log-linear light, where `d` is
    linear between :data:`_BEND_KNOTS` knots over :data:`_CURVE_GRID`, 0 at white, and its second
    differences are penalised (:data:`_BEND_STIFFNESS`): where the reference has
    tones, in any of its three channels, `d` follows them; between and beyond them it
    runs on straight. Solved by linear least squares. Returns the curve on
    :data:`_CURVE_GRID` (log-linear, increasing) and the three offsets; the power alone
    (:func:`_power_curve`) if the bent curve would not increase.
    """
    knots = np.linspace(_CURVE_GRID[0], _CURVE_GRID[-1], _BEND_KNOTS)
    flat_x = x.ravel()
    at = np.clip(np.searchsorted(knots, flat_x) - 1, 0, _BEND_KNOTS - 2)
    t = (flat_x - knots[at]) / (knots[at + 1] - knots[at])
    design = np.zeros((flat_x.size, _BEND_KNOTS + 3))
    rows = np.arange(flat_x.size)
    design[rows, at] = 1.0 - t
    design[rows, at + 1] = t
    design[rows, _BEND_KNOTS + np.repeat(np.arange(3), x.shape[1])] = 1.0
    bend = np.zeros((_BEND_KNOTS - 2, _BEND_KNOTS + 3))
    bend[:, :_BEND_KNOTS] = np.diff(np.eye(_BEND_KNOTS), 2, axis=0)  # second differences
    white = np.zeros((1, _BEND_KNOTS + 3))
    white[0, _BEND_KNOTS - 1] = 1e3
    system = np.vstack([design, math.sqrt(_BEND_STIFFNESS) * bend, white])
    target = np.concatenate([(y - _powered(x, power)).ravel(), np.zeros(_BEND_KNOTS - 1)])
    solution = np.linalg.lstsq(system, target, rcond=None)[0]
    curve = _powered(_CURVE_GRID, power) + np.interp(_CURVE_GRID, knots, solution[:_BEND_KNOTS])
    if np.any(np.diff(curve) <= 0):
        return _power_curve(x, y, power)
    return curve, solution[_BEND_KNOTS:]


def _quantile_knots(moving: np.ndarray, fixed: np.ndarray,
                    reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Paired 2nd..98th percentiles of log-linear light per channel over the reference places that
    follow the light (:func:`_following`): (3, 49) x and y, and those places' count; None when
    fewer than 2000 places are usable."""
    usable = reference & (moving.max(axis=2) < 0.98) & (fixed.max(axis=2) < 0.98)
    usable &= (moving.min(axis=2) > _DARKEST) & (fixed.min(axis=2) > _DARKEST)
    if int(usable.sum()) < _MIN_REFERENCE_PIXELS:
        return None
    x = np.log(moving[usable].astype(np.float64)).T  # (3, places)
    y = np.log(fixed[usable].astype(np.float64)).T
    keep = _following(x, y)
    x = np.percentile(x[:, keep], _QUANTILES, axis=1).T
    y = np.percentile(y[:, keep], _QUANTILES, axis=1).T
    x = np.maximum.accumulate(x + np.arange(x.shape[1]) * 1e-7, axis=1)  # strictly increasing for interp
    return x, y, int(keep.sum())


def _following(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which places follow one change of light: (N,) bool over `x`, `y` ((3, N) log-linear, paired).

    Both photos are aligned, so a surface that changed or moved between them (another
    shirt, a lock of hair gone from over the wall) shows as places that do not follow the
    mapping the others do: a gain per channel and one sRGB power, fitted with each residual
    counted in 8-bit code steps (a step is coarser in log light in the dark: hair, which
    would otherwise weigh more than a light wall), leaving out the places beyond 3.5 robust
    standard deviations, and again until no place changes side (at most 10 fits). A
    rank-paired curve through all of them would follow the changed surface instead: another
    shirt turned the demo front view's erythema by +19 EI units, and with this, -0.03.
    """
    srgb = np.asarray(linear_to_srgb(np.exp(y)), np.float64)
    weight = (srgb / _srgb_exponent(srgb)) ** 2
    stride = max(1, x.shape[1] // _POWER_PLACES)  # the power is searched on a regular subsample
    keep = np.ones(x.shape[1], bool)
    for _ in range(_ROBUST_PASSES):
        sample = np.flatnonzero(keep)[::stride]
        power = _shared_power(x[:, sample], y[:, sample], weight[:, sample])
        residual = y - _powered(x, power)
        offsets = (residual * weight)[:, keep].sum(axis=1) / weight[:, keep].sum(axis=1)
        error = (np.abs(residual - offsets[:, None]) * np.sqrt(weight)).max(axis=0)
        spread = 1.4826 * float(np.median(error[keep]))
        following = error <= max(_OUTLIER_SDS * spread, 1e-6)
        if np.array_equal(following, keep):
            break
        keep = following
    return keep


def _powered(log_linear: np.ndarray, power: float | np.ndarray) -> np.ndarray:
    """Log-linear light after a power of its sRGB values (float64; `power` may broadcast)."""
    srgb = np.asarray(linear_to_srgb(np.exp(log_linear)), np.float64)
    return np.log(np.maximum(_decode(srgb ** power), 1e-12))


def _shared_power(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> float:
    """The power of sRGB values, one for all channels, that best maps `x` onto `y` up to gains.

    `x`, `y`, `weight`: (3, N) log-linear values paired column by column, and each pair's
    weight. Weighted least squares over every channel, each channel's offset (its gain)
    free: a grid over 0.5..2 (log-spaced, steps of 2.9 %), a finer one (0.12 %) around its
    best, then the parabola through the best point and its neighbours.
    """
    low, high = math.log(0.5), math.log(2.0)
    total = weight.sum(axis=1, keepdims=True)
    for _ in range(2):
        log_powers = np.linspace(low, high, _POWER_GRID)
        mapped = y[None] - _powered(x[None], np.exp(log_powers)[:, None, None])  # (powers, 3, N)
        residual = mapped - (mapped * weight).sum(axis=2, keepdims=True) / total
        cost = (residual**2 * weight).sum(axis=(1, 2))
        i = int(np.clip(np.argmin(cost), 1, len(log_powers) - 2))
        low, high = log_powers[i - 1], log_powers[i + 1]
    a, b, c = cost[i - 1: i + 2]
    step = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c > 0 else 0.0
    return float(np.exp(log_powers[i] + np.clip(step, -1, 1) * (log_powers[1] - log_powers[0])))
