"""Analysis of one photo, and of a later photo against the patient's baseline.

:func:`analyze` finds the skin (:mod:`analyzer.skin`), takes the light out
(:mod:`analyzer.color`) and measures redness, pigmentation and texture
(:mod:`analyzer.metrics`) over the whole skin and each face zone.

:func:`compare` aligns the later photo onto the baseline
(:func:`analyzer.align`), fits its exposure, white balance and tone curve to
the baseline's on the non-skin surfaces both show, and measures both photos
over exactly the same skin -- the baseline's, where the later photo covers
it. Each change is flagged *significant* only beyond its minimal detectable
change: what repeat photos of unchanged skin (small pose, exposure, noise and
JPEG differences) move it by, measured with ``python bench/repeatability.py``;
for a pair lit more differently than those, beyond limits widened by what such
light moves it by (``python bench/light_beyond.py``).

Both work in an *analysis frame*: the skin's bounding box, resampled to at
most 8 px/mm -- fine enough for 0.3 mm lines and pores, and the same for every
photo whatever its resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from analyzer.align import Alignment, align
from analyzer.card import Card, canonical_interiors, find_card
from analyzer.color import (
    IDENTITY_TONE,
    Illuminant,
    Tone,
    block_means,
    block_shares,
    estimate_illuminant,
    lab,
    match_tone,
    match_tone_pairs,
    match_tone_power,
    normalize,
    optical_density,
    srgb_to_linear,
    unmix,
)
from analyzer.compression import (
    COLOUR_LIMIT_FACTOR,
    MIN_COLOUR_QUALITY,
    MIN_JUDGED_QUALITY,
    MIN_QUALITY_MEASURED,
    jpeg_quality,
    limit_factor,
)
from analyzer.images import check_rgb8
from analyzer.metrics import METRICS, info
from analyzer.metrics.pigmentation import (
    APPEAR_MARGIN,
    Spot,
    disc_means,
    find_spots,
    melanin_excess,
    melanin_map,
    outline_spots,
    pigmentation,
    still_visible,
    tone_map,
)
from analyzer.metrics.redness import erythema_map, even_level, redness
from analyzer.metrics.repeatability import (
    light_beyond_factor,
    light_beyond_measured,
    minimal_detectable_change,
    smallest_drawn_area_measured,
)
from analyzer.metrics.texture import (
    MIN_PX_PER_MM,
    find_pores,
    relief_map,
    roughness_map,
    texture,
    wrinkle_map,
)
from analyzer.skin import CARD_MARGIN_MM, MIN_REFERENCE_SHARE, SkinRegions, not_skin, regions
from analyzer.uneven_light import LightField, uneven_light

__all__ = ["ALGORITHM_VERSION", "Comparison", "Maps", "Metrics", "NoSkin", "analyze", "compare"]

ALGORITHM_VERSION = "1.15"  # bump when a metric or its significance changes; stored with every analysis
_WORK_PX_PER_MM = 8.0
_MARGIN_MM = 3.0
_SAMPLE_PIXELS = 1_000_000  # the light is estimated on about this many pixels
_TONE_SAMPLE_PIXELS = 250_000  # and the tone curve on at most about this many block means
_TONE_BLOCK = 8  # px: the tone curve is fitted on block means no smaller than a JPEG block
_MIN_AREA_MM2 = 25.0  # less skin than 5 x 5 mm is too little to measure
# Skin has colour: the median CIELAB chroma of the area measured, as the camera saw it, is
# 16.9..22.5 on the demo's 17 photos, 17.6 on the astronaut phantom, 35 on Hopper's, 15.3..27 on a
# close-up under white balance +-12 % per channel, 32..40 with 1..3 OD more melanin (darker skin);
# a black-and-white photo reads 0, a grey card or a white wall 0..2. Below this: NoSkin.
MIN_SKIN_CHROMA = 5.0
# light that fell unevenly is evened out beyond this many stops (LightField.stops): repeat photos
# of the demo patient's three views and its whole course reach 0.006, the phantoms' relightings
# 0.007 (the issue's) and 0.015 (other phones' looks); a side of the face at 0.85x its light 0.17,
# a vignette 0.07 (bench/uneven_light.py). Evening is neutral: a real change along a direction the
# model lacks, read as uneven light, keeps every metric but ITA (docs/metrics.md)
UNEVEN_LIGHT_LIMIT = 0.03
_EVENING_ROUNDS = 3  # rounds refining the field against a gain per channel and one power, at most
_EVENED = 0.005  # stops: a round that adds less than this ends them
_EVENING_PIXELS = 1_500_000  # the field is read on copies of about this many pixels
_HIDDEN_NOTE = 0.05  # a comparison says so when this share of the baseline's skin is hidden later


class NoSkin(ValueError):
    """The photo (or the given mask) leaves too little skin to measure."""


@dataclass(frozen=True)
class Maps:
    """Per-pixel maps behind the metrics, in the analysis frame.

    ``box`` is (x0, y0, x1, y1) of the frame in the photo's pixels and
    ``factor`` the frame's pixels per photo pixel (<= 1). Use :meth:`to_photo`
    to draw a map over the photo.
    """

    erythema: np.ndarray  # EI units, float32
    melanin: np.ndarray  # MI units, float32
    excess: np.ndarray  # melanin above the surrounding skin's, MI units, float32
    relief: np.ndarray  # relief units, float32
    lines: np.ndarray  # bool: on a fine line or wrinkle
    spots: np.ndarray  # bool: on a brown spot
    mask: np.ndarray  # bool: measured skin
    box: tuple[int, int, int, int]
    factor: float
    zones: Mapping[str, np.ndarray] = field(default_factory=dict)  # bool: each face zone's skin

    def to_photo(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """Map `name` resampled onto a photo of `shape` (H, W); 0 outside the frame. float32."""
        values = getattr(self, name).astype(np.float32)
        x0, y0, x1, y1 = self.box
        out = np.zeros(shape, np.float32)
        out[y0:y1, x0:x1] = cv2.resize(values, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        return out


@dataclass(frozen=True)
class Metrics:
    """What :func:`analyze` measured.

    ``values`` holds every key of :data:`analyzer.metrics.METRICS` for the
    whole area, and ``zone.<name>.<key>`` for each face zone found.
    """

    values: Mapping[str, float]
    px_per_mm: float  # the photo's scale
    scale_source: str  # "given", "face" or "frame"
    area_mm2: float
    illuminant: Illuminant
    red_level: float  # even-skin erythema that red areas were judged against, EI units
    spots: tuple[Spot, ...]  # in the photo's pixels
    maps: Maps = field(repr=False)
    notes: tuple[str, ...] = ()  # why a metric is missing (NaN), in words for people
    version: str = ALGORITHM_VERSION

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def to_dict(self) -> dict[str, float]:
        """Flat ``{"redness.erythema_index": 12.3, "zone.forehead.texture.roughness": ...}``."""
        return dict(self.values)

    def context(self) -> dict:
        """How the numbers were obtained: scale, area, light, version (JSON-ready)."""
        return {
            "px_per_mm": round(self.px_per_mm, 3),
            "scale_source": self.scale_source,
            "area_mm2": round(self.area_mm2, 1),
            "illuminant": self.illuminant.to_dict(),
            "red_level": round(self.red_level, 3),
            "spots": [{"x": round(s.x, 1), "y": round(s.y, 1), "diameter_mm": round(s.diameter_mm, 2),
                       "contrast": round(s.contrast, 2)} for s in self.spots],
            "algorithm_version": self.version,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Comparison:
    """A later photo against the baseline.

    When the photos align, ``before`` and ``after`` are measured over the same
    skin (the baseline's, where the later photo covers it), ``delta`` is after
    minus before per key, and ``significant`` says which deltas exceed their
    ``limits`` (same units as the metric; inf: not judged): the minimal
    detectable change, widened for a photo compressed again
    (:func:`analyzer.compression.limit_factor`) and, when ``light_beyond``, for a
    pair lit beyond the repeat photos (:data:`~analyzer.metrics.repeatability.LIGHT_BEYOND_FACTOR`).
    When they do not align (``alignment.ok`` is
    False), ``after`` is None and ``delta`` and ``significant`` are empty: no
    change is reported that could be a different patch of skin. ``notes`` say, in
    words for people, when the two photos were lit more differently than the repeat
    photos the minimal detectable changes were measured on, or taken through tone
    curves of another shape (another phone or camera app: ``tone.departure``), so a
    change near its limit may be the light or the camera. ``drawn``: measured
    over a drawn area (``mask``), whose changes are judged against the noise of
    areas of its size.
    """

    alignment: Alignment
    before: Metrics
    after: Metrics | None
    delta: Mapping[str, float]
    significant: Mapping[str, bool]
    tone: Tone
    light: str  # "reference" (a face's surroundings), "backdrop" (a close-up's), "card" or "camera"
    notes: tuple[str, ...] = ()
    drawn: bool = False
    uneven_light_stops: float = 0.0  # how unevenly the light changed over the skin (LightField.stops)
    jpeg_quality: tuple[int | None, int | None] = (None, None)  # (baseline, later): analyzer.compression
    limits: Mapping[str, float] = field(default_factory=dict)  # the noise limit each delta was judged by
    light_beyond: bool = False  # lit beyond the repeat photos: limits widened (LIGHT_BEYOND_FACTOR)

    def to_dict(self) -> dict:
        return {
            "alignment": self.alignment.to_dict(),
            "light": self.light,
            "drawn": self.drawn,
            "uneven_light_stops": round(self.uneven_light_stops, 4),
            "jpeg_quality": list(self.jpeg_quality),
            "light_beyond": self.light_beyond,
            "tone": self.tone.to_dict(),
            "before": self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
            "delta": dict(self.delta),
            "significant": dict(self.significant),
            "limits": dict(self.limits),  # inf (None in the records): not judged
            # the light against the baseline's, unrounded (Tone.change()); none read from the camera alone
            "light_change": self.tone.change() if self.light != "camera" and self.after is not None else {},
            "notes": list(self.notes),
        }


def analyze(img: np.ndarray, mask: np.ndarray | None = None, *, px_per_mm: float | None = None) -> Metrics:
    """Measure redness, pigmentation and texture in one photo.

    Parameters
    ----------
    img : (H, W, 3) uint8 ndarray
        sRGB photo, as from :func:`analyzer.load_image`.
    mask : (H, W) bool ndarray, optional
        Area to measure; default: the detected skin, with face zones.
    px_per_mm : float, optional
        Known scale; default: from the face's size, or the frame for close-ups.

    Returns
    -------
    Metrics

    Raises
    ------
    NoSkin
        Less than 25 mm² of skin to measure, or an area with no colour (a black-and-white
        photo, a grey card: median CIELAB chroma under :data:`MIN_SKIN_CHROMA`).
    """
    check_rgb8(img, "photo")
    skin = regions(img, mask=mask, px_per_mm=px_per_mm)
    return _measure(img, skin, _illuminant(img, skin))


def compare(before: np.ndarray, after: np.ndarray, *, mask: np.ndarray | None = None) -> Comparison:
    """Measure the change from a baseline photo to a later photo of the same view.

    Parameters
    ----------
    before : (H, W, 3) uint8 ndarray
        The baseline photo (sRGB).
    after : (H', W', 3) uint8 ndarray
        A later photo of the same skin, any size.
    mask : (H, W) bool ndarray, optional
        The area to measure, on the baseline's pixels (a treated patch, say); it
        replaces the detected skin as in :func:`analyze` and is followed onto the
        later photo by the alignment. Default: the baseline's detected skin, with
        face zones.

    Returns
    -------
    Comparison

    Raises
    ------
    NoSkin
        Less than 25 mm² of the area left to measure in both photos, or either photo's area
        with no colour (see :func:`analyze`).
    ValueError
        A mask not of the baseline's size.
    """
    check_rgb8(before, "baseline photo")
    check_rgb8(after, "later photo")
    skin = regions(before, mask=mask)
    alignment = align(after, before)
    illuminant = _illuminant(before, skin)
    if not alignment.ok:
        return Comparison(alignment=alignment, before=_measure(before, skin, illuminant), after=None,
                          delta={}, significant={}, tone=IDENTITY_TONE, light=_light(illuminant, skin),
                          drawn=mask is not None)
    inner = cv2.erode(alignment.valid.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    common = _restrict(skin, inner)
    card_note = ()
    surroundings = skin.reference & inner
    if skin.card is None and illuminant.source == "camera":
        def refit(warped, evened_after):  # too little reference to read the light from: as the camera saw it
            return IDENTITY_TONE
    elif skin.card is None:
        def refit(warped, evened_after):
            return _tone(warped, before, surroundings, shared_power=skin.face_box is None)
    else:  # the card may sit elsewhere in the later photo: pair its patches, not its place
        later_card = find_card(after)
        if later_card is None:
            def refit(warped, evened_after):
                return IDENTITY_TONE
            card_note = ("The baseline shows a colour card and the later photo does not: its colours are "
                         "compared as the camera saw them, and colour changes are judged against the "
                         "camera's noise. Hold the card beside the skin at every visit.",)
        else:
            def refit(warped, evened_after):
                return _card_tone(evened_after(), later_card, before, skin.card)
            # held over what was skin in the baseline, the card is measured in neither photo
            margin = CARD_MARGIN_MM * common.px_per_mm  # px of the baseline, about the later photo's
            on_card = cv2.warpPerspective(later_card.area(after.shape[:2], margin).astype(np.uint8),
                                          alignment.homography, (before.shape[1], before.shape[0]),
                                          flags=cv2.INTER_NEAREST)
            common = _restrict(common, ~on_card.astype(bool))
    later_light, tone, uneven = _even_light(
        alignment, after, before, common.mask, surroundings, refit,
        rigid=illuminant.source != "camera" and bool(surroundings.any()))
    # The later photo is measured in its own pixels, over the baseline's skin mapped onto it:
    # resampling it into the baseline's frame would blur pores and fine lines that the
    # baseline keeps, and read as a change. What is not skin there (glare; dark hair or deep
    # shadow) is measured in neither photo.
    hidden = not_skin(alignment.warped, common, like=before)  # as taken: glare and deep shadow stay hidden
    hidden_share = np.count_nonzero(hidden) / max(np.count_nonzero(common.mask), 1)
    if hidden_share > 0:
        common = _restrict(common, ~hidden)
        left_mm2 = np.count_nonzero(common.mask) / common.px_per_mm**2
        if left_mm2 < _MIN_AREA_MM2:
            raise NoSkin(f"the later photo hides {100 * hidden_share:.1f} % of the baseline's skin (glare, "
                         f"dark hair or deep shadow), leaving {left_mm2:.0f} mm² to compare (need "
                         f"{_MIN_AREA_MM2:.0f}): retake it with less light on the skin and nothing over it")
    m_before = _measure(before, common, illuminant, whose="the baseline")  # NoSkin when too little is left
    moving = _to_moving(common, alignment, after.shape[:2])
    m_after = _measure(after, moving, illuminant, tone=tone, level=m_before.red_level, gain=later_light,
                       whose="the later photo")
    m_after = _track_spots(m_before, m_after, common, alignment)
    light = _light(illuminant, skin) if tone.pixels else "camera"  # no tone matched: as the camera saw it
    delta, significant, limits = {}, {}, {}
    drawn_mm2 = None if mask is None else m_before.area_mm2  # a small area is noisier than the whole skin
    compression = (jpeg_quality(before), jpeg_quality(after))  # a messaging app's JPEG moves some metrics
    beyond = light_beyond_measured(tone.change()) if light != "camera" else []
    for key, value in m_before.values.items():
        change = m_after.values[key] - value
        delta[key] = change
        limit = minimal_detectable_change(key, light, area_mm2=drawn_mm2) * limit_factor(key, compression)
        limits[key] = limit * light_beyond_factor(key, light) if beyond else limit
        significant[key] = bool(abs(change) > limits[key]) if math.isfinite(change) else False
    notes = (f"The later photo was lit more differently from the baseline than the repeat photos the "
             f"noise limits were measured on: {'; '.join(beyond)}. Its changes were judged against wider "
             f"limits, estimated on pairs relit by up to 30 % exposure, 12 % white balance and 15 % tone "
             f"curve{_widest(limits, light)}: a change smaller than its wider limit is not flagged. "
             "Photograph with the same lamp, distance, phone and camera settings.",
             ) if beyond else ()
    if hidden_share >= _HIDDEN_NOTE:
        notes += (f"{100 * hidden_share:.0f} % of the baseline's skin is hidden in the later photo (glare, "
                  "dark hair or deep shadow) and was measured in neither photo.",)
    smallest_mm2 = smallest_drawn_area_measured(light)
    if drawn_mm2 is not None and drawn_mm2 < smallest_mm2:
        notes += (f"The area measured is {drawn_mm2:.0f} mm², smaller than the smallest drawn area whose "
                  f"noise was measured ({smallest_mm2:.0f} mm²): a change near its noise limit may be "
                  "noise. Draw a larger area to judge it.",)
    for whose, measured in (("baseline", m_before), ("later photo", m_after)):  # why a metric is not measured
        notes += tuple(f"The {whose}: {note}." for note in measured.notes)
    if later_light is not None:
        notes = (f"The light fell unevenly across the skin, unlike at the baseline: one part of it got "
                 f"{uneven:.2f} stops less than another (repeat photos: up to {UNEVEN_LIGHT_LIMIT:.2f}). It "
                 "was evened out before measuring, but a change near its noise limit may still be the "
                 "light: light the face evenly from the front, away from windows, as at the baseline.",
                 ) + notes
    notes = card_note + _compression_note(compression) + notes
    return Comparison(alignment=alignment, before=m_before, after=m_after, delta=delta,
                      significant=significant, tone=tone, light=light, notes=notes, drawn=mask is not None,
                      uneven_light_stops=uneven, jpeg_quality=compression, limits=limits,
                      light_beyond=bool(beyond))


def _widest(limits: Mapping[str, float], light: str) -> str:
    """Words for the largest factor a pair lit beyond the repeat photos widens these limits by, in
    brackets; none when no whole-area change is judged (every limit inf: a photo compressed too much)."""
    whole = [key for key, limit in limits.items() if not key.startswith("zone.") and math.isfinite(limit)]
    if not whole:
        return ""
    factor, key = max((light_beyond_factor(key, light), key) for key in whole)
    return f" (up to {factor:.2f} times: {info(key).label.lower()})"


def _even_light(alignment: Alignment, after: np.ndarray, before: np.ndarray, skin: np.ndarray,
                surroundings: np.ndarray, refit, *, rigid: bool) -> tuple[LightField | None, Tone, float]:
    """Even out light that fell unevenly in the later photo, when it did beyond repeat photos.

    ``refit(warped, evened_after)`` fits the tone curve on the later photo aligned (`warped`)
    or, through the callable `evened_after`, on the later photo in its own pixels; `rigid`:
    the refining rounds fit a gain per channel and one power on the surroundings (else none).
    The field is read on copies of about 1.5 MP (it is smooth; a 12 MP pair's evening took
    1.5 s at full size). Returns the field in the later photo's pixels (None: left as it
    was), the tone curve (fitted after evening) and how unevenly the light fell (stops,
    :attr:`LightField.stops`).
    """
    scale = min(1.0, math.sqrt(_EVENING_PIXELS / (before.shape[0] * before.shape[1])))

    def small(img: np.ndarray) -> np.ndarray:
        if scale == 1.0:
            return img
        source = img.astype(np.uint8) * 255 if img.dtype == bool else img
        out = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return out > 254 if img.dtype == bool else out  # a mask: where it wholly was

    fixed, moving = small(before), small(alignment.warped)
    skin_small, around = small(skin), small(surroundings)
    field = uneven_light(moving, fixed, skin_small, around)
    if field.stops <= UNEVEN_LIGHT_LIMIT:
        return None, refit(alignment.warped, lambda: after), field.stops
    for _ in range(_EVENING_ROUNDS):  # what the first evening left, against a gain per channel and one power
        evened = field.evened(moving)
        tone = _tone(evened, fixed, around, shared_power=True) if rigid else IDENTITY_TONE
        more = uneven_light(evened, fixed, skin_small, around, tone)
        field = field + more
        if more.stops < _EVENED:
            break
    whole = field.resized(moving.shape[:2], before.shape[:2])
    warped = whole.evened(alignment.warped)
    later = whole.moved(alignment.homography, after.shape[:2])
    return later, refit(warped, lambda: later.evened(after)), field.stops


def _track_spots(before: Metrics, after: Metrics, skin: SkinRegions, alignment: Alignment) -> Metrics:
    """Count and outline the later photo's spots by following the baseline's (hysteresis across visits).

    A baseline spot still counts while its excess stays above the lower
    threshold; a spot found only in the later photo counts if it is clearly
    darker than the baseline was over the same disc (by the margin between the
    two thresholds). Counting each photo on its own would let faint
    blemishes near the threshold come and go with the light. The spot area
    is what those spots cover (:func:`outline_spots`), a followed spot outlined
    at the baseline's level, so that it shrinks as it fades. `skin` is the
    baseline's.
    """
    maps = after.maps
    x0, y0 = maps.box[:2]
    ppm = after.px_per_mm * maps.factor

    def in_frame(points_after: np.ndarray) -> np.ndarray:  # later photo's px -> its analysis frame
        return (points_after - (x0, y0)) * maps.factor

    def to_after_frame(points_before: np.ndarray) -> np.ndarray:
        if not len(points_before):
            return np.zeros((0, 2))
        moved = cv2.perspectiveTransform(points_before[None].astype(np.float64),
                                         np.linalg.inv(alignment.homography))[0]
        return in_frame(moved)

    old = np.array([(s.x, s.y) for s in before.spots], float).reshape(-1, 2)
    # seen at its peak: an irregular spot's centroid may lie off it
    old_peaks = np.array([(s.peak_x, s.peak_y) for s in before.spots], float).reshape(-1, 2)
    kept = still_visible(maps.excess, to_after_frame(old_peaks), px_per_mm=ppm)
    found = np.array([(s.x, s.y) for s in after.spots], float).reshape(-1, 2)
    found_before = cv2.perspectiveTransform(found[None], alignment.homography)[0] if len(found) else found
    bx0, by0 = before.maps.box[:2]
    in_before_frame = (found_before - (bx0, by0)) * before.maps.factor
    # New only if clearly darker than the baseline over the same disc: the baseline's excess
    # near the centroid alone (0.5 mm) read an irregular 6 mm blotch, just under the threshold in
    # the baseline and just over it after JPEG, as a new spot.
    diameters = [s.diameter_mm for s in after.spots]
    now = disc_means(maps.excess, maps.mask, in_frame(found), diameters, px_per_mm=ppm)
    then = disc_means(before.maps.excess, before.maps.mask, in_before_frame, diameters,
                      px_per_mm=before.px_per_mm * before.maps.factor)
    was_there = ~(then < now - APPEAR_MARGIN)  # NaN (no baseline skin there): not new
    new = found_before[~was_there] if len(found) else found
    spots = np.concatenate([old[kept], new])  # in the baseline's pixels
    followed = [s for s, k in zip(before.spots, kept, strict=True) if k]
    appeared = [s for s, n in zip(after.spots, ~was_there, strict=True) if n]
    peaks = np.concatenate([to_after_frame(old_peaks[kept]),
                            in_frame(np.array([(s.peak_x, s.peak_y) for s in appeared]).reshape(-1, 2))])
    spot_mask = outline_spots(maps.excess, peaks, followed + appeared, px_per_mm=ppm)
    values = dict(after.values)
    for prefix, area in {"": maps.mask, **{f"zone.{k}.": v for k, v in maps.zones.items()}}.items():
        key = prefix + "pigmentation.spot_area_pct"
        if key in values and area.any():
            values[key] = float(100.0 * np.count_nonzero(spot_mask & area) / np.count_nonzero(area))
    areas = {"": skin.mask, **{f"zone.{k}.": v for k, v in skin.zones.items()}}
    for prefix, area in areas.items():
        key = prefix + "pigmentation.spot_count"
        if key in values:
            rows = np.clip(np.round(spots[:, 1]).astype(int), 0, area.shape[0] - 1)
            cols = np.clip(np.round(spots[:, 0]).astype(int), 0, area.shape[1] - 1)
            values[key] = float(np.count_nonzero(area[rows, cols]))
    return replace(after, values=values, maps=replace(maps, spots=spot_mask))


def _to_moving(skin: SkinRegions, alignment: Alignment, shape: tuple[int, int]) -> SkinRegions:
    """The baseline's skin and zones drawn in the later photo's pixels, and its scale there.

    Masks follow the homography (the dense residual, a few pixels at most,
    does not matter for areas millimetres across).
    """
    h = alignment.homography
    names = list(skin.zones)
    layers = skin.mask.astype(np.uint8)  # one warp for all: the skin in bit 0, zone i in bit i + 1
    for i, name in enumerate(names):
        layers |= skin.zones[name].astype(np.uint8) << (i + 1)
    warped = cv2.warpPerspective(layers, h, (shape[1], shape[0]),
                                 flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)

    def warp(bit: int) -> np.ndarray:
        return (warped & (1 << bit)).astype(bool)

    rows, cols = np.nonzero(skin.mask)
    centre = np.array([[[cols.mean(), rows.mean()]]], np.float64)  # in the baseline
    to_moving = np.linalg.inv(h)
    local = [cv2.perspectiveTransform(centre + d, to_moving)[0, 0] for d in ((0, 0), (1, 0), (0, 1))]
    jacobian = np.stack([local[1] - local[0], local[2] - local[0]], axis=1)
    scale = math.sqrt(abs(np.linalg.det(jacobian)))  # later-photo px per baseline px
    return SkinRegions(mask=warp(0), zones={name: warp(i + 1) for i, name in enumerate(names)},
                       reference=np.zeros(shape, bool), px_per_mm=skin.px_per_mm * scale,
                       scale_source=skin.scale_source, face_box=None)


def _restrict(skin: SkinRegions, keep: np.ndarray) -> SkinRegions:
    return replace(skin, mask=skin.mask & keep, zones={k: v & keep for k, v in skin.zones.items()})


def _light(illuminant: Illuminant, skin: SkinRegions) -> str:
    """Where the light is read from, which decides the noise limits a change is judged by.

    "card" or "reference" (a face's surroundings) as the illuminant says; "backdrop" for a
    close-up's surroundings (a backdrop, hair, eyes, teeth: a few surfaces with gaps between
    their tones, so its tone curve is a gain per channel and one shared power, and less sure
    than a face's surroundings'); "camera" when there is too little reference.
    """
    if illuminant.source not in ("reference", "card"):
        return "camera"
    return "backdrop" if illuminant.source == "reference" and skin.face_box is None else illuminant.source


def _illuminant(img: np.ndarray, skin: SkinRegions) -> Illuminant:
    reference = skin.reference
    if skin.card is not None and reference.any():  # a card's few patches: every pixel of them
        rows, cols = np.flatnonzero(reference.any(axis=1)), np.flatnonzero(reference.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        found = estimate_illuminant(srgb_to_linear(img[box]), reference[box])
        return replace(found, source="card") if found.source == "reference" else found
    step = math.ceil(math.sqrt(reference.size / _SAMPLE_PIXELS))
    count = int(np.count_nonzero(reference))
    if count < MIN_REFERENCE_SHARE * reference.size:
        return Illuminant(rgb=(1.0, 1.0, 1.0), source="camera", pixels=count)
    return estimate_illuminant(srgb_to_linear(img[::step, ::step]), reference[::step, ::step])


def _tone(moving: np.ndarray, fixed: np.ndarray, reference: np.ndarray, *, shared_power: bool) -> Tone:
    """The tone curve from `moving` (aligned) to `fixed`, fitted on blocks of their reference surfaces.

    A face's surroundings span the skin's tones and more, and the quantile curve
    (:func:`~analyzer.color.match_tone`) follows any tone curve there; a close-up's are a few
    surfaces with gaps where the skin's tones lie (``shared_power``): a gain per channel
    and one power for all three (:func:`~analyzer.color.match_tone_power`). Each measured
    both ways on the phantoms: docs/metrics.md, "Close-ups: a colour card, the surroundings,
    or neither".
    """
    if not reference.any():
        return IDENTITY_TONE
    # JPEG's 8 px blocks where the reference is large enough to leave 4000 of them (a small photo
    # gets smaller blocks rather than too few to fit on), larger ones on large photos (speed)
    fit = max(1, min(_TONE_BLOCK, math.isqrt(int(np.count_nonzero(reference)) // 4000)))
    block = max(fit, math.ceil(math.sqrt(reference.size / _TONE_SAMPLE_PIXELS)))
    whole = block_shares(reference, block) > 1.0 - 1e-6  # blocks wholly on the reference
    moving_means, moving_ok = block_means(moving, block)
    fixed_means, fixed_ok = block_means(fixed, block)
    matcher = match_tone_power if shared_power else match_tone
    return matcher(moving_means, fixed_means, whole & moving_ok & fixed_ok)


def _card_tone(moving: np.ndarray, moving_card: Card, fixed: np.ndarray, fixed_card: Card) -> Tone:
    """The tone curve from `moving` to `fixed` through their colour cards' 24 patches, paired patch by patch.

    Each card is warped flat (:meth:`~analyzer.card.Card.canonical`), so a
    patch is read at its place on the card wherever the card was held.
    """
    def patch_means(img: np.ndarray, card: Card) -> np.ndarray:
        logs = np.log(block_means(card.canonical(img), 1)[0])
        return np.array([np.exp(logs[canonical_interiors(slice(i, i + 1))].mean(axis=0)) for i in range(24)])

    return match_tone_pairs(patch_means(moving, moving_card), patch_means(fixed, fixed_card))


def _measure(img: np.ndarray, skin: SkinRegions, illuminant: Illuminant, *, tone: Tone = IDENTITY_TONE,
             level: float | None = None, gain: LightField | None = None, whose: str = "the photo") -> Metrics:
    area_mm2 = np.count_nonzero(skin.mask) / skin.px_per_mm**2
    if area_mm2 < _MIN_AREA_MM2:
        raise NoSkin(f"too little skin to measure ({area_mm2:.0f} mm², need {_MIN_AREA_MM2:.0f}): "
                     "photograph the treated area closer, or draw a larger area")
    box, factor = _frame(skin, img.shape[:2])
    x0, y0, x1, y1 = box
    ppm = skin.px_per_mm * factor
    crop = _resample(srgb_to_linear(img[y0:y1, x0:x1]), factor)
    mask = _resample_mask(skin.mask[y0:y1, x0:x1], factor)
    chroma = _median_chroma(crop, mask)
    if chroma < MIN_SKIN_CHROMA:
        raise NoSkin(f"{whose} has no colour where skin was to be measured (median chroma {chroma:.1f}, "
                     "where skin reads 10 or more): a black-and-white photo or filter, or not skin (a "
                     "grey card, a wall, a page). Take a colour photo of the skin")
    if gain is not None:  # light that fell unevenly, evened out (compare)
        crop = np.minimum(crop * gain.gain(box, crop.shape[:2])[..., None], 1.0)
    crop = tone.apply(crop)
    zones = {name: _resample_mask(z[y0:y1, x0:x1], factor) for name, z in skin.zones.items()}

    reflectance = normalize(crop, illuminant)
    od = optical_density(reflectance)
    amounts = unmix(od)
    ei = erythema_map(od, px_per_mm=ppm)
    if level is None:
        level = even_level(ei, mask)
    mi = melanin_map(amounts, px_per_mm=ppm)
    excess = melanin_excess(mi, mask, px_per_mm=ppm)
    spots, spot_mask = find_spots(excess, mask, px_per_mm=ppm)
    relief = relief_map(amounts)
    lines = wrinkle_map(relief, mask, px_per_mm=ppm)
    pores = find_pores(relief, mask, px_per_mm=ppm)
    band = roughness_map(relief, px_per_mm=ppm)
    tone_mi = tone_map(mi, px_per_mm=ppm)

    def measure(area: np.ndarray, prefix: str) -> dict[str, float]:
        found = {
            **{f"redness.{k}": v for k, v in redness(ei, area, level=level).items()},
            **{f"pigmentation.{k}": v for k, v in pigmentation(
                mi, tone_mi, reflectance, area, spot_mask, spots).items()},
            **{f"texture.{k}": v for k, v in texture(band, area, lines, pores, px_per_mm=ppm).items()},
        }
        return {prefix + m.key: found[m.key] for m in METRICS}

    values = measure(mask, "")
    for name, zone in zones.items():
        if np.count_nonzero(zone) / ppm**2 >= _MIN_AREA_MM2:
            values.update(measure(zone, f"zone.{name}."))
    notes = []
    if ppm < MIN_PX_PER_MM:
        notes.append(f"fine lines and pores need at least {MIN_PX_PER_MM:g} px/mm; this photo has "
                     f"{ppm:.1f}: take it closer or at a higher resolution")
    in_photo = tuple(replace(s, x=s.x / factor + x0, y=s.y / factor + y0, peak_x=s.peak_x / factor + x0,
                             peak_y=s.peak_y / factor + y0) for s in spots)
    maps = Maps(erythema=ei, melanin=mi, excess=excess, relief=relief, lines=lines, spots=spot_mask,
                mask=mask, box=box, factor=factor, zones=zones)
    return Metrics(values=values, px_per_mm=skin.px_per_mm, scale_source=skin.scale_source,
                   area_mm2=float(area_mm2), illuminant=illuminant, red_level=float(level), spots=in_photo,
                   maps=maps, notes=tuple(notes))


def _median_chroma(linear: np.ndarray, mask: np.ndarray) -> float:
    """Median CIELAB chroma C* of `linear` (H, W, 3 float32, 0..1) over `mask`, on at most ~20 000 pixels."""
    pixels = linear[mask]
    pixels = pixels[:: max(1, len(pixels) // 20_000)]
    values = lab(pixels)
    return float(np.median(np.hypot(values[:, 1], values[:, 2]))) if len(values) else 0.0


def _frame(skin: SkinRegions, shape: tuple[int, int]) -> tuple[tuple[int, int, int, int], float]:
    rows = np.flatnonzero(skin.mask.any(axis=1))
    cols = np.flatnonzero(skin.mask.any(axis=0))
    margin = int(math.ceil(_MARGIN_MM * skin.px_per_mm))
    x0, x1 = max(0, cols[0] - margin), min(shape[1], cols[-1] + 1 + margin)
    y0, y1 = max(0, rows[0] - margin), min(shape[0], rows[-1] + 1 + margin)
    return (int(x0), int(y0), int(x1), int(y1)), min(1.0, _WORK_PX_PER_MM / skin.px_per_mm)


def _resample(image: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return np.ascontiguousarray(image)
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _resample_mask(mask: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return mask.copy()
    return _resample(mask.astype(np.float32), factor) > 0.5


def _compression_note(compression: tuple[int | None, int | None]) -> tuple[str, ...]:
    """What a comparison says when a photo was saved below the noise limits' JPEG quality."""
    low = {whose: q for whose, q in zip(("baseline", "later photo"), compression, strict=True)
           if q is not None and q < MIN_QUALITY_MEASURED}
    if not low:
        return ()
    lowest = min(low.values())
    if lowest < MIN_JUDGED_QUALITY:
        judged = "No change is called significant: any may be the compression."
    elif lowest < MIN_COLOUR_QUALITY:
        judged = (f"Changes in fine lines, pores and roughness are not called significant, and colour "
                  f"changes only beyond {COLOUR_LIMIT_FACTOR:.0f} times their noise limits: they may "
                  "be the compression.")
    else:
        judged = ("Changes in fine lines, pores and roughness are not called significant: they may be the "
                  "compression.")
    saved = " and ".join(f"the {whose} at {q}" for whose, q in low.items())
    return (f"Saved at a lower JPEG quality than the repeat photos the noise limits were measured on "
            f"({MIN_QUALITY_MEASURED} and above): {saved}, as a messaging app or e-mail saves a photo it "
            f"sends. {judged} Use the photo as the phone took it (sent as a file, or by cable).",)
