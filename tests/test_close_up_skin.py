"""A close-up's skin: the backdrop beside the jaw is not skin, under any of the issue's lightings.

With no face to outline, a close-up's skin is what is skin-coloured; the colour box is wide
enough for a warm cast and so takes in a grey wall. ``regions`` leaves out what reaches in
from the frame's edge much greyer than the skin (in log-chromaticity, where a white balance
change moves every pixel alike), and keeps a pale patch that has skin all round it. The
photos are the demo patient's baseline close-ups; each shows the wall beside the jaw.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from phantoms import close_ups
from phantoms import skin as phantom

from analyzer import load_image
from analyzer.skin import regions

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
LIGHTINGS = phantom.random_lightings(12)  # exposure +-30 %, white balance +-12 %, gamma +-15 %, JPEG 85


@pytest.mark.parametrize("view", close_ups.VIEWS)
def test_the_wall_beside_the_jaw_is_not_skin_under_any_lighting(view):
    photo = load_image(DEMO / f"session1_{view}.jpg")
    wall = close_ups.WALL[view]
    # measured: none of the wall patch in any of the 13 photos (until algorithm 1.9, all of it)
    for lighting in [{}, *LIGHTINGS]:
        mask = regions(phantom.relight(photo, **lighting) if lighting else photo).mask
        assert mask[wall].mean() < 0.01, lighting


def test_a_pale_patch_with_skin_all_round_it_stays_skin():
    photo = load_image(DEMO / "session1_left-cheek.jpg")
    cheek = close_ups.CHEEK["left-cheek"]
    assert regions(photo).mask[cheek].all()
    # a depigmented disc 16 mm across on the cheek (vitiligo, a hypopigmented scar): 0.6 OD of
    # melanin taken out, its lightness held with neutral shading; as grey against the skin as the
    # wall is (measured 0.38 along skin's hue, the wall 0.35..0.49), but not reaching the frame's edge
    h, w = photo.shape[:2]
    field = phantom.disc_field((h, w), (600, 450), 8 * min(h, w) / 100)
    pale = phantom.plant(photo, -0.6 * field, phantom.MELANIN)
    pale = phantom.plant(pale, 0.6 * phantom.MELANIN[0] * field, phantom.SHADING)
    assert regions(pale).mask[field > 0.99].all()  # measured: all of it
