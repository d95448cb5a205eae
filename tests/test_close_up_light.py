"""A close-up's backdrop is its light's reference: with it in view, the light moves colour far less.

A close-up shows no surroundings of a face to read the light from; what it often shows is a
strip of wall or towel beside the jaw. ``regions`` finds that backdrop (tests/test_close_up_skin.py)
and takes it, less 2 mm beside the skin, as the reference; ``compare`` then matches the light on it
(``light == "backdrop"``, judged by the noise limits measured on close-ups with their backdrop).
The photos are the demo patient's baseline close-ups, exposed as the metric phantoms are; "skin
only" is each cropped to where no backdrop is in view, whose light is the camera's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from phantoms import close_ups
from phantoms import skin as phantom

from analyzer import compare, load_image
from analyzer.skin import regions

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
COLOUR = ("redness.erythema_index", "redness.red_area_pct", "pigmentation.melanin_index",
          "pigmentation.ita_deg")
HB_OD, MEL_OD = 0.2, 0.1  # the yardsticks of test_metric_phantoms: redness, a tan


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
    # measured: 10.4 % (left) and 14.2 % of the frame; the light is read from 5 % and more
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
    # measured: the backdrop cuts the p90 move 2.8 to 28 times on the left close-up (red areas
    # least: 13 against 36 % of the skin) and 20 to 50 times on the right
    for key in COLOUR:
        assert with_backdrop[key] < camera[key] / 2, (key, with_backdrop[key], camera[key])


@pytest.mark.xfail(strict=True, reason="the backdrop is one surface of a narrow range of tones: its tone "
                                       "curve is unsure. Left: erythema 14 %, red areas 27 %, melanin 65 %, "
                                       "ITA 14 % of the yardstick; right: melanin 11.7 %")
@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_with_the_backdrop_in_view_relighting_moves_colour_at_most_a_tenth_of_a_moderate_change(view, moves):
    photo = _photo(view)
    skin = regions(photo).mask.astype(np.float64)
    effects = {"redness": compare(photo, phantom.plant(photo, HB_OD * skin, phantom.HAEMOGLOBIN)).delta,
               "pigmentation": compare(photo, phantom.plant(photo, MEL_OD * skin, phantom.MELANIN)).delta}
    _, moved = moves[(view, False)]
    shares = {key: moved[key] / abs(effects[key.split(".")[0]][key]) for key in COLOUR}
    assert all(share <= 0.10 for share in shares.values()), shares
