"""Skin and zones: which pixels are measured, what each is called, and how big a millimetre is.

Metrics are only as good as the area they average over. :func:`regions` finds

* the **skin mask**: the face's skin without eyes, brows, lips, nostrils,
  hair, background and specular glare -- or, on a close-up with no face, the
  skin-coloured part of the frame less glare, deep shadow, a thin border and
  a paler, greyer backdrop reaching in from the frame's edge (a wall, a towel);
* named **zones** -- forehead, left and right cheek, nose, chin -- where a
  face is found ("left" is the patient's left, on the image's right in a
  frontal photo);
* the **reference**: what is clearly not skin (background, clothing, hair)
  and so tells the light's colour (see :func:`analyzer.color.estimate_illuminant`);
  on a close-up, whatever surrounds the skin (backdrop, hair, eyes, teeth)
  less 2 mm beside it -- or, when a colour
  checker is in the photo (:mod:`analyzer.card`), its neutral patches, and the
  card is not skin;
* the **scale** in pixels per millimetre: from the face's size where a face
  is found, else from the frame (a close-up is taken to be about 10 cm
  across its shorter side), else as given by the caller.

Faces are outlined with the face-landmark model (:mod:`analyzer.landmarks`,
MediaPipe Face Mesh) and measured by the distance between the eyes' centres
(63 mm on average in adults; Dodgson 2004, doi:10.1117/12.529999). If the
model is not installed, the box of scikit-image's LBP frontal-face detector
and average facial proportions stand in, less precisely. A caller's own mask
(a scar, a treated patch) overrides the detected skin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from analyzer import landmarks
from analyzer.card import NEUTRAL, Card, find_card
from analyzer.color import srgb_to_linear
from analyzer.images import check_rgb8
from analyzer.quality import detect_face

__all__ = ["CARD_MARGIN_MM", "MIN_REFERENCE_SHARE", "ZONES", "SkinRegions", "not_skin", "polygon_mask",
           "regions"]

ZONES = ("forehead", "left_cheek", "right_cheek", "nose", "chin")

# The face detector's box is ~1.15x the face's width (measured on the demo
# patient: box 1013 px, face 880 px). An adult face is ~140 mm wide
# (bizygomatic breadth, Farkas 1994: 137 +- 7 mm), so the box spans ~161 mm.
_BOX_WIDTH_MM = 161.0
_EYE_DISTANCE_MM = 63.0  # between the eyes' centres: adult mean interpupillary distance (Dodgson 2004)
_CLOSE_UP_SIDE_MM = 100.0  # shorter side of a close-up when nothing says otherwise
_FACE_OVAL = ((0.50, 0.59), (0.43, 0.51))  # centre, semi-axes, as fractions of the box
# Parts that are not skin, as ellipses in box fractions: (centre, semi-axes).
_EXCLUDED = (
    ((0.31, 0.35), (0.13, 0.075)), ((0.72, 0.35), (0.13, 0.075)),  # eyes
    ((0.28, 0.26), (0.15, 0.055)), ((0.74, 0.26), (0.15, 0.055)),  # brows
    ((0.50, 0.65), (0.12, 0.055)),  # nostrils
    ((0.52, 0.79), (0.30, 0.11)),  # lips
)
# Zones in box fractions (x0, y0, x1, y1), intersected with the oval and the skin.
_ZONE_BOXES = {
    "forehead": (0.22, 0.08, 0.78, 0.21),
    "right_cheek": (0.10, 0.44, 0.39, 0.72),  # the patient's right: the image's left
    "left_cheek": (0.61, 0.44, 0.90, 0.72),
    "nose": (0.42, 0.38, 0.58, 0.63),
    "chin": (0.34, 0.90, 0.66, 1.08),
}
# Skin this close to a colour card is not measured: the texture metrics' widest filter (a 2 mm
# Gaussian) reaches 6 mm, and the card's hard edges would read as relief there; the card moves
# from visit to visit, so its edges would read as a change (roughness +1.8 relief units with
# the card held over the cheek at the next visit, where the card itself was left out).
CARD_MARGIN_MM = 6.0
_SHADOW = 0.35  # pixels darker than this share of the skin's median luminance: hair, brows, nostrils
_LUMINANCE = (0.2126, 0.7152, 0.0722)  # Rec. 709 weights of linear R, G, B
_GLARE = 0.96  # linear: any channel above this is clipped or specular
# A close-up's backdrop is this much greyer than its skin, in natural-log chromaticity along
# skin's hue (_SKIN_HUE). On the demo close-ups, measured: the wall 0.35..0.49 (0.1th
# percentile to median), the cheeks' skin below 0.18 (99th percentile) and 0.36 (99.9th). The
# greyer area must also reach the frame's edge, so a pale scar or vitiligo inside the skin stays.
_GREYER = 0.33
# Less reference than this share of the frame is a sliver at its corners (a cap, a coloured flag):
# one or two surfaces, not the light. A face filling the frame left 0.3 % (the Hopper phantom
# cropped to the face), and the light it gave turned its erythema index from 46.4 into 3.1, with
# 0.05 OD more haemoglobin tipping the sample over the pixel minimum. Front views: 27..58 %.
MIN_REFERENCE_SHARE = 0.05
_BACKDROP_MARGIN_MM = 2.0  # of a close-up's surroundings beside the skin are not the light's reference
_SKIN_HUE = (0.79, -0.62)  # unit (ln R/G, ln B/G) from grey towards skin's median (demo: 0.45, -0.35)
# A later photo's shadow hides skin only where that skin is at most this share as light as it was
# (each photo's luminance relative to its skin's median). Pixels near the darkness cut in both
# photos flip with the light: hiding every one under the cut moved the demo's spot area at
# session 2 from -0.02 to +0.16 % (the rims of the nostrils' and folds' shadows read as darker
# skin); a lock of dark hair is a fifth as light or less.
_NEWLY_DARK = 0.8


@dataclass(frozen=True)
class SkinRegions:
    """Where to measure, in the analysed photo's pixels.

    Attributes
    ----------
    mask : (H, W) bool ndarray
        Skin to measure.
    zones : dict of str -> (H, W) bool ndarray
        Named zones within ``mask`` (empty when no face was found or a mask was given).
    reference : (H, W) bool ndarray
        Surfaces that are not skin, for the illuminant.
    px_per_mm : float
        Scale, pixels per millimetre.
    scale_source : str
        ``"given"``, ``"face"`` or ``"frame"``.
    face_box : tuple of 4 floats or None
        x, y, width, height of the face found, in pixels.
    card : Card or None
        The colour checker found in the photo; its neutral patches are then the reference.
    """

    mask: np.ndarray
    zones: dict[str, np.ndarray] = field(default_factory=dict)
    reference: np.ndarray | None = None
    px_per_mm: float = 1.0
    scale_source: str = "frame"
    face_box: tuple[float, float, float, float] | None = None
    card: Card | None = None


def regions(img: np.ndarray, *, mask: np.ndarray | None = None,
            px_per_mm: float | None = None) -> SkinRegions:
    """Find the skin to measure, its zones, the light reference and the scale.

    Parameters
    ----------
    img : (H, W, 3) uint8 ndarray
        sRGB photo.
    mask : (H, W) bool ndarray, optional
        The area to measure, drawn by the user; replaces the detected skin
        (glare is still removed) and disables zones.
    px_per_mm : float, optional
        Known scale (from a ruler or a calibrated camera); overrides the estimate.

    Returns
    -------
    SkinRegions
    """
    check_rgb8(img, "photo")
    h, w = img.shape[:2]
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (h, w):
            raise ValueError(f"the mask is {mask.shape[1]}x{mask.shape[0]} px but the photo is {w}x{h}")
        mask = mask.astype(bool)
    glare = _glare(img)
    if landmarks.model_available():  # the mesh model decides; the box detector has false alarms
        face = landmarks.find_face(img)
        box = None if face is None else face.box()
    else:
        face, box = None, detect_face(img)
    if face is not None:
        skin, zones, reference, scale = _from_landmarks(img, face, glare)
        source = "face"
    elif box is None:
        skin = ~glare & _border(h, w) & _skin_coloured(img)
        backdrop = _backdrop(img, skin)
        skin &= ~backdrop
        skin &= ~_shadow(img, skin)
        zones: dict[str, np.ndarray] = {}
        scale, source = min(h, w) / _CLOSE_UP_SIDE_MM, "frame"
        # the light's reference: with a backdrop in view, all that surrounds the skin (backdrop,
        # hair, eyes, teeth), away from the skin's halo and the jaw's shadow on the backdrop and
        # inside the frame's vignetted border. Hair alone is no reference: dark and narrow in tone,
        # it read the power of the phantoms' relightings up to 0.13 off (the demo close-ups cropped
        # to hair and skin), where with the backdrop it is read within 0.005.
        beside = _near(skin, _BACKDROP_MARGIN_MM * scale) | glare
        reference = backdrop & ~beside
        if np.count_nonzero(reference) >= MIN_REFERENCE_SHARE * h * w:
            reference = _border(h, w) & ~beside
    else:
        oval = _ellipse((h, w), box, *_FACE_OVAL)
        skin = oval & ~glare
        for centre, axes in _EXCLUDED:
            skin &= ~_ellipse((h, w), box, centre, axes)
        skin &= ~_shadow(img, skin)
        skin = _clean(skin, box[2] / 100)
        # reference: outside the face with a margin (necks and ears are skin too: leave them out)
        around = _ellipse((h, w), box, _FACE_OVAL[0], (_FACE_OVAL[1][0] * 1.5, _FACE_OVAL[1][1] * 1.4))
        below = np.zeros((h, w), bool)
        below[int(box[1] + box[3] * 1.0):, int(box[0]):int(box[0] + box[2])] = True  # the neck
        reference = ~around & ~below
        zones = {name: skin & _rect((h, w), box, _ZONE_BOXES[name]) for name in ZONES}
        scale, source = box[2] / _BOX_WIDTH_MM, "face"
    card = find_card(img)
    if card is not None:  # a surface of known colour, the same at every visit: better than the backdrop
        on_card = card.area((h, w), CARD_MARGIN_MM * scale)
        skin &= ~on_card
        zones = {name: zone & ~on_card for name, zone in zones.items()}
        reference = card.interiors((h, w), NEUTRAL)
    if mask is not None:
        skin, zones = mask & ~glare, {}
        if reference.any() and card is None:
            reference &= ~cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    if px_per_mm is not None:
        if not (px_per_mm > 0 and math.isfinite(px_per_mm)):
            raise ValueError(f"px_per_mm must be a positive number, not {px_per_mm}")
        scale, source = float(px_per_mm), "given"
    return SkinRegions(mask=skin, zones=zones, reference=reference, px_per_mm=float(scale),
                       scale_source=source, face_box=box, card=card)


def not_skin(img: np.ndarray, skin: SkinRegions, *, like: np.ndarray) -> np.ndarray:
    """What of the skin a photo was measured over is hidden in another photo of it.

    `img` is the other photo aligned onto the first, `like` (pixel for pixel
    the same view). Hidden: glare in `img` (:func:`_glare`), and what
    :func:`_shadow` cuts in `img` where `like` was lighter by a quarter or
    more (:data:`_NEWLY_DARK`, relative to each photo's median skin
    luminance): a lock of dark hair or a new deep shadow, not the rim of a
    nostril's shadow that sits just either side of the cut in two photos.
    A shine or a lock of hair at the next visit then hides that skin instead
    of reading as a change in it.

    Parameters
    ----------
    img, like : (H, W, 3) uint8 ndarray
    skin : SkinRegions
        In their pixels.

    Returns
    -------
    (H, W) bool ndarray
        Within ``skin.mask``.
    """
    area = skin.mask
    rows, cols = np.flatnonzero(area.any(axis=1)), np.flatnonzero(area.any(axis=0))
    out = np.zeros(area.shape, bool)
    if not len(rows):
        return out
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    crop, inside = img[box], area[box]
    dark = _shadow(crop, inside)
    if dark.any():  # new darkness only

        def relative(photo: np.ndarray) -> np.ndarray:  # linear luminance over the skin's median
            luminance = srgb_to_linear(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY))
            return luminance / max(float(np.median(luminance[inside])), 1e-6)

        dark &= relative(crop) <= _NEWLY_DARK * relative(like[box])
    out[box] = (_glare(crop) | dark) & inside
    return out


def _from_landmarks(img: np.ndarray, face, glare: np.ndarray):
    """Skin, zones, reference and scale from the face mesh's outlines."""
    shape = img.shape[:2]
    oval = polygon_mask(shape, face.polygon("face_oval"))
    eyes = [face.polygon(n).mean(axis=0) for n in ("left_eye", "right_eye")]
    eye_distance = float(np.hypot(*(eyes[0] - eyes[1])))
    px_per_mm = eye_distance / _EYE_DISTANCE_MM
    margin = max(3, int(1.5 * px_per_mm) | 1)  # 1.5 mm round eyes, brows and lips: lashes, liner, lipstick
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (margin, margin))
    parts = np.zeros(shape, np.uint8)
    for name in ("left_eye", "right_eye", "left_brow", "right_brow", "lips"):
        parts |= polygon_mask(shape, face.polygon(name)).astype(np.uint8)
    parts = cv2.dilate(parts, grow).astype(bool)
    skin = oval & ~parts & ~glare
    skin &= ~_shadow(img, skin)
    skin = _clean(skin, 1.0 * px_per_mm)
    zones = {name: skin & polygon_mask(shape, face.polygon(name)) for name in ZONES}
    # reference: well outside the face (hair, backdrop, clothing), not the neck below the chin
    x, y, w, h = face.box()
    around = cv2.distanceTransform((~oval).astype(np.uint8), cv2.DIST_L2, 3) < 0.2 * w
    below = np.zeros(shape, bool)
    below[int(y + h):, max(0, int(x - 0.2 * w)):int(x + 1.2 * w)] = True
    # glare stays in: the light estimate selects reference pixels by rank, and clipped ones
    # in place at the top keep that selection the same surfaces whatever the exposure
    reference = ~around & ~below
    return skin, zones, reference, px_per_mm


def polygon_mask(shape: tuple[int, int], points) -> np.ndarray:
    """The (H, W) bool mask inside a polygon of (x, y) pixel coordinates (quarter-pixel, edges included)."""
    points = np.asarray(points, np.float64)
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(points * 4).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=2)
    return out.astype(bool)


def _ellipse(shape, box, centre, axes) -> np.ndarray:
    x, y, bw, bh = box
    cx, cy = x + centre[0] * bw, y + centre[1] * bh
    ax, ay = max(axes[0] * bw, 1.0), max(axes[1] * bh, 1.0)
    out = np.zeros(shape, np.uint8)
    cv2.ellipse(out, (round(cx), round(cy)), (round(ax), round(ay)), 0, 0, 360, 1, -1)
    return out.astype(bool)


def _rect(shape, box, frac) -> np.ndarray:
    x, y, bw, bh = box
    out = np.zeros(shape, bool)
    x0, x1 = (max(0, round(x + f * bw)) for f in (frac[0], frac[2]))
    y0, y1 = (max(0, round(y + f * bh)) for f in (frac[1], frac[3]))
    out[y0:y1, x0:x1] = True
    return out


def _skin_coloured(img: np.ndarray) -> np.ndarray:
    """Pixels whose chroma could be skin of any tone under roughly white light.

    The YCbCr box of Chai and Ngan (1999, doi:10.1109/76.767122), Cr 133..173,
    Cb 77..127, widened by 7 code values each way for colour casts the
    illuminant correction takes out later. It removes clothing, backdrops and
    instruments at the edge of a close-up, not skin.
    """
    ycrcb = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    return (cr >= 126) & (cr <= 180) & (cb >= 70) & (cb <= 134)


def _backdrop(img: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """A close-up's backdrop: what reaches in from the frame's edge much greyer than the skin.

    The chroma box of :func:`_skin_coloured` is wide enough for a wall or a towel
    under warm light. They are told apart by chromaticity in linear light,
    ``(ln R/G, ln B/G)``: a white balance change adds the same vector to every
    pixel's, so how much greyer a pixel is than the `skin`'s median along skin's
    hue (:data:`_SKIN_HUE`) does not depend on it. Judged on a copy at most
    1000 px across, smoothed over 2 of its pixels (camera noise).

    Parameters
    ----------
    img : (H, W, 3) uint8 ndarray
        sRGB photo.
    skin : (H, W) bool ndarray
        Candidate skin; its median is the skin's colour.

    Returns
    -------
    (H, W) bool ndarray
    """
    h, w = skin.shape
    step = max(1, math.ceil(max(h, w) / 1000))
    small = cv2.resize(img, (math.ceil(w / step), math.ceil(h / step)), interpolation=cv2.INTER_AREA)
    light = srgb_to_linear(small) + np.float32(1e-3)
    light = cv2.GaussianBlur(light, (0, 0), 2.0)
    hue = np.float32(_SKIN_HUE[0]) * np.log(light[..., 0] / light[..., 1]) \
        + np.float32(_SKIN_HUE[1]) * np.log(light[..., 2] / light[..., 1])
    on_skin = cv2.resize(skin.astype(np.uint8), hue.shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
    if not on_skin.any():
        return np.zeros((h, w), bool)
    greyer = (hue < np.median(hue[on_skin]) - _GREYER).astype(np.uint8)
    _, labels = cv2.connectedComponents(greyer, connectivity=8)
    rim = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    backdrop = np.isin(labels, rim[rim > 0]).astype(np.uint8)
    return cv2.resize(backdrop, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def _near(mask: np.ndarray, distance_px: float) -> np.ndarray:
    """Pixels within `distance_px` of `mask` (and `mask` itself); (H, W) bool."""
    away = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    return away <= distance_px


def _glare(img: np.ndarray) -> np.ndarray:
    """Clipped or specular pixels, grown by 2 px (their halo is not skin colour either)."""
    r, g, b = cv2.split(img)
    brightest = cv2.max(cv2.max(r, g), b)
    _, clipped = cv2.threshold(brightest, round(255 * _GLARE ** (1 / 2.4)) - 1, 1, cv2.THRESH_BINARY)
    return cv2.dilate(clipped, np.ones((5, 5), np.uint8)).astype(bool)


def _shadow(img: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Much darker than the skin: hair, brows, nostrils, lashes, deep shadow.

    Judged in linear light, each channel relative to the skin's median in it, so a change of
    exposure or white balance alone does not move the cut (in sRGB code values, with a
    luminance of code values against one median, it did: 0.2-0.8 % of the skin mask came and
    went on the phantoms under exposure +-30 % and white balance +-12 %).
    """
    if not skin.any():
        return np.zeros(skin.shape, bool)
    codes = srgb_to_linear(np.arange(256, dtype=np.uint8))
    relative = np.zeros(skin.shape, np.float32)
    for c, weight in enumerate(_LUMINANCE):
        channel = img[..., c]
        # the median's linear value, interpolated within its code's bin: a whole code is
        # 1-2 % of the skin's light, and rounding the median to one moved the cut with it
        counts = np.bincount(channel[skin], minlength=256)
        below = np.cumsum(counts) - counts
        k = int(np.searchsorted(below + counts, (below[-1] + counts[-1]) / 2))
        share = ((below[-1] + counts[-1]) / 2 - below[k]) / max(int(counts[k]), 1)
        edges = srgb_to_linear(np.clip(np.array([k - 0.5, k + 0.5]) / 255.0, 0.0, 1.0))
        median = edges[0] + share * (edges[1] - edges[0])
        relative += cv2.LUT(channel, (weight * codes / max(float(median), 1e-4)).astype(np.float32))
    return relative < _SHADOW


def _border(h: int, w: int) -> np.ndarray:
    """All but a 2% border (vignetting, lens falloff and partial pixels live there)."""
    out = np.zeros((h, w), bool)
    m = max(1, round(0.02 * min(h, w)))
    out[m:-m, m:-m] = True
    return out


def _clean(skin: np.ndarray, size_px: float) -> np.ndarray:
    """Drop specks and fill pinholes smaller than `size_px` (about 1.6 mm on a face)."""
    k = max(3, int(size_px) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    out = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return out.astype(bool)
