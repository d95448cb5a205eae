"""Skin phantoms: exactly known changes planted in the skin of a real face, and relit copies.

The face is NASA's portrait of astronaut Eileen Collins (``skimage.data.astronaut()``,
public domain), the one the demo patient (``sample_images/make_demo.py``) is made from.
The source region x 150..300, y 40..200 (150 x 160 source px) is upscaled 16x with
bicubic interpolation into a 2400 x 2560 photo whose face is 88 x 16 = 1408 px wide; taking
a face as 140 mm wide (bizygomatic), the photo has :data:`PX_PER_MM` = 10.06 px per mm,
a phone portrait's resolution, so that at half resolution fine lines and pores are still
measurable (the analyzer needs 5 px/mm for them).

Changes are planted as in ``make_demo.py``, in optical density (OD, natural log of
reflectance: ``od = -ln(linear_rgb)``, linear light from sRGB by
:func:`analyzer.color.srgb_to_linear`) along fixed absorption directions (R, G, B):

* :func:`plant_haemoglobin` -- redness, ``od * field * HAEMOGLOBIN``;
* :func:`plant_spots` -- brown macules along ``MELANIN``: flat top out to 0.7 of the
  radius, a raised-cosine edge down to zero at 1.3 of it (half depth at the radius);
* :func:`plant_lines` -- fine lines, shading OD along ``SHADING`` (neutral) with a Gaussian
  cross-section of the given full width at half maximum, tapering to zero at both ends.

Every builder takes and returns HxWx3 uint8 sRGB; pixels where nothing is planted come
back unchanged (8-bit sRGB -> linear -> sRGB is lossless), and planted ones carry the
planted OD to within 8-bit rounding.

:func:`relight` "re-photographs" a photo: exposure and white balance as gains in linear
light, a tone-curve power (gamma) on the 0..1 sRGB values, rounding to 8 bits, then JPEG
(Pillow, 4:2:0 chroma) when a quality is given. :func:`random_lightings` draws the
issue's ranges: exposure +-30 %, white balance +-12 % per channel, gamma +-15 %, JPEG 85.

Landmark positions are in source pixels (the 512 x 512 astronaut photo) and converted with
:func:`to_image`; the excluded features (eyes, brows, nostrils, mouth) are those of
``make_demo.py``. Everything is a pure function of its arguments (and seed).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata

from analyzer.color import linear_to_srgb, srgb_to_linear

__all__ = [
    "CHEEK_BLOBS",
    "NAME",
    "HAEMOGLOBIN",
    "LINES",
    "MELANIN",
    "PX_PER_MM",
    "SHADING",
    "SPOTS",
    "base_photo",
    "base_scene",
    "capture",
    "disc_field",
    "enlarged_scene",
    "line_field",
    "optical_density",
    "plant",
    "plant_haemoglobin",
    "plant_lines",
    "plant_scene",
    "plant_spots",
    "quadratic_curve",
    "random_lightings",
    "relight",
    "skin_mask",
    "source_to_image",
    "spots_field",
    "to_image",
]

NAME = "astronaut"
SRC_ORIGIN = (150, 40)  # source x, y of the photo's top-left pixel
SRC_SIZE = (150, 160)  # source w, h
UPSCALE = 16
FACE_WIDTH_MM = 140.0  # typical adult bizygomatic width (as make_demo.py)
FACE_WIDTH_SRC = 88.0  # measured on the source photo (as make_demo.py)
PX_PER_MM = FACE_WIDTH_SRC * UPSCALE / FACE_WIDTH_MM  # 10.06


def _make_demo():
    path = Path(__file__).resolve().parents[2] / "sample_images" / "make_demo.py"
    name = "_phantoms_make_demo"  # a name of its own: tests load make_demo.py under theirs
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


_DEMO = _make_demo()
# OD directions (R, G, B), largest component 1, and the source-pixel landmarks (the face
# ellipse and the features it excludes: eyes, brows, nostrils, mouth): make_demo.py's.
HAEMOGLOBIN, MELANIN, SHADING = _DEMO.HAEMOGLOBIN, _DEMO.MELANIN, _DEMO.SHADING
FACE_CENTER, FACE_AXES, EXCLUDED = _DEMO.FACE_CENTER, _DEMO.FACE_AXES, _DEMO.EXCLUDED

# The original's skin is bright: red reaches code 249 (99.9th percentile over the mask, median
# 212), so at +30 % exposure and +12 % red gain 45 % of the skin would clip, where no method can
# measure anything. The phantom is exposed as a clinic camera would be, with skin kept clear of
# clipping: linear light x 0.68, so the brightest skin times the largest gain, 1.3 x 1.12, stays < 1.
BASE_EXPOSURE = 0.68
FOREHEAD_TOP_SRC = 80.0  # source y above which the face ellipse holds the fringe of hair

OD_FLOOR_LINEAR = 1e-4  # linear value of sRGB code 0 is 0; OD is taken of max(linear, this)


def source_to_image(x: float, y: float, origin: tuple[int, int], upscale: int) -> tuple[float, float]:
    """Pixel (x, y) of a source photo to its pixel in the region from `origin` enlarged `upscale` x.

    Pixel centres at integers. Each face's ``to_image`` is this with its own region.
    """
    return ((x - origin[0] + 0.5) * upscale - 0.5, (y - origin[1] + 0.5) * upscale - 0.5)


def quadratic_curve(p0, p1, p2, n: int = 48) -> np.ndarray:
    """(n, 2) points of the quadratic through points p0, p1 (at its middle), p2 (x, y each)."""
    pts = np.array([p0, p1, p2], np.float64)
    t = np.linspace(0.0, 1.0, n)[:, None]
    control = 2 * pts[1] - (pts[0] + pts[2]) / 2
    return (1 - t) ** 2 * pts[0] + 2 * t * (1 - t) * control + t**2 * pts[2]


def enlarged_scene(src: np.ndarray, origin: tuple[int, int], size: tuple[int, int], upscale: int,
                   exposure: float) -> np.ndarray:
    """A region of a uint8 sRGB source photo as a face's light: read-only float32 linear RGB.

    The region (`origin` x, y; `size` w, h) is enlarged `upscale` x with bicubic
    interpolation, decoded from sRGB and scaled by `exposure`.
    """
    x0, y0 = origin
    region = np.asarray(src, np.float32)[y0 : y0 + size[1], x0 : x0 + size[0]] / 255.0
    big = np.clip(cv2.resize(region, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC), 0, 1)
    lin = srgb_to_linear(big) * np.float32(exposure)
    lin.setflags(write=False)
    return lin


def to_image(x: float, y: float) -> tuple[float, float]:
    """Source-photo pixel (x, y) to phantom-photo pixel (x, y) (pixel centres at integers)."""
    return source_to_image(x, y, SRC_ORIGIN, UPSCALE)


def _curve(p0, p1, p2) -> np.ndarray:
    """(48, 2) image-px points of the quadratic through source points p0, p1 (at its middle), p2."""
    return quadratic_curve(*(to_image(*p) for p in (p0, p1, p2)))


# Planted changes, placed on the mask well inside its border and apart from each other.
# Brown spots: (image x, image y), radius mm, melanin OD -- 4 spots of 1.8..3 mm, 0.3..0.4 OD
# on both cheeks and the chin, >= 30 mm apart and >= 9 mm from any line.
SPOTS = [
    (to_image(191.0, 121.0), 2.5, 0.35),
    (to_image(257.0, 119.0), 3.0, 0.30),
    (to_image(213.0, 166.0), 2.0, 0.35),
    (to_image(238.0, 165.0), 1.8, 0.40),
]
# Fine lines: smooth curves 18..29 mm long -- a forehead line, a line under each eye and a
# vertical line on the right cheek (the patient's left).
LINES = [
    _curve((215, 83), (224, 82.3), (233, 83)),
    _curve((195, 110.5), (203, 112.5), (211, 111)),
    _curve((237, 111), (245, 113), (253, 111.5)),
    _curve((257, 128), (256, 135), (254, 142)),
]
LINE_WIDTH_MM = 0.5  # full width at half maximum
LINE_OD = 0.15
# Redness blobs for red_area_pct: flat-topped discs of 14 mm radius on both cheeks (~9 % of the mask).
CHEEK_BLOBS = [(to_image(197.0, 126.0), 14.0), (to_image(250.0, 126.0), 14.0)]


# ----------------------------------------------------------------------------------------------
# The photo and its skin


@functools.cache
def _scene() -> np.ndarray:
    return enlarged_scene(skdata.astronaut(), SRC_ORIGIN, SRC_SIZE, UPSCALE, BASE_EXPOSURE)


@functools.cache
def _base() -> np.ndarray:
    out = capture(_scene())
    out.setflags(write=False)
    return out


def base_scene() -> np.ndarray:
    """The face as light, before any camera rounds it: (2560, 2400, 3) float32 linear RGB, read-only.

    :func:`base_photo` is this scene captured once (``capture(base_scene())``).
    """
    return _scene()


def base_photo() -> np.ndarray:
    """The (2560, 2400, 3) uint8 sRGB face photo, read-only."""
    return _base()


def _ellipse(shape: tuple[int, int], center, axes) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    cx, cy = to_image(*center)
    ax, ay = axes[0] * UPSCALE, axes[1] * UPSCALE
    return ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0


@functools.cache
def _mask() -> np.ndarray:
    photo = _base()
    shape = photo.shape[:2]
    mask = _ellipse(shape, FACE_CENTER, FACE_AXES)
    mask[: int(np.ceil(to_image(0.0, FOREHEAD_TOP_SRC)[1]))] = False
    # skin colour (drops the hair at the temples), as make_demo.py
    ycrcb = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb).astype(np.int16)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    mask &= (cr > 138) & (cr < 175) & (cb > 85) & (cb < 130)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))
    # the largest piece, its holes (highlights, which fail the colour test) filled
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    mask = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    outside = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 2)
    mask = outside[1:-1, 1:-1] != 2
    for center, axes in EXCLUDED:
        mask &= ~_ellipse(shape, center, axes)
    mask.setflags(write=False)
    return mask


def skin_mask() -> np.ndarray:
    """Bool (2560, 2400): the face's skin -- face ellipse, skin colour, less eyes, brows, nostrils, mouth."""
    return _mask()


# ----------------------------------------------------------------------------------------------
# Fields (float32 maps 0..1)


def disc_field(shape: tuple[int, int], center_px, radius_px: float) -> np.ndarray:
    """Flat-topped disc: 1 within 0.7 radius, raised-cosine edge to 0 at 1.3 radius (0.5 at the radius)."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    r = np.sqrt((xx - center_px[0]) ** 2 + (yy - center_px[1]) ** 2) / radius_px
    edge = np.clip((r - 0.7) / 0.6, 0.0, 1.0)
    return (0.5 + 0.5 * np.cos(np.pi * edge)).astype(np.float32)


def line_field(shape: tuple[int, int], polylines: Sequence[np.ndarray], width_px: float) -> np.ndarray:
    """Lines of Gaussian cross-section (``width_px`` full width at half maximum), peak 1.

    Each polyline ((n, 2) image x, y) is followed exactly: the field at a pixel is
    ``exp(-d^2 / 2 sigma^2) * taper`` with d the distance to the nearest point of the
    polyline and taper = sin(pi s)^0.5 at that point's arc-length fraction s (0 at both ends).
    Where lines meet, the larger value wins.
    """
    sigma = width_px / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    field = np.zeros(shape, np.float32)
    for line in polylines:
        pts = np.asarray(line, np.float64)
        a, b = pts[:-1], pts[1:]
        seg = b - a
        seg_len = np.linalg.norm(seg, axis=1)
        start = np.concatenate([[0.0], np.cumsum(seg_len)[:-1]])
        total = seg_len.sum()
        reach = 4.0 * sigma + 1.0
        x0 = max(int(np.floor(pts[:, 0].min() - reach)), 0)
        x1 = min(int(np.ceil(pts[:, 0].max() + reach)) + 1, shape[1])
        y0 = max(int(np.floor(pts[:, 1].min() - reach)), 0)
        y1 = min(int(np.ceil(pts[:, 1].max() + reach)) + 1, shape[0])
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        p = np.stack([xs.ravel(), ys.ravel()], 1)[:, None, :]  # (P, 1, 2)
        u = np.clip(((p - a) * seg).sum(-1) / (seg_len**2), 0.0, 1.0)  # (P, S)
        d2 = ((a + u[..., None] * seg - p) ** 2).sum(-1)
        k = np.argmin(d2, axis=1)
        rows = np.arange(len(k))
        s = (start[k] + u[rows, k] * seg_len[k]) / total
        value = np.exp(-d2[rows, k] / (2 * sigma**2)) * np.sqrt(np.clip(np.sin(np.pi * s), 0.0, 1.0))
        window = field[y0:y1, x0:x1]
        np.maximum(window, value.reshape(window.shape).astype(np.float32), out=window)
    return field


# ----------------------------------------------------------------------------------------------
# Planting


def optical_density(img: np.ndarray) -> np.ndarray:
    """HxWx3 float64 OD of a uint8 sRGB photo: -ln(linear), linear floored at 1e-4."""
    return -np.log(np.maximum(srgb_to_linear(img).astype(np.float64), OD_FLOOR_LINEAR))


def plant(img: np.ndarray, od_map: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Add ``od_map[..., None] * direction`` to the photo's OD; uint8 sRGB in and out.

    Pixels where ``od_map`` is 0 are returned unchanged.
    """
    od_map = np.asarray(od_map, np.float64)
    if od_map.shape != img.shape[:2]:
        raise ValueError(f"od_map shape {od_map.shape} does not match the photo's {img.shape[:2]}")
    od = optical_density(img) + od_map[..., None] * np.asarray(direction, np.float64)
    out = np.clip(np.rint(linear_to_srgb(np.exp(-od)) * 255.0), 0, 255).astype(np.uint8)
    untouched = od_map == 0
    out[untouched] = img[untouched]
    return out


def plant_haemoglobin(img: np.ndarray, field: np.ndarray, od: float) -> np.ndarray:
    """Redness: ``od * field`` of haemoglobin OD (field: HxW float 0..1, or a bool mask)."""
    return plant(img, od * np.asarray(field, np.float64), HAEMOGLOBIN)


def _per_spot(value, n: int, name: str) -> list[float]:
    values = [float(value)] * n if np.isscalar(value) else [float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{name}: {len(values)} values for {n} spots")
    return values


def spots_field(shape: tuple[int, int], centers_px, radius_mm, od, px_per_mm: float) -> np.ndarray:
    """Melanin OD map of flat-topped spots (see :func:`disc_field`); radius_mm, od: scalar or per spot."""
    centers = [tuple(c) for c in centers_px]
    radii = _per_spot(radius_mm, len(centers), "radius_mm")
    ods = _per_spot(od, len(centers), "od")
    out = np.zeros(shape, np.float64)
    for c, r, o in zip(centers, radii, ods, strict=True):
        out = np.maximum(out, o * disc_field(shape, c, r * px_per_mm))
    return out


def plant_spots(img: np.ndarray, centers_px, radius_mm, od, px_per_mm: float) -> np.ndarray:
    """Brown macules along melanin's direction; ``radius_mm`` and ``od`` scalar or one per spot."""
    return plant(img, spots_field(img.shape[:2], centers_px, radius_mm, od, px_per_mm), MELANIN)


def plant_lines(img: np.ndarray, polylines, width_mm: float, od: float, px_per_mm: float) -> np.ndarray:
    """Fine lines: neutral shading OD ``od`` at their centre, Gaussian ``width_mm`` FWHM wide."""
    return plant(img, od * line_field(img.shape[:2], polylines, width_mm * px_per_mm), SHADING)


# ----------------------------------------------------------------------------------------------
# Lighting


def capture(linear: np.ndarray, *, exposure: float = 1.0, white_balance=(1.0, 1.0, 1.0),
            gamma: float = 1.0, contrast: float = 0.0, jpeg_quality: int | None = None) -> np.ndarray:
    """A camera's photo of a scene given in linear light: the light rounded to 8 bits once.

    Linear RGB times ``exposure * white_balance`` (clipped at 1), encoded to sRGB, raised to
    ``gamma``, then through a contrast S-curve ``s + contrast * 4 s (1 - s) (2 s - 1)`` (the
    same for R, G and B, as another phone's or camera app's "look": mid-grey stays, the slope
    there is ``1 + 2 contrast``; monotone for ``|contrast| <= 0.5``), rounded to uint8; then, if
    ``jpeg_quality`` is given, JPEG-encoded by Pillow at that quality with 4:2:0 chroma and
    decoded. Returns HxWx3 uint8.
    """
    gains = np.float32(exposure) * np.asarray(white_balance, np.float32)
    srgb = linear_to_srgb(np.asarray(linear, np.float32) * gains)
    if gamma != 1.0:
        srgb = srgb ** np.float32(gamma)
    if contrast != 0.0:
        srgb = srgb + np.float32(4 * contrast) * srgb * (1 - srgb) * (2 * srgb - 1)
    out = np.clip(np.rint(srgb * 255.0), 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, "JPEG", quality=int(jpeg_quality), subsampling=2)
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out


def relight(img: np.ndarray, **lighting) -> np.ndarray:
    """The photo taken again: its 8-bit light through :func:`capture` (same keywords).

    Exposure and white balance as gains in linear light, a tone-curve power (gamma) on the
    0..1 sRGB values, rounding to 8 bits, then JPEG when a quality is given. Rounding a
    photo that was already rounded skips or doubles a code value every so many (a combed
    histogram): what an 8-bit edit does, where a camera rounds the light once
    (:func:`capture` of a scene).
    """
    return capture(srgb_to_linear(img), **lighting)


def plant_scene(linear: np.ndarray, od_map: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """:func:`plant` on a scene in linear light, unrounded: ``linear * exp(-od_map * direction)``."""
    od_map = np.asarray(od_map, np.float32)
    return (linear * np.exp(-od_map[..., None] * np.asarray(direction, np.float32))).astype(np.float32)


def random_lightings(n: int = 12, seed: int = 0, *, exposure: float = 0.30, white_balance: float = 0.12,
                     gamma: float = 0.15, contrast: float = 0.0, jpeg_quality: int | None = 85) -> list[dict]:
    """``n`` keyword sets for :func:`relight` spanning the given relative ranges.

    Exposure in 1 +- ``exposure``, each white-balance gain in 1 +- ``white_balance``, gamma in
    1 +- ``gamma``; each parameter is drawn once from each of ``n`` equal strata of its range
    (Latin hypercube), so every range is covered end to end. ``gamma=0`` and
    ``jpeg_quality=None`` give gains only, with the same exposures and balances. ``contrast``:
    also a contrast S-curve (:func:`capture`) within +- it, drawn as gamma's strata are (with
    ``gamma=0``, another phone's look in place of a power).
    """
    rng = np.random.default_rng(seed)

    def spread(half: float) -> np.ndarray:
        strata = (rng.permutation(n) + rng.uniform(0.0, 1.0, n)) / n  # one draw per stratum
        return 1.0 - half + 2.0 * half * strata

    exposures, reds, greens, blues, gammas = (spread(h) for h in
                                              (exposure, white_balance, white_balance, white_balance, 1.0))
    contrasts = contrast * (gammas - 1.0)
    gammas = 1.0 + gamma * (gammas - 1.0)  # the 5th draw is unit-scaled: same stream whatever gamma is
    return [{"exposure": float(exposures[i]),
             "white_balance": (float(reds[i]), float(greens[i]), float(blues[i])),
             "gamma": float(gammas[i]), "jpeg_quality": jpeg_quality,
             **({"contrast": float(contrasts[i])} if contrast else {})} for i in range(n)]
