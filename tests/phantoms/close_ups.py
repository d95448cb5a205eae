"""The demo patient's baseline close-ups, as the tests and benchmarks take them apart.

Each shows a cheek, some hair and a strip of wall beside the jaw. Places are (rows, columns)
of ``sample_images/session1_<view>.jpg`` (1100 x 1400 px, about 11 px/mm).
"""

from __future__ import annotations

import numpy as np

from analyzer.color import srgb_to_linear
from phantoms import skin

__all__ = ["CARD_HELD", "CHEEK", "HAIR", "HAIR_AND_SKIN", "SKIN_ONLY", "VIEWS", "WALL", "exposed"]

VIEWS = ("left-cheek", "right-cheek")
WALL = {"left-cheek": (slice(900, 1050), slice(1150, 1350)), "right-cheek": (slice(500, 900), slice(30, 150))}
HAIR = {"left-cheek": (slice(150, 400), slice(1100, 1250)), "right-cheek": (slice(50, 250), slice(50, 300))}
CHEEK = {"left-cheek": (slice(300, 700), slice(300, 700)), "right-cheek": (slice(500, 800), slice(700, 1100))}
# each close-up's part with no backdrop in view: skin and hair only
SKIN_ONLY = {"left-cheek": (slice(0, 800), slice(0, 1000)), "right-cheek": (slice(0, 1000), slice(400, 1400))}
# each close-up's top, above the wall: skin, an eye and a lock of hair (22 and 26 % of the frame)
HAIR_AND_SKIN = {"left-cheek": (slice(0, 560), slice(0, 1400)),
                 "right-cheek": (slice(0, 450), slice(0, 1400))}
CARD_HELD = {"centre": (1120, 260), "patch_px": 45, "angle_deg": 8.0}  # in the hair and backdrop


def exposed(photo: np.ndarray) -> np.ndarray:
    """`photo` captured again as the metric phantoms are: linear light x ``BASE_EXPOSURE``, 8 bits.

    So that +30 % exposure and +12 % gain leave the skin unclipped.
    """
    return skin.capture(srgb_to_linear(np.ascontiguousarray(photo)), exposure=skin.BASE_EXPOSURE)
