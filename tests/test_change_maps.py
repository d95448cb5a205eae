"""Change maps: planted redness and spots show where they were planted; a change of light shows nothing.

Phantoms: the astronaut's face enlarged 16x (tests/phantoms/skin.py), with
haemoglobin planted in two cheek discs or brown spots, compared with the plain
photo; and the plain photo relit (exposure, white balance, tone curve, JPEG 85).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from phantoms import skin

from analyzer import compare
from analyzer.change_maps import FAMILIES, change_fields, change_maps

HB_OD = 0.2


def _frame_points(comparison, points) -> np.ndarray:
    m = comparison.before.maps
    return (np.asarray(points, float) - m.box[:2]) * m.factor


def _disc(shape, centre, radius) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return skin.base_photo()


@pytest.fixture(scope="module")
def redness(base):
    field = sum(skin.disc_field(base.shape[:2], c, r * skin.PX_PER_MM) for c, r in skin.CHEEK_BLOBS)
    c = compare(base, skin.plant_haemoglobin(base, np.minimum(field, 1.0), HB_OD))
    return c, change_fields(c)


def test_planted_redness_shows_inside_its_discs_only(redness):
    comparison, fields = redness
    red = fields["redness"]
    m = comparison.before.maps
    inside = np.zeros(red.shape, bool)
    outside = m.mask.copy()
    for (x, y), r_mm in skin.CHEEK_BLOBS:
        centre = _frame_points(comparison, [(x, y)])[0]
        radius = r_mm * skin.PX_PER_MM * m.factor
        inside |= _disc(red.shape, centre, 0.6 * radius)  # the discs' cores
        outside &= ~_disc(red.shape, centre, 1.6 * radius)  # clear of their soft edges and the smoothing
    inside &= m.mask
    shown = FAMILIES["redness"].shown_from
    assert np.nanmedian(red[inside]) > 3 * shown  # measured: ~6 EI units for OD 0.2
    assert np.nanmean(np.abs(red[outside]) > shown) < 0.02
    assert np.nanmean(np.abs(fields["pigmentation"][inside]) > FAMILIES["pigmentation"].shown_from) < 0.05


def test_planted_spots_show_as_darker_points(base):
    spotted = skin.plant_spots(base, [c for c, _, _ in skin.SPOTS], [r for _, r, _ in skin.SPOTS],
                               [o for _, _, o in skin.SPOTS], skin.PX_PER_MM)
    comparison = compare(base, spotted)
    pig = change_fields(comparison)["pigmentation"]
    at = np.round(_frame_points(comparison, [c for c, _, _ in skin.SPOTS])).astype(int)
    peaks = [np.nanmax(pig[y - 2:y + 3, x - 2:x + 3]) for x, y in at]
    assert min(peaks) > FAMILIES["pigmentation"].shown_from
    assert np.nanmean(pig > FAMILIES["pigmentation"].shown_from) < 0.05  # points, not the face


def test_planted_lines_show_as_rougher_skin(base):
    lined = skin.plant_lines(base, skin.LINES, skin.LINE_WIDTH_MM, 0.3, skin.PX_PER_MM)
    comparison = compare(base, lined)
    tex = change_fields(comparison)["texture"]
    m = comparison.before.maps
    on_lines = skin.line_field(base.shape[:2], skin.LINES, skin.LINE_WIDTH_MM * skin.PX_PER_MM) > 0.5
    x0, y0, x1, y1 = m.box
    on_lines = cv2.resize(on_lines[y0:y1, x0:x1].astype(np.uint8), tex.shape[::-1],
                          interpolation=cv2.INTER_NEAREST).astype(bool) & m.mask
    assert np.nanmedian(tex[on_lines]) > FAMILIES["texture"].shown_from
    assert np.nanmean(tex > FAMILIES["texture"].shown_from) < 0.2


@pytest.mark.parametrize("i", range(4))
def test_a_change_of_light_alone_draws_nothing(base, i):
    lighting = skin.random_lightings(4, seed=3)[i]
    comparison = compare(base, skin.relight(base, **lighting))
    for name, field in change_fields(comparison).items():
        shown = np.nanmean(np.abs(field) > FAMILIES[name].shown_from)
        assert shown < 0.02, f"{name}: {shown:.1%} of the skin coloured by a change of light ({lighting})"


def test_maps_are_drawn_over_the_baseline(redness, base):
    comparison, _ = redness
    drawn = change_maps(base, comparison, max_side=600)
    assert set(drawn) == {"redness", "pigmentation", "texture"}
    for image in drawn.values():
        assert image.dtype == np.uint8 and max(image.shape[:2]) <= 600 and image.shape[2] == 3
    red = drawn["redness"].astype(int)
    assert ((red[..., 0] - red[..., 2]) > 80).mean() > 0.01  # red overlay where the discs are
