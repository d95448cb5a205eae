"""Skin metrics on the demo patient, whose planted changes are recorded in truth.json.

The phantom tests (test_metric_phantoms.py) plant changes in a photo and relight
it; these check the whole pipeline on a course of real-looking visits: each
photo with its own camera, pose, light, noise and JPEG.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from phantoms.skin import plant_haemoglobin

from analyzer import NoSkin, analyze, compare, load_image
from analyzer.color import MELANIN, linear_to_srgb, srgb_to_linear
from analyzer.metrics import METRICS, info
from analyzer.recovery import fit_fading
from analyzer.skin import ZONES, regions

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
TRUTH = json.loads((DEMO / "truth.json").read_text())
LN10 = math.log(10)


def _photo(name: str) -> np.ndarray:
    return load_image(DEMO / name)


def _planted_ei(erythema_od: float) -> float:
    """Erythema index change a planted haemoglobin OD causes: 100 * OD * (G - R component) / ln 10."""
    return 100 * erythema_od * (1.00 - 0.04) / LN10


@pytest.fixture(scope="module")
def front():
    return analyze(_photo("session1_front.jpg"))


@pytest.fixture(scope="module")
def erythema_course():
    pre = _photo("session2_front.jpg")
    names = ("session2_day1_front.jpg", "session2_day3_front.jpg")
    return {name: compare(pre, _photo(name)) for name in names}


def test_every_metric_for_the_area_and_each_face_zone(front):
    values = front.to_dict()
    for m in METRICS:
        assert math.isfinite(values[m.key]), m.key
        for zone in ZONES:
            assert f"zone.{zone}.{m.key}" in values
    assert front.scale_source == "face"
    assert front.illuminant.source == "reference"
    # the face is ~140 mm wide: 880 px in the demo's front photos (truth.json's px_per_mm_front)
    assert front.px_per_mm == pytest.approx(TRUTH["px_per_mm_front"], rel=0.1)
    assert info("zone.chin.texture.pore_density").unit == "per cm²"


def test_post_treatment_erythema_is_measured_as_planted(erythema_course):
    # planted: 0.30 OD of haemoglobin fading with tau 36 h (truth.json) over the demo's face
    # ellipse, which stops short of the hairline and the jaw (make_demo.py). On the cheeks,
    # measured 6.81 / 6.72 (day 1) and 1.48 / 1.5 (day 3) EI units vs planted 6.88 / 1.81 with
    # algorithm 1.0; 6.90 / 6.87 and 1.85 / 1.82 with 1.1 (tone curve fitted on block means):
    # within 15 % or 0.4 EI units (repeat-photo noise: MDC95 0.07), the rest is JPEG and resampling.
    # The forehead zone reaches under the fringe, where less was planted (3.5 on day 1), so the
    # whole-face mean is lower (5.5).
    for name, comparison in erythema_course.items():
        photo = next(p for p in TRUTH["photos"] if p["file"] == name)
        planted = _planted_ei(photo["planted"]["erythema_od"])
        for zone in ("left_cheek", "right_cheek"):
            key = f"zone.{zone}.redness.erythema_index"
            assert comparison.delta[key] == pytest.approx(planted, rel=0.15, abs=0.4), (name, key)
        delta = comparison.delta["redness.erythema_index"]
        assert 0.6 * planted < delta < 1.1 * planted, name
        assert comparison.significant["redness.erythema_index"]
        assert comparison.light == "reference"
        # little cross-talk: redness is hardly read as pigment. Melanin moved -0.41 / -0.25 MI
        # units with algorithm 1.0, +0.01 / +0.05 with 1.1 (MDC95 0.11); spots did not change
        # beyond noise.
        melanin = comparison.delta["pigmentation.melanin_index"]
        assert abs(melanin) < 0.1 * delta or not comparison.significant["pigmentation.melanin_index"]
        assert not comparison.significant["pigmentation.spot_area_pct"]
        # measured +2 / 0 spots: the day-1 redness lifts two faint blemishes over the threshold
        # (a known gap: the phantom test asks for 0 +- 1)
        assert abs(comparison.delta["pigmentation.spot_count"]) <= 2


def test_fading_time_is_recovered(erythema_course):
    hours = [next(p for p in TRUTH["photos"] if p["file"] == name)["hours_since_treatment"]
             for name in erythema_course]
    excess = [(c.delta["zone.left_cheek.redness.erythema_index"]
               + c.delta["zone.right_cheek.redness.erythema_index"]) / 2 for c in erythema_course.values()]
    fading = fit_fading(hours, excess, noise=0.25)
    # planted tau 36 h; measured on the cheeks (fully reddened in the demo) 33 h: two photos,
    # each within ~15 %
    assert fading.tau_hours == pytest.approx(TRUTH["erythema_model"]["tau_hours"], rel=0.2)
    assert fading.peak == pytest.approx(_planted_ei(TRUTH["erythema_model"]["peak_od"]), rel=0.2)


# The planted spot on the smile fold: the fold's dark core is cut out of the skin as shadow, 0.89 mm
# from the spot's centre, so its outline reaches within 1 mm of the measured area's edge and it is
# left out (pigmentation.EDGE_MM: a spot the edge cuts has no size we can know, and the blobs there
# are mostly what lies beyond it: lashes, a nostril's shadow). Until algorithm 1.9 the fold's
# pieces were counted, and one lay on it.
ON_THE_FOLD = 2


def test_planted_brown_spots_are_found_with_their_size(front):
    spots = np.array([(s.x, s.y) for s in front.spots])
    ppm = TRUTH["px_per_mm_front"]
    sized = []
    for planted in TRUTH["spots"]:
        if "front" not in planted["center"]:
            continue
        x, y = planted["center"]["front"]
        if planted["id"] == ON_THE_FOLD:
            continue  # a known gap (below)
        distance = np.linalg.norm(spots - np.array((x, y)), axis=1)
        nearest = front.spots[int(distance.argmin())]
        # measured: every other planted spot's centre found within 0.5 mm (0.07..0.50 mm); 1 mm
        # allowed, under a third of the smallest planted spot's diameter (3.6 mm), so no neighbour
        # passes for it
        off_mm = distance.min() / ppm
        assert off_mm < 1.0, (planted, off_mm)
        sized.append(nearest.diameter_mm == pytest.approx(2 * planted["radius_mm"], rel=0.3))
    # measured diameters 3.3..5.1 mm vs planted 3.6..6.0
    assert all(sized), sized


@pytest.mark.xfail(strict=True, reason="the fold's shadow is cut out of the skin 0.89 mm from its centre")
def test_the_planted_spot_on_the_smile_fold_is_found(front):
    planted = next(p for p in TRUTH["spots"] if p["id"] == ON_THE_FOLD)
    x, y = planted["center"]["front"]
    reach = round(planted["radius_mm"] * TRUTH["px_per_mm_front"])
    on_spot = front.maps.to_photo("spots", _photo("session1_front.jpg").shape[:2]) > 0.5
    assert on_spot[round(y) - reach:round(y) + reach + 1, round(x) - reach:round(x) + reach + 1].any()


def test_no_change_without_a_change():
    # session 1 -> 2 changed the skin little (cheek redness 0.12 -> 0.10 OD, spots 85 %, lines 90 %);
    # the camera, light and pose all changed. Colour of the skin between the spots did not.
    comparison = compare(_photo("session1_front.jpg"), _photo("session2_front.jpg"))
    assert comparison.alignment.ok
    assert abs(comparison.delta["pigmentation.ita_deg"]) < 1.0  # measured 0.1
    # cheeks a little less red: -0.8 EI units at their centre, -0.23 over each cheek zone
    assert comparison.delta["zone.left_cheek.redness.erythema_index"] < 0
    assert comparison.delta["zone.right_cheek.redness.erythema_index"] < 0


def test_noise_limits_were_measured_with_the_algorithm_that_uses_them():
    """A change is called significant against limits measured on repeat photos: by this algorithm."""
    import sys

    from analyzer.metrics import repeatability

    version = sys.modules["analyzer.compare"].ALGORITHM_VERSION  # the module, not compare()
    # 1.7 changed the masks but kept 1.5's limits (front-view spot count MDC95 1.6 where 1.7 repeats
    # within 1 spot); the check makes a version bump come with `python bench/repeatability.py`
    assert repeatability.MEASURED_AT == version, (
        f"the noise limits were measured at algorithm {repeatability.MEASURED_AT}, compare runs {version}: "
        "run python bench/repeatability.py and paste its block into analyzer/metrics/repeatability.py")


def test_a_drawn_area_is_judged_against_the_noise_of_areas_its_size():
    from analyzer.metrics.repeatability import (
        DRAWN_MINIMAL_DETECTABLE_CHANGE,
        MINIMAL_DETECTABLE_CHANGE,
        minimal_detectable_change,
        smallest_drawn_area_measured,
    )

    assert set(DRAWN_MINIMAL_DETECTABLE_CHANGE) == set(MINIMAL_DETECTABLE_CHANGE)  # every light
    for light, discs in DRAWN_MINIMAL_DETECTABLE_CHANGE.items():
        areas = [a for a, _ in discs]
        assert areas == sorted(areas) and smallest_drawn_area_measured(light) == areas[0]
        for m in METRICS:
            whole = minimal_detectable_change(m.key, light)
            limits = [minimal_detectable_change(m.key, light, area_mm2=a) for a in [1.0, *areas, 1e6]]
            # never below the whole skin's or a larger disc's (measured: a 15 mm disc on a front view
            # holds lines of 1.81 % of its area in 95 % of pairs, the whole skin 0.18 %)
            assert all(limit >= whole for limit in limits)
            assert limits == sorted(limits, reverse=True), (light, m.key)  # the smaller, the noisier
            for area, mdc in discs:
                assert minimal_detectable_change(m.key, light, area_mm2=area) >= mdc[m.key]
            assert limits[-1] == max(whole, discs[-1][1][m.key])


def test_a_photo_compared_with_itself_reads_no_change():
    from analyzer.metrics.repeatability import minimal_detectable_change

    photo = _photo("session1_front.jpg")
    comparison = compare(photo, photo)
    share = {key: abs(delta) / minimal_detectable_change(key, comparison.light)
             for key, delta in comparison.delta.items()}
    worst = max(share, key=share.get)
    # measured: the largest move 0.008 pores/cm² (0.04 % of its limit), spot area 0.0002 %; the
    # tone fitted between a photo and itself is not exactly the identity (melanin excess within
    # 0.002 MI units). Before algorithm 1.4 the later photo lost the area of two spots whose
    # centroid lies off their blob (-0.14 %, 12 % of its limit).
    assert not any(comparison.significant.values())
    assert share[worst] < 0.01, (worst, comparison.delta[worst])


def test_spot_area_falls_as_the_planted_spots_fade():
    # The demo's planted spots fade to 0.72 (session 3) and 0.5 (session 5) of their contrast;
    # their outlines cover 0.5 % of the front view's skin. Measured -0.13 and -0.32 % (-0.24 and
    # -0.34 % until algorithm 1.9 left out the blobs at the skin's edge); outlined at half the later
    # photo's own peak instead (a fading spot keeping its size) they read +0.13 and -0.07 % at 1.4.
    # The natural blemishes (13 of the 18 spots) did not change.
    baseline = _photo("session1_front.jpg")
    key = "pigmentation.spot_area_pct"
    session3, session5 = (compare(baseline, _photo(f"session{n}_front.jpg")).delta[key] for n in (3, 5))
    assert session5 < session3 < 0
    assert session5 < -0.2  # over 40 % of the planted spots' area gone


def test_a_user_mask_replaces_the_detected_skin():
    photo = _photo("session1_front.jpg")
    mask = np.zeros(photo.shape[:2], bool)
    mask[1000:1200, 900:1100] = True  # a 32 x 32 mm patch of the right cheek
    metrics = analyze(photo, mask)
    drawn = 200 * 200 / metrics.px_per_mm**2
    assert 0.9 * drawn < metrics.area_mm2 <= drawn  # specular glare on the cheek is left out (5 %)
    assert not any(k.startswith("zone.") for k in metrics.to_dict())


@pytest.mark.parametrize("name", ["session1_left-cheek.jpg", "session1_front.jpg"])
def test_a_drawn_area_is_followed_onto_the_later_photo(name):
    # Haemoglobin +0.2 OD planted in the upper half of the skin, the later photo shifted by
    # (14, -9) px. Measured over the upper half the change reads 94 % of what was planted
    # (7.88 and 7.79 EI units); over the lower half 0.07 and 0.08 (1 % of it: the planted
    # edge, blurred by resampling); over the whole skin, each half weighted by its area
    # to 0.1 %.
    baseline = _photo(name)
    h, w = baseline.shape[:2]
    skin = regions(baseline).mask
    upper, lower = skin.copy(), skin.copy()
    upper[h // 2:], lower[:h // 2] = False, False
    later = cv2.warpAffine(plant_haemoglobin(baseline, upper, 0.2), np.float32([[1, 0, 14], [0, 1, -9]]),
                           (w, h), borderMode=cv2.BORDER_REFLECT)
    key = "redness.erythema_index"
    treated, untreated, whole = (compare(baseline, later, mask=m) for m in (upper, lower, None))
    assert treated.delta[key] == pytest.approx(_planted_ei(0.2), rel=0.15) and treated.significant[key]
    assert abs(untreated.delta[key]) < 0.03 * treated.delta[key] and not untreated.significant[key]
    areas = treated.before.area_mm2, untreated.before.area_mm2
    assert sum(areas) == pytest.approx(whole.before.area_mm2, rel=0.02)
    weighted = (treated.delta[key] * areas[0] + untreated.delta[key] * areas[1]) / sum(areas)
    assert whole.delta[key] == pytest.approx(weighted, rel=0.02)
    assert not any(k.startswith("zone.") for k in treated.delta)


def test_an_area_smaller_than_any_whose_noise_was_measured_says_so():
    baseline, later = _photo("session1_left-cheek.jpg"), _photo("session3_left-cheek.jpg")
    small = np.zeros(baseline.shape[:2], bool)
    small[600:680, 500:580] = True  # 80 x 80 px, 7 x 7 mm at 11 px/mm: measurable, but noisier
    c = compare(baseline, later, mask=small)
    assert c.drawn and c.to_dict()["drawn"] is True
    assert any("smaller than the smallest drawn area whose noise was measured" in n for n in c.notes)
    assert not compare(baseline, later).drawn


def test_a_drawn_area_of_another_size_than_the_baseline_is_refused():
    photo = _photo("session1_left-cheek.jpg")
    with pytest.raises(ValueError, match="mask is 10x10 px but the photo is"):
        compare(photo, photo, mask=np.ones((10, 10), bool))


def test_a_known_scale_is_used():
    photo = _photo("session1_left-cheek.jpg")
    assert analyze(photo, px_per_mm=12.0).px_per_mm == 12.0
    assert analyze(photo).scale_source == "frame"


def test_texture_needs_resolution_and_says_so():
    photo = _photo("session1_front.jpg")
    small = cv2.resize(photo, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    metrics = analyze(small)
    assert math.isnan(metrics["texture.pore_density"])
    assert math.isnan(metrics["texture.wrinkle_density"])
    assert any("px/mm" in note for note in metrics.notes)
    c = compare(photo, small)  # and a comparison says why the later photo's are not measured
    assert math.isnan(c.delta["texture.wrinkle_density"]) and not c.significant["texture.wrinkle_density"]
    assert any(note.startswith("The later photo: fine lines and pores need") for note in c.notes), c.notes


def test_half_resolution_reads_the_same():
    # close-up at 11 px/mm and its half (5.5 px/mm): measured within 1.7 % except the brown spots,
    # whose count moves by faint blotches of the source photo near the threshold (10.5..14 MI
    # units): 71 -> 65 (-8.7 %) until algorithm 1.9 left out the blobs at the skin's edge and the
    # backdrop from the skin, 24 -> 22 since (area -6.9 %); so 2 spots or 10 %, whichever is more
    photo = _photo("session1_left-cheek.jpg")
    full = analyze(photo)
    half = analyze(cv2.resize(photo, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    assert half.px_per_mm == pytest.approx(full.px_per_mm / 2, rel=0.01)
    for key in ("redness.erythema_index", "redness.red_area_pct", "pigmentation.melanin_index",
                "pigmentation.tone_unevenness", "texture.roughness", "texture.wrinkle_density",
                "texture.pore_density"):
        assert half[key] == pytest.approx(full[key], rel=0.05), key
    assert half["pigmentation.spot_count"] == pytest.approx(full["pigmentation.spot_count"], rel=0.10, abs=2)
    assert half["pigmentation.spot_area_pct"] == pytest.approx(full["pigmentation.spot_area_pct"], rel=0.10)


def test_unaligned_photos_report_no_change():
    cheek, other = _photo("session1_left-cheek.jpg"), _photo("session1_right-cheek.jpg")
    comparison = compare(cheek, other)
    assert not comparison.alignment.ok
    assert comparison.after is None and comparison.delta == {} and comparison.significant == {}


def test_a_photo_without_skin_is_refused():
    wall = np.full((600, 800, 3), (60, 90, 200), np.uint8)  # a blue wall
    with pytest.raises(NoSkin, match="too little skin"):
        analyze(wall)


def _black_and_white(photo: np.ndarray) -> np.ndarray:
    """`photo` as a phone's black-and-white mode saves it: equal R, G, B, JPEG 92."""
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    ok, encoded = cv2.imencode(".jpg", cv2.merge([grey, grey, grey]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return load_image(encoded.tobytes())


@pytest.mark.parametrize("view", ["front", "left-cheek"])
def test_a_black_and_white_photo_is_not_measured_as_skin_without_redness(view):
    """With no colour, erythema and melanin would read 0 (as if all redness had gone): refused, saying why."""
    colour = _photo(f"session1_{view}.jpg")
    with pytest.raises(NoSkin, match=r"^the photo has no colour .*median chroma 0\.\d.*black-and-white"):
        analyze(_black_and_white(colour))
    later = _photo(f"session2_{view}.jpg")
    with pytest.raises(NoSkin, match=r"^the later photo has no colour"):
        compare(colour, _black_and_white(later))
    with pytest.raises(NoSkin, match=r"^the baseline has no colour"):
        compare(_black_and_white(colour), later)


@pytest.mark.parametrize("grey", [(128, 128, 128), (236, 235, 233), (90, 92, 95)])
def test_a_grey_card_or_white_wall_is_not_measured_as_skin(grey):
    """Neutral surfaces fall inside the skin-chroma box that allows for colour casts: refused by colour."""
    rng = np.random.default_rng(0)
    surface = np.clip(rng.normal(grey, 3.0, (900, 1200, 3)), 0, 255).astype(np.uint8)  # with sensor noise
    with pytest.raises(NoSkin, match="no colour"):
        analyze(surface)


def test_darker_skin_and_colour_casts_are_still_measured():
    """The colour limit (chroma 5) sits well below any skin: 1-3 OD more melanin, white balance +-12 %."""
    cheek = _photo("session1_left-cheek.jpg")
    mask = regions(cheek).mask
    linear = srgb_to_linear(cheek)
    for melanin_od in (1.0, 3.0):  # ITA about 0 and -50 degrees: brown to dark skin
        darker = np.where(mask[..., None], linear * np.exp(-melanin_od * MELANIN), linear)
        analyze(np.round(linear_to_srgb(darker) * 255).astype(np.uint8))
    for gains in ((0.88, 1.0, 1.12), (1.12, 1.0, 0.88), (0.88, 1.12, 0.88)):
        cast = np.clip(linear_to_srgb(linear * np.asarray(gains, np.float32)), 0, 1)
        analyze(np.round(cast * 255).astype(np.uint8))


def test_a_drawn_area_too_small_to_measure_is_refused_by_compare_too():
    cheek = _photo("session1_left-cheek.jpg")
    speck = np.zeros(cheek.shape[:2], bool)
    speck[500:503, 500:503] = True  # 9 px: under a tenth of a mm²
    for mask in (speck, np.zeros_like(speck)):  # the second: an outline round no skin, as records draw it
        with pytest.raises(NoSkin, match="too little skin"):  # and no warning of an empty mean on the way
            compare(cheek, cheek, mask=mask)


def test_a_mask_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="mask is 10x10 px but the photo is"):
        analyze(_photo("session1_left-cheek.jpg"), np.ones((10, 10), bool))


def test_fading_fit_is_exact_on_an_exponential_and_refuses_what_does_not_fade():
    hours = [6.0, 24.0, 48.0, 96.0]
    fading = fit_fading(hours, [10 * math.exp(-h / 30) for h in hours], noise=0.2)
    assert fading.tau_hours == pytest.approx(30, rel=1e-6) and fading.peak == pytest.approx(10, rel=1e-6)
    assert fading.half_life_hours == pytest.approx(30 * math.log(2))
    assert fading.settled_hours(0.2) == pytest.approx(30 * math.log(50))
    assert fit_fading([24, 48], [2.0, 3.0], noise=0.2) is None  # rising: not a fading
    assert fit_fading([24], [2.0], noise=0.2) is None  # one photo: no curve
    with pytest.raises(ValueError, match="2 times but 3 measurements"):
        fit_fading([1, 2], [1, 2, 3], noise=0.1)


def test_without_the_face_model_the_face_box_stands_in(monkeypatch, tmp_path):
    # e.g. installed from a source archive without `make install`: zones and scale then come
    # from scikit-image's face box and average proportions (less precise: scale within 10 %)
    monkeypatch.setenv("ANALYZER_MODELS_DIR", str(tmp_path))
    from analyzer import landmarks

    assert not landmarks.model_available()
    metrics = analyze(_photo("session1_front.jpg"))
    assert metrics.scale_source == "face"
    assert metrics.px_per_mm == pytest.approx(TRUTH["px_per_mm_front"], rel=0.1)
    assert all(f"zone.{zone}.redness.erythema_index" in metrics.to_dict() for zone in ZONES)


def test_spot_disc_means_at_the_frame_edge():
    # discs reaching past the map's edge are cut at it (a spot near the frame's border crashed
    # the comparison); a disc outside the map has no mean
    from analyzer.metrics.pigmentation import disc_means

    excess = np.zeros((50, 60), np.float32)
    excess[20:30, 20:30] = 12.0
    excess[45:, 55:] = 6.0
    mask = np.ones(excess.shape, bool)
    points = np.array([[25.0, 25.0], [59.0, 49.0], [100.0, 5.0]])
    means = disc_means(excess, mask, points, [1.0, 2.0, 1.0], px_per_mm=5.0)
    assert means[0] == pytest.approx(12.0)
    assert 0 < means[1] < 6.0 and math.isnan(means[2])


def test_known_spots_are_outlined_as_they_were_found(front):
    # A later photo's spot area is drawn from the baseline's spots with outline_spots: on the photo
    # they were found in, it must draw exactly find_spots' outlines, or an unchanged photo would
    # read as a change of spot area.
    from analyzer.metrics.pigmentation import outline_spots

    maps = front.maps
    peaks = (np.array([(s.peak_x, s.peak_y) for s in front.spots]) - maps.box[:2]) * maps.factor
    drawn = outline_spots(maps.excess, peaks, list(front.spots), px_per_mm=front.px_per_mm * maps.factor)
    assert len(front.spots) >= 15  # measured 18: enough outlines for the comparison to mean something
    assert np.array_equal(drawn, maps.spots), np.count_nonzero(drawn ^ maps.spots)


def test_a_followed_spot_is_outlined_at_its_level_so_it_shrinks_as_it_fades():
    from analyzer.metrics.pigmentation import Spot, outline_spots

    yy, xx = np.mgrid[:80, :80]
    cone = np.float32(20.0) - np.hypot(yy - 40, xx - 40).astype(np.float32)  # 20 MI at the peak, 1/px
    spot = Spot(x=40.0, y=40.0, diameter_mm=2.0, contrast=15.0, peak_x=40.0, peak_y=40.0, radius_mm=1.0,
                level=10.0)
    peak = np.array([[40.0, 40.0]])
    drawn = outline_spots(np.maximum(cone, 0), peak, [spot], px_per_mm=10.0)
    assert drawn.sum() == pytest.approx(math.pi * 10**2, rel=0.05)  # above 10 MI: radius 10 px
    fainter = outline_spots(np.maximum(cone - 4, 0), peak, [spot], px_per_mm=10.0)
    assert fainter.sum() == pytest.approx(math.pi * 6**2, rel=0.05)  # 16 MI at the peak: radius 6 px
    moved = outline_spots(np.maximum(cone, 0), np.array([[43.0, 38.0]]), [spot], px_per_mm=10.0)
    assert np.array_equal(moved, drawn)  # a peak a few px off still finds the spot
    faded = outline_spots(np.maximum(cone - 10.5, 0), peak, [spot], px_per_mm=10.0)
    assert not faded.any()  # 9.5 MI at the peak: under its level, it covers nothing


def _in_another_top(photo: np.ndarray) -> tuple[np.ndarray, float]:
    """The demo front view with the orange suit turned blue; and the suit's share of the reference."""
    reference = regions(photo).reference
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV)
    suit = reference & (hsv[..., 1] > 100) & (hsv[..., 0] < 25)  # saturated orange
    suit[: int(0.6 * photo.shape[0])] = False
    hsv[..., 0][suit] = (hsv[..., 0][suit].astype(np.int16) + 90) % 180  # orange -> blue
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), float(suit.sum() / reference.sum())


def test_another_top_at_the_next_visit_is_no_change_of_skin():
    """The light is matched on what surrounds the face; a patient's clothes are part of it, and change."""
    photo = _photo("session1_front.jpg")
    later, share = _in_another_top(photo)
    assert share > 0.1, share
    comparison = compare(photo, later)
    colour = ("redness.erythema_index", "redness.red_area_pct", "pigmentation.melanin_index",
              "pigmentation.ita_deg")
    moves = {key: round(comparison.delta[key], 3) for key in colour}
    print(f"suit {100 * share:.0f} % of the reference:", moves, comparison.tone.change())
    # measured at 1.11: the suit is 13 % of the reference; erythema -0.005 EI units (MDC95 0.078), red
    # areas +0.02 % (0.76), melanin +0.07 MI units (0.15), ITA -0.04 degrees (0.13). Paired by rank
    # over all the reference (until 1.11): erythema +17.9, red areas +37.5, melanin +51.5, ITA -26.4.
    assert not any(comparison.significant[key] for key in colour), moves


def test_the_light_note_names_its_widest_judged_limit_or_none():
    """The note on light beyond the repeat photos names the widest limit among the changes judged."""
    from analyzer.compare import _widest

    judged = {"texture.roughness": 0.1, "redness.erythema_index": 0.09, "zone.chin.texture.roughness": 0.2}
    assert _widest(judged, "reference") == " (up to 2.65 times: roughness)"
    unjudged = {"texture.roughness": math.inf, "redness.erythema_index": 0.09}  # texture left unjudged
    assert _widest(unjudged, "reference") == " (up to 1.15 times: erythema index)"
    assert _widest({"texture.roughness": math.inf}, "reference") == ""  # nothing judged: no factor named
