"""The skin phantoms of tests/phantoms/skin.py plant exactly what they say, and only there.

The metric tests (test_metric_phantoms.py) judge the analyzer by these phantoms, so the
phantoms themselves are checked here against their definitions: planted optical density
comes back where planted, to within 8-bit rounding, and nowhere else; relighting with
neutral parameters changes nothing; the photo is its unrounded scene captured once, and a
relit photo is rounded twice; the skin mask leaves out eyes, brows, nostrils and mouth
and holds every planted change well inside it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from phantoms import hopper, skin

from analyzer.color import srgb_to_linear

H, W = 160 * skin.UPSCALE, 150 * skin.UPSCALE  # 2560 x 2400


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skin.base_photo()


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    return skin.skin_mask()


def _od_of_code(code: np.ndarray) -> np.ndarray:
    """OD of (possibly fractional) sRGB codes, as skin.optical_density computes it."""
    v = np.clip(np.asarray(code, np.float64) / 255.0, 0.0, 1.0)
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return -np.log(np.maximum(lin, skin.OD_FLOOR_LINEAR))


def _assert_planted(before: np.ndarray, after: np.ndarray, planted: np.ndarray) -> None:
    """``after`` is ``before`` with OD ``planted`` (HxWx3) added, rounded to the nearest 8-bit code.

    The true OD must lie in the OD interval of the output code (code +- 0.5); pixels with
    nothing planted must be identical.
    """
    untouched = (planted == 0).all(-1)
    np.testing.assert_array_equal(after[untouched], before[untouched])
    truth = skin.optical_density(before) + planted
    code = after.astype(np.float64)
    # codes 0 and 255 absorb everything beyond them; 1e-6: float32 sRGB round-off in plant()
    low = np.where(code < 255, _od_of_code(code + 0.5), -np.inf) - 1e-6
    high = np.where(code > 0, _od_of_code(code - 0.5), np.inf) + 1e-6
    inside = (truth >= low) & (truth <= high)
    assert inside.all(), f"{(~inside).sum()} channel values off their 8-bit rounding"


def _half_step(img: np.ndarray) -> np.ndarray:
    """Per channel, the mean half width in OD of an 8-bit code's rounding interval over ``img`` (N, 3)."""
    code = img.astype(np.float64)
    wide = _od_of_code(np.maximum(code - 0.5, 0.5)) - _od_of_code(np.minimum(code + 0.5, 254.5))
    return (wide / 2).mean(0)


def test_photo_is_the_upscaled_astronaut_face(photo, mask):
    assert photo.shape == (H, W, 3) and photo.dtype == np.uint8 and not photo.flags.writeable
    assert skin.PX_PER_MM == pytest.approx(10.057, abs=1e-3)
    cols = np.flatnonzero(mask.any(0))
    # the face ellipse is 88 source px = 1408 px wide; the skin-colour test trims the temples
    assert 1250 <= cols[-1] - cols[0] + 1 <= 1408, cols[-1] - cols[0] + 1
    area_mm2 = mask.sum() / skin.PX_PER_MM**2
    assert 11_000 < area_mm2 < 16_000, area_mm2  # measured 13,939 mm^2 (a face less its features)
    # skin is kept clear of clipping under every gain the lighting tests apply (1.3 x 1.12)
    assert srgb_to_linear(photo[mask]).max() * 1.3 * 1.12 < 1.0


def test_mask_leaves_out_eyes_brows_nostrils_mouth(mask):
    assert mask.dtype == bool and mask.shape == (H, W)
    yy, xx = np.mgrid[:H, :W]
    for center, axes in skin.EXCLUDED:
        cx, cy = skin.to_image(*center)
        ax, ay = axes[0] * skin.UPSCALE, axes[1] * skin.UPSCALE
        inside = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1
        assert not mask[inside].any(), center
    for point in [(224, 84), (195, 122), (253, 122), (224, 115), (224, 167)]:  # forehead, cheeks, nose, chin
        x, y = (int(round(v)) for v in skin.to_image(*point))
        assert mask[y, x], point
    # one piece; no hair, background or shirt: nothing outside the face ellipse
    face = (((xx - skin.to_image(*skin.FACE_CENTER)[0]) / (skin.FACE_AXES[0] * skin.UPSCALE)) ** 2
            + ((yy - skin.to_image(*skin.FACE_CENTER)[1]) / (skin.FACE_AXES[1] * skin.UPSCALE)) ** 2 <= 1)
    assert not mask[~face].any()


def _distance_to_border_mm(mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5) / px_per_mm


@pytest.mark.parametrize("face", [skin, hopper], ids=lambda face: face.NAME)
def test_planted_changes_sit_well_inside_the_mask_and_apart(face):
    """On both faces of test_metric_phantoms.py."""
    mask = face.skin_mask()
    depth = _distance_to_border_mm(mask, face.PX_PER_MM)
    assert 3 <= len(face.SPOTS) <= 5
    centers = np.array([c for c, _, _ in face.SPOTS])
    for (x, y), radius, od in face.SPOTS:
        assert 1.5 <= radius <= 3.0 and 0.25 <= od <= 0.4
        # the spot's edge (1.3 radius) is at least 5 mm from the mask's border
        assert depth[int(round(y)), int(round(x))] >= 1.3 * radius + 5.0, ((x, y), depth[int(y), int(x)])
    gaps = np.linalg.norm(centers[:, None] - centers[None], axis=-1) / face.PX_PER_MM
    assert gaps[np.triu_indices(len(centers), 1)].min() > 20.0
    assert 3 <= len(face.LINES) <= 5
    for line in face.LINES:
        length = np.linalg.norm(np.diff(line, axis=0), axis=1).sum() / face.PX_PER_MM
        assert 15.0 <= length <= 30.0, length
        ix, iy = np.round(line).astype(int).T
        assert depth[iy, ix].min() >= 2.0, depth[iy, ix].min()
        to_spots = np.linalg.norm(line[:, None] - centers[None], axis=-1) / face.PX_PER_MM
        assert to_spots.min() > 9.0, to_spots.min()
    assert 0.3 <= skin.LINE_WIDTH_MM <= 0.5
    blobs = sum(skin.disc_field(mask.shape, c, r * face.PX_PER_MM) for c, r in face.CHEEK_BLOBS)
    assert blobs[~mask].max() == 0.0  # the redness blobs lie wholly on measured skin
    assert 0.05 < blobs[mask].mean() < 0.15  # measured 9.0 % (astronaut), 11 % (hopper)


def test_haemoglobin_is_planted_exactly_where_asked(photo, mask):
    after = skin.plant_haemoglobin(photo, mask, 0.2)
    planted = 0.2 * mask[..., None] * skin.HAEMOGLOBIN.astype(np.float64)
    _assert_planted(photo, after, planted)
    # on average too, within 8-bit rounding (which need not average out: a change smaller than
    # one code, as red's 0.008 OD, rounds alike across similar pixels)
    change = (skin.optical_density(after) - skin.optical_density(photo))[mask].mean(0)
    assert (np.abs(change - 0.2 * skin.HAEMOGLOBIN) <= _half_step(after[mask])).all(), change
    assert not np.array_equal(after[mask], photo[mask])


def test_spots_are_planted_exactly_where_asked(photo, mask):
    centers = [c for c, _, _ in skin.SPOTS]
    radii = [r for _, r, _ in skin.SPOTS]
    ods = [o for _, _, o in skin.SPOTS]
    after = skin.plant_spots(photo, centers, radii, ods, skin.PX_PER_MM)
    field = skin.spots_field(mask.shape, centers, radii, ods, skin.PX_PER_MM)
    _assert_planted(photo, after, field[..., None] * skin.MELANIN.astype(np.float64))
    change = skin.optical_density(after) - skin.optical_density(photo)
    yy, xx = np.mgrid[:H, :W]
    for (x, y), radius, od in skin.SPOTS:
        r_mm = np.hypot(xx - x, yy - y) / skin.PX_PER_MM
        top = r_mm <= 0.7 * radius
        assert (np.abs(change[top].mean(0) - od * skin.MELANIN) <= _half_step(after[top])).all()
        assert field[r_mm <= 0.7 * radius].min() == pytest.approx(od)  # flat top
        assert field[(r_mm >= 1.3 * radius) & (r_mm < 1.4 * radius)].max() == 0.0  # zero beyond
    # elsewhere nothing
    assert (change[field == 0] == 0).all()


def test_disc_is_flat_topped_with_a_soft_edge_half_deep_at_its_radius():
    field = skin.disc_field((1, 40), (0.0, 0.0), 20.0)[0]  # distance = x
    assert (field[:15] == 1.0).all() and (field[26:] == 0.0).all()  # flat to 0.7 r, zero from 1.3 r
    assert field[20] == pytest.approx(0.5)
    assert (np.diff(field) <= 0).all()


def test_line_profile_is_a_gaussian_of_the_given_width():
    width = 0.5 * skin.PX_PER_MM
    line = np.array([[20.0, 50.5], [180.0, 50.5]])
    field = skin.line_field((100, 200), [line], width)
    profile = field[:, 100]  # the middle, where the taper is 1
    sigma = width / (2 * np.sqrt(2 * np.log(2)))
    d = np.arange(100) - 50.5
    np.testing.assert_allclose(profile, np.exp(-(d**2) / (2 * sigma**2)), atol=1e-6)
    assert field[:, 20].max() == pytest.approx(0.0, abs=1e-7) and field[:, :15].max() == 0.0  # tapered end
    along = field[50, 20:181]
    assert np.all(np.diff(along[: len(along) // 2 - 1]) >= -1e-7)  # rises to the middle


def test_lines_are_planted_exactly_where_asked(photo):
    after = skin.plant_lines(photo, skin.LINES, skin.LINE_WIDTH_MM, skin.LINE_OD, skin.PX_PER_MM)
    field = skin.line_field(photo.shape[:2], skin.LINES, skin.LINE_WIDTH_MM * skin.PX_PER_MM)
    _assert_planted(photo, after, skin.LINE_OD * field[..., None] * skin.SHADING.astype(np.float64))
    assert field.max() == pytest.approx(1.0, abs=0.01)
    # the planted area (field > 1/2) is the lines' length times their width
    length_mm = sum(np.linalg.norm(np.diff(ln, axis=0), axis=1).sum() for ln in skin.LINES) / skin.PX_PER_MM
    area_mm2 = (field > 0.5).sum() / skin.PX_PER_MM**2
    assert area_mm2 == pytest.approx(length_mm * skin.LINE_WIDTH_MM, rel=0.35), (area_mm2, length_mm)


def test_relight_with_neutral_settings_is_the_identity(photo):
    np.testing.assert_array_equal(skin.relight(photo), photo)
    codes = np.arange(256, dtype=np.uint8).reshape(16, 16)[..., None].repeat(3, -1)
    np.testing.assert_array_equal(skin.relight(codes), codes)
    neutral = skin.relight(photo, exposure=1.0, white_balance=(1, 1, 1), gamma=1.0)
    np.testing.assert_array_equal(neutral, photo)


def test_relight_applies_gains_in_linear_light_then_gamma_then_jpeg(photo, mask):
    gains = np.array([1.1, 0.95, 0.9]) * 0.8
    out = skin.relight(photo, exposure=0.8, white_balance=(1.1, 0.95, 0.9))
    ratio = srgb_to_linear(out[mask]).astype(np.float64) / srgb_to_linear(photo[mask])
    np.testing.assert_allclose(np.median(ratio, 0), gains, rtol=2e-3)
    toned = skin.relight(photo, gamma=1.15)
    np.testing.assert_allclose(toned[mask] / 255.0, (photo[mask] / 255.0) ** 1.15, atol=0.5 / 255 + 1e-6)
    jpeg = skin.relight(photo, jpeg_quality=85)
    assert jpeg.shape == photo.shape and jpeg.dtype == np.uint8 and not np.array_equal(jpeg, photo)
    err = jpeg[mask].astype(float) - photo[mask]
    assert 0.2 < np.sqrt((err**2).mean()) < 3.0  # measured 1.22 DN on the skin: a real but mild codec loss


def _missing_codes(values: np.ndarray) -> list[int]:
    """Per channel, code values never used between the 1st and 99th percentile of (N, 3) uint8."""
    out = []
    for c in range(3):
        lo, hi = np.percentile(values[:, c], [1, 99]).astype(int)
        out.append(int((np.bincount(values[:, c], minlength=256)[lo:hi + 1] == 0).sum()))
    return out


def test_the_photo_is_its_scene_captured_once_and_a_relit_photo_is_rounded_twice(photo, mask):
    scene = skin.base_scene()
    assert scene.dtype == np.float32 and scene.shape == photo.shape
    np.testing.assert_array_equal(skin.capture(scene), photo)
    # planted in the unrounded scene, then captured: the photo's planting, to 8-bit rounding
    od_map, direction = skin.spots_field(photo.shape[:2], [c for c, _, _ in skin.SPOTS], 2.5, 0.35,
                                         skin.PX_PER_MM), skin.MELANIN
    in_scene = skin.capture(skin.plant_scene(scene, od_map, direction)).astype(int)
    assert np.abs(in_scene - skin.plant(photo, od_map, direction)).max() <= 1
    # exposure x 1.2 on the 8-bit photo skips code values in the skin (a combed histogram, every
    # one a one-code step through smooth skin: measured 9-10 per channel); the scene captured at
    # that exposure skips none
    assert min(_missing_codes(skin.relight(photo, exposure=1.2)[mask])) >= 5
    assert _missing_codes(skin.capture(scene, exposure=1.2)[mask]) == [0, 0, 0]


def test_random_lightings_span_the_issue_ranges_and_are_seeded(photo, mask):
    n = 12
    sets = skin.random_lightings(n, seed=0)
    assert sets == skin.random_lightings(n, seed=0) and sets != skin.random_lightings(n, seed=1)
    exposure = np.array([s["exposure"] for s in sets])
    balance = np.array([s["white_balance"] for s in sets])
    gamma = np.array([s["gamma"] for s in sets])
    for values, half in [(exposure, 0.30), *((balance[:, c], 0.12) for c in range(3)), (gamma, 0.15)]:
        # one value in each twelfth of the range
        strata = np.floor((values - (1 - half)) / (2 * half) * n)
        assert sorted(strata) == list(range(n)), values
    assert all(s["jpeg_quality"] == 85 for s in sets)
    gains_only = skin.random_lightings(n, seed=0, gamma=0.0, jpeg_quality=None)
    assert [s["exposure"] for s in gains_only] == exposure.tolist()
    assert all(s["gamma"] == 1.0 and s["jpeg_quality"] is None for s in gains_only)
    for s in sets:  # no relighting clips the skin: every change stays measurable
        assert skin.relight(photo, **{**s, "jpeg_quality": None})[mask].max() < 255


def test_builders_are_pure(photo, mask):
    before = photo.copy()
    a = skin.plant_haemoglobin(photo, mask, 0.1)
    b = skin.plant_haemoglobin(photo, mask, 0.1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(photo, before)
    assert a.flags.writeable and a.dtype == np.uint8 and a.shape == photo.shape
    with pytest.raises(ValueError):
        skin.plant(photo, np.zeros((10, 10)), skin.MELANIN)
