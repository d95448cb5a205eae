"""How hard a photo was JPEG-compressed, read from its pixels.

A photo sent through a messaging app or by e-mail is usually saved again as a
JPEG, at a lower quality than a phone's camera uses (90 and above). Compression
smooths some fine detail and adds the 8x8 blocks' edges, so the texture metrics
move with it (repeat photos of the demo patient whose later photo was saved
again at quality 70: roughness up to 4.3 noise limits, 90th percentile;
``bench/compression.py``), while the noise limits were measured on repeat
photos saved at quality 85 to 95.

The quality is read from the pixels, so it works on any array, also on a photo
stored losslessly long after upload: a JPEG stores each 8x8 block's discrete
cosine transform (DCT) coefficients as whole multiples of a step from its
quantisation table, so after decoding the luminance coefficients still cluster
on those multiples (Fan and de Queiroz 2003, "Identification of bitmap
compression history: JPEG detection and quantizer estimation", IEEE Trans.
Image Process. 12(2):230, doi:10.1109/TIP.2002.807361). The steps of the ten
lowest frequencies are found, and the quality is the Independent JPEG Group's
(libjpeg's ``-quality``, as Pillow, phones' and apps' encoders use) whose table
has the nearest steps.

A step must be seen at three frequencies or more, and the steps must lie near
one of libjpeg's tables, or nothing is read: smooth skin with a few sharp
edges, clipped highlights, or a photo never compressed can make one frequency
look quantised (found in review: such photos had read quality 9 to 15).

What it cannot see: compression at quality 95 and above (steps of 1 are lost in
the rounding of decoded pixels: there is little to see), a photo resized or
colour-converted after it was compressed (the lattice is gone, though the loss
of detail is not), and often very hard compression of smooth skin (quality 30
on a close-up: too few coefficients are left). A photo saved at 95 from one
saved at 90 reads the 90 it kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from analyzer.images import check_rgb8

__all__ = ["COLOUR_LIMIT_FACTOR", "MIN_COLOUR_QUALITY", "MIN_JUDGED_QUALITY", "MIN_QUALITY_MEASURED",
           "jpeg_quality", "limit_factor"]

#: The lowest JPEG quality of the repeat photos the noise limits were measured on
#: (:mod:`analyzer.metrics.repeatability`): below it a change may be the compression.
MIN_QUALITY_MEASURED = 85
#: Below this quality the colour metrics follow the compression too (bench/compression.py) ...
MIN_COLOUR_QUALITY = 80
#: ... and their changes are judged against this many times their noise limits;
COLOUR_LIMIT_FACTOR = 3.0
#: below this quality no change is judged.
MIN_JUDGED_QUALITY = 60

# The JPEG standard's luminance table (ITU-T T.81, Annex K.1), which libjpeg scales by quality.
_STANDARD = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], dtype=np.float64)
_FREQUENCIES = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (2, 2), (0, 3), (3, 0))
_SEARCH_SIDE = 512  # px: the crop on which the block grid's offset is found
_SIDE = 1024  # px: the crop whose blocks are read (16 384 blocks)
_MAX_STEP = 64  # largest quantisation step looked for (quality ~15 at the frequencies read)
_MIN_COEFFICIENTS = 200  # fewer non-zero coefficients at a frequency: too little texture to tell
_LATTICE = 0.5  # mean cos(2 pi c / step) above which coefficients sit on a lattice (none: ~0)
_MIN_FREQUENCIES = 3  # frequencies whose steps must be seen (a JPEG quantises all of them)
_MAX_MISMATCH = 0.2  # mean |log| ratio of the steps seen to the nearest libjpeg table's, at most


def _dct_basis() -> np.ndarray:
    u, i = np.arange(8)[:, None], np.arange(8)[None, :]
    return np.sqrt(np.where(u == 0, 1 / 8, 2 / 8)) * np.cos((2 * i + 1) * u * np.pi / 16)


_BASIS = _dct_basis()  # orthonormal 8-point DCT-II, as JPEG's forward DCT


def _libjpeg_tables() -> np.ndarray:
    q = np.arange(1, 101, dtype=np.float64)
    scale = np.where(q < 50, 5000 / q, 200 - 2 * q)[:, None, None]
    return np.clip(np.floor((_STANDARD * scale + 50) / 100), 1, 255)


_TABLES = _libjpeg_tables()  # (100, 8, 8): the luminance table at quality 1..100


def jpeg_quality(img: np.ndarray) -> int | None:
    """The JPEG quality (1..100, libjpeg's scale) `img` was last saved at, or None when no trace is seen.

    Parameters
    ----------
    img : (H, W, 3) uint8 ndarray
        RGB pixels as decoded (:func:`analyzer.load_image`), or stored losslessly since.

    Returns
    -------
    int or None
        Estimated quality: within 5 of the quality saved at from 40 to 90, exact
        from 80 to 90 and at 70 (75 reads 74), on the demo patient's three views
        and three scikit-image photos (``bench/compression.py``). None: no sign of
        compression (not below about 95), or resized since (see the module's notes).
    """
    check_rgb8(img)
    h, w = img.shape[:2]
    side = min(_SIDE, (min(h, w) - 8) // 8 * 8)
    if side < 64:
        return None
    y0, x0 = (h - side - 8) // 2, (w - side - 8) // 2
    crop = img[y0:y0 + side + 8, x0:x0 + side + 8].astype(np.float32)
    luma = crop @ np.array([0.299, 0.587, 0.114], dtype=np.float32) - 128  # JPEG's Y
    # The block grid starts at the photo's corner, wherever a rotation on decoding put it.
    search = min(_SEARCH_SIDE, side)
    lowest = [_at_every_pixel(luma[:search + 8, :search + 8], f) for f in _FREQUENCIES[:2]]
    offset = max(((dy, dx) for dy in range(8) for dx in range(8)), key=lambda o: _zeros(lowest, o, search))
    dy, dx = offset
    blocks = luma[dy:dy + side, dx:dx + side].reshape(side // 8, 8, side // 8, 8).transpose(0, 2, 1, 3)
    dct = _BASIS @ blocks @ _BASIS.T  # every block's 64 coefficients, (rows, cols, 8, 8)
    steps = np.array([_step(dct[:, :, u, v].ravel()) for u, v in _FREQUENCIES])
    read = steps >= 2
    if np.count_nonzero(read) < _MIN_FREQUENCIES:  # a lattice at one frequency is chance, not a JPEG's
        return None
    rows, cols = zip(*(f for f, ok in zip(_FREQUENCIES, read, strict=True) if ok), strict=True)
    # a photo turned a quarter on decoding has its blocks, so their frequencies, transposed
    mismatch = np.minimum(np.abs(np.log(_TABLES[:, rows, cols] / steps[read])).sum(axis=1),
                          np.abs(np.log(_TABLES[:, cols, rows] / steps[read])).sum(axis=1))
    if mismatch.min() / np.count_nonzero(read) > _MAX_MISMATCH:  # no libjpeg table is near: not one
        return None
    return int(np.argmin(mismatch) + 1)


def limit_factor(key: str, qualities: Iterable[int | None]) -> float:
    """How many times its noise limit a change of metric `key` must exceed, its photos saved at `qualities`.

    `qualities`: :func:`jpeg_quality` of every photo the change was read from (None: not
    below ~95). Repeat pairs whose later photo was saved again (bench/compression.py, 12 per
    quality): below quality 85 texture moved up to 4 to 7 noise limits (90th percentile of
    |change|), colour up to 1.4 at 80, 2.4 from 75 to 60 and 5.6 at 50. So: 1 at
    :data:`MIN_QUALITY_MEASURED` and above; below it, infinite (not judged) for texture
    (``texture.*`` and ``zone.<name>.texture.*``); for colour :data:`COLOUR_LIMIT_FACTOR`
    below :data:`MIN_COLOUR_QUALITY`; infinite for every metric below :data:`MIN_JUDGED_QUALITY`.
    """
    lowest = min((q for q in qualities if q is not None), default=None)
    if lowest is None or lowest >= MIN_QUALITY_MEASURED:
        return 1.0
    if lowest < MIN_JUDGED_QUALITY or key.split(".")[-2] == "texture":
        return math.inf
    return COLOUR_LIMIT_FACTOR if lowest < MIN_COLOUR_QUALITY else 1.0


def _at_every_pixel(luma: np.ndarray, frequency: tuple[int, int]) -> np.ndarray:
    """DCT coefficient `frequency` (row, column) of the 8x8 block whose top-left corner is each pixel."""
    u, v = frequency
    kernel = np.outer(_BASIS[u], _BASIS[v]).astype(np.float32)
    return cv2.filter2D(luma, cv2.CV_32F, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)


def _zeros(lowest: list[np.ndarray], offset: tuple[int, int], side: int) -> float:
    """How many more of the lowest frequencies' coefficients lie at 0 than just beside it, on this grid.

    `lowest`: :func:`_at_every_pixel` of those frequencies. On the grid a JPEG was compressed
    on, a coefficient rounded to 0 decodes to within about 0.4 of it and none lies between 1
    and the step; off it they spread evenly.
    """
    dy, dx = offset
    c = np.abs(np.concatenate([at[dy:dy + side:8, dx:dx + side:8].ravel() for at in lowest]))
    return np.count_nonzero(c < 0.5) / (np.count_nonzero((c >= 0.5) & (c < 1.5)) + 1)


def _step(coefficients: np.ndarray) -> int:
    """The quantisation step the coefficients sit on: 1 when none is seen, 0 when too few to tell.

    Each step is tried on the coefficients it does not round to 0 (beyond 0.6 of it: small
    ones lie near 0 on every coarse lattice, so smooth skin with a few sharp edges would fit
    any), while at least 50 and a tenth of them are left. The step is the largest whose
    lattice fits about as well as the best: whole fractions of the true step fit too (every
    multiple of 6 is one of 3), and a multiple of it does not (6 lies half-way on 12's).
    """
    c = coefficients[np.abs(coefficients) > 1.5]  # zeros fit every lattice
    if c.size < _MIN_COEFFICIENTS:
        return 0
    c = np.abs(c).astype(np.float32)
    steps = np.arange(2, _MAX_STEP + 1, dtype=np.float32)
    far = c[None, :] > 0.6 * steps[:, None]  # (steps, coefficients): not rounded to 0
    count = far.sum(axis=1)
    kept = count >= max(50, 0.1 * c.size)
    if not kept.any():
        return 1
    steps, far, count = steps[kept], far[kept], count[kept]
    fits = (np.cos((2 * np.pi / steps[:, None]) * c[None, :]) * far).sum(axis=1) / count
    if fits.max() < _LATTICE:
        return 1
    return int(steps[fits >= 0.85 * fits.max()].max())
