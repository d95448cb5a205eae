"""A colour checker to hold beside the skin: the 24-patch chart drawn from its published colours.

``SRGB`` holds the ColorChecker Classic's 24 patches in 8-bit sRGB (D65), in the chart's
order, rows of six from "dark skin" to "black" -- the values X-Rite publishes for the
chart (post-2009 formulation). :func:`chart` draws it as printed: square patches on the
black card with gaps between them; :func:`hold` places it in a photo, turned and scaled,
as a practitioner would hold one beside a cheek.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["SRGB", "chart", "hold"]

SRGB = np.array([
    (115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177), (103, 189, 170),
    (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108), (157, 188, 64), (224, 163, 46),
    (56, 61, 150), (70, 148, 73), (175, 54, 60), (231, 199, 31), (187, 86, 149), (8, 133, 161),
    (243, 243, 242), (200, 200, 200), (160, 160, 160), (122, 122, 121), (85, 85, 85), (52, 52, 52),
], np.uint8)
CARD_BLACK = 25  # the card's own colour between the patches (8-bit sRGB)


def chart(patch_px: int = 60) -> np.ndarray:
    """The chart as printed, (H, W, 3) uint8 sRGB: patches of `patch_px` with gaps of a quarter of that."""
    gap, border = round(patch_px / 4), round(patch_px / 3)
    h, w = 4 * patch_px + 3 * gap + 2 * border, 6 * patch_px + 5 * gap + 2 * border
    out = np.full((h, w, 3), CARD_BLACK, np.uint8)
    for i, colour in enumerate(SRGB):
        r, c = divmod(i, 6)
        y, x = border + r * (patch_px + gap), border + c * (patch_px + gap)
        out[y:y + patch_px, x:x + patch_px] = colour
    return out


def hold(photo: np.ndarray, centre: tuple[float, float], *, patch_px: int = 60,
         angle_deg: float = 0.0) -> np.ndarray:
    """`photo` (H, W, 3 uint8 sRGB) with the chart at `centre` (x, y), turned by `angle_deg`."""
    card = chart(patch_px)
    h, w = card.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    m[:, 2] += (centre[0] - w / 2, centre[1] - h / 2)
    size = (photo.shape[1], photo.shape[0])
    drawn = cv2.warpAffine(card, m, size, flags=cv2.INTER_AREA)
    cover = cv2.warpAffine(np.ones((h, w), np.float32), m, size, flags=cv2.INTER_LINEAR)[..., None]
    return np.round(photo * (1 - cover) + drawn * cover).astype(np.uint8)
