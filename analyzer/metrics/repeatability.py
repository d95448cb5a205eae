"""Measurement noise: how much repeat photos of unchanged skin move each metric.

Figures measured by ``python bench/repeatability.py`` (simulated repeat
captures of the demo patient's baseline photos: pose within +-2 degrees and
+-3 % scale, exposure +-15 %, white balance +-5 %, gamma +-4 %, sensor noise,
JPEG 85-95), copied here from its output so that a change to them is a
reviewed change. ``MINIMAL_DETECTABLE_CHANGE`` is the 95 % limit of the
difference between two such captures (MDC95); a smaller change is not called
significant. It depends on the light: with non-skin surfaces in view
(``"reference"``) the later photo's light is matched to the baseline's; a
close-up with only skin in view (``"camera"``) relies on the camera's white
balance, and colour metrics are much noisier.
"""

from __future__ import annotations

import math

__all__ = ["COEFFICIENT_OF_VARIATION", "MINIMAL_DETECTABLE_CHANGE", "ZONE_MINIMAL_DETECTABLE_CHANGE",
           "minimal_detectable_change"]

MINIMAL_DETECTABLE_CHANGE: dict[str, dict[str, float]] = {
    "reference": {
        "redness.erythema_index": 0.0658,
        "redness.red_area_pct": 0.566,
        "pigmentation.melanin_index": 0.106,
        "pigmentation.spot_count": 1.0,
        "pigmentation.spot_area_pct": 1.01,
        "pigmentation.ita_deg": 0.109,
        "pigmentation.tone_unevenness": 0.0876,
        "texture.roughness": 0.0265,
        "texture.wrinkle_density": 0.193,
        "texture.pore_density": 21.6,
    },
    "camera": {
        "redness.erythema_index": 3.18,
        "redness.red_area_pct": 23.7,
        "pigmentation.melanin_index": 6.29,
        "pigmentation.spot_count": 2.0,
        "pigmentation.spot_area_pct": 1.17,
        "pigmentation.ita_deg": 8.06,
        "pigmentation.tone_unevenness": 0.788,
        "texture.roughness": 0.367,
        "texture.wrinkle_density": 0.271,
        "texture.pore_density": 9.11,
    },
}
COEFFICIENT_OF_VARIATION: dict[str, dict[str, float]] = {
    "reference": {
        "redness.erythema_index": 0.196,
        "redness.red_area_pct": 0.535,
        "pigmentation.melanin_index": 0.101,
        "pigmentation.spot_count": 0.173,
        "pigmentation.spot_area_pct": 3.83,
        "pigmentation.ita_deg": 0.0722,
        "pigmentation.tone_unevenness": 0.217,
        "texture.roughness": 0.173,
        "texture.wrinkle_density": 4.38,
        "texture.pore_density": 7.34,
    },
    "camera": {
        "redness.erythema_index": 6.68,
        "redness.red_area_pct": 17.7,
        "pigmentation.melanin_index": 6.0,
        "pigmentation.spot_count": 0.994,
        "pigmentation.spot_area_pct": 4.12,
        "pigmentation.ita_deg": 4.79,
        "pigmentation.tone_unevenness": 1.52,
        "texture.roughness": 2.09,
        "texture.wrinkle_density": 5.14,
        "texture.pore_density": 5.13,
    },
}
ZONE_MINIMAL_DETECTABLE_CHANGE: dict[str, float] = {
    "redness.erythema_index": 0.101,
    "redness.red_area_pct": 1.05,
    "pigmentation.melanin_index": 0.13,
    "pigmentation.spot_count": 1.0,
    "pigmentation.spot_area_pct": 3.05,
    "pigmentation.ita_deg": 0.114,
    "pigmentation.tone_unevenness": 0.12,
    "texture.roughness": 0.0686,
    "texture.wrinkle_density": 0.431,
    "texture.pore_density": 23.3,
}

def minimal_detectable_change(key: str, light: str) -> float:
    """MDC95 of metric `key` (whole-area or ``zone.<name>.<metric>``) under `light` ("reference"/"camera").

    Infinite (nothing is significant) where no figure has been measured.
    """
    if key.startswith("zone."):
        return ZONE_MINIMAL_DETECTABLE_CHANGE.get(key.split(".", 2)[2], math.inf)
    return MINIMAL_DETECTABLE_CHANGE.get(light, {}).get(key, math.inf)
