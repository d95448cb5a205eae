"""Another phone's look: how far a contrast S-curve in place of a gamma moves the compared metrics.

The phantoms' 12 full relightings (exposure +-30 %, white balance +-12 %, JPEG 85) with the
gamma replaced by a contrast curve within +-0.15 (mid-grey's slope 0.7..1.3;
``phantoms.skin.capture``'s ``contrast``: the same S-curve for R, G and B, as another phone,
camera app or "look" applies), beyond the issue's recipe. For each photo it prints the p90
move of each metric as a share of its planted yardstick (as tests/test_metric_phantoms.py and
tests/test_close_up_light.py define them), how many of the 12 comparisons carry the note that
the tone curve's shape differs, and each look's contrast with the departure read
(``Tone.departure``, code steps). The photos: the two face phantoms, and the demo patient's
baseline front view and close-ups (yardsticks planted over the skin found in them). Every
photo is measured twice: as compared (algorithm 1.12: where the reference shows a curve of
another shape, a close-up's shared power is bent to follow it, and a face's quantile curve per
channel runs on beyond its own tones along the curve the three channels share) and as at 1.11
(``SHAPE_LIMIT`` infinite: the power alone, and each quantile curve run on straight).

Usage::

    python bench/tone_looks.py      # about 4 minutes on 2 cores
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from phantoms import close_ups, hopper, skin  # noqa: E402
from test_metric_phantoms import YARDSTICKS, scene  # noqa: E402

from analyzer import color, compare, load_image  # noqa: E402
from analyzer.skin import regions  # noqa: E402

LOOKS = skin.random_lightings(12, 0, gamma=0.0, contrast=0.15)
FACE_KEYS = ("redness.erythema_index", "redness.red_area_pct", "pigmentation.melanin_index",
             "texture.wrinkle_density")
COLOUR_KEYS = ("redness.erythema_index", "redness.red_area_pct", "pigmentation.melanin_index",
                 "pigmentation.ita_deg")


def _report(name: str, comparisons: list, effects: dict[str, float]) -> None:
    shares = {key: 100 * float(np.percentile([abs(c.delta[key]) for c in comparisons], 90)) / abs(effect)
              for key, effect in effects.items()}
    noted = sum(any("tone curve's shape" in note for note in c.notes) for c in comparisons)
    print(f"{name:<28} " + "  ".join(f"{key.split('.')[1]} {share:5.1f} %" for key, share in shares.items())
          + f"  noted {noted}/12")


def _measured_both_ways(name: str, photo: np.ndarray, later: list[np.ndarray],
                        effects: dict[str, float]) -> None:
    comparisons = [compare(photo, other) for other in later]
    _report(f"{name} (1.12)", comparisons, effects)
    print("  contrast / departure:", ", ".join(f"{look['contrast']:+.3f}/{c.tone.departure:.2f}"
                                              for look, c in zip(LOOKS, comparisons, strict=True)))
    limit, color.SHAPE_LIMIT = color.SHAPE_LIMIT, math.inf
    try:
        _report(f"{name} (as at 1.11)", [compare(photo, other) for other in later], effects)
    finally:
        color.SHAPE_LIMIT = limit


def main() -> None:
    started = time.perf_counter()
    print("p90 move under 12 looks, % of the planted yardstick\n")
    for face in (skin, hopper):
        base, treated = scene("base", face=face), scene("treated", face=face)
        effects = {key: compare(base, scene(YARDSTICKS[key], face=face)).delta[key] for key in FACE_KEYS}
        later = [skin.relight(treated, **look) for look in LOOKS]
        _measured_both_ways(face.NAME, treated, later, effects)
    demo = {"front": load_image(ROOT / "sample_images" / "session1_front.jpg")}
    demo.update({view: close_ups.exposed(load_image(ROOT / "sample_images" / f"session1_{view}.jpg"))
                 for view in close_ups.VIEWS})
    for view, photo in demo.items():
        mask = regions(photo).mask.astype(np.float64)
        redness = compare(photo, skin.plant(photo, 0.2 * mask, skin.HAEMOGLOBIN)).delta
        tan = compare(photo, skin.plant(photo, 0.1 * mask, skin.MELANIN)).delta
        effects = {key: (redness if key.startswith("redness") else tan)[key] for key in COLOUR_KEYS}
        _measured_both_ways(view, photo, [skin.relight(photo, **look) for look in LOOKS], effects)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
