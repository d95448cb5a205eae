"""Light that falls unevenly: how far it moves the compared metrics, and how often even light is taken for it.

Two parts (docs/metrics.md, "Light that falls unevenly"):

* *uneven light*: the demo patient's baselines (front view, both close-ups) relit in linear
  light by a smooth field -- a side shadow (the image-left half at 0.85x or 0.7x its light,
  blended over a sixth of the frame), light falling off to 0.8x from top to bottom, a vignette
  (corners at 0.7x) -- and compared with the baseline. Printed: the spread read
  (``Comparison.uneven_light_stops``) and each whole-skin metric's change in units of its noise
  limit, as compared and with the evening switched off (as before algorithm 1.13);
* *even light*: the largest spread read on pairs whose light is even -- the demo course's pairs,
  repeat captures (bench/repeatability.py's ``capture``), the face phantoms' 12 relightings of
  the issue's recipe and 12 other phones' looks (contrast curves within +-0.15) -- against
  ``UNEVEN_LIGHT_LIMIT``, beyond which a pair is evened.

Usage::

    python bench/uneven_light.py      # about 8 minutes on 2 cores
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from phantoms import hopper  # noqa: E402
from phantoms import skin as phantom  # noqa: E402
from repeatability import capture  # noqa: E402
from test_uneven_light import _lit, side_shadow, top_down  # noqa: E402

from analyzer import compare, load_image  # noqa: E402
from analyzer.metrics import METRICS  # noqa: E402
from analyzer.metrics.repeatability import minimal_detectable_change  # noqa: E402

COMPARE = sys.modules["analyzer.compare"]
DEMO = ROOT / "sample_images"
VIEWS = ("front", "left-cheek", "right-cheek")


def vignette(shape: tuple[int, int], corner: float) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    return 1 - (1 - corner) * r2


FIELDS = {"side at 0.85x": lambda s: side_shadow(s, 0.85), "side at 0.7x": lambda s: side_shadow(s, 0.7),
          "0.8x top to bottom": lambda s: top_down(s, 0.2), "vignette 0.7x": lambda s: vignette(s, 0.7)}


def moves(c) -> str:
    out = {m.key.split(".")[1]: c.delta[m.key] / minimal_detectable_change(m.key, c.light) for m in METRICS}
    return " ".join(f"{k[:10]} {v:+.1f}" for k, v in out.items() if np.isfinite(v))


def uneven() -> None:
    limit = COMPARE.UNEVEN_LIGHT_LIMIT
    for view in VIEWS:
        base = load_image(DEMO / f"session1_{view}.jpg")
        for name, field in FIELDS.items():
            later = _lit(base, field(base.shape[:2]))
            evened = compare(base, later)
            COMPARE.UNEVEN_LIGHT_LIMIT = float("inf")
            try:
                as_before = compare(base, later)
            finally:
                COMPARE.UNEVEN_LIGHT_LIMIT = limit
            print(f"{view:11s} {name:19s} read {evened.uneven_light_stops:.3f} stops", flush=True)
            print(f"    evened:      {moves(evened)}")
            print(f"    not evened:  {moves(as_before)}", flush=True)


def even() -> None:
    spread: dict[str, list[float]] = {}
    rng = np.random.default_rng(3)
    for view in VIEWS:
        base = load_image(DEMO / f"session1_{view}.jpg")
        for later in sorted(DEMO.glob(f"session[2-9]*_{view}.jpg")):
            c = compare(base, load_image(later))
            spread.setdefault("demo course pairs", []).append(c.uneven_light_stops)
        for _ in range(6):
            c = compare(capture(base, rng), capture(base, rng))
            spread.setdefault("repeat captures", []).append(c.uneven_light_stops)
    for face in (phantom, hopper):
        base = face.base_photo()
        looks = phantom.random_lightings(12, 0, gamma=0.0, contrast=0.15)
        for group, lights in (("issue's relightings", phantom.random_lightings(12, 0)),
                              ("other phones' looks", looks)):
            for kw in lights:
                c = compare(base, phantom.relight(base, **kw))
                spread.setdefault(f"{face.NAME}, {group}", []).append(c.uneven_light_stops)
    print(f"\neven light (evened beyond {COMPARE.UNEVEN_LIGHT_LIMIT} stops):")
    for group, values in spread.items():
        print(f"    {group:34s} {len(values):3d} pairs, at most {max(values):.4f} stops")


if __name__ == "__main__":
    uneven()
    even()
