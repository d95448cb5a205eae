"""A colour card in the photo: the light's reference when one is there.

A close-up shows only skin, and without something of known colour beside it
the camera's white balance has to be trusted (colour metrics between two
close-ups then repeat only within 5-18 %). A colour checker held in the frame
-- the 24-patch Macbeth / X-Rite ColorChecker Classic or its "Passport" copy --
is the same surface at every visit: its neutral patches give the light, and its
24 patches, paired patch by patch between two photos, give the later photo's
tone curve, wherever the card sits in each.

The card is found with OpenCV's Macbeth chart detector (``cv2.mcc``, OpenCV
5's objdetect), on a copy of at most one megapixel (0.1 s), and accepted only
when its six neutral patches are ordered from white to black, as a real card's
are under any light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["CANONICAL_PATCH_PX", "NEUTRAL", "Card", "canonical_interiors", "find_card"]

NEUTRAL = slice(18, 24)  # the bottom row: white, neutral 8, 6.5, 5, 3.5, black
CANONICAL_PATCH_PX = 48  # a patch's cell (patch and gap) in :meth:`Card.canonical`
_COLS, _ROWS = 6, 4
_DETECT_PIXELS = 1_000_000  # the detector runs on a copy of at most this many pixels
# The central share of a patch's cell that is read: a printed patch fills 80 % of its cell
# (the gaps between patches are a quarter of a patch), so 40 % keeps clear of its edges.
_INTERIOR = 0.4
_PATCH_SHARE = 0.8  # a printed patch's side over its cell's
_MIN_CELL_PX = 10.0  # a patch's cell narrower than this in the photo is too small to read
_NEUTRAL_STEP = 1.02  # each neutral patch at least this much brighter than the next darker one


@dataclass(frozen=True)
class Card:
    """A colour checker found in a photo.

    ``homography`` (3 x 3) maps the chart's canonical frame -- patch ``i`` in the
    cell at row ``i // 6``, column ``i % 6``, cells of :data:`CANONICAL_PATCH_PX`
    -- onto the photo's pixels; patches in the chart's order (dark skin, light
    skin, ..., white, neutral 8, 6.5, 5, 3.5, black), whichever way up the card
    was held. ``centres`` is (24, 2): each patch's centre (x, y) in the photo.
    """

    homography: np.ndarray
    centres: np.ndarray

    def cell_px(self) -> float:
        """A patch's cell (patch and gap) in the photo, px: the mean spacing of neighbouring patches."""
        grid = self.centres.reshape(_ROWS, _COLS, 2)
        across = np.linalg.norm(np.diff(grid, axis=1), axis=2).mean()
        down = np.linalg.norm(np.diff(grid, axis=0), axis=2).mean()
        return float((across + down) / 2)

    def _to_photo(self, points: np.ndarray) -> np.ndarray:
        return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(1, -1, 2), self.homography)[0]

    def area(self, shape: tuple[int, int], margin_px: float = 0.0) -> np.ndarray:
        """(H, W) bool: the card with a frame of half a cell around its patches, grown by `margin_px`."""
        side = CANONICAL_PATCH_PX
        corners = np.array([[-0.5, -0.5], [_COLS + 0.5, -0.5], [_COLS + 0.5, _ROWS + 0.5],
                            [-0.5, _ROWS + 0.5]]) * side
        mask = _fill(shape, [self._to_photo(corners)])
        if margin_px <= 0:
            return mask
        return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) <= margin_px

    def interiors(self, shape: tuple[int, int], which: slice = slice(None)) -> np.ndarray:
        """(H, W) bool: the central part of the patches `which` (default all) in the photo."""
        return _fill(shape, [self._to_photo(square) for square in _interior_squares(which)])

    def canonical(self, img: np.ndarray) -> np.ndarray:
        """The card in `img` warped flat, (4 x 48, 6 x 48, 3): patch i at row i // 6, column i % 6."""
        side = CANONICAL_PATCH_PX
        to_card = np.linalg.inv(self.homography)
        # the card is usually larger in the photo than here: area-average it first
        shrink = min(1.0, 2.0 * side / max(self.cell_px(), 1.0))
        if shrink < 1.0:
            img = cv2.resize(img, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            to_card = to_card @ np.diag([1 / shrink, 1 / shrink, 1.0])
        return cv2.warpPerspective(img, to_card, (_COLS * side, _ROWS * side), flags=cv2.INTER_LINEAR)


def canonical_interiors(which: slice = slice(None)) -> np.ndarray:
    """(4 x 48, 6 x 48) bool: the central part of patches `which` in :meth:`Card.canonical`'s frame."""
    return _fill((_ROWS * CANONICAL_PATCH_PX, _COLS * CANONICAL_PATCH_PX), _interior_squares(which))


def _cell_centres() -> np.ndarray:
    """(24, 2): each patch's cell centre (x, y) in :meth:`Card.canonical`'s frame, in the chart's order."""
    side = CANONICAL_PATCH_PX
    return np.array([((i % _COLS + 0.5) * side, (i // _COLS + 0.5) * side) for i in range(_ROWS * _COLS)])


def _interior_squares(which: slice, share: float = _INTERIOR) -> list[np.ndarray]:
    """Squares of `share` of a cell's side around the centres of patches `which`, canonical frame."""
    half = CANONICAL_PATCH_PX * share / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    return [centre + corners for centre in _cell_centres()[which]]


def _fill(shape: tuple[int, int], polygons: list[np.ndarray]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for polygon in polygons:
        cv2.fillConvexPoly(mask, np.round(np.asarray(polygon) * 4).astype(np.int32), 1,
                           lineType=cv2.LINE_8, shift=2)
    return mask.astype(bool)


def _refined(card: Card, img: np.ndarray) -> Card:
    """The card's frame fitted to its patches' edges (ECC, Evangelidis and Psarakis 2008).

    The detector's patch outlines sit up to a third of a patch off on small
    cards; aligning the flattened card to the chart's layout (patches bright,
    the card between them dark) brings every patch onto its cell (measured: every patch of the
    drawn chart read within 0.1 code values at 18 to 60 px patches, against up to 56 before).
    """
    shape = (_ROWS * CANONICAL_PATCH_PX, _COLS * CANONICAL_PATCH_PX)
    layout = _fill(shape, _interior_squares(slice(None), _PATCH_SHARE)).astype(np.float32)
    flat = cv2.cvtColor(card.canonical(img), cv2.COLOR_RGB2GRAY).astype(np.float32)
    warp = np.eye(3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    try:
        cv2.findTransformECC(layout, flat, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 5)
    except cv2.error:  # did not converge: keep the detector's frame
        return card
    homography = card.homography @ warp.astype(np.float64)
    centres = cv2.perspectiveTransform(_cell_centres().reshape(1, -1, 2), homography)[0]
    return Card(homography=homography, centres=centres.astype(np.float32))


def _detect(img: np.ndarray, scale: float) -> np.ndarray | None:
    """The detector's 24 x 4 patch corners (x, y) in a copy of `img` resized by `scale`."""
    small = img if scale >= 1.0 else cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    detector = cv2.mcc.CCheckerDetector_create()
    detector.setColorChartType(cv2.mcc.MCC24)
    if not detector.process(np.ascontiguousarray(small[..., ::-1]), 1):  # may raise cv2.error
        return None
    points = np.asarray(detector.getBestColorChecker().getColorCharts(), np.float64)
    if points.shape != (4 * _ROWS * _COLS, 2) or not np.isfinite(points).all():
        return None
    return points


def find_card(img: np.ndarray) -> Card | None:
    """The colour checker in a photo, or None.

    Parameters
    ----------
    img : (H, W, 3) uint8 ndarray
        sRGB photo.

    Returns
    -------
    Card or None
        None when no 24-patch chart is found, when its patches are under
        10 px apart, or when its neutral patches do not run from white to black.
    """
    scale = min(1.0, math.sqrt(_DETECT_PIXELS / (img.shape[0] * img.shape[1])))
    try:
        points = _detect(img, scale)
    except cv2.error:
        # the detector trips over some candidate shapes at one size (an internal assertion) and
        # not at another: 1 of 120 repeat captures with a card in bench/repeatability.py
        scale *= 0.8
        try:
            points = _detect(img, scale)
        except cv2.error:
            return None
    if points is None:
        return None
    centres = points.reshape(_ROWS * _COLS, 4, 2).mean(axis=1) / scale
    # robustly: the detector places a patch or two off by a few pixels now and then
    spacing = float(np.median(np.linalg.norm(np.diff(centres.reshape(_ROWS, _COLS, 2), axis=1), axis=2)))
    homography, _ = cv2.findHomography(_cell_centres(), centres, cv2.RANSAC,
                                       ransacReprojThreshold=0.1 * spacing)
    if homography is None:
        return None
    card = Card(homography=homography, centres=centres.astype(np.float32))
    if card.cell_px() < _MIN_CELL_PX:
        return None
    card = _refined(card, img)
    # a real card's neutral patches run from white to black under any light
    grey = cv2.cvtColor(card.canonical(img), cv2.COLOR_RGB2GRAY)
    levels = [float(np.median(grey[canonical_interiors(slice(i, i + 1))]))
              for i in range(NEUTRAL.start, NEUTRAL.stop)]
    if not all(a >= b * _NEUTRAL_STEP for a, b in zip(levels, levels[1:], strict=False)):
        return None
    return card
