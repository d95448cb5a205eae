"""Light that falls unevenly between visits (a window, a lamp moved to one side) is no change of skin.

Phantoms on the demo patient's real photos: the later photo is the baseline relit in linear light
by a smooth field (a side of the face at 0.85x or 0.7x its light, or light falling off from top to
bottom), with or without redness planted. Before algorithm 1.13 a side at 0.85x its light moved
the front view's erythema by 18 times its noise limit and a close-up's ITA by 24 times (the tone
curve, fitted on shadowed surroundings, bent; ITA follows lightness). Figures: docs/metrics.md,
"Light that falls unevenly".
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from phantoms import skin as phantom

from analyzer import compare, load_image
from analyzer.color import HAEMOGLOBIN, linear_to_srgb, srgb_to_linear
from analyzer.metrics import METRICS
from analyzer.metrics.repeatability import minimal_detectable_change
from analyzer.skin import regions
from analyzer.uneven_light import LightField

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
COMPARE = sys.modules["analyzer.compare"]
# every whole-skin metric within this many noise limits under the fields below: measured at most
# 0.5 on the front view and 1.3 on the left close-up (ITA and melanin, light falling off from top
# to bottom), up to 66 and 58 before (python bench/uneven_light.py)
WITHIN_MDC = 2.0


def _lit(img: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """`img` relit by `gain` (H, W) in linear light, as the camera would have taken it."""
    lin = np.clip(srgb_to_linear(img) * gain[..., None].astype(np.float32), 0, 1)
    return np.round(linear_to_srgb(lin) * 255).astype(np.uint8)


def side_shadow(shape: tuple[int, int], depth: float) -> np.ndarray:
    """The image-left half at `depth` x the light, the right half as it was, blended over a sixth."""
    h, w = shape
    x = np.arange(w, dtype=np.float32)
    return np.broadcast_to(1 - (1 - depth) / (1 + np.exp((x - w / 2) / (w / 12))), (h, w))


def top_down(shape: tuple[int, int], fall: float) -> np.ndarray:
    """Light falling off from the top of the frame to `1 - fall` of it at the bottom."""
    h, w = shape
    return np.broadcast_to((1 - fall * np.arange(h, dtype=np.float32) / h)[:, None], (h, w))


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {view: load_image(DEMO / f"session1_{view}.jpg") for view in ("front", "left-cheek")}


def _moves(c) -> dict[str, float]:
    """Each whole-skin metric's change in units of its noise limit."""
    return {m.key: c.delta[m.key] / minimal_detectable_change(m.key, c.light) for m in METRICS
            if math.isfinite(c.delta[m.key])}


def _true_stops(gain: np.ndarray, skin: np.ndarray) -> float:
    inside = np.log2(gain[skin])
    return float(np.percentile(inside, 95) - np.percentile(inside, 5))


@pytest.mark.parametrize("view", ["front", "left-cheek"])
@pytest.mark.parametrize(("field", "amount"), [(side_shadow, 0.85), (side_shadow, 0.7), (top_down, 0.2)])
def test_light_that_falls_unevenly_is_evened_out_and_said(photos, view, field, amount):
    base = photos[view]
    gain = field(base.shape[:2], amount)
    c = compare(base, _lit(base, gain))
    moved = {k: round(v, 2) for k, v in _moves(c).items() if abs(v) > WITHIN_MDC}
    assert not moved, f"beyond {WITHIN_MDC} noise limits: {moved}"
    truth = _true_stops(gain, regions(base).mask)
    assert c.uneven_light_stops == pytest.approx(truth, rel=0.25), truth
    assert any("light fell unevenly" in n and f"{c.uneven_light_stops:.2f} stops" in n for n in c.notes)


def test_redness_planted_under_uneven_light_is_measured_as_under_even_light(photos):
    """A real change is still seen: haemoglobin +0.2 OD over the skin, the later photo half in shadow."""
    base = photos["front"]
    mask = regions(base).mask
    red = phantom.plant(base, 0.2 * mask.astype(np.float32), HAEMOGLOBIN)
    even = compare(base, red)
    shaded = compare(base, _lit(red, side_shadow(base.shape[:2], 0.7)))
    key = "redness.erythema_index"
    assert even.significant[key] and shaded.significant[key]
    for key in ("redness.erythema_index", "pigmentation.melanin_index"):
        assert abs(shaded.delta[key] - even.delta[key]) < minimal_detectable_change(key, "reference"), key


def test_even_light_is_left_as_it_was(photos):
    """The demo course's pairs (redness, spots and lines planted; light even) are not evened out.

    Measured over its 14 pairs and 18 repeat captures: at most 0.006 stops; the phantoms' 48
    relightings (the issue's, and other phones' looks): at most 0.015 (the limit is 0.03).
    """
    base = photos["front"]
    for session in ("session2_day1", "session5"):
        c = compare(base, load_image(DEMO / f"{session}_front.jpg"))
        assert c.uneven_light_stops < COMPARE.UNEVEN_LIGHT_LIMIT / 5, session
        assert not any("light fell unevenly" in n for n in c.notes)


def test_a_field_moved_onto_another_photo_reads_the_same_at_the_same_place():
    rows, cols = np.mgrid[0:20, 0:30].astype(np.float32)
    smooth = 0.3 * np.sin(cols / 6) * np.cos(rows / 5)  # as smooth as light's fields (20 px cells)
    field = LightField(smooth, (400, 600), np.ones((20, 30), bool))
    shift = np.array([[1.0, 0, 40], [0, 1, -25], [0, 0, 1]])  # other photo's (x, y) is (x + 40, y - 25) here
    other = field.moved(shift, (500, 500))
    here = field.gain((140, 125, 340, 325), (20, 20))  # the same 200 px square, in each photo's pixels
    there = other.gain((100, 150, 300, 350), (20, 20))
    assert np.abs(np.log(here) - np.log(there))[2:-2, 2:-2].max() < 0.02
