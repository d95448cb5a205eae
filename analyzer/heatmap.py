"""Change heatmaps: where an aligned later photo differs from the baseline.

The later photo is first matched to the baseline's exposure and white balance
(one gain per channel, fitted over the area both photos cover), so what remains
is change in the skin, not in the lighting. The difference is CIELAB colour
difference (Delta E*ab; about 2.3 is just noticeable), drawn over the later
photo beside the baseline.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.align import Alignment
from analyzer.color import srgb_to_linear

__all__ = ["colour_difference", "change_heatmap"]

_JND = 2.3  # Delta E*ab just noticeable (Sharma 2003, Digital Color Imaging Handbook)
_SHOWN_FROM = 2 * _JND  # below this, sensor and JPEG noise in flat areas would speckle the map
_FULL_SCALE = 15.0  # Delta E*ab drawn at full colour


def colour_difference(fixed: np.ndarray, alignment: Alignment) -> np.ndarray:
    """Per-pixel Delta E*ab between the baseline and the aligned, relit later photo.

    Parameters
    ----------
    fixed : (H, W, 3) uint8 ndarray
        The baseline photo (sRGB).
    alignment : Alignment
        The later photo aligned onto `fixed`.

    Returns
    -------
    (H, W) float32 ndarray
        Delta E*ab, 0 where the later photo does not cover the baseline.
    """
    valid = alignment.valid
    before = srgb_to_linear(fixed)
    after = srgb_to_linear(alignment.warped)
    inner = cv2.erode(valid.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    if inner.sum() < 100:
        return np.zeros(valid.shape, np.float32)
    gains = np.median(before[inner], axis=0) / np.maximum(np.median(after[inner], axis=0), 1e-4)
    after = np.clip(after * gains.astype(np.float32), 0.0, 1.0)
    lab_before = cv2.cvtColor(before, cv2.COLOR_LRGB2Lab)  # linear RGB -> CIELAB (D65)
    lab_after = cv2.cvtColor(after, cv2.COLOR_LRGB2Lab)
    diff = np.linalg.norm(lab_before - lab_after, axis=2)
    diff = cv2.GaussianBlur(diff, (0, 0), 3.0)  # residual misregistration and noise
    return np.where(valid, diff, 0.0).astype(np.float32)


def change_heatmap(fixed: np.ndarray, alignment: Alignment, *, max_width: int = 2400) -> np.ndarray:
    """Baseline and aligned later photo side by side, colour change drawn over the later one.

    Returns
    -------
    (h, w, 3) uint8 ndarray
        RGB image at most `max_width` px wide; changes below the just-noticeable
        difference (twice the just-noticeable one) are left clear, larger ones shade from purple to yellow.
    """
    diff = colour_difference(fixed, alignment)
    strength = np.clip((diff - _SHOWN_FROM) / (_FULL_SCALE - _SHOWN_FROM), 0.0, 1.0)
    colours = cv2.applyColorMap((strength * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = (0.75 * np.sqrt(strength))[..., None]
    after = alignment.warped.astype(np.float32)
    overlay = (after * (1 - alpha) + colours.astype(np.float32) * alpha).astype(np.uint8)
    overlay[~alignment.valid] = 0
    pair = np.hstack([fixed, np.full((fixed.shape[0], 8, 3), 255, np.uint8), overlay])
    scale = min(1.0, max_width / pair.shape[1])
    if scale < 1.0:
        size = (round(pair.shape[1] * scale), round(pair.shape[0] * scale))
        pair = cv2.resize(pair, size, interpolation=cv2.INTER_AREA)
    return pair

