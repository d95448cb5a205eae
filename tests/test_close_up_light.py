"""A close-up's surroundings are its light's reference: with a backdrop in view, light hardly moves colour.

A close-up shows no surroundings of a face to read the light from; what it often shows is a
strip of wall or towel beside the jaw. ``regions`` finds that backdrop (tests/test_close_up_skin.py)
and, when it is in view, takes all that surrounds the skin (backdrop, hair, eyes, teeth), less 2 mm
beside it, as the reference; ``compare`` matches the light on it with a gain per channel and one
power of the sRGB values for all three (``match_tone_power``; ``light == "backdrop"``, judged by the
noise limits measured on close-ups with their backdrop). The photos are the demo patient's
baseline close-ups, exposed as the metric phantoms are; "skin only" is each cropped to where no
backdrop is in view, whose light is the camera's.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from phantoms import close_ups
from phantoms import skin as phantom
from skimage import data as skdata

from analyzer import color, compare, load_image
from analyzer.color import HAEMOGLOBIN
from analyzer.metrics.repeatability import MEASURED_LIGHT_CHANGE, minimal_detectable_change
from analyzer.skin import regions

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
COLOUR = ("redness.erythema_index", "redness.red_area_pct", "pigmentation.melanin_index",
          "pigmentation.ita_deg")
HB_OD, MEL_OD = 0.2, 0.1  # the yardsticks of test_metric_phantoms: redness, a tan
# another phone's look moves a close-up's colour by at most this share of a moderate change (beyond the
# issue's recipe, not its 10 %): measured at 1.12, up to 35.8 % (melanin, left close-up)
LOOK_SHARE = 0.45


def _photo(view: str, *, skin_only: bool = False) -> np.ndarray:
    photo = load_image(DEMO / f"session1_{view}.jpg")
    return close_ups.exposed(photo[close_ups.SKIN_ONLY[view]] if skin_only else photo)


def _moves(photo: np.ndarray) -> tuple[set[str], dict[str, float]]:
    """The lights compared with, and p90 |change| of each colour metric under 12 full relightings."""
    lights = phantom.random_lightings(12, 0)
    comparisons = [compare(photo, phantom.relight(photo, **light)) for light in lights]
    return ({c.light for c in comparisons},
            {key: float(np.percentile([abs(c.delta[key]) for c in comparisons], 90)) for key in COLOUR})


@pytest.fixture(scope="module")
def moves() -> dict[tuple[str, bool], tuple[set[str], dict[str, float]]]:
    return {(view, skin_only): _moves(_photo(view, skin_only=skin_only))
            for view in close_ups.VIEWS for skin_only in (False, True)}


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_the_backdrop_beside_the_jaw_is_the_reference_and_no_skin_is(view):
    photo = _photo(view)
    found = regions(photo)
    # the light is read from 5 % of the frame and more (measured: 19.5 and 20.4 %, with hair and eyes)
    assert found.reference.mean() > 0.08
    assert found.reference[close_ups.WALL[view]].mean() > 0.9  # measured: all of the wall patch
    # none of it on the skin, nor within 2 mm of it (the frame is taken as 10 cm: 11 px/mm here)
    from_skin = cv2.distanceTransform((~found.mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    assert from_skin[found.reference].min() > 2.0 * found.px_per_mm - 1


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_with_the_backdrop_in_view_relighting_moves_colour_far_less(view, moves):
    lights, with_backdrop = moves[(view, False)]
    camera_lights, camera = moves[(view, True)]
    assert lights == {"backdrop"} and camera_lights == {"camera"}
    # measured at 1.11: the surroundings cut the p90 move 12 to 91 times on the left close-up (red
    # areas least: 3.1 against 36 % of the skin) and 28 to 70 times on the right
    print(view, {key: round(camera[key] / with_backdrop[key], 1) for key in COLOUR})
    for key in COLOUR:
        assert with_backdrop[key] < camera[key] / 2, (key, with_backdrop[key], camera[key])


def _effects(view: str) -> dict[str, float]:
    """Each colour metric's change under its yardstick: +0.2 OD haemoglobin, +0.1 OD melanin (a tan)."""
    photo = _photo(view)
    skin = regions(photo).mask.astype(np.float64)
    redness = compare(photo, phantom.plant(photo, HB_OD * skin, phantom.HAEMOGLOBIN)).delta
    tan = compare(photo, phantom.plant(photo, MEL_OD * skin, phantom.MELANIN)).delta
    return {key: (redness if key.startswith("redness") else tan)[key] for key in COLOUR}


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_with_the_backdrop_in_view_relighting_moves_colour_at_most_a_tenth_of_a_moderate_change(view, moves):
    """The issue's limit: p90 of 12 relightings within 10 % of +0.2 OD haemoglobin's or +0.1 OD melanin's."""
    effects = _effects(view)
    _, moved = moves[(view, False)]
    shares = {key: moved[key] / abs(effects[key]) for key in COLOUR}
    print(view, {key: f"{100 * share:.1f} % ({moved[key]:.3g})" for key, share in shares.items()})
    # measured at algorithm 1.11: erythema 3.3 / 1.6 %, red areas 6.3 / 2.4 %, melanin 9.0 / 6.9 %, ITA
    # 4.5 / 5.3 % (left / right). At 1.10, on the backdrop alone with a quantile curve per channel,
    # 14 / 2.8, 27 / 3.4, 65 / 11.7 and 14 / 7.2 %: the left wall's tones span 0.4 in log light, the
    # skin's 1.6, and the three channels' curves bent apart beyond it.
    assert all(share <= 0.10 for share in shares.values()), shares


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_another_phones_look_is_said_and_followed_on_the_surroundings(view, monkeypatch):
    """A contrast S-curve in place of a power: no power takes it up, so the power is bent, and it is said.

    12 lightings as above with the power replaced by a contrast curve within +-0.15 (mid-grey's
    slope 0.7..1.3: another phone, camera app or "look"), beyond the issue's recipe.
    """
    photo = _photo(view)
    effects = _effects(view)
    looks = phantom.random_lightings(12, 0, gamma=0.0, contrast=0.15)
    later = [phantom.relight(photo, **look) for look in looks]
    bent = [compare(photo, other) for other in later]
    noted = max(MEASURED_LIGHT_CHANGE["departure"][1], color.SHAPE_LIMIT)  # beyond this, a note says so
    monkeypatch.setattr(color, "SHAPE_LIMIT", math.inf)
    power = [compare(photo, other) for other in later]

    def shares(comparisons):
        return {key: float(np.percentile([abs(c.delta[key]) for c in comparisons], 90)) / abs(effects[key])
                for key in COLOUR}

    bent_shares, power_shares = shares(bent), shares(power)
    print(view, {key: f"{100 * bent_shares[key]:.1f} % (power alone {100 * power_shares[key]:.1f} %)"
                 for key in COLOUR})
    print(view, "departures:", [(round(look["contrast"], 3), round(c.tone.departure, 2))
                                for look, c in zip(looks, bent, strict=True)])
    for look, c in zip(looks, bent, strict=True):
        said = any("tone curve's shape" in note for note in c.notes)
        assert said == (c.tone.departure > noted), (look, c.tone.departure, c.notes)
        if abs(look["contrast"]) >= 0.1:  # mid-grey's slope 20 % off: measured 0.63..1.62 code steps
            assert said, (look, c.tone.departure)
    # measured at 1.12 (left / right): erythema 7.1 / 8.4 %, red areas 14.2 / 8.8 %, melanin 35.8 / 27.4 %,
    # ITA 17.9 / 21.9 %; the power alone 12.9 / 25.3, 22.6 / 25.9, 77.8 / 70.4 and 65.4 / 56.4 %
    for key in ("pigmentation.melanin_index", "pigmentation.ita_deg"):
        assert bent_shares[key] < 0.6 * power_shares[key], (key, bent_shares, power_shares)
    assert max(bent_shares.values()) < LOOK_SHARE, bent_shares


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_with_a_backdrop_in_view_hair_is_reference_too(view):
    found = regions(_photo(view))
    assert found.reference[close_ups.HAIR[view]].mean() > 0.99  # measured: all of the hair patch
    # measured: 19.5 % (left) and 20.4 % of the frame (wall alone at 1.10: 10.4 and 14.2 %)
    assert found.reference.mean() > 0.15


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_hair_alone_is_no_reference(view):
    """Dark and narrow in tone, hair does not pin a tone curve: a close-up showing only it is "camera"."""
    photo = close_ups.exposed(load_image(DEMO / f"session1_{view}.jpg")[close_ups.HAIR_AND_SKIN[view]])
    found = regions(photo)
    assert found.reference.mean() < 0.05, found.reference.mean()  # measured: 0.3 and 2.2 %
    comparison = compare(photo, phantom.relight(photo, exposure=1.2, gamma=1.1))
    # had it been matched on the hair, this light's power would have been read 0.10 to 0.13 off
    # (measured with the hair as reference); colour is then judged by the camera's noise limits
    assert comparison.light == "camera" and comparison.tone.pixels == 0


def _make_demo(monkeypatch):
    """sample_images/make_demo.py as a module (its dataclasses look their module up in sys.modules)."""
    spec = importlib.util.spec_from_file_location("make_demo", DEMO / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_demo", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_the_demo_courses_fading_cheek_redness_is_measured_as_planted_on_the_close_ups(view, monkeypatch):
    """The demo patient's close-ups, sessions 2-5 against 1: each with its own pose and light (truth.json).

    Planted: rosacea-like cheek redness fading from 0.12 to 0.06 OD of haemoglobin over a Gaussian
    field (make_demo.py); its change in erythema index is that OD times 41.7 EI units per OD
    (Dawson's index of haemoglobin's direction) times the field's mean over the compared skin.
    """
    make_demo = _make_demo(monkeypatch)
    truth = json.loads((DEMO / "truth.json").read_text())
    planted_od = {p["file"]: p["planted"]["cheek_redness_od"] for p in truth["photos"]}
    source = skdata.astronaut().astype(np.float32) / 255.0
    (x0, y0), (w0, h0) = make_demo.SRC_ORIGIN, make_demo.SRC_SIZE
    up = make_demo.UPSCALE
    scene = np.clip(cv2.resize(source[y0:y0 + h0, x0:x0 + w0], None, fx=up, fy=up,
                               interpolation=cv2.INTER_CUBIC), 0, 1)
    cheeks = (make_demo._gaussian_field(scene.shape[:2], make_demo.CHEEKS, 9.0)
              * make_demo._skin_mask(scene)).astype(np.float32)
    _, _, size = make_demo.VIEWS[view]
    field = cv2.warpPerspective(cheeks, make_demo._view_matrix(view), size, flags=cv2.INTER_LINEAR)
    ei_per_od = 100 / math.log(10) * float(HAEMOGLOBIN[1] - HAEMOGLOBIN[0])
    baseline = f"session1_{view}.jpg"
    before = load_image(DEMO / baseline)
    rows = []
    for session in (2, 3, 4, 5):
        name = f"session{session}_{view}.jpg"
        comparison = compare(before, load_image(DEMO / name))
        maps = comparison.before.maps
        bx0, by0, bx1, by1 = maps.box
        on_skin = cv2.resize(field[by0:by1, bx0:bx1], maps.mask.shape[::-1], interpolation=cv2.INTER_AREA)
        planted = ei_per_od * (planted_od[name] - planted_od[baseline]) * float(on_skin[maps.mask].mean())
        rows.append((session, comparison.light, planted, comparison.delta["redness.erythema_index"]))
    print(view, [(s, light, round(p, 3), round(m, 3)) for s, light, p, m in rows])
    assert all(light == "backdrop" for _, light, _, _ in rows), rows
    measured = [m for *_, m in rows]
    assert measured == sorted(measured, reverse=True), rows  # it fades session by session, as planted
    # within 0.2 EI units of the planted change: a repeat photo's noise limit (MDC95 0.17). Measured
    # at 1.11: left 0.06-0.14 under, right 0.04-0.19 over (the planted changes 0.14-0.48); at 1.10, with
    # the backdrop alone, left -0.64, -0.56, -1.29, -0.66 for -0.15, -0.27, -0.39, -0.48 planted, and
    # right -0.38, -0.47, +0.13, -0.71 for -0.14, -0.23, -0.36, -0.43.
    assert all(abs(m - p) < 0.2 for _, _, p, m in rows), rows


def _hair_moved(photo: np.ndarray) -> tuple[np.ndarray, float]:
    """The left close-up with the lock of hair above the ear gone: the wall shows where it was.

    Returns the photo and the share of the baseline's reference that changed surface.
    """
    found = regions(photo)
    top = (slice(0, 330), slice(1100, 1400))
    hair = found.reference[top] & (photo[top].mean(axis=2) < 80)
    moved = photo.copy()
    moved[top][hair] = photo[700:1030, 1100:1400][hair]  # wall from below the ear
    return moved, float(hair.sum() / found.reference.sum())


def test_a_lock_of_hair_moved_between_visits_is_no_change_of_colour():
    """Hair is reference on a close-up with a backdrop; where it lay at the baseline, the wall shows now."""
    photo = _photo("left-cheek")
    moved, share = _hair_moved(photo)
    assert share > 0.2  # measured: 24 % of the reference is hair at the baseline and wall later
    light = {"exposure": 0.8, "gamma": 1.1, "white_balance": (1.05, 1.0, 0.95)}
    alone = compare(photo, moved)
    relit = compare(photo, phantom.relight(photo, **light))
    both = compare(photo, phantom.relight(moved, **light))
    rows = {key: (alone.delta[key], both.delta[key] - relit.delta[key],
                  minimal_detectable_change(key, "backdrop")) for key in COLOUR}
    print(rows)
    # measured at 1.11: every colour change under 0.003 for the moved hair alone; relit, within 0.03 of
    # the relit photo's (red areas 0.2 %). Matched by rank over all the reference, as around a face,
    # the moved hair alone read erythema +3.7 EI units, melanin +19.7 MI units and ITA -29 degrees.
    for key, (moved_only, moved_and_relit, limit) in rows.items():
        assert abs(moved_only) < limit / 10 and abs(moved_and_relit) < limit / 2, (key, rows[key])
