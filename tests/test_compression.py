"""A photo compressed again (a messaging app's JPEG) is recognised, said, and not read as skin change.

Figures from ``python bench/compression.py``: the quality read is within 4 of the quality
saved at from 40 to 90 on the demo patient's three views and three scikit-image photos (exact
from 80 to 90 and at 70; 50 reads 46 to 49); the later photo of a repeat pair saved again at
quality 70 moves roughness by up to 4.3 noise limits (90th percentile).
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from phantoms import skin as phantom
from PIL import Image
from skimage import data

from analyzer import compare, load_image
from analyzer.color import HAEMOGLOBIN
from analyzer.compression import MIN_QUALITY_MEASURED, jpeg_quality
from analyzer.quality import QualityReport, assess
from analyzer.skin import regions

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
READ_WITHIN = 5  # quality points: the largest error measured is 4, at quality 50 (bench/compression.py)


def saved(img: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return load_image(buf.getvalue())


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    demo = {view: load_image(DEMO / f"session1_{view}.jpg") for view in ("front", "left-cheek")}
    return demo | {"astronaut": data.astronaut(), "coffee": data.coffee()}


@pytest.mark.parametrize("name", ["front", "left-cheek", "astronaut", "coffee"])
def test_the_quality_a_photo_was_saved_at_is_read_from_its_pixels(photos, name):
    read = {q: jpeg_quality(saved(photos[name], q)) for q in (85, 80, 75, 70, 60, 50)}
    wrong = {q: r for q, r in read.items() if r is None or abs(r - q) > READ_WITHIN}
    assert not wrong, f"saved at -> read: {wrong}"
    assert read[85] == 85 and read[80] == 80, read  # the limit is read exactly (as measured)


def test_the_block_grid_is_found_after_the_photo_was_turned_or_cropped(photos):
    """A phone's portrait photo is turned upright on loading, which moves the JPEG's 8x8 grid."""
    for q in (72, 70):  # quality 72's table is not symmetric in its steps, unlike 70's
        compressed = saved(photos["front"][3:, 5:], q)
        for turned in (np.rot90(compressed), np.rot90(compressed, 2), compressed[5:, 2:]):
            assert jpeg_quality(np.ascontiguousarray(turned)) == q


def test_photos_never_saved_below_85_are_not_read_as_compressed(photos):
    """A false reading would silence real changes: smooth skin with a few sharp edges, clipped
    highlights, photos resized since, or never a JPEG at all. Found in review (rocket, moon and an
    overexposed close-up had read quality 9 to 15, so that no change would have been judged)."""
    front, cheek = photos["front"], photos["left-cheek"]
    as_rgb = lambda gray: np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))  # noqa: E731
    overexposed = np.clip(cheek.astype(np.float32) * 2.2, 0, 255).astype(np.uint8)  # 65 % clipped
    resized = cv2.resize(saved(front, 70), None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    noise = np.random.default_rng(1).normal(128, 40, front.shape).clip(0, 255).astype(np.uint8)
    never = {"the demo photo as shipped (JPEG 90)": front, "saved at 95": saved(front, 95),
             "4:4:4 at 95": saved(front, 95, 0), "rocket (JPEG ~97)": data.rocket(),
             "rocket enlarged": cv2.resize(data.rocket(), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC),
             "moon": as_rgb(data.moon()), "clock": as_rgb(data.clock()), "overexposed": overexposed,
             "overexposed at 92": saved(overexposed, 92), "resized since": resized, "noise": noise,
             "a flat card": np.full((600, 800, 3), 180, np.uint8)}
    read = {what: jpeg_quality(img) for what, img in never.items()}
    wrong = {what: q for what, q in read.items() if q is not None and q < MIN_QUALITY_MEASURED}
    assert not wrong, wrong
    for what in ("resized since", "noise", "a flat card", "moon", "rocket enlarged"):  # no lattice at all
        assert read[what] is None, what


def test_a_photo_compressed_by_a_messaging_app_is_said_at_upload(photos):
    front = photos["front"]
    report = assess(saved(front, 72), front)
    issue = next(i for i in report.issues if i.code == "compressed")
    assert "JPEG quality 72" in issue.message and "as the phone took it" in issue.message
    assert report.jpeg_quality == 72
    assert QualityReport.from_dict(report.to_dict()).jpeg_quality == 72
    assert "compressed" not in {i.code for i in assess(saved(front, 92), front).issues}
    assert "compressed" not in {i.code for i in assess(saved(front, MIN_QUALITY_MEASURED)).issues}


@pytest.fixture(scope="module")
def reddened(photos) -> np.ndarray:
    """The demo front view with haemoglobin +0.2 OD over its skin (a moderate real change)."""
    front = photos["front"]
    return phantom.plant(front, 0.2 * regions(front).mask.astype(np.float32), HAEMOGLOBIN)


def test_texture_change_is_not_claimed_from_a_compressed_later_photo_and_redness_still_is(photos, reddened):
    front = photos["front"]
    as_taken = compare(front, saved(reddened, 90))
    texture = [k for k in as_taken.significant if k.split(".")[-2] == "texture"]
    c = compare(front, saved(reddened, 70))
    assert c.jpeg_quality == (90, 70)  # the demo photos were saved at 90
    assert c.significant["redness.erythema_index"], "a real change must still be seen"
    red = as_taken.delta["redness.erythema_index"]
    assert c.delta["redness.erythema_index"] == pytest.approx(red, rel=0.1)
    assert not any(c.significant[k] for k in texture)
    assert any("the later photo at 70" in n and "roughness are not called significant" in n for n in c.notes)
    assert not any("JPEG" in n for n in as_taken.notes)
    assert c.to_dict()["jpeg_quality"] == [90, 70]


def test_a_baseline_compressed_hard_judges_no_change(photos, reddened):
    c = compare(saved(photos["front"], 50), saved(reddened, 90))
    assert c.jpeg_quality[0] < 50 and c.jpeg_quality[1] >= MIN_QUALITY_MEASURED
    assert not any(c.significant.values())
    assert any("the baseline at" in n and "No change is called significant" in n for n in c.notes)
