"""The skin metrics follow planted changes and ignore lighting, camera and resolution.

Scientific validation of ``analyze`` and ``compare`` on the skin phantoms of two real faces,
each at 10 px/mm and measured inside its skin mask: tests/phantoms/skin.py (the astronaut's
young, smooth skin) and tests/phantoms/hopper.py (Grace Hopper's older, furrowed, blotchy
skin). Every check runs on both, written from the definitions in DESIGN.md and the issue,
not from the implementation:

* lighting -- exposure +-30 %, white balance +-12 % per channel, tone-curve power +-15 %,
  JPEG 85 -- moves no metric by more than 10 % of what a moderate planted change moves it
  (90th percentile over 12 relightings spanning those ranges);
* redness rises with planted haemoglobin; planted brown spots are counted (+-1); planted fine
  lines raise the wrinkle density; redness makes no spots and spots make hardly any redness;
* the same photo at half resolution reads the same (5 %) on the scale-dependent metrics.

Moderate planted changes (the yardsticks), all in optical density (OD, natural log):

========================== =====================================================
redness.erythema_index     haemoglobin +0.2 OD over the whole mask
redness.red_area_pct       haemoglobin +0.2 OD in two 14 mm cheek discs (9 % of the mask)
pigmentation.melanin_index melanin +0.1 OD over the whole mask (a tan; a few spots hardly
                           move a mean over the face: 0.07 MI units, below any noise)
pigmentation.spot_*        4 brown spots, 1.8..3 mm radius, 0.30..0.40 OD melanin
texture.wrinkle_density    4 fine lines, 23..29 mm long, 0.5 mm wide, 0.15 OD shading
========================== =====================================================

The lighting checks relight the *treated* phantom (all of the above planted but the
whole-mask redness), so that thresholds and counts are loaded, not idle at zero. They relight
it twice over: as an 8-bit edit of the 8-bit photo (rounded again, as the issue's recipe and an
editing app do), and, under gains, as a new capture of the same face (its light, kept
unrounded, rounded to 8 bits once, as a camera does). ``python bench/lighting_causes.py``
prints both side by side.
Every analysis is computed once per module and shared; failure messages print the figures.
"""

from __future__ import annotations

import inspect

import cv2
import numpy as np
import pytest
from phantoms import hopper, skin

from analyzer import analyze, color, compare
from analyzer.metrics import METRICS
from analyzer.metrics.repeatability import light_beyond_factor, minimal_detectable_change

# The faces the checks run on (each a module with the names of phantoms.skin's face): the
# astronaut's young, smooth skin, and Grace Hopper's older, wrinkled, blotchy skin.
FACES = {skin.NAME: skin, hopper.NAME: hopper}

SCALE_KEYWORD = "px_per_mm" in inspect.signature(analyze).parameters
N_LIGHTINGS = 12
SEED = 0
HB_OD = 0.2
MEL_OD = 0.1
HB_LADDER = (0.0, 0.05, 0.1, 0.2, 0.3)
# Lighting may move a metric by at most this share of its yardstick's effect (the figure).
# Measured at 57e5f47, p90 share via analyze (gains) / via compare (full relighting): erythema index
# 1.8 / 3.8 %, red area 7.7 / 27 %, melanin index 78 / 1500 %, spot count 75 / 230 %, spot area
# 107 / 580 %, wrinkle density 45 / 154 %. For a count, 10 % of 4 spots means no change in 11 of 12.
LIGHTING_SHARE = 0.10
LIGHTING_PERCENTILE = 90

# Known gaps (issue 4 stays open on them): the figure is not met yet. Each is marked
# xfail(strict=True) with the figure measured at the commit that marked it (algorithm 1.1), so it
# turns red the day it passes (and the mark must go) and keeps printing its figures until then
# (`pytest --runxfail` prints them all). Closed in 1.1: melanin index under gains (17 -> 7.7 %) and
# full relighting (11.8 -> 8.2 %), wrinkle density at half resolution (8.0 -> 0.4 %), spot count
# under full relighting (p90 1 of 3 spots -> 0 in all 12). Closed in 1.7: Hopper's melanin index under
# gains captured once (13.5 -> 1.5 %: the light reference followed mesh points that moved with the
# light; they are found on the metered photo now). The figures below are re-measured at 1.7: the
# metered mesh sits about 3 px from the raw photo's, so compare() measures a mask 3 % different.
# Closed in 1.8: Hopper's tone-curve power read back (within 0.052 -> 0.008 of the gamma; the power
# is read in sRGB terms, the sRGB curve's local exponent divided out). Added in 1.8: each planted
# spot found where it was planted (the count check above it hid a miss on the astronaut). Closed in
# 1.9 on Hopper, when a blob reaching within 1 mm of the skin's edge stopped counting as a spot
# (pigmentation.EDGE_MM): planted redness makes no spots (145 -> 147 before, 74 -> 74 now), the spot
# count under full relighting (p90 0.9 of a yardstick of 1 -> 0) and at half resolution (6.8 % ->
# 2.7 %). The spot figures below are re-measured at 1.9 (in brackets, 1.7's).
KNOWN_GAPS = {
    # under gains, an 8-bit edit: rounding twice combs the histogram (a one-code step along contour
    # lines, about 1 MI unit of melanin: exposure x 1.01 alone moves the melanin excess map by
    # 0.37 MI units SD); captured once (CAPTURED), wrinkles pass (3.7 %) and spot area is 28 %
    ("astronaut", "gains", "pigmentation.spot_count"): "p90 3 spots (4): faint natural blemishes at the "
                                                       "threshold flip with twice-rounded 8-bit light",
    ("astronaut", "gains", "pigmentation.spot_area_pct"): "59 % (181): the same blemishes",
    ("astronaut", "gains", "texture.wrinkle_density"): "13.8 %: a faint line's thresholded width follows "
                                                       "the one-code steps of twice-rounded light (3.8 % "
                                                       "captured once)",
    ("astronaut", "captured", "pigmentation.spot_count"): "p90 1 spot (3): faint blemishes sit near the "
                                                          "spot threshold; 8-bit rounding flips some",
    ("astronaut", "captured", "pigmentation.spot_area_pct"): "28 % (39): the same blemishes' outlines",
    # under full relighting, JPEG 85 of the skin itself: with the exact inverse of each relighting
    # as the tone curve these stay at 10.7 / 205 / 19 % and fall to 0.2 / 44 / 2.6 % without JPEG
    # (bench/lighting_causes.py, and the oracle experiment in docs/metrics.md; algorithm 1.1)
    ("astronaut", "full", "redness.red_area_pct"): "11.6 %: JPEG 85 (4:2:0 chroma) flattens the cheeks' "
                                                   "fine redness at the red areas' threshold",
    # 203 % until algorithm 1.4 outlined the later photo's spots as the baseline's were outlined
    ("astronaut", "full", "pigmentation.spot_area_pct"): "34 % (59): JPEG 85 moves the outlines of large "
                                                         "faint blemishes",
    ("astronaut", "full", "texture.wrinkle_density"): "26 %: JPEG 85 moves every line's thresholded width",
    # the count check above passes with 3 of the 4 found and one natural blemish lifted over the threshold
    ("astronaut", "planted", "spots found in place"): "3 of 4: the 0.30 OD spot lies on skin 3.9 MI units "
                                                      "lighter than its surround and reads 7.1 (10 needed)",
    ("astronaut", "planted", "redness makes no spots"): "17 -> 20 spots (62 -> 65): redness lifts faint "
                                                        "blemishes over the threshold",
    # The second face, measured when it was added (algorithm 1.5). Its forehead furrows read as
    # melanin (+20 MI units on the wrinkle map's lines over the rest: a furrow's shadow is lit
    # through skin, so it is skin-coloured, not neutral), so the "surrounding skin" of a spot
    # between furrows is darker than the spot's own: the two forehead spots reach 6.6 and 0.0 MI
    # units of excess (10 needed), the cheek spots merge with blotches. With no spot counted,
    # the spots' yardsticks are 0 or 1 spot and the lighting checks on them are void.
    ("hopper", "planted", "spots counted"): "74 -> 75 (145 -> 147): the forehead spots lie between furrows "
                                            "that read as melanin; the cheek spots merge with blotches",
    ("hopper", "planted", "spots found in place"): "2 of 4: the forehead spots (6.3 and -0.2 MI units of "
                                                   "excess)",
    ("hopper", "planted", "spot area"): "-0.05 % for 0.65 % planted: the same",
    ("hopper", "gains", "pigmentation.spot_count"): "p90 2.9 spots, and the planted spots' yardstick is 1",
    ("hopper", "gains", "pigmentation.spot_area_pct"): "508 % of a yardstick of -0.05 %",
    ("hopper", "gains", "texture.wrinkle_density"): "40 %: 10 % of the skin is on lines, most of them "
                                                    "faint furrows at the threshold",
    ("hopper", "captured", "pigmentation.spot_count"): "p90 2 spots, yardstick 0",
    ("hopper", "captured", "pigmentation.spot_area_pct"): "106 % of a yardstick of -0.11 %",
    ("hopper", "captured", "texture.wrinkle_density"): "33 %: the same furrows",
    ("hopper", "full", "redness.red_area_pct"): "36 %: the discs raise red areas by only 1 % of the skin "
                                                "(already red cheeks), JPEG 85 moves 0.36 %",
    ("hopper", "full", "pigmentation.melanin_index"): "12.4 %: JPEG 85 in the furrows",
    ("hopper", "full", "pigmentation.spot_area_pct"): "85 % (208)",
    ("hopper", "full", "texture.wrinkle_density"): "246 %: JPEG 85 moves the furrows' thresholded width",
}


def _expect_gap(request, face, kind: str, key: str) -> None:
    """Mark the running check xfail(strict) when it is a known gap on this face."""
    reason = KNOWN_GAPS.get((face.NAME, kind, key))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))

# metric -> the phantom whose planted change is its yardstick
YARDSTICKS = {
    "redness.erythema_index": f"hb{HB_OD}",
    "redness.red_area_pct": "hb_blobs",
    "pigmentation.melanin_index": f"mel{MEL_OD}",
    "pigmentation.spot_count": "spots",
    "pigmentation.spot_area_pct": "spots",
    "texture.wrinkle_density": "lines",
}
# Pore density is left out here: the phantom is a 512 px photo enlarged 16x, with no pores left
# to count (about 1 per cm² is found, vs 60..200 on real cheeks); tests/test_metrics.py checks it
# at half resolution on the demo patient's close-up, which has planted pores.
SCALE_DEPENDENT = ["pigmentation.spot_count", "texture.wrinkle_density", "texture.roughness"]
CAPTURED = "@captured"  # photo-name suffix: the scene's light rounded to 8 bits once (see scene())


class _Lazy(dict):
    """A dict that builds each missing entry once, by ``build(key)``."""

    def __init__(self, build):
        super().__init__()
        self._build = build

    def __missing__(self, key):
        value = self[key] = self._build(key)
        return value


def planted_change(name: str, face=skin) -> tuple[np.ndarray, np.ndarray]:
    """A planted change by phantom name: (OD map (H, W) float64, absorption direction (R, G, B)).

    ``hb<OD>`` / ``mel<OD>``: haemoglobin / melanin over the whole mask; ``hb_blobs``,
    ``spots``, ``lines``: the yardsticks of the module docstring, placed on `face` (a
    module of :data:`FACES`).
    """
    shape, mask = face.base_photo().shape[:2], face.skin_mask().astype(np.float64)
    ppm = face.PX_PER_MM
    if name == "hb_blobs":
        discs = sum(skin.disc_field(shape, c, r * ppm) for c, r in face.CHEEK_BLOBS)
        return HB_OD * np.asarray(np.minimum(discs, 1.0), np.float64), skin.HAEMOGLOBIN
    if name == "spots":
        return skin.spots_field(shape, [c for c, _, _ in face.SPOTS], [r for _, r, _ in face.SPOTS],
                                [o for _, _, o in face.SPOTS], ppm), skin.MELANIN
    if name == "lines":
        field = skin.LINE_OD * skin.line_field(shape, face.LINES, skin.LINE_WIDTH_MM * ppm)
        return np.asarray(field, np.float64), skin.SHADING
    if name.startswith("hb"):
        return float(name[2:]) * mask, skin.HAEMOGLOBIN
    if name.startswith("mel"):
        return float(name[3:]) * mask, skin.MELANIN
    raise KeyError(name)


TREATED = ("hb_blobs", "spots", "lines")  # planted in this order


def scene(name: str, *, captured: bool = False, face=skin) -> np.ndarray:
    """A phantom (``base``, ``treated`` or a :func:`planted_change` name) before any relighting.

    By default an 8-bit photo, each change planted on the photo before and rounded (as an
    editing app would). ``captured=True``: linear light (float32), changes planted there
    unrounded, for :func:`phantoms.skin.capture` to round once, as a camera does.
    """
    out = face.base_scene() if captured else face.base_photo()
    plant = skin.plant_scene if captured else skin.plant
    for change in TREATED if name == "treated" else () if name == "base" else (name,):
        out = plant(out, *planted_change(change, face))
    return out


@pytest.fixture(scope="module", params=list(FACES))
def face(request):
    """Each face of :data:`FACES` in turn; every check below runs on both."""
    return FACES[request.param]


@pytest.fixture(scope="module")
def mask(face) -> np.ndarray:
    return face.skin_mask()


@pytest.fixture(scope="module")
def lightings() -> dict[str, list[dict]]:
    return {"gains": skin.random_lightings(N_LIGHTINGS, SEED, gamma=0.0, jpeg_quality=None),
            "full": skin.random_lightings(N_LIGHTINGS, SEED)}


@pytest.fixture(scope="module")
def photos(face, mask, lightings) -> _Lazy:
    """Phantoms by name: base, hb<OD> / mel<OD> (whole mask), hb_blobs, spots, lines, treated,
    gains<i> / full<i> (treated, relit), treated_half; with the suffix ``@captured``, the
    same light captured once (see :func:`scene`)."""
    def build(name: str) -> np.ndarray:
        captured = name.endswith(CAPTURED)
        name = name.removesuffix(CAPTURED)
        if name == "treated_half":
            treated = photos["treated"]
            return cv2.resize(treated, (treated.shape[1] // 2, treated.shape[0] // 2),
                              interpolation=cv2.INTER_AREA)
        for kind in ("gains", "full"):
            if name.startswith(kind):
                light = lightings[kind][int(name[len(kind):])]
                if captured:
                    return skin.capture(scenes[("treated", True)], **light)
                return skin.relight(photos["treated"], **light)
        if captured:
            return skin.capture(scenes[(name, True)])
        return scenes[(name, False)]

    scenes = _Lazy(lambda key: scene(key[0], captured=key[1], face=face))
    photos = _Lazy(build)
    return photos


@pytest.fixture(scope="module")
def metrics(face, photos, mask) -> _Lazy:
    """``analyze(photo, mask=skin mask).to_dict()`` by phantom name (px_per_mm passed when accepted)."""
    half_mask = cv2.resize(mask.astype(np.float32), (mask.shape[1] // 2, mask.shape[0] // 2),
                           interpolation=cv2.INTER_AREA) >= 0.5

    def build(name: str) -> dict:
        half = name.endswith("_half")
        kwargs = {"px_per_mm": face.PX_PER_MM / (2 if half else 1)} if SCALE_KEYWORD else {}
        return analyze(photos[name], mask=half_mask if half else mask, **kwargs).to_dict()

    return _Lazy(build)


@pytest.fixture(scope="module")
def detected(face, photos) -> _Lazy:
    """``analyze(photo).to_dict()`` with no mask: the skin, its zones and the light reference
    found in each photo, as a practitioner's upload is measured (px_per_mm passed)."""
    kwargs = {"px_per_mm": face.PX_PER_MM} if SCALE_KEYWORD else {}
    return _Lazy(lambda name: analyze(photos[name], **kwargs).to_dict())


@pytest.fixture(scope="module")
def comparisons(photos) -> _Lazy:
    """``compare(before, after)`` by (before name, after name)."""
    return _Lazy(lambda pair: compare(photos[pair[0]], photos[pair[1]]))


def _effect(metrics, key: str, suffix: str = "") -> float:
    return metrics[YARDSTICKS[key] + suffix][key] - metrics["base" + suffix][key]


def _table(rows: list[tuple], header: tuple) -> str:
    lines = ["  ".join(f"{h:>14}" for h in header)]
    for row in rows:
        lines.append("  ".join(f"{v:>14.4g}" if isinstance(v, float) else f"{v!s:>14}" for v in row))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Lighting


def _lighting_verdict(key: str, moves: list[float], effect: float, lights: list[dict]) -> tuple[float, str]:
    moves = np.abs(np.asarray(moves, np.float64))
    p90 = float(np.percentile(moves, LIGHTING_PERCENTILE))
    ratio = p90 / abs(effect) if effect != 0 else float("inf")
    rows = [(i, round(li["exposure"], 3), "/".join(f"{g:.3f}" for g in li["white_balance"]),
             round(li["gamma"], 3), float(m)) for i, (li, m) in enumerate(zip(lights, moves, strict=True))]
    message = (f"{key}: lighting moves it by {p90:.4g} (p{LIGHTING_PERCENTILE}), {100 * ratio:.1f} % "
               f"of the planted effect {effect:.4g} (allowed {100 * LIGHTING_SHARE:.0f} %)\n"
               + _table(rows, ("lighting", "exposure", "white balance", "gamma", "|move|")))
    return ratio, message


@pytest.mark.parametrize("key", YARDSTICKS)
def test_exposure_and_white_balance_do_not_move_the_metric(key, face, metrics, lightings, request):
    """analyze() of the treated phantom under gains alone: exposure x per-channel white balance."""
    _expect_gap(request, face, "gains", key)
    effect = _effect(metrics, key)
    moves = [metrics[f"gains{i}"][key] - metrics["treated"][key] for i in range(N_LIGHTINGS)]
    ratio, message = _lighting_verdict(key, moves, effect, lightings["gains"])
    print(message)
    assert ratio <= LIGHTING_SHARE, message


@pytest.mark.parametrize("key", YARDSTICKS)
def test_a_new_capture_under_other_exposure_and_white_balance_reads_the_same(key, face, metrics, lightings,
                                                                             request):
    """analyze() of the treated face photographed again under gains: its light rounded to 8 bits once.

    The relit photos above are rounded twice (an 8-bit edit of an 8-bit photo), which skips
    or doubles a code value every so many: a one-code step along contour lines through smooth
    skin. A camera taking the face under other light rounds once; so does this phantom.
    """
    _expect_gap(request, face, "captured", key)
    effect = _effect(metrics, key, CAPTURED)
    moves = [metrics[f"gains{i}{CAPTURED}"][key] - metrics["treated" + CAPTURED][key]
             for i in range(N_LIGHTINGS)]
    ratio, message = _lighting_verdict(key, moves, effect, lightings["gains"])
    print(message)
    assert ratio <= LIGHTING_SHARE, message


# Finding the skin anew in each photo may add at most this share of a yardstick to what lighting does.
# Measured at algorithm 1.7 (p90 of 12, captured once): at most 0.6 % (Hopper's melanin index); at
# 1.6, whose face mesh, shadow cut and light reference followed the light, up to 11.2 %.
DETECTED_SHARE = 0.02


@pytest.mark.parametrize("key", ["redness.erythema_index", "redness.red_area_pct",
                                 "pigmentation.melanin_index"])
def test_the_skin_found_in_each_photo_does_not_follow_the_light(key, face, metrics, detected, lightings):
    """analyze() with no mask of the treated face captured again under exposure and white balance.

    The skin mask (its edge along hair, brows and nostrils) and the light reference around the
    face are found anew in every photo; a change of light alone must not move them. Yardstick:
    the planted effect through the hand-drawn mask. (Wrinkle density measured 2.6 % and 9.3 %
    here, spot count p90 4 and 5 spots: the thresholded metrics' own gaps above.)
    """
    effect = _effect(metrics, key, CAPTURED)
    moves = [detected[f"gains{i}{CAPTURED}"][key] - detected["treated" + CAPTURED][key]
             for i in range(N_LIGHTINGS)]
    ratio, message = _lighting_verdict(key, moves, effect, lightings["gains"])
    message = message.replace(f"allowed {100 * LIGHTING_SHARE:.0f} %",
                              f"allowed {100 * DETECTED_SHARE:.0f} %")
    print(message)
    assert ratio <= DETECTED_SHARE, message


@pytest.mark.parametrize("key", YARDSTICKS)
def test_full_relighting_does_not_move_the_compared_metric(key, face, comparisons, lightings, request):
    """compare(treated, relit): gains, tone curve and JPEG 85; yardstick: compare(base, planted)."""
    _expect_gap(request, face, "full", key)
    effect = comparisons[("base", YARDSTICKS[key])].delta[key]
    moves = [comparisons[("treated", f"full{i}")].delta[key] for i in range(N_LIGHTINGS)]
    ratio, message = _lighting_verdict(key, moves, effect, lightings["full"])
    print(message)
    assert ratio <= LIGHTING_SHARE, message


def test_compare_reads_how_the_light_changed(face, comparisons, lightings, request):
    """Tone.change(): the tone-curve power and white balance of each full relighting, read back."""
    _expect_gap(request, face, "light read", "power")
    rows = []
    for i, light in enumerate(lightings["full"]):
        change = comparisons[("treated", f"full{i}")].tone.change()
        red, green, blue = light["white_balance"]
        rows.append((light["gamma"], change["power"], red / green, change["red_balance"],
                     blue / green, change["blue_balance"]))
    rows = np.array(rows)
    message = _table([tuple(float(v) for v in r) for r in rows],
                     ("gamma", "power read", "red/green", "read", "blue/green", "read"))
    print(message)
    # measured: power within 0.006 (astronaut) and 0.008 (hopper) of the gamma, balances within 1 %;
    # read from the curve's mean slope alone (until algorithm 1.8) within 0.027 and 0.052: the sRGB
    # curve's local exponent changes fast in the dark, where Hopper's reference (cap, uniform) lies
    assert np.abs(rows[:, 1] - rows[:, 0]).max() < 0.02, message
    assert np.abs(rows[:, 3] / rows[:, 2] - 1).max() < 0.02, message
    assert np.abs(rows[:, 5] / rows[:, 4] - 1).max() < 0.02, message


def test_compare_says_when_the_light_differs_beyond_what_its_noise_limits_cover(photos):
    treated = photos["treated"]
    same = compare(treated, skin.relight(treated, jpeg_quality=90))
    assert same.notes == (), same.tone.change()
    darker = compare(treated, skin.relight(treated, exposure=0.6))
    message = (darker.notes, darker.tone.change())
    assert darker.tone.change()["brightness"] == pytest.approx(0.6, abs=0.02), message
    assert len(darker.notes) == 1 and "brightness -" in darker.notes[0], message
    assert darker.to_dict()["notes"] == list(darker.notes)
    # another phone's look: a contrast S-curve (mid-grey's slope 1.3) is no power, and is said
    looked = compare(treated, skin.relight(treated, contrast=0.15, jpeg_quality=90))
    message = (looked.notes, looked.tone.change())
    assert looked.tone.departure > 1.0, message  # measured 1.8 and 3.8 code steps (relightings: <= 0.36)
    assert "tone curve's shape" in looked.notes[0], message


# Light beyond the repeat photos: each limit widened by LIGHT_BEYOND_FACTOR, measured on the demo
# patient (bench/light_beyond.py), here judged on two other faces. Measured at algorithm 1.15 on the
# 10 of 12 relightings lit beyond, light alone crossed a whole-area limit in 30 of 100 metric-pairs
# (astronaut) and 34 (hopper) at the repeat photos' limits, in 13 and 16 widened (tone unevenness,
# roughness and melanin the most: these relightings are 8-bit edits and JPEG 85 of a photo never
# compressed, harsher than the bench's two camera captures); of the planted spots and lines, the
# widening loses one pair's wrinkles (astronaut) of 40 pair-metrics.
WIDENED_SHARE = 0.6  # of the metric-pairs light alone called a change, at most this share still is


def _judged(c, key: str, *, widened: bool) -> bool:
    """Whether `c` calls `key` a change, at the widened limits or at the repeat photos' (same JPEG)."""
    if widened:
        return c.significant[key]
    return abs(c.delta[key]) > minimal_detectable_change(key, c.light)


def test_light_beyond_the_repeat_photos_widens_the_limits(face, comparisons, lightings):
    """Relit pairs beyond the repeat photos: wider limits, fewer changes of light called skin."""
    pairs = [comparisons[("treated", f"full{i}")] for i in range(N_LIGHTINGS)]
    beyond = [c for c in pairs if c.light_beyond]
    assert len(beyond) >= 8, [c.tone.change() for c in pairs]  # measured: 10 of 12 on each face
    for c in pairs:  # the widened limit is the one judged by, and recorded
        for key in YARDSTICKS:
            factor = light_beyond_factor(key, c.light) if c.light_beyond else 1.0
            assert c.limits[key] == pytest.approx(minimal_detectable_change(key, c.light) * factor)
            assert c.significant[key] == (abs(c.delta[key]) > c.limits[key])
        assert c.to_dict()["light_beyond"] == c.light_beyond
    assert all("judged against wider limits" in " ".join(c.notes) for c in beyond)
    keys = [m.key for m in METRICS]
    at_repeat = sum(_judged(c, k, widened=False) for c in beyond for k in keys)
    widened = sum(_judged(c, k, widened=True) for c in beyond for k in keys)
    print(f"light alone called a change: {at_repeat} -> {widened} of {len(beyond) * len(keys)}")
    assert widened <= WIDENED_SHARE * at_repeat, (at_repeat, widened)


def test_a_real_change_is_still_seen_in_light_beyond_the_repeat_photos(face, comparisons):
    """The planted redness, spots and lines, compared across light beyond the repeat photos."""
    pairs = [c for c in (comparisons[("base", f"full{i}")] for i in range(N_LIGHTINGS)) if c.light_beyond]
    red = "redness.erythema_index"  # the cheek discs: 7 to 10 times the repeat photos' limit
    assert all(c.significant[red] for c in pairs), [c.delta[red] / c.limits[red] for c in pairs]
    planted = ("pigmentation.spot_count", "texture.wrinkle_density")
    lost = [(k, i) for i, c in enumerate(pairs) for k in planted
            if _judged(c, k, widened=False) and not c.significant[k]]
    assert len(lost) <= 1, lost  # measured: none on hopper, one pair's wrinkles on the astronaut


def test_the_relightings_are_read_as_powers(face, comparisons):
    """Exposure, white balance and a gamma leave the reference's tones on one power: no shape departs."""
    departures = [comparisons[("treated", f"full{i}")].tone.departure for i in range(N_LIGHTINGS)]
    # measured: 0.17..0.36 code steps RMS (JPEG 85 and rounding) on both faces
    assert max(departures) < color.SHAPE_LIMIT, departures
    assert not any("shape" in note for i in range(N_LIGHTINGS)
                   for note in comparisons[("treated", f"full{i}")].notes)


def test_compare_aligns_pixel_aligned_pairs(comparisons):
    pairs = [("treated", f"full{i}") for i in range(N_LIGHTINGS)]
    pairs += [("base", name) for name in sorted(set(YARDSTICKS.values()))]
    refused = [pair for pair in pairs if not comparisons[pair].alignment.ok]
    assert not refused, f"alignment refused for {refused}"


# ----------------------------------------------------------------------------------------------
# Planted changes


def test_redness_rises_with_planted_haemoglobin(metrics):
    key = "redness.erythema_index"
    values = [metrics["base" if od == 0 else f"hb{od}"][key] for od in HB_LADDER]
    message = f"{key} at haemoglobin OD {HB_LADDER}: {[round(v, 5) for v in values]}"
    print(message)
    # strictly rising; measured at 57e5f47: 11.71, 13.73, 16.00, 20.13, 24.42
    assert all(b > a for a, b in zip(values, values[1:], strict=False)), message


def test_redness_rises_with_haemoglobin_in_a_face_that_fills_the_frame():
    """Cropped to the face, the backdrop left is a sliver (a cap, a flag): not the light.

    The Hopper phantom cut to source x 170..360, y 125..335 keeps 0.3 % of the frame outside
    the face. Used as the light, it turned the erythema index from 46.4 into 3.1 as soon as
    0.05 OD of haemoglobin shifted the face outline enough to tip its pixel count over the
    minimum; measured as the camera saw it, every rung reads alike.
    """
    rows, cols = slice(680, 2360), slice(400, 1920)
    photo, mask = hopper.base_photo()[rows, cols], hopper.skin_mask()[rows, cols]
    found = [analyze(photo if od == 0 else skin.plant(photo, od * mask.astype(np.float64), skin.HAEMOGLOBIN),
                     mask=mask, px_per_mm=hopper.PX_PER_MM) for od in HB_LADDER]
    values = [m["redness.erythema_index"] for m in found]
    message = (f"erythema index at haemoglobin OD {HB_LADDER}: {[round(v, 3) for v in values]}; light "
               f"{[m.illuminant.source for m in found]}")
    print(message)
    # measured: 46.42, 48.52, 50.62, 54.34, 58.51, all "camera"
    assert all(b > a for a, b in zip(values, values[1:], strict=False)), message
    assert {m.illuminant.source for m in found} == {"camera"}, message


def test_planted_spots_are_counted(face, metrics, request):
    _expect_gap(request, face, "planted", "spots counted")
    key = "pigmentation.spot_count"
    before, after = metrics["base"][key], metrics["spots"][key]
    message = (f"{len(face.SPOTS)} spots planted; {key} {before:g} -> {after:g} "
               f"(area {metrics['base']['pigmentation.spot_area_pct']:.4g} -> "
               f"{metrics['spots']['pigmentation.spot_area_pct']:.4g} %)")
    print(message)
    # +-1: the tolerance (a spot may merge with or split from a natural mark); measured at
    # 57e5f47: 50 -> 54, +4
    assert abs((after - before) - len(face.SPOTS)) <= 1, message


# A planted spot is found where a spot's peak or centroid lies within this of its centre, or on its
# flat top (0.7 of its radius) for larger spots (found_reach_mm); bench/spot_sensitivity.py judges alike.
FOUND_WITHIN_MM = 1.5


def found_reach_mm(radius_mm: float) -> float:
    """How near a planted spot of `radius_mm` a found spot must lie to be that spot, mm."""
    return max(FOUND_WITHIN_MM, 0.7 * radius_mm)


def nearest_spot(spots, place) -> tuple[int, float]:
    """The found spot whose peak or centroid lies nearest `place` (x, y px): (index, distance px).

    ``(-1, inf)`` when no spot was found.
    """
    if not spots:
        return -1, float("inf")
    marks = np.array([(s.peak_x, s.peak_y, s.x, s.y) for s in spots], float)
    dist = np.minimum(np.hypot(marks[:, 0] - place[0], marks[:, 1] - place[1]),
                      np.hypot(marks[:, 2] - place[0], marks[:, 3] - place[1]))
    best = int(np.argmin(dist))
    return best, float(dist[best])


def test_each_planted_spot_is_found_where_it_was_planted(face, photos, mask, request):
    """Not only the count: the count may hold with a planted spot missed and a natural one gained."""
    _expect_gap(request, face, "planted", "spots found in place")
    found = analyze(photos["spots"], mask=mask, px_per_mm=face.PX_PER_MM).spots
    rows = []
    for (x, y), radius_mm, od in face.SPOTS:
        off = nearest_spot(found, (x, y))[1] / face.PX_PER_MM
        rows.append((f"{x:.0f},{y:.0f}", radius_mm, od, off, off < found_reach_mm(radius_mm)))
    message = _table(rows, ("centre px", "radius mm", "OD", "nearest mm", "found"))
    print(message)
    # measured at algorithm 1.7: the astronaut's 0.30 OD spot (3 mm) lies on skin 3.9 MI units lighter
    # than its surround and reads 7.1 (nearest spot 15.9 mm off); the others are found 0.18..0.66 mm
    # off on both faces. bench/spot_sensitivity.py: a 0.30 OD spot is found at about half of random
    # places on either face, a 0.5 OD one at 88..100 %
    assert all(row[-1] for row in rows), message


def test_planted_spots_cover_their_area_and_darken(face, metrics, mask, request):
    _expect_gap(request, face, "planted", "spot area")
    planted_pct = 100 * sum(np.pi * (r * face.PX_PER_MM) ** 2 for _, r, _ in face.SPOTS) / mask.sum()
    area = _effect(metrics, "pigmentation.spot_area_pct")
    melanin = _effect(metrics, "pigmentation.melanin_index")
    message = (f"spot_area_pct change {area:.4g} % (planted discs of the spots' radii: {planted_pct:.4g} %); "
               f"melanin_index change {melanin:.4g}")
    print(message)
    # The spots are flat to 0.7 of their radius and fade to nothing at 1.3 of it, so an outline
    # drawn at any depth between full and zero encloses 0.7^2..1.3^2 = 0.49..1.69 of the discs.
    # Measured at 57e5f47: 0.600 % for 0.507 % planted (1.18x); melanin index +1.03.
    assert 0.49 * planted_pct <= area <= 1.69 * planted_pct, message
    assert melanin > 0, message


def test_planted_lines_raise_wrinkle_density(face, metrics):
    key = "texture.wrinkle_density"
    before, after = metrics["base"][key], metrics["lines"][key]
    message = f"{len(face.LINES)} lines planted: {key} {before:.4g} -> {after:.4g} %"
    print(message)
    assert after > before, message  # measured at 57e5f47: 3.425 -> 3.897 %


def test_planted_redness_makes_no_spots(face, metrics, request):
    _expect_gap(request, face, "planted", "redness makes no spots")
    key = "pigmentation.spot_count"
    before, after = metrics["base"][key], metrics[f"hb{HB_OD}"][key]
    message = f"haemoglobin +{HB_OD} OD over the mask: {key} {before:g} -> {after:g}"
    print(message)
    # 0 +- 1 (the figure); measured at 57e5f47: 50 -> 41
    assert abs(after - before) <= 1, message


def test_planted_spots_barely_move_redness(metrics):
    key = "redness.erythema_index"
    by_spots = metrics["spots"][key] - metrics["base"][key]
    by_redness = _effect(metrics, key)
    message = (f"{key}: spots move it by {by_spots:.4g}, haemoglobin +{HB_OD} OD by {by_redness:.4g} "
               f"({100 * abs(by_spots) / abs(by_redness):.1f} %, allowed 10 %)")
    print(message)
    assert abs(by_spots) < 0.10 * abs(by_redness), message  # the 10 %; measured 2.5 % at 57e5f47


# ----------------------------------------------------------------------------------------------
# Resolution


@pytest.mark.parametrize("key", SCALE_DEPENDENT)
def test_half_resolution_reads_the_same(key, face, metrics, request):
    _expect_gap(request, face, "half", key)
    full, half = metrics["treated"][key], metrics["treated_half"][key]
    rel = abs(half - full) / abs(full) if full != 0 else (0.0 if half == 0 else float("inf"))
    message = (f"{key}: {full:.4g} at full resolution, {half:.4g} at half "
               f"({100 * rel:.1f} %, allowed 5 %; px_per_mm {'passed' if SCALE_KEYWORD else 'not accepted'})")
    print(message)
    # 5 %: the figure; measured at 57e5f47: spot count 11.1 %, wrinkle density 1.9 %,
    # pore density 1.4 %, roughness 1.7 %; with lines counted 1.5 mm in from the skin's edge as a
    # Euclidean distance (algorithm 1.1): spot count 1.5 %, wrinkle density 0.4 %, roughness 0.1 %
    assert rel <= 0.05, message
