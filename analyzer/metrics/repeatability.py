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
        "redness.erythema_index": 0.235,
        "redness.red_area_pct": 2.11,
        "pigmentation.melanin_index": 0.539,
        "pigmentation.spot_count": 3.48,
        "pigmentation.spot_area_pct": 1.04,
        "pigmentation.ita_deg": 0.562,
        "pigmentation.tone_unevenness": 0.431,
        "texture.roughness": 0.0719,
        "texture.wrinkle_density": 0.822,
        "texture.pore_density": 19.8,
    },
    "camera": {
        "redness.erythema_index": 3.38,
        "redness.red_area_pct": 23.9,
        "pigmentation.melanin_index": 6.63,
        "pigmentation.spot_count": 9.83,
        "pigmentation.spot_area_pct": 1.38,
        "pigmentation.ita_deg": 8.4,
        "pigmentation.tone_unevenness": 0.795,
        "texture.roughness": 0.368,
        "texture.wrinkle_density": 0.823,
        "texture.pore_density": 9.42,
    },
}
COEFFICIENT_OF_VARIATION: dict[str, dict[str, float]] = {
    "reference": {
        "redness.erythema_index": 0.678,
        "redness.red_area_pct": 2.21,
        "pigmentation.melanin_index": 0.633,
        "pigmentation.spot_count": 2.64,
        "pigmentation.spot_area_pct": 6.6,
        "pigmentation.ita_deg": 0.3,
        "pigmentation.tone_unevenness": 1.47,
        "texture.roughness": 0.828,
        "texture.wrinkle_density": 6.66,
        "texture.pore_density": 8.56,
    },
    "camera": {
        "redness.erythema_index": 7.04,
        "redness.red_area_pct": 17.2,
        "pigmentation.melanin_index": 6.25,
        "pigmentation.spot_count": 4.94,
        "pigmentation.spot_area_pct": 4.47,
        "pigmentation.ita_deg": 5.12,
        "pigmentation.tone_unevenness": 1.5,
        "texture.roughness": 2.08,
        "texture.wrinkle_density": 4.59,
        "texture.pore_density": 5.44,
    },
}
ZONE_MINIMAL_DETECTABLE_CHANGE: dict[str, float] = {
    "redness.erythema_index": 0.249,
    "redness.red_area_pct": 3.26,
    "pigmentation.melanin_index": 0.58,
    "pigmentation.spot_count": 3.0,
    "pigmentation.spot_area_pct": 3.29,
    "pigmentation.ita_deg": 0.566,
    "pigmentation.tone_unevenness": 0.468,
    "texture.roughness": 0.0914,
    "texture.wrinkle_density": 1.28,
    "texture.pore_density": 20.6,
}

def minimal_detectable_change(key: str, light: str) -> float:
    """MDC95 of metric `key` (whole-area or ``zone.<name>.<metric>``) under `light` ("reference"/"camera").

    Infinite (nothing is significant) where no figure has been measured.
    """
    if key.startswith("zone."):
        return ZONE_MINIMAL_DETECTABLE_CHANGE.get(key.split(".", 2)[2], math.inf)
    return MINIMAL_DETECTABLE_CHANGE.get(light, {}).get(key, math.inf)
