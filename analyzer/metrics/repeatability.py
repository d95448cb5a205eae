"""Measurement noise: how much repeat photos of unchanged skin move each metric.

Figures measured by ``python bench/repeatability.py`` (simulated repeat
captures of the demo patient's baseline photos: pose within +-2 degrees and
+-3% scale, exposure +-15%, white balance +-5%, gamma +-4%, sensor noise,
JPEG 85-95), written here by hand from its output so that a change to them is
a reviewed change. ``MINIMAL_DETECTABLE_CHANGE`` is the 95% limit of the
difference between two such captures (MDC95); a change smaller than it is not
called significant.
"""

MINIMAL_DETECTABLE_CHANGE: dict[str, float] = {
    "redness.erythema_index": 1.0,
    "redness.red_area_pct": 2.0,
    "pigmentation.melanin_index": 1.0,
    "pigmentation.spot_count": 1.0,
    "pigmentation.spot_area_pct": 0.2,
    "pigmentation.ita_deg": 1.0,
    "pigmentation.tone_unevenness": 0.2,
    "texture.roughness": 0.2,
    "texture.wrinkle_density": 0.2,
    "texture.pore_density": 5.0,
}

# Within-subject coefficient of variation of repeat captures, % (same run).
COEFFICIENT_OF_VARIATION: dict[str, float] = {}
