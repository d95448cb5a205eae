"""A second face for the skin phantoms: older, wrinkled, blotchy skin, seen through glasses.

The photo is the US Navy's portrait of Rear Admiral Grace Hopper (1984, public domain), which
matplotlib ships as ``mpl-data/sample_data/grace_hopper.jpg`` (512 x 600 px, JPEG). Where
:mod:`phantoms.skin` (a young astronaut's smooth skin) checks the metrics on the face they were
developed on, this one checks them on the skin microneedling is sold for: deep forehead
furrows, fine lines, lentigines, uneven tone.

The source region x 120..400, y 40..400 (280 x 360 source px: cap, hair, flag and backdrop
around the face) is upscaled 8x with bicubic interpolation into a 2240 x 2880 photo. The face
is about 175 source px wide at the cheekbones; taken as 140 mm, the photo has
:data:`PX_PER_MM` = 10.0 px per mm. The skin mask is drawn by hand from the source photo:
forehead below the cap, nose, cheeks below the glasses, chin; lenses, mouth and nostrils left
out. Changes are planted with :mod:`phantoms.skin`'s functions and directions, at the same
sizes and strengths as on the astronaut.

This module offers the face-specific names of :mod:`phantoms.skin` (``PX_PER_MM``, ``SPOTS``,
``LINES``, ``CHEEK_BLOBS``, :func:`base_scene`, :func:`base_photo`, :func:`skin_mask`,
:func:`to_image`), so a test can take either face.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from phantoms.skin import capture, enlarged_scene, quadratic_curve, source_to_image

__all__ = ["CHEEK_BLOBS", "LINES", "NAME", "PX_PER_MM", "SPOTS", "base_photo", "base_scene", "skin_mask",
           "to_image"]

NAME = "hopper"
SRC_ORIGIN = (120, 40)  # source x, y of the photo's top-left pixel
SRC_SIZE = (280, 360)  # source w, h
UPSCALE = 8
FACE_WIDTH_MM = 140.0
FACE_WIDTH_SRC = 175.0  # cheekbone to cheekbone, measured on the source photo
PX_PER_MM = FACE_WIDTH_SRC * UPSCALE / FACE_WIDTH_MM  # 10.0
# The source's cheeks are clipped in red (4 % of the mask at code 255): at x 0.68 the brightest
# skin times the largest gain of the lighting checks (1.3 x 1.12) stays below clipping.
BASE_EXPOSURE = 0.68

# The skin, as polygons and excluded ellipses in source px: forehead (below the cap's shadow, which
# reaches y 138, to the glasses), and nose, cheeks and chin below the lenses.
_SKIN = [
    [(200, 139), (325, 139), (336, 152), (336, 168), (195, 170), (190, 152)],
    [(184, 232), (245, 230), (250, 198), (285, 198), (290, 228), (342, 228), (345, 260), (335, 290),
     (315, 315), (290, 326), (240, 326), (215, 315), (194, 290), (184, 262)],
]
_EXCLUDED = [((213, 205), (37, 27)), ((312, 201), (35, 28)),  # lenses (centre, semi-axes)
             ((262, 279), (38, 11)),  # mouth
             ((247, 249), (7, 4)), ((281, 249), (7, 4))]  # nostrils


def to_image(x: float, y: float) -> tuple[float, float]:
    """Source-photo pixel (x, y) to phantom-photo pixel (x, y) (pixel centres at integers)."""
    return source_to_image(x, y, SRC_ORIGIN, UPSCALE)


def _curve(p0, p1, p2) -> np.ndarray:
    """(48, 2) image-px points of the quadratic through source points p0, p1 (at its middle), p2."""
    return quadratic_curve(*(to_image(*p) for p in (p0, p1, p2)))


# As on the astronaut: 4 brown spots of 1.8..3 mm radius, 0.30..0.40 OD (two on the forehead
# between its furrows, one on each cheek), >= 9 mm from any planted line; 4 fine lines 22..28 mm
# long (across the forehead's furrows, down each cheek, across the chin); two 14 mm redness discs.
SPOTS = [
    (to_image(235.0, 150.0), 2.5, 0.35),
    (to_image(300.0, 152.0), 3.0, 0.30),
    (to_image(212.0, 262.0), 2.0, 0.35),
    (to_image(318.0, 292.0), 1.8, 0.40),
]
LINES = [
    _curve((255, 146), (269, 145.4), (283, 146)),
    _curve((196, 238), (195, 253), (197, 268)),
    _curve((325, 236), (330, 249), (334, 262)),
    _curve((245, 312), (262, 314), (280, 312)),
]
CHEEK_BLOBS = [(to_image(215.0, 255.0), 14.0), (to_image(315.0, 255.0), 14.0)]


def _source_path() -> Path:
    spec = importlib.util.find_spec("matplotlib")  # its data, without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the second face phantom needs matplotlib's sample data: pip install -e '.[test]'")
    return Path(spec.submodule_search_locations[0]) / "mpl-data" / "sample_data" / "grace_hopper.jpg"


@functools.cache
def _scene() -> np.ndarray:
    src = np.asarray(Image.open(_source_path()).convert("RGB"))
    return enlarged_scene(src, SRC_ORIGIN, SRC_SIZE, UPSCALE, BASE_EXPOSURE)


@functools.cache
def _base() -> np.ndarray:
    out = capture(_scene())
    out.setflags(write=False)
    return out


def base_scene() -> np.ndarray:
    """The face as light: (2880, 2240, 3) float32 linear RGB, read-only (like ``skin.base_scene()``)."""
    return _scene()


def base_photo() -> np.ndarray:
    """The (2880, 2240, 3) uint8 sRGB face photo, read-only."""
    return _base()


@functools.cache
def _mask() -> np.ndarray:
    shape = _base().shape[:2]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round([to_image(*p) for p in poly]).astype(np.int32) for poly in _SKIN], 1)
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    for centre, axes in _EXCLUDED:
        cx, cy = to_image(*centre)
        mask[((xx - cx) / (axes[0] * UPSCALE)) ** 2 + ((yy - cy) / (axes[1] * UPSCALE)) ** 2 <= 1.0] = 0
    out = mask.astype(bool)
    out.setflags(write=False)
    return out


def skin_mask() -> np.ndarray:
    """Bool (2880, 2240): forehead, nose, cheeks and chin; glasses, mouth and nostrils left out."""
    return _mask()
