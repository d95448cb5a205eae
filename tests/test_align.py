"""Registration: the demo patient's recorded camera moves are recovered; other photos are refused."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from phantoms.pairs import make_pair, mean_tre
from skimage import data as skimage_data

from analyzer import Alignment, align, load_image

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
TRUTH = json.loads((DEMO / "truth.json").read_text())


def _photo(name: str) -> dict:
    return next(p for p in TRUTH["photos"] if p["file"] == name)


def _baseline(view: str) -> np.ndarray:
    name = next(p["file"] for p in TRUTH["photos"] if p["view"] == view and p["session"] == 1)
    return load_image(DEMO / name)


def _true_to_fixed(name: str, pts: np.ndarray) -> np.ndarray:
    h = np.array(_photo(name)["to_baseline"])
    return cv2.perspectiveTransform(pts[None].astype(np.float64), h)[0]


def _grid(shape, n: int = 9, lo: float = 0.2, hi: float = 0.8) -> np.ndarray:
    h, w = shape[:2]
    xs, ys = np.meshgrid(np.linspace(w * lo, w * hi, n), np.linspace(h * lo, h * hi, n))
    return np.stack([xs, ys], -1).reshape(-1, 2)


@pytest.fixture(scope="module")
def front_session5() -> tuple[np.ndarray, np.ndarray, Alignment]:
    moving, fixed = load_image(DEMO / "session5_front.jpg"), _baseline("front")
    return moving, fixed, align(moving, fixed)


# Mean target registration error over the middle 60% of each demo photo, measured
# on all 14 demo pairs: 0.02..0.07 px for front views, 0.04..0.13 px for the
# low-texture close-ups. 0.3 px leaves room for library versions, not for a miss.
@pytest.mark.parametrize("name", ["session3_front.jpg", "session2_day1_front.jpg",
                                  "session4_left-cheek.jpg", "session4_right-cheek.jpg"])
def test_recovers_the_recorded_camera_move_to_a_fraction_of_a_pixel(name):
    entry = _photo(name)
    moving, fixed = load_image(DEMO / name), _baseline(entry["view"])
    result = align(moving, fixed)
    assert result.ok, result.reason
    assert result.score > 0.9
    pts = _grid(moving.shape)
    error = np.linalg.norm(result.to_fixed(pts) - _true_to_fixed(name, pts), axis=1)
    assert error.mean() < 0.3, error.mean()
    assert error.max() < 1.0


def test_fading_spots_are_not_warped_away(front_session5):
    """Spots at half their baseline strength still land where they were, to 0.3 px."""
    moving, fixed, result = front_session5
    fixed_centres = np.array([s["center"]["front"] for s in TRUTH["spots"]])
    to_moving = np.linalg.inv(np.array(_photo("session5_front.jpg")["to_baseline"]))
    moving_centres = cv2.perspectiveTransform(fixed_centres[None], to_moving)[0]
    error = np.linalg.norm(result.to_fixed(moving_centres) - fixed_centres, axis=1)
    assert error.max() < 0.3, error


def test_warped_and_valid_follow_the_mapping(front_session5):
    moving, fixed, result = front_session5
    assert result.warped.shape == fixed.shape and result.warped.dtype == np.uint8
    assert result.valid.shape == fixed.shape[:2] and result.valid.dtype == bool
    assert 0.8 < result.valid.mean() <= 1.0
    # a moving pixel, mapped by to_fixed, shows the same colour in `warped`
    pts = _grid(moving.shape, n=5)
    mapped = np.rint(result.to_fixed(pts)).astype(int)
    inside = result.valid[mapped[:, 1], mapped[:, 0]]
    src = moving[np.rint(pts[:, 1]).astype(int), np.rint(pts[:,0]).astype(int)].astype(int)
    dst = result.warped[mapped[:, 1], mapped[:, 0]].astype(int)
    # within the local colour variation over half a pixel (measured < 12 DN here)
    assert np.abs(src - dst)[inside].mean() < 12


def test_lighting_change_alone_does_not_move_the_alignment():
    fixed = cv2.resize(_baseline("front"), (1200, 1300), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(7)
    linear = (fixed.astype(np.float32) / 255.0) ** 2.2
    relit = (linear * 0.7 * np.array([1.12, 1.0, 0.88], np.float32)) ** (1 / 2.2 * 1.15)
    relit = np.clip(relit * 255 + rng.normal(0, 2, fixed.shape), 0, 255).astype(np.uint8)
    result = align(relit, fixed)
    assert result.ok
    pts = _grid(fixed.shape)
    assert np.linalg.norm(result.to_fixed(pts) - pts, axis=1).max() < 0.1


def test_smooth_non_rigid_change_is_taken_up_by_the_dense_refinement():
    fixed = cv2.resize(skimage_data.astronaut(), (1200, 1200), interpolation=cv2.INTER_CUBIC)
    h, w = fixed.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # up to 4 px, varying over the whole photo, as a change of expression might
    u, v = 2 * np.pi * xx / w, 2 * np.pi * yy / h
    dx = (4 * np.sin(0.7 * u + 0.5) * np.cos(0.5 * v + 1.0)).astype(np.float32)
    dy = (4 * np.cos(0.6 * u + 2.0) * np.sin(0.8 * v + 0.3)).astype(np.float32)
    moving = cv2.remap(fixed, xx + dx, yy + dy, cv2.INTER_LINEAR)  # moving q shows fixed q + d(q)
    pts = _grid(fixed.shape, n=10)
    truth = pts + np.stack([dx, dy], -1)[np.rint(pts[:, 1]).astype(int), np.rint(pts[:, 0]).astype(int)]
    dense = align(moving, fixed)
    rigid = align(moving, fixed, dense=False)
    err_dense = np.linalg.norm(dense.to_fixed(pts) - truth, axis=1).mean()
    err_rigid = np.linalg.norm(rigid.to_fixed(pts) - truth, axis=1).mean()
    # measured: 1.9 px with the homography alone, 0.2..0.35 px with the dense refinement
    assert dense.residual is not None
    assert err_dense < 0.5 < err_rigid


@pytest.mark.parametrize("other", ["coffee", "chelsea"])
def test_a_photo_of_something_else_is_refused_with_a_reason(other):
    fixed = _baseline("left-cheek")
    moving = cv2.resize(getattr(skimage_data, other)(), (1400, 1100), interpolation=cv2.INTER_CUBIC)
    result = align(moving, fixed)
    assert not result.ok
    assert "same skin" in result.reason
    assert result.score < 0.25  # measured 0.09 for both


def test_barely_overlapping_close_ups_are_refused():
    result = align(load_image(DEMO / "session1_right-cheek.jpg"), _baseline("left-cheek"))
    assert not result.ok and "overlap" in result.reason


def test_bad_arrays_are_refused_at_the_door():
    fixed = _baseline("left-cheek")
    with pytest.raises(ValueError, match="uint8 RGB"):
        align(fixed.astype(np.float32), fixed)
    with pytest.raises(ValueError, match="uint8 RGB"):
        align(fixed, fixed[..., 0])


@pytest.mark.parametrize("name,factor", [("session4_front.jpg", 0.6), ("session4_left-cheek.jpg", 0.7)])
def test_a_different_camera_resolution_is_aligned_just_as_well(name, factor):
    """Another phone: the later photo at 0.6x or 0.7x the baseline's pixels (measured 0.03, 0.07 px)."""
    moving = cv2.resize(load_image(DEMO / name), None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    k, c = 1 / factor, 0.5 / factor - 0.5  # resized pixel centres -> original pixel centres
    to_original = np.array([[k, 0, c], [0, k, c], [0, 0, 1]])
    result = align(moving, _baseline(_photo(name)["view"]))
    assert result.ok
    pts = _grid(moving.shape)
    truth = _true_to_fixed(name, cv2.perspectiveTransform(pts[None], to_original)[0])
    assert np.linalg.norm(result.to_fixed(pts) - truth, axis=1).mean() < 0.3


@pytest.mark.parametrize("index", [4, 5])  # the astronaut's cheek and forehead, 28 px enlarged ~43x
def test_nearly_featureless_close_ups_are_aligned_to_a_fraction_of_a_pixel(index):
    """Smooth skin with no fine detail: the finish works where the structure is, at a coarse scale.

    Mean error measured 0.14 and 0.21 px at 1200x900 (1.0 and 1.7 px with the patch
    finish alone, which finds no usable patch here); 40 such pairs at 1600x1200 in
    bench/registration.py all align under 0.8 px.
    """
    pair = make_pair("lowtexture", index, size=(1200, 900))
    assert pair.source in ("astronaut-cheek", "astronaut-forehead")
    result = align(pair.moving, pair.fixed)
    assert result.ok, result.reason
    assert result.residual is None  # no detail for a flow to follow: nothing bent
    assert mean_tre(pair, result.to_fixed) < 0.5
